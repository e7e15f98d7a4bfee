"""A simulated month: every scheduled deployment of prefect.yaml at each of its moments, in order, on simulated time.

The agency is the demo generator's; each night the platforms "deliver" the day's metrics in platform-sync's place
(the demo's own history continued week by week, with random problems planted on random days); each deployment's
flow (its entrypoint, read through tasks/deployments.py) runs in-process as a real Prefect flow run at its
scheduled moments with Cadence's clock set to that moment (`tasks.clock.simulated_time`); crisis-escalation runs
for each new critical finding the sweep reports, as the deployment trigger would; account managers acknowledge
incidents after a random delay (some never). `check_invariants` then reads the database and the mail provider's
own record of deliveries and says whether every promise was kept exactly once.

Used by `bench/month.py` (2,000 clients) and tests/e2e/test_month.py (about 50, with faults injected).
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from cadence.demo.write import METRIC_COLUMNS, METRIC_TYPES, insert_metric_rows
from models import (
    AdAccount,
    Campaign,
    Client,
    Contact,
    DailyMetric,
    Finding,
    Incident,
    IncidentEvent,
    OutboundMessage,
    Report,
    Staff,
)
from models.enums import ClientStatus, EntityStatus, MessageStatus, ReportKind
from tasks.clock import simulated_time
from tasks.detect.materiality import MATERIAL_FLOORS
from tasks.errors import CadenceError
from tasks.forms import takes_moment

if TYPE_CHECKING:
    from prefect.flows import Flow

    from tasks.deployments import DeploymentSpec

# What prefect.yaml cannot say: the order of runs that share a moment. A crisis the sweep raised opens first; the
# sweep's findings feed the stand-up; an AM's acknowledgement lands before the watch, which dispatches what the
# others queued. Every other fact of a deployment (whether it has a schedule, when, its flow) is prefect.yaml's.
SWEEP, STANDUP, RECAP, PACK, WATCH = (
    "daily-account-sweep", "standup-summary", "monthly-recap", "quarterly-strategy-pack", "service-watch")
CRISIS = "crisis-escalation"  # run for each critical finding the sweep reports, as its trigger would
ACKNOWLEDGE = "incident-action"  # an AM acknowledging an incident
ORDER = {name: i for i, name in enumerate((CRISIS, SWEEP, STANDUP, RECAP, PACK, ACKNOWLEDGE, WATCH))}
# Scheduled in prefect.yaml, not run here: the feed delivers each night's metrics in the sync's place, and nobody
# drops an export into the inbox (the month's bad exports go through `cadence import`).
NOT_RUN = frozenset({"platform-sync", "inbox"})
WATCH_EVERY = dt.timedelta(minutes=15)
# The platforms' history the feed continues: four clean weeks ending a week before the month (the demo plants
# its problems in the last days before its as_of).
TEMPLATE_WEEKS = 4
TEMPLATE_GAP_DAYS = 8


@dataclass(frozen=True, order=True)
class Moment:
    """One flow run due at `at` (aware UTC); `order` settles runs that share a moment."""

    at: dt.datetime
    order: int
    deployment: str
    day: dt.date  # the run's as_of date in the schedule's time zone
    payload: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.payload)

    def label(self) -> str:
        return f"{self.deployment}@{self.at:%Y-%m-%dT%H:%MZ}"


@cache
def deployments() -> dict[str, DeploymentSpec]:
    """prefect.yaml's deployments by name, read once (tasks/deployments.py); every one the month orders must exist."""
    from tasks.deployments import load_specs

    specs = {spec.name: spec for spec in load_specs()}
    missing = sorted(set(ORDER) - set(specs))
    if missing:
        raise CadenceError(f"the simulated month orders {', '.join(missing)}, which prefect.yaml does not deploy")
    return specs


def scheduled() -> list[str]:
    """The deployments the month runs on their schedules: every one prefect.yaml schedules, but NOT_RUN."""
    names = [name for name, spec in deployments().items() if spec.schedules and name not in NOT_RUN]
    unplaced = [name for name in names if name not in ORDER]
    if unplaced:
        raise CadenceError(f"prefect.yaml schedules {', '.join(unplaced)}: give it a place in the simulated "
                           "month's ORDER, or list it in NOT_RUN")
    return names


