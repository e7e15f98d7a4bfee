"""The service watch's clocks and alerts: 1-3-7 request alerts, write first, unresponsive clients, replies owed, key
dates and approvals waiting, by the rules of tasks/rules.py, as alerts for the outbox. Pure: no Prefect, no database
(the models' enums are their string values); tasks/service_clocks.py reads the rows and queues the alerts."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from tasks import i18n, internal_mail
from tasks.business_hours import add_business_hours
from tasks.i18n import N_, gettext_, ngettext_
from tasks.market_calendar import next_occurrence
from tasks.rules import STAGES, BusinessWindow, silent_days, stage_state, working_days_between, write_first_due

FLOW = "service-watch"
# Working days an unanswered message may wait before the AM tries another channel (seed 002).
UNRESPONSIVE_DAYS = 2
# Business time a client's message may wait for our reply before the AM is reminded.
REPLY_OWED = dt.timedelta(hours=2)


@dataclass(frozen=True)
class OpenRequest:
    id: int
    client_id: int
    reference: str
    title: str
    tier: str
    confirm_due_at: dt.datetime
    plan_due_at: dt.datetime
    deliver_due_at: dt.datetime
    acknowledged_at: dt.datetime | None
    planned_at: dt.datetime | None
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class RequestAlert:
    request_id: int
    client_id: int
    reference: str
    title: str
    stage: str
    kind: str  # "warning" before the deadline, "breach" after it
    due_at: dt.datetime
    tier: str

    @property
    def period(self) -> str:
        """The same deadline always gives the same period, so a reminder is composed once."""
        return f"r{self.request_id}-{self.stage}-{self.due_at.astimezone(dt.timezone.utc):%Y%m%d%H%M}"


def request_alerts(requests: Iterable[OpenRequest], as_of: dt.datetime) -> list[RequestAlert]:
    """For each open stage: a warning when it is near a breach, a breach once it is due; nothing once it is done."""
    alerts = []
    for r in requests:
        stages = (("confirm", r.confirm_due_at, r.acknowledged_at), ("plan", r.plan_due_at, r.planned_at),
                  ("deliver", r.deliver_due_at, r.delivered_at))
        for stage, due, done in stages:
            kind = None if done is not None else stage_state(stage, due, as_of)
            if kind is None:
                continue
            alerts.append(RequestAlert(r.id, r.client_id, r.reference, r.title, stage, kind, due, r.tier))
    return alerts


@dataclass(frozen=True)
class Silence:
    client_id: int
    allowed_days: int  # rules.write_first_days: the client's setting, else its tier's
    zone: str
    country: str | None
    last_outbound_at: dt.datetime | None
    cooperation_start: dt.date


@dataclass(frozen=True)
class Nudge:
    client_id: int
    last_outbound_at: dt.datetime | None
    silent_days: int
    allowed_days: int

    @property
    def period(self) -> str:
        """One nudge per allowance of silence: a new one only after another full allowance passes."""
        since = f"{self.last_outbound_at:%Y%m%d}" if self.last_outbound_at else "never"
        return f"since-{since}-{self.silent_days // self.allowed_days}"


def write_first_nudges(clients: Iterable[Silence], as_of: dt.datetime) -> list[Nudge]:
    """Clients with no outbound contact for more working days than they allow (rules.write_first_due)."""
    nudges = []
    for c in clients:
        silent = silent_days(c.last_outbound_at, as_of, c.zone, c.country, c.cooperation_start)
        if write_first_due(silent, c.allowed_days):
            nudges.append(Nudge(c.client_id, c.last_outbound_at, silent, c.allowed_days))
    return nudges


@dataclass(frozen=True)
class Unanswered:
    interaction_id: int
    client_id: int
    contact_id: int | None
    channel: str
    occurred_at: dt.datetime
    zone: str
    country: str | None
    has_phone: bool
    has_messenger: bool


def other_channels(channel: str, has_phone: bool, has_messenger: bool) -> list[str]:
    """Seed 002: no answer in the messenger → call or email; no answer by email → call or message."""
    options = []
    if has_phone and channel != "phone":
        options.append("phone")
    if channel != "email":
        options.append("email")
    if has_messenger and channel not in ("messenger", "wechat", "telegram"):
        options.append("messenger")
    return options or ["phone"]


def unresponsive(waiting: Iterable[Unanswered], as_of: dt.datetime, days: int = UNRESPONSIVE_DAYS) -> list[Unanswered]:
    """The oldest unanswered message per client once it has waited `days` working days."""
    oldest: dict[int, Unanswered] = {}
    for w in sorted(waiting, key=lambda w: w.occurred_at):
        oldest.setdefault(w.client_id, w)
    due = []
    for w in oldest.values():
        zone = ZoneInfo(w.zone)
        if working_days_between(w.occurred_at.astimezone(zone).date(), as_of.astimezone(zone).date(),
                                w.country) >= days:
            due.append(w)
    return sorted(due, key=lambda w: w.client_id)


def reply_owed(asked_at: dt.datetime, window: BusinessWindow, as_of: dt.datetime,
               limit: dt.timedelta = REPLY_OWED) -> bool:
    """True once a client's message has waited `limit` of its business time for our reply."""
    due = add_business_hours(asked_at, limit, window.zone, window.country, window.start, window.end)
    return as_of >= due


