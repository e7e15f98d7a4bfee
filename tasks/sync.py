"""Platform sync: pull each connected account's days through its connector and load them as a file import would.

A pull is serialised to one canonical CSV (generic headers, one row per campaign-day, blanks for missing) and
imported through tasks.ingest.write.import_bytes: the same bytes twice change nothing, a restated day updates, a bad
row is quarantined. Pending reports and quota errors do not hold the worker: the account is retried later in
the same chunk while the others are pulled.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, Client, PlatformConnection, Staff
from models.base import utcnow
from models.enums import Audience, EntityStatus, Language, Platform, StaffRole
from tasks import i18n
from tasks.connectors import ConnectionInfo, Secrets, connector_for
from tasks.connectors.base import (
    AccountInfo,
    AuthExpired,
    CampaignSettings,
    Connector,
    DailyRow,
    QuotaExceeded,
    ReportPending,
)
from tasks.errors import CadenceError
from tasks.i18n import N_, gettext_
from tasks.ingest.write import import_bytes
from tasks.messaging.outbox import enqueue
from tasks.resources import configured_engine

FLOW = "platform-sync"
HEADERS = ("Date", "Campaign ID", "Campaign", "Impressions", "Clicks", "Cost", "Conversions", "Conversion value")
# Sunday: the day the longer restatement window is re-pulled.
WEEKLY_RESTATEMENT_WEEKDAY = 6
MAX_QUOTA_RETRIES = 6
QUOTA_BACKOFF_S = 5.0
MAX_BACKOFF_S = 300.0
# How long one chunk waits on queued reports and quotas before listing the rest as failed (the next run re-pulls).
CHUNK_DEADLINE_S = 1800.0
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Pull:
    """One account's pull in this run: where, which days, through which login."""

    account_id: int
    connection_id: int
    info: AccountInfo
    start: dt.date
    end: dt.date
    today: dt.date


@dataclass
class Outcome:
    """What happened to one account: ok, failed or auth_expired, with the import's counts."""

    account_id: int
    external_id: str
    platform: str
    start: str
    end: str
    status: str = "ok"
    error: str | None = None
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    duplicates: int = 0
    already_imported: bool = False
    quota_errors: int = 0
    pending_polls: int = 0
    campaigns: int = 0

    @property
    def rows_lost(self) -> int:
        """Rows pulled that the import did not account for (must be 0)."""
        if self.status != "ok" or self.already_imported:
            return 0
        return self.rows - (self.inserted + self.updated + self.quarantined + self.duplicates)


def pull_window(zone: str, restatement_days: int, weekly_days: int, *, as_of: dt.date | None = None,
                now: dt.datetime | None = None, days: int | None = None,
                weekly_weekday: int = WEEKLY_RESTATEMENT_WEEKDAY) -> tuple[dt.date, dt.date, dt.date]:
    """(start, end, today) for one account: its own yesterday and the restatement days before it.

    `as_of` (a back-fill) is "today" for every account; otherwise today is now in the account's zone. On
    `weekly_weekday` the window is `weekly_days` long; `days` overrides both (the whole window, yesterday included).
    """
    today = as_of or (now or utcnow()).astimezone(ZoneInfo(zone)).date()
    end = today - dt.timedelta(days=1)
    if days is not None:
        back = max(days, 1) - 1
    else:
        back = weekly_days if today.weekday() == weekly_weekday else restatement_days
    return end - dt.timedelta(days=back), end, today


