"""The Google Ads connector through the real `google-ads` client against a local gRPC Google Ads (TLS, self-signed)
and a local OAuth token endpoint (cadence/demo/fakes/google_ads_server.py)."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time
from decimal import Decimal

import pytest

from cadence.demo.fakes.google_ads_server import FakeGoogleAds, generated_agency
from cadence.demo.leaks import find_leaks
from tasks.connectors.base import AccountInfo, AuthExpired, ConnectorError, MalformedResponse, QuotaExceeded
from tasks.connectors.google_ads import GoogleAdsConnector, connect

D = dt.date
RU = AccountInfo("google_ads", "1111111111", "Acme RU", "RUB", "Europe/Moscow")
US = AccountInfo("google_ads", "2222222222", "Beta US", "USD", "America/New_York")


@pytest.fixture
def fake():
    with FakeGoogleAds(batch_rows=3) as server:
        yield server


@pytest.fixture
def conn(fake) -> GoogleAdsConnector:
    return connect(fake.settings(), fake.secrets())


def by_key(rows):
    return {(r.campaign_external_id, r.day): r for r in rows}


def test_accounts_under_the_manager_with_currency_and_time_zone_skipping_managers_and_cancelled(fake, conn):
    assert conn.accounts() == [RU, US]
    assert fake.queries[0][0] == "1234567890"  # asked of the manager
    assert all(m["login-customer-id"] == "1234567890" and m["developer-token"] == fake.developer_token
               for m in fake.metadata_seen)


def test_login_customer_id_may_carry_dashes(fake):
    settings = fake.settings() | {"login_customer_id": "123-456-7890"}
    assert connect(settings, fake.secrets()).accounts() == [RU, US]


@pytest.mark.parametrize("campaign, expected", [
    ("101", dict(status="active", daily_budget=Decimal("1500"), bid_strategy="target_cpa", bid=Decimal("350"),
                 geo_targeting=("2643",), conversion_goal="purchase", created_on=D(2026, 1, 1))),
    # a PURCHASE goal that is not biddable for this campaign: no goal
    # manual CPC: the median of its ad groups' max CPC (25, 31.5, 40)
    ("102", dict(status="active", daily_budget=Decimal("2000"), bid_strategy="manual_cpc", bid=Decimal("31.5"),
                 geo_targeting=(), conversion_goal=None)),
    ("103", dict(status="removed", created_on=D(2025, 6, 1))),
    ("104", dict(geo_targeting=("2643", "proximity:900"), created_on=D(2026, 4, 1))),
])
def test_campaign_settings(conn, campaign, expected):
    got = {c.external_id: c for c in conn.campaigns(RU)}[campaign]
    assert {k: getattr(got, k) for k in expected} == expected
    assert got.conversion_goal_known


def test_a_goal_counts_only_with_an_enabled_primary_conversion_action_in_its_category(conn):
    got = {c.external_id: c for c in conn.campaigns(US)}
    # biddable for lead forms and purchases, but the account's only purchase action is removed
    assert got["201"].conversion_goal == "submit_lead_form"
    assert got["202"].status == "paused" and got["202"].daily_budget is None  # no budget on the campaign
    assert got["202"].bid == Decimal("12.5")  # Maximize conversions with a target CPA
    assert got["201"].bid is None  # Maximize conversion value without a target ROAS sets no money bid
    assert got["203"].conversion_goal == "conversion_action:7"  # an App campaign's selective optimisation
    assert got["201"].daily_budget == Decimal("80") and got["201"].bid_strategy == "maximize_conversion_value"


def test_a_custom_period_budget_is_not_a_daily_budget(fake, conn):
    fake.agency.account(1111111111).campaigns[0].budget_period = "CUSTOM_PERIOD"
    assert {c.external_id: c for c in conn.campaigns(RU)}["101"].daily_budget is None


def test_metrics_in_major_units_exactly(conn):
    rows = by_key(conn.daily_metrics(RU, D(2026, 3, 2), D(2026, 3, 2)))
    r = rows[("101", D(2026, 3, 2))]
    assert (r.impressions, r.clicks, r.spend, r.conversions, r.conversion_value) == (
        1001, 51, Decimal("12345.670001"), Decimal("3.5"), Decimal("10500.25"))
    assert by_key(conn.daily_metrics(US, D(2026, 3, 1), D(2026, 3, 1)))[("201", D(2026, 3, 1))].conversions == \
        Decimal("1.3333333333333333")


def test_streamed_over_several_batches_the_same_as_one(fake, conn):
    many = conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10))
    assert fake.batches_sent["campaign"] >= 6  # 17 metric rows and 4 campaigns at 3 rows a batch
    with FakeGoogleAds(batch_rows=10_000) as one_batch:
        single = connect(one_batch.settings(), one_batch.secrets()).daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10))
        assert one_batch.batches_sent["campaign"] == 2
    assert many == single and len(many) == 20  # campaigns 101 and 102 on ten days


def test_zero_metric_days_are_explicit_zero_rows(fake, conn):
    rows = by_key(conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10)))
    # Google sent no row for 102 on every third day: a zero row, not a gap
    for day in (D(2026, 3, 3), D(2026, 3, 6), D(2026, 3, 9)):
        r = rows[("102", day)]
        assert (r.impressions, r.clicks, r.spend, r.conversions, r.conversion_value) == (0, 0, 0, 0, 0)
        assert r.campaign_name == "Search generic"
    assert not [k for k in rows if k[0] in ("103", "104")]  # removed before, starting after: no rows
    us = by_key(conn.daily_metrics(US, D(2026, 3, 1), D(2026, 3, 10)))
    assert us[("201", D(2026, 3, 5))].impressions == 0
    assert us[("202", D(2026, 3, 5))].spend == 0  # paused all along: it existed, it delivered nothing


def test_campaigns_read_first_spare_daily_metrics_a_call(fake, conn):
    alone = conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10))
    assert fake.requests["campaign"] == 2
    fresh = connect(fake.settings(), fake.secrets())
    fresh.campaigns(RU)
    before = fake.requests["campaign"]
    assert fresh.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10)) == alone
    assert fake.requests["campaign"] == before + 1


def test_no_zero_rows_before_a_campaign_starts_or_after_it_ends(fake, conn):
    fake.agency.account(1111111111).campaigns[3].start = "2026-03-08"
    fake.agency.account(1111111111).campaigns[1].end = "2026-03-04 23:59:59"
    days = {k[1] for k in by_key(conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10))) if k[0] == "104"}
    assert days == {D(2026, 3, 8), D(2026, 3, 9), D(2026, 3, 10)}
    rows = by_key(conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10)))
    # zero-filled up to its end (03-03 had no row); after it, only the rows Google sent (none on 03-06, 03-09)
    assert {k[1] for k in rows if k[0] == "102"} == {D(2026, 3, d) for d in (1, 2, 3, 4, 5, 7, 8, 10)}
    assert rows[("102", D(2026, 3, 3))].impressions == 0


def test_a_restated_day_comes_back_changed(fake, conn):
    day = D(2026, 3, 5)
    before = by_key(conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 7)))
    fake.agency.restate(1111111111, 101, day, conversions=5.0, conversions_value=15000.0)
    fake.agency.restate(1111111111, 102, D(2026, 3, 6), impressions=10, clicks=1, cost_micros=20_000)  # was none
    after = by_key(conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 7)))
    assert before[("101", day)].conversions == Decimal("3.5") and after[("101", day)].conversions == Decimal("5.0")
    assert after[("101", day)].conversion_value == Decimal("15000.0")
    assert before[("102", D(2026, 3, 6))].clicks == 0 and after[("102", D(2026, 3, 6))].spend == Decimal("0.02")
    assert {k: v for k, v in after.items() if k not in {("101", day), ("102", D(2026, 3, 6))}} == \
        {k: v for k, v in before.items() if k not in {("101", day), ("102", D(2026, 3, 6))}}


def test_restatement_windows():
    assert GoogleAdsConnector.restatement_days == 14 and GoogleAdsConnector.weekly_restatement_days == 30


@pytest.mark.parametrize("kind", ["quota", "quota_ads"])
@pytest.mark.parametrize("after_batches", [0, 2])
def test_quota_exhausted_then_recovered(fake, conn, kind, after_batches):
    fake.fail_next(kind, retry_delay_s=42, after_batches=after_batches, resource="campaign")
    with pytest.raises(QuotaExceeded) as err:
        conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10))
    assert err.value.retry_after == 42
    assert "quota" in str(err.value).lower()
    assert len(conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10))) == 20  # the next try goes through


def test_quota_without_a_retry_delay_leaves_the_backoff_to_the_sync(fake, conn):
    fake.fail_next("quota", retry_delay_s=None)
    with pytest.raises(QuotaExceeded) as err:
        conn.accounts()
    assert err.value.retry_after is None


def test_both_quota_shapes_come_from_the_library_as_documented(fake):
    """The fake's two quota faults really are the two shapes the issue names, as the library raises them."""
    from google.ads.googleads.errors import GoogleAdsException
    from google.api_core.exceptions import ResourceExhausted

    conn = connect(fake.settings(), fake.secrets())
    conn._ensure_token()
    service = conn._client.get_service("GoogleAdsService")
    for kind, exc_type in (("quota", ResourceExhausted), ("quota_ads", GoogleAdsException)):
        fake.fail_next(kind)
        with pytest.raises(exc_type):
            list(service.search_stream(customer_id="1111111111", query="SELECT campaign.id FROM campaign",
                                       timeout=5))


