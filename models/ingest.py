"""The record of every platform export imported, and the rows it could not load."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.enums import Platform


class ImportBatch(Base):
    """One file imported into one account; the same bytes twice are recognised and change nothing."""

    __tablename__ = "import_batch"
    __table_args__ = (UniqueConstraint("account_id", "file_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ad_account.id", ondelete="CASCADE"), index=True)
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, "import_platform"))
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    rows_in: Mapped[int]
    loaded: Mapped[int]
    inserted: Mapped[int]
    updated: Mapped[int]
    quarantined: Mapped[int]
    duplicates: Mapped[int]
    campaigns_created: Mapped[int] = mapped_column(default=0)

    quarantine: Mapped[list[QuarantinedRow]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="QuarantinedRow.row_number"
    )


class QuarantinedRow(Base):
    """A row that did not load, with the reason and the raw values as they were in the file."""

    __tablename__ = "quarantined_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), index=True)
    row_number: Mapped[int] = mapped_column(
        comment="line number in the file as an editor shows it, title lines and header counted")
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    batch: Mapped[ImportBatch] = relationship(back_populates="quarantine")


class ImportMapping(Base):
    """An account's own column names: export header → field (or segment, ignore), used by every later import."""

    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("account_id", "header"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ad_account.id", ondelete="CASCADE"), index=True)
    header: Mapped[str] = mapped_column(String(300), comment="as the export writes it; compared normalised")
    field: Mapped[str] = mapped_column(String(40), comment="a canonical field, 'segment' or 'ignore'")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
