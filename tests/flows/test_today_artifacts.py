"""The today view from real flow runs: `agency-today` and `client-<slug>` in one task run, rewritten only on change."""

from __future__ import annotations

import datetime as dt

from prefect.client.orchestration import get_client
from sqlalchemy import delete

from flows.crisis_escalation import crisis_escalation, incident_action
from flows.service_watch import service_watch
from messaging_helpers import client_with_contact
from models import Incident, OutboundMessage
from tasks.today import publish_standalone

AT = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.timezone.utc)


def _versions(key: str) -> list[str]:
    """Every version of the artifact under `key`, newest first (raw HTTP, as test_service_watch reads them)."""
    with get_client(sync_client=True) as client:
        response = client._client.post("/artifacts/filter", json={
            "artifacts": {"key": {"any_": [key]}}, "limit": 50, "offset": 0, "sort": "CREATED_DESC"})
    response.raise_for_status()
    return [a["data"] for a in response.json()]


def _count(key: str) -> int:
    """How many versions `key` has: other flow tests share this Prefect server, so there may be hundreds."""
    with get_client(sync_client=True) as client:
        response = client._client.post("/artifacts/count", json={"artifacts": {"key": {"any_": [key]}}})
    response.raise_for_status()
    return int(response.json())


def _task_runs(flow_run_id) -> list[str]:
    with get_client(sync_client=True) as client:
        response = client._client.post("/task_runs/filter", json={
            "flow_runs": {"id": {"any_": [str(flow_run_id)]}}, "limit": 200, "offset": 0})
    response.raise_for_status()
    return sorted(r["name"].rsplit("-", 1)[0] for r in response.json())


def test_a_crisis_publishes_the_today_view_once_and_a_rerun_writes_nothing(engine, prefect_harness):
    client_with_contact(engine, client_name="Acme Trading")
    agency_before, client_before = _count("agency-today"), _count("client-acme")
    state = crisis_escalation(client="acme", cause="conversion tag lost on the new site", as_of=AT, send=False,
                              return_state=True)
    opened = state.result()
    assert _task_runs(state.state_details.flow_run_id).count("publish-today") == 1
    agency = _versions("agency-today")
    assert _count("agency-today") == agency_before + 1
    assert f"| {opened['incident_id']} | acme | conversion tag lost on the new site | opened | Anna | **no** |" \
        in agency[0]
    assert "2026-11-25 07:00 UTC" in agency[0], "the golden deadline, four hours on, in the owner's zone (UTC)"
    client_view = _versions("client-acme")
    assert _count("client-acme") == client_before + 1
    assert client_view[0].startswith("# Today for Acme Trading (acme)")

    later = AT + dt.timedelta(minutes=5)
    incident_action(opened["incident_id"], action="acknowledge", by="am@agency.example", as_of=later, send=False)
    assert "2026-11-25 03:05 UTC by Anna" in _versions("agency-today")[0]
    counts = _count("agency-today"), _count("client-acme")
    assert incident_action(opened["incident_id"], action="acknowledge", by="am@agency.example", as_of=later,
                           send=False) == ["already acknowledged"]
    assert (_count("agency-today"), _count("client-acme")) == counts, "a re-run wrote an artifact"

    # The incident is gone (closed and purged by hand): the client's view says so rather than keep stale lines.
    with engine.begin() as conn:
        conn.execute(delete(Incident))
        conn.execute(delete(OutboundMessage))
    assert publish_standalone(AT)["written"] == 2
    assert _versions("client-acme")[0].endswith("Nothing needs anyone for this client now.\n")
    assert "No incident is open." in _versions("agency-today")[0]


def test_a_quiet_watch_pass_stays_one_task_run(engine, prefect_harness):
    state = service_watch(as_of=AT, send=False, return_state=True)
    assert state.is_completed()
    assert _task_runs(state.state_details.flow_run_id) == ["service-clocks"]


def test_a_failed_publish_is_a_warning_not_a_failed_flow(engine, prefect_harness, monkeypatch, caplog):
    import tasks.today

    def broken(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tasks.today, "build_today", broken)
    client_with_contact(engine)
    state = crisis_escalation(client="acme", cause="spend without conversions", as_of=AT, send=False,
                              return_state=True)
    assert state.is_completed(), state.message
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(m.startswith("the today view was not refreshed: ") and "database went away" in m
               for m in warnings), warnings