def export_rows(rows: Iterable[DailyRow]) -> bytes:
    """The canonical export of a pull: generic headers, ISO days, one row per campaign-day, blank = missing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    for r in sorted(rows, key=lambda r: (r.day, r.campaign_external_id)):
        writer.writerow([r.day.isoformat(), r.campaign_external_id, r.campaign_name,
                         _text(r.impressions), _text(r.clicks), _text(r.spend), _text(r.conversions),
                         _text(r.conversion_value)])
    return out.getvalue().encode("utf-8")


def _text(value: int | Decimal | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.quantize(CENT):f}"
    return str(value)


def upsert_campaigns(session: Session, account_id: int, campaigns: Sequence[CampaignSettings],
                     first_day: dt.date) -> int:
    """Campaign settings into the campaign table: a None leaves the stored value. Returns how many were created."""
    stored = {c.external_id: c for c in session.scalars(select(Campaign).where(Campaign.account_id == account_id))}
    created = 0
    for s in campaigns:
        row = stored.get(s.external_id)
        if row is None:
            row = Campaign(account_id=account_id, external_id=s.external_id[:64], name=s.name[:300],
                           created_on=s.created_on or first_day, geo_targeting=[])
            session.add(row)
            created += 1
        else:
            row.name = s.name[:300] or row.name
            if s.created_on is not None:
                row.created_on = s.created_on
        row.status = EntityStatus(s.status)
        if s.daily_budget is not None:
            row.daily_budget = s.daily_budget
        if s.bid_strategy is not None:
            row.bid_strategy = s.bid_strategy[:60]
        if s.bid is not None:
            row.bid = s.bid
        if s.geo_targeting is not None:
            row.geo_targeting = list(s.geo_targeting)
        if s.conversion_goal_known:
            row.conversion_goal = s.conversion_goal[:120] if s.conversion_goal else None
    return created


def load_pull(engine: Engine, pull: Pull, campaigns: Sequence[CampaignSettings], rows: list[DailyRow],
              outcome: Outcome) -> None:
    """Campaign settings, then the rows through the file-import path; the account's sync problem is cleared."""
    with Session(engine) as session, session.begin():
        upsert_campaigns(session, pull.account_id, campaigns, pull.start)
    data = export_rows(rows)
    name = f"{pull.info.platform}-{pull.info.external_id}-{pull.start:%Y%m%d}-{pull.end:%Y%m%d}.csv"
    report = import_bytes(engine, data, name, platform="generic", account=pull.info.external_id,
                          account_platform=pull.info.platform, today=pull.today, use_saved_mapping=False)
    outcome.rows = len(rows)
    outcome.inserted, outcome.updated = report.inserted, report.updated
    outcome.quarantined, outcome.duplicates = report.quarantined, report.duplicates
    outcome.already_imported = report.already_imported
    outcome.campaigns = len(campaigns)
    with Session(engine) as session, session.begin():
        session.execute(update(AdAccount).where(AdAccount.id == pull.account_id)
                        .values(sync_problem=None, sync_problem_since=None))


def run_pulls(engine: Engine, pulls: Sequence[Pull], connectors: dict[int, Connector], *,
              clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
              deadline_s: float = CHUNK_DEADLINE_S) -> list[Outcome]:
    """Every pull once; a pending report or a quota error puts the account back in line after its wait.

    One account failing never stops the others; an expired login fails its other accounts without calling."""
    outcomes = {p.account_id: Outcome(p.account_id, p.info.external_id, p.info.platform, p.start.isoformat(),
                                      p.end.isoformat()) for p in pulls}
    campaigns: dict[int, list[CampaignSettings]] = {}
    waiting: dict[int, float] = {p.account_id: 0.0 for p in pulls}
    dead: dict[int, str] = {}
    by_id = {p.account_id: p for p in pulls}
    started = clock()
    while waiting:
        now = clock()
        ready = [a for a, at in waiting.items() if at <= now]
        if not ready:
            if now - started > deadline_s:
                for a in waiting:
                    outcomes[a].status, outcomes[a].error = "failed", (
                        f"gave up after {deadline_s:.0f} s of queued reports and quota waits; the next run re-pulls")
                break
            sleep(min(waiting.values()) - now)
            continue
        for account_id in ready:
            pull, outcome = by_id[account_id], outcomes[account_id]
            if pull.connection_id in dead:
                outcome.status, outcome.error = "auth_expired", dead[pull.connection_id]
                del waiting[account_id]
                continue
            connector = connectors[pull.connection_id]
            try:
                if account_id not in campaigns:
                    campaigns[account_id] = list(connector.campaigns(pull.info))
                rows = list(connector.daily_metrics(pull.info, pull.start, pull.end))
                load_pull(engine, pull, campaigns[account_id], rows, outcome)
            except ReportPending as exc:
                outcome.pending_polls += 1
                waiting[account_id] = clock() + exc.retry_after
                continue
            except QuotaExceeded as exc:
                outcome.quota_errors += 1
                if outcome.quota_errors > MAX_QUOTA_RETRIES:
                    outcome.status, outcome.error = (
                        "failed", f"quota still exhausted after {MAX_QUOTA_RETRIES} waits: {exc}")
                else:
                    backoff = exc.retry_after or min(QUOTA_BACKOFF_S * 2 ** (outcome.quota_errors - 1), MAX_BACKOFF_S)
                    waiting[account_id] = clock() + backoff
                    continue
            except AuthExpired as exc:
                dead[pull.connection_id] = str(exc)
                outcome.status, outcome.error = "auth_expired", str(exc)
            except CadenceError as exc:
                outcome.status, outcome.error = "failed", str(exc)
            except Exception as exc:  # noqa: BLE001 - one account's surprise must not stop the others
                outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {str(exc)[:300]}"
            del waiting[account_id]
    return [outcomes[p.account_id] for p in pulls]


