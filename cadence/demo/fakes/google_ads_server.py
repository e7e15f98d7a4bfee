"""A local Google Ads API for tests and the sync benchmark: GoogleAdsService.SearchStream over gRPC with TLS
(a self-signed certificate made at start) and Google's OAuth token endpoint over HTTP, both on 127.0.0.1.

It answers the GAQL queries tasks/connectors/google_ads.py sends (recognised by their FROM clause and
`segments.date BETWEEN` range, not parsed in full) from an in-memory agency, in the documented shapes: results in
streamed batches (Google sends up to 10,000 rows a batch), no row for a campaign-day without impressions, clicks,
cost or conversions, errors as a gRPC status with a GoogleAdsFailure in the `...googleadsfailure-bin` trailer.
Faults are scripted per request: quota (RESOURCE_EXHAUSTED, or a QuotaError inside a GoogleAdsException), an
authentication error, bytes that do not parse, a row that does not make sense; the token endpoint can answer
`invalid_grant` (an expired or revoked refresh token).

TLS: gRPC reads its trusted roots from GRPC_DEFAULT_SSL_ROOTS_FILE_PATH once per process, so one certificate
serves every fake started in a process; `start()` points that variable at it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import secrets
import tempfile
import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import grpc
from google.ads.googleads.v26.common.types import bidding, criteria
from google.ads.googleads.v26.enums.types import (
    ad_group_status,
    advertising_channel_type,
    bidding_strategy_type,
    budget_period,
    campaign_status,
    conversion_action_category,
    conversion_action_status,
    conversion_origin,
    criterion_type,
    customer_status,
)
from google.ads.googleads.v26.errors.types import (
    authentication_error,
    authorization_error,
    errors,
    query_error,
    quota_error,
)
from google.ads.googleads.v26.resources.types import (
    ad_group,
    campaign_budget,
    campaign_conversion_goal,
    campaign_criterion,
    conversion_action,
    customer_client,
)
from google.ads.googleads.v26.resources.types import (
    campaign as campaign_pb,
)
from google.ads.googleads.v26.services.types import google_ads_service as svc
from google.protobuf import duration_pb2

API_VERSION = "v26"
SERVICE = f"google.ads.googleads.{API_VERSION}.services.GoogleAdsService"
FAILURE_KEY = f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin"
ROOTS_ENV = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"

_cert_lock = threading.Lock()
_cert: tuple[bytes, bytes, Path] | None = None


def certificate() -> tuple[bytes, bytes, Path]:
    """(cert PEM, key PEM, cert file) of this process's self-signed certificate for 127.0.0.1 and localhost."""
    global _cert
    with _cert_lock:
        # Kept on disk per process, so a second import of this module (a script run as __main__, say) still
        # serves the one certificate gRPC was told to trust.
        home = Path(tempfile.gettempdir()) / f"fake-google-ads-{os.getpid()}"
        if _cert is None and (home / "key.pem").is_file():
            _cert = ((home / "roots.pem").read_bytes(), (home / "key.pem").read_bytes(), home / "roots.pem")
        if _cert is None:
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.x509.oid import NameOID

            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
            now = dt.datetime.now(dt.UTC)
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                    .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                   critical=False)
                    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                    .sign(key, hashes.SHA256()))
            cert_pem = cert.public_bytes(serialization.Encoding.PEM)
            key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
            home.mkdir(exist_ok=True)
            path = home / "roots.pem"
            path.write_bytes(cert_pem)
            (home / "key.pem").write_bytes(key_pem)  # written last: its presence means both are complete
            _cert = (cert_pem, key_pem, path)
        return _cert


def trust_fake_certificate() -> Path:
    """Make gRPC trust the fake's certificate: GRPC_DEFAULT_SSL_ROOTS_FILE_PATH points at a bundle of the roots it
    named before (if any) plus the fake's certificate. gRPC reads the variable once per process, at its first TLS
    use, so call this before any TLS channel or server (FakeGoogleAds.start does)."""
    cert_pem, _, cert_path = certificate()
    bundle = cert_path.with_name("bundle.pem")
    current = os.environ.get(ROOTS_ENV)
    if current == str(bundle):
        return bundle
    previous = Path(current).read_bytes() if current and Path(current).is_file() else b""
    bundle.write_bytes(previous.rstrip(b"\n") + b"\n" + cert_pem if previous else cert_pem)
    os.environ[ROOTS_ENV] = str(bundle)
    return bundle


