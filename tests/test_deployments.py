"""prefect.yaml: every entrypoint imports, every parameter set validates, every schedule fires when ops expect."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from prefect.deployments.steps.core import run_steps
from prefect.events import DeploymentEventTrigger
from prefect.server.schemas.schedules import CronSchedule as ServerCronSchedule
from prefect.utilities.callables import parameter_schema
from prefect.utilities.templating import apply_values
from typer.testing import CliRunner

from tasks.deployments import (
    PREFECT_YAML,
    DeploymentSpec,
    code_version,
    load_specs,
    runner_deployment,
    validate_parameters,
)
from tasks.errors import CadenceError

SHANGHAI = ZoneInfo("Asia/Shanghai")
SPECS = {spec.name: spec for spec in load_specs()}


def fires(spec: DeploymentSpec, n: int, start: dt.datetime) -> list[dt.datetime]:
    """The next `n` run times of the deployment's only schedule, in Shanghai time, as the server computes them."""
    (schedule,) = spec.schedules
    server = ServerCronSchedule(**schedule.schedule.model_dump(exclude_none=True))
    return [dt.datetime.fromtimestamp(d.timestamp(), SHANGHAI) for d in asyncio.run(server.get_dates(n=n, start=start))]


def test_every_deployment_is_declared_once_for_one_flow():
    raw = yaml.safe_load(PREFECT_YAML.read_text())
    assert len(raw["deployments"]) == len(SPECS) >= 11
    entrypoints = [spec.entrypoint for spec in SPECS.values()]
    assert len(set(entrypoints)) == len(entrypoints)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_entrypoint_imports_and_parameters_validate(name):
    spec = SPECS[name]
    assert spec.entrypoint_path.is_file(), spec.entrypoint
    flow = spec.load_flow()
    assert flow.name == name, "a deployment is named after its flow"
    validate_parameters(spec, flow)
    deployment = runner_deployment(spec, flow)
    assert deployment.entrypoint == spec.entrypoint
    assert deployment.work_pool_name is None
    assert [s.slug for s in deployment.schedules] == [s.slug for s in spec.schedules]
    assert deployment.tags == list(spec.tags) and deployment.description == spec.description
    assert deployment.version == code_version()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_ops_can_filter_and_read_every_deployment(name):
    spec = SPECS[name]
    assert "cadence" in spec.tags
    assert len([t for t in spec.tags if t.startswith("cadence:")]) == 1
    assert len(spec.description) > 100
    assert spec.work_pool == "cadence"


def test_every_cron_has_a_time_zone_and_a_unique_slug():
    schedules = [s for spec in SPECS.values() for s in spec.schedules]
    assert len(schedules) == 7
    assert all(s.schedule.timezone == "Asia/Shanghai" for s in schedules)
    slugs = [s.slug for s in schedules]
    assert len(set(slugs)) == len(slugs) and all(re.fullmatch(r"[a-z0-9-]+", s) for s in slugs)


def test_schedules_fire_when_the_agency_expects_them():
    # 2026-03-02 is a Monday.
    start = dt.datetime(2026, 3, 2, 0, 0, tzinfo=SHANGHAI)
    sweep = fires(SPECS["daily-account-sweep"], 3, start)
    assert [(d.day, d.hour, d.minute) for d in sweep] == [(2, 7, 30), (3, 7, 30), (4, 7, 30)]
    pull = fires(SPECS["platform-sync"], 3, start)
    assert [(d.day, d.hour) for d in pull] == [(2, 6), (3, 6), (4, 6)]
    assert all(p < s for p, s in zip(pull, sweep)), "the pull runs before the sweep it feeds"
    standup = fires(SPECS["standup-summary"], 4, start)
    assert [(d.strftime("%a"), d.hour, d.minute) for d in standup] == [("Mon", 8, 30), ("Thu", 8, 30)] * 2
    recap = fires(SPECS["monthly-recap"], 2, start)
    assert [(d.month, d.day, d.hour) for d in recap] == [(3, 3, 10), (4, 3, 10)]
    pack = fires(SPECS["quarterly-strategy-pack"], 4, start)
    assert [(d.year, d.month, d.day) for d in pack] == [(2026, 4, 5), (2026, 7, 5), (2026, 10, 5), (2027, 1, 5)]
    watch = fires(SPECS["service-watch"], 97, start)
    assert {b - a for a, b in zip(watch, watch[1:])} == {dt.timedelta(minutes=15)}
    inbox = fires(SPECS["inbox"], 13, start)
    assert {b - a for a, b in zip(inbox, inbox[1:])} == {dt.timedelta(minutes=10)}