def plan_pulls(engine: Engine, account_ids: Sequence[int], connectors: dict[int, Connector], *,
               as_of: dt.date | None, days: int | None, now: dt.datetime | None = None,
               bad: list[Outcome] | None = None) -> list[Pull]:
    """The pulls of these accounts, each window from the account's own zone and its connector's restatement;
    an account whose window cannot be worked out goes to `bad`."""
    bad = [] if bad is None else bad
    with Session(engine) as session:
        accounts = session.execute(select(AdAccount.id, AdAccount.connection_id, AdAccount.platform,
                                          AdAccount.external_id, AdAccount.name, AdAccount.currency,
                                          AdAccount.time_zone).where(AdAccount.id.in_(list(account_ids)))).all()
    pulls = []
    for a in accounts:
        connector = connectors[a.connection_id]
        try:
            start, end, today = pull_window(a.time_zone, connector.restatement_days,
                                            connector.weekly_restatement_days, as_of=as_of, now=now, days=days)
        except (ZoneInfoNotFoundError, ValueError):
            bad.append(Outcome(a.id, a.external_id, a.platform.value, "", "", status="failed",
                               error=f"unknown time zone {a.time_zone!r}: fix it with `cadence account connect`"))
            continue
        info = AccountInfo(platform=a.platform.value, external_id=a.external_id, name=a.name, currency=a.currency,
                           time_zone=a.time_zone)
        pulls.append(Pull(a.id, a.connection_id, info, start, end, today))
    return sorted(pulls, key=lambda p: p.account_id)


def connected_accounts(engine: Engine, external_ids: Sequence[str] | None = None,
                       platforms: Sequence[str] | None = None) -> list[int]:
    """Ids of active accounts that have a platform login, optionally only these external ids / platforms."""
    query = (select(AdAccount.id).where(AdAccount.connection_id.is_not(None),
                                        AdAccount.status != EntityStatus.REMOVED).order_by(AdAccount.id))
    if external_ids:
        query = query.where(AdAccount.external_id.in_(list(external_ids)))
    if platforms:
        query = query.where(AdAccount.platform.in_([Platform(p) for p in platforms]))
    with Session(engine) as session:
        return list(session.scalars(query))


def chunk(ids: Sequence[int], size: int) -> list[list[int]]:
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]


def connection_infos(engine: Engine, connection_ids: Iterable[int],
                     throttle: Callable[[str], Callable[[], None] | None] | None = None,
                     ) -> dict[int, tuple[ConnectionInfo, Secrets]]:
    """The stored logins with their secret names; `throttle(platform)` gives each its rate limiter."""
    with Session(engine) as session:
        rows = session.scalars(select(PlatformConnection).where(PlatformConnection.id.in_(list(connection_ids))))
        return {c.id: (ConnectionInfo(c.id, c.platform.value, c.label, dict(c.options),
                                      throttle(c.platform.value) if throttle else None), Secrets(dict(c.secrets)))
                for c in rows}