# --- the agency -----------------------------------------------------------------------------------------------

@dataclass
class Campaign:
    id: int
    name: str
    status: str = "ENABLED"  # CampaignStatus name
    budget_micros: int | None = 50_000_000
    budget_period: str = "DAILY"
    bidding: str = "MAXIMIZE_CONVERSIONS"  # BiddingStrategyType name
    target_cpa_micros: int | None = None  # under TARGET_CPA, or MAXIMIZE_CONVERSIONS with a target
    ad_group_cpc_micros: list[int] = field(default_factory=list)  # enabled ad groups' max CPC (manual CPC)
    start: str = "2026-01-01"
    end: str | None = None
    locations: list[int] = field(default_factory=list)  # geo target constant ids (2840 = United States)
    proximity: int = 0  # radius targets
    goals: list[tuple[str, str, bool]] = field(default_factory=list)  # (category, origin, biddable)
    selective: list[int] = field(default_factory=list)  # App campaigns: conversion action ids optimised towards


@dataclass
class Account:
    id: int
    name: str
    currency: str
    time_zone: str
    manager: bool = False
    status: str = "ENABLED"  # CustomerStatus name
    level: int = 1
    campaigns: list[Campaign] = field(default_factory=list)
    conversion_actions: list[tuple[str, str, str, str, bool]] = field(default_factory=list)
    # (name, category, origin, status, primary_for_goal)


@dataclass
class Metrics:
    impressions: int = 0
    clicks: int = 0
    cost_micros: int = 0
    conversions: float = 0.0
    conversions_value: float = 0.0


@dataclass
class Agency:
    """A manager account and what sits under it; metrics by (customer id, campaign id, day)."""

    manager_id: int
    accounts: list[Account]
    metrics: dict[tuple[int, int, dt.date], Metrics] = field(default_factory=dict)

    def account(self, customer_id: int) -> Account | None:
        return next((a for a in self.accounts if a.id == customer_id), None)

    def metrics_of(self, customer_id: int) -> list[tuple[int, dt.date, Metrics]]:
        """(campaign id, day, metrics) of one account, by day and campaign (indexed again when keys are added)."""
        index = self.__dict__.get("_index")
        if index is None or index[0] != len(self.metrics):
            by: dict[int, list[tuple[int, dt.date, Metrics]]] = {}
            for (cust, camp, day), m in self.metrics.items():
                by.setdefault(cust, []).append((camp, day, m))
            for rows in by.values():
                rows.sort(key=lambda r: (r[1], r[0]))
            index = self.__dict__["_index"] = (len(self.metrics), by)
        return index[1].get(customer_id, [])

    def restate(self, customer_id: int, campaign_id: int, day: dt.date, **changes) -> None:
        """The platform changes a day it already reported (late conversions, invalid clicks refunded)."""
        m = self.metrics.setdefault((customer_id, campaign_id, day), Metrics())
        for k, v in changes.items():
            setattr(m, k, v)