def scheduled_moments(first: dt.date, last: dt.date, names: Iterable[str] | None = None,
                      watch_every: dt.timedelta = WATCH_EVERY) -> list[Moment]:
    """Every moment prefect.yaml's schedules fire from `first` 00:00 through `last` 24:00 in each schedule's zone
    (of the named deployments; by default every one the month runs), computed by Prefect's own scheduler code, with
    the schedule's parameters. A `watch_every` longer than the schedule's 15 minutes keeps only the watch passes
    on that grid (the test suite's shorter month)."""
    from prefect.server.schemas.schedules import CronSchedule

    moments: set[Moment] = set()
    grid = watch_every // dt.timedelta(minutes=1)
    for name in scheduled() if names is None else names:
        for schedule in deployments()[name].schedules:
            client_side = schedule.schedule
            cron = CronSchedule(cron=client_side.cron, timezone=client_side.timezone, day_or=client_side.day_or)
            zone = ZoneInfo(client_side.timezone or "UTC")
            payload = tuple(schedule.parameters.items())
            day = first
            while day <= last:
                # One day at a time: Prefect checks at most 1,000 candidates per call (the watch fires 96 a day).
                start = dt.datetime.combine(day, dt.time(0), zone)
                end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
                for at in cron._get_dates_generator(start=start, end=end - dt.timedelta(seconds=1)):
                    utc = dt.datetime.fromtimestamp(at.timestamp(), dt.timezone.utc)
                    if name == WATCH and (utc.hour * 60 + utc.minute) % grid:
                        continue
                    moments.add(Moment(utc, ORDER[name], name, utc.astimezone(zone).date(), payload))
                day += dt.timedelta(days=1)
    return sorted(moments)


@dataclass(frozen=True)
class PlantedProblem:
    """A problem the feed plants: `kind` on `days` for a campaign (or a whole account when kind is tracking)."""

    kind: str  # "spend_without_conversions" | "tracking_broken"
    client_id: int
    account_id: int
    campaign_ids: tuple[int, ...]
    days: tuple[dt.date, ...]

    @property
    def detector(self) -> str:
        return self.kind


