"""A local HTTP server that speaks the Graph API calls Cadence's Meta connector makes, for tests and the sync bench.

Ad accounts (me/adaccounts, <business>/owned_ad_accounts, <business>/client_ad_accounts), act_<id>/campaigns and
act_<id>/adsets, and Insights as an async report: POST act_<id>/insights answers a report_run_id, GET <run id> walks
async_status / async_percent_completion to "Job Completed", GET <run id>/insights pages the rows. Lists page with
paging.cursors and paging.next, errors are {"error": {message, type, code, error_subcode, fbtrace_id}}, and every
answer carries an X-Business-Use-Case-Usage header. Numbers come back as strings, as the Graph API sends them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .local_http import LocalHTTPServer

DEFAULT_TOKEN = "EAAfake-system-user-token"
DEFAULT_BUSINESS = "9100000001"
ALL_EFFECTIVE = ("ACTIVE", "PAUSED", "IN_PROCESS", "WITH_ISSUES", "ARCHIVED", "DELETED")
DEFAULT_EFFECTIVE = ("ACTIVE", "PAUSED", "IN_PROCESS", "WITH_ISSUES")  # the edge hides ARCHIVED/DELETED unless asked
COMPLETED = ("Job Completed", 100)
DEFAULT_JOB_STEPS = (("Job Not Started", 0), ("Job Running", 40), COMPLETED)


@dataclass
class Day:
    """One campaign's delivery on one account-local day (zeros are never returned, as Insights omits them)."""

    impressions: int = 0
    clicks: int = 0
    spend: str = "0"  # major units, as Insights sends spend
    actions: dict[str, str] = field(default_factory=dict)
    action_values: dict[str, str] = field(default_factory=dict)


@dataclass
class Account:
    id: str  # digits; the Graph id is act_<id>
    name: str
    currency: str = "USD"
    timezone_name: str = "America/Los_Angeles"
    account_status: int = 1
    owned: bool = True  # owned by the business, else a client account it was given access to
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    adsets: list[dict[str, Any]] = field(default_factory=list)
    days: dict[tuple[str, dt.date], Day] = field(default_factory=dict)

    @property
    def act(self) -> str:
        return f"act_{self.id}"

    def campaign(self, cid: str, name: str, *, status: str = "ACTIVE", daily_budget: str | None = None,
                 bid_strategy: str | None = "LOWEST_COST_WITHOUT_CAP", created: str = "2026-01-05T10:00:00-0800",
                 updated: str | None = None) -> dict[str, Any]:
        row = {"id": cid, "name": name, "status": status, "effective_status": status, "account_id": self.id,
               "created_time": created, "updated_time": updated or created}
        if daily_budget is not None:
            row["daily_budget"] = daily_budget
        if bid_strategy is not None:
            row["bid_strategy"] = bid_strategy
        self.campaigns.append(row)
        return row

    def adset(self, sid: str, campaign_id: str, *, status: str = "ACTIVE", countries: tuple[str, ...] = ("US",),
              optimization_goal: str = "OFFSITE_CONVERSIONS", event: str | None = "PURCHASE",
              daily_budget: str | None = None, bid_amount: str | None = None) -> dict[str, Any]:
        geo: dict[str, Any] = {"countries": list(countries)} if countries else {}
        geo["location_types"] = ["home", "recent"]
        row: dict[str, Any] = {"id": sid, "campaign_id": campaign_id, "status": status, "effective_status": status,
                               "optimization_goal": optimization_goal, "targeting": {"geo_locations": geo}}
        if event is not None:
            row["promoted_object"] = {"pixel_id": "5550001", "custom_event_type": event}
        if daily_budget is not None:
            row["daily_budget"] = daily_budget
        if bid_amount is not None:
            row["bid_amount"] = bid_amount
        self.adsets.append(row)
        return row

    def deliver(self, campaign_id: str, day: dt.date, **metrics: Any) -> None:
        self.days[(campaign_id, day)] = Day(**metrics)


@dataclass
class Scripted:
    """One scripted answer for the next request whose path contains `path` (any request when None)."""

    status: int = 400
    body: dict[str, Any] | None = None
    raw: bytes | None = None  # sent as is instead of a JSON body
    headers: dict[str, str] | None = None
    path: str | None = None