@dataclass(frozen=True)
class KeyDateRow:
    id: int
    client_id: int | None
    market: str | None
    title: str
    kind: str
    on_date: dt.date
    recurs_yearly: bool
    lead_days: int
    note: str
    rule: str | None = None


@dataclass(frozen=True)
class Reminder:
    key_date_id: int
    client_id: int | None
    market: str | None
    title: str
    kind: str
    occurs_on: dt.date
    days_left: int
    note: str

    @property
    def period(self) -> str:
        return f"kd{self.key_date_id}-{self.occurs_on:%Y%m%d}"


def key_date_reminders(rows: Sequence[KeyDateRow], today: dt.date) -> list[Reminder]:
    """Key dates whose lead time has started and that have not passed yet."""
    due = []
    for r in rows:
        occurs = next_occurrence(r.on_date, r.recurs_yearly, today, r.rule)
        if occurs is None or (occurs - today).days > r.lead_days:
            continue
        due.append(Reminder(r.id, r.client_id, r.market, r.title, r.kind, occurs, (occurs - today).days, r.note))
    return sorted(due, key=lambda r: (r.occurs_on, r.key_date_id))


@dataclass(frozen=True)
class ClientInfo:
    """What the watch needs to know about an active client to address and time its alerts."""

    id: int
    slug: str
    name: str
    tier: str
    currency: str
    window: BusinessWindow
    cooperation_start: dt.date
    am_id: int
    am_email: str
    am_name: str
    write_first_days: int
    am_language: str = "en"


def _alert(info: ClientInfo, kind: str, period: str, subject: str, headline: str, lines: list[str],
           recipient: tuple[int, str] | None = None, draft: str = "", draft_to: str = "",
           meta: dict[str, Any] | None = None, language: str | None = None) -> dict[str, Any]:
    """An internal alert for the outbox in plain values, rendered lazily: only for keys not queued yet."""
    staff_id, email = recipient or (info.am_id, info.am_email)
    return {"flow": FLOW, "kind": kind, "period": period, "client_slug": info.slug, "audience": "internal",
            "client_id": info.id, "contact_id": None, "staff_id": staff_id, "recipient": email,
            "language": language or "en", "subject": subject, "is_crisis": False,
            "meta": meta or {},
            "_ctx": {"headline": headline, "lines": lines, "draft": draft, "draft_to": draft_to,
                     "language": language or "en"}}


def fold_alerts(alerts: Iterable[RequestAlert]) -> list[list[RequestAlert]]:
    """The alerts of one request together, overdue stages first: one reminder per request and pass."""
    by_request: dict[int, list[RequestAlert]] = {}
    for a in alerts:
        by_request.setdefault(a.request_id, []).append(a)
    return [sorted(group, key=lambda a: (a.kind != "breach", STAGES.index(a.stage)))
            for _, group in sorted(by_request.items())]


def folded_period(group: Sequence[RequestAlert]) -> str:
    """One alert keeps its own period; several are keyed by which stages are due and their deadlines (≤ 40 chars)."""
    if len(group) == 1:
        return group[0].period
    digest = hashlib.sha1("|".join(sorted(a.period for a in group)).encode()).hexdigest()[:10]
    return f"r{group[0].request_id}-{''.join(a.stage[0] + a.kind[0] for a in group)}-{digest}"