class PlatformFeed:
    """Each night's metrics, as the ad platforms would deliver them for every active campaign.

    A day's rows are the same weekday's rows from the four clean weeks before the month, with a little noise;
    problems are planted on random days. Delivering a day twice changes nothing.
    """

    def __init__(self, engine: Engine, first: dt.date, last: dt.date, seed: int, problems: int) -> None:
        self.engine, self.first, self.last = engine, first, last
        self.rng = np.random.default_rng(seed)
        base_last = first - dt.timedelta(days=TEMPLATE_GAP_DAYS)
        base_first = base_last - dt.timedelta(days=7 * TEMPLATE_WEEKS - 1)
        with Session(engine) as s:
            active = (
                select(Campaign.id.label("campaign_id"), AdAccount.id.label("account_id"),
                       AdAccount.client_id, Client.cpa_max, AdAccount.currency)
                .join(AdAccount, AdAccount.id == Campaign.account_id).join(Client, Client.id == AdAccount.client_id)
                .where(Campaign.status == EntityStatus.ACTIVE, AdAccount.status == EntityStatus.ACTIVE,
                       Client.status == ClientStatus.ACTIVE)
            )
            owners = pd.DataFrame(s.execute(active).all(), columns=["campaign_id", "account_id", "client_id", "cpa_max",
                                                                "currency"])
            rows = s.execute(
                select(DailyMetric.campaign_id, DailyMetric.day, DailyMetric.impressions, DailyMetric.clicks,
                       DailyMetric.spend, DailyMetric.conversions, DailyMetric.conversion_value)
                .where(DailyMetric.day.between(base_first, base_last),
                       DailyMetric.campaign_id.in_(select(active.subquery().c.campaign_id)))
            ).all()
        template = pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
        for column in ("spend", "conversions", "conversion_value"):
            template[column] = template[column].astype(float)
        template["weekday"] = pd.to_datetime(template["day"]).dt.weekday
        self.template = template.groupby(["campaign_id", "weekday"], as_index=False).mean(numeric_only=True)
        self.owners = owners
        self.problems = self._plan_problems(problems, template)
        # A planted spend-without-conversions day is material for its client (tasks.detect.materiality): at least
        # 15% of the client's usual daily spend and above the floor in the account's currency, so it is a crisis.
        usual = template.groupby("campaign_id")["spend"].mean()
        client_daily = usual.groupby(owners.set_index("campaign_id")["client_id"]).sum()
        floors = owners["currency"].map(MATERIAL_FLOORS).fillna(MATERIAL_FLOORS["DEFAULT"])
        self.material_spend = pd.Series(
            np.maximum(0.15 * owners["client_id"].map(client_daily).fillna(0.0).to_numpy(), 1.2 * floors.to_numpy()),
            index=owners["campaign_id"].to_numpy())

    def _plan_problems(self, count: int, template: pd.DataFrame) -> list[PlantedProblem]:
        """Campaigns that convert steadily get two bad days somewhere in the month; half stop spending usefully,
        half lose their whole account's conversion tracking."""
        converting = template.groupby("campaign_id")["conversions"].min()
        steady = self.owners[self.owners["campaign_id"].isin(converting[converting >= 1].index)]
        steady = steady[steady["cpa_max"].notna()]
        if steady.empty or count <= 0:
            return []
        # One problem per client at most, so each planted problem is its own incident.
        per_client = steady.drop_duplicates("client_id")
        picks = per_client.sample(n=min(count, len(per_client)), random_state=int(self.rng.integers(1 << 31)))
        # Both bad days inside the month, the second one swept by the month's last sweep at the latest.
        span = (self.last - self.first).days - 1
        problems = []
        for i, row in enumerate(picks.itertuples(index=False)):
            start = self.first + dt.timedelta(days=int(self.rng.integers(0, max(1, span))))
            days = (start, start + dt.timedelta(days=1))
            if i % 2 == 0:
                problems.append(PlantedProblem("spend_without_conversions", int(row.client_id), int(row.account_id),
                                               (int(row.campaign_id),), days))
            else:
                campaigns = self.owners.loc[self.owners["account_id"] == row.account_id, "campaign_id"]
                problems.append(PlantedProblem("tracking_broken", int(row.client_id), int(row.account_id),
                                               tuple(int(c) for c in campaigns), days))
        return problems

    def rows_for(self, day: dt.date) -> pd.DataFrame:
        """The day's rows: the template's weekday with noise, planted problems applied."""
        rows = self.template[self.template["weekday"] == day.weekday()].copy()
        rng = np.random.default_rng([int(self.rng.bit_generator.state["state"]["state"] % (1 << 32)), day.toordinal()])
        noise = rng.lognormal(0.0, 0.08, len(rows))
        rows["impressions"] = np.rint(rows["impressions"] * noise).astype(np.int64)
        rows["clicks"] = np.minimum(np.rint(rows["clicks"] * noise), rows["impressions"]).astype(np.int64)
        rows["spend"] = np.round(rows["spend"] * noise, 2)
        rows["conversions"] = np.rint(rows["conversions"] * rng.lognormal(0.0, 0.1, len(rows)))
        rows["conversion_value"] = np.round(rows["conversion_value"] * noise, 2)
        cpa_max = rows["campaign_id"].map(self.owners.set_index("campaign_id")["cpa_max"].astype(float))
        for problem in self.problems:
            if day not in problem.days:
                continue
            hit = rows["campaign_id"].isin(problem.campaign_ids)
            rows.loc[hit, "conversions"] = 0.0
            rows.loc[hit, "conversion_value"] = 0.0
            if problem.kind == "spend_without_conversions":
                material = rows.loc[hit, "campaign_id"].map(self.material_spend).fillna(0.0)
                rows.loc[hit, "spend"] = np.round(np.maximum.reduce([rows.loc[hit, "spend"], 4 * cpa_max[hit],
                                                                     material]), 2)
        rows["day"] = day
        return rows[list(METRIC_COLUMNS)]

    def deliver(self, day: dt.date) -> int:
        """Write the day's rows once, in one transaction; a day already delivered is left as it is."""
        with self.engine.begin() as conn:
            if conn.scalar(select(func.count()).select_from(DailyMetric).where(DailyMetric.day == day)):
                return 0
            frame = self.rows_for(day)
            insert_metric_rows(conn, [pa.Table.from_pandas(frame.astype(METRIC_TYPES), preserve_index=False)])
        return len(frame)


