"""`cadence server` starts Prefect's server and UI; `cadence serve` runs every prefect.yaml deployment in one process."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import sys
import urllib.request
from pathlib import Path

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


def _auth_string_set() -> bool:
    """PREFECT_SERVER_API_AUTH_STRING, from the environment or the active Prefect profile (`prefect config set`)."""
    if os.environ.get(AUTH_SETTING, "").strip():
        return True
    from prefect.settings import get_current_settings  # slow to import: only paid when exposing the server

    secret = get_current_settings().server.api.auth_string
    return secret is not None and bool(secret.get_secret_value().strip())


@app.command("server")
def server_command(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on; beyond loopback it needs "
                             f"{AUTH_SETTING}"),
    port: int = typer.Option(4200, "--port", help="port for the API and the UI"),
) -> None:
    """Start Prefect's server and UI (SQLite under PREFECT_HOME, or PREFECT_API_DATABASE_CONNECTION_URL)."""
    # Prefect's API has no login by default: whoever reaches the port can read every run and start any deployment.
    if not _loopback(host) and not _auth_string_set():
        raise CadenceError(f"refusing to listen on {host!r} without {AUTH_SETTING}: anyone who reaches the port "
                           f"could read every run and start any deployment; set it (user:password) on the server "
                           f"and PREFECT_API_AUTH_STRING on clients and workers, see docs/operations.md")
    out.print(f"Prefect UI: http://{host}:{port}   API: http://{host}:{port}/api", soft_wrap=True)
    # Each command on a line of its own and never wrapped, so it can be copied as it is.
    out.print("then, in another shell in this folder:", soft_wrap=True)
    out.print(f"export PREFECT_API_URL=http://{host}:{port}/api", soft_wrap=True)
    out.print(f"{cadence_command()} serve", soft_wrap=True)
    if not _loopback(host) and not os.environ.get("PREFECT_UI_API_URL"):
        out.print(f"browsers on other machines need PREFECT_UI_API_URL=http://<this host's name>:{port}/api")
    # The UI finds its API from these settings, not from --host/--port.
    env = {**os.environ, "PREFECT_SERVER_API_HOST": host, "PREFECT_SERVER_API_PORT": str(port)}
    sys.stdout.flush()
    # Becoming the server process means Ctrl-C and a supervisor's SIGTERM reach it directly.
    os.execve(sys.executable, [sys.executable, "-m", "prefect", "server", "start", "--host", host,
                               "--port", str(port)], env)


def _list_open_incidents(deployment: object) -> None:
    """The incident form names today's open incidents from the start; the crisis flows keep it current."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from tasks.db import configured_engine
    from tasks.escalation import incident_id_help, open_incident_choices

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
    prefect_yaml: Path = typer.Option(Path(__file__).resolve().parents[2] / "prefect.yaml", "--prefect-yaml", exists=True, dir_okay=False,
                                      help="the deployment definitions"),
) -> None:
    """Run every deployment of prefect.yaml (schedules, triggers, forms) in this process; no work pool."""
    api_url = os.environ.get("PREFECT_API_URL") or DEFAULT_API_URL
    if not _healthy(api_url):
        raise CadenceError(f"no Prefect server answers at {api_url}: start one with `cadence server` "
                           "(or set PREFECT_API_URL to yours)")
    # The run subprocesses inherit this environment, so they report to the same server.
    os.environ["PREFECT_API_URL"] = api_url
    from tasks.deployments import load_specs, runner_deployment, validate_parameters  # Prefect is slow to import

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
        out.print(f"serving {len(deployments)} deployment(s) against {api_url}: "
                  + ", ".join(s.name for s in specs))
        serve(*deployments, limit=limit, print_starting_message=False)