def demo_agency() -> Agency:
    """Manager 1234567890 with two live client accounts (RUB/Moscow, USD/New York), a sub-manager and a cancelled
    account; metrics for 2026-03-01..2026-03-10 with days of no delivery left out, as Google does."""
    ru = Account(1111111111, "Acme RU", "RUB", "Europe/Moscow", campaigns=[
        Campaign(101, "Search brand", budget_micros=1_500_000_000, bidding="TARGET_CPA",
                 target_cpa_micros=350_000_000, locations=[2643], goals=[("PURCHASE", "WEBSITE", True)]),
        Campaign(102, "Search generic", budget_micros=2_000_000_000, bidding="MANUAL_CPC",
                 goals=[("PURCHASE", "WEBSITE", False)], ad_group_cpc_micros=[25_000_000, 40_000_000, 31_500_000]),
        Campaign(103, "Display old", status="REMOVED", start="2025-06-01", end="2026-02-01 23:59:59"),
        Campaign(104, "Launch in April", start="2026-04-01", locations=[2643], proximity=1),
    ], conversion_actions=[("Purchase", "PURCHASE", "WEBSITE", "ENABLED", True)])
    us = Account(2222222222, "Beta US", "USD", "America/New_York", campaigns=[
        Campaign(201, "PMax", budget_micros=80_000_000, bidding="MAXIMIZE_CONVERSION_VALUE", locations=[2840],
                 goals=[("SUBMIT_LEAD_FORM", "WEBSITE", True), ("PURCHASE", "WEBSITE", True)]),
        Campaign(202, "Shared budget search", status="PAUSED", budget_micros=None, locations=[2840],
                 target_cpa_micros=12_500_000),
        Campaign(203, "App installs", bidding="TARGET_CPA", target_cpa_micros=2_000_000, selective=[7]),
    ], conversion_actions=[("Lead", "SUBMIT_LEAD_FORM", "WEBSITE", "ENABLED", True),
                           ("Old purchase", "PURCHASE", "WEBSITE", "REMOVED", True)])
    sub = Account(3333333333, "Regional MCC", "EUR", "Europe/Berlin", manager=True)
    gone = Account(4444444444, "Closed client", "EUR", "Europe/Berlin", status="CANCELED")
    agency = Agency(1234567890, [ru, us, sub, gone])
    start = dt.date(2026, 3, 1)
    for i in range(10):
        day = start + dt.timedelta(days=i)
        agency.metrics[(ru.id, 101, day)] = Metrics(1000 + i, 50 + i, 12_345_670_000 + i, 3.5, 10500.25)
        if i % 3 != 2:  # every third day no delivery: no row
            agency.metrics[(ru.id, 102, day)] = Metrics(400, 8, 999_990_000, 0.0, 0.0)
        if i != 4:
            agency.metrics[(us.id, 201, day)] = Metrics(2000, 30, 45_670_000, 1.3333333333333333, 97.5)
    return agency


def generated_agency(accounts: int, campaigns: int, days: int, end: dt.date, seed: int = 0) -> Agency:
    """A large agency for the benchmark: `accounts` client accounts of `campaigns` campaigns each, metrics for the
    `days` days up to `end`, about one campaign-day in ten without delivery (and so without a row)."""
    import random

    rnd = random.Random(seed)
    zones = [("USD", "America/New_York"), ("EUR", "Europe/Berlin"), ("RUB", "Europe/Moscow"),
             ("CNY", "Asia/Shanghai"), ("USD", "America/Los_Angeles")]
    agency = Agency(1234567890, [])
    for a in range(accounts):
        currency, zone = zones[a % len(zones)]
        acc = Account(5_000_000_000 + a, f"Client {a}", currency, zone,
                      campaigns=[Campaign(10_000 * (a + 1) + c, f"Campaign {c}", locations=[2840],
                                          goals=[("PURCHASE", "WEBSITE", True)]) for c in range(campaigns)],
                      conversion_actions=[("Purchase", "PURCHASE", "WEBSITE", "ENABLED", True)])
        agency.accounts.append(acc)
        for c in acc.campaigns:
            for d in range(days):
                if rnd.random() < 0.1:
                    continue
                day = end - dt.timedelta(days=d)
                clicks = rnd.randint(0, 200)
                agency.metrics[(acc.id, c.id, day)] = Metrics(clicks * rnd.randint(10, 40), clicks,
                                                              clicks * rnd.randint(100_000, 3_000_000),
                                                              round(clicks * rnd.random() / 10, 2),
                                                              round(clicks * rnd.random() * 5, 2))
    return agency


# --- faults -------------------------------------------------------------------------------------------------

