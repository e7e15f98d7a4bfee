"""Yandex Direct over httpx: the Reports API v5 (TSV) for daily metrics, the JSON API v5 for clients and campaigns.

Money: the report asks for `returnMoneyInMicros: false` and `IncludeVAT: NO`, so Cost and Revenue are account-
currency units without VAT (as Google and Meta report spend); the JSON API's budgets are micros, divided here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from tasks.connectors.base import (
    AccountInfo,
    AuthExpired,
    CampaignSettings,
    ConnectorError,
    DailyRow,
    MalformedResponse,
    QuotaExceeded,
    ReportPending,
)

API = "https://api.direct.yandex.com"
OAUTH = "https://oauth.yandex.ru"
FIELDS = ("Date", "CampaignId", "CampaignName", "Impressions", "Clicks", "Cost", "Conversions", "Revenue")
# Error codes (Yandex Direct API v5, "Errors and warnings"): the token or rights (a person must act), the units
# and limits (wait), the server's own trouble (ask again). 56 and 9000 (queue full) are as Reports answers them.
AUTH_CODES = frozenset({53, 58, 513})
# 54 "no rights" is about one client (no longer the agency's, or read-only): that account fails, the login goes on.
NO_RIGHTS = 54
QUOTA_CODES = frozenset({152, 506, 56, 9000})
TRANSIENT_CODES = frozenset({52, 1000, 1001, 1002})
DEFAULT_ZONE = "Europe/Moscow"
MICROS = Decimal(1_000_000)
STATUS = {"ON": "active", "OFF": "paused", "SUSPENDED": "paused", "ENDED": "paused", "CONVERTED": "removed",
          "ARCHIVED": "removed"}
RETRY_5XX_SECONDS = 30.0


class YandexDirect:
    """One Yandex Direct login: an agency (its clients by Client-Login) or a direct advertiser."""

    platform = "yandex_direct"
    restatement_days = 3
    weekly_restatement_days = 10

    def __init__(
        self,
        token: str,
        *,
        agency: bool = False,
        base_url: str = API,
        oauth_url: str = OAUTH,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        on_token: Callable[[str, str], None] | None = None,
        throttle: Callable[[], None] | None = None,
        processing_mode: str = "auto",
        timeout: float = 30.0,
    ) -> None:
        self._token = token
        self.agency = agency
        self.base_url = base_url.rstrip("/")
        self.oauth_url = oauth_url.rstrip("/")
        self._refresh = refresh_token
        self._client_id, self._client_secret = client_id, client_secret
        self._on_token = on_token
        self._throttle = throttle or (lambda: None)
        self.processing_mode = processing_mode
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))
        self._campaigns: dict[str, list[CampaignSettings]] = {}
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    def accounts(self) -> list[AccountInfo]:
        """Agency: every non-archived client (AgencyClients.get, paged); otherwise the login itself (Clients.get)."""
        clients: list[dict[str, Any]] = []
        if self.agency:
            offset = 0
            while True:
                result = self._json("agencyclients", {
                    "SelectionCriteria": {"Archived": "NO"}, "FieldNames": ["Login", "ClientInfo", "Currency"],
                    "Page": {"Limit": 1000, "Offset": offset}}, None)
                clients += result.get("Clients", [])
                if result.get("LimitedBy") is None:
                    break
                offset = int(result["LimitedBy"])
        else:
            clients = self._json(
                "clients", {"FieldNames": ["Login", "ClientInfo", "Currency"]}, None).get("Clients", [])
        out = []
        for c in clients:
            login = str(c["Login"])
            out.append(AccountInfo(platform=self.platform, external_id=login, name=str(c.get("ClientInfo") or login),
                                   currency=str(c.get("Currency") or "RUB"), time_zone=self._zone(login)))
        return out

    def _zone(self, login: str) -> str:
        """The time zone of the client's campaigns (Yandex keeps one per campaign); Moscow when it has none."""
        found = self._json("campaigns", {"SelectionCriteria": {}, "FieldNames": ["Id", "TimeZone"],
                                         "Page": {"Limit": 1}}, login).get("Campaigns", [])
        return str(found[0].get("TimeZone") or DEFAULT_ZONE) if found else DEFAULT_ZONE

    def campaigns(self, account: AccountInfo) -> list[CampaignSettings]:
        """Every campaign of the client (Campaigns.get, paged), archived ones as removed."""
        login = self._login(account)
        raw: list[dict[str, Any]] = []
        offset = 0
        while True:
            result = self._json("campaigns", {
                "SelectionCriteria": {},
                "FieldNames": ["Id", "Name", "State", "StartDate", "DailyBudget", "TimeZone"],
                "TextCampaignFieldNames": ["BiddingStrategy", "PriorityGoals"],
                "Page": {"Limit": 10000, "Offset": offset}}, login)
            raw += result.get("Campaigns", [])
            if result.get("LimitedBy") is None:
                break
            offset = int(result["LimitedBy"])
        try:
            found = [_campaign(c) for c in raw]
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise MalformedResponse(f"yandex_direct {account.external_id}: campaigns.get: {exc!r:.200}") from None
        self._campaigns[account.external_id] = found
        return found

    def daily_metrics(self, account: AccountInfo, start: dt.date, end: dt.date) -> Iterable[DailyRow]:
        """The CAMPAIGN_PERFORMANCE_REPORT by day; raises ReportPending while Yandex builds it offline."""
        body = {"params": {
            "SelectionCriteria": {"DateFrom": start.isoformat(), "DateTo": end.isoformat()},
            "FieldNames": list(FIELDS),
            "ReportName": _report_name(account.external_id, start, end),
            "ReportType": "CAMPAIGN_PERFORMANCE_REPORT",
            "DateRangeType": "CUSTOM_DATE",
            "Format": "TSV",
            "IncludeVAT": "NO",
            "IncludeDiscount": "NO",
        }}
        headers = {"processingMode": self.processing_mode, "returnMoneyInMicros": "false",
                   "skipReportHeader": "true", "skipColumnHeader": "false", "skipReportSummary": "false"}
        response = self._post("/json/v5/reports", body, self._login(account), headers)
        if response.status_code in (201, 202):
            retry = _seconds(response.headers.get("retryIn"), 5.0)
            state = "queued" if response.status_code == 201 else "being built"
            raise ReportPending(f"yandex_direct {account.external_id}: report {state}, retry in {retry:g} s", retry)
        rows = parse_report(response.text, account.external_id, start, end)
        campaigns = self._campaigns.get(account.external_id)
        if campaigns is None:
            campaigns = self.campaigns(account)
        return with_zero_days(rows, campaigns, start, end)

    def _login(self, account: AccountInfo) -> str | None:
        return account.external_id if self.agency else None

    def _json(self, service: str, params: dict[str, Any], login: str | None) -> dict[str, Any]:
        response = self._post(f"/json/v5/{service}", {"method": "get", "params": params}, login, {})
        try:
            document = response.json()
        except ValueError:
            raise MalformedResponse(f"yandex_direct {service}.get: not JSON ({response.text[:80]!r})") from None
        if "error" in document:
            raise _error(document["error"], service, None)
        if not isinstance(document.get("result"), dict):
            raise MalformedResponse(f"yandex_direct {service}.get: no result")
        return document["result"]

    def _post(self, path: str, body: dict[str, Any], login: str | None, extra: dict[str, str],
              refreshed: bool = False) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", "Accept-Language": "en", **extra}
        if login:
            headers["Client-Login"] = login
        self._throttle()
        self.requests += 1
        try:
            response = self._http.post(self.base_url + path, json=body, headers=headers)
        except httpx.TimeoutException:
            raise QuotaExceeded(f"yandex_direct {path}: timed out", RETRY_5XX_SECONDS) from None
        except httpx.HTTPError as exc:
            raise ConnectorError(f"yandex_direct {path}: {type(exc).__name__}") from None
        if response.status_code in (200, 201, 202):
            if path.endswith("/reports") or "error" not in response.text[:200]:
                return response
        error = _error_of(response)
        if error is not None and error.get("error_code") in (53,) and not refreshed and self._can_refresh():
            self._refresh_token()
            return self._post(path, body, login, extra, refreshed=True)
        if response.status_code == 502 or (response.status_code >= 500 and error is None) or (
                error is not None and error.get("error_code") in TRANSIENT_CODES):
            # 502: Reports ran out of time building it online; the server's own trouble: ask again later.
            raise ReportPending(f"yandex_direct {path}: HTTP {response.status_code}",
                                _seconds(response.headers.get("retryIn"), RETRY_5XX_SECONDS))
        if error is not None:
            raise _error(error, path, response.headers.get("retryIn"))
        if response.status_code != 200:
            raise ConnectorError(f"yandex_direct {path}: HTTP {response.status_code}")
        return response

    def _can_refresh(self) -> bool:
        return bool(self._refresh and self._client_id and self._client_secret)

    def _refresh_token(self) -> None:
        """Trade the refresh token for a new pair; the new pair is handed to `on_token` to be saved back."""
        response = self._http.post(f"{self.oauth_url}/token", data={
            "grant_type": "refresh_token", "refresh_token": self._refresh,
            "client_id": self._client_id, "client_secret": self._client_secret})
        if response.status_code != 200:
            raise AuthExpired("yandex_direct: the refresh token was refused: reconnect the login")
        pair = response.json()
        self._token, self._refresh = pair["access_token"], pair.get("refresh_token", self._refresh)
        if self._on_token is not None:
            self._on_token(self._token, self._refresh)


