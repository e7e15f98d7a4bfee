"""`cadence run FLOW`: names, parameters and where the run goes; a back-fill through the command on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from cli_helpers import cli, fails
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadence.cli.run import _served_deployment, build_parameters, resolve, summarise
from cadence.demo.write import generate_agency
from models import Finding
from tasks.errors import CadenceError

AS_OF = dt.date(2026, 11, 20)


@pytest.mark.parametrize(("name", "deployment"), [
    ("daily-account-sweep", "daily-account-sweep"),  # deployment and flow name
    ("daily_account_sweep", "daily-account-sweep"),  # the function
    ("quarterly-strategy-pack", "quarterly-strategy-pack"),
    ("incident_action", "incident-action"),
])
def test_flows_are_found_by_deployment_flow_or_function_name(name, deployment):
    assert resolve(name).name == deployment


@pytest.mark.parametrize(("name", "nearest"), [
    ("daily-sweep", "did you mean daily-account-sweep?"),
    ("standup", "did you mean standup-summary?"),
    ("crisis", "did you mean crisis-escalation?"),
    ("zzzzzzzz", "valid: platform-sync, daily-account-sweep, standup-summary"),
])
def test_a_wrong_name_lists_the_valid_ones_and_the_nearest(name, nearest):
    with pytest.raises(CadenceError) as refused:
        resolve(name)
    message = str(refused.value)
    assert nearest in message and "message-approval" in message and "\n" not in message


def _params(deployment, **options):
    spec = resolve(deployment)
    return build_parameters(spec.load_flow(), spec.name, options.get("as_of"), options.get("clients", []),
                            options.get("notify"), options.get("extra", []))


@pytest.mark.parametrize(("deployment", "options", "expected"), [
    ("daily-account-sweep", {"as_of": AS_OF, "clients": ["a", "b"]}, {"as_of": AS_OF, "clients": ["a", "b"]}),
    ("daily-account-sweep", {"extra": ["chunk_campaigns=500"]}, {"chunk_campaigns": 500}),
    ("standup-summary", {"extra": ["send=false", "dispatch=false"]}, {"send": False, "dispatch": False}),
    ("crisis-escalation", {"clients": ["acme"], "extra": ["cause=tag removed"]}, {"client": "acme",
                                                                                 "cause": "tag removed"}),
    ("client-review", {"clients": ["acme"], "extra": ['request={"detail": "campaign"}']},
     {"request": {"client": "acme", "detail": "campaign"}}),
    ("monthly-recap", {}, {}),
])
def test_options_become_the_parameters_the_flow_accepts(deployment, options, expected):
    assert _params(deployment, **options) == expected


def test_a_flow_that_takes_a_moment_gets_0930_agency_time_on_a_past_day():
    as_of = _params("service-watch", as_of=AS_OF)["as_of"]
    assert (as_of.date(), as_of.time(), str(as_of.tzinfo)) == (AS_OF, dt.time(9, 30), "Asia/Shanghai")


@pytest.mark.parametrize(("deployment", "options", "refusal"), [
    ("service-watch", {"clients": ["acme"]}, "service-watch takes no --client (its parameters: as_of, send)"),
    ("crisis-escalation", {"clients": ["a", "b"]}, "crisis-escalation takes one --client, got 2"),
    ("daily-account-sweep", {"extra": ["colour=red"]}, "daily-account-sweep takes no parameter 'colour'"),
    ("daily-account-sweep", {"extra": ["as_of"]}, "--param takes NAME=VALUE, got 'as_of'"),
    ("incident-action", {}, "incident-action needs incident_id, by"),
    ("message-approval", {"as_of": AS_OF, "notify": True}, "message-approval takes no --notify/--no-notify"),
])
def test_what_a_flow_does_not_take_is_refused_not_dropped(deployment, options, refusal):
    with pytest.raises(CadenceError) as refused:
        _params(deployment, **options)
    assert refusal in str(refused.value)


@pytest.mark.parametrize(("result", "lines"), [
    ({"day": "2026-11-19", "chunks": [{"index": 0, "findings": 3, "new": 2}, {"index": 1, "findings": 4, "new": 0}],
      "digests": {"digests": 2, "new": 1}},
     ["day: 2026-11-19", "chunks: 2 (findings 7, new 2)", "digests: digests 2, new 1"]),
    (["opened", "escalated"], ["result: [opened, escalated]"]),
    ({"found": {"clocks": 1}, "pdf": None}, ["found: clocks 1", "pdf: None"]),
])
def test_the_summary_counts_and_totals_what_the_flow_returned(result, lines):
    assert summarise(result) == lines


def test_bad_dates_and_names_are_one_line_refusals():
    assert "--as-of must be a date like 2026-11-25, got '2026-13-01'" in fails(
        "run", "daily-account-sweep", "--as-of", "2026-13-01")
    assert "no flow 'sweep'" in fails("run", "sweep")


def test_a_back_fill_runs_the_sweep_and_its_findings_are_listed(engine, prefect_harness):
    generate_agency(engine, as_of=AS_OF, seed=11, clients=4, days=60)
    out = cli("run", "daily-account-sweep", "--as-of", AS_OF.isoformat())
    # The harness is the configured API; the deployment is not registered there: the flow runs here, reported to it.
    assert "in this process against http" in out and "is not registered there" in out
    assert "state: Completed" in out and "day: 2026-11-19" in out
    with Session(engine) as s:
        written = s.scalar(select(func.count()).select_from(Finding).where(Finding.day == dt.date(2026, 11, 19)))
    assert written > 0 and f"findings {written}" in out
    assert f"{written} findings:" in cli("findings", "list")


def test_a_deployment_run_is_created_only_when_someone_serves_the_deployment(prefect_harness):
    from prefect.client.orchestration import get_client

    spec = resolve("service-watch")
    flow = spec.load_flow()
    assert _served_deployment(flow.name, spec.name) == (None, "deployment service-watch/service-watch is not "
                                                               "registered there")
    deployment_id = flow.to_deployment(name=spec.name).apply()
    found, why = _served_deployment(flow.name, spec.name)
    assert found is None and why.startswith("nobody serves deployment service-watch/service-watch")

    async def poll() -> None:  # what `cadence serve` and workers do every few seconds
        async with get_client() as client:
            await client.get_scheduled_flow_runs_for_deployments(deployment_ids=[deployment_id])

    asyncio.run(poll())
    found, why = _served_deployment(flow.name, spec.name)
    assert (found.id, why) == (deployment_id, "")
