"""The outbox: messages are composed under an idempotency key first and dispatched in a separate step."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from models import Client, Contact, OutboundMessage, Report
from models.base import utcnow
from models.enums import Audience, Channel, MessageStatus
from tasks.business_hours import in_business_hours, next_business_moment
from tasks.db import insert_missing
from tasks.transports import Attachment, EmailTransport, Envelope, Outcome, SendResult

T = OutboundMessage.__table__
# Beyond this a message is not an email any more; SendGrid would take up to 30 MB, mail clients clip at ~100 kB.
MAX_BODY_BYTES = 5_000_000
MAX_SUBJECT_CHARS = 500
# Base64 makes it ~13.4 MB on the wire, well inside SendGrid's 30 MB; many recipients' servers refuse much more.
MAX_ATTACHMENT_BYTES = 10_000_000
REPORTS = Report.__table__
CLIENTS = Client.__table__
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
INTERRUPTED = ("found in 'sending' when a dispatch run started: the process stopped after claiming it, so the "
               "provider may or may not have accepted it; check the provider's activity before `cadence outbox retry`")


def idempotency_key(flow: str, client: str | None, period: str, recipient: str, kind: str) -> str:
    """flow:client:period:recipient:kind — the same message composed twice gets the same key."""
    return ":".join([flow, client or "-", period, recipient.lower(), kind])


def enqueue(session: Session, messages: Sequence[dict[str, Any]]) -> int:
    """Put composed messages in the outbox; a key already there is left alone. Returns how many are new.

    Client messages to a test client are dropped here, whatever composed them; the terms a client message
    explains are remembered on its contact, so the next message does not explain them again.
    """
    messages = without_test_clients(session, messages)
    remember_terms(session, messages)
    rows = [
        {**{k: v for k, v in m.items() if k != "client_slug"},
         "idempotency_key": idempotency_key(m["flow"], m.get("client_slug"), m["period"], m["recipient"], m["kind"])}
        for m in messages
    ]
    # One statement per run of same-shaped rows: an executemany takes its columns from the first row only.
    return sum(
        insert_missing(session, T, list(same), ["idempotency_key"])
        for _shape, same in itertools.groupby(rows, key=lambda r: tuple(sorted(r)))
    )


def without_test_clients(session: Session, messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages minus any client-audience message to a client marked as a test (internal) client."""
    ids = {m.get("client_id") for m in messages if m.get("audience") == Audience.CLIENT and m.get("client_id")}
    if not ids:
        return list(messages)
    tests = set(session.scalars(select(Client.id).where(Client.id.in_(ids), Client.is_test.is_(True))))
    return [m for m in messages if not (m.get("audience") == Audience.CLIENT and m.get("client_id") in tests)]


def remember_terms(session: Session, messages: Sequence[dict[str, Any]]) -> None:
    """Add the terms each client message explains to its contact's `glossary_sent`."""
    told: dict[int, set[str]] = {}
    for m in messages:
        terms = (m.get("meta") or {}).get("terms")
        if terms and m.get("contact_id") and m.get("audience") == Audience.CLIENT:
            told.setdefault(m["contact_id"], set()).update(terms)
    if not told:
        return
    for contact in session.scalars(select(Contact).where(Contact.id.in_(told))):
        known = set(contact.glossary_sent or ())
        if not told[contact.id] <= known:
            contact.glossary_sent = sorted(known | told[contact.id])
    session.flush()


@dataclass(frozen=True)
class Window:
    """Where and when a contact reads mail: zone, country (for holidays) and local business hours."""

    zone: str
    country: str | None
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class Delivery:
    status: MessageStatus
    hold_until: dt.datetime | None = None
    hold_reason: str | None = None


def window_of(contact: Contact, client: Client) -> Window:
    return Window(
        zone=contact.time_zone or client.time_zone,
        country=client.market,
        start=contact.business_hours_start or client.business_hours_start,
        end=contact.business_hours_end or client.business_hours_end,
    )


