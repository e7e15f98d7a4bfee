"""The crisis flow from the sweep's critical event: one incident per finding, and the UI form that acts on it."""

from __future__ import annotations

import datetime as dt

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadence.demo.write import generate_agency
from flows.crisis_escalation import crisis_escalation, incident_action
from models import AdAccount, Client, Finding, Incident, OutboundMessage, Staff
from models.enums import IncidentStage, Severity

AS_OF = dt.date(2026, 11, 25)
AT = dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def critical(engine) -> dict:
    """A demo agency with one critical finding, and the payload the sweep's event carries for it."""
    generate_agency(engine, as_of=AS_OF, seed=11, clients=6, days=45)
    with Session(engine) as s, s.begin():
        # Not the demo's test client: it is never told of a crisis.
        account = s.scalars(select(AdAccount).join(Client, Client.id == AdAccount.client_id)
                            .where(Client.is_test.is_(False)).order_by(AdAccount.id)).first()
        s.add(Finding(client_id=account.client_id, account_id=account.id, detector="tracking_broken",
                      day=AS_OF - dt.timedelta(days=1), severity=Severity.CRITICAL,
                      evidence={"clicks": 1200, "conversions": 0}, recommendation="Check the conversion tag."))
        return {"client_id": account.client_id, "account_id": account.id, "campaign_id": None, "subject": "account",
                "detector": "tracking_broken", "day": (AS_OF - dt.timedelta(days=1)).isoformat(),
                "recommendation": "Check the conversion tag."}


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_duplicate_triggers_open_one_incident_then_the_form_acknowledges_and_advances(engine, critical,
                                                                                      prefect_harness):
    first = crisis_escalation(finding=critical, as_of=AT, send=False)
    messages = _count(engine, OutboundMessage)
    second = crisis_escalation(finding=critical, as_of=AT + dt.timedelta(minutes=2), send=False)
    assert first["created"] and not second["created"] and first["incident_id"] == second["incident_id"]
    assert _count(engine, Incident) == 1 and _count(engine, OutboundMessage) == messages >= 1
    with Session(engine) as s:
        incident = s.get(Incident, first["incident_id"])
        assert incident.dedupe_key == f"finding:{incident.finding_id}" and incident.finding_id is not None
        assert "tracking broken" in incident.cause
        owner = s.get(Staff, incident.owner_id).email

    done = incident_action(incident_id=first["incident_id"], action="acknowledge", by=owner,
                           as_of=AT + dt.timedelta(minutes=10), send=False)
    assert done == ["acknowledged"]
    assert incident_action(incident_id=first["incident_id"], action="advance", by=owner, stage="facts",
                           as_of=AT + dt.timedelta(minutes=20), send=False)[-1] == "stage facts"
    state = crisis_escalation(finding=critical, as_of=AT + dt.timedelta(hours=2), send=False, return_state=True)
    late = state.result()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    with Session(engine) as s:
        tier = s.get(Client, critical["client_id"]).effective_tier.value
    assert f"tier:{tier}" in run.tags, "ops filter crises by the client's tier in the UI"
    assert late["escalations"] == [], "acknowledged in time: no one else is called"
    with Session(engine) as s:
        incident = s.get(Incident, first["incident_id"])
        assert (incident.stage, incident.escalation_level) == (IncidentStage.FACTS, 0)
        told = s.scalar(select(func.count()).select_from(OutboundMessage).where(OutboundMessage.kind == "crisis-facts"))
    assert told >= 1


def test_a_manual_crisis_needs_a_client_and_a_cause(engine, prefect_harness):
    with pytest.raises(Exception, match="needs a client and a cause"):
        crisis_escalation(client="nobody", as_of=AT, send=False)


def _runs_and_tasks(state):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[
            state.state_details.flow_run_id])))
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    return run, tasks


def _events(engine) -> int:
    from models import IncidentEvent

    return _count(engine, IncidentEvent)


def test_the_form_refuses_a_wrong_stage_or_number_before_writing_anything(engine, critical, prefect_harness):
    opened = crisis_escalation(finding=critical, as_of=AT, send=False)
    incident_id = opened["incident_id"]
    with Session(engine) as s:
        owner = s.get(Staff, s.get(Incident, incident_id).owner_id).email
        slug = s.get(Client, critical["client_id"]).slug
    before = _events(engine)
    cases = [
        ({"incident_id": incident_id, "action": "advance", "stage": "solution", "notes": ["x"]},
         f"incident #{incident_id} ({slug}) is at opened: "
         "the next stage is facts (choose next or facts), not solution"),
        ({"incident_id": incident_id + 100, "action": "acknowledge"},
         f"incident #{incident_id + 100} does not exist; open incidents: #{incident_id} {slug} (opened)"),
    ]
    for params, error in cases:
        state = incident_action(**params, by=owner, as_of=AT + dt.timedelta(minutes=5), send=False, return_state=True)
        assert state.is_failed()
        with pytest.raises(Exception) as failure:
            state.result()
        assert str(failure.value) == error
        run, tasks = _runs_and_tasks(state)
        assert run.run_count == 1 and all(t.run_count <= 1 for t in tasks), "bad input is never retried"
        assert not [t for t in tasks if t.name.startswith("incident-action")], "nothing ran after the check"
        assert run.name.startswith(f"incident-{params['incident_id']}-")
    assert _events(engine) == before, "nothing was written"

    # `next` is the person in a hurry's choice: it moves to the one stage that follows.
    done = incident_action(incident_id=incident_id, action="advance", by=owner, notes=["Tag removed on 24 Nov."],
                           as_of=AT + dt.timedelta(minutes=9), send=False)
    assert done[-1] == "stage facts"


def test_the_incident_form_lists_the_open_incidents_with_their_clients(engine, critical, prefect_harness):
    from tasks.deployments import load_specs, runner_deployment

    (spec,) = load_specs(names=["incident-action"])
    deployment_id = runner_deployment(spec, spec.load_flow()).apply()

    def help_text() -> str:
        with get_client(sync_client=True) as client:
            schema = client.read_deployment(deployment_id).parameter_openapi_schema
        return schema["properties"]["incident_id"]["description"]

    try:
        assert "Open now" not in help_text()
        opened = crisis_escalation(finding=critical, as_of=AT, send=False)
        with Session(engine) as s:
            incident = s.get(Incident, opened["incident_id"])
            slug, owner = s.get(Client, incident.client_id).slug, s.get(Staff, incident.owner_id).email
        assert help_text().endswith(f"Open now: #{incident.id} {slug} (opened)")
        incident_action(incident_id=incident.id, action="advance", by=owner, notes=["Tag removed."],
                        as_of=AT + dt.timedelta(minutes=9), send=False)
        assert help_text().endswith(f"Open now: #{incident.id} {slug} (facts)")
        for stage, note in (("solution", "New tag."), ("prevention", "Tag monitor."), ("closed", "")):
            incident_action(incident_id=incident.id, action="advance", by=owner, stage=stage,
                            notes=[note] if note else [], as_of=AT + dt.timedelta(minutes=20), send=False)
        assert help_text().endswith("Open now: none")
    finally:
        with get_client(sync_client=True) as client:
            client.delete_deployment(deployment_id)


def test_crisis_run_names_say_which_finding_or_when(engine, critical, prefect_harness):
    state = crisis_escalation(finding=critical, as_of=AT, send=False, return_state=True)
    run, _ = _runs_and_tasks(state)
    assert run.name == f"crisis-client-{critical['client_id']}-tracking_broken-account-{critical['day']}"