def _report_name(login: str, start: dt.date, end: dt.date) -> str:
    """One name per login, range and field list: asking again returns the same queued report."""
    digest = hashlib.sha1(f"{login}|{start}|{end}|{','.join(FIELDS)}".encode()).hexdigest()[:12]
    return f"cadence-{start:%Y%m%d}-{end:%Y%m%d}-{digest}"


def _seconds(value: str | None, default: float) -> float:
    try:
        return max(float(value), 0.0) if value is not None else default
    except ValueError:
        return default


def _error_of(response: httpx.Response) -> dict[str, Any] | None:
    try:
        document = response.json()
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        try:
            error["error_code"] = int(error.get("error_code"))
        except (TypeError, ValueError):
            error["error_code"] = None
        return error
    return None


def _error(error: dict[str, Any], where: str, retry_in: str | None) -> ConnectorError:
    """The connector error for a Yandex error document (request_id kept, so support can trace it)."""
    code = error.get("error_code")
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = None
    text = f"yandex_direct {where}: error {code} {error.get('error_string', '')}: {error.get('error_detail', '')}"
    text = f"{text.strip()[:250]} (request {error.get('request_id', '-')})"
    if code in AUTH_CODES:
        return AuthExpired(text)
    if code == NO_RIGHTS:
        return ConnectorError(f"{text}: the login has no rights to this client any more (check it in Direct)")
    if code in QUOTA_CODES:
        return QuotaExceeded(text, _seconds(retry_in, 60.0 if code != 152 else 600.0))
    return ConnectorError(text)