def plan_delivery(channel: Channel | str, window: Window | None, is_crisis: bool, now: dt.datetime) -> Delivery:
    """Manual if the contact does not want email; held until business hours unless it is a crisis; else queued."""
    if Channel(channel) != Channel.EMAIL:
        return Delivery(MessageStatus.MANUAL,
                        hold_reason=f"prefers {Channel(channel).value}: the AM delivers it by hand")
    if window is None or is_crisis or in_business_hours(now, window.zone, window.country, window.start, window.end):
        return Delivery(MessageStatus.QUEUED)
    opens = next_business_moment(now, window.zone, window.country, window.start, window.end)
    return Delivery(MessageStatus.HELD, opens.astimezone(dt.timezone.utc),
                    f"outside business hours ({window.zone}); opens {opens.isoformat(timespec='minutes')}")


def problem(envelope: Envelope) -> str | None:
    """Why this message cannot be sent at all, or None: no provider call is made for these."""
    if len(envelope.recipient) > 254 or not _ADDRESS.match(envelope.recipient):
        return f"invalid recipient address {envelope.recipient[:80]!r}"
    if "\r" in envelope.subject or "\n" in envelope.subject:
        return "subject contains a line break (would split the mail headers)"
    if not envelope.subject.strip():
        return "empty subject"
    size = len(envelope.html.encode()) + len(envelope.text.encode())
    if size > MAX_BODY_BYTES:
        return f"body is {size / 1e6:.1f} MB, over the {MAX_BODY_BYTES / 1e6:.0f} MB limit"
    return None


def report_pdf_path(report_pdf: str | None, meta: dict[str, Any] | None) -> str | None:
    """The PDF a message promises: the report row's path first, else the one noted in meta when composing."""
    return report_pdf or (meta or {}).get("report_pdf") or None


def attachment_name(slug: str | None, period: str) -> str:
    """`<slug>-<period>.pdf`, made safe as a file name (no separators, no leading dot, at most 104 characters)."""
    stem = _UNSAFE_NAME.sub("-", f"{slug or 'report'}-{period}").strip("-.")[:100].strip("-.")
    return f"{stem or 'report'}.pdf"


def load_pdf(path: str, filename: str) -> Attachment | str:
    """The PDF as an attachment, or why it cannot be attached (the message must then not go out without it)."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_ATTACHMENT_BYTES:
            return (f"report PDF {path} is {size / 1e6:.1f} MB, over the "
                    f"{MAX_ATTACHMENT_BYTES / 1e6:.0f} MB attachment limit")
        content = Path(path).read_bytes()
    except OSError as exc:
        return (f"report PDF {path} cannot be read ({exc.strerror or type(exc).__name__}); "
                "the email promises it attached")
    if not content.startswith(b"%PDF-"):
        return f"report PDF {path} is {'empty' if not content else 'not a PDF'}; the email promises it attached"
    return Attachment(filename, content, "application/pdf")


@dataclass(frozen=True)
class DispatchPolicy:
    """How hard and how fast to push: a rate cap, bounded retries in a run, bounded attempts in all."""

    batch_size: int = 100
    max_per_second: float = 400.0
    # Messages in flight at once, each claimed and committed on its own; a kill leaves at most this many uncertain.
    workers: int = 4
    tries_per_run: int = 3
    # A provider outage of a day or more is waited out: a message is given up as dead only when it has been
    # failing for `give_up_after` since it was composed (or after `max_attempts`, a safety valve).
    give_up_after: dt.timedelta = dt.timedelta(days=2)
    max_attempts: int = 1000
    backoff_s: float = 0.5
    backoff_cap_s: float = 8.0
    max_rate_limit_wait_s: float = 30.0
    retry_after: dt.timedelta = dt.timedelta(minutes=2)
    retry_cap: dt.timedelta = dt.timedelta(hours=6)
    # A crisis message is retried at least this often however long the provider has been down, so it goes
    # out first when the provider is back, not after an hour of backoff behind newer routine mail.
    crisis_retry_cap: dt.timedelta = dt.timedelta(minutes=5)
    # Longer than one message can spend in `sending` (tries x (timeout + backoff)), so no live claim is taken over.
    stale_after: dt.timedelta = dt.timedelta(minutes=5)


@dataclass
class DispatchReport:
    """What one dispatch run did; counted under a lock, since workers finish messages concurrently."""

    recovered_uncertain: int = 0
    attempted: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    uncertain: int = 0
    held: int = 0
    manual: int = 0
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, outcome: str, error: str | None = None) -> None:
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)
            if error is not None and len(self.errors) < 20:
                self.errors.append(error)

    def as_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every field, and a lock cannot be copied.
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), list) else v)
                for f in fields(self) if not f.name.startswith("_")}


class Pacer:
    """At most `per_second` sends per second over the run; a 429 pauses every later send too."""

    def __init__(self, per_second: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.sleep, self.clock = sleep, clock
        self.next_slot = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            slot = max(self.next_slot, now)
            self.next_slot = slot + self.interval
        if slot > now:
            self.sleep(slot - now)

    def pause_until(self, moment: float) -> None:
        with self._lock:
            self.next_slot = max(self.next_slot, moment)


def run_clock(start: dt.datetime | None) -> Callable[[], dt.datetime]:
    """The wall clock, or one that starts at `start` and runs on at the wall clock's pace."""
    if start is None:
        return utcnow
    began = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - began)


