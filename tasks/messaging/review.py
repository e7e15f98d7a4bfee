"""The review gate: which client messages wait for the AM's approval, and the approve / edit / reject decision."""

from __future__ import annotations

import datetime as dt
import difflib
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Client, Contact, MessageReview, OutboundMessage, Staff
from models.enums import ApprovalMode, MessageStatus, ReviewAction, StaffRole, Tier
from tasks.business_hours import add_business_hours
from tasks.errors import CadenceError
from tasks.messaging.outbox import MAX_SUBJECT_CHARS, Delivery, Window, plan_delivery, window_of

# The client message kinds a client's approval setting can name (settings["approval"][kind]).
APPROVAL_KINDS = ("client_update", "recap", "strategy_pack")
# Crisis notices go out when the incident owner advances the stage: that step is already a person's approval.
CRISIS_PREFIX = "crisis-"
AWAITING_REASON = "waiting for the AM's approval"
# Business time a message may wait before the AM is reminded, then before the team lead is; a stand-up
# update is news for a day, so it is chased sooner than a monthly recap.
REMIND_AM_AFTER = {"client_update": dt.timedelta(hours=2)}
REMIND_AM_DEFAULT = dt.timedelta(hours=4)
REMIND_LEAD_AFTER = {"client_update": dt.timedelta(hours=4)}
REMIND_LEAD_DEFAULT = dt.timedelta(hours=8)
MAX_DIFF_CHARS = 20_000
DECIDERS = (StaffRole.TEAM_LEAD, StaffRole.DIRECTOR)


def approval_mode(settings: Mapping[str, Any] | None, tier: Tier | str | None, kind: str) -> ApprovalMode:
    """The client's setting for this kind; unset: the AM approves for strategic clients, else auto; crises never
    wait."""
    if kind.startswith(CRISIS_PREFIX):
        return ApprovalMode.AUTO
    configured = (settings or {}).get("approval") or {}
    value = configured.get(kind) if isinstance(configured, Mapping) else None
    if value is not None:
        try:
            return ApprovalMode(value)
        except ValueError:
            return ApprovalMode.AM_APPROVES  # an unreadable setting errs on the side of a person looking first
    return ApprovalMode.AM_APPROVES if tier is not None and Tier(tier) == Tier.STRATEGIC else ApprovalMode.AUTO


def gate(plan: Delivery, mode: ApprovalMode) -> Delivery:
    """A message the AM must approve waits in its own state; one the AM delivers by hand (manual) is theirs anyway."""
    if mode == ApprovalMode.AM_APPROVES and plan.status in (MessageStatus.QUEUED, MessageStatus.HELD):
        return Delivery(MessageStatus.AWAITING_APPROVAL, hold_reason=AWAITING_REASON)
    return plan


def set_approval(settings: Mapping[str, Any] | None, kind: str, mode: str | None) -> dict[str, Any]:
    """The client's settings with `kind` set to `mode` (None: back to the tier's default); bad input is one line."""
    if kind.startswith(CRISIS_PREFIX) or kind == "crisis":
        raise CadenceError("crisis notices are not gated: they go out when the incident owner advances the stage")
    if kind not in APPROVAL_KINDS:
        raise CadenceError(f"unknown message kind {kind!r}: one of {', '.join(APPROVAL_KINDS)}")
    approval = dict((settings or {}).get("approval") or {})
    if mode is None:
        approval.pop(kind, None)
    else:
        try:
            approval[kind] = ApprovalMode(mode).value
        except ValueError:
            raise CadenceError(f"unknown approval mode {mode!r}: auto or am_approves") from None
    out = {k: v for k, v in (settings or {}).items() if k != "approval"}
    return {**out, "approval": approval} if approval else out


