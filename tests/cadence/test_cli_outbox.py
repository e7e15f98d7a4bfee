"""`cadence outbox list|show|send|retry|release` on the embedded file outbox."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cadence.cli import app
from messaging_helpers import put, rows
from models.enums import MessageStatus

runner = CliRunner()


def test_list_send_show_retry_release(engine, tmp_path: Path):
    put(engine, rows(2) + rows(1, start=2, status=MessageStatus.HELD, hold_reason="waiting for approval")
        + rows(1, start=3, recipient="broken"))
    listed = runner.invoke(app, ["outbox", "list"])
    assert listed.exit_code == 0 and "held: 1" in listed.output and "queued: 3" in listed.output
    sent = runner.invoke(app, ["outbox", "send"])
    assert sent.exit_code == 0 and "via file-outbox: 2 sent" in sent.output and "1 dead" in sent.output
    assert len(list((tmp_path / "home" / "outbox").glob("*.eml"))) == 2
    shown = runner.invoke(app, ["outbox", "show", "4"])
    assert shown.exit_code == 0 and "invalid recipient address" in shown.output and "Body 3" in shown.output
    assert runner.invoke(app, ["outbox", "retry", "1"]).exit_code != 0, "a sent message cannot be retried"
    assert "1 message(s) queued again" in runner.invoke(app, ["outbox", "retry", "4"]).output
    assert "1 message(s) released" in runner.invoke(app, ["outbox", "release", "3"]).output
    again = runner.invoke(app, ["outbox", "send"])
    assert "1 sent" in again.output and "1 dead" in again.output
    assert runner.invoke(app, ["outbox", "show", "99"]).exit_code != 0


def test_list_shows_hold_times_with_their_zone_and_explains_every_column(engine):
    import datetime as dt

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from models import OutboundMessage

    put(engine, rows(1, status=MessageStatus.HELD, hold_reason="outside business hours")
        + rows(1, start=1, is_crisis=True))
    with Session(engine) as s, s.begin():
        s.execute(update(OutboundMessage).where(OutboundMessage.status == MessageStatus.HELD)
                  .values(hold_until=dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.timezone.utc)))
    listed = runner.invoke(app, ["outbox", "list"], env={"COLUMNS": "200"})
    header = listed.output.splitlines()[1]
    assert "crisis" in header and "!" not in header
    held = next(line for line in listed.output.splitlines() if "Message 0" in line)
    assert "2026-11-28 09:00+08" in held, "Shanghai's 09:00, said so"
    crisis = next(line for line in listed.output.splitlines() if "Message 1" in line)
    assert " yes " in crisis
    helped = runner.invoke(app, ["outbox", "list", "--help"], env={"COLUMNS": "200"}).output
    for column in ("id", "status", "crisis", "kind", "recipient", "subject", "tries", "next / hold until",
                   "last error"):
        assert f"{column} (" in helped or f"{column};" in helped, f"--help does not explain {column!r}"