def prepare_agency(engine: Engine, first: dt.date, *, clients: int, seed: int,
                   campaigns_per_client: int | None = None, days: int = 400) -> dict[str, Any]:
    """The demo agency as it stood on the month's first morning; metrics after that come from the feed."""
    from cadence.demo.write import generate_agency

    summary = generate_agency(engine, as_of=first, seed=seed, clients=clients, days=days,
                              campaigns_per_client=campaigns_per_client, replace=True)
    with engine.begin() as conn:  # a re-used database may hold a previous month's deliveries
        conn.execute(delete(DailyMetric).where(DailyMetric.day >= first))
    return summary.to_dict()


Runner = Callable[[Moment], Any]


@cache
def _flow(deployment: str) -> Flow[..., Any]:
    return deployments()[deployment].load_flow()


def run_in_process(moment: Moment) -> Any:
    """Run one moment's flow here, as its deployment would: the entrypoint's flow with the deployment's parameters,
    the moment's own, and `as_of` the moment itself for a flow that takes a moment, else the moment's day."""
    if moment.deployment not in deployments():
        raise ValueError(f"no flow for {moment.deployment}")
    flow = _flow(moment.deployment)
    as_of = moment.at if takes_moment(flow.fn) else moment.day
    with simulated_time(moment.at):
        return flow(**{**deployments()[moment.deployment].parameters, **moment.params, "as_of": as_of})


@dataclass
class MonthRun:
    """The state of a simulated month as it goes: what is still due, what ran, and the managers' behaviour."""

    engine: Engine
    first: dt.date
    last: dt.date
    feed: PlatformFeed
    seed: int = 1
    watch_every: dt.timedelta = WATCH_EVERY
    # Acknowledgement behaviour: within 20 min, within the hour (after the team lead heard), or never.
    ack_odds: tuple[float, float, float] = (0.6, 0.25, 0.15)
    runs: Counter[str] = field(default_factory=Counter)
    reruns: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    _queue: list[Moment] = field(default_factory=list)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._queue = scheduled_moments(self.first, self.last, watch_every=self.watch_every)
        heapq.heapify(self._queue)

    def pending(self) -> int:
        return len(self._queue)

    def moments(self) -> Iterator[Moment]:
        while self._queue:
            yield heapq.heappop(self._queue)

    def add(self, moment: Moment) -> None:
        heapq.heappush(self._queue, moment)

    def step(self, moment: Moment, runner: Runner = run_in_process) -> Any:
        """Run one moment: deliver last night's data before a sweep, then the flow, then what it sets off."""
        if moment.deployment == SWEEP:
            self.feed.deliver(moment.day - dt.timedelta(days=1))
        result = runner(moment)
        self.runs[moment.deployment] += 1
        if moment.deployment == SWEEP:
            for chunk in result["chunks"]:
                for finding in chunk["critical"]:
                    self.add(Moment(moment.at, ORDER[CRISIS], CRISIS, moment.day, (("finding", finding),)))
        elif moment.deployment == CRISIS and result.get("created"):
            self._plan_ack(moment, int(result["incident_id"]))
        return result

    def _plan_ack(self, moment: Moment, incident_id: int) -> None:
        roll = self._rng.random()
        if roll >= self.ack_odds[0] + self.ack_odds[1]:
            self.acks.append({"incident_id": incident_id, "planned": None})
            return
        minutes = self._rng.uniform(3, 20) if roll < self.ack_odds[0] else self._rng.uniform(35, 55)
        with Session(self.engine) as s:
            incident = s.get(Incident, incident_id)
            owner = s.get(Staff, incident.owner_id)
            at = incident.opened_at + dt.timedelta(minutes=minutes)
            by = owner.email
        self.acks.append({"incident_id": incident_id, "planned": at})
        self.add(Moment(at.replace(second=0, microsecond=0), ORDER[ACKNOWLEDGE], ACKNOWLEDGE, moment.day,
                        (("incident_id", incident_id), ("action", "acknowledge"), ("by", by))))

    def drain(self, runner: Runner = run_in_process, max_days: int = 4) -> int:
        """After the month: watch passes on the schedule until nothing is left to send (held for a client's
        business hours, or waiting to retry), at most `max_days`."""
        passes = 0
        day = self.last + dt.timedelta(days=1)
        for moment in scheduled_moments(day, day + dt.timedelta(days=max_days - 1), [WATCH],
                                        watch_every=self.watch_every):
            if not outstanding_messages(self.engine):
                break
            runner(moment)
            passes += 1
        return passes


