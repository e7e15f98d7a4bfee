"""A short simulated month under faults: every scheduled flow at its moments, then every promise checked.

Four days of July 2026 (a recap on the 3rd, a strategy pack on Sunday the 5th, the Monday stand-up), 20
clients, the watch hourly instead of every 15 minutes to keep the suite short (bench/month.py runs the real
schedule). Faults, each followed by a re-run of the moment: the flow's process killed with SIGKILL at a
random point (sweep, recap, pack, stand-up, a watch pass), Cadence's PostgreSQL restarted in the middle of a
run, SendGrid down for six simulated hours, a malformed and an empty export imported mid-month. Then the
invariants of cadence.demo.simulation, and a scan of every Prefect log, artifact and parameter for secrets and
client email addresses.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import REPO, free_port, missing, prefect_postgres_database, prefect_server
from sqlalchemy import func, select, text

from cadence.demo.fakes.sendgrid_server import FakeSendGrid
from models import DailyMetric, ImportBatch

KEY = "SG.month-test-key"
FIRST, LAST = dt.date(2026, 7, 3), dt.date(2026, 7, 6)
WATCH_EVERY = dt.timedelta(hours=1)
OUTAGE = (dt.datetime(2026, 7, 2, 23, 0, tzinfo=dt.timezone.utc), dt.datetime(2026, 7, 3, 5, 0, tzinfo=dt.timezone.utc))
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


class Cluster:
    """A PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port), so restarting it harms nobody."""

    def __init__(self, root: Path) -> None:
        self.data, self.port = root / "data", free_port()
        self.user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
        if self.user:
            shutil.chown(root, self.user)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._ctl("start", "-w", "-l", str(root / "log"))

    def _run(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def _ctl(self, action: str, *args: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-o", f"-p {self.port} -k {self.data}", *args)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast", "-w")

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate")


@pytest.fixture
def cluster():
    if PG_BIN is None or shutil.which("runuser") is None and os.geteuid() == 0:
        missing("the simulated month needs PostgreSQL's server binaries (initdb, pg_ctl) under /usr/lib/postgresql")
    root = Path(tempfile.mkdtemp(prefix="cadence-pg-"))
    root.chmod(0o755)
    cluster = Cluster(root)
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def prefect_database() -> Iterator[str]:
    with prefect_postgres_database("prefect_month", "the simulated month") as url:
        yield url


def killed_in_a_child(moment, env: dict[str, str], delay: float) -> bool:
    """Run the moment in a child process and SIGKILL it `delay` seconds into the flow; True if it was killed."""
    from cadence.demo.simulation import moment_json

    child = subprocess.Popen([sys.executable, "-m", "cadence.demo.simulation", moment_json(moment)], env=env, cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout.readline().strip() == "ready"
    try:
        child.wait(timeout=delay)  # the flow may finish first; otherwise it is killed `delay` into its run
        return False
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        return True


def waiting_by_crisis(engine) -> dict[bool, set[str]]:
    """The keys of messages waiting to be sent (failed, awaiting a retry), crisis or not."""
    from models import OutboundMessage

    with engine.connect() as conn:
        rows = conn.execute(select(OutboundMessage.idempotency_key, OutboundMessage.is_crisis)
                            .where(OutboundMessage.status.in_(["failed", "queued"]))).all()
    return {flag: {key for key, crisis in rows if bool(crisis) is flag} for flag in (True, False)}


def dead_reasons(engine) -> list[str]:
    from models import OutboundMessage

    with engine.connect() as conn:
        return [f"{k}: {e}" for k, e in conn.execute(select(OutboundMessage.kind, OutboundMessage.last_error)
                                                     .where(OutboundMessage.status == "dead"))][:10]


def restart_during(cluster: Cluster, delay: float) -> threading.Timer:
    """Restart the cluster `delay` seconds from now, while the flow about to start is running."""
    timer = threading.Timer(delay, cluster.restart)
    timer.daemon = True
    timer.start()
    return timer


def drop_bad_exports(folder: Path, env: dict[str, str], account: str) -> list[tuple[int, str]]:
    """A malformed and an empty export through `cadence import`, as an ops person would mid-month."""
    malformed = folder / "yandex-broken.csv"
    malformed.write_bytes(b"\xff\xfe\x00garbage;;;\n\x00\x01\x02;;\n")
    empty = folder / "yandex-empty.csv"
    empty.write_bytes(b"")
    results = []
    for path in (malformed, empty):
        done = subprocess.run([sys.executable, "-c", "from cadence.cli import main; main()", "import", str(path),
                               "--platform", "yandex_direct", "--account", account],
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        results.append((done.returncode, done.stderr + done.stdout))
    return results


@pytest.mark.parametrize("seed", [5])
def test_a_month_under_faults_keeps_every_promise_exactly_once(seed, cluster, prefect_database, tmp_path,
                                                                 monkeypatch):
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from cadence.demo import simulation as sim
    from cadence.demo.leaks import find_leaks
    from tasks.resources import ready_engine, reset

    rng = random.Random(seed)
    settings = {"CADENCE_HOME": str(tmp_path / "cadence"), "CADENCE_DATABASE_URL": cluster.url,
                "CADENCE_SENDGRID_API_KEY": KEY}
    with prefect_server(tmp_path / "prefect",
                        {"PREFECT_API_DATABASE_CONNECTION_URL": prefect_database}) as (api, client_env), \
            FakeSendGrid(api_key=KEY, keep_bodies=False) as sendgrid:
        settings |= {"CADENCE_SENDGRID_BASE_URL": sendgrid.url, "PREFECT_API_URL": api,
                     "PREFECT_HOME": client_env["PREFECT_HOME"]}
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        reset()
        engine = ready_engine()
        child_env = {**client_env, **settings}
        sim.prepare_agency(engine, FIRST, clients=20, seed=seed, days=400)
        feed = sim.PlatformFeed(engine, FIRST, LAST, seed=seed, problems=4)
        month = sim.MonthRun(engine, FIRST, LAST, feed, seed=seed, watch_every=WATCH_EVERY)
        kill_next = {"daily-account-sweep", "monthly-recap", "quarterly-strategy-pack", "standup-summary"}
        killed, restarted, outage_end_index, imports = [], [], None, []
        spent: dict[str, float] = {}
        watch_kill = dt.datetime(2026, 7, 3, 0, 0, tzinfo=dt.timezone.utc)  # 08:00 in Shanghai: crises are fresh

        with temporary_settings({PREFECT_API_URL: api, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            for moment in month.moments():
                sendgrid.down = OUTAGE[0] <= moment.at < OUTAGE[1]
                if outage_end_index is None and moment.at >= OUTAGE[1]:
                    outage_end_index = len(sendgrid.accepted)
                    waited = waiting_by_crisis(engine)
                if moment.deployment == "daily-account-sweep" and moment.day == dt.date(2026, 7, 5):
                    with engine.connect() as conn:
                        account = conn.scalar(text("SELECT external_id FROM ad_account ORDER BY id LIMIT 1"))
                        before = (conn.scalar(select(func.count()).select_from(DailyMetric)),
                                  conn.scalar(select(func.count()).select_from(ImportBatch)))
                    imports = drop_bad_exports(tmp_path, child_env, account)
                    with engine.connect() as conn:
                        after = (conn.scalar(select(func.count()).select_from(DailyMetric)),
                                 conn.scalar(select(func.count()).select_from(ImportBatch)))
                    assert after == before, "a bad export wrote something"
                if moment.deployment in kill_next or (moment.deployment == "service-watch" and moment.at == watch_kill):
                    kill_next.discard(moment.deployment)
                    if moment.deployment == "daily-account-sweep":
                        feed.deliver(moment.day - dt.timedelta(days=1))
                    killed.append((moment.label(), killed_in_a_child(moment, child_env, rng.uniform(0.2, 1.2))))
                if moment.deployment == "standup-summary":
                    restarted.append(restart_during(cluster, rng.uniform(0.2, 1.0)))
                began = time.perf_counter()
                try:
                    month.step(moment)
                except Exception as exc:  # noqa: BLE001 - the fault's failure; the moment is run again
                    month.failures.append(f"{moment.label()}: {type(exc).__name__}")
                    for thread in restarted:
                        thread.join(60)
                    month.step(moment)
                spent[moment.deployment] = spent.get(moment.deployment, 0.0) + time.perf_counter() - began
            sendgrid.down = False
            month.drain()

        invariants = sim.check_invariants(engine, FIRST, LAST, sendgrid.deliveries, feed.problems,
                                          watch_every=WATCH_EVERY)
        report = "\n".join(f"{k}: {v}" for k, v in invariants.items())
        print(report, f"killed: {killed}", f"failures: {month.failures}", f"runs: {dict(month.runs)}",
              f"seconds: { {k: round(v, 1) for k, v in spent.items()} }", sep="\n")

        assert sim.failures(invariants) == {}, report
        assert invariants["recaps_expected"] == 20 and invariants["packs_expected"] > 0
        assert invariants["standup_updates_expected"] > 0 and invariants["critical_problems"] > 0
        assert invariants["messages_waiting_at_end"] == 0
        assert invariants["messages_dead"] == 0, dead_reasons(engine)
        assert sum(alive for _, alive in killed) >= 3, killed  # most kills landed inside a running flow
        assert restarted, "the PostgreSQL restart never ran"
        assert [code for code, _ in imports] == [2, 2] and all(
            out.startswith("error:") and out.count("\n") == 1 for _, out in imports), imports

        # Crisis messages that waited out the outage went before everything else that waited with them.
        after_outage = sendgrid.accepted[outage_end_index:]
        assert waited[True] and waited[False], waited
        crisis_at = [i for i, key in enumerate(after_outage) if key in waited[True]]
        other_at = [i for i, key in enumerate(after_outage) if key in waited[False]]
        assert len(crisis_at) == len(waited[True])
        assert max(crisis_at) < min(other_at) + 4, (crisis_at, other_at)  # 4 send workers at once

        with engine.connect() as conn:
            emails = [e for (e,) in conn.execute(text("SELECT email FROM contact"))]
        with temporary_settings({PREFECT_API_URL: api}):
            texts = list(sim.prefect_texts())
        assert len(texts) > 2 * sum(month.runs.values())  # every run's parameters and its logs were read
        leaks = find_leaks(texts, secrets=[KEY], emails=emails)
        assert leaks == [], leaks
        reset()