def test_a_revoked_refresh_token_is_auth_expired(fake):
    fake.refresh_token_revoked = True
    with pytest.raises(AuthExpired, match=r"\(invalid_grant\): reconnect"):
        connect(fake.settings(), fake.secrets()).accounts()
    assert fake.requests["token"] == 1 and fake.requests["customer_client"] == 0


@pytest.mark.parametrize("kind", ["auth", "permission", "prohibited"])
def test_authentication_and_authorization_errors_are_auth_expired(fake, conn, kind):
    fake.fail_next(kind)
    with pytest.raises(AuthExpired):
        conn.campaigns(RU)


def test_an_unavailable_service_is_a_plain_connector_error(fake, conn):
    fake.fail_next("unavailable")
    with pytest.raises(ConnectorError) as err:
        conn.accounts()
    assert type(err.value) is ConnectorError and "unavailable" in str(err.value)
    assert conn.accounts() == [RU, US]


def test_a_wrong_developer_token_is_auth_expired(fake):
    with pytest.raises(AuthExpired):
        connect(fake.settings(), fake.secrets() | {"developer_token": "not-approved"}).accounts()


def test_missing_credentials_say_what_is_missing(fake):
    with pytest.raises(AuthExpired, match="refresh_token"):
        connect(fake.settings(), fake.secrets() | {"refresh_token": ""})