@dataclass
class Fault:
    """One scripted failure for the next matching request.

    kind: "quota" (status RESOURCE_EXHAUSTED with QuotaError.RESOURCE_EXHAUSTED: the library raises it as
    google.api_core.exceptions.ResourceExhausted), "quota_ads" (QuotaError.RESOURCE_TEMPORARILY_EXHAUSTED under
    status UNAVAILABLE: the library raises GoogleAdsException, as for any status but INTERNAL/RESOURCE_EXHAUSTED
    with a GoogleAdsFailure), "auth" (UNAUTHENTICATED, AuthenticationError.OAUTH_TOKEN_REVOKED), "permission"
    (PERMISSION_DENIED, AuthorizationError.USER_PERMISSION_DENIED), "prohibited" (PERMISSION_DENIED,
    QuotaError.ACCESS_PROHIBITED: the developer token may not use the API), "malformed_bytes" (a batch that is not a
    SearchGoogleAdsStreamResponse), "malformed_row" (a row whose date does not parse), "unavailable" (plain
    UNAVAILABLE, no failure details).
    """

    kind: str
    retry_delay_s: int | None = 30
    after_batches: int = 0  # faults that end a stream come after this many good batches
    resource: str | None = None  # only requests FROM this resource (None: any)


def _failure(code: errors.ErrorCode, message: str, request_id: str,
             details: errors.ErrorDetails | None = None) -> bytes:
    err = errors.GoogleAdsError(error_code=code, message=message)
    if details is not None:
        err.details = details
    return errors.GoogleAdsFailure.serialize(errors.GoogleAdsFailure(errors=[err], request_id=request_id))


# --- the gRPC service ---------------------------------------------------------------------------------------

_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)
_BETWEEN = re.compile(r"segments\.date\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'\s+AND\s+'(\d{4}-\d{2}-\d{2})'", re.I)


_RawRow = svc.GoogleAdsRow.pb()
_RawResponse = svc.SearchGoogleAdsStreamResponse.pb()


def _raw(row):
    return row if isinstance(row, _RawRow) else svc.GoogleAdsRow.pb(row)


def _enum(enum_cls, name: str):
    return getattr(enum_cls, name)


