"""What Cadence sends and renders: the outbox of messages and the reports they carry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow
from models.enums import Audience, Detail, Language, MessageStatus, ReportKind, ReviewAction


class Report(Base):
    """A rendered recap, strategy pack, stand-up or review for one client, period, language and detail level."""

    __tablename__ = "report"
    __table_args__ = (UniqueConstraint("client_id", "kind", "period", "language", "detail"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReportKind] = mapped_column(str_enum(ReportKind, "report_kind"))
    period: Mapped[str] = mapped_column(String(40), comment="2026-10, 2026-Q4, 2026-11-23..2026-11-26")
    language: Mapped[Language] = mapped_column(str_enum(Language, "report_language"))
    # The summary and the campaign-level variant of one report are two files, for contacts of each detail.
    detail: Mapped[Detail] = mapped_column(str_enum(Detail, "report_detail"), default=Detail.SUMMARY,
                                           server_default=Detail.SUMMARY.value)
    title: Mapped[str] = mapped_column(String(300))
    html_path: Mapped[str | None] = mapped_column(String(500))
    pdf_path: Mapped[str | None] = mapped_column(String(500))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboundMessage(Base):
    """One email, composed under an idempotency key and sent in a separate step."""

    __tablename__ = "outbound_message"
    __table_args__ = (Index("ix_outbound_message_dispatch", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # flow:client:period:recipient:kind, so a re-run or a retried task never composes twice.
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    flow: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(60))
    period: Mapped[str] = mapped_column(String(40))
    audience: Mapped[Audience] = mapped_column(str_enum(Audience, "message_audience"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[Language] = mapped_column(str_enum(Language, "message_language"))
    subject: Mapped[str] = mapped_column(String(500))
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="SET NULL"))
    is_crisis: Mapped[bool] = mapped_column(default=False)
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus, "message_status"), default=MessageStatus.QUEUED
    )
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    hold_until: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(40))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class MessageReview(Base):
    """A person's decision on a client message waiting for approval: who, when, what, and what changed."""

    __tablename__ = "message_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbound_message.id", ondelete="CASCADE"), index=True)
    action: Mapped[ReviewAction] = mapped_column(str_enum(ReviewAction, "review_action"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    # For an edit: the subject before and after and a unified diff of the text body.
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
