"""Report rows: one per (client, kind, period, language, detail), replaced on a re-run, never duplicated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Report
from models.base import utcnow
from tasks.db import key_filter, upsert

KEY = ("client_id", "kind", "period", "language", "detail")
T = Report.__table__


def store_reports(session: Session, rows: Sequence[dict[str, Any]]) -> dict[tuple[Any, ...], int]:
    """Upsert report rows by their key; returns each key's report id."""
    if not rows:
        return {}
    stamped = [{"detail": "summary", **r, "created_at": utcnow()} for r in rows]
    upsert(session, T, stamped, KEY, update=["title", "html_path", "pdf_path", "content_sha256"],
           touch=["created_at"])
    keys = [tuple(r[k] for k in KEY) for r in stamped]
    found = session.execute(select(T.c.id, *[T.c[k] for k in KEY]).where(key_filter(T, KEY, keys))).all()
    return {(r.client_id, getattr(r.kind, "value", r.kind), r.period, getattr(r.language, "value", r.language),
             getattr(r.detail, "value", r.detail)): r.id for r in found}
