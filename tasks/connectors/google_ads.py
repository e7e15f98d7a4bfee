"""Google Ads through the official `google-ads` client: GAQL over GoogleAdsService.SearchStream, one manager
(login_customer_id) reaching its client accounts.

Credentials are built here (google-auth's installed-app Credentials with Google's token URI, overridable for a
local fake) and handed to GoogleAdsClient's constructor, rather than through `load_from_dict`, which refreshes the
token at once against a fixed Google URL with no timeout of ours. The token is refreshed here, before each call
that needs it, with a timeout, so an `invalid_grant` arrives as AuthExpired and not as a gRPC plug-in failure.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import grpc
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.api_core import exceptions as core_exceptions
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

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

API_VERSION = "v26"  # the newest the installed google-ads (34) ships
PLATFORM = Platform.GOOGLE_ADS.value
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_TIMEOUT_S = 120.0
FAILURE_KEY = f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin"
MICROS = Decimal(1_000_000)

STATUS = {"ENABLED": "active", "PAUSED": "paused", "REMOVED": "removed"}

ACCOUNTS_QUERY = (
    "SELECT customer_client.id, customer_client.descriptive_name, customer_client.currency_code, "
    "customer_client.time_zone, customer_client.manager, customer_client.status, customer_client.level "
    "FROM customer_client WHERE customer_client.manager = FALSE AND customer_client.status = 'ENABLED'")
CAMPAIGNS_QUERY = (
    "SELECT campaign.id, campaign.name, campaign.status, campaign.bidding_strategy_type, "
    "campaign.start_date_time, campaign.end_date_time, campaign.target_cpa.target_cpa_micros, "
    "campaign.maximize_conversions.target_cpa_micros, "
    "campaign.selective_optimization.conversion_actions, campaign_budget.amount_micros, campaign_budget.period "
    "FROM campaign")
GEO_QUERY = (
    "SELECT campaign.id, campaign_criterion.type, campaign_criterion.location.geo_target_constant, "
    "campaign_criterion.criterion_id FROM campaign_criterion "
    "WHERE campaign_criterion.type IN ('LOCATION', 'PROXIMITY') AND campaign_criterion.negative = FALSE "
    "AND campaign_criterion.status != 'REMOVED'")
GOALS_QUERY = (
    "SELECT campaign.id, campaign_conversion_goal.category, campaign_conversion_goal.origin, "
    "campaign_conversion_goal.biddable FROM campaign_conversion_goal "
    "WHERE campaign_conversion_goal.biddable = TRUE")
CPC_BIDS_QUERY = (
    "SELECT campaign.id, ad_group.cpc_bid_micros, ad_group.status FROM ad_group "
    "WHERE ad_group.status = 'ENABLED' AND campaign.bidding_strategy_type IN ('MANUAL_CPC', 'ENHANCED_CPC')")
CONVERSION_ACTIONS_QUERY = (
    "SELECT conversion_action.category, conversion_action.origin, conversion_action.status, "
    "conversion_action.primary_for_goal FROM conversion_action "
    "WHERE conversion_action.status = 'ENABLED' AND conversion_action.primary_for_goal = TRUE")
METRICS_QUERY = (
    "SELECT segments.date, campaign.id, campaign.name, metrics.impressions, metrics.clicks, metrics.cost_micros, "
    "metrics.conversions, metrics.conversions_value FROM campaign "
    "WHERE segments.date BETWEEN '{start}' AND '{end}'")
CAMPAIGN_DAYS_QUERY = (
    "SELECT campaign.id, campaign.name, campaign.status, campaign.start_date_time, campaign.end_date_time "
    "FROM campaign")



def _customer_id(value: Any) -> str:
    digits = re.sub(r"\D", "", str(value or ""))
    if len(digits) != 10:
        raise ConnectorError(f"A Google Ads customer id has 10 digits; got {value!r}")
    return digits


def _day(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text[:10])
    except (TypeError, ValueError):
        raise MalformedResponse(f"Google Ads sent {what} {text!r}, not a date") from None


def _decimal(value: float) -> Decimal:
    """Conversions are doubles (fractional under data-driven attribution): their shortest decimal text, exactly."""
    return Decimal(repr(float(value)))


class _TimedRequest(Request):
    """google-auth's requests transport with our timeout on the token exchange (its default is 120 s)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        return super().__call__(url, method=method, body=body, headers=headers, timeout=self._timeout, **kwargs)


