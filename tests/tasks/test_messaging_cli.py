"""`cadence outbox list|show|send|retry|release` on the embedded file outbox."""

from __future__ import annotations

from pathlib import Path

from messaging_helpers import put, rows
from typer.testing import CliRunner

from cadence.cli import app
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