def outstanding_messages(engine: Engine) -> int:
    """Messages that will still go out by themselves: queued, held until a time, or failed awaiting a retry."""
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(OutboundMessage).where(
            OutboundMessage.status.in_([MessageStatus.QUEUED, MessageStatus.FAILED, MessageStatus.SENDING])
            | ((OutboundMessage.status == MessageStatus.HELD) & OutboundMessage.hold_until.is_not(None)))) or 0)


@dataclass(frozen=True)
class MonthRecord:
    """What the month left in the database, as the invariants read it."""

    active: list[Any]  # the active clients: id, slug, tier, settings
    messages: pd.DataFrame
    with_contacts: set[int]  # clients with an active contact; a test client's are never written to
    reports: Counter[tuple[int, str, str]]  # (client, kind, period): reports in any language
    findings: list[Any]  # ordered by client, account, subject, detector, day
    incidents: list[Any]
    escalated: dict[int, list[dt.datetime]]  # incident id: when it was escalated, a rung at a time


def read_month(engine: Engine) -> MonthRecord:
    """The clients, messages, reports, findings, incidents and escalations the invariants are checked against."""
    with Session(engine) as s:
        clients = s.execute(select(Client.id, Client.slug, Client.tier, Client.settings, Client.status,
                                   Client.is_test)).all()
        messages = pd.DataFrame(s.execute(select(
            OutboundMessage.id, OutboundMessage.client_id, OutboundMessage.flow, OutboundMessage.kind,
            OutboundMessage.period, OutboundMessage.recipient, OutboundMessage.status,
            OutboundMessage.idempotency_key, OutboundMessage.is_crisis, OutboundMessage.audience)).all(),
            columns=["id", "client_id", "flow", "kind", "period", "recipient", "status", "key", "is_crisis",
                     "audience"])
        with_contacts = {cid for (cid,) in s.execute(select(Contact.client_id).where(Contact.is_active).distinct())}
        reports = Counter((r.client_id, r.kind, r.period) for r in s.execute(
            select(Report.client_id, Report.kind, Report.period, Report.language)).all())
        findings = s.execute(select(Finding.id, Finding.client_id, Finding.account_id, Finding.subject,
                                    Finding.detector, Finding.day, Finding.severity)
                             .order_by(Finding.client_id, Finding.account_id, Finding.subject, Finding.detector,
                                       Finding.day)).all()
        incidents = s.execute(select(Incident.id, Incident.finding_id, Incident.opened_at, Incident.acknowledged_at)
                              ).all()
        escalated = defaultdict(list)
        for e in s.execute(select(IncidentEvent.incident_id, IncidentEvent.at, IncidentEvent.detail)
                           .where(IncidentEvent.kind == "escalated")).all():
            escalated[e.incident_id].append(e.at)
    return MonthRecord(active=[c for c in clients if c.status == ClientStatus.ACTIVE], messages=messages,
                       with_contacts=with_contacts - {c.id for c in clients if c.is_test}, reports=reports,
                       findings=list(findings), incidents=list(incidents), escalated=escalated)


def standup_updates_kept(month: MonthRecord, standups: Iterable[dt.date]) -> dict[str, int]:
    """At each stand-up, one update per client it owes one to, for the window its cadence reads; no other."""
    from tasks.reports.periods import standup_windows, week_windows
    from tasks.rules import update_cadence, wants_update

    updates = month.messages[month.messages["kind"] == "client_update"]
    got = set(zip(updates["client_id"], updates["period"], strict=True))
    expected = set()
    for day in standups:
        for c in month.active:
            if c.id in month.with_contacts and wants_update(c.tier.value, c.settings, day):
                every = update_cadence(c.tier.value, c.settings) == "every"
                window = standup_windows(day)[0] if every else week_windows(day)[0]
                expected.add((c.id, window.label))
    return {"standup_updates_expected": len(expected), "standup_updates_missing": len(expected - got),
            "standup_updates_unexpected": len(got - expected)}