def _money(value: Any) -> Decimal | None:
    return None if value in (None, "") else (Decimal(str(value)) / MICROS).quantize(Decimal("0.01"))


def _campaign(c: dict[str, Any]) -> CampaignSettings:
    budget = c.get("DailyBudget") or {}
    text = c.get("TextCampaign") or {}
    strategy = (text.get("BiddingStrategy") or {}).get("Search", {}).get("BiddingStrategyType")
    goals = (text.get("PriorityGoals") or {}).get("Items") if "PriorityGoals" in text else None
    return CampaignSettings(
        external_id=str(c["Id"]), name=str(c["Name"]), status=STATUS.get(str(c.get("State")), "active"),
        daily_budget=_money(budget.get("Amount")), bid_strategy=strategy, bid=None, geo_targeting=None,
        conversion_goal=str(goals[0]["GoalId"]) if goals else None,
        conversion_goal_known="PriorityGoals" in text,
        created_on=dt.date.fromisoformat(c["StartDate"]) if c.get("StartDate") else None)


def _cell(value: str) -> str | None:
    """Yandex writes "--" where a figure has no value (no goals set, nothing to divide)."""
    return None if value in ("--", "") else value


def parse_report(text: str, login: str, start: dt.date, end: dt.date) -> list[DailyRow]:
    """The TSV body (column header, rows, "Total rows: N"): every row parsed, or MalformedResponse."""
    lines = text.rstrip("\n").split("\n")
    where = f"yandex_direct {login} report"
    if not lines or lines[0].split("\t") != list(FIELDS):
        raise MalformedResponse(f"{where}: unexpected columns {lines[0][:120]!r}" if lines else f"{where}: empty")
    body, total = lines[1:], None
    if body and body[-1].startswith("Total rows:"):
        total = body.pop().split(":", 1)[1].strip()
    if total is None or not total.isdigit() or int(total) != len(body):
        raise MalformedResponse(f"{where}: {len(body)} rows but the summary says {total!r}: truncated")
    rows = []
    for number, line in enumerate(body, start=2):
        cells = line.split("\t")
        try:
            if len(cells) != len(FIELDS):
                raise ValueError(f"{len(cells)} cells")
            day = dt.date.fromisoformat(cells[0])
            if not start <= day <= end:
                raise ValueError(f"day {day} outside {start}..{end}")
            impressions, clicks, cost, conversions, revenue = map(_cell, cells[3:])
            rows.append(DailyRow(
                campaign_external_id=cells[1], campaign_name=cells[2], day=day,
                impressions=None if impressions is None else int(impressions),
                clicks=None if clicks is None else int(clicks),
                spend=None if cost is None else Decimal(cost),
                conversions=None if conversions is None else Decimal(conversions),
                conversion_value=None if revenue is None else Decimal(revenue)))
        except (ValueError, InvalidOperation) as exc:
            raise MalformedResponse(f"{where}: line {number}: {exc}") from None
    return rows


def with_zero_days(rows: list[DailyRow], campaigns: list[CampaignSettings], start: dt.date,
                   end: dt.date) -> list[DailyRow]:
    """Yandex omits campaign-days without impressions: each live campaign's missing day becomes an explicit zero."""
    seen = {(r.campaign_external_id, r.day) for r in rows}
    out = list(rows)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    for c in campaigns:
        if c.status == "removed":
            continue
        for day in days:
            if (c.external_id, day) not in seen and (c.created_on is None or c.created_on <= day):
                out.append(DailyRow(c.external_id, c.name, day, 0, 0, Decimal(0), Decimal(0), Decimal(0)))
    return sorted(out, key=lambda r: (r.day, r.campaign_external_id))
