"""`cadence note add`: notes the team records land where the stand-up, recap and pack read them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cadence.cli import app
from cadence.demo.write import generate_agency
from models import OptimisationNote


def test_note_add_records_a_competitor_note_and_refuses_an_unknown_client(engine):
    generate_agency(engine, as_of=dt.date(2026, 11, 25), seed=11, clients=4, days=45)
    runner = CliRunner()
    done = runner.invoke(app, ["note", "add", "demo-control", "--kind", "competitor", "--day", "2026-09-10",
                               "--action", "A rival doubled its brand bids", "--reason", "seen in auction insights"])
    assert done.exit_code == 0, done.output
    with Session(engine) as s:
        note = s.scalars(select(OptimisationNote).where(OptimisationNote.action.like("A rival%"))).one()
        assert (note.kind.value, note.day) == ("competitor", dt.date(2026, 9, 10))
    missing = runner.invoke(app, ["note", "add", "nobody", "--action", "x"])
    assert missing.exit_code != 0
