"""The service watch on the demo agency: each planted case alerted once, a second pass queues nothing, ladders climb."""

from __future__ import annotations

import datetime as dt

from prefect.client.orchestration import get_client
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flows.service_watch import service_watch
from models import Client, Incident, OutboundMessage
from tasks import i18n

AS_OF = dt.date(2026, 11, 25)
# 23:00 UTC: late enough that every planted case is due in every demo market's business time.
WATCH_AT = dt.datetime(2026, 11, 25, 23, 0, tzinfo=dt.timezone.utc)
DEMO = {"as_of": AS_OF, "seed": 11, "clients": 12, "days": 90}


def _queued(engine) -> dict[tuple[str, str], int]:
    with Session(engine) as s:
        rows = s.execute(select(OutboundMessage.kind, Client.slug, func.count())
                         .outerjoin(Client, Client.id == OutboundMessage.client_id)
                         .where(OutboundMessage.flow.in_(["service-watch", "crisis-escalation"]))
                         .group_by(OutboundMessage.kind, Client.slug)).all()
    return {(kind, slug): n for kind, slug, n in rows}


def _artifact(key: str) -> str | None:
    """The latest artifact under `key`; raw HTTP, since this client's filter call sends nulls the server refuses."""
    with get_client(sync_client=True) as client:
        response = client._client.post("/artifacts/filter", json={
            "artifacts": {"key": {"any_": [key]}}, "limit": 1, "offset": 0, "sort": "UPDATED_DESC"})
    response.raise_for_status()
    found = response.json()
    return found[0]["data"] if found else None


def test_watch_alerts_each_planted_case_once_and_a_second_pass_is_quiet(engine, demo, prefect_harness):
    first = service_watch(as_of=WATCH_AT, send=False)
    queued = _queued(engine)
    cases = {(c["case"], c["client"]) for c in demo.service_cases}
    # The overdue request is on a strategic client: its crisis notice is the AM's one email about it.
    expected_kind = {"not_contacted": "write-first", "unresponsive": "unresponsive", "needs_reply": "reply-owed",
                     "request_overdue": "incident-opened"}
    for case, client in cases:
        assert queued.get((expected_kind[case], client)), f"no {expected_kind[case]} for {case} at {client}"
    assert first["found"]["key_dates"] > 0 and any(kind == "key-date" for kind, _ in queued)
    assert first["tiers"]["recomputed"] == 12, "the first run of the month recomputes tiers"
    with Session(engine) as s:
        nudge = s.scalars(select(OutboundMessage).where(OutboundMessage.kind == "write-first")).first()
        with i18n.use(nudge.language.value):  # the AM's language, like every internal alert
            suggested = i18n.gettext_("Suggested message to %(to)s (edit, then send it yourself):").split("%")[0]
        assert suggested in nudge.body_text
        languages = {m.language.value for m in s.scalars(select(OutboundMessage)
                                                          .where(OutboundMessage.flow == "service-watch"))}
    assert languages - {"en"}, "the demo's AMs are not all English: some alerts are translated"

    second = service_watch(as_of=WATCH_AT + dt.timedelta(minutes=1), send=False)
    assert second["queued"] == [] and second["incidents"] == [] and second["escalations"] == []
    assert second["tiers"]["recomputed"] == 0
    assert _queued(engine) == queued

    # The demo plants its overdue request on a strategic client: the breach opened a crisis, once.
    with Session(engine) as s:
        incidents = s.scalars(select(Incident)).all()
    assert [i.dedupe_key.split(":")[0] for i in incidents] == ["request"]
    later = service_watch(as_of=WATCH_AT + dt.timedelta(minutes=61), send=False)
    assert [e["action"] for e in later["escalations"]] == ["escalated to level 2"]
    assert service_watch(as_of=WATCH_AT + dt.timedelta(minutes=62), send=False)["escalations"] == []
    assert "escalated" in (_artifact(f"incident-{incidents[0].id}") or "")
    summary = (_artifact("service-watch"))
    assert summary and "# Service watch" in summary


def test_a_watch_with_nothing_due_is_cheap_and_writes_nothing(engine, prefect_harness):
    result = service_watch(as_of=WATCH_AT, send=False)
    assert result["found"] == {} and result["queued"] == [] and result["tiers"]["recomputed"] == 0
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def test_the_watch_ends_by_dispatching_the_outbox_when_something_is_due(engine, prefect_harness):
    import sys
    from pathlib import Path

    sys.path.append(str(Path(__file__).resolve().parents[1] / "tasks"))
    from messaging_helpers import put, rows

    assert service_watch(as_of=WATCH_AT)["outbox"] == {}  # nothing due: no dispatch task at all
    put(engine, rows(2))
    assert service_watch(as_of=WATCH_AT)["outbox"]["sent"] == 2