@dataclass
class Job:
    id: str
    account: Account
    since: dt.date
    until: dt.date
    fields: list[str]
    steps: deque[tuple[str, int]]
    status: tuple[str, int] = ("Job Not Started", 0)
    error: dict[str, Any] | None = None


def graph_error(message: str, code: int, *, type_: str = "OAuthException", subcode: int | None = None,
                transient: bool = False) -> dict[str, Any]:
    err: dict[str, Any] = {"message": message, "type": type_, "code": code, "is_transient": transient,
                           "fbtrace_id": uuid.uuid4().hex[:11]}
    if subcode is not None:
        err["error_subcode"] = subcode
    return {"error": err}


def usage_header(business_id: str, *, call_count: int = 3, cputime: int = 1, total_time: int = 1,
                 regain_minutes: int = 0, type_: str = "ads_insights") -> dict[str, str]:
    """X-Business-Use-Case-Usage as Meta sends it: percentages of the BUC quota and minutes until it is back."""
    entry = {"type": type_, "call_count": call_count, "total_cputime": cputime, "total_time": total_time,
             "estimated_time_to_regain_access": regain_minutes, "ads_api_access_tier": "standard_access"}
    return {"X-Business-Use-Case-Usage": json.dumps({business_id: [entry]}),
            "X-Ad-Account-Usage": json.dumps({"acc_id_util_pct": max(call_count, cputime, total_time),
                                              "reset_time_duration": regain_minutes * 60,
                                              "ads_api_access_tier": "standard_access"})}


def rate_limited(code: int = 80000, regain_minutes: int = 0, path: str | None = None,
                 business_id: str = DEFAULT_BUSINESS) -> Scripted:
    """A BUC throttle (80000 ads_insights, 80004 ads_management, 17 user, 613 ad account) with its usage header."""
    messages = {17: "User request limit reached", 613: "Calls to this api have exceeded the rate limit.",
                80000: "There have been too many calls from this ad-account. Wait a bit and try again.",
                80004: "There have been too many calls to this ad-account. Wait a bit and try again.",
                4: "Application request limit reached"}
    headers = usage_header(business_id, call_count=100, cputime=40, total_time=45, regain_minutes=regain_minutes,
                           type_="ads_management" if code == 80004 else "ads_insights")
    return Scripted(400, graph_error(messages.get(code, "Rate limited"), code, subcode=2446079,
                                     transient=True), headers=headers, path=path)


def expired_token(path: str | None = None) -> Scripted:
    return Scripted(400, graph_error("Error validating access token: Session has expired on Friday, 27-Nov-26 "
                                     "09:00:00 PST. The current time is Saturday, 28-Nov-26 02:10:11 PST.", 190,
                                     subcode=463), path=path)


def malformed(path: str | None = None) -> Scripted:
    """A 200 whose body is not the JSON the Graph API sends (a proxy's HTML page, a cut-off answer)."""
    return Scripted(200, raw=b"<html><body>Bad gateway</body></html>", path=path)


def _cursor(n: int) -> str:
    return base64.urlsafe_b64encode(str(n).encode()).decode()


def _uncursor(value: str) -> int:
    return int(base64.urlsafe_b64decode(value.encode()).decode())