def request_lines(group: Sequence[RequestAlert], info: ClientInfo) -> list[str]:
    """What one request's reminder says, in the language in use: each due stage with its deadline, how to record it."""
    first = group[0]
    lines = [f"{first.reference}: {first.title}"]
    for a in group:
        values = {"stage": internal_mail.stage(a.stage), "due": internal_mail.when(a.due_at, info.window.zone)}
        lines.append((gettext_("%(stage)s: was due %(due)s, overdue") if a.kind == "breach"
                      else gettext_("%(stage)s: due %(due)s")) % values)
    lines.append(gettext_("%(tier)s client; deadlines count business hours %(start)s–%(end)s %(zone)s") % {
        "tier": internal_mail.tier(info.tier), "start": f"{info.window.start:%H:%M}",
        "end": f"{info.window.end:%H:%M}", "zone": info.window.zone})
    verb = "ack" if first.stage == "confirm" else first.stage
    command = f"cadence request {verb} {first.reference} --client {info.slug}"
    lines.append(gettext_("Record it: `%(command)s`") % {"command": command})
    return lines


def request_messages(alerts: Sequence[RequestAlert], clients: dict[int, ClientInfo]) -> list[dict[str, Any]]:
    """One reminder per request and pass in the AM's language, listing every stage that is due or overdue."""
    out = []
    for group in fold_alerts(alerts):
        first = group[0]
        info = clients[first.client_id]
        breach = any(a.kind == "breach" for a in group)
        shown = [a for a in group if a.kind == "breach"] if breach else group
        with i18n.use(info.am_language):
            separator = gettext_(N_(", "))
            stages = separator.join(internal_mail.stage(a.stage) for a in shown)
            values = {"client": info.name, "reference": first.reference, "stages": stages,
                      "due": internal_mail.when(first.due_at, info.window.zone)}
            if breach:
                subject = gettext_("[SLA breach] %(client)s %(reference)s overdue: %(stages)s") % values
                headline = gettext_("Overdue: %(stages)s.") % values
            else:
                subject = gettext_("[SLA due soon] %(client)s %(reference)s: %(stages)s by %(due)s") % values
                headline = gettext_("Due soon: %(stages)s.") % values
            lines = request_lines(group, info)
        out.append(_alert(info, "request-breach" if breach else "request-warning", folded_period(group), subject,
                          headline, lines, meta={"request_id": first.request_id, "stage": first.stage,
                                                 "stages": [f"{a.stage}:{a.kind}" for a in group]},
                          language=info.am_language))
    return out


CHANNEL_LABELS = {"phone": N_("phone"), "email": N_("email"), "messenger": N_("messenger"), "wechat": N_("WeChat"),
                  "telegram": N_("Telegram")}
KEY_DATE_KINDS = {"market_peak": N_("market peak"), "birthday": N_("birthday"), "renewal": N_("renewal"),
                  "anniversary": N_("anniversary"), "financing": N_("financing"), "launch": N_("launch")}


def _channel(channel: str) -> str:
    return gettext_(CHANNEL_LABELS.get(channel, channel))


def unresponsive_messages(waiting: Sequence[Unanswered], clients: dict[int, ClientInfo]) -> list[dict[str, Any]]:
    out = []
    for w in waiting:
        info = clients[w.client_id]
        with i18n.use(info.am_language):
            options = gettext_(N_(", ")).join(_channel(c) for c in other_channels(w.channel, w.has_phone,
                                                                                   w.has_messenger))
            lines = [gettext_("Our %(channel)s message of %(when)s has had no answer.") % {
                         "channel": _channel(w.channel), "when": internal_mail.when(w.occurred_at, info.window.zone)},
                     gettext_("Try another channel: %(options)s.") % {"options": options},
                     gettext_("Log the reply when it comes: `%(command)s`") % {
                         "command": f"cadence contact log --client {info.slug} --direction inbound ..."}]
            subject = gettext_("[no answer] %(client)s: try another channel") % {"client": info.name}
            headline = ngettext_("%(client)s has not answered for %(num)s+ working day.",
                                 "%(client)s has not answered for %(num)s+ working days.", UNRESPONSIVE_DAYS) % {
                "client": info.name, "num": UNRESPONSIVE_DAYS}
        out.append(_alert(info, "unresponsive", f"i{w.interaction_id}", subject, headline, lines,
                          meta={"interaction_id": w.interaction_id}, language=info.am_language))
    return out