def recover_interrupted(engine: Engine, now: dt.datetime) -> int:
    """Messages left in `sending` by a dead process become `uncertain`: flagged for a person, never re-sent."""
    with engine.begin() as conn:
        result = conn.execute(
            update(T)
            .where(T.c.status == MessageStatus.SENDING,
                   or_(T.c.next_attempt_at.is_(None), T.c.next_attempt_at <= now))
            .values(status=MessageStatus.UNCERTAIN, last_error=INTERRUPTED, next_attempt_at=None)
        )
    return result.rowcount or 0


def _due(now: dt.datetime):
    return or_(
        T.c.status == MessageStatus.QUEUED,
        and_(T.c.status == MessageStatus.FAILED, T.c.next_attempt_at <= now),
        and_(T.c.status == MessageStatus.HELD, T.c.hold_until.is_not(None), T.c.hold_until <= now),
    )


def has_work(engine: Engine, now: dt.datetime) -> bool:
    """Anything for a dispatch run at `now`: a message due, or a claim whose lease ran out."""
    stale = and_(T.c.status == MessageStatus.SENDING, or_(T.c.next_attempt_at.is_(None), T.c.next_attempt_at <= now))
    with engine.connect() as conn:
        return conn.execute(select(T.c.id).where(or_(_due(now), stale)).limit(1)).first() is not None


def _recheck_preferences(session: Session, rows: list[Any], now: dt.datetime) -> dict[int, Delivery]:
    """At send time the contact's channel and business hours win over what was planned when composing."""
    contact_ids = {r.contact_id for r in rows if r.contact_id is not None and r.audience == Audience.CLIENT}
    if not contact_ids:
        return {}
    contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))}
    clients = {c.id: c for c in session.scalars(
        select(Client).where(Client.id.in_({c.client_id for c in contacts.values()})))}
    plans = {}
    for r in rows:
        contact = contacts.get(r.contact_id)
        if contact is None or r.audience != Audience.CLIENT:
            continue
        plan = plan_delivery(contact.channel, window_of(contact, clients[contact.client_id]), r.is_crisis, now)
        if plan.status != MessageStatus.QUEUED:
            plans[r.id] = plan
    return plans


def _backoff(policy: DispatchPolicy, attempt: int, rng: Callable[[], float]) -> float:
    """Exponential with full jitter: 0.5, 1, 2, 4 ... seconds at most, capped."""
    return min(policy.backoff_cap_s, policy.backoff_s * 2 ** attempt) * (0.5 + rng() / 2)


def deliver(transport: EmailTransport, envelope: Envelope, policy: DispatchPolicy, pacer: Pacer,
            sleep: Callable[[float], None], rng: Callable[[], float]) -> tuple[SendResult, int]:
    """One message through the transport with in-run retries for 429 and transient errors; returns (result, tries)."""
    tries = 0
    while True:
        pacer.wait()
        result = transport.send(envelope)
        tries += 1
        if result.outcome in (Outcome.ACCEPTED, Outcome.REJECTED, Outcome.AMBIGUOUS) or tries >= policy.tries_per_run:
            return result, tries
        if result.outcome == Outcome.RATE_LIMITED and result.retry_at is not None:
            wait = result.retry_at - time.time()
            if wait > policy.max_rate_limit_wait_s:
                return result, tries
            pacer.pause_until(pacer.clock() + max(0.0, wait))
        else:
            sleep(_backoff(policy, tries - 1, rng))