def test_on_demand_deployments_have_no_schedule_and_a_form():
    for name in ("client-review", "incident-action", "crisis-escalation", "message-approval"):
        assert SPECS[name].schedules == ()
    review = SPECS["client-review"].load_flow()
    schema = parameter_schema(review).model_dump_for_openapi()
    assert schema["required"] == ["request"]
    request = schema["definitions"]["ReviewRequest"]
    assert set(request["properties"]) >= {"client", "first_day", "last_day", "detail"}
    assert review.validate_parameters({"request": {"client": "acme", "detail": "campaign"}})["request"].client == "acme"
    approval = SPECS["message-approval"].load_flow()
    schema = parameter_schema(approval).model_dump_for_openapi()
    assert schema["required"] == ["decision"]
    form = schema["definitions"]["ApprovalDecision"]
    assert form["required"] == ["message_id", "by"]
    assert form["properties"]["decision"]["enum"] == ["approve", "edit", "reject"]
    assert all(p.get("title") and p.get("description") for p in form["properties"].values())
    assert approval.retries in (0, None), "a bad id or a wrong state must fail at once, not be retried"


def test_runs_that_must_not_overlap_have_a_concurrency_limit():
    limits = {name: spec.concurrency_limit for name, spec in SPECS.items() if spec.concurrency_limit}
    assert set(limits) == {"platform-sync", "daily-account-sweep", "standup-summary", "monthly-recap",
                           "quarterly-strategy-pack", "service-watch", "crisis-escalation", "inbox"}
    assert all(limit.limit == 1 for limit in limits.values())
    assert limits["inbox"].collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
    assert limits["daily-account-sweep"].collision_strategy == ConcurrencyLimitStrategy.ENQUEUE
    assert limits["service-watch"].collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW


def test_crisis_escalation_is_triggered_by_the_sweeps_critical_event():
    from tasks.sweep import CRITICAL_EVENT

    (trigger,) = SPECS["crisis-escalation"].triggers
    assert isinstance(trigger, DeploymentEventTrigger)
    assert trigger.expect == {CRITICAL_EVENT}
    assert trigger.match.model_dump() == {"prefect.resource.id": "cadence.client.*"}
    assert trigger.posture == "Reactive" and trigger.threshold == 1 and trigger.enabled
    assert trigger.parameters == {"finding": "{{ event.payload }}"}
    payload = {"client_id": 3, "account_id": 7, "campaign_id": None, "subject": "account:7",
               "detector": "tracking_broken", "day": "2026-11-24", "recommendation": "check the pixel"}
    flow = SPECS["crisis-escalation"].load_flow()
    assert flow.validate_parameters({"finding": payload})["finding"] == payload
    trigger.set_deployment_id(uuid.uuid4())
    (action,) = trigger.as_automation().actions
    assert action.type == "run-deployment" and action.parameters == {"finding": "{{ event.payload }}"}


def test_no_secret_is_templated_into_prefect_yaml():
    text = PREFECT_YAML.read_text()
    assert not re.search(r"(?i)(api[_-]?key|password|secret|token|SG\.[\w-]{10,})\s*[:=]", text)
    assert not re.search(r"\w+://[^/\s:]+:[^@\s]+@", text), "a URL with credentials"
    assert "job_variables" not in text and "{{ $" not in text


def test_a_cron_without_a_time_zone_is_refused(tmp_path: Path):
    bad = tmp_path / "prefect.yaml"
    bad.write_text(yaml.safe_dump({"deployments": [{
        "name": "x", "entrypoint": "flows/daily_sweep.py:daily_account_sweep",
        "schedules": [{"cron": "0 7 * * *", "slug": "x-0700"}]}]}))
    with pytest.raises(CadenceError, match="timezone"):
        load_specs(bad)
    with pytest.raises(CadenceError, match="no deployment named nope"):
        load_specs(names=["nope"])


def test_cadence_serve_says_what_to_do_without_a_server(monkeypatch):
    from cadence.cli import app

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    result = CliRunner().invoke(app, ["serve", "--only", "client-review"])
    assert result.exit_code != 0
    assert isinstance(result.exception, CadenceError)
    assert "cadence server" in str(result.exception)


def test_prefect_deploy_versions_every_deployment_with_the_commit_as_cadence_serve_does(prefect_harness):
    """prefect.yaml's build step runs through Prefect's own step runner and templating, as `prefect deploy` does."""
    raw = yaml.safe_load(PREFECT_YAML.read_text())
    outputs = asyncio.run(run_steps(raw["build"], {}))
    for deployment in raw["deployments"]:
        assert apply_values(deployment, outputs)["version"] == code_version(), deployment["name"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_code_version_is_the_short_commit_dirty_with_changes_and_unknown_outside_git(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    assert code_version(outside) == "unknown"
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                              capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    (repo / "flow.py").write_text("one\n")
    git("add", "flow.py")
    git("commit", "-q", "-m", "one")
    sha = git("rev-parse", "--short", "HEAD")
    assert code_version(repo) == sha
    (repo / "notes.txt").write_text("untracked\n")
    assert code_version(repo) == sha, "an untracked file is not a change to the code"
    (repo / "flow.py").write_text("two\n")
    assert code_version(repo) == f"{sha}-dirty"