def recaps_kept(month: MonthRecord, recap_days: Iterable[dt.date]) -> dict[str, int]:
    """A recap of the month before each recap day for every active client, and its email to those with contacts."""
    from tasks.reports.periods import previous_month

    months = {previous_month(d).label for d in recap_days}
    expected = {(c.id, m) for c in month.active for m in months}
    got = {(cid, period) for (cid, kind, period) in month.reports if kind == ReportKind.RECAP}
    mail = month.messages[month.messages["kind"] == "recap"]
    return {"recaps_expected": len(expected), "recaps_missing": len(expected - got),
            "recap_clients_without_email_missing": len(
                {(c, m) for (c, m) in expected if c in month.with_contacts}
                - set(zip(mail["client_id"], mail["period"], strict=True)))}


def packs_kept(month: MonthRecord, pack_days: Iterable[dt.date]) -> dict[str, int]:
    """A strategy pack of the quarter before each pack day for every client who gets one."""
    from tasks.reports.periods import previous_quarter
    from tasks.rules import wants_pack

    quarters = {previous_quarter(d).label for d in pack_days}
    expected = {(c.id, q) for c in month.active if wants_pack(c.tier.value, c.settings) for q in quarters}
    got = {(cid, period) for (cid, kind, period) in month.reports if kind == ReportKind.STRATEGY_PACK}
    return {"packs_expected": len(expected), "packs_missing": len(expected - got)}


def critical_problems_kept(month: MonthRecord, first: dt.date, last: dt.date,
                           planted: Iterable[PlantedProblem]) -> dict[str, int]:
    """One incident per critical problem, and every planted problem found critical."""
    # A problem's episode: its rows on consecutive days (one row a day while it holds). Every episode that was
    # critical on a day of the month has exactly one incident, linked to one of the episode's rows.
    by_finding = Counter(i.finding_id for i in month.incidents if i.finding_id is not None)
    episodes: list[list[Any]] = []
    for f in month.findings:
        previous = episodes[-1][-1] if episodes else None
        same = previous is not None and (previous.client_id, previous.account_id, previous.subject,
                                         previous.detector) == (f.client_id, f.account_id, f.subject, f.detector)
        if same and (f.day - previous.day).days == 1:
            episodes[-1].append(f)
        else:
            episodes.append([f])
    critical = [e for e in episodes
                if any(f.severity == "critical" and first - dt.timedelta(days=1) <= f.day <= last for f in e)]
    per_episode = [sum(by_finding[f.id] for f in e) for e in critical]
    found = {(f.client_id, f.detector, f.day) for f in month.findings if f.severity == "critical"}
    swept = [p for p in planted if p.days[-1] < last]  # swept by the morning of `last`
    return {"critical_problems": len(critical),
            "critical_problems_without_incident_missing": sum(1 for n in per_episode if n == 0),
            "incidents_per_problem_twice": sum(1 for n in per_episode if n > 1),
            "planted_problems": len(swept),
            "planted_problems_missing": sum(1 for p in swept if (p.client_id, p.detector, p.days[-1]) not in found)}


def escalations_kept(month: MonthRecord, watch_every: dt.timedelta) -> dict[str, int]:
    """Every incident not acknowledged in time climbed each rung of the ladder by the first watch pass after."""
    from tasks.escalation import POLICY

    late, on_time = 0, 0
    for incident in month.incidents:
        for step, wait in enumerate((POLICY.to_team_lead, POLICY.to_director), start=1):
            due = incident.opened_at + wait
            if incident.acknowledged_at is not None and incident.acknowledged_at < due:
                continue
            reached = sorted(month.escalated[incident.id])
            # The watch passes every 15 minutes: a rung is on time when it was climbed by the first pass after it
            # fell due (plus a minute for the pass itself).
            if len(reached) < step or reached[step - 1] > due + watch_every + dt.timedelta(minutes=1):
                late += 1
            else:
                on_time += 1
    return {"incidents": len(month.incidents),
            "incidents_acknowledged": sum(1 for i in month.incidents if i.acknowledged_at is not None),
            "escalations_on_time": on_time, "escalations_late": late}