class FakeGoogleAds:
    """Start with `with FakeGoogleAds() as fake:`; point the connector at `fake.settings()` / `fake.secrets()`."""

    def __init__(self, agency: Agency | None = None, batch_rows: int = 10_000,
                 delay: Callable[[], object] | None = None,
                 quota_every: int = 0, workers: int = 32,
                 developer_token: str = "dev-token-fake", client_id: str = "client-id-fake.apps",
                 client_secret: str = "client-secret-fake", refresh_token: str = "1//refresh-token-fake") -> None:
        self.agency = agency or demo_agency()
        self.batch_rows = batch_rows
        # Called before each answer: a bench's network latency, or a test's stall (an Event's wait).
        self.delay = delay
        self.workers = workers  # concurrent requests served (the bench's pool of pullers)
        self.quota_every = quota_every  # every Nth SearchStream answers RESOURCE_EXHAUSTED (0: never)
        self.quota_errors = 0
        self.stream_calls = 0
        self.developer_token = developer_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.refresh_token_revoked = False
        self.rotate_refresh_token = False
        self.access_tokens: set[str] = set()
        self.faults: deque[Fault] = deque()
        self.requests: Counter[str] = Counter()  # by FROM resource; "token" for token exchanges
        self.queries: list[tuple[str, str]] = []  # (customer id, query)
        self.metadata_seen: list[dict[str, str]] = []
        self.batches_sent: Counter[str] = Counter()  # streamed response messages, by FROM resource
        self.widen_range_days = 0  # misbehave: answer this many days either side of the asked range
        self._lock = threading.Lock()
        self._grpc: grpc.Server | None = None
        self._http: ThreadingHTTPServer | None = None
        self.port = 0
        self.token_port = 0

    # lifecycle
    def start(self) -> FakeGoogleAds:
        cert_pem, key_pem, _ = certificate()
        trust_fake_certificate()
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=self.workers))
        handler = grpc.method_handlers_generic_handler(SERVICE, {
            "SearchStream": grpc.unary_stream_rpc_method_handler(
                self._search_stream, request_deserializer=svc.SearchGoogleAdsStreamRequest.deserialize,
                response_serializer=lambda m: m if isinstance(m, bytes) else m.SerializeToString()),
        })
        self._grpc.add_generic_rpc_handlers((handler,))
        creds = grpc.ssl_server_credentials([(key_pem, cert_pem)])
        self.port = self._grpc.add_secure_port("127.0.0.1:0", creds)
        self._grpc.start()
        fake = self

        class TokenHandler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                status, answer = fake._token(parse_qs(body))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), TokenHandler)
        self.token_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._grpc:
            self._grpc.stop(grace=None)
        if self._http:
            self._http.shutdown()
            self._http.server_close()

    def __enter__(self) -> FakeGoogleAds:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"http://127.0.0.1:{self.token_port}/token"

    def settings(self) -> dict:
        return {"login_customer_id": str(self.agency.manager_id), "endpoint": self.endpoint,
                "token_uri": self.token_uri, "timeout_s": 10}

    def secrets(self) -> dict:
        return {"developer_token": self.developer_token, "client_id": self.client_id,
                "client_secret": self.client_secret, "refresh_token": self.refresh_token}

    def fail_next(self, kind: str, times: int = 1, **kw) -> None:
        with self._lock:
            self.faults.extend(Fault(kind, **kw) for _ in range(times))

    # OAuth token endpoint (https://oauth2.googleapis.com/token, refresh_token grant)
    def _token(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        with self._lock:
            self.requests["token"] += 1

        def get(key: str) -> str:
            return (form.get(key) or [""])[0]

        if get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        if get("client_id") != self.client_id or get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        if self.refresh_token_revoked or get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        token = "ya29.fake-" + secrets.token_urlsafe(16)
        with self._lock:
            self.access_tokens.add(token)
        answer = {"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                  "scope": "https://www.googleapis.com/auth/adwords"}
        if self.rotate_refresh_token:
            self.refresh_token = "1//rotated-" + secrets.token_urlsafe(8)
            answer["refresh_token"] = self.refresh_token
        return 200, answer

    # SearchStream
    def _search_stream(self, request: svc.SearchGoogleAdsStreamRequest, context: grpc.ServicerContext):
        if self.delay is not None:
            self.delay()
        meta = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        request_id = secrets.token_urlsafe(12)
        query = request.query
        m = _FROM.search(query)
        resource = m.group(1).lower() if m else ""
        with self._lock:
            self.requests[resource] += 1
            self.stream_calls += 1
            self.queries.append((request.customer_id, query))
            self.metadata_seen.append({k: v for k, v in meta.items() if k != "authorization"})
            fault = None
            if self.faults and self.faults[0].resource in (None, resource):
                fault = self.faults.popleft()
            elif self.quota_every and self.stream_calls % self.quota_every == 0:
                fault = Fault("quota", retry_delay_s=1)
            if fault and fault.kind.startswith("quota"):
                self.quota_errors += 1

        def abort(code: grpc.StatusCode, failure: bytes | None, message: str):
            trailer = [("request-id", request_id)]
            if failure is not None:
                trailer.append((FAILURE_KEY, failure))
            context.set_trailing_metadata(tuple(trailer))
            context.abort(code, message)

        ec = errors.ErrorCode
        auth = meta.get("authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.access_tokens:
            abort(grpc.StatusCode.UNAUTHENTICATED, _failure(ec(authentication_error=_enum(
                authentication_error.AuthenticationErrorEnum.AuthenticationError, "OAUTH_TOKEN_INVALID")),
                "Invalid OAuth access token.", request_id), "Request is missing required authentication credential.")
        if meta.get("developer-token") != self.developer_token:
            abort(grpc.StatusCode.UNAUTHENTICATED, _failure(ec(authentication_error=_enum(
                authentication_error.AuthenticationErrorEnum.AuthenticationError, "DEVELOPER_TOKEN_INVALID")),
                "The developer token is not valid.", request_id),
                "Request is missing required authentication credential.")
        if meta.get("login-customer-id") != str(self.agency.manager_id):
            abort(grpc.StatusCode.PERMISSION_DENIED, _failure(ec(authorization_error=_enum(
                authorization_error.AuthorizationErrorEnum.AuthorizationError, "USER_PERMISSION_DENIED")),
                "User doesn't have permission to access customer. Note: If you're accessing a client customer, "
                "the manager's customer id must be set in the 'login-customer-id' header.", request_id),
                "The caller does not have permission")
        if fault and fault.after_batches == 0:
            self._raise_fault(fault, abort, request_id)
        if not m:
            abort(grpc.StatusCode.INVALID_ARGUMENT, _failure(ec(query_error=_enum(
                query_error.QueryErrorEnum.QueryError, "EXPECTED_FROM")), "Expected FROM.", request_id),
                "Request contains an invalid argument.")
        customer = self.agency.account(int(request.customer_id or 0))
        if int(request.customer_id or 0) == self.agency.manager_id:
            customer = Account(self.agency.manager_id, "Agency MCC", "EUR", "Europe/Berlin", manager=True, level=0)
        if customer is None or customer.status != "ENABLED":
            abort(grpc.StatusCode.PERMISSION_DENIED, _failure(ec(authorization_error=_enum(
                authorization_error.AuthorizationErrorEnum.AuthorizationError, "USER_PERMISSION_DENIED")),
                "User doesn't have permission to access customer.", request_id), "The caller does not have permission")
        rows = [_raw(r) for r in self._rows(resource, customer, query, abort, request_id,
                                            malformed_row=bool(fault and fault.kind == "malformed_row"))]
        sent = 0
        for i in range(0, max(len(rows), 1), self.batch_rows):
            if fault and fault.after_batches and sent == fault.after_batches:
                self._raise_fault(fault, abort, request_id)
            batch = _RawResponse(results=rows[i:i + self.batch_rows], request_id=request_id)
            if fault and fault.kind == "malformed_bytes" and sent == fault.after_batches:
                yield b"\xff\xff\xff\xff not a protobuf"
            else:
                yield batch
            sent += 1
            with self._lock:
                self.batches_sent[resource] += 1

    def _raise_fault(self, fault: Fault, abort, request_id: str) -> None:
        ec = errors.ErrorCode
        delay = (errors.ErrorDetails(quota_error_details=errors.QuotaErrorDetails(
            rate_name="Requests per developer token per day",
            retry_delay=duration_pb2.Duration(seconds=fault.retry_delay_s)))
            if fault.retry_delay_s is not None else None)
        qe = quota_error.QuotaErrorEnum.QuotaError
        if fault.kind == "quota":
            abort(grpc.StatusCode.RESOURCE_EXHAUSTED, _failure(ec(quota_error=qe.RESOURCE_EXHAUSTED),
                  f"Too many requests. Retry in {fault.retry_delay_s} seconds.", request_id, delay),
                  "Resource has been exhausted (e.g. check quota).")
        if fault.kind == "quota_ads":
            abort(grpc.StatusCode.UNAVAILABLE, _failure(ec(quota_error=qe.RESOURCE_TEMPORARILY_EXHAUSTED),
                  "Too many requests in a short amount of time.", request_id, delay), "Too many requests.")
        if fault.kind == "prohibited":
            abort(grpc.StatusCode.PERMISSION_DENIED, _failure(ec(quota_error=qe.ACCESS_PROHIBITED),
                  "Access is prohibited.", request_id), "The caller does not have permission")
        if fault.kind == "auth":
            abort(grpc.StatusCode.UNAUTHENTICATED, _failure(ec(authentication_error=_enum(
                authentication_error.AuthenticationErrorEnum.AuthenticationError, "OAUTH_TOKEN_REVOKED")),
                "The OAuth access token was revoked.", request_id), "Request had invalid authentication credentials.")
        if fault.kind == "permission":
            abort(grpc.StatusCode.PERMISSION_DENIED, _failure(ec(authorization_error=_enum(
                authorization_error.AuthorizationErrorEnum.AuthorizationError, "USER_PERMISSION_DENIED")),
                "User doesn't have permission to access customer.", request_id), "The caller does not have permission")
        if fault.kind == "unavailable":
            abort(grpc.StatusCode.UNAVAILABLE, None, "The service is currently unavailable.")
        # malformed_* faults shape the answer instead (see _search_stream / _rows)

    def _rows(self, resource: str, customer: Account, query: str, abort, request_id: str,
              malformed_row: bool = False) -> list[svc.GoogleAdsRow]:
        Row = svc.GoogleAdsRow
        cust = customer.id
        if resource == "customer_client":
            out = [Row(customer_client=customer_client.CustomerClient(
                resource_name=f"customers/{cust}/customerClients/{cust}", client_customer=f"customers/{cust}",
                id=cust, descriptive_name=customer.name, currency_code=customer.currency, time_zone=customer.time_zone,
                manager=True, level=0, status=customer_status.CustomerStatusEnum.CustomerStatus.ENABLED))]
            for a in self.agency.accounts:
                out.append(Row(customer_client=customer_client.CustomerClient(
                    resource_name=f"customers/{cust}/customerClients/{a.id}", client_customer=f"customers/{a.id}",
                    id=a.id, descriptive_name=a.name, currency_code=a.currency, time_zone=a.time_zone,
                    manager=a.manager, level=a.level,
                    status=_enum(customer_status.CustomerStatusEnum.CustomerStatus, a.status))))
            return out
        if resource == "campaign" and "metrics." in query:
            rows = self._metric_rows(customer, query, abort, request_id)
            if malformed_row and rows:
                rows[len(rows) // 2].segments.date = "2026-13-45"
            return rows
        if resource == "campaign":
            out = []
            for c in customer.campaigns:
                camp = campaign_pb.Campaign(
                    resource_name=f"customers/{cust}/campaigns/{c.id}", id=c.id, name=c.name,
                    status=_enum(campaign_status.CampaignStatusEnum.CampaignStatus, c.status),
                    advertising_channel_type=advertising_channel_type.AdvertisingChannelTypeEnum
                    .AdvertisingChannelType.SEARCH,
                    bidding_strategy_type=_enum(bidding_strategy_type.BiddingStrategyTypeEnum.BiddingStrategyType,
                                                c.bidding),
                    start_date_time=f"{c.start} 00:00:00")
                if c.end:
                    camp.end_date_time = c.end
                if c.selective:
                    camp.selective_optimization = campaign_pb.Campaign.SelectiveOptimization(
                        conversion_actions=[f"customers/{cust}/conversionActions/{a}" for a in c.selective])
                if c.target_cpa_micros is not None and c.bidding == "TARGET_CPA":
                    camp.target_cpa = bidding.TargetCpa(target_cpa_micros=c.target_cpa_micros)
                elif c.target_cpa_micros is not None and c.bidding == "MAXIMIZE_CONVERSIONS":
                    camp.maximize_conversions = bidding.MaximizeConversions(target_cpa_micros=c.target_cpa_micros)
                row = Row(campaign=camp)
                if c.budget_micros is not None:
                    row.campaign_budget = campaign_budget.CampaignBudget(
                        resource_name=f"customers/{cust}/campaignBudgets/{c.id}", amount_micros=c.budget_micros,
                        period=_enum(budget_period.BudgetPeriodEnum.BudgetPeriod, c.budget_period))
                out.append(row)
            return out
        if resource == "ad_group":
            return [Row(campaign=campaign_pb.Campaign(id=c.id), ad_group=ad_group.AdGroup(
                id=c.id * 100 + n, cpc_bid_micros=bid, status=ad_group_status.AdGroupStatusEnum.AdGroupStatus.ENABLED))
                for c in customer.campaigns if c.bidding in ("MANUAL_CPC", "ENHANCED_CPC")
                for n, bid in enumerate(c.ad_group_cpc_micros)]
        if resource == "campaign_criterion":
            out = []
            ct = criterion_type.CriterionTypeEnum.CriterionType
            for c in customer.campaigns:
                for geo in c.locations:
                    out.append(Row(campaign=campaign_pb.Campaign(id=c.id), campaign_criterion=campaign_criterion
                                   .CampaignCriterion(resource_name=f"customers/{cust}/campaignCriteria/{c.id}~{geo}",
                                                      criterion_id=geo, type_=ct.LOCATION, negative=False,
                                                      location=criteria.LocationInfo(
                                                          geo_target_constant=f"geoTargetConstants/{geo}"))))
                for n in range(c.proximity):
                    out.append(Row(campaign=campaign_pb.Campaign(id=c.id), campaign_criterion=campaign_criterion
                                   .CampaignCriterion(criterion_id=900 + n, type_=ct.PROXIMITY, negative=False,
                                                      proximity=criteria.ProximityInfo(radius=10.0))))
            return out
        if resource == "campaign_conversion_goal":
            out = []
            for c in customer.campaigns:
                for cat, origin, biddable in c.goals:
                    out.append(Row(campaign=campaign_pb.Campaign(id=c.id),
                                   campaign_conversion_goal=campaign_conversion_goal.CampaignConversionGoal(
                                       campaign=f"customers/{cust}/campaigns/{c.id}", biddable=biddable,
                                       category=_enum(conversion_action_category.ConversionActionCategoryEnum
                                                      .ConversionActionCategory, cat),
                                       origin=_enum(conversion_origin.ConversionOriginEnum.ConversionOrigin, origin))))
            return out
        if resource == "conversion_action":
            return [Row(conversion_action=conversion_action.ConversionAction(
                id=i + 1, name=name, primary_for_goal=primary,
                category=_enum(conversion_action_category.ConversionActionCategoryEnum.ConversionActionCategory, cat),
                origin=_enum(conversion_origin.ConversionOriginEnum.ConversionOrigin, origin),
                status=_enum(conversion_action_status.ConversionActionStatusEnum.ConversionActionStatus, status)))
                for i, (name, cat, origin, status, primary) in enumerate(customer.conversion_actions)]
        abort(grpc.StatusCode.INVALID_ARGUMENT, _failure(errors.ErrorCode(query_error=_enum(
            query_error.QueryErrorEnum.QueryError, "INVALID_RESOURCE_NAME")), f"Unknown resource {resource}.",
            request_id), "Request contains an invalid argument.")
        return []

    def _metric_rows(self, customer: Account, query: str, abort, request_id: str) -> list[svc.GoogleAdsRow]:
        m = _BETWEEN.search(query)
        if not m:
            abort(grpc.StatusCode.INVALID_ARGUMENT, _failure(errors.ErrorCode(query_error=_enum(
                query_error.QueryErrorEnum.QueryError, "EXPECTED_FILTERS_ON_DATE_RANGE")),
                "Date range is required for this query.", request_id), "Request contains an invalid argument.")
        widen = dt.timedelta(days=self.widen_range_days)
        start, end = dt.date.fromisoformat(m.group(1)) - widen, dt.date.fromisoformat(m.group(2)) + widen
        names = {c.id: c.name for c in customer.campaigns}
        out = []
        cust = customer.id
        for camp, day, v in self.agency.metrics_of(cust):
            if not (start <= day <= end):
                continue
            if not (v.impressions or v.clicks or v.cost_micros or v.conversions):
                continue  # Google leaves out rows whose metrics are all zero
            row = _RawRow()  # the plain protobuf message: proto-plus is too slow for the benchmark's millions of rows
            row.campaign.resource_name = f"customers/{cust}/campaigns/{camp}"
            row.campaign.id = camp
            row.campaign.name = names.get(camp, f"Campaign {camp}")
            row.segments.date = day.isoformat()
            row.metrics.impressions, row.metrics.clicks, row.metrics.cost_micros = (v.impressions, v.clicks,
                                                                                    v.cost_micros)
            row.metrics.conversions, row.metrics.conversions_value = v.conversions, v.conversions_value
            out.append(row)
        return out


def main() -> None:
    """Serve a generated agency until interrupted; print what a client needs as one JSON line."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date.today() - dt.timedelta(days=1))
    parser.add_argument("--quota-every", type=int, default=0)
    args = parser.parse_args()
    agency = generated_agency(args.accounts, args.campaigns, args.days, args.end)
    with FakeGoogleAds(agency=agency, quota_every=args.quota_every) as fake:
        print(json.dumps({"settings": fake.settings(), "secrets": fake.secrets(),
                          ROOTS_ENV: os.environ[ROOTS_ENV]}), flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})


if __name__ == "__main__":
    import signal as _signal

    _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGINT, _signal.SIGTERM})
    main()
