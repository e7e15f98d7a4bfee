"""Quotes, semicolons and placeholders typed into any `cadence` argument are stored as data or refused in one line,
on SQLite and PostgreSQL: no statement is ever changed by them."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from cadence.cli import app, main
from models import (
    AdAccount,
    Base,
    Campaign,
    Client,
    ClientRequest,
    Finding,
    ImportBatch,
    Incident,
    IncidentEvent,
    Interaction,
    OptimisationNote,
    OutboundMessage,
    Staff,
)
from models.enums import Severity

VALUES = [
    "x'; DROP TABLE client; --",
    '"; DELETE FROM outbound_message; --',
    "%s %(name)s $1 ? :name",  # every DB-API paramstyle, should anything format it in
    "\\",
    "O'Brien \\' \\",
    "') OR ('1'='1",
    "[/] [bold]客户 :thumbs_up:",  # Rich markup and emoji codes: printed as given, not interpreted
]
GROWS = "grows"  # the table gains rows, how many depends on the command
MAY = "may"  # the table may gain rows (e.g. an import row that is quarantined instead of loaded)
TABLES = [t.name for t in Base.metadata.sorted_tables]


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """`cadence ...` in this process, as the installed command runs it, with each call's effect on every table."""

    engine: Engine
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture
    last: dict[str, int] | None = None

    def counts(self) -> dict[str, int]:
        query = select(*[select(func.count()).select_from(t).scalar_subquery().label(t.name)
                         for t in Base.metadata.sorted_tables])
        with self.engine.connect() as conn:
            return dict(conn.execute(query).one()._mapping)

    def run(self, *args: str) -> tuple[Run, dict[str, int]]:
        # The test only reads between commands, so the counts after one are the counts before the next.
        before = self.last or self.counts()
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "argv", ["cadence", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        captured = self.capsys.readouterr()
        after = self.last = self.counts()
        code = exited.value.code
        code = 0 if code is None else code if isinstance(code, int) else 1  # as the shell sees sys.exit(code)
        return Run(code, captured.out, captured.err), {t: after[t] - before[t] for t in TABLES}

    def ok(self, *args: str, **changes: int | str) -> str:
        """Succeeds, and only the named tables change, by the given number of rows (GROWS / MAY: some / maybe)."""
        run, delta = self.run(*args)
        assert run.code == 0, f"cadence {' '.join(args)!r} failed ({run.code}):\n{run.err}"
        for table in TABLES:
            expected = changes.get(table, 0)
            if expected == GROWS:
                assert delta[table] > 0, f"{table}: no rows added by {args}"
            elif expected == MAY:
                assert delta[table] >= 0, f"{table}: {delta[table]} rows by {args}"
            else:
                assert delta[table] == expected, f"{table}: {delta[table]:+d} rows, expected {expected:+d}, by {args}"
        return run.out

    def fails(self, *args: str, expected: str = "") -> str:
        """Fails with one `error:` line and a non-zero exit, and changes nothing."""
        run, delta = self.run(*args)
        lines = run.err.strip().splitlines()
        assert run.code != 0, f"cadence {args!r} succeeded:\n{run.out}"
        assert len(lines) == 1 and lines[0].startswith("error: "), f"not one error line:\n{run.err}"
        assert expected in lines[0]
        assert not any(delta.values()), f"a failed command changed rows: { {t: d for t, d in delta.items() if d} }"
        return lines[0]

    def rejected(self, *args: str) -> None:
        """Click refuses the value for a typed option (int, choice) before any code runs: exit 2, nothing changed."""
        run, delta = self.run(*args)
        assert run.code == 2 and "Invalid value" in run.err, run.err
        assert not any(delta.values())


@pytest.fixture(scope="module")
def click_command():
    return typer.main.get_command(app)


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, click_command) -> Cli:
    # Typer rebuilds the Click command tree on every call (40 ms); the tree is the same each time, so build it once.
    build = typer.main.get_command
    monkeypatch.setattr(typer.main, "get_command", lambda typer_app: click_command if typer_app is app
                        else build(typer_app))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("CADENCE_DEBUG", raising=False)
    return Cli(engine, monkeypatch, capsys)


def export_with(folder: Path, name: str, campaign: str) -> Path:
    """A one-row Meta export whose file name and campaign name and id are the hostile text."""
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Reporting starts", "Reporting ends", "Campaign name", "Campaign ID", "Impressions",
                         "Link clicks", "Amount spent (USD)", "Results"])
        writer.writerow(["2026-11-01", "2026-11-01", campaign, campaign, "1000", "20", "12.50", "1"])
    return path


