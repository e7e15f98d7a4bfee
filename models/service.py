"""The service record: findings, notes, interactions, requests, incidents and key dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.enums import (
    Channel,
    Direction,
    FindingStatus,
    IncidentSource,
    IncidentStage,
    KeyDateKind,
    LabelKind,
    Language,
    NoteKind,
    RequestStatus,
    Severity,
    Visibility,
)

ACCOUNT_SUBJECT = "account"


class Finding(Base):
    """One detector's verdict on one campaign (or a whole account) for one day."""

    __tablename__ = "finding"
    __table_args__ = (
        # subject is "account" or "campaign:<id>", so the key holds no NULL (NULLs never collide).
        UniqueConstraint("client_id", "account_id", "subject", "detector", "day"),
        Index("ix_finding_open", "status", "severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ad_account.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(40), default=ACCOUNT_SUBJECT)
    detector: Mapped[str] = mapped_column(String(60))
    day: Mapped[dt.date]
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "finding_severity"))
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recommendation: Mapped[str] = mapped_column(Text)
    status: Mapped[FindingStatus] = mapped_column(
        str_enum(FindingStatus, "finding_status"), default=FindingStatus.OPEN
    )
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    # Who acknowledged the problem and when (`cadence findings ack`); carried to the problem's later days.
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    ack_note: Mapped[str | None] = mapped_column(Text)


class OptimisationNote(Base):
    """What the team changed on an account and why, or a market/competitor note for the packs."""

    __tablename__ = "optimisation_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("ad_account.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[NoteKind] = mapped_column(str_enum(NoteKind, "note_kind"), default=NoteKind.OPTIMISATION)
    day: Mapped[dt.date]
    action: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Interaction(Base):
    """A contact with the client: who, which way, over what, and whether it still wants a reply."""

    __tablename__ = "interaction"
    __table_args__ = (Index("ix_interaction_client_time", "client_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "interaction_direction"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "interaction_channel"))
    occurred_at: Mapped[dt.datetime]
    summary: Mapped[str] = mapped_column(Text)
    needs_reply: Mapped[bool] = mapped_column(default=False)
    replied_at: Mapped[dt.datetime | None]


class ClientRequest(Base):
    """A client's ask on the 1-3-7 clock: confirm in 1 hour, plan in 3 days, deliver in 7."""

    __tablename__ = "client_request"
    __table_args__ = (UniqueConstraint("client_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    reference: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "request_status"), default=RequestStatus.OPEN
    )
    received_at: Mapped[dt.datetime]
    confirm_due_at: Mapped[dt.datetime | None]
    plan_due_at: Mapped[dt.datetime | None]
    deliver_due_at: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    planned_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]


class Incident(Base):
    """A crisis: one owner speaks outward, a golden deadline, stages, and an escalation level."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One incident per cause: "finding:<id>", "request:<id>" or "manual:<uuid>".
    dedupe_key: Mapped[str] = mapped_column(String(80), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("finding.id", ondelete="SET NULL"))
    source: Mapped[IncidentSource] = mapped_column(str_enum(IncidentSource, "incident_source"))
    opened_at: Mapped[dt.datetime]
    cause: Mapped[str] = mapped_column(Text)
    golden_deadline_at: Mapped[dt.datetime]
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    stage: Mapped[IncidentStage] = mapped_column(
        str_enum(IncidentStage, "incident_stage"), default=IncidentStage.OPENED
    )
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    escalation_level: Mapped[int] = mapped_column(default=0, comment="0 owner AM, 1 team lead, 2 director")
    escalated_at: Mapped[dt.datetime | None]
    root_cause_doc: Mapped[str | None] = mapped_column(Text)
    root_cause_doc_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    events: Mapped[list[IncidentEvent]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="IncidentEvent.at"
    )


class IncidentEvent(Base):
    """One line of an incident's timeline."""

    __tablename__ = "incident_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200), default="cadence")
    detail: Mapped[str] = mapped_column(Text, default="")

    incident: Mapped[Incident] = relationship(back_populates="events")


class KeyDate(Base):
    """A date worth preparing for: a client's own (birthday, launch, renewal) or a market peak."""

    __tablename__ = "key_date"
    # scope is a client slug or "market:<CC>", so market peaks and client dates share one key.
    __table_args__ = (UniqueConstraint("scope", "kind", "title", "on_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(90))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    market: Mapped[str | None] = mapped_column(String(2))
    kind: Mapped[KeyDateKind] = mapped_column(str_enum(KeyDateKind, "key_date_kind"))
    title: Mapped[str] = mapped_column(String(200))
    on_date: Mapped[dt.date]
    recurs_yearly: Mapped[bool] = mapped_column(default=True)
    lead_days: Mapped[int] = mapped_column(default=7, comment="remind this many days before")
    note: Mapped[str] = mapped_column(Text, default="")
    # Next year's occurrence is computed from the rule, never copied from a stored date.
    rule: Mapped[str | None] = mapped_column(
        String(40), comment="how it recurs: fixed:MM-DD or black_friday, spring_festival, ...")
    visibility: Mapped[Visibility] = mapped_column(
        str_enum(Visibility, "key_date_visibility"),
        default=lambda ctx: default_visibility(ctx.get_current_parameters()["kind"]))


PRIVATE_KINDS = frozenset({KeyDateKind.BIRTHDAY, KeyDateKind.ANNIVERSARY, KeyDateKind.RENEWAL, KeyDateKind.FINANCING})


def default_visibility(kind: KeyDateKind | str) -> Visibility:
    """Birthdays, anniversaries, renewals and financing are the agency's own; peaks and launches may be shared."""
    return Visibility.PRIVATE if KeyDateKind(getattr(kind, "value", kind)) in PRIVATE_KINDS else Visibility.SHAREABLE


class DisplayName(Base):
    """A label's name in one language: an initiative or a key date, for one client or agency-wide."""

    __tablename__ = "display_name"
    # scope is a client slug or "*" (agency-wide), so the key holds no NULL (NULLs never collide).
    __table_args__ = (UniqueConstraint("scope", "kind", "key", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(90))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    kind: Mapped[LabelKind] = mapped_column(str_enum(LabelKind, "label_kind"))
    key: Mapped[str] = mapped_column(String(200))
    language: Mapped[Language] = mapped_column(str_enum(Language, "display_name_language"))
    text: Mapped[str] = mapped_column(String(300))
