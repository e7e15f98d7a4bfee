"""The `cadence` command: one Typer app, each group in its own module, errors as one line."""

from __future__ import annotations

import os
import sys

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from typer.core import TyperOption

from cadence.cli import accounts, check, db, demo, findings, ingest, labels, notes, outbox, prefect_ops, reports
from cadence.cli import service as service_cli
from cadence.cli import sync as sync_cli
from cadence.cli.run import run_command
from cadence.cli.today import today_command
from tasks.errors import CadenceError
from tasks.settings import get_settings

_option_type = TyperOption.display_type_rich


def _flag_type(option: TyperOption, ctx: object) -> str | None:
    """A flag takes no value: its type column stays empty (Typer 0.29 prints `<bool>`, as if it took one)."""
    return None if option.is_flag else _option_type(option, ctx)


TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

app = typer.Typer(
    name="cadence",
    help="Cadence: an agency's client-service rhythm as Prefect flows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(accounts.app, name="account")
app.add_typer(accounts.clients_app, name="client")
app.add_typer(outbox.app, name="outbox")
app.add_typer(findings.app, name="findings")
app.add_typer(notes.app, name="note")
app.add_typer(labels.key_dates_app, name="key-date")
app.add_typer(labels.labels_app, name="label")
accounts.app.command("connect")(sync_cli.connect_command)
accounts.app.command("logins")(sync_cli.logins_command)
app.command("import")(ingest.import_command)
app.command("sync")(sync_cli.sync_command)
app.command("demo")(demo.demo_command)
app.command("check-output")(check.check_output_command)
app.command("run")(run_command)
app.command("today")(today_command)
app.add_typer(prefect_ops.app)
app.add_typer(reports.app, name="reports")
app.add_typer(service_cli.request_app, name="request")
app.add_typer(service_cli.incident_app, name="incident")
app.add_typer(service_cli.contact_app, name="contact")
app.add_typer(service_cli.tier_app, name="tier")

err = Console(stderr=True, highlight=False, soft_wrap=True)


def _debug() -> bool:
    """CADENCE_DEBUG, read through the settings; settings that do not validate show their error in one line."""
    try:
        return get_settings().debug
    except ValidationError:
        return False


def main() -> None:
    """Entry point: runs the app; a known failure is one line on stderr and exit code 2."""
    # The Prefect servers Cadence starts send no usage telemetry unless asked: an agency's host is often offline,
    # where each attempt logged an ERROR every 10 minutes.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    try:
        app(standalone_mode=True)
    except CadenceError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", emoji=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if _debug():
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        err.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(first)} (set CADENCE_DEBUG=1 for details)",
                  emoji=False)
        sys.exit(1)