def open_connectors(engine: Engine, account_ids: Sequence[int],
                    throttle: Callable[[str], Callable[[], None] | None] | None = None,
                    ) -> tuple[dict[int, Connector], dict[int, str]]:
    """A connector per login these accounts use; a login that cannot be opened is returned as its error."""
    with Session(engine) as session:
        ids = set(session.scalars(select(AdAccount.connection_id).where(AdAccount.id.in_(list(account_ids)))))
    connectors: dict[int, Connector] = {}
    errors: dict[int, str] = {}
    for cid, (info, secrets) in connection_infos(engine, ids, throttle).items():
        try:
            connectors[cid] = connector_for(info, secrets)
        except CadenceError as exc:
            errors[cid] = str(exc)
    return connectors, errors


def record_outcomes(engine: Engine, outcomes: Sequence[Outcome]) -> int:
    """Mark expired logins and their accounts, queue one reconnect message per login and recipient; returns new."""
    expired = [o for o in outcomes if o.status == "auth_expired"]
    now = utcnow()
    new = 0
    with Session(engine) as session, session.begin():
        ok = [o.account_id for o in outcomes if o.status == "ok"]
        if ok:
            connections = set(session.scalars(select(AdAccount.connection_id).where(AdAccount.id.in_(ok))))
            session.execute(update(PlatformConnection).where(PlatformConnection.id.in_(connections))
                            .values(last_synced_at=now, problem=None))
        if not expired:
            return 0
        accounts = session.scalars(select(AdAccount).where(AdAccount.id.in_([o.account_id for o in expired]))).all()
        by_connection: dict[int, list[AdAccount]] = {}
        for account in accounts:
            if account.sync_problem is None or not account.sync_problem.startswith("reconnect"):
                account.sync_problem, account.sync_problem_since = (
                    "reconnect: the platform login expired or was revoked", now)
            by_connection.setdefault(account.connection_id, []).append(account)
        for connection_id, group in by_connection.items():
            connection = session.get(PlatformConnection, connection_id)
            connection.problem = next(o.error for o in expired if o.account_id == group[0].id)
            since = min(a.sync_problem_since for a in group)
            # The token is the login's: every account it reaches is without data, whichever chunk saw it first.
            reached = session.scalars(select(AdAccount).where(AdAccount.connection_id == connection_id,
                                                              AdAccount.status != EntityStatus.REMOVED)
                                      .order_by(AdAccount.external_id)).all()
            new += enqueue(session, reconnect_messages(session, connection, reached, since))
    return new


def reconnect_messages(session: Session, connection: PlatformConnection, accounts: Sequence[AdAccount],
                       since: dt.datetime) -> list[dict[str, Any]]:
    """One "reconnect" message per owner AM and per ops member, keyed by the login and the day it broke."""
    clients = {c.id: c for c in session.scalars(select(Client).where(Client.id.in_({a.client_id for a in accounts})))}
    ops = session.scalars(select(Staff).where(Staff.role == StaffRole.OPS, Staff.is_active)).all()
    readers: dict[int, tuple[Staff, list[AdAccount]]] = {}
    for account in accounts:
        am = session.get(Staff, clients[account.client_id].owner_am_id)
        readers.setdefault(am.id, (am, []))[1].append(account)
    for person in ops:
        readers[person.id] = (person, list(accounts))
    period = f"login-{connection.id}-{since:%Y%m%d}"
    messages = []
    for staff, theirs in readers.values():
        language = staff.language.value
        with i18n.use(language):
            names = ", ".join(f"{a.name} ({a.external_id})" for a in theirs[:10])
            more = len(theirs) - 10
            v = {"platform": connection.platform.value, "label": connection.label, "accounts": names,
                 "count": len(theirs), "more": more}
            subject = gettext_(N_("Reconnect %(platform)s login %(label)s: no data is arriving")) % v
            lines = [gettext_(N_("The %(platform)s login %(label)s stopped working: the platform says the token "
                                 "expired or was revoked.")) % v,
                     gettext_(N_("Accounts without data until it is reconnected: %(accounts)s")) % v
                     + (f" (+{more})" if more > 0 else ""),
                     gettext_(N_("Reconnect: cadence account connect %(platform)s --label %(label)s")) % v]
        text = "\n\n".join(lines) + "\n"
        body_html = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        messages.append({"flow": FLOW, "kind": "reconnect", "period": period, "audience": Audience.INTERNAL,
                         "client_id": None, "contact_id": None, "staff_id": staff.id, "recipient": staff.email,
                         "language": Language(language), "subject": subject, "body_html": body_html,
                         "body_text": text, "is_crisis": False,
                         "meta": {"connection_id": connection.id, "accounts": [a.id for a in theirs]}})
    return messages