def deliveries_kept(month: MonthRecord, deliveries: Counter[str]) -> dict[str, int]:
    """Where every message ended, and the provider's count by key: nothing delivered twice, lost or unknown."""
    messages = month.messages
    status = messages["status"]
    sent = messages[status == MessageStatus.SENT]
    known = set(messages["key"])
    return {"messages": len(messages), "messages_sent": len(sent),
            "messages_manual": int((status == MessageStatus.MANUAL).sum()),
            "messages_uncertain": int((status == MessageStatus.UNCERTAIN).sum()),
            "messages_dead": int((status == MessageStatus.DEAD).sum()),
            "messages_stuck": int((status == MessageStatus.SENDING).sum()),
            "messages_waiting_at_end": int(status.isin([MessageStatus.QUEUED, MessageStatus.FAILED,
                                                        MessageStatus.HELD]).sum()),
            "keys_sent_twice": sum(1 for n in deliveries.values() if n > 1),
            "sent_but_not_delivered_lost": int((~sent["key"].isin(list(deliveries))).sum()),
            "delivered_unknown_keys": sum(1 for k in deliveries if k not in known)}


def check_invariants(engine: Engine, first: dt.date, last: dt.date, deliveries: Counter[str],
                     planted: Iterable[PlantedProblem] = (), watch_every: dt.timedelta = WATCH_EVERY,
                     ) -> dict[str, Any]:
    """Every promise of the month, from the database and the provider's own count of deliveries by our key; the
    days a stand-up, a recap or a pack was owed are those prefect.yaml schedules them on.

    Keys ending in `_missing`, `_twice`, `_late`, `_stuck` and `_lost` must be 0 for the month to pass.
    """
    month = read_month(engine)
    due: dict[str, set[dt.date]] = defaultdict(set)
    for moment in scheduled_moments(first, last, [STANDUP, RECAP, PACK]):
        due[moment.deployment].add(moment.day)
    return {**standup_updates_kept(month, sorted(due[STANDUP])), **recaps_kept(month, due[RECAP]),
            **packs_kept(month, due[PACK]), **critical_problems_kept(month, first, last, planted),
            **escalations_kept(month, watch_every), **deliveries_kept(month, deliveries)}


def failures(invariants: dict[str, Any]) -> dict[str, Any]:
    """The invariants that say a promise was broken."""
    bad_suffixes = ("_missing", "_twice", "_late", "_stuck", "_lost", "_unexpected", "_unknown_keys")
    return {k: v for k, v in invariants.items() if k.endswith(bad_suffixes) and v}


def prefect_texts(page: int = 200) -> Iterator[tuple[str, str]]:
    """Every log line, artifact and flow-run parameter set the Prefect API holds, as (where, text)."""
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import LogSort

    with get_client(sync_client=True) as client:
        offset = 0
        while batch := client.read_logs(limit=page, offset=offset, sort=LogSort.TIMESTAMP_ASC):
            for log in batch:
                yield f"log of flow run {log.flow_run_id}", log.message
            offset += len(batch)
        offset = 0
        while batch := client.read_artifacts(limit=page, offset=offset):
            for artifact in batch:
                yield f"artifact {artifact.key or artifact.id}", json.dumps(artifact.data, default=str)
            offset += len(batch)
        offset = 0
        while batch := client.read_flow_runs(limit=page, offset=offset):
            for run in batch:
                yield f"parameters of flow run {run.name}", json.dumps(run.parameters, default=str)
            offset += len(batch)


def database_size_mb(engine: Engine) -> float:
    """The database's size on disk: the SQLite file with its WAL, or PostgreSQL's pg_database_size."""
    from pathlib import Path

    from sqlalchemy import text

    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists()) / 2**20
    with engine.connect() as conn:
        return float(conn.scalar(text("SELECT pg_database_size(current_database())"))) / 2**20


def moment_json(moment: Moment) -> str:
    import json

    return json.dumps({"at": moment.at.isoformat(), "order": moment.order, "deployment": moment.deployment,
                       "day": moment.day.isoformat(), "payload": dict(moment.payload)})


def moment_from_json(text: str) -> Moment:
    import json

    raw = json.loads(text)
    return Moment(dt.datetime.fromisoformat(raw["at"]), raw["order"], raw["deployment"],
                  dt.date.fromisoformat(raw["day"]), tuple(raw["payload"].items()))


def _child(argv: list[str]) -> None:
    """`python -m cadence.demo.simulation MOMENT_JSON`: run one moment in a process of its own (to be killed)."""
    import sys

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings


    moment = moment_from_json(argv[0])
    print("ready", flush=True)
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        run_in_process(moment)
    print("done", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    import sys

    _child(sys.argv[1:])
