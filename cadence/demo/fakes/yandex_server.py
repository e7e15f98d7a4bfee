"""A local HTTP server that speaks Yandex Direct API v5 (Reports TSV, AgencyClients, Clients, Campaigns) and OAuth."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from .local_http import LocalHTTPServer

FIELDS = ("Date", "CampaignId", "CampaignName", "Impressions", "Clicks", "Cost", "Conversions", "Revenue")


@dataclass
class FakeCampaign:
    id: int
    name: str
    state: str = "ON"
    start: dt.date = dt.date(2026, 1, 1)
    daily_budget_micros: int | None = 5_000_000_000
    strategy: str = "HIGHEST_POSITION"
    goal_id: int | None = 1234


@dataclass
class FakeClient:
    """An advertiser: its campaigns, and stats keyed by (campaign id, day) -> impressions, clicks, cost, conv,
    revenue."""

    login: str
    currency: str = "RUB"
    time_zone: str = "Europe/Moscow"
    name: str = ""
    campaigns: list[FakeCampaign] = field(default_factory=list)
    stats: dict[tuple[int, dt.date], tuple[int, int, Decimal, Decimal | None, Decimal | None]] = field(
        default_factory=dict)


@dataclass
class Scripted:
    """One scripted answer to the next report request of a login: an HTTP status with an error code, or a raw body."""

    status: int = 400
    error_code: int | None = None
    retry_in: int | None = None
    body: str | None = None


class FakeYandexDirect(LocalHTTPServer):
    """Yandex Direct on 127.0.0.1: tokens, an agency's clients, offline reports 201 -> 202 -> 200, limits, errors."""

    def __init__(self, token: str = "y0_fake-token", *, offline_polls: int = 0, retry_in: int = 0,
                 delay: Callable[[], object] | None = None, queue_limit: int = 5, requests_per_window: int = 20,
                 window_s: float = 10.0, refresh_token: str | None = None) -> None:
        self.tokens = {token}
        self.refresh_tokens = {refresh_token} if refresh_token else set()
        self.clients: dict[str, FakeClient] = {}
        self.offline_polls = offline_polls  # how many 202s follow the 201 before the report is ready
        self.retry_in = retry_in
        self.delay = delay  # called before each answer: a bench's network latency, or a test's stall
        self.queue_limit = queue_limit
        self.requests_per_window, self.window_s = requests_per_window, window_s
        self.scripts: dict[str, deque[Scripted]] = defaultdict(deque)
        self.reports: dict[tuple[str, str], int] = {}  # (login, ReportName) -> polls left before ready
        self.log: list[dict[str, Any]] = []
        self.quota_errors = 0
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def add_client(self, client: FakeClient) -> FakeClient:
        self.clients[client.login] = client
        return client

    def script(self, login: str, *answers: Scripted) -> None:
        self.scripts[login].extend(answers)

    def revoke(self, token: str) -> None:
        self.tokens.discard(token)

    def report_requests(self, login: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.log if r["path"].endswith("/reports") and (login is None or r["login"] == login)]

    def _limited(self, token: str, login: str | None) -> bool:
        """20 report requests per 10 s per advertiser (the Reports limit), counted over a sliding window."""
        now = time.monotonic()
        with self._lock:
            recent = self._recent[f"{token}|{login}"]
            while recent and recent[0] <= now - self.window_s:
                recent.popleft()
            if len(recent) >= self.requests_per_window:
                self.quota_errors += 1
                return True
            recent.append(now)
            return False

    def _report(self, login: str, params: dict[str, Any], headers: Any) -> tuple[int, dict[str, str], bytes]:
        client = self.clients.get(login)
        if client is None:
            return _error(400, 8800, "Object not found", f"no client {login}")
        with self._lock:
            scripted = self.scripts[login].popleft() if self.scripts[login] else None
        if scripted is not None:
            if scripted.body is not None:
                return scripted.status, {"Content-Type": "text/tab-separated-values"}, scripted.body.encode()
            if scripted.status == 400 and scripted.error_code in (9000, 56, 152, 506):
                self.quota_errors += 1
            status, hdrs, body = _error(scripted.status, scripted.error_code, "Scripted", "scripted error")
            if scripted.retry_in is not None:
                hdrs["retryIn"] = str(scripted.retry_in)
            return status, hdrs, body
        if list(params.get("FieldNames", [])) != list(FIELDS) or params.get("Format") != "TSV":
            return _error(400, 4000, "Invalid request parameters", "unexpected FieldNames or Format")
        mode = headers.get("processingMode", "auto")
        key = (login, params["ReportName"])
        with self._lock:
            if mode != "online" and self.offline_polls:
                if key not in self.reports:
                    queued = sum(1 for (lg, _), left in self.reports.items() if lg == login and left > 0)
                    if queued >= self.queue_limit:
                        self.quota_errors += 1
                        return _error(400, 9000, "Too many reports in the queue", "the offline queue is full")
                    self.reports[key] = self.offline_polls
                    return 201, {"retryIn": str(self.retry_in), "reportsInQueue": str(queued + 1)}, b""
                if self.reports[key] > 0:
                    self.reports[key] -= 1
                    return 202, {"retryIn": str(self.retry_in)}, b""
        start = dt.date.fromisoformat(params["SelectionCriteria"]["DateFrom"])
        end = dt.date.fromisoformat(params["SelectionCriteria"]["DateTo"])
        in_micros = headers.get("returnMoneyInMicros", "true") != "false"
        names = {c.id: c.name for c in client.campaigns}
        lines = ["\t".join(FIELDS)]
        for (cid, day), (impr, clicks, cost, conv, rev) in sorted(client.stats.items(),
                                                                  key=lambda kv: (kv[0][1], kv[0][0])):
            if start <= day <= end and impr > 0:  # Yandex leaves out rows without impressions
                lines.append("\t".join([day.isoformat(), str(cid), names.get(cid, str(cid)), str(impr), str(clicks),
                                        _money(cost, in_micros), _money(conv, False) if conv is not None else "--",
                                        _money(rev, in_micros) if rev is not None else "--"]))
        lines.append(f"Total rows: {len(lines) - 1}")
        return 200, {"Content-Type": "text/tab-separated-values"}, ("\n".join(lines) + "\n").encode()

    def _json(self, service: str, login: str | None, body: dict[str, Any]) -> dict[str, Any]:
        params = body.get("params", {})
        page = params.get("Page", {})
        offset, limit = int(page.get("Offset", 0)), int(page.get("Limit", 10000))
        if service == "agencyclients":
            items = [{"Login": c.login, "ClientInfo": c.name or c.login, "Currency": c.currency}
                     for c in self.clients.values()]
            return _page("Clients", items, offset, limit)
        if service == "clients":
            client = self.clients.get(login or "") or next(iter(self.clients.values()))
            return {"result": {"Clients": [{"Login": client.login, "ClientInfo": client.name or client.login,
                                            "Currency": client.currency}]}}
        if service == "campaigns":
            client = self.clients.get(login or "")
            if client is None:
                return json.loads(_error(200, 8800, "Object not found", f"no client {login}")[2])
            items = []
            for c in client.campaigns:
                text: dict[str, Any] = {"BiddingStrategy": {"Search": {"BiddingStrategyType": c.strategy},
                                                            "Network": {"BiddingStrategyType": "SERVING_OFF"}}}
                text["PriorityGoals"] = {"Items": [{"GoalId": c.goal_id, "Value": 1000000}]} if c.goal_id else None
                items.append({"Id": c.id, "Name": c.name, "State": c.state, "StartDate": c.start.isoformat(),
                              "TimeZone": client.time_zone, "TextCampaign": text,
                              "DailyBudget": ({"Amount": c.daily_budget_micros, "Mode": "STANDARD"}
                                              if c.daily_budget_micros is not None else None)})
            return _page("Campaigns", items, offset, limit)
        return json.loads(_error(200, 3500, "Not supported", service)[2])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                headers = {"RequestId": uuid.uuid4().hex[:16], **headers}
                headers.setdefault("Content-Type", "application/json; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if fake.delay is not None:
                    fake.delay()
                if self.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    if form.get("refresh_token") not in fake.refresh_tokens:
                        self._send(400, {}, json.dumps({"error": "invalid_grant",
                                                        "error_description": "Token has expired"}).encode())
                        return
                    fake.refresh_tokens.discard(form["refresh_token"])
                    access, refresh = f"y0_{uuid.uuid4().hex}", f"1:{uuid.uuid4().hex}"
                    fake.tokens.add(access)
                    fake.refresh_tokens.add(refresh)
                    self._send(200, {}, json.dumps({"access_token": access, "refresh_token": refresh,
                                                    "token_type": "bearer", "expires_in": 31536000}).encode())
                    return
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
                login = self.headers.get("Client-Login")
                fake.log.append({"path": self.path, "login": login, "at": time.monotonic(),
                                 "headers": dict(self.headers)})
                status_ok = 200
                if token not in fake.tokens:
                    self._send(*_error(400 if self.path.endswith("/reports") else status_ok, 53,
                                       "Authorization error", "OAuth token is invalid or expired"))
                    return
                if self.path.endswith("/reports") and fake._limited(token, login):
                    status, headers, body = _error(400 if self.path.endswith("/reports") else status_ok, 56,
                                                   "Request limit exceeded", "20 requests per 10 seconds")
                    headers["retryIn"] = str(max(1, int(fake.window_s / 2)))
                    self._send(status, headers, body)
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(*_error(400, 8000, "Invalid request", "body is not JSON"))
                    return
                if self.path == "/json/v5/reports":
                    self._send(*fake._report(login or "", body.get("params", {}), self.headers))
                elif self.path.startswith("/json/v5/"):
                    self._send(200, {}, json.dumps(fake._json(self.path.rsplit("/", 1)[1], login, body)).encode())
                else:
                    self._send(404, {}, b"{}")

        return Handler


def _money(value: Decimal, micros: bool) -> str:
    return str(int(value * 1_000_000)) if micros else f"{value:.2f}"


def _page(name: str, items: list[dict[str, Any]], offset: int, limit: int) -> dict[str, Any]:
    result: dict[str, Any] = {name: items[offset:offset + limit]}
    if offset + limit < len(items):
        result["LimitedBy"] = offset + limit
    return {"result": result}


def _error(status: int, code: int | None, string: str, detail: str) -> tuple[int, dict[str, str], bytes]:
    body = {"error": {"request_id": uuid.uuid4().hex[:16], "error_code": code, "error_string": string,
                      "error_detail": detail}}
    return status, {}, json.dumps(body).encode()
