"""`cadence server`: Prefect's server and UI with the report server beside it; `cadence serve`: every deployment."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from tasks.errors import CadenceError

app = typer.Typer()
out = Console(highlight=False, markup=False, emoji=False)
DEFAULT_API_URL = "http://127.0.0.1:4200/api"
AUTH_SETTING = "PREFECT_SERVER_API_AUTH_STRING"


def cadence_command() -> str:
    """How this shell reaches `cadence`: `.venv/bin/cadence` as the README has it, else the name on PATH or the path."""
    if (Path.cwd() / ".venv" / "bin" / "cadence").exists():
        return ".venv/bin/cadence"
    invoked = Path(sys.argv[0])
    found = shutil.which("cadence")
    if invoked.parent == Path() or (found and Path(found).resolve() == invoked.resolve()):
        return "cadence"
    return str(invoked.resolve())


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=5) as response:
            return json.loads(response.read()) is True
    except (OSError, ValueError):
        return False


def _loopback(host: str) -> bool:
    """Only this machine can connect: localhost or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to an address other machines reach


def _auth_string() -> str | None:
    """PREFECT_SERVER_API_AUTH_STRING, from the environment or the active Prefect profile (`prefect config set`)."""
    if value := os.environ.get(AUTH_SETTING, "").strip():
        return value
    from prefect.settings import get_current_settings  # slow to import: only paid when it is needed

    secret = get_current_settings().server.api.auth_string
    return (secret.get_secret_value().strip() or None) if secret is not None else None


DATABASE_SETTINGS = ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL")


def use_cadence_prefect_database() -> str | None:
    """Prefect's run history in $CADENCE_HOME/prefect.db, unless a database is chosen; returns the file when used.

    `cadence demo` records into it and `cadence server` serves it, so the UI shows what the demo ran. Call before
    Prefect is imported: its settings are read once. A database named in the environment or the Prefect profile wins.
    """
    if any(os.environ.get(name) for name in DATABASE_SETTINGS):
        return None
    from prefect.settings import load_current_profile

    if any(getattr(s, "name", s) in DATABASE_SETTINGS for s in load_current_profile().settings):
        return None
    from tasks.settings import get_settings

    path = (get_settings().home / "prefect.db").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.environ[DATABASE_SETTINGS[0]] = f"sqlite+aiosqlite:///{path}"
    return str(path)


def report_credentials(host: str) -> str | None:
    """The user:password the report server demands: the Prefect server's; refused beyond loopback without one."""
    auth = _auth_string()
    if auth is None and not _loopback(host):
        raise CadenceError(f"refusing to serve reports on {host!r} without {AUTH_SETTING}: they hold client data; "
                           "set it (user:password), the same as the Prefect server's, see docs/operations.md")
    return auth


def open_report_server(host: str, port: int):
    """The report server bound to host:port over the reports folder (not yet serving), or a one-line error."""
    from cadence.report_server import ReportServer
    from tasks.settings import get_settings

    credentials = report_credentials(host)
    root = get_settings().reports_path
    root.mkdir(parents=True, exist_ok=True)
    try:
        return ReportServer(root, host, port, credentials)
    except OSError as exc:
        raise CadenceError(f"cannot serve reports on {host}:{port}: {exc.strerror or exc} "
                           "(is another `cadence server` running? choose another --reports-port)") from None


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM if the supervisor dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


GRACE_SECONDS = 20
# the repository's prefect.yaml, the default for `cadence serve --prefect-yaml`
DEFAULT_PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