def _failure_of(exc: BaseException) -> Any | None:
    """The GoogleAdsFailure of an error: GoogleAdsException carries it; a RESOURCE_EXHAUSTED or INTERNAL status is
    passed through by the library's interceptor unconverted, with the failure still in its trailing metadata."""
    if isinstance(exc, GoogleAdsException):
        return exc.failure
    call = getattr(exc, "response", None) or (exc if isinstance(exc, grpc.Call) else None)
    try:
        trailer = call.trailing_metadata() if call is not None else None
    except Exception:  # noqa: BLE001 - a call without metadata
        trailer = None
    for key, value in trailer or ():
        if key == FAILURE_KEY:
            from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure

            try:
                return GoogleAdsFailure.deserialize(value)
            except Exception:  # noqa: BLE001 - an unreadable failure is no failure
                return None
    return None


def _retry_after(failure: Any | None) -> float | None:
    for err in getattr(failure, "errors", ()) or ():
        delay = err.details.quota_error_details.retry_delay if err.details else None
        seconds = (delay.total_seconds() if isinstance(delay, dt.timedelta)  # proto-plus gives a timedelta
                   else getattr(delay, "seconds", 0) + getattr(delay, "nanos", 0) / 1e9 if delay else 0)
        if seconds > 0:
            return seconds
    return None


def _describe(failure: Any | None, fallback: str) -> str:
    if not failure or not failure.errors:
        return fallback
    messages = "; ".join(e.message for e in failure.errors if e.message)
    return f"{messages} (request {failure.request_id})" if failure.request_id else messages


