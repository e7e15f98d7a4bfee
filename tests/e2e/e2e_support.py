"""End-to-end helpers: a missing prerequisite skips locally and fails in CI; a real Prefect server on a free port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REPO = Path(__file__).resolve().parents[2]


def missing(message: str) -> NoReturn:
    """A prerequisite is absent: fail under CI=true (the suite must not silently shrink), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: this test is required)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def api_post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_for(what: str, check: Callable[[], Any], timeout: float, logs: Sequence[Path] = (),
             interval: float = 1.0) -> Any:
    """Poll `check()` until it returns something truthy; on timeout fail with the tail of each log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"{what}: not within {timeout:.0f} s\n{tails}", pytrace=False)


def stop(proc: subprocess.Popen) -> None:
    """Terminate a process we started, then kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def prefect_server(home: Path, extra_env: dict[str, str] | None = None, ui: bool = False,
                   via_cadence: bool = False) -> Iterator[tuple[str, dict]]:
    """`prefect server start` (or `cadence server`) on a free port and a throwaway home; yields (api, client env)."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": str(ui).lower(), "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
           "PREFECT_LOGGING_LEVEL": "INFO", "PREFECT_SERVER_API_HOST": "127.0.0.1",
           # The UI finds its API from these, not from --port.
           "PREFECT_SERVER_API_PORT": str(port), **(extra_env or {})}
    env.pop("PREFECT_API_URL", None)
    if via_cadence:
        # Its report server too, on a free port; the flows' report links follow the same setting.
        env.setdefault("CADENCE_REPORTS_PORT", str(free_port()))
    log_path = home / "server.log"
    with log_path.open("w") as log:
        command = (["-c", "from cadence.cli import main; main()", "server"] if via_cadence
                   else ["-m", "prefect", "server", "start"])
        proc = subprocess.Popen([sys.executable, *command, "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
        api = f"http://127.0.0.1:{port}/api"

        def healthy() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}",
                            pytrace=False)
            try:
                return api_get(f"{api}/health") is True
            except OSError:
                return False

        try:
            wait_for("the Prefect server answering /health", healthy, 120, [log_path], interval=0.5)
            client_env = {**env, "PREFECT_API_URL": api}
            client_env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
            yield api, client_env
        finally:
            stop(proc)


PG_ENV = "CADENCE_TEST_POSTGRES_URL"


@contextmanager
def prefect_postgres_database(prefix: str, why: str) -> Iterator[str]:
    """A throwaway PostgreSQL database for a Prefect server (asyncpg URL) next to CADENCE_TEST_POSTGRES_URL's."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from models.db import make_engine

    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        missing(f"{why} not tested: set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))  # a generated identifier, not data
    except Exception as exc:  # noqa: BLE001 - any connection failure means the same thing here
        missing(f"{why} not tested: PostgreSQL unreachable: {exc}")
    try:
        yield make_url(admin_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