@pytest.mark.parametrize("kind, after_batches", [("malformed_bytes", 0), ("malformed_bytes", 2),
                                                  ("malformed_row", 0)])
def test_a_malformed_response_is_malformed_and_nothing_comes_back(fake, conn, kind, after_batches):
    fake.fail_next(kind, after_batches=after_batches, resource="campaign")
    with pytest.raises(MalformedResponse):
        conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10))
    assert len(conn.daily_metrics(RU, D(2026, 3, 1), D(2026, 3, 10))) == 20


def test_a_row_outside_the_asked_range_is_malformed(fake, conn):
    fake.widen_range_days = 1
    with pytest.raises(MalformedResponse, match="outside"):
        conn.daily_metrics(RU, D(2026, 3, 2), D(2026, 3, 2))


def test_a_slow_answer_times_out_instead_of_hanging(fake):
    stalled = threading.Event()
    fake.delay = stalled.wait  # the fake answers nothing until the test is over
    conn = connect(fake.settings() | {"timeout_s": 0.5}, fake.secrets())
    t0 = time.monotonic()
    try:
        with pytest.raises(ConnectorError) as err:
            conn.accounts()
    finally:
        stalled.set()
    assert time.monotonic() - t0 < 2.5
    assert not isinstance(err.value, (AuthExpired, QuotaExceeded, MalformedResponse))