def translate(exc: BaseException, what: str) -> ConnectorError:
    """One Google Ads / gRPC / OAuth error as the connector error the sync acts on."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, auth_exceptions.RefreshError):
        text = str(exc)
        if getattr(exc, "retryable", False) and "invalid_grant" not in text:
            return ConnectorError(f"Google's token endpoint failed while {what}: {text}")
        code = re.search(r"\b(invalid_grant|invalid_client|unauthorized_client|invalid_scope)\b", text)
        return AuthExpired(f"Google refused the refresh token while {what} ({code.group(1) if code else 'refused'}):"
                           " reconnect the Google Ads manager account")
    if isinstance(exc, auth_exceptions.TransportError):
        return ConnectorError(f"Google's token endpoint did not answer while {what}: {exc}")
    failure = _failure_of(exc)
    codes = [e.error_code for e in getattr(failure, "errors", ()) or ()]
    if any(getattr(c.quota_error, "name", "") == "ACCESS_PROHIBITED" for c in codes):
        return AuthExpired(f"Google Ads prohibits this developer token's access while {what}: "
                           f"{_describe(failure, str(exc))}")
    if any(c.quota_error for c in codes) or isinstance(exc, core_exceptions.ResourceExhausted) or (
            isinstance(exc, grpc.Call) and exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED):
        return QuotaExceeded(f"Google Ads quota while {what}: {_describe(failure, str(exc))}", _retry_after(failure))
    if any(c.authentication_error or c.authorization_error for c in codes) or isinstance(
            exc, (core_exceptions.Unauthenticated, core_exceptions.PermissionDenied)):
        return AuthExpired(f"Google Ads refused the credentials while {what}: {_describe(failure, str(exc))}")
    if isinstance(exc, core_exceptions.GoogleAPICallError) or isinstance(exc, grpc.RpcError):
        text = str(exc)
        if "deserializing response" in text.lower():  # grpc's INTERNAL for bytes that are not the message
            return MalformedResponse(f"Google Ads answered something that does not parse while {what}")
        return ConnectorError(f"Google Ads failed while {what}: {_describe(failure, text)}")
    if isinstance(exc, GoogleAdsException):
        return ConnectorError(f"Google Ads failed while {what}: {_describe(failure, str(exc))}")
    if isinstance(exc, (AttributeError, TypeError, ValueError, KeyError)):
        return MalformedResponse(f"Google Ads answered something unexpected while {what}: {exc}")
    return ConnectorError(f"Google Ads failed while {what}: {exc!r}")


class GoogleAdsConnector:
    """Google Ads under one manager account (see the module docstring for how credentials are handled)."""

    platform = PLATFORM
    # Google restates recent days as late conversions are attributed back to their click day and invalid clicks
    # are credited. Each pull is one SearchStream per account whatever its length, so a 14-day morning window
    # costs rows, not requests; the weekly pull's 30 days match the default click-through conversion window.
    restatement_days = 14
    weekly_restatement_days = 30

    def __init__(self, *, developer_token: str, client_id: str, client_secret: str, refresh_token: str,
                 login_customer_id: str, endpoint: str | None = None, token_uri: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.login_customer_id = _customer_id(login_customer_id)
        self.timeout_s = float(timeout_s)
        self._initial_refresh_token = refresh_token
        self._credentials = Credentials(None, refresh_token=refresh_token, client_id=client_id,
                                        client_secret=client_secret, token_uri=token_uri or GOOGLE_TOKEN_URI)
        self._client = GoogleAdsClient(credentials=self._credentials, developer_token=developer_token,
                                       endpoint=endpoint, login_customer_id=self.login_customer_id,
                                       version=API_VERSION, use_proto_plus=True)
        self._service: Any = None
        self._token_lock = threading.Lock()
        # (id, name, status, start, end) per customer, from campaigns(): daily_metrics then needs no second call
        self._spans: dict[str, list[tuple[str, str, str, dt.date | None, dt.date | None]]] = {}

    def __repr__(self) -> str:  # never the secrets
        return f"GoogleAdsConnector(login_customer_id={self.login_customer_id})"

    def rotated_secrets(self) -> dict[str, str]:
        """{"refresh_token": new} when Google's token endpoint handed back a different refresh token (save it)."""
        current = self._credentials.refresh_token
        return {"refresh_token": current} if current and current != self._initial_refresh_token else {}

    # --- calls --------------------------------------------------------------------------------------------
    def _ensure_token(self) -> None:
        with self._token_lock:
            if not self._credentials.valid:
                self._credentials.refresh(_TimedRequest(self.timeout_s))

    def _stream(self, customer_id: str, query: str, what: str, raw: bool = False) -> Iterator[Any]:
        """Every row of a GAQL query, read to the end before any is handed on (a half-read stream is an error);
        `raw`: the protobuf messages under proto-plus (field reads ten times faster, enums as numbers)."""
        try:
            self._ensure_token()
            if self._service is None:
                self._service = self._client.get_service("GoogleAdsService")
            stream = self._service.search_stream(customer_id=customer_id, query=query, timeout=self.timeout_s)
            rows = [row for batch in stream for row in (type(batch).pb(batch).results if raw else batch.results)]
        except Exception as exc:  # every failure becomes a connector error
            raise translate(exc, what) from exc
        return iter(rows)

    def _name(self, value: Any) -> str:
        """An enum field's name (proto-plus gives enum members; a number outside the enum stays an int)."""
        return getattr(value, "name", str(value))

    # --- the protocol -------------------------------------------------------------------------------------
    def accounts(self) -> list[AccountInfo]:
        out: dict[str, AccountInfo] = {}
        for row in self._stream(self.login_customer_id, ACCOUNTS_QUERY, "listing the manager's client accounts"):
            cc = row.customer_client
            if cc.manager or self._name(cc.status) != "ENABLED":
                continue  # sub-managers hold no campaigns; cancelled, suspended and closed accounts pull nothing
            if not cc.id or not cc.currency_code or not cc.time_zone:
                raise MalformedResponse(f"Google Ads listed client account {cc.id!r} without a currency or time zone")
            out[str(cc.id)] = AccountInfo(PLATFORM, str(cc.id), cc.descriptive_name or str(cc.id),
                                          cc.currency_code, cc.time_zone)
        return sorted(out.values(), key=lambda a: a.external_id)

    def campaigns(self, account: AccountInfo) -> list[CampaignSettings]:
        cid = _customer_id(account.external_id)
        geo: dict[int, list[str]] = {}
        for row in self._stream(cid, GEO_QUERY, f"reading geo targets of {cid}"):
            crit = row.campaign_criterion
            if self._name(crit.type_) == "LOCATION":
                target = crit.location.geo_target_constant.rsplit("/", 1)[-1]
            else:
                target = f"proximity:{crit.criterion_id}"
            geo.setdefault(row.campaign.id, []).append(target)
        live = {(self._name(a.category), self._name(a.origin))
                for a in (r.conversion_action for r in self._stream(cid, CONVERSION_ACTIONS_QUERY,
                                                                    f"reading conversion actions of {cid}"))
                if self._name(a.status) == "ENABLED" and a.primary_for_goal}
        # A conversion goal is set when the campaign bids on one (CampaignConversionGoal.biddable, per category and
        # origin, inherited from the account's defaults unless overridden) that some enabled primary conversion
        # action can fill: a biddable PURCHASE goal with no live purchase action optimises towards nothing.
        # App campaigns name their conversion actions instead (selective_optimization).
        goals: dict[int, set[str]] = {}
        for row in self._stream(cid, GOALS_QUERY, f"reading conversion goals of {cid}"):
            g = row.campaign_conversion_goal
            key = (self._name(g.category), self._name(g.origin))
            if g.biddable and key in live:
                goals.setdefault(row.campaign.id, set()).add(key[0].lower())
        cpc: dict[int, list[int]] = {}
        for row in self._stream(cid, CPC_BIDS_QUERY, f"reading ad group bids of {cid}"):
            if self._name(row.ad_group.status) == "ENABLED" and row.ad_group.cpc_bid_micros > 0:
                cpc.setdefault(row.campaign.id, []).append(row.ad_group.cpc_bid_micros)
        out, spans = [], []
        for row in self._stream(cid, CAMPAIGNS_QUERY, f"reading campaigns of {cid}"):
            c, budget = row.campaign, row.campaign_budget
            status = STATUS.get(self._name(c.status))
            if not c.id or status is None:
                raise MalformedResponse(f"Google Ads sent campaign {c.id!r} with status {self._name(c.status)}")
            daily = (Decimal(budget.amount_micros) / MICROS
                     if budget.amount_micros and self._name(budget.period) == "DAILY" else None)
            # the campaign's bid: its target CPA (Target CPA, or Maximize conversions with a target), else the
            # median max CPC of its enabled ad groups under manual CPC; None for strategies with no money bid
            bid_micros = (c.target_cpa.target_cpa_micros or c.maximize_conversions.target_cpa_micros
                          or (statistics.median_low(cpc[c.id]) if c.id in cpc else 0))
            selective = ["conversion_action:" + a.rsplit("/", 1)[-1]
                         for a in c.selective_optimization.conversion_actions]
            goal = ",".join(sorted(goals.get(c.id, ()))) or (",".join(selective) if selective else None)
            out.append(CampaignSettings(
                external_id=str(c.id), name=c.name, status=status, daily_budget=daily,
                bid_strategy=self._name(c.bidding_strategy_type).lower(),
                bid=Decimal(bid_micros) / MICROS if bid_micros else None,
                geo_targeting=tuple(sorted(geo.get(c.id, ()))), conversion_goal=goal, conversion_goal_known=True,
                created_on=_day(c.start_date_time, "start date") if c.start_date_time else None))
            spans.append(self._span(c))
        self._spans[cid] = spans
        return out

    def _span(self, c: Any) -> tuple[str, str, str, dt.date | None, dt.date | None]:
        return (str(c.id), c.name, self._name(c.status),
                _day(c.start_date_time, "start date") if c.start_date_time else None,
                _day(c.end_date_time, "end date") if c.end_date_time else None)

    def daily_metrics(self, account: AccountInfo, start: dt.date, end: dt.date) -> list[DailyRow]:
        """Rows for start..end; Google leaves out campaign-days with nothing to report, so every campaign that ran
        on a pulled day (started, not yet ended, not removed) gets a zero row where Google sent none."""
        cid = _customer_id(account.external_id)
        if end < start:
            return []
        query = METRICS_QUERY.format(start=start.isoformat(), end=end.isoformat())
        rows: dict[tuple[str, dt.date], DailyRow] = {}
        for row in self._stream(cid, query, f"pulling {cid} {start}..{end}", raw=True):
            c, m = row.campaign, row.metrics
            day = _day(row.segments.date, "day")
            if not c.id or not start <= day <= end:
                raise MalformedResponse(f"Google Ads sent a row for campaign {c.id!r} on {day}, outside "
                                        f"{start}..{end}")
            if min(m.impressions, m.clicks, m.cost_micros) < 0 or m.conversions < 0 or m.conversions_value < 0:
                raise MalformedResponse(f"Google Ads sent negative metrics for campaign {c.id} on {day}")
            key = (str(c.id), day)
            if key in rows:
                raise MalformedResponse(f"Google Ads sent campaign {c.id} on {day} twice")
            rows[key] = DailyRow(str(c.id), c.name, day, int(m.impressions), int(m.clicks),
                                 Decimal(m.cost_micros) / MICROS, _decimal(m.conversions),
                                 _decimal(m.conversions_value))
        spans = self._spans.get(cid)
        if spans is None:
            spans = [self._span(r.campaign) for r in self._stream(cid, CAMPAIGN_DAYS_QUERY,
                                                                  f"listing campaigns of {cid}")]
        for camp_id, name, status, first, last in spans:
            if status == "REMOVED":
                continue  # no removal date in the API: a removed campaign gets rows only where Google sent them
            day = max(start, first or start)
            while day <= min(end, last or end):
                rows.setdefault((camp_id, day), DailyRow(camp_id, name, day, 0, 0, Decimal(0), Decimal(0),
                                                         Decimal(0)))
                day += dt.timedelta(days=1)
        return sorted(rows.values(), key=lambda r: (r.day, r.campaign_external_id))


def connect(settings: dict[str, Any], secrets: dict[str, str]) -> GoogleAdsConnector:
    """settings: login_customer_id (the manager, dashes allowed), optional endpoint ("host:port", default
    googleads.googleapis.com), token_uri, timeout_s. secrets: developer_token, client_id, client_secret,
    refresh_token."""
    missing = [k for k in ("developer_token", "client_id", "client_secret", "refresh_token") if not secrets.get(k)]
    if missing or not settings.get("login_customer_id"):
        raise AuthExpired("Google Ads is not connected: missing " + ", ".join(
            missing + ([] if settings.get("login_customer_id") else ["login_customer_id"])))
    return GoogleAdsConnector(developer_token=secrets["developer_token"], client_id=secrets["client_id"],
                              client_secret=secrets["client_secret"], refresh_token=secrets["refresh_token"],
                              login_customer_id=str(settings["login_customer_id"]),
                              endpoint=settings.get("endpoint") or None, token_uri=settings.get("token_uri") or None,
                              timeout_s=float(settings.get("timeout_s") or DEFAULT_TIMEOUT_S))
