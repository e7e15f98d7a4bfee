"""The production path: Prefect's server on PostgreSQL, `prefect deploy --all` onto a process pool, a worker runs it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import urllib.error
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from e2e_support import REPO, api_get, api_post, prefect_postgres_database, prefect_server, stop, wait_for
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from cadence.demo.leaks import ANY_EMAIL, SENDGRID_KEY, find_leaks
from cadence.demo.write import generate_agency
from models import Finding, Incident
from models.db import make_engine
from tasks.deployments import code_version, load_specs

AS_OF = dt.date(2026, 11, 25)


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for Prefect's server (asyncpg URL), dropped afterwards."""
    with prefect_postgres_database("prefect_e2e", "production path") as url:
        yield url


def prefect(env: dict[str, str], *args: str, timeout: int = 180) -> str:
    """Run the `prefect` CLI as ops would, from the repository root; fail with its output if it fails."""
    run = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", *args], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"prefect {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout


def assert_server_takes_null_limits(api: str) -> None:
    """`prefect deploy` sends {"limit": null}; FastAPI 0.151+ answers 422 under Prefect 3.9.1's server."""
    try:
        api_post(f"{api}/work_pools/cadence/workers/filter", {"offset": None, "limit": None})
    except urllib.error.HTTPError as exc:
        pytest.fail(f"the Prefect server rejects a null limit ({exc.code}), so `prefect deploy` fails: "
                    f"FastAPI {version('fastapi')} is too new for prefect {version('prefect')}; pin fastapi<0.151",
                    pytrace=False)


def assert_logs_are_clean(api: str, run_ids: list[str], db_url: str) -> None:
    """What ops read in the UI: something was logged, and no email address, password or key is in it."""
    logs = api_post(f"{api}/logs/filter", {"logs": {"flow_run_id": {"any_": run_ids}}, "limit": 200})
    assert len(logs) >= 5
    texts = [(f"log {i} ({entry.get('name')})", entry["message"]) for i, entry in enumerate(logs)]
    leaks = find_leaks(texts, secrets=[make_url(db_url).password], patterns=[ANY_EMAIL],
                       secret_patterns=[SENDGRID_KEY])
    assert not leaks, "\n".join(leaks)


def runs_of(api: str, flow_name: str) -> list[dict]:
    return api_post(f"{api}/flow_runs/filter", {"flows": {"name": {"any_": [flow_name]}}})


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_deploy_all_onto_a_process_pool_and_a_worker_runs_the_sweep(db_url, engine, prefect_database, tmp_path: Path):
    generate_agency(engine, as_of=AS_OF, seed=5, clients=6, days=60)
    server_env = {
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_database,
        # The test starts each run itself: cron schedules must not add runs while it watches.
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    }
    with prefect_server(tmp_path / "prefect-home", server_env) as (api, env):
        prefect(env, "work-pool", "create", "cadence", "--type", "process")
        assert_server_takes_null_limits(api)
        out = prefect(env, "deploy", "--all")
        deployments = api_post(f"{api}/deployments/filter", {})
        assert sorted(d["name"] for d in deployments) == sorted(s.name for s in load_specs()), out
        assert {d["work_pool_name"] for d in deployments} == {"cadence"}
        assert {d["version"] for d in deployments} == {code_version()}, "prefect.yaml's build step versions each"
        sweep = next(d for d in deployments if d["name"] == "daily-account-sweep")
        assert [s["schedule"]["timezone"] for s in sweep["schedules"]] == ["Asia/Shanghai"]
        assert sweep["global_concurrency_limit"]["limit"] == 1
        assert sweep["concurrency_options"]["collision_strategy"] == "ENQUEUE"
        automations = api_post(f"{api}/automations/filter", {})
        assert [a["trigger"]["expect"] for a in automations] == [["cadence.finding.critical"]]

        # A past day's sweep is quiet unless asked: this one stands in for that morning's run.
        run = api_post(f"{api}/deployments/{sweep['id']}/create_flow_run",
                       {"parameters": {"as_of": AS_OF.isoformat(), "notify": "yes"}})
        worker_env = {**env, "CADENCE_DATABASE_URL": db_url, "CADENCE_HOME": str(tmp_path / "cadence"),
                      "PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_WORKER_PREFETCH_SECONDS": "5"}
        worker_log = tmp_path / "worker.log"
        with worker_log.open("w") as log:
            worker = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", "cadence",
                                       "--type", "process", "--limit", "2"],
                                      env=worker_env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
            try:
                def sweep_done() -> dict | None:
                    state = api_get(f"{api}/flow_runs/{run['id']}")
                    if state["state_type"] in {"FAILED", "CRASHED", "CANCELLED"}:
                        pytest.fail(f"sweep run {state['state_type']}:\n{worker_log.read_text()[-4000:]}")
                    return state if state["state_type"] == "COMPLETED" else None

                finished = wait_for("the sweep deployment run COMPLETED", sweep_done, 180, [worker_log])
                assert finished["name"] == f"sweep-{AS_OF - dt.timedelta(days=1)}"  # the day swept
                assert set(finished["tags"]) >= {"cadence", "cadence:daily"}
                chunks = api_post(f"{api}/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})
                assert {t["state_type"] for t in chunks} == {"COMPLETED"}
                assert "sweep-chunk-0" in {t["name"] for t in chunks}
                artifacts = api_post(f"{api}/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
                assert {"sweep-summary", "sweep-findings"} <= {a["key"] for a in artifacts}

                with Session(engine) as s:
                    critical = s.scalar(select(func.count()).select_from(Finding)
                                        .where(Finding.severity == "critical"))
                    assert s.scalar(select(func.count()).select_from(Finding)) > 0
                assert critical > 0, "the demo agency should have a critical problem for the crisis trigger"

                # Crisis runs queue one at a time (concurrency 1): the first one proves the whole chain.
                def a_crisis_done() -> dict | None:
                    crises = runs_of(api, "crisis-escalation")
                    if any(c["state_type"] in {"FAILED", "CRASHED"} for c in crises):
                        pytest.fail(f"a crisis run failed:\n{worker_log.read_text()[-4000:]}")
                    return next((c for c in crises if c["state_type"] == "COMPLETED"), None)

                crisis = wait_for("a crisis-escalation run started by a critical-finding event", a_crisis_done, 120,
                                  [worker_log])
                finding = crisis["parameters"]["finding"]
                assert isinstance(finding, dict) and {"client_id", "detector", "day"} <= set(finding)
                subject = str(finding.get("subject") or "client").replace(":", "-")
                assert crisis["name"] == (f"crisis-client-{finding['client_id']}-{finding['detector']}-{subject}-"
                                          f"{finding['day']}")
                with Session(engine) as s:
                    assert s.scalar(select(func.count()).select_from(Incident)) >= 1
                assert_logs_are_clean(api, [run["id"], crisis["id"]], db_url)
            finally:
                stop(worker)
    prefect_engine = make_engine(make_url(prefect_database).set(drivername="postgresql+psycopg"))
    with prefect_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM flow_run")).scalar() >= 2
    prefect_engine.dispose()
