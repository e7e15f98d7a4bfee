"""Meta (Facebook/Instagram) ads through the official facebook-business SDK, under one system-user token.

Metrics come from Insights (level=campaign, time_increment=1) run as an async report job: POST act_<id>/insights,
poll the AdReportRun until "Job Completed", then page its rows. Days are the ad account's own (timezone_name), spend
is in the account currency's major units; budgets and bids are in minor units with Meta's own per-currency offset.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adreportrun import AdReportRun
from facebook_business.adobjects.business import Business
from facebook_business.adobjects.user import User
from facebook_business.api import FacebookAdsApi, FacebookResponse
from facebook_business.exceptions import FacebookError, FacebookRequestError
from facebook_business.session import FacebookSession

from models.enums import Platform
from tasks.connectors.base import (
    AccountInfo,
    AuthExpired,
    CampaignSettings,
    ConnectorError,
    DailyRow,
    MalformedResponse,
    QuotaExceeded,
)

log = logging.getLogger(__name__)


class _HideToken(logging.Filter):
    """The SDK sends the token as a query parameter, and urllib3 logs request URLs at DEBUG: cut it out of them."""

    PARAM = re.compile(r"((?:access_token|appsecret_proof)=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.PARAM.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = self.PARAM.sub(r"\1***", record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_HideToken())

GRAPH_URL = FacebookSession.GRAPH
# Purchases the pixel (and the Conversions API, deduplicated with it) reports. Meta's "purchase" and "omni_purchase"
# are roll-ups that already contain these, so listing them together counts one sale two or three times.
DEFAULT_ACTION_TYPES = ("offsite_conversion.fb_pixel_purchase",)
# Meta's "Currency codes" table: these currencies count budgets and bids in whole units (offset 1), every other one
# in hundredths (offset 100). ISO 4217 / Babel disagree for HUF, TWD, COP, CRC, IDR (and BHD, JOD with 3 decimals).
WHOLE_UNIT_CURRENCIES = frozenset({"CLP", "COP", "CRC", "HUF", "IDR", "ISK", "JPY", "KRW", "PYG", "TWD", "VND"})

# Graph error codes. Throttles: 4 app, 17 user, 32 page, 613 ad account, 80000-80014 Business Use Case limits
# (80000 ads_insights, 80004 ads_management, ...).
QUOTA_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
TOKEN_CODES = frozenset({102, 190})  # expired, revoked, or the password changed
PERMISSION_CODES = frozenset({10, *range(200, 300)})  # the system user lost the account or the ads_read scope
TRANSIENT_CODES = frozenset({1, 2})

SKIPPED_ACCOUNT_STATUS = {2: "disabled", 100: "pending closure", 101: "closed"}
JOB_RUNNING = ("Job Not Started", "Job Started", "Job Running")
JOB_DONE = "Job Completed"
JOB_DEAD = ("Job Failed", "Job Skipped")
STATUS = {"ACTIVE": "active", "PAUSED": "paused", "DELETED": "removed", "ARCHIVED": "removed"}
ALL_EFFECTIVE_STATUSES = ["ACTIVE", "PAUSED", "IN_PROCESS", "WITH_ISSUES", "ARCHIVED", "DELETED"]
ACCOUNT_FIELDS = ["id", "account_id", "name", "currency", "timezone_name", "account_status"]
CAMPAIGN_FIELDS = ["id", "name", "status", "effective_status", "daily_budget", "bid_strategy", "created_time",
                   "updated_time"]
ADSET_FIELDS = ["id", "campaign_id", "status", "effective_status", "daily_budget", "bid_amount", "bid_strategy",
                "targeting", "optimization_goal", "promoted_object"]
INSIGHT_FIELDS = ["campaign_id", "campaign_name", "impressions", "clicks", "spend", "actions", "action_values"]
# Optimisation goals that are a conversion goal even without a promoted_object naming the event.
CONVERSION_GOALS = frozenset({"OFFSITE_CONVERSIONS", "VALUE", "LEAD_GENERATION", "QUALITY_LEAD", "APP_INSTALLS",
                              "CONVERSATIONS", "IN_APP_VALUE", "QUALITY_CALL"})
GEO_KEYS = ("countries", "regions", "cities", "zips", "geo_markets", "electoral_districts", "custom_locations",
            "places", "country_groups", "neighborhoods", "subcities", "large_geo_areas", "medium_geo_areas",
            "small_geo_areas", "metro_areas")


@dataclass(frozen=True)
class Policy:
    """Timeouts and waits; every number is a connector setting of the same name."""

    timeout_s: float = 60.0  # per HTTP request
    poll_s: float = 5.0  # between report-job status polls
    job_timeout_s: float = 1800.0  # a job still running after this is given up (the next sync asks again)
    max_retries: int = 4  # per call, on throttles, 5xx and transient errors
    backoff_s: float = 5.0  # first wait when Meta names none; doubles per retry
    max_wait_s: float = 300.0  # a longer wait is not slept here: QuotaExceeded(retry_after) goes to the sync
    high_water_pct: float = 95.0  # a usage header this full makes the next call wait for the quota to come back
    page_size: int = 500


def minor_to_major(amount: Any, currency: str) -> Decimal | None:
    """A Meta budget or bid (minor units as a string) in major units of `currency`; None when absent or 0."""
    if amount in (None, "", "0", 0):
        return None
    value = _decimal(amount, "budget")
    return value if currency.upper() in WHOLE_UNIT_CURRENCIES else value / 100


def buc_wait_s(headers: Mapping[str, str] | None) -> tuple[float | None, float]:
    """From X-Business-Use-Case-Usage (and X-Ad-Account-Usage): (seconds until access returns, or None when Meta
    says nothing; the highest usage percentage)."""
    wait: float | None = None
    high = 0.0
    if not headers:
        return wait, high
    raw = headers.get("X-Business-Use-Case-Usage")  # requests' headers ignore case
    try:
        usage = json.loads(raw) if raw else {}
        for entries in usage.values() if isinstance(usage, dict) else ():
            for e in entries if isinstance(entries, list) else ():
                high = max([high] + [float(e.get(k) or 0) for k in ("call_count", "total_cputime", "total_time")])
                minutes = e.get("estimated_time_to_regain_access")
                if minutes:
                    wait = max(wait or 0.0, float(minutes) * 60)
        account = json.loads(headers.get("X-Ad-Account-Usage") or "{}")
        if isinstance(account, dict):
            high = max(high, float(account.get("acc_id_util_pct") or 0))
            if account.get("reset_time_duration"):
                wait = max(wait or 0.0, float(account["reset_time_duration"]))
    except (ValueError, TypeError, AttributeError):
        log.warning("Meta sent a usage header that does not parse; backing off by the default")
    return wait, high


def _decimal(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise MalformedResponse(f"Meta sent {what} {value!r}, which is not a number") from None
    if not number.is_finite():
        raise MalformedResponse(f"Meta sent {what} {value!r}, which is not a number")
    return number


class _Api(FacebookAdsApi):
    """The SDK's API object with Cadence's edges: errors translated, throttles obeyed, bodies checked."""

    def __init__(self, session: FacebookSession, api_version: str, policy: Policy, sleep: Callable[[float], None],
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(session, api_version)
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self.host = urlsplit(session.GRAPH).netloc
        self._quiet_until = 0.0  # monotonic time before which the usage header asked us not to call

    def call(self, method, path, params=None, headers=None, files=None, url_override=None, api_version=None):
        for attempt in range(self.policy.max_retries + 1):
            self._respect_usage()
            last = attempt == self.policy.max_retries
            try:
                response = super().call(method, path, params, headers, files, url_override, api_version)
            except FacebookRequestError as e:
                error, wait = self._translate(e, attempt)
                if error is None and not last and wait is not None and wait <= self.policy.max_wait_s:
                    self.sleep(wait)
                    continue
                raise (error or self._give_up(e, wait)) from None
            except requests.RequestException as e:
                # The message of a requests error holds the URL, and the URL holds the token: never pass it on.
                if not last:
                    self.sleep(self._backoff(attempt))
                    continue
                raise ConnectorError(f"Meta's Graph API at {self.host} did not answer ({type(e).__name__}) after "
                                     f"{attempt + 1} tries") from None
            if response.status() >= 500 and not last:
                self.sleep(self._backoff(attempt))
                continue
            return self._checked(response)
        raise AssertionError("unreachable")

    def _checked(self, response: FacebookResponse) -> FacebookResponse:
        if not isinstance(response.json(), dict):
            raise MalformedResponse(f"Meta's Graph API at {self.host} answered HTTP {response.status()} with a body "
                                    "that is not a JSON object; nothing of this pull is kept")
        wait, high = buc_wait_s(response.headers())
        if high >= self.policy.high_water_pct:
            self._quiet_until = self.clock() + (wait or self.policy.backoff_s)
        return response

    def _respect_usage(self) -> None:
        left = self._quiet_until - self.clock()
        if left <= 0:
            return
        if left > self.policy.max_wait_s:
            raise QuotaExceeded(f"Meta's usage header says the quota is used up for {left:.0f} more s",
                                retry_after=left)
        self.sleep(left)

    def _backoff(self, attempt: int) -> float:
        return self.policy.backoff_s * 2 ** attempt

    def _translate(self, e: FacebookRequestError, attempt: int) -> tuple[ConnectorError | None, float | None]:
        """(an error to raise now, or None with the seconds to wait before trying again)."""
        code, sub = e.api_error_code(), e.api_error_subcode()
        what = f"Meta error {code}{f'/{sub}' if sub else ''} ({e.api_error_type() or 'no type'}): " \
               f"{e.api_error_message() or 'no message'}"
        if code in TOKEN_CODES or (code is None and e.http_status() == 401):
            return AuthExpired(f"The Meta system-user token no longer works — {what}. Generate a new token in "
                               "Business Settings → System users and reconnect with `cadence account connect meta`"
                               ), None
        if code in PERMISSION_CODES:
            return AuthExpired(f"The Meta system user may no longer read this account — {what}. Give it the "
                               "account (ads_read) in Business Settings and reconnect"), None
        if code in QUOTA_CODES:
            wait, _ = buc_wait_s(e.http_headers())
            return None, wait if wait else self._backoff(attempt)
        if code in TRANSIENT_CODES or e.api_transient_error() or (e.http_status() or 0) >= 500:
            return None, self._backoff(attempt)
        if e.body() is not None and not isinstance(e.body(), dict):
            return MalformedResponse(f"Meta answered HTTP {e.http_status()} with a body that is not JSON"), None
        return ConnectorError(what), None

    def _give_up(self, e: FacebookRequestError, wait: float | None) -> ConnectorError:
        code = e.api_error_code()
        if code in QUOTA_CODES:
            wait = wait or self.policy.backoff_s
            return QuotaExceeded(f"Meta rate limit (error {code}: {e.api_error_message()}); access returns in about "
                                 f"{wait:.0f} s", retry_after=wait)
        return ConnectorError(f"Meta kept failing (error {code}: {e.api_error_message()}) after "
                              f"{self.policy.max_retries + 1} tries")


class MetaConnector:
    """Ad accounts a system user reaches, their campaigns and daily campaign Insights."""

    platform = Platform.META.value
    # The default attribution is 7-day click / 1-day view, credited to the day of the ad impression: a purchase a
    # week after a click still changes that earlier day, so the last 7 days are re-pulled every morning. Meta also
    # settles invalid-traffic credits and late conversions (including 28-day windows) for weeks: a weekly 28-day pull.
    restatement_days = 7
    weekly_restatement_days = 28

    def __init__(self, access_token: str, *, business_id: str | None = None, api_version: str | None = None,
                 base_url: str = GRAPH_URL, action_types: Iterable[str] = DEFAULT_ACTION_TYPES,
                 value_action_types: Iterable[str] | None = None,
                 account_action_types: Mapping[str, Iterable[str]] | None = None, app_secret: str | None = None,
                 policy: Policy = Policy(), sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        if not access_token:
            raise AuthExpired("No Meta access token: connect with `cadence account connect meta`")
        session = FacebookSession(access_token=access_token, app_secret=app_secret, timeout=policy.timeout_s)
        session.GRAPH = base_url.rstrip("/")  # the SDK builds every URL from the session's GRAPH
        # Not FacebookAdsApi.init: that sets a process-wide default API (two agencies' tokens would share it) and
        # installs the SDK's crash reporter, which posts tracebacks to Meta.
        self.api = _Api(session, api_version or FacebookAdsApi.API_VERSION, policy, sleep, clock)
        self.policy = policy
        self.business_id = business_id
        self.action_types = tuple(action_types)
        self.value_action_types = tuple(value_action_types) if value_action_types is not None else None
        self.account_action_types = {k: tuple(v) for k, v in (account_action_types or {}).items()}
        self.skipped: list[tuple[AccountInfo, str]] = []  # accounts accounts() left out, and why

    @property
    def sleep(self) -> Callable[[float], None]:
        return self.api.sleep

    @sleep.setter
    def sleep(self, value: Callable[[float], None]) -> None:
        self.api.sleep = value

    def accounts(self) -> list[AccountInfo]:
        """Owned and client ad accounts of the business (or every account of the token's user), open ones only."""
        if self.business_id:
            business = Business(fbid=self.business_id, api=self.api)
            cursors = [business.get_owned_ad_accounts(fields=ACCOUNT_FIELDS, params=self._page()),
                       business.get_client_ad_accounts(fields=ACCOUNT_FIELDS, params=self._page())]
        else:
            cursors = [User(fbid="me", api=self.api).get_ad_accounts(fields=ACCOUNT_FIELDS, params=self._page())]
        found: dict[str, AccountInfo] = {}
        self.skipped = []
        for row in (r for c in cursors for r in self._rows(c)):
            try:
                info = AccountInfo(self.platform, row["id"] if str(row["id"]).startswith("act_")
                                   else f"act_{row['id']}", row.get("name") or row["id"], row["currency"],
                                   row["timezone_name"])
                status = int(row.get("account_status") or 1)
            except (KeyError, TypeError, ValueError):
                raise MalformedResponse(f"Meta listed an ad account without id, currency or time zone: "
                                        f"{sorted(row)}") from None
            if status in SKIPPED_ACCOUNT_STATUS:
                if all(s[0].external_id != info.external_id for s in self.skipped):
                    reason = f"account_status {status} ({SKIPPED_ACCOUNT_STATUS[status]})"
                    self.skipped.append((info, reason))
                    log.info("Meta ad account %s skipped: %s", info.external_id, reason)
                continue
            found.setdefault(info.external_id, info)
        return list(found.values())

    def campaigns(self, account: AccountInfo) -> list[CampaignSettings]:
        """Every campaign, removed ones too; geo targeting, conversion goal and (without a campaign budget) the
        budget come from its ad sets, read once per account."""
        act = AdAccount(fbid=account.external_id, api=self.api)
        rows = self._campaign_rows(account)
        adsets: dict[str, list[dict[str, Any]]] = {}
        for s in self._rows(act.get_ad_sets(fields=ADSET_FIELDS, params=self._page(ALL_EFFECTIVE_STATUSES))):
            adsets.setdefault(str(s.get("campaign_id")), []).append(s)
        out = []
        for c in rows:
            live = [s for s in adsets.get(c["id"], []) if STATUS.get(s.get("status") or "") != "removed"]
            budget = minor_to_major(c.get("daily_budget"), account.currency)
            if budget is None and live and all(s.get("daily_budget") not in (None, "", "0") for s in live):
                budget = sum((minor_to_major(s["daily_budget"], account.currency) for s in live), Decimal(0))
            strategies = {s.get("bid_strategy") for s in live if s.get("bid_strategy")}
            bids = {s.get("bid_amount") for s in live}
            goal, goal_known = _conversion_goal(live)
            out.append(CampaignSettings(
                external_id=c["id"], name=c.get("name") or c["id"],
                status=STATUS.get(c.get("status") or "", STATUS.get(c.get("effective_status") or "", "paused")),
                daily_budget=budget,
                bid_strategy=c.get("bid_strategy") or (strategies.pop() if len(strategies) == 1 else None),
                bid=minor_to_major(bids.pop(), account.currency) if len(bids) == 1 else None,
                geo_targeting=_geo(live), conversion_goal=goal, conversion_goal_known=goal_known,
                created_on=_local_date(c.get("created_time"), account)))
        return out

    def daily_metrics(self, account: AccountInfo, start: dt.date, end: dt.date) -> list[DailyRow]:
        """Every campaign × day of start..end (account-local), zeros where the campaign existed but Insights has no
        row. Read whole before anything is returned: a job or page that fails leaves nothing half-pulled."""
        if end < start:
            return []
        job = self._finished_job(account, start, end)
        conv_types = self.account_action_types.get(account.external_id, self.action_types)
        value_types = self.value_action_types if self.value_action_types is not None else conv_types
        got: dict[tuple[str, dt.date], DailyRow] = {}
        for r in self._rows(job.get_result(fields=INSIGHT_FIELDS, params={"limit": self.policy.page_size})):
            row = _daily_row(r, conv_types, value_types)
            if not start <= row.day <= end:
                raise MalformedResponse(f"Meta's report for {account.external_id} {start}..{end} holds a row for "
                                        f"{row.day}")
            if (row.campaign_external_id, row.day) in got:
                raise MalformedResponse(f"Meta's report for {account.external_id} holds campaign "
                                        f"{row.campaign_external_id} twice on {row.day}")
            got[(row.campaign_external_id, row.day)] = row
        for c in self._campaign_rows(account):
            born = _local_date(c.get("created_time"), account) or start
            gone = _local_date(c.get("updated_time"), account) if STATUS.get(c.get("status") or "") == "removed" \
                else None
            day = max(start, born)
            while day <= min(end, gone or end):
                got.setdefault((c["id"], day), DailyRow(c["id"], c.get("name") or c["id"], day, 0, 0, Decimal(0),
                                                        Decimal(0), Decimal(0)))
                day += dt.timedelta(days=1)
        return sorted(got.values(), key=lambda r: (r.day, r.campaign_external_id))

    def _finished_job(self, account: AccountInfo, start: dt.date, end: dt.date) -> AdReportRun:
        params = {"level": "campaign", "time_increment": "1",
                  "time_range": {"since": start.isoformat(), "until": end.isoformat()},
                  "use_unified_attribution_setting": True}
        span = f"{account.external_id} {start}..{end}"
        try:
            job = AdAccount(fbid=account.external_id, api=self.api).get_insights_async(fields=INSIGHT_FIELDS,
                                                                                       params=params)
            job_id = job["report_run_id"]
        except (KeyError, TypeError, AttributeError, FacebookError):
            raise MalformedResponse(f"Meta did not answer a report_run_id for the Insights job of {span}") from None
        deadline = self.api.clock() + self.policy.job_timeout_s
        while True:
            job.api_get(fields=["async_status", "async_percent_completion", "error_code", "error_subcode",
                                "error_message"])
            status, pct = job.get("async_status"), job.get("async_percent_completion")
            if status == JOB_DONE and pct == 100:
                return job
            if status in JOB_DEAD:
                detail = job.get("error_message") or "Meta gives no reason"
                if job.get("error_code") in QUOTA_CODES:
                    raise QuotaExceeded(f"Meta's Insights job {job_id} for {span} ended {status}: {detail}",
                                        retry_after=self.policy.max_wait_s)
                raise ConnectorError(f"Meta's Insights job {job_id} for {span} ended {status!r}: {detail}. Nothing "
                                     "of it is kept; the next sync asks again (Meta suggests fewer days per job)")
            if status not in JOB_RUNNING and status != JOB_DONE:
                raise MalformedResponse(f"Meta's Insights job {job_id} for {span} reports status {status!r}")
            if self.api.clock() >= deadline:
                raise ConnectorError(f"Meta's Insights job {job_id} for {span} was still {status!r} at {pct}% after "
                                     f"{self.policy.job_timeout_s:.0f} s; the next sync asks again")
            self.sleep(self.policy.poll_s)

    def _campaign_rows(self, account: AccountInfo) -> list[dict[str, Any]]:
        act = AdAccount(fbid=account.external_id, api=self.api)
        rows = self._rows(act.get_campaigns(fields=CAMPAIGN_FIELDS, params=self._page(ALL_EFFECTIVE_STATUSES)))
        if not all(isinstance(c.get("id"), str) and c["id"] for c in rows):
            raise MalformedResponse(f"Meta listed a campaign of {account.external_id} without an id")
        return rows

    def _page(self, effective_status: list[str] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": self.policy.page_size}
        if effective_status:
            params["effective_status"] = effective_status
        return params

    @staticmethod
    def _rows(cursor: Iterable[Any]) -> list[dict[str, Any]]:
        """Every page of an SDK cursor as plain dicts; anything the SDK cannot parse is a malformed answer."""
        try:
            return [obj.export_all_data() for obj in cursor]
        except (KeyError, TypeError, AttributeError, ValueError, FacebookError) as e:
            raise MalformedResponse(f"Meta sent a list the SDK cannot read ({type(e).__name__})") from None


def _daily_row(r: Mapping[str, Any], conv_types: tuple[str, ...], value_types: tuple[str, ...]) -> DailyRow:
    try:
        day = dt.date.fromisoformat(r["date_start"])
        if r.get("date_stop", r["date_start"]) != r["date_start"]:
            raise MalformedResponse(f"Meta sent a row for {r['date_start']}..{r['date_stop']}, not one day")
        cid = str(r["campaign_id"])
        impressions, clicks = int(r.get("impressions") or 0), int(r.get("clicks") or 0)
    except (KeyError, TypeError, ValueError):
        raise MalformedResponse(f"Meta sent an Insights row without a campaign, a day or whole counts: "
                                f"{sorted(r)}") from None
    return DailyRow(cid, r.get("campaign_name") or cid, day, impressions, clicks,
                    _decimal(r.get("spend") or 0, "spend"), _actions(r.get("actions"), conv_types),
                    _actions(r.get("action_values"), value_types))


def _actions(stats: Any, wanted: tuple[str, ...]) -> Decimal:
    """The sum of the wanted action types in an actions / action_values list (Meta omits it when all are zero)."""
    if stats is None:
        return Decimal(0)
    if not isinstance(stats, list) or not all(isinstance(s, dict) and "action_type" in s for s in stats):
        raise MalformedResponse("Meta sent actions that are not a list of {action_type, value}")
    return sum((_decimal(s.get("value") or 0, s["action_type"]) for s in stats if s["action_type"] in wanted),
               Decimal(0))


def _geo(adsets: list[dict[str, Any]]) -> tuple[str, ...] | None:
    """Every location the campaign's live ad sets target; None (unknown) for a campaign without ad sets."""
    if not adsets:
        return None
    places: set[str] = set()
    for s in adsets:
        geo = ((s.get("targeting") or {}).get("geo_locations")) or {}
        for key in GEO_KEYS:
            for item in geo.get(key) or ():
                if isinstance(item, dict):
                    label = item.get("name") or item.get("key") or json.dumps(item, sort_keys=True)
                    places.add(f"{key}:{label}")
                else:
                    places.add(f"{key}:{item}")
    return tuple(sorted(places))


def _conversion_goal(adsets: list[dict[str, Any]]) -> tuple[str | None, bool]:
    """(the event the live ad sets optimise for, known); not known for a campaign without ad sets."""
    if not adsets:
        return None, False
    for s in adsets:
        promoted = s.get("promoted_object") or {}
        event = promoted.get("custom_event_type") or (
            f"custom_conversion:{promoted['custom_conversion_id']}" if promoted.get("custom_conversion_id") else None)
        if event:
            return str(event), True
        if s.get("optimization_goal") in CONVERSION_GOALS:
            return str(s["optimization_goal"]), True
    return None, True


def _local_date(stamp: Any, account: AccountInfo) -> dt.date | None:
    """A Graph timestamp (2026-01-05T10:00:00-0800) as a day in the account's time zone."""
    if not stamp:
        return None
    try:
        moment = dt.datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%S%z")
        return moment.astimezone(ZoneInfo(account.time_zone)).date()
    except (ValueError, KeyError):
        raise MalformedResponse(f"Meta sent the time {stamp!r}, which does not parse") from None


def connect(settings: Mapping[str, Any], secrets: Mapping[str, Any]) -> MetaConnector:
    """A connector from the account's settings (business_id, api_version, base_url, action_types, ...) and secrets
    (access_token, optionally app_secret), read at run time."""
    known = set(Policy.__dataclass_fields__)
    return MetaConnector(
        secrets.get("access_token") or "",
        business_id=settings.get("business_id"),
        api_version=settings.get("api_version"),
        base_url=settings.get("base_url") or GRAPH_URL,
        action_types=settings.get("action_types") or DEFAULT_ACTION_TYPES,
        value_action_types=settings.get("value_action_types"),
        account_action_types=settings.get("account_action_types"),
        app_secret=secrets.get("app_secret"),
        policy=Policy(**{k: type(getattr(Policy, k))(v) for k, v in settings.items() if k in known}),
    )