def text_to_html(text: str) -> str:
    """An edited plain-text body as the HTML part: paragraphs on blank lines, line breaks kept, nothing unescaped."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "\n".join(f"<p>{html.escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.5">\n{body}\n</body></html>'


def edit_changes(old_subject: str, new_subject: str, old_text: str, new_text: str) -> dict[str, Any]:
    """What an edit changed: the subject before and after, and a unified diff of the text body (capped)."""
    changes: dict[str, Any] = {}
    if old_subject != new_subject:
        changes["subject"] = {"before": old_subject, "after": new_subject}
    if old_text != new_text:
        diff = "".join(difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                            "before", "after", n=1))
        changes["body_diff"] = diff if len(diff) <= MAX_DIFF_CHARS else diff[:MAX_DIFF_CHARS] + "\n… (cut)"
    return changes


@dataclass(frozen=True)
class Decision:
    """What a decision did to one message."""

    message_id: int
    action: ReviewAction
    status: MessageStatus
    hold_until: dt.datetime | None
    by: str

    def line(self) -> str:
        held = f" until {self.hold_until:%Y-%m-%d %H:%M} UTC (client's business hours)" if self.hold_until else ""
        return f"message {self.message_id}: {self.action.value} by {self.by} -> {self.status.value}{held}"


def _decider(session: Session, by: str, client: Client | None) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.email == (by or "").strip())).one_or_none()
    if staff is None:
        raise CadenceError(f"no staff member with email {by!r}")
    if client is not None and staff.id not in (client.owner_am_id, client.team_lead_id, client.director_id) \
            and staff.role not in DECIDERS:
        raise CadenceError(f"{staff.email} is not the AM, team lead or director of {client.slug}: they cannot decide "
                           "on its messages")
    return staff


def decide(session: Session, message_id: int, action: ReviewAction | str, by: str, now: dt.datetime, *,
           subject: str | None = None, body: str | None = None, note: str | None = None) -> Decision:
    """Approve, edit (and so approve the edited text) or reject one message awaiting approval; the decision is kept."""
    from tasks.messaging.compose import clean_subject  # compose imports this module for the gate

    try:
        action = ReviewAction(action)
    except ValueError:
        raise CadenceError(f"unknown decision {action!r}: approve, edit or reject") from None
    message = session.get(OutboundMessage, message_id)
    if message is None:
        raise CadenceError(f"no message {message_id}: see `cadence outbox list --status awaiting_approval`")
    if message.status != MessageStatus.AWAITING_APPROVAL:
        raise CadenceError(f"message {message_id} is {message.status.value}, not awaiting approval: nothing to decide")
    client = session.get(Client, message.client_id) if message.client_id is not None else None
    staff = _decider(session, by, client)
    note = (note or "").strip() or None
    if action != ReviewAction.EDIT and (subject or body):
        raise CadenceError("a new subject or body is an edit: choose edit")
    if action == ReviewAction.REJECT and note is None:
        raise CadenceError("a rejection needs a reason (note), so the AM's team knows why it was not sent")
    values: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    if action == ReviewAction.EDIT:
        new_subject = clean_subject(subject) if subject and subject.strip() else message.subject
        new_text = body.replace("\r\n", "\n").strip() + "\n" if body and body.strip() else message.body_text
        if len(new_subject) >= MAX_SUBJECT_CHARS:
            raise CadenceError(f"the subject is over {MAX_SUBJECT_CHARS - 1} characters")
        changes = edit_changes(message.subject, new_subject, message.body_text, new_text)
        if not changes:
            raise CadenceError("an edit needs a new subject or body that differs from the message's")
        values = {"subject": new_subject}
        if "body_diff" in changes:
            values |= {"body_text": new_text, "body_html": text_to_html(new_text)}
    if action == ReviewAction.REJECT:
        plan = Delivery(MessageStatus.REJECTED, hold_reason=f"rejected by {staff.email}"[:200])
    else:
        contact = session.get(Contact, message.contact_id) if message.contact_id is not None else None
        window: Window | None = window_of(contact, client) if contact is not None and client is not None else None
        plan = plan_delivery(contact.channel if contact is not None else "email", window, message.is_crisis, now)
    changed = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id, OutboundMessage.status == MessageStatus.AWAITING_APPROVAL)
        .values(status=plan.status, hold_until=plan.hold_until, hold_reason=plan.hold_reason, **values)
    ).rowcount
    if not changed:
        raise CadenceError(f"message {message_id} was decided by someone else meanwhile: see `cadence outbox show`")
    session.add(MessageReview(message_id=message_id, action=action, staff_id=staff.id, at=now, note=note,
                              changes=changes))
    session.flush()
    return Decision(message_id, action, plan.status, plan.hold_until, staff.email)


@dataclass(frozen=True)
class Waiting:
    """A client message awaiting approval, as the reminders and the list see it."""

    message_id: int
    client_id: int | None
    client: str
    kind: str
    recipient: str
    language: str
    subject: str
    waiting_since: dt.datetime
    window: Window | None


def awaiting(session: Session, client_ids: Iterable[int] | None = None) -> list[Waiting]:
    """Every message awaiting approval, oldest first, with its client's business window."""
    query = (select(OutboundMessage, Client).outerjoin(Client, Client.id == OutboundMessage.client_id)
             .where(OutboundMessage.status == MessageStatus.AWAITING_APPROVAL).order_by(OutboundMessage.id))
    if client_ids is not None:
        query = query.where(OutboundMessage.client_id.in_(list(client_ids)))
    found = []
    for m, c in session.execute(query).all():
        window = (Window(c.time_zone, c.market, c.business_hours_start, c.business_hours_end)
                  if c is not None else None)
        found.append(Waiting(m.id, m.client_id, c.slug if c is not None else "-", m.kind, m.recipient,
                             m.language.value, m.subject, m.created_at, window))
    return found


