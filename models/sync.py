"""Platform logins Cadence pulls metrics with: which secrets to read, never the secrets themselves."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow
from models.enums import Platform


class PlatformConnection(Base):
    """One platform login (a Google manager, a Meta system user, a Yandex agency): the accounts it reaches sync."""

    __tablename__ = "platform_connection"
    __table_args__ = (UniqueConstraint("platform", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, "connection_platform"))
    label: Mapped[str] = mapped_column(String(100))
    # role -> where its value lives: "block:<Prefect Secret block name>" or "env:<variable name>".
    secrets: Mapped[dict[str, Any]] = mapped_column(default=dict, comment="secret names, never values")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict, comment="login_customer_id, agency login, ...")
    problem: Mapped[str | None] = mapped_column(Text, comment="why the last pull could not log in, until reconnected")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_synced_at: Mapped[dt.datetime | None]
