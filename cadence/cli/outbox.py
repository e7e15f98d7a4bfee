"""`cadence outbox`: see what Cadence has composed and sent, send what is due, retry, release, approve, edit, reject."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadence.cli.output import console, print_table, short
from models import MessageReview, OutboundMessage, Staff
from models.base import utcnow
from models.enums import MessageStatus, ReviewAction
from tasks.errors import CadenceError
from tasks.forms import local_stamp
from tasks.messaging.outbox import RETRYABLE, dispatch, release, retry
from tasks.messaging.review import decide
from tasks.resources import configured_transport, ready_engine
from tasks.settings import get_settings

app = typer.Typer(help="The outbox of messages: list, show, send, retry, release, approve, edit, reject.",
                  no_args_is_help=True)
# Names, notes and addresses are data: printed as given, never read as Rich markup or :emoji: codes.
out = console()


def _when(value) -> str:
    """A stored moment on the agency's clock, with its offset: 2026-11-28 09:00+08."""
    return local_stamp(value, get_settings().agency_time_zone, sep=" ") if value else ""


@app.command("list")
def list_messages(
    status: list[MessageStatus] = typer.Option(None, "--status", "-s", help="only these states (repeatable)"),
    limit: int = typer.Option(50, help="at most this many, newest first"),
) -> None:
    """Messages, newest first, one per line.

    id (for show, send, retry, release, approve); status (queued, held, sent, manual: the AM delivers it by hand)
    crisis (yes: a crisis notice, never held for business hours or approval); kind; recipient; subject;
    tries (send attempts so far); next / hold until (the next attempt or the end of the hold, agency time + offset)
    last error (or why it is held)
    """
    with Session(ready_engine()) as s:
        query = select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)
        if status:
            query = query.where(OutboundMessage.status.in_(status))
        rows = s.scalars(query).all()
        counts = dict(s.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all())
    table = Table("id", "status", "crisis", "kind", "recipient", "subject", "tries", "next / hold until", "last error")
    # The state is what a reader scans for: never folded or cut, even "awaiting_approval" in 80 columns.
    table.columns[1].no_wrap, table.columns[1].min_width = True, len(MessageStatus.AWAITING_APPROVAL.value)
    for m in rows:
        table.add_row(str(m.id), m.status.value, "yes" if m.is_crisis else "", m.kind, m.recipient,
                      short(m.subject, 40), str(m.attempts), _when(m.next_attempt_at or m.hold_until),
                      short(m.last_error or m.hold_reason, 50))
    if rows:
        print_table(out, table)
    else:
        out.print("the outbox is empty" if not counts else "no message in those states")
    if counts:
        out.print("  ".join(f"{k.value}: {v}" for k, v in sorted(counts.items(), key=lambda kv: kv[0].value)))


@app.command("show")
def show(message_id: int = typer.Argument(..., help="the id from `cadence outbox list`")) -> None:
    """One message: its key, state and history fields, and the plain-text body."""
    with Session(ready_engine()) as s:
        m = s.get(OutboundMessage, message_id)
        if m is None:
            raise CadenceError(f"no message {message_id}: see `cadence outbox list`")
        reviews = s.execute(select(MessageReview, Staff.email).join(Staff, Staff.id == MessageReview.staff_id)
                            .where(MessageReview.message_id == message_id).order_by(MessageReview.id)).all()
    fields = [("key", m.idempotency_key), ("status", m.status.value), ("crisis", str(m.is_crisis)),
              ("audience", m.audience.value), ("to", m.recipient), ("language", m.language.value),
              ("subject", m.subject), ("attempts", str(m.attempts)), ("next attempt", _when(m.next_attempt_at)),
              ("hold until", _when(m.hold_until)), ("hold reason", m.hold_reason or ""),
              ("provider", f"{m.provider or ''} {m.provider_message_id or ''}".strip()),
              ("sent at", _when(m.sent_at)), ("last error", m.last_error or "")]
    fields += [("review", f"{_when(r.at)} {r.action.value} by {email}" + (f": {r.note}" if r.note else "")
                + (f" (changed {', '.join(sorted(r.changes))})" if r.changes else "")) for r, email in reviews]
    for name, value in fields:
        out.print(f"[bold]{name:>12}[/]  {escape(value)}", markup=True)
    out.print()
    out.print(m.body_text, markup=False)