def sync_accounts(engine: Engine, account_ids: Sequence[int], *, as_of: dt.date | None = None,
                  days: int | None = None, now: dt.datetime | None = None,
                  throttle: Callable[[str], Callable[[], None] | None] | None = None,
                  sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                  deadline_s: float = CHUNK_DEADLINE_S) -> list[Outcome]:
    """Pull these accounts (one chunk) and record what happened; the core of the flow's task."""
    connectors, broken = open_connectors(engine, account_ids, throttle)
    try:
        with Session(engine) as session:
            accounts = session.execute(select(AdAccount.id, AdAccount.connection_id, AdAccount.external_id,
                                              AdAccount.platform).where(AdAccount.id.in_(list(account_ids)))).all()
        unopened = [Outcome(a.id, a.external_id, a.platform.value, "", "", status="failed",
                            error=broken[a.connection_id])
                    for a in accounts if a.connection_id in broken]
        live = [a.id for a in accounts if a.connection_id in connectors]
        pulls = plan_pulls(engine, live, connectors, as_of=as_of, days=days, now=now, bad=unopened)
        outcomes = run_pulls(engine, pulls, connectors, sleep=sleep, clock=clock, deadline_s=deadline_s) + unopened
    finally:
        for connector in connectors.values():
            close = getattr(connector, "close", None)
            if close is not None:
                close()
    record_outcomes(engine, outcomes)
    return outcomes


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    return {**asdict(outcome), "rows_lost": outcome.rows_lost}


# Requests per second a whole pool of workers may send to each platform (Prefect global rate limits, created if
# missing). Yandex also limits each advertiser to 20 report requests per 10 s: one account is pulled by one
# task at a time, at most 3 requests plus polls spaced by retryIn, so that one holds by construction.
RATE_LIMITS: dict[str, float] = {"yandex_direct": 40.0, "google_ads": 20.0, "meta": 20.0}


def rate_limit_name(platform: str) -> str:
    return f"platform-sync:{platform}"


def ensure_rate_limits(limits: dict[str, float] = RATE_LIMITS) -> list[str]:
    """Create each platform's global rate limit on the Prefect server when it is missing; returns those created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectNotFound

    created = []
    with get_client(sync_client=True) as api:
        for platform, per_second in limits.items():
            name = rate_limit_name(platform)
            try:
                api.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                slots = max(1, int(per_second))
                api.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(
                    name=name, limit=slots, slot_decay_per_second=per_second))
                created.append(name)
    return created


# Slots taken from the server per call: one API round trip (~0.1 s) buys this many platform requests.
THROTTLE_BATCH = 8


class BatchedThrottle:
    """Before each platform request: one slot of the platform's global rate limit, taken from the server in batches."""

    def __init__(self, name: str, batch: int, take: Callable[..., None]) -> None:
        self.name, self.batch, self._take = name, batch, take
        self._left = 0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            if self._left == 0:
                self._take(self.name, occupy=self.batch, strict=False)
                self._left = self.batch
            self._left -= 1


def prefect_throttle(platform: str) -> Callable[[], None] | None:
    """The throttle for one chunk's connector: waits when the pool of workers is at the platform's rate."""
    if platform not in RATE_LIMITS:
        return None
    from prefect.concurrency.sync import rate_limit

    return BatchedThrottle(rate_limit_name(platform), min(THROTTLE_BATCH, int(RATE_LIMITS[platform])), rate_limit)


