"""The agency's service rules, each written once for every flow that uses it: 1-3-7 request clocks and when a stage is
near a breach, how long a client may go without hearing from us, which stand-ups bring a client an update, the sweep's
window and the order of severities. Pure: no Prefect, no database (tiers are their string values)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from tasks.business_hours import add_business_hours, is_working_day

# Days of metrics the sweep reads and its detectors see: eight weeks, so a weekday has seven earlier ones to compare.
WINDOW_DAYS = 56

# Most severe first: digests, tables and folded findings all rank by this.
SEVERITIES = ("critical", "warning", "info")
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def most_severe(severities: Iterable[str]) -> str:
    """The worst of these severities."""
    return min(severities, key=SEVERITY_RANK.__getitem__)


STAGES = ("confirm", "plan", "deliver")


@dataclass(frozen=True)
class RequestClock:
    """How long each 1-3-7 stage may take: business hours to confirm, working days to plan and to deliver."""

    confirm_hours: float
    plan_days: int
    deliver_days: int


# Seed 003's 1-3-7 for everyone; strategic clients get a tighter clock.
REQUEST_CLOCKS = {
    "strategic": RequestClock(confirm_hours=0.5, plan_days=2, deliver_days=5),
    "potential": RequestClock(confirm_hours=1, plan_days=3, deliver_days=7),
    "regular": RequestClock(confirm_hours=1, plan_days=3, deliver_days=7),
}
# Near a breach: this long (wall clock) before a stage falls due, in proportion to the stage (a flat day would make
# every fresh request's one-hour confirmation "near" from the moment it arrives).
WARN_BEFORE = {"confirm": dt.timedelta(minutes=20), "plan": dt.timedelta(hours=4), "deliver": dt.timedelta(hours=24)}


class BusinessWindow(Protocol):
    """Where and when a client works: zone, country (for holidays) and local business hours."""

    @property
    def zone(self) -> str: ...
    @property
    def country(self) -> str | None: ...
    @property
    def start(self) -> dt.time: ...
    @property
    def end(self) -> dt.time: ...


@dataclass(frozen=True)
class Deadlines:
    confirm: dt.datetime
    plan: dt.datetime
    deliver: dt.datetime


def request_deadlines(received_at: dt.datetime, window: BusinessWindow, tier: str) -> Deadlines:
    """Confirm, plan and deliver deadlines in the client's business time; a working day is one business day's hours."""
    clock = REQUEST_CLOCKS[tier]
    day = dt.datetime.combine(dt.date.min, window.end) - dt.datetime.combine(dt.date.min, window.start)

    def after(span: dt.timedelta) -> dt.datetime:
        due = add_business_hours(received_at, span, window.zone, window.country, window.start, window.end)
        return due.astimezone(dt.timezone.utc)

    return Deadlines(after(dt.timedelta(hours=clock.confirm_hours)), after(day * clock.plan_days),
                     after(day * clock.deliver_days))


def stage_state(stage: str, due: dt.datetime, as_of: dt.datetime) -> str | None:
    """An open stage's state: "breach" once it is due, "warning" (near a breach) inside its warn window, else None."""
    if as_of >= due:
        return "breach"
    if as_of >= due - WARN_BEFORE[stage]:
        return "warning"
    return None


# Seed 002: write to the client several times a week; how many working days of silence each tier tolerates.
WRITE_FIRST_DAYS = {"strategic": 3, "potential": 5, "regular": 7}


def write_first_days(tier: str, settings: Mapping[str, Any] | None = None) -> int:
    """Working days a client may go without hearing from us: its own setting (write_first_days), else its tier's."""
    return int((settings or {}).get("write_first_days", WRITE_FIRST_DAYS[tier]))


def working_days_between(start: dt.date, end: dt.date, country: str | None) -> int:
    """Working days after `start` up to and including `end` (0 if end is not after start)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_working_day(day, country)
    return count


def silent_days(last_outbound_at: dt.datetime | None, as_of: dt.datetime, zone: str, country: str | None,
                cooperation_start: dt.date) -> int:
    """Working days of the client's market since we last wrote, by its local days; never written: since cooperation
    began (seed 002 asks to keep to the client's local working schedule)."""
    local = ZoneInfo(zone)
    since = last_outbound_at.astimezone(local).date() if last_outbound_at else cooperation_start
    return working_days_between(since, as_of.astimezone(local).date(), country)


def write_first_due(silent: int, allowed: int) -> bool:
    """Time to write first: more working days of silence than the client allows."""
    return silent > allowed


# Seed 002: stand-ups twice a week, Monday and Thursday (prefect.yaml's standup-summary cron), then AMs write.
STANDUP_WEEKDAYS = (0, 3)


def update_cadence(tier: str, settings: Mapping[str, Any] | None = None) -> str:
    """How often a client hears after stand-ups: strategic "every" one, regular "weekly", potential as its setting
    standup_updates says ("every", "weekly" or "never"; default weekly)."""
    if tier == "strategic":
        return "every"
    if tier == "potential":
        return str((settings or {}).get("standup_updates", "weekly"))
    return "weekly"


def wants_pack(tier: str, settings: Mapping[str, Any] | None = None) -> bool:
    """Strategic clients get the quarterly strategy pack; potential ones when they opted in (quarterly_pack)."""
    return tier == "strategic" or (tier == "potential" and bool((settings or {}).get("quarterly_pack", False)))


def wants_update(tier: str, settings: Mapping[str, Any] | None, day: dt.date) -> bool:
    """Whether the stand-up on `day` brings this client an update: weekly readers hear at Monday's."""
    cadence = update_cadence(tier, settings)
    if cadence == "every":
        return True
    return cadence != "never" and day.weekday() == STANDUP_WEEKDAYS[0]
