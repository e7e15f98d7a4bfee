"""The review gate from the shell: `cadence outbox approve|edit|reject` and `cadence client approval`."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import runner
from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.cli import app
from models import Client, OutboundMessage
from models.enums import MessageStatus, Tier
from review_helpers import compose_for, gated_agency
from tasks.errors import CadenceError


def _message(engine, message_id: int) -> OutboundMessage:
    with Session(engine) as s:
        return s.get(OutboundMessage, message_id)


def test_cli_approve_edit_reject_and_bad_input(engine, tmp_path: Path):
    ids = gated_agency(engine)
    first, second, third = (compose_for(engine, ids, kind=k) for k in ("recap", "client_update", "strategy_pack"))
    listed = runner.invoke(app, ["outbox", "list", "--status", "awaiting_approval"])
    assert listed.exit_code == 0 and "awaiting_approval: 3" in listed.output

    bad = [(["outbox", "approve", str(first), "--by", "nobody@x.example"], "no staff member"),
           (["outbox", "approve", str(first), "999", "--by", "am@agency.example"], "no message 999"),
           (["outbox", "edit", str(first), "--by", "am@agency.example"], "needs --subject or --body-file"),
           (["outbox", "edit", str(first), "--by", "am@agency.example", "--body-file", str(tmp_path / "none.txt")],
            "cannot read")]
    for args, error in bad:
        result = runner.invoke(app, args)
        assert result.exit_code != 0 and isinstance(result.exception, CadenceError), args
        assert error in str(result.exception)
    assert _message(engine, first).status == MessageStatus.AWAITING_APPROVAL, "a bad id in a batch changes nothing"

    body = tmp_path / "body.txt"
    body.write_text("您好，李先生：\n\n十月花费上升。\n", encoding="utf-8")
    edited = runner.invoke(app, ["outbox", "edit", str(first), "--by", "am@agency.example", "--body-file", str(body)])
    assert edited.exit_code == 0, edited.output
    assert "edit by am@agency.example" in edited.output
    assert _message(engine, first).body_text == "您好，李先生：\n\n十月花费上升。\n"
    approved = runner.invoke(app, ["outbox", "approve", str(second), "--by", "lead@agency.example"])
    assert approved.exit_code == 0 and f"message {second}: approve" in approved.output
    rejected = runner.invoke(app, ["outbox", "reject", str(third), "--by", "am@agency.example", "--reason", "old"])
    assert rejected.exit_code == 0 and "-> rejected" in rejected.output
    shown = runner.invoke(app, ["outbox", "show", str(first)])
    assert "edit by am@agency.example" in shown.output and "changed body_diff" in shown.output


def test_cli_client_approval_shows_and_sets_per_kind(engine):
    gated_agency(engine, tier=Tier.REGULAR)
    shown = runner.invoke(app, ["client", "approval", "acme"])
    assert shown.exit_code == 0 and "regular tier default" in shown.output and "am_approves" not in shown.output
    setting = runner.invoke(app, ["client", "approval", "acme", "--kind", "recap", "--mode", "am_approves"])
    assert setting.exit_code == 0 and "client setting" in setting.output
    with Session(engine) as s:
        assert s.scalars(select(Client.settings)).one()["approval"] == {"recap": "am_approves"}
    for args, error in [(["--kind", "crisis-facts", "--mode", "am_approves"], "not gated"),
                        (["--mode", "auto"], "--kind"), (["--kind", "recap"], "--mode"),
                        (["--kind", "recap", "--mode", "maybe"], "unknown approval mode")]:
        result = runner.invoke(app, ["client", "approval", "acme", *args])
        assert result.exit_code != 0 and error in str(result.exception), args
    reset = runner.invoke(app, ["client", "approval", "acme", "--kind", "recap", "--default"])
    assert reset.exit_code == 0
    with Session(engine) as s:
        assert "approval" not in s.scalars(select(Client.settings)).one()