def approvals_moved(session: Session, since: dt.datetime, until: dt.datetime) -> bool:
    """Did a message start waiting for approval, or get decided, in (since, until]? A quiet pass publishes nothing."""
    started = select(OutboundMessage.id).where(OutboundMessage.status == MessageStatus.AWAITING_APPROVAL,
                                               OutboundMessage.created_at > since, OutboundMessage.created_at <= until)
    decided = select(MessageReview.id).where(MessageReview.at > since, MessageReview.at <= until)
    return session.execute(started.limit(1)).first() is not None or \
        session.execute(decided.limit(1)).first() is not None


@dataclass(frozen=True)
class ApprovalReminder:
    message_id: int
    client_id: int
    step: str  # "am" first, then "team-lead"
    due_at: dt.datetime

    @property
    def period(self) -> str:
        """One reminder per message and step, however many watch passes see it."""
        return f"m{self.message_id}-{self.step}"


def approval_reminders(waiting: Iterable[Waiting], as_of: dt.datetime) -> list[ApprovalReminder]:
    """For each message waiting past its limits (in the client's business time): the AM, then the team lead."""
    out = []
    for w in waiting:
        if w.client_id is None or w.window is None:
            continue
        for step, limits, default in (("am", REMIND_AM_AFTER, REMIND_AM_DEFAULT),
                                      ("team-lead", REMIND_LEAD_AFTER, REMIND_LEAD_DEFAULT)):
            due = add_business_hours(w.waiting_since, limits.get(w.kind, default), w.window.zone, w.window.country,
                                     w.window.start, w.window.end).astimezone(dt.timezone.utc)
            if as_of >= due:
                out.append(ApprovalReminder(w.message_id, w.client_id, step, due))
    return out


def _cell(text: str, width: int = 80) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= width else text[: width - 1] + "…"


def awaiting_markdown(waiting: Sequence[Waiting], as_of: dt.datetime) -> str:
    """The messages the AMs have to decide on, as a table with the ids the approval form asks for."""
    lines = [f"# Client messages awaiting approval ({len(waiting)}) at {as_of:%Y-%m-%d %H:%M} UTC", ""]
    if not waiting:
        return "\n".join(lines + ["Nothing is waiting for approval."])
    lines += ["Decide in **Deployments → message-approval → Run → Custom run**, or "
              "`cadence outbox approve|edit|reject ID --by EMAIL`; `cadence outbox show ID` shows the text.", "",
              "| id | client | kind | language | subject | waiting since (UTC) |",
              "|---|---|---|---|---|---|"]
    # No recipient address: artifacts carry no client contact's email (`cadence outbox show ID` has it).
    lines += [f"| {w.message_id} | {_cell(w.client)} | {w.kind} | {w.language} | "
              f"{_cell(w.subject)} | {w.waiting_since:%Y-%m-%d %H:%M} |" for w in waiting]
    return "\n".join(lines)
