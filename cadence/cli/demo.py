"""`cadence demo`: generate the demo agency and run every flow for today."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from cadence.cli.output import parse_day
from cadence.cli.prefect_ops import use_cadence_prefect_database
from cadence.demo.write import (
    DemoSummary,
    generate_agency,
    held_clients,
    manifest_path,
    read_manifest,
    write_manifest,
)
from models import OutboundMessage
from models.enums import MessageStatus
from tasks.clock import agency_today, moment_of
from tasks.errors import CadenceError
from tasks.reports.output import ReportPlace
from tasks.resources import configured_report_place, ready_engine
from tasks.settings import get_settings

out = Console(highlight=False)
STAGES = {
    "agency": "people, clients, accounts",
    "metrics": "daily metrics (campaigns)",
    "service record": "service record",
}


def run_flows(as_of: dt.date, history: str | None = None) -> list[tuple[str, str]]:
    """Run every flow for `as_of` as the schedules would, then dispatch; returns (flow, what it left where)."""
    from flows.crisis_escalation import crisis_escalation
    from flows.daily_sweep import daily_account_sweep
    from flows.monthly_recap import monthly_recap
    from flows.quarterly_pack import quarterly_strategy_pack
    from flows.service_watch import service_watch
    from flows.standup import standup_summary
    from tasks.findings import open_critical_payloads
    from tasks.messaging import dispatch
    from tasks.reports.periods import previous_month, previous_quarter

    settings = get_settings()
    engine = ready_engine()
    place = configured_report_place()
    moment = moment_of(as_of, settings.agency_time_zone)
    done: list[tuple[str, str]] = []
    started = dt.datetime.now(dt.UTC)
    out.print("\n[bold]Running the flows[/] (a temporary Prefect API starts first; it records into "
              f"{history or 'the Prefect database you configured'}, which `cadence server` shows)")

    sweep = daily_account_sweep(as_of=as_of, notify=True)  # the demo shows the mail whatever day it is run for
    findings = sum(chunk["findings"] for chunk in sweep["chunks"])
    done.append(("daily-account-sweep", f"{findings} findings for {sweep['day']}; "
                                        f"{sweep['digests']['digests']} AM digests in the outbox"))
    # What the deployment trigger on cadence.finding.critical does in production.
    criticals = open_critical_payloads(engine, as_of - dt.timedelta(days=1))
    for payload in criticals:
        crisis_escalation(finding=payload, as_of=moment, send=False)
    done.append(("crisis-escalation", f"{len(criticals)} critical findings, one incident each"))
    watch = service_watch(as_of=moment, send=False)
    done.append(("service-watch", f"{sum(watch['found'].values())} alerts and reminders queued"))
    standup_summary(as_of=as_of, dispatch=False)
    done.append(("standup-summary", "AM summaries and client updates in the outbox"))
    monthly_recap(as_of=as_of, dispatch=False)
    done.append(("monthly-recap", _reports_at(place, "recap", previous_month(as_of).label)))
    quarterly_strategy_pack(as_of=as_of, dispatch=False)
    done.append(("quarterly-strategy-pack", _reports_at(place, "strategy-pack", previous_quarter(as_of).label)))
    from tasks.resources import configured_transport

    dispatch(engine, configured_transport())
    from tasks.today import publish_standalone

    # The dispatch above is the demo's last change: the today view shows what it sent.
    publish_standalone()
    with engine.connect() as conn:
        states = dict(conn.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all())
    done.append(("outbox", f"{settings.outbox_path}: {states.get(MessageStatus.SENT, 0)} sent, "
                           f"{states.get(MessageStatus.HELD, 0)} held for the contact's business hours, "
                           f"{states.get(MessageStatus.MANUAL, 0)} for the AM to deliver by phone or messenger, "
                           f"{states.get(MessageStatus.AWAITING_APPROVAL, 0)} awaiting the AM's approval "
                           "(`cadence outbox list --status awaiting_approval`)"))
    done.append(("today", "what needs a person: the agency-today and client-<slug> artifacts, `cadence today`"))
    from cadence.cli.prefect_ops import flush_run_history

    task_runs, settled = flush_run_history(started)
    done.append(("run history", f"{task_runs} task runs recorded{'' if settled else ' so far (still recording)'}"
                                f" in {history or 'the configured Prefect database'}: `cadence server`, then "
                                "http://127.0.0.1:4200/runs shows them and their artifacts"))
    return done


def _reports_at(place: ReportPlace, kind: str, period: str) -> str:
    """A report folder, and its address in a browser once `cadence server` runs."""
    folder = place.root / kind / period
    return f"{folder} ({period}); in a browser, with `cadence server` running: {place.link(folder)}/"


def _run_recorded(as_of: dt.date, history: str | None) -> list[tuple[str, str]]:
    """Run the flows with Prefect's settings made here (Prefect reads the environment once, when imported)."""
    from prefect.settings import (
        PREFECT_API_DATABASE_CONNECTION_URL,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    updates: dict[Any, Any] = {}
    if history:
        updates[PREFECT_API_DATABASE_CONNECTION_URL] = os.environ[PREFECT_API_DATABASE_CONNECTION_URL.name]
    if not os.environ.get(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.name):
        # The first run creates and migrates that database before the temporary API answers: Prefect's 20 s is
        # too short on a busy laptop.
        updates[PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS] = 180
    with temporary_settings(updates):
        return run_flows(as_of, history)


def _as_of(value: str | None) -> dt.date:
    return parse_day(value, "--as-of") or agency_today()


def _generate(engine: Engine, as_of: dt.date, seed: int, clients: int, days: int, replace: bool) -> DemoSummary:
    """Generate under a progress bar."""
    with Progress(
        TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=out
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        started = time.perf_counter()
        summary = generate_agency(
            engine, as_of=as_of, seed=seed, clients=clients, days=days, progress=progress, replace=replace
        )
    out.print(f"generated in {time.perf_counter() - started:.1f} s")
    return summary


def demo_command(
    seed: int = typer.Option(7, "--seed", help="the same seed and date give the same agency"),
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD; default: today in the agency's time zone"),
    clients: int = typer.Option(40, "--clients", min=1, help="how many clients"),
    days: int = typer.Option(400, "--days", min=1, help="days of metrics, ending the day before --as-of"),
    fresh: bool = typer.Option(False, "--fresh", help="delete all Cadence data first"),
    generate_only: bool = typer.Option(False, "--generate-only", help="make the agency, run no flow"),
) -> None:
    """Generate a realistic demo agency and run every flow for today."""
    settings = get_settings()
    day = _as_of(as_of)
    history = None if generate_only else use_cadence_prefect_database()
    engine = ready_engine()
    database = make_url(settings.db_url).render_as_string(hide_password=True)
    manifest = manifest_path(settings.home.resolve())
    inputs = {"seed": seed, "as_of": day.isoformat(), "clients": clients, "days": days, "database": database}
    recorded = read_manifest(manifest) or {}
    held = held_clients(engine)
    same_demo = all(recorded.get(k) == v for k, v in inputs.items())
    demo_only = recorded.get("database") == database and recorded.get("counts", {}).get("clients") == held
    if held and same_demo and demo_only:
        out.print(f"the database already holds this demo (seed {seed}, as of {day}): skipping generation")
        body = recorded
    elif fresh or not held or demo_only:
        if held and not fresh:
            out.print(f"the database holds an earlier demo (as of {recorded.get('as_of')}): generating it anew")
        body = {**_generate(engine, day, seed, clients, days, replace=bool(held)).to_dict(), **inputs}
        write_manifest(manifest, body)
    else:
        raise CadenceError(
            f"the database already holds {held} clients that are not a Cadence demo: "
            "run `cadence demo --fresh` to replace them, or point CADENCE_DATABASE_URL elsewhere"
        )
    flows = [] if generate_only else _run_recorded(day, history)
    _print(body, flows, database, settings.outbox_path, settings.reports_path, manifest)


def _print(
    body: dict[str, Any], flows: list[tuple[str, str]], database: str, outbox: Path, reports: Path, manifest: Path
) -> None:
    if not out.is_terminal:
        # Piped output is read by people and tests alike: keep ids whole rather than folded at 80 columns.
        out.width = max(out.width, 140)
    out.print(
        f"\n[bold]Demo agency[/] — seed {body['seed']}, as of {body['as_of']}, "
        f"metrics {body['first_day']} … {body['last_day']}"
    )
    counts = Table(title="Rows", title_justify="left")
    counts.add_column("what")
    counts.add_column("rows", justify="right")
    for name, value in body["counts"].items():
        counts.add_row(name.replace("_", " "), f"{value:,}")
    out.print(counts)
    problems = Table(title="Injected problems (the sweep should find each)", title_justify="left")
    for column in ("detector", "variant", "client", "account", "campaign"):
        problems.add_column(column, overflow="fold")
    for p in body["problems"]:
        problems.add_row(p["detector"], p.get("variant") or "", p["client"], p["account"], p["campaign"] or "")
    out.print(problems)
    if flows:
        ran = Table(title="Flows run", title_justify="left")
        ran.add_column("flow")
        ran.add_column("outputs")
        for name, where in flows:
            ran.add_row(name, where)
        out.print(ran)
    else:
        out.print("flows run: none wired yet")
    out.print("\n[bold]Outputs[/]")
    for label, where in (("database", database), ("outbox", outbox), ("reports", reports), ("manifest", manifest)):
        out.print(f"  {label:<9} {where}", soft_wrap=True)