def supervise(argv: list[str], env: dict[str, str], reports) -> int:
    """Run Prefect's server as a child with the report server beside it; Ctrl-C or SIGTERM stops both.

    The child runs in its own process group: the supervisor forwards the signal, waits, then kills the group, so no
    process is left behind; a second Ctrl-C kills at once. Returns 0 when stopped, else the child's exit code.
    """
    from cadence.report_server import start_in_thread

    child = subprocess.Popen(argv, env=env, start_new_session=True, preexec_fn=_die_with_parent)
    thread = start_in_thread(reports) if reports is not None else None
    asked: list[int] = []
    timer = threading.Timer(GRACE_SECONDS, _signal_group, (child, signal.SIGKILL))
    timer.daemon = True

    def stop(signum: int, _frame: object) -> None:
        if asked:
            _signal_group(child, signal.SIGKILL)
        else:
            out.print("stopping the Prefect server and the report server …")
            _signal_group(child, signal.SIGTERM)
            timer.start()
        asked.append(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = child.wait()
    finally:
        timer.cancel()
        _signal_group(child, signal.SIGKILL)  # whatever the server started and left running
        if thread is not None:
            reports.shutdown()
            reports.server_close()
            thread.join(timeout=GRACE_SECONDS)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0 if asked else code


@app.command("server")
def server_command(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on; beyond loopback it needs "
                             f"{AUTH_SETTING}"),
    port: int = typer.Option(4200, "--port", help="port for the API and the UI"),
    reports_port: int | None = typer.Option(None, "--reports-port", min=1, max=65535,
                                            help="port for the rendered reports; default: CADENCE_REPORTS_PORT "
                                                 "(4201)"),
) -> None:
    """Start Prefect's server and UI, and the read-only report server beside it; Ctrl-C stops both."""
    # Prefect's API has no login by default: whoever reaches the port can read every run and start any deployment.
    if not _loopback(host) and _auth_string() is None:
        raise CadenceError(f"refusing to listen on {host!r} without {AUTH_SETTING}: anyone who reaches the port "
                           f"could read every run and start any deployment; set it (user:password) on the server "
                           f"and PREFECT_API_AUTH_STRING on clients and workers, see docs/operations.md")
    from tasks.settings import get_settings

    settings = get_settings()
    history = use_cadence_prefect_database()
    reports = open_report_server(host, reports_port or settings.reports_port)
    out.print(f"Prefect UI: http://{host}:{port}   API: http://{host}:{port}/api", soft_wrap=True)
    out.print(f"Reports: http://{host}:{reports.port}/ (read only, {settings.reports_path}); artifacts link to "
              f"{settings.reports_base_url} (CADENCE_REPORTS_URL)", soft_wrap=True)
    if history:
        out.print(f"run history: {history} (where `cadence demo` records its runs)", soft_wrap=True)
    # Each command on a line of its own and never wrapped, so it can be copied as it is.
    out.print("then, in another shell in this folder:", soft_wrap=True)
    out.print(f"export PREFECT_API_URL=http://{host}:{port}/api", soft_wrap=True)
    out.print(f"{cadence_command()} serve", soft_wrap=True)
    if not _loopback(host) and not os.environ.get("PREFECT_UI_API_URL"):
        out.print(f"browsers on other machines need PREFECT_UI_API_URL=http://<this host's name>:{port}/api")
    if not _loopback(host) and not settings.reports_url:
        out.print(f"and CADENCE_REPORTS_URL=http://<this host's name>:{reports.port} where flows run", soft_wrap=True)
    # The UI finds its API from these settings, not from --host/--port.
    env = {**os.environ, "PREFECT_SERVER_API_HOST": host, "PREFECT_SERVER_API_PORT": str(port)}
    sys.stdout.flush()
    code = supervise([sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
                     env, reports)
    if code:
        raise CadenceError(f"the Prefect server exited with code {code}; the report server is stopped too")
    out.print("stopped")


def _list_open_incidents(deployment: object) -> None:
    """The incident form names today's open incidents from the start; the crisis flows keep it current."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from tasks.escalation import incident_id_help, open_incident_choices
    from tasks.resources import configured_engine

    try:
        with Session(configured_engine()) as s:
            text = incident_id_help(open_incident_choices(s))
    except SQLAlchemyError:
        return  # no database yet: the form keeps its static help
    deployment._parameter_openapi_schema.properties["incident_id"]["description"] = text  # type: ignore[attr-defined]


@app.command("serve")
def serve_command(
    only: list[str] = typer.Option([], "--only", help="serve just this deployment (repeatable)"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="at most this many runs at once"),
    prefect_yaml: Path = typer.Option(DEFAULT_PREFECT_YAML, "--prefect-yaml", exists=True, dir_okay=False,
                                      help="the deployment definitions"),
) -> None:
    """Run every deployment of prefect.yaml (schedules, triggers, forms) in this process; no work pool."""
    api_url = os.environ.get("PREFECT_API_URL") or DEFAULT_API_URL
    if not _healthy(api_url):
        raise CadenceError(f"no Prefect server answers at {api_url}: start one with `cadence server` "
                           "(or set PREFECT_API_URL to yours)")
    # The run subprocesses inherit this environment, so they report to the same server.
    os.environ["PREFECT_API_URL"] = api_url
    # Imported here: Prefect is slow to import.
    from tasks.deployments import code_version, load_specs, runner_deployment, validate_parameters

    specs = load_specs(prefect_yaml, only or None)
    # Entrypoints in prefect.yaml are relative to its folder; each run's process starts there.
    os.chdir(prefect_yaml.resolve().parent)

    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        deployments = []
        for spec in specs:
            flow = spec.load_flow()
            validate_parameters(spec, flow)
            deployment = runner_deployment(spec, flow)
            if spec.name == "incident-action":
                _list_open_incidents(deployment)
            deployments.append(deployment)
        version = code_version(prefect_yaml.resolve().parent)
        out.print(f"serving {len(deployments)} deployment(s) of code {version} against {api_url}: "
                  + ", ".join(s.name for s in specs))
        serve(*deployments, limit=limit, print_starting_message=False)


FINAL_STATES = ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]


def flush_run_history(since: dt.datetime, settle: float = 2.0, timeout: float = 90.0) -> tuple[int, bool]:
    """Before a temporary Prefect API stops: send the queued logs and events, then wait until the server has
    recorded the task runs of every flow run since `since` (all final, the count settled); (task runs, settled).

    Prefect records task runs from events, asynchronously: a temporary server stopped at once drops the last ones.
    """
    import time

    from prefect.client.orchestration import get_client
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)
    EventsWorker.drain_all(timeout=30)
    with get_client(sync_client=True) as client:
        # The count endpoint has no client method; the client's own connection carries the auth header.
        since_filter = {"flow_runs": {"start_time": {"after_": since.isoformat()}}, "limit": 200}
        runs = client._client.post("/flow_runs/filter", json=since_filter).json()
        where = {"flow_runs": {"id": {"any_": [r["id"] for r in runs]}}}

        def count(**task_runs: Any) -> int:
            return client._client.post("/task_runs/count", json={**where, "task_runs": task_runs}).json()

        seen, steady_since, deadline = -1, time.monotonic(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            total = count()
            pending = total - count(state={"type": {"any_": FINAL_STATES}})
            if total != seen or pending:
                seen, steady_since = total, time.monotonic()
            elif time.monotonic() - steady_since >= settle:
                return total, True
            time.sleep(0.25)
    return seen, False
