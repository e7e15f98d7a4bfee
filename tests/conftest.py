"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

import network_guard
from cadence.demo.write import DemoSummary, generate_agency
from models import Base
from models.db import make_engine, upgrade
from tasks import resources

network_guard.install()

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 in their environment, and the CLI's module-level rich
# consoles would freeze that width when first imported; the CLI tests give the width they read with each call.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

PG_ENV = "CADENCE_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this session, migrated once, dropped at the end."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        message = f"PostgreSQL leg not run: set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL is required)", pytrace=False)
        pytest.skip(message)
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"cadence_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means the same thing here
        message = f"PostgreSQL at {make_url(admin_url).render_as_string(hide_password=True)} unreachable: {exc}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A freshly migrated, empty database, also made the configured one (CADENCE_DATABASE_URL)."""
    yield from _configured_database(request, tmp_path, monkeypatch)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As `db_url`, one database for a whole module: for tests that share what one costly fixture built.

    On PostgreSQL it is the session's database, as `db_url`'s is: a module using it uses no `db_url`.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from _configured_database(request, tmp_path_factory.mktemp("module-db"), monkeypatch)


def _configured_database(request: pytest.FixtureRequest, directory: Path,
                         monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "sqlite":
        path = directory / "cadence.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        engine = make_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
    monkeypatch.setenv("CADENCE_DATABASE_URL", url)
    monkeypatch.setenv("CADENCE_HOME", str(directory / "home"))
    resources.reset()
    yield url
    resources.reset()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo(request: pytest.FixtureRequest, engine: Engine) -> DemoSummary:
    """The demo agency generated into this test's database, as its module's DEMO asks: generate_agency's keywords
    (as_of, seed, clients, days, ...). A module that adjusts it defines `demo(engine, demo)` over this one."""
    return generate_agency(engine, **request.module.DEMO)


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect API for the whole session, with a throwaway PREFECT_HOME.

    Flow runs here are in-process calls, so their heartbeat is off: it only tells a worker's server that a run is
    alive, and joining its thread costs about a second at the end of every flow run (as in bench/month.py and the
    month simulation).
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    home = tmp_path_factory.mktemp("prefect-home")
    saved = os.environ.get("PREFECT_HOME")
    os.environ["PREFECT_HOME"] = str(home)
    try:
        with prefect_test_harness(server_startup_timeout=90), \
                temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield
    finally:
        if saved is None:
            os.environ.pop("PREFECT_HOME", None)
        else:
            os.environ["PREFECT_HOME"] = saved


E2E_DIR = Path(__file__).resolve().parent / "e2e"
FUZZ_DIR = Path(__file__).resolve().parent / "fuzz"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is `e2e`; every test under tests/fuzz (hundreds of examples each) and every test on
    the temporary Prefect API (the server alone takes tens of seconds to start) is `slow`: `make check`
    (-m "not e2e and not slow") leaves them to `make test`."""
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)
        if item.path.is_relative_to(FUZZ_DIR) or "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    # The longest first (the e2e tests, then the slow ones), so that `make test`'s workers (pytest-xdist) start them
    # early and share out the short ones at the end, rather than one worker finishing a month simulation alone.
    items.sort(key=lambda item: (item.get_closest_marker("e2e") is None, item.get_closest_marker("slow") is None))


# multiprocessing's resource tracker lives until its parent exits, by design; anything else is a leak.
BENIGN_CHILDREN = ("multiprocessing.resource_tracker",)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite leaves no process behind: every child of the test process must be gone when it ends."""
    import psutil

    from tasks.reports.output import shutdown_pools

    shutdown_pools()  # the warm render workers live as long as their process, by design: stop them first
    me = psutil.Process()
    children = [c for c in me.children(recursive=True) if not _benign(c)]
    _, alive = psutil.wait_procs(children, timeout=10)
    if not alive:
        return
    lines = []
    for child in alive:
        lines.append(f"  pid {child.pid}: {' '.join(_cmdline(child))[:200]}")
        child.kill()
    session.config.get_terminal_writer().line(
        f"error: {len(alive)} child process(es) of the test run outlived it (now killed):\n" + "\n".join(lines),
        red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _cmdline(process) -> list[str]:
    import psutil

    try:
        return process.cmdline()
    except psutil.Error:
        return ["?"]


def _benign(process) -> bool:
    return any(marker in " ".join(_cmdline(process)) for marker in BENIGN_CHILDREN)