class FakeMetaGraph(LocalHTTPServer):
    """Accounts, campaigns, ad sets and daily Insights in memory; report jobs advance one step per status poll."""

    def __init__(self, token: str = DEFAULT_TOKEN, business_id: str = DEFAULT_BUSINESS,
                 delay: Callable[[], object] | None = None,
                 default_page: int = 25, app_secret: str | None = None):
        self.token = token
        self.app_secret = app_secret  # when set, every call must carry appsecret_proof (the app's "require" switch)
        self.business_id = business_id
        self.delay = delay  # called before each answer: a bench's network latency, or a test's stall
        self.default_page = default_page
        self.accounts: dict[str, Account] = {}
        self.job_steps: tuple[tuple[str, int], ...] = DEFAULT_JOB_STEPS
        self.job_error: dict[str, Any] | None = None  # set on a job that ends "Job Failed"
        self.usage: dict[str, int] = {"call_count": 3, "cputime": 1, "total_time": 1, "regain_minutes": 0}
        self.jobs: dict[str, Job] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # method, path, params (access token removed)
        self.responses: list[int] = []
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._next_job = 7_000_000_000
        super().__init__(self._handler())

    def add_account(self, id: str, name: str, **kw: Any) -> Account:  # noqa: A002 - the Graph's own word
        account = Account(id, name, **kw)
        self.accounts[id] = account
        return account

    def script(self, *answers: Scripted) -> None:
        """Answer the next matching requests with these, in order; afterwards the normal answers again."""
        with self._lock:
            self._script.extend(answers)

    def calls(self, method: str, contains: str = "") -> list[tuple[str, str, dict[str, str]]]:
        return [r for r in self.requests if r[0] == method and contains in r[1]]

    def _scripted(self, path: str) -> Scripted | None:
        with self._lock:
            if self._script and (self._script[0].path is None or self._script[0].path in path):
                return self._script.popleft()
        return None

    # The Graph API itself: (status, body, extra headers) from a method, the path after the version, and params.
    def answer(self, method: str, parts: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if params.get("access_token") != self.token:
            return 400, graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        if self.app_secret is not None:
            proof = hmac.new(self.app_secret.encode(), self.token.encode(), hashlib.sha256).hexdigest()
            if params.get("appsecret_proof") != proof:
                return 400, graph_error("Invalid appsecret_proof provided in the API argument", 100)
        if method == "GET" and parts in (["me", "adaccounts"], [self.business_id, "owned_ad_accounts"],
                                         [self.business_id, "client_ad_accounts"]):
            owned = {"adaccounts": None, "owned_ad_accounts": True, "client_ad_accounts": False}[parts[1]]
            rows = [self._account_row(a) for a in self.accounts.values() if owned is None or a.owned is owned]
            return 200, self._page(rows, params)
        if parts[0].startswith("act_"):
            account = self.accounts.get(parts[0][4:])
            if account is None:
                return 400, graph_error(f"Unsupported get request. Object with ID '{parts[0]}' does not exist", 100,
                                        type_="GraphMethodException", subcode=33)
            if method == "GET" and parts[1:] == ["campaigns"]:
                wanted = json.loads(params["effective_status"]) if "effective_status" in params else DEFAULT_EFFECTIVE
                rows = [c for c in account.campaigns if c["effective_status"] in wanted]
                return 200, self._page([self._only(c, params) for c in rows], params)
            if method == "GET" and parts[1:] == ["adsets"]:
                wanted = json.loads(params["effective_status"]) if "effective_status" in params else DEFAULT_EFFECTIVE
                rows = [s for s in account.adsets if s["effective_status"] in wanted]
                return 200, self._page([self._only(s, params) for s in rows], params)
            if method == "POST" and parts[1:] == ["insights"]:
                return self._start_job(account, params)
        job = self.jobs.get(parts[0])
        if job is not None and method == "GET" and len(parts) == 1:
            return 200, self._poll(job, params)
        if job is not None and method == "GET" and parts[1:] == ["insights"]:
            if job.status != COMPLETED:
                return 400, graph_error("Report is not ready yet", 100, type_="GraphMethodException")
            return 200, self._page(self._rows(job), params)
        return 400, graph_error(f"Unknown path components: /{'/'.join(parts)}", 2500)

    def _account_row(self, a: Account) -> dict[str, Any]:
        return {"id": a.act, "account_id": a.id, "name": a.name, "currency": a.currency,
                "timezone_name": a.timezone_name, "account_status": a.account_status}

    @staticmethod
    def _only(row: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        wanted = set(params.get("fields", "").split(",")) | {"id"}
        return {k: v for k, v in row.items() if k in wanted}

    def _page(self, rows: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
        limit = int(params.get("limit") or self.default_page)
        start = _uncursor(params["after"]) + 1 if params.get("after") else 0
        page = rows[start:start + limit]
        body: dict[str, Any] = {"data": page}
        if page:
            body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page) - 1)}}
            if start + len(page) < len(rows):
                body["paging"]["next"] = f"{self.url}/next?after={_cursor(start + len(page) - 1)}"
        return body

    def _start_job(self, account: Account, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if params.get("level") != "campaign" or params.get("time_increment") != "1":
            return 400, graph_error("This fake answers level=campaign, time_increment=1 only", 100,
                                    type_="GraphMethodException")
        span = json.loads(params["time_range"])
        fields = json.loads(params["fields"]) if params.get("fields", "").startswith("[") else \
            params.get("fields", "").split(",")
        with self._lock:
            self._next_job += 1
            run_id = str(self._next_job)
        self.jobs[run_id] = Job(run_id, account, dt.date.fromisoformat(span["since"]),
                                dt.date.fromisoformat(span["until"]), fields, deque(self.job_steps),
                                error=self.job_error)
        return 200, {"report_run_id": run_id}

    def _poll(self, job: Job, params: dict[str, str]) -> dict[str, Any]:
        if job.steps:
            job.status = job.steps.popleft()
        body: dict[str, Any] = {"id": job.id, "account_id": job.account.id, "async_status": job.status[0],
                                "async_percent_completion": job.status[1], "date_start": job.since.isoformat(),
                                "date_stop": job.until.isoformat()}
        if job.status[0] == "Job Failed" and job.error:
            body.update(job.error)
        if params.get("fields"):
            body = self._only(body, params)
        return body

    def _rows(self, job: Job) -> list[dict[str, Any]]:
        names = {c["id"]: c["name"] for c in job.account.campaigns}
        rows = []
        for (cid, day), d in sorted(job.account.days.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if not job.since <= day <= job.until or (d.impressions == 0 and Decimal(d.spend) == 0
                                                      and not d.actions):
                continue
            row: dict[str, Any] = {"account_id": job.account.id, "campaign_id": cid, "campaign_name": names.get(cid),
                                   "impressions": str(d.impressions), "clicks": str(d.clicks), "spend": d.spend,
                                   "date_start": day.isoformat(), "date_stop": day.isoformat()}
            if d.actions:
                row["actions"] = [{"action_type": k, "value": v} for k, v in d.actions.items()]
            if d.action_values:
                row["action_values"] = [{"action_type": k, "value": v} for k, v in d.action_values.items()]
            rows.append({k: v for k, v in row.items() if k in job.fields or k in ("date_start", "date_stop")})
        return rows

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with fake._lock:
                    fake.responses.append(status)

            def _serve(self, method: str, params: dict[str, str]) -> None:
                if fake.delay is not None:
                    fake.delay()
                path = urlsplit(self.path).path
                shown = {k: v for k, v in params.items() if k not in ("access_token", "appsecret_proof")}
                with fake._lock:
                    fake.requests.append((method, path, shown))
                parts = [p for p in path.split("/") if p]
                headers = {"x-fb-trace-id": uuid.uuid4().hex[:11], "x-fb-rev": "1"}
                headers.update(usage_header(fake.business_id, **fake.usage))
                scripted = fake._scripted(path)
                if scripted is not None:
                    data = scripted.raw if scripted.raw is not None else json.dumps(scripted.body or {}).encode()
                    return self._send(scripted.status, data, {**headers, **(scripted.headers or {})})
                if not parts or not parts[0].startswith("v") or len(parts) < 2:
                    return self._send(400, json.dumps(graph_error("Unknown version", 2635)).encode(), headers)
                status, body = fake.answer(method, parts[1:], params)
                self._send(status, json.dumps(body).encode(), headers)

            def do_GET(self) -> None:
                self._serve("GET", dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                self._serve("POST", {**query, **form})

        return Handler


def seeded(fake: FakeMetaGraph, accounts: int, days: list[dt.date], campaigns: int = 3,
           spend_of: Callable[[int, int, int], str] | None = None) -> None:
    """Fill the fake with `accounts` accounts of `campaigns` campaigns delivering on every day (for the bench)."""
    for a in range(accounts):
        acc = fake.add_account(str(10_000_000 + a), f"Bench account {a}")
        for c in range(campaigns):
            cid = f"23{a:07d}{c:03d}"
            acc.campaign(cid, f"Campaign {c}", daily_budget="5000", created="2025-01-01T00:00:00-0800")
            acc.adset(f"{cid}9", cid)
            for i, day in enumerate(days):
                spend = spend_of(a, c, i) if spend_of else f"{10 + (a + c + i) % 17}.25"
                acc.deliver(cid, day, impressions=1000 + i, clicks=20 + c, spend=spend,
                            actions={"offsite_conversion.fb_pixel_purchase": "2"},
                            action_values={"offsite_conversion.fb_pixel_purchase": "80.50"})