def summary_markdown(label: str, outcomes: Sequence[dict[str, Any]]) -> str:
    """The run's artifact: totals, then every account that did not sync and why."""
    ok = [o for o in outcomes if o["status"] == "ok"]
    failed = [o for o in outcomes if o["status"] != "ok"]
    lines = [f"# Platform sync {label}", "",
             f"- accounts: {len(outcomes):,} ({len(ok):,} synced, {len(failed):,} not)",
             f"- rows pulled: {sum(o['rows'] for o in ok):,}; inserted {sum(o['inserted'] for o in ok):,}, "
             f"updated {sum(o['updated'] for o in ok):,}, quarantined {sum(o['quarantined'] for o in ok):,}, "
             f"unchanged {sum(o['duplicates'] for o in ok):,}; rows lost: {sum(o['rows_lost'] for o in outcomes)}",
             f"- quota waits: {sum(o['quota_errors'] for o in outcomes):,}; report polls: "
             f"{sum(o['pending_polls'] for o in outcomes):,}"]
    if failed:
        lines += ["", "## Not synced", "", "| account | platform | status | why |", "|---|---|---|---|"]
        for o in sorted(failed, key=lambda o: (o["status"], o["platform"], o["external_id"]))[:500]:
            why = (o["error"] or "").replace("|", "\\|").replace("\n", " ")[:300]
            lines.append(f"| {o['external_id']} | {o['platform']} | {o['status']} | {why} |")
        if any(o["status"] == "auth_expired" for o in failed):
            lines += ["", "Reconnect with `cadence account connect PLATFORM --label LABEL`; the AM and ops were told."]
    return "\n".join(lines) + "\n"


@task(name="plan-sync-chunks", cache_policy=NO_CACHE)
def plan_sync_chunks(accounts: list[str] | None, platforms: list[str] | None, chunk_accounts: int) -> list[list[int]]:
    """The connected accounts to pull, in chunks of `chunk_accounts` (one task each)."""
    ensure_rate_limits()
    return chunk(connected_accounts(configured_engine(), accounts, platforms), max(1, chunk_accounts))


# A retry re-pulls the chunk: what was loaded is recognised by its SHA-256 and changes nothing.
@task(name="sync-chunk", task_run_name="sync-chunk-{index}", cache_policy=NO_CACHE, retries=1,
      retry_delay_seconds=30)
def sync_chunk(account_ids: list[int], as_of: dt.date | None, days: int | None, index: int = 0) -> list[dict[str, Any]]:
    """Pull one chunk of accounts; each failure is logged and returned, never raised."""
    logger = get_run_logger()
    outcomes = sync_accounts(configured_engine(), account_ids, as_of=as_of, days=days, throttle=prefect_throttle)
    for o in outcomes:
        if o.status != "ok":
            logger.warning("%s %s not synced (%s): %s", o.platform, o.external_id, o.status, o.error)
    return [outcome_dict(o) for o in outcomes]


def sync_totals(label: str, outcomes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The flow's return: accounts pulled and synced, why each other one was not, rows pulled and lost."""
    failed = [o for o in outcomes if o["status"] != "ok"]
    return {"as_of": label, "accounts": len(outcomes), "synced": len(outcomes) - len(failed),
            "failed": {o["external_id"]: o["status"] for o in failed},
            "rows": sum(o["rows"] for o in outcomes), "rows_lost": sum(o["rows_lost"] for o in outcomes)}


@task(name="publish-sync-summary", cache_policy=NO_CACHE)
def publish_summary(label: str, outcomes: list[dict[str, Any]]) -> str:
    """The platform-sync markdown artifact and a table of the accounts not synced."""
    summary = summary_markdown(label, outcomes)
    create_markdown_artifact(summary, key="platform-sync-summary", description=f"Platform sync {label}")
    failed = [{k: o[k] for k in ("external_id", "platform", "status", "error", "start", "end")}
              for o in outcomes if o["status"] != "ok"]
    create_table_artifact(failed[:1000] or [{"external_id": "-", "platform": "-", "status": "all synced",
                                             "error": "", "start": "", "end": ""}],
                          key="platform-sync-failures", description=f"Accounts not synced, {label}")
    return summary