@app.command("send")
def send(limit: int | None = typer.Option(None, help="send at most this many now")) -> None:
    """Send what is due now with the configured transport (SendGrid with a key, else the file outbox)."""
    transport = configured_transport()
    report = dispatch(ready_engine(), transport, limit=limit)
    out.print(f"via {transport.name}: {report.sent} sent, {report.failed} failed (will retry), {report.dead} dead, "
              f"{report.uncertain + report.recovered_uncertain} uncertain, {report.held} held, {report.manual} manual")
    for line in report.errors:
        out.print(f"  {line}", markup=False)


@app.command("retry")
def retry_command(
    message_ids: list[int] = typer.Argument(..., help="ids of failed, dead or uncertain messages"),
) -> None:
    """Queue failed, dead or uncertain messages again (for uncertain ones: check the provider first)."""
    n = retry(ready_engine(), message_ids)
    if n == 0:
        states = ", ".join(s.value for s in RETRYABLE)
        raise CadenceError(f"nothing to retry: only messages in {states} can be retried")
    out.print(f"{n} message(s) queued again; `cadence outbox send` sends them")


@app.command("release")
def release_command(message_ids: list[int] = typer.Argument(..., help="ids of held messages")) -> None:
    """Release held messages (waiting for business hours) to be sent by the next dispatch; approve with `approve`."""
    n = release(ready_engine(), message_ids)
    if n == 0:
        raise CadenceError("nothing released: only held messages can be released")
    out.print(f"{n} message(s) released")


def _decide(message_ids: list[int], action: ReviewAction, by: str, note: str | None = None,
            subject: str | None = None, body: str | None = None) -> None:
    """Every decision in one transaction: a bad id leaves all the messages as they were."""
    with Session(ready_engine()) as s, s.begin():
        decisions = [decide(s, i, action, by, utcnow(), subject=subject, body=body, note=note) for i in message_ids]
    for d in decisions:
        out.print(d.line())


@app.command("approve")
def approve_command(
    message_ids: list[int] = typer.Argument(..., help="ids of messages awaiting approval"),
    by: str = typer.Option(..., "--by", help="your staff email: the client's AM, team lead or director"),
    note: str | None = typer.Option(None, "--note", help="kept with the decision"),
) -> None:
    """Approve messages awaiting approval: queued now, or held until the client's business hours."""
    _decide(message_ids, ReviewAction.APPROVE, by, note)


@app.command("reject")
def reject_command(
    message_ids: list[int] = typer.Argument(..., help="ids of messages awaiting approval"),
    by: str = typer.Option(..., "--by", help="your staff email: the client's AM, team lead or director"),
    reason: str = typer.Option(..., "--reason", help="why it must not go out; kept with the decision"),
) -> None:
    """Reject messages awaiting approval: they are never sent."""
    _decide(message_ids, ReviewAction.REJECT, by, reason)


@app.command("edit")
def edit_command(
    message_id: int = typer.Argument(..., help="the id of a message awaiting approval"),
    by: str = typer.Option(..., "--by", help="your staff email: the client's AM, team lead or director"),
    subject: str | None = typer.Option(None, "--subject", help="the new subject"),
    body_file: Path | None = typer.Option(None, "--body-file", help="a UTF-8 text file with the new body "
                                          "(start from `cadence outbox show ID`)"),
    note: str | None = typer.Option(None, "--note", help="kept with the decision"),
) -> None:
    """Change a message awaiting approval and approve the edited text; the change is recorded."""
    body = None
    if body_file is not None:
        try:
            body = body_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CadenceError(f"cannot read {body_file}: {getattr(exc, 'strerror', None) or exc}") from None
    if subject is None and body is None:
        raise CadenceError("an edit needs --subject or --body-file")
    _decide([message_id], ReviewAction.EDIT, by, note, subject, body)