def owed_messages(owed: Sequence[tuple[int, int, dt.datetime, str]], clients: dict[int, ClientInfo],
                  as_of: dt.datetime) -> list[dict[str, Any]]:
    out = []
    for interaction_id, client_id, asked_at, summary in owed:
        info = clients[client_id]
        if not reply_owed(asked_at, info.window, as_of):
            continue
        with i18n.use(info.am_language):
            lines = [gettext_("Asked %(when)s: %(summary)s") % {"when": internal_mail.when(asked_at, info.window.zone),
                                                                "summary": summary[:300]},
                     gettext_("Reply, then log it: `%(command)s`") % {
                         "command": f"cadence contact log --client {info.slug} --direction outbound ..."}]
            subject = gettext_("[reply owed] %(client)s is waiting for us") % {"client": info.name}
            headline = gettext_("%(client)s is waiting for a reply.") % {"client": info.name}
        out.append(_alert(info, "reply-owed", f"i{interaction_id}", subject, headline, lines,
                          meta={"interaction_id": interaction_id}, language=info.am_language))
    return out


def key_date_messages(reminders: Sequence[Reminder], clients: dict[int, ClientInfo]) -> list[dict[str, Any]]:
    """Client dates go to the client's AM; a market peak goes to every AM with active clients in that market."""
    out = []
    for r in reminders:
        if r.client_id is not None:
            targets = [clients[r.client_id]] if r.client_id in clients else []
        else:
            by_am: dict[int, ClientInfo] = {}
            for info in sorted(clients.values(), key=lambda c: c.slug):
                if info.window.country == r.market:
                    by_am.setdefault(info.am_id, info)
            targets = list(by_am.values())
        for info in targets:
            with i18n.use(info.am_language):
                whose = info.name if r.client_id is not None else gettext_("market %(market)s") % {"market": r.market}
                names = gettext_(N_(", ")).join(c.name for c in clients.values()
                                                if c.am_id == info.am_id and c.window.country == r.market)
                kind = gettext_(KEY_DATE_KINDS.get(r.kind, r.kind.replace("_", " ")))
                values = {"title": r.title, "kind": kind, "day": i18n.date(r.occurs_on), "num": r.days_left,
                          "whose": whose, "market": r.market, "names": names}
                lines = [(gettext_("%(title)s (%(kind)s) on %(day)s: today.") if r.days_left == 0 else
                          ngettext_("%(title)s (%(kind)s) on %(day)s: in %(num)s day.",
                                    "%(title)s (%(kind)s) on %(day)s: in %(num)s days.", r.days_left)) % values]
                if r.note:
                    lines.append(r.note)
                if r.client_id is None:
                    lines.append(gettext_("Your clients in %(market)s: %(names)s.") % values)
                subject = gettext_("[key date] %(whose)s: %(title)s on %(day)s") % values
                headline = gettext_("Coming up for %(whose)s: %(title)s.") % values
            out.append(_alert(info, "key-date", r.period, subject, headline, lines,
                              recipient=(info.am_id, info.am_email), meta={"key_date_id": r.key_date_id},
                              language=info.am_language))
    return out


def nudge_messages(nudges: Sequence[Nudge], clients: dict[int, ClientInfo]) -> list[dict[str, Any]]:
    """A nudge to write first, with an update drafted from the last seven days in the contact's language."""
    out = []
    for n in nudges:
        info = clients[n.client_id]
        with i18n.use(info.am_language):
            values = {"client": info.name, "num": n.silent_days, "tier": internal_mail.tier(info.tier),
                      "allowed": n.allowed_days}
            since = (gettext_("No outbound contact since %(when)s.") % {
                         "when": internal_mail.when(n.last_outbound_at, info.window.zone)} if n.last_outbound_at
                     else gettext_("No outbound contact yet."))
            lines = [since, ngettext_("%(num)s working day without contact; a %(tier)s client allows %(allowed)s.",
                                      "%(num)s working days without contact; a %(tier)s client allows %(allowed)s.",
                                      n.silent_days) % values,
                     gettext_("Write first, several times a week: intermediate results, first leads, what"
                              " changed."),
                     gettext_("Once written, log it: `%(command)s`") % {
                         "command": f"cadence contact log --client {info.slug} --direction outbound ..."}]
            subject = ngettext_("[write first] %(client)s: %(num)s working day without contact",
                                "[write first] %(client)s: %(num)s working days without contact",
                                n.silent_days) % values
            headline = gettext_("Time to write to %(client)s.") % values
        out.append(_alert(info, "write-first", n.period, subject, headline, lines,
                          meta={"silent_days": n.silent_days}, language=info.am_language))
    return out