def test_a_silent_token_endpoint_times_out(fake):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never answers
    try:
        settings = fake.settings() | {"timeout_s": 0.5,
                                      "token_uri": f"http://127.0.0.1:{silent.getsockname()[1]}/token"}
        t0 = time.monotonic()
        with pytest.raises(ConnectorError) as err:
            connect(settings, fake.secrets()).accounts()
        assert time.monotonic() - t0 < 5
        assert not isinstance(err.value, AuthExpired)  # nobody refused the token: try again later
    finally:
        silent.close()


def test_an_unreachable_endpoint_fails_fast(fake):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends
    conn = connect(fake.settings() | {"endpoint": f"127.0.0.1:{port}", "timeout_s": 2}, fake.secrets())
    t0 = time.monotonic()
    with pytest.raises(ConnectorError):
        conn.accounts()
    assert time.monotonic() - t0 < 5


def test_a_rotated_refresh_token_is_handed_back_to_be_saved(fake, conn):
    assert conn.accounts() and conn.rotated_secrets() == {}
    fake.rotate_refresh_token = True
    fresh = connect(fake.settings(), fake.secrets())
    fresh.accounts()
    assert fresh.rotated_secrets() == {"refresh_token": fake.refresh_token}
    assert fake.refresh_token.startswith("1//rotated-")


def test_no_secret_in_errors_reprs_or_logs(fake, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = fake.secrets()
    conn = connect(fake.settings(), secrets)
    texts = [("repr", repr(conn))]
    conn.accounts()
    for kind in ("quota", "auth", "malformed_bytes", "quota_ads"):
        fake.fail_next(kind)
        with pytest.raises(ConnectorError) as err:
            conn.campaigns(RU)
        texts.append((kind, f"{err.value} {err.value.__cause__!r}"))
    fake.refresh_token_revoked = True
    with pytest.raises(AuthExpired) as err:
        connect(fake.settings(), secrets).accounts()
    texts.append(("revoked", str(err.value)))
    texts += [("log", r.getMessage()) for r in caplog.records]
    assert find_leaks(texts, secrets=list(secrets.values()) + list(fake.access_tokens)) == []


def test_quota_every_nth_request_for_the_bench():
    with FakeGoogleAds(quota_every=3) as fake:
        conn = connect(fake.settings(), fake.secrets())
        outcomes = []
        for _ in range(6):
            try:
                conn.accounts()
                outcomes.append("ok")
            except QuotaExceeded as err:
                outcomes.append(err.retry_after)
        assert outcomes == ["ok", "ok", 1, "ok", "ok", 1] and fake.quota_errors == 2


def test_a_bench_sized_agency_streams_through(fake):
    agency = generated_agency(accounts=3, campaigns=5, days=30, end=D(2026, 3, 31))
    with FakeGoogleAds(agency=agency) as big:
        conn = connect(big.settings(), big.secrets())
        accounts = conn.accounts()
        assert [a.currency for a in accounts] == ["USD", "EUR", "RUB"]
        rows = conn.daily_metrics(accounts[0], D(2026, 3, 2), D(2026, 3, 31))
        assert len(rows) == 5 * 30
        delivered = {(str(c), d) for (a, c, d), m in agency.metrics.items() if str(a) == accounts[0].external_id
                     and D(2026, 3, 2) <= d and (m.impressions or m.clicks or m.cost_micros or m.conversions)}
        assert 0 < len(delivered) < 150  # some days had no delivery and no row from Google
        assert {(r.campaign_external_id, r.day) for r in rows if r.impressions or r.clicks or r.spend
                or r.conversions} == delivered