def one(engine: Engine, query):
    with Session(engine) as s:
        return s.scalars(query).one()


@pytest.mark.parametrize("v", VALUES)
def test_hostile_text_through_every_command_is_data_or_one_error_line(engine, cli, tmp_path, v):
    tables_before = set(inspect(engine).get_table_names())
    zone = ["--time-zone", "Asia/Shanghai"]

    # client and account
    cli.ok("client", "add", "--slug", v, "--name", v, "--industry", v, "--market", "CN", *zone, "--currency", "CNY",
           "--am-email", v, client=1, staff=1)
    client = one(engine, select(Client).where(Client.slug == v))
    assert (client.name, client.industry) == (v, v)
    assert one(engine, select(Staff.name).where(Staff.email == v)) == v.split("@")[0]
    cli.fails("client", "add", "--slug", v, "--name", "again", "--market", "CN", *zone, "--currency", "CNY",
              "--am-email", v, expected="already exists")
    # A three-letter column: PostgreSQL refuses what does not fit, SQLite keeps it; neither runs it.
    run, delta = cli.run("client", "add", "--slug", "other", "--name", "Other", "--market", "CN", *zone,
                         "--currency", v, "--am-email", v)
    if run.code == 0:
        assert {t: d for t, d in delta.items() if d} == {"client": 1}
        assert one(engine, select(Client.currency).where(Client.slug == "other")) == v.upper()
    else:
        assert run.code == 1 and run.err.strip().startswith("error: DataError") and "\n" not in run.err.strip()
        assert not any(delta.values())
    for bad in (["--market", v, *zone], ["--market", "CN", "--time-zone", v]):
        cli.fails("client", "add", "--slug", "bad", "--name", "Bad", *bad, "--currency", "CNY", "--am-email", "a@b.c")
    assert v in cli.ok("client", "list")

    cli.ok("account", "add", "--client", v, "--platform", "meta", "--external-id", v, "--name", v,
           "--currency", "USD", ad_account=1)  # the export is in USD
    assert one(engine, select(AdAccount.name).where(AdAccount.external_id == v)) == v
    cli.fails("account", "add", "--client", v + "'", "--platform", "meta", "--external-id", "y", expected="no client")
    cli.fails("account", "add", "--client", v, "--platform", "meta", "--external-id", v, expected="already exists")
    cli.fails("account", "add", "--client", v, "--platform", "meta", "--external-id", "z", "--time-zone", v)
    assert v in cli.ok("account", "list", "--client", v)
    cli.fails("account", "list", "--client", v + " OR 1=1", expected="no client")
    cli.rejected("account", "add", "--client", v, "--platform", v, "--external-id", "w")

    # import: the file name, the account and the campaign in the file are all text from outside
    name = v.replace("/", "-")
    export = export_with(tmp_path, name, v)
    cli.ok("import", str(export), "--platform", "meta", "--account", v, import_batch=1, campaign=MAY,
           daily_metric=MAY, quarantined_row=MAY)
    assert one(engine, select(ImportBatch.file_name)) == export.name
    assert one(engine, select(Campaign.name)) == v
    cli.fails("import", str(export), "--platform", "meta", "--account", v + "'--", expected="no meta account")
    cli.fails("import", str(export), "--platform", v, "--account", v, expected="unknown platform")
    cli.fails("import", str(tmp_path / f"missing {name}.csv"), "--platform", "meta", "--account", v)

    # notes
    cli.ok("note", "add", v, "--action", v, "--reason", v, "--account", v, "--author", v, optimisation_note=1)
    assert one(engine, select(OptimisationNote.action)) == v.strip()
    cli.fails("note", "add", v + "x", "--action", "a", expected="no client")
    cli.fails("note", "add", v, "--action", "a", "--account", v + "x", expected="has no account")
    cli.fails("note", "add", v, "--action", "a", "--author", v + "x", expected="no staff member")
    cli.fails("note", "add", v, "--action", "a", "--day", v, expected="--day must be YYYY-MM-DD")
    cli.rejected("note", "add", v, "--action", "a", "--kind", v)

    # requests
    cli.ok("request", "add", v, "--client", v, "--title", v, "--description", v, "--received-at", "2026-11-27T10:00",
           client_request=1)
    request = one(engine, select(ClientRequest))
    assert (request.reference, request.title, request.description) == (v, v, v)
    cli.fails("request", "add", v, "--client", v, "--title", "t", expected="already exists")
    cli.fails("request", "add", v + "2", "--client", v, "--title", "t", "--contact", v, expected="no contact")
    cli.fails("request", "add", v + "3", "--client", v, "--title", "t", "--received-at", v,
              expected="not an ISO date-time")
    cli.ok("request", "ack", v, "--client", v, "--at", "2026-11-30T09:00")
    cli.fails("request", "plan", v + "'", "--client", v, expected="no request")
    cli.fails("request", "plan", v, "--client", v, "--at", v, expected="not an ISO date-time")
    assert v in cli.ok("request", "list", "--client", v)
    cli.fails("request", "list", "--client", v + ";", expected="no client")

    # incidents: the cause and the notes go into messages to the crisis group
    cli.ok("incident", "open", "--client", v, "--cause", v, incident=1, incident_event=GROWS,
           outbound_message=GROWS)
    incident = one(engine, select(Incident))
    assert incident.cause == v
    message_id = one(engine, select(func.min(OutboundMessage.id)))
    assert v in cli.ok("outbox", "show", str(message_id))
    cli.fails("incident", "open", "--client", v + "'", "--cause", "c", expected="no client")
    cli.fails("incident", "ack", str(incident.id), "--by", v + "'", expected="no staff member")
    cli.ok("incident", "ack", str(incident.id), "--by", v, incident_event=1)
    cli.ok("incident", "advance", str(incident.id), "--to", "facts", "--by", v, "--note", v, "--responsibility", v,
           incident_event=GROWS)
    with Session(engine) as s:
        notes = s.scalars(select(IncidentEvent.detail).where(IncidentEvent.kind.like("note:%"))).all()
    assert notes.count(v) >= 3, notes  # the cause as the first fact, the facts note, the responsibility
    assert v in cli.ok("incident", "show", str(incident.id))
    assert v in cli.ok("incident", "list")
    cli.rejected("incident", "ack", v, "--by", v)
    cli.rejected("incident", "advance", str(incident.id), "--to", v, "--by", v)

    # contacts and tiers
    cli.ok("contact", "log", "--client", v, "--channel", "wechat", "--summary", v, "--by", v, "--at",
           "2026-12-01T10:00", interaction=1)
    assert one(engine, select(Interaction.summary)) == v
    cli.fails("contact", "log", "--client", v, "--channel", "phone", "--summary", "s", "--contact", v,
              expected="no contact")
    cli.fails("contact", "log", "--client", v, "--channel", "phone", "--summary", "s", "--by", v + "x",
              expected="no staff member")
    cli.rejected("contact", "log", "--client", v, "--channel", v, "--summary", "s")
    assert "potential (override)" in cli.ok("tier", "set", v, "potential")
    cli.fails("tier", "set", v, v, expected="tier must be")
    cli.fails("tier", "set", v + "x", "auto", expected="no client")
    cli.fails("tier", "recompute", "--as-of", v)

    # the outbox and the schema take typed values only
    cli.rejected("outbox", "list", "--status", v)
    cli.rejected("outbox", "list", "--limit", v)
    cli.rejected("outbox", "show", v)
    cli.rejected("outbox", "retry", v)
    cli.rejected("outbox", "release", v)
    cli.fails("db", "upgrade", v)

    # findings: filters are bound values, an acknowledgement's author and note are data
    with Session(engine) as s, s.begin():
        account = s.scalars(select(AdAccount)).first()
        s.add(Finding(client_id=account.client_id, account_id=account.id, subject="account", detector=v,
                      day=dt.date(2026, 11, 27), severity=Severity.WARNING, evidence={"note": v}, recommendation=v))
    cli.last = None  # counted afresh: the finding was added here, not by a command
    finding = one(engine, select(Finding))
    assert v in cli.ok("findings", "list", "--client", v, "--detector", v)
    assert "no open/acknowledged findings" in cli.ok("findings", "list", "--detector", v + "' OR '1'='1")
    cli.fails("findings", "list", "--client", v + "'", expected="no client")
    cli.fails("findings", "list", "--day", v, expected="--day must be a date")
    cli.rejected("findings", "list", "--severity", v)
    cli.rejected("findings", "show", v)
    assert v in cli.ok("findings", "show", str(finding.id))
    cli.ok("findings", "ack", str(finding.id), "--by", v, "--note", v)
    assert one(engine, select(Finding.acknowledged_by)) == v.strip()
    assert one(engine, select(Finding.ack_note)) == v.strip()
    cli.fails("run", v, expected="no flow")
    cli.fails("run", "daily-account-sweep", "--as-of", v, expected="--as-of must be a date")

    assert set(inspect(engine).get_table_names()) == tables_before >= set(TABLES)