def outcome_values(result: SendResult, attempts: int, policy: DispatchPolicy, at: dt.datetime,
                   rng: Callable[[], float], crisis: bool = False,
                   composed_at: dt.datetime | None = None) -> dict[str, Any]:
    """The row's new state after a send: sent, dead, uncertain, or failed with its next attempt time."""
    base = {"attempts": attempts, "provider": result.provider}
    if result.outcome == Outcome.ACCEPTED:
        return {**base, "status": MessageStatus.SENT, "provider_message_id": result.provider_message_id,
                "sent_at": at, "next_attempt_at": None, "last_error": None}
    if result.outcome == Outcome.REJECTED:
        return {**base, "status": MessageStatus.DEAD, "last_error": result.error, "next_attempt_at": None}
    if result.outcome == Outcome.AMBIGUOUS:
        return {**base, "status": MessageStatus.UNCERTAIN, "next_attempt_at": None,
                "last_error": f"{result.error}; the provider may have accepted it, so it is not re-sent automatically"}
    if attempts >= policy.max_attempts or (composed_at is not None and at - composed_at >= policy.give_up_after):
        return {**base, "status": MessageStatus.DEAD, "next_attempt_at": None,
                "last_error": f"gave up after {attempts} attempts; last: {result.error}"}
    cap = policy.crisis_retry_cap if crisis else policy.retry_cap
    delay = min(cap, policy.retry_after * 2 ** min(16, max(0, attempts // policy.tries_per_run - 1)))
    retry = at + delay * (0.5 + rng() / 2)
    if result.retry_at is not None:
        retry = max(retry, dt.datetime.fromtimestamp(result.retry_at, dt.timezone.utc))
    return {**base, "status": MessageStatus.FAILED, "next_attempt_at": retry, "last_error": result.error}


def dispatch(
    engine: Engine,
    transport: EmailTransport,
    now: dt.datetime | None = None,
    limit: int | None = None,
    policy: DispatchPolicy = DispatchPolicy(),
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> DispatchReport:
    """Send what is due, crisis messages first: claim (commit `sending`), call the provider, commit the outcome.

    `now` (default: the wall clock) is when the run starts; leases, send times and retry times run on from it,
    so a run for a simulated moment keeps to simulated time throughout.
    """
    clock = run_clock(now)
    now = clock()
    report = DispatchReport(recovered_uncertain=recover_interrupted(engine, now))
    pacer = Pacer(policy.max_per_second, sleep, time.monotonic)
    cursors = {True: 0, False: 0}
    while limit is None or report.attempted < limit:
        size = policy.batch_size if limit is None else min(policy.batch_size, limit - report.attempted)
        with Session(engine) as s:
            rows = s.execute(
                select(T.c.id, T.c.status, T.c.contact_id, T.c.audience, T.c.is_crisis, T.c.attempts, T.c.created_at,
                       T.c.idempotency_key, T.c.recipient, T.c.subject, T.c.body_html, T.c.body_text, T.c.kind,
                       T.c.period, T.c.meta, REPORTS.c.pdf_path.label("report_pdf"),
                       CLIENTS.c.slug.label("client_slug"))
                .select_from(T.outerjoin(REPORTS, REPORTS.c.id == T.c.report_id)
                             .outerjoin(CLIENTS, CLIENTS.c.id == T.c.client_id))
                .where(_due(now), or_(and_(T.c.is_crisis.is_(True), T.c.id > cursors[True]),
                                      and_(T.c.is_crisis.is_(False), T.c.id > cursors[False])))
                .order_by(T.c.is_crisis.desc(), T.c.id)
                .limit(size)
            ).all()
            if not rows:
                break
            plans = _recheck_preferences(s, rows, now)
        to_send = []
        for row in rows:
            cursors[bool(row.is_crisis)] = max(cursors[bool(row.is_crisis)], row.id)
            if row.id in plans:
                _hold(engine, row, plans[row.id], report)
            else:
                to_send.append(row)
        if policy.workers <= 1:
            for row in to_send:
                _send_one(engine, transport, row, policy, pacer, sleep, rng, report, clock)
        else:
            with ThreadPoolExecutor(policy.workers) as pool:
                list(pool.map(lambda r: _send_one(engine, transport, r, policy, pacer, sleep, rng, report, clock),
                              to_send))
    return report


def _hold(engine: Engine, row: Any, plan: Delivery, report: DispatchReport) -> None:
    with engine.begin() as conn:
        changed = conn.execute(
            update(T).where(T.c.id == row.id, T.c.status == row.status)
            .values(status=plan.status, hold_until=plan.hold_until, hold_reason=plan.hold_reason)
        ).rowcount
    if changed:
        report.count("manual" if plan.status == MessageStatus.MANUAL else "held")


def _send_one(engine: Engine, transport: EmailTransport, row: Any, policy: DispatchPolicy, pacer: Pacer,
              sleep: Callable[[float], None], rng: Callable[[], float], report: DispatchReport,
              clock: Callable[[], dt.datetime] = utcnow) -> None:
    meta = row.meta or {}
    envelope = Envelope(message_id=row.id, key=row.idempotency_key, recipient=row.recipient, subject=row.subject,
                        html=row.body_html, text=row.body_text, kind=row.kind, sender_name=meta.get("from_name"),
                        reply_to=meta.get("reply_to"), date=clock())
    reason = problem(envelope)
    pdf = report_pdf_path(row.report_pdf, row.meta)
    if reason is None and pdf is not None:
        loaded = load_pdf(pdf, attachment_name(row.client_slug, row.period))
        if isinstance(loaded, str):
            reason = loaded
        else:
            envelope = replace(envelope, attachments=(loaded,))
    if reason is not None:
        with engine.begin() as conn:
            conn.execute(update(T).where(T.c.id == row.id, T.c.status == row.status)
                         .values(status=MessageStatus.DEAD, last_error=f"not sent: {reason}", next_attempt_at=None))
        report.count("dead", f"#{row.id} dead: not sent: {reason}"[:200])
        return
    lease = clock() + policy.stale_after
    with engine.begin() as conn:
        claimed = conn.execute(
            update(T).where(T.c.id == row.id, T.c.status == row.status)
            .values(status=MessageStatus.SENDING, next_attempt_at=lease)
        ).rowcount
    if claimed != 1:
        return
    report.count("attempted")
    result, tries = deliver(transport, envelope, policy, pacer, sleep, rng)
    values = outcome_values(result, row.attempts + tries, policy, clock(), rng, crisis=bool(row.is_crisis),
                            composed_at=row.created_at)
    with engine.begin() as conn:
        conn.execute(update(T).where(T.c.id == row.id, T.c.status == MessageStatus.SENDING).values(**values))
    status = values["status"]
    error = (None if status == MessageStatus.SENT
             else f"#{row.id} {status.value}: {(values.get('last_error') or '')[:200]}")
    report.count(status.value, error)


def release(engine: Engine, ids: Sequence[int]) -> int:
    """Held messages (waiting for business hours) go back to the queue now; one awaiting approval is never released."""
    with engine.begin() as conn:
        return conn.execute(
            update(T).where(T.c.id.in_(list(ids)), T.c.status == MessageStatus.HELD)
            .values(status=MessageStatus.QUEUED, hold_until=None, hold_reason=None)
        ).rowcount or 0


RETRYABLE = (MessageStatus.FAILED, MessageStatus.DEAD, MessageStatus.UNCERTAIN)


def retry(engine: Engine, ids: Sequence[int]) -> int:
    """A person decided: failed, dead or uncertain messages go back to the queue, attempts reset."""
    with engine.begin() as conn:
        return conn.execute(
            update(T).where(T.c.id.in_(list(ids)), T.c.status.in_(RETRYABLE))
            .values(status=MessageStatus.QUEUED, attempts=0, next_attempt_at=None, hold_reason=None,
                    hold_until=None)
        ).rowcount or 0