class ApprovalDue(Protocol):
    """A reminder that a message still waits for approval, as tasks.messaging.review.approval_reminders gives it."""

    @property
    def message_id(self) -> int: ...
    @property
    def client_id(self) -> int: ...
    @property
    def step(self) -> str: ...
    @property
    def period(self) -> str: ...


class AwaitingApproval(Protocol):
    """A message waiting for approval, as tasks.messaging.review.awaiting gives it."""

    @property
    def message_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def waiting_since(self) -> dt.datetime: ...


def approval_messages(reminders: Sequence[ApprovalDue], waiting: Sequence[AwaitingApproval],
                      clients: dict[int, ClientInfo], leads: dict[int, tuple[int, str, str]]) -> list[dict[str, Any]]:
    """The AM is reminded of a message waiting for approval; later its team lead is told the AM has not decided."""
    by_id = {w.message_id: w for w in waiting}
    out = []
    for r in reminders:
        info, w = clients[r.client_id], by_id[r.message_id]
        if r.step == "am":
            language, recipient = info.am_language, None
        elif r.client_id in leads:
            sid, email, language = leads[r.client_id]
            recipient = (sid, email)
        else:
            continue
        with i18n.use(language):
            values = {"id": w.message_id, "kind": w.kind, "to": w.recipient, "language": w.language,
                      "subject": w.subject[:150], "when": internal_mail.when(w.waiting_since, info.window.zone),
                      "client": info.name, "am": info.am_name}
            lines = [gettext_("Message %(id)s: %(kind)s to %(to)s (%(language)s), “%(subject)s”.") % values,
                     gettext_("Waiting for approval since %(when)s; it is not sent until someone decides.") % values,
                     gettext_("Read it: `%(show)s`; decide: `%(decide)s`, or the message-approval deployment in the"
                              " Prefect UI.") % {
                         "show": f"cadence outbox show {w.message_id}",
                         "decide": f"cadence outbox approve|edit|reject {w.message_id} --by EMAIL"}]
            if recipient is None:
                subject = gettext_("[approval] %(client)s: %(kind)s waiting for your approval") % values
                headline = gettext_("A message to %(client)s is waiting for your approval.") % values
            else:
                subject = gettext_("[approval overdue] %(client)s: %(am)s has not approved a %(kind)s") % values
                headline = gettext_("%(am)s has not decided on a message to %(client)s; you can decide"
                                    " instead.") % values
        out.append(_alert(info, "approval-reminder" if recipient is None else "approval-overdue", r.period, subject,
                          headline, lines, recipient=recipient, meta={"message_id": w.message_id}, language=language))
    return out


@dataclass
class WatchResult:
    """What one watch pass found and did, in plain values for the flow's return and its artifact."""

    found: dict[str, int] = field(default_factory=dict)
    queued: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def watch_markdown(as_of: dt.datetime, result: WatchResult, escalations: Sequence[dict[str, Any]],
                   tiers: dict[str, Any], dispatch: dict[str, Any]) -> str:
    """The run's readable summary: what was found, what was queued, which incidents moved."""
    lines = [f"# Service watch {as_of:%Y-%m-%d %H:%M} UTC", "",
             "found: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.found.items()), ""]
    if result.queued:
        lines += ["| kind | client | to | subject |", "|---|---|---|---|"]
        lines += [f"| {q['kind']} | {q['client']} | {q['to']} | {q['subject'].replace('|', '/')} |"
                  for q in result.queued]
        lines.append("")
    for i in result.incidents:
        lines.append(f"- opened incident #{i['incident_id']} ({i['client']}): {i['cause']}")
    for e in escalations:
        lines.append(f"- incident #{e['incident_id']}: {e['action']}" + (f" ({'; '.join(e['reasons'])})"
                                                                          if e.get("reasons") else ""))
    if tiers.get("recomputed"):
        lines.append(f"- tiers recomputed for {tiers['recomputed']} clients, {len(tiers['changes'])} changed")
    lines.append(f"- outbox: {dispatch.get('sent', 0)} sent, {dispatch.get('held', 0)} held, "
                 f"{dispatch.get('failed', 0)} failed")
    return "\n".join(lines)


def did_something(result: WatchResult, escalations: Sequence[dict[str, Any]], tiers: dict[str, Any],
                  dispatch: dict[str, Any]) -> bool:
    return bool(result.queued or result.incidents or escalations or tiers.get("recomputed")
                or dispatch.get("attempted") or dispatch.get("held"))

