"""The outbox: messages are composed under an idempotency key first and sent in a separate step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from models import OutboundMessage
from tasks.db import insert_missing

MESSAGE_KEY_FIELDS = ("flow", "client", "period", "recipient", "kind")


def idempotency_key(flow: str, client: str | None, period: str, recipient: str, kind: str) -> str:
    """flow:client:period:recipient:kind — the same message composed twice gets the same key."""
    return ":".join([flow, client or "-", period, recipient.lower(), kind])


def enqueue(session: Session, messages: Sequence[dict[str, Any]]) -> int:
    """Put composed messages in the outbox; a key already there is left alone. Returns how many are new."""
    rows = [
        {**{k: v for k, v in m.items() if k != "client_slug"},
         "idempotency_key": idempotency_key(m["flow"], m.get("client_slug"), m["period"], m["recipient"], m["kind"])}
        for m in messages
    ]
    return insert_missing(session, OutboundMessage.__table__, rows, ["idempotency_key"])
