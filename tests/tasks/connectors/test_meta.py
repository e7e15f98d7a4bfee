"""The Meta connector through the real facebook-business SDK against a local fake of the Graph API."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
from decimal import Decimal

import pytest

from cadence.demo.fakes.meta_graph_server import (
    COMPLETED,
    DEFAULT_TOKEN,
    FakeMetaGraph,
    Scripted,
    expired_token,
    graph_error,
    malformed,
    rate_limited,
)
from cadence.demo.leaks import find_leaks
from fake_clock import Sleeps
from tasks.connectors.base import AuthExpired, ConnectorError, DailyRow, MalformedResponse, QuotaExceeded
from tasks.connectors.meta import MetaConnector, buc_wait_s, connect, minor_to_major

D = dt.date(2026, 11, 20)
PURCHASE = "offsite_conversion.fb_pixel_purchase"


@pytest.fixture
def fake():
    with FakeMetaGraph() as server:
        yield server


def make(fake: FakeMetaGraph, **settings) -> tuple[MetaConnector, Sleeps]:
    conn = connect({"base_url": fake.url, "poll_s": 2, "backoff_s": 1, "timeout_s": 5, **settings},
                   {"access_token": fake.token})
    conn.sleep = sleeps = Sleeps()
    conn.api.clock = sleeps.clock
    return conn, sleeps


def shop(fake: FakeMetaGraph, currency: str = "USD", tz: str = "America/Los_Angeles"):
    acc = fake.add_account("111", "Shop", currency=currency, timezone_name=tz)
    acc.campaign("c1", "Brand", daily_budget="5000")
    acc.adset("s1", "c1")
    return acc


def info(conn: MetaConnector, external_id: str = "act_111"):
    return next(a for a in conn.accounts() if a.external_id == external_id)


def test_the_async_report_is_posted_polled_to_completion_then_read(fake):
    acc = shop(fake)
    acc.deliver("c1", D, impressions=1200, clicks=31, spend="45.67", actions={PURCHASE: "3", "link_click": "29"},
                action_values={PURCHASE: "210.30"})
    fake.job_steps = (("Job Not Started", 0), ("Job Started", 0), ("Job Running", 35), ("Job Running", 80), COMPLETED)
    conn, sleeps = make(fake)

    rows = conn.daily_metrics(info(conn), D, D)

    assert rows == [DailyRow("c1", "Brand", D, 1200, 31, Decimal("45.67"), Decimal(3), Decimal("210.30"))]
    (post,) = fake.calls("POST", "/act_111/insights")
    assert post[2]["level"] == "campaign" and post[2]["time_increment"] == "1"
    assert post[2]["time_range"] == '{"since":"2026-11-20","until":"2026-11-20"}'
    polls = [r for r in fake.requests if r[0] == "GET" and r[1].rstrip("/").endswith("7000000001")]
    assert len(polls) == 5 and sleeps == [2, 2, 2, 2]  # one poll per step, the poll interval between them
    results = fake.requests.index(fake.calls("GET", "7000000001/insights")[0])
    assert results > fake.requests.index(polls[-1])  # rows are read only after "Job Completed" at 100%


def test_every_page_of_results_campaigns_and_accounts_is_read(fake):
    for n in range(5):
        fake.add_account(str(200 + n), f"Client {n}", owned=n % 2 == 0)
    acc = fake.accounts["200"]
    days = [D - dt.timedelta(days=i) for i in range(4)]
    for c in range(7):
        acc.campaign(f"c{c}", f"Campaign {c}", created="2026-01-01T00:00:00-0800")
        for day in days:
            acc.deliver(f"c{c}", day, impressions=100 + c, clicks=c, spend=f"{c}.10")
    conn, _ = make(fake, page_size=2, business_id=fake.business_id)

    accounts = conn.accounts()
    account = next(a for a in accounts if a.external_id == "act_200")
    rows = conn.daily_metrics(account, days[-1], D)

    assert sorted(a.external_id for a in accounts) == [f"act_{200 + n}" for n in range(5)]
    assert len(fake.calls("GET", "/owned_ad_accounts")) == 2 and len(fake.calls("GET", "/client_ad_accounts")) == 1
    assert len(rows) == 28 and len({(r.campaign_external_id, r.day) for r in rows}) == 28
    assert len(fake.calls("GET", "/insights")) == 14  # 28 rows, 2 a page
    assert sum(r.spend for r in rows) == sum(Decimal(f"{c}.10") for c in range(7)) * 4
    assert len(conn.campaigns(account)) == 7


def test_a_day_without_delivery_is_a_zero_row_only_for_campaigns_that_existed(fake):
    acc = fake.add_account("111", "Shop", timezone_name="Asia/Tokyo")
    acc.campaign("old", "Old", created="2026-01-01T00:00:00+0900")
    # Created 20 Nov 18:00 in Los Angeles = 21 Nov 11:00 in Tokyo, the account's day.
    acc.campaign("new", "New", created="2026-11-20T18:00:00-0800")
    acc.campaign("gone", "Gone", status="DELETED", created="2026-01-01T00:00:00+0900",
                 updated="2026-11-19T12:00:00+0900")
    acc.deliver("old", D, impressions=500, clicks=5, spend="3.00")
    conn, _ = make(fake)

    rows = conn.daily_metrics(info(conn), D - dt.timedelta(days=2), D + dt.timedelta(days=1))

    got = {(r.campaign_external_id, r.day.day): (r.impressions, r.spend) for r in rows}
    assert got == {("old", 18): (0, 0), ("old", 19): (0, 0), ("old", 20): (500, Decimal("3.00")), ("old", 21): (0, 0),
                   ("new", 21): (0, 0), ("gone", 18): (0, 0), ("gone", 19): (0, 0)}
    zero = next(r for r in rows if r.campaign_external_id == "new")
    assert (zero.clicks, zero.conversions, zero.conversion_value) == (0, Decimal(0), Decimal(0))


@pytest.mark.parametrize("currency, minor, major", [
    ("USD", "5000", Decimal("50")), ("EUR", "1999", Decimal("19.99")), ("JPY", "5000", Decimal("5000")),
    ("KRW", "30000", Decimal("30000")), ("HUF", "150000", Decimal("150000")), ("TWD", "999", Decimal("999")),
    ("BHD", "1234", Decimal("12.34")), ("usd", "1", Decimal("0.01")), ("USD", None, None), ("USD", "0", None),
])
def test_budgets_in_minor_units_use_metas_offset_for_the_currency(currency, minor, major):
    assert minor_to_major(minor, currency) == major


def test_campaign_settings_carry_the_accounts_currency_time_zone_and_ad_set_targeting(fake):
    acc = fake.add_account("333", "Tokyo shop", currency="JPY", timezone_name="Asia/Tokyo")
    acc.campaign("cbo", "CBO", daily_budget="8000", created="2026-11-19T23:30:00-0800")
    acc.adset("s1", "cbo", countries=("JP",), bid_amount="120")
    acc.adset("s2", "cbo", countries=("KR", "JP"), bid_amount="120")
    acc.campaign("abo", "ABO", bid_strategy=None, status="PAUSED")
    acc.adset("s3", "abo", countries=(), optimization_goal="LINK_CLICKS", event=None, daily_budget="3000",
              bid_amount="90")
    acc.adset("s4", "abo", optimization_goal="LINK_CLICKS", event=None, daily_budget="2000", bid_amount="90")
    acc.adset("s5", "abo", status="DELETED", daily_budget="99999")
    acc.campaign("bare", "Bare", status="ARCHIVED")
    conn, _ = make(fake)

    account = info(conn, "act_333")
    by_id = {c.external_id: c for c in conn.campaigns(account)}

    assert (account.currency, account.time_zone, account.name) == ("JPY", "Asia/Tokyo", "Tokyo shop")
    cbo, abo, bare = by_id["cbo"], by_id["abo"], by_id["bare"]
    assert (cbo.status, cbo.daily_budget, cbo.bid, cbo.bid_strategy) == ("active", Decimal(8000), Decimal(120),
                                                                         "LOWEST_COST_WITHOUT_CAP")
    assert cbo.geo_targeting == ("countries:JP", "countries:KR") and cbo.conversion_goal == "PURCHASE"
    assert cbo.created_on == dt.date(2026, 11, 20)  # 19 Nov 23:30 in Los Angeles is the 20th in Tokyo
    assert (abo.status, abo.daily_budget, abo.bid) == ("paused", Decimal(5000), Decimal(90))  # deleted set left out
    assert abo.geo_targeting == ("countries:US",) and (abo.conversion_goal, abo.conversion_goal_known) == (None, True)
    assert (bare.status, bare.geo_targeting, bare.conversion_goal_known) == ("removed", None, False)


def test_a_restated_day_comes_back_with_the_new_numbers(fake):
    acc = shop(fake)
    acc.deliver("c1", D, impressions=900, clicks=10, spend="20.00", actions={PURCHASE: "1"},
                action_values={PURCHASE: "50"})
    conn, _ = make(fake)
    first = conn.daily_metrics(info(conn), D, D)
    acc.deliver("c1", D, impressions=900, clicks=10, spend="18.40", actions={PURCHASE: "3"},
                action_values={PURCHASE: "170"})  # late 7-day-click purchases and an invalid-traffic credit

    again = conn.daily_metrics(info(conn), D - dt.timedelta(days=conn.restatement_days - 1), D)

    assert (first[0].spend, first[0].conversions) == (Decimal("20.00"), Decimal(1))
    assert [(r.spend, r.conversions, r.conversion_value) for r in again if r.day == D] == [
        (Decimal("18.40"), Decimal(3), Decimal(170))]
    assert len(again) == 7 and (conn.restatement_days, conn.weekly_restatement_days) == (7, 28)


def test_conversions_sum_the_clients_own_action_types(fake):
    acc = shop(fake)
    acc.deliver("c1", D, impressions=10, clicks=1, spend="1", actions={PURCHASE: "2", "lead": "5", "purchase": "2"},
                action_values={PURCHASE: "40", "purchase": "40"})
    default, _ = make(fake)
    leads, _ = make(fake, account_action_types={"act_111": ["lead", "offsite_conversion.fb_pixel_lead"]})

    (row,) = default.daily_metrics(info(default), D, D)
    (lead_row,) = leads.daily_metrics(info(leads), D, D)

    assert (row.conversions, row.conversion_value) == (Decimal(2), Decimal(40))  # "purchase" is a roll-up: not added
    assert (lead_row.conversions, lead_row.conversion_value) == (Decimal(5), Decimal(0))


@pytest.mark.parametrize("code", [17, 613, 80000, 80004, 4])
def test_a_rate_limit_backs_off_then_recovers(fake, code):
    shop(fake).deliver("c1", D, impressions=10, clicks=1, spend="2.00")
    conn, sleeps = make(fake)
    account = info(conn)
    fake.script(rate_limited(code, path="/insights"), rate_limited(code, path="/insights"))

    rows = conn.daily_metrics(account, D, D)

    assert rows[0].spend == Decimal("2.00")
    assert sleeps[:2] == [1, 2]  # no time named by Meta: exponential backoff from backoff_s
    assert len(fake.calls("POST", "/insights")) == 3


def test_the_usage_headers_time_to_regain_access_is_waited_or_handed_to_the_sync(fake):
    shop(fake).deliver("c1", D, impressions=10, clicks=1, spend="2.00")
    conn, sleeps = make(fake)
    account = info(conn)
    fake.script(rate_limited(80000, regain_minutes=2, path="/insights"))
    assert conn.daily_metrics(account, D, D)[0].impressions == 10
    assert sleeps[0] == 120  # 2 minutes, as X-Business-Use-Case-Usage says

    fake.script(rate_limited(80000, regain_minutes=30, path="/insights"))
    sleeps.clear()
    with pytest.raises(QuotaExceeded) as caught:
        conn.daily_metrics(account, D, D)
    assert caught.value.retry_after == 1800 and sleeps == []  # too long to sleep in a worker


def test_a_nearly_used_quota_slows_the_next_call_down(fake):
    assert buc_wait_s({"X-Business-Use-Case-Usage": '{"1": [{"type": "ads_insights", "call_count": 97, '
                                                    '"total_cputime": 5, "total_time": 8, '
                                                    '"estimated_time_to_regain_access": 1}]}'}) == (60.0, 97.0)
    assert buc_wait_s({"X-Business-Use-Case-Usage": "not json"}) == (None, 0.0)
    shop(fake)
    conn, sleeps = make(fake)
    fake.usage = {"call_count": 97, "cputime": 20, "total_time": 30, "regain_minutes": 0}
    conn.accounts()
    conn.accounts()
    assert sleeps and sleeps[0] == pytest.approx(1, abs=0.05)  # backoff_s before the second call

    fake.usage = {"call_count": 100, "cputime": 20, "total_time": 30, "regain_minutes": 30}
    conn.accounts()
    sleeps.clear()
    with pytest.raises(QuotaExceeded) as caught:
        conn.accounts()  # not sent: Meta said the quota is back in 30 minutes
    assert caught.value.retry_after == pytest.approx(1800, abs=1) and sleeps == []


def test_an_expired_token_asks_for_a_reconnect_without_showing_the_token(fake, caplog):
    shop(fake)
    conn, _ = make(fake)
    account = info(conn)
    fake.script(expired_token(path="/campaigns"))
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthExpired) as caught:
        conn.campaigns(account)
    assert "190" in str(caught.value) and "reconnect" in str(caught.value)

    wrong = connect({"base_url": fake.url}, {"access_token": "EAAwrong-token-123456"})
    with pytest.raises(AuthExpired):
        wrong.accounts()
    texts = [("error", str(caught.value)), ("log", caplog.text)]
    assert find_leaks(texts, secrets=[DEFAULT_TOKEN, "EAAwrong-token-123456"]) == []
    with pytest.raises(AuthExpired):
        connect({"base_url": fake.url}, {})


@pytest.mark.parametrize("where, answer", [
    ("results", malformed(path="/insights")),
    ("start", Scripted(200, {"id": "x"}, path="/act_111/insights")),
    ("poll", Scripted(200, {"id": "7000000001", "async_status": "Job Exploded", "async_percent_completion": 3},
                      path="/7000000001")),
    ("error page", Scripted(400, raw=b"<html>bad request</html>", path="/insights")),
])
def test_a_malformed_answer_is_refused_whole(fake, where, answer):
    acc = shop(fake)
    for i in range(30):
        acc.deliver("c1", D - dt.timedelta(days=i), impressions=10, clicks=1, spend="2.00")
    conn, _ = make(fake, page_size=5)
    account = info(conn)
    fake.script(answer)
    with pytest.raises(MalformedResponse):
        conn.daily_metrics(account, D - dt.timedelta(days=29), D)


@pytest.mark.parametrize("spend, actions", [("12,50", {}), ("2.00", {PURCHASE: "many"})])
def test_a_row_that_does_not_parse_is_malformed(fake, spend, actions):
    shop(fake).deliver("c1", D, impressions=10, clicks=1, spend=spend, actions=actions)
    conn, _ = make(fake)
    with pytest.raises(MalformedResponse):
        conn.daily_metrics(info(conn), D, D)


@pytest.mark.parametrize("end, error, expected", [
    ("Job Failed", None, ConnectorError),
    ("Job Skipped", None, ConnectorError),
    ("Job Failed", {"error_code": 4, "error_subcode": 1504022, "error_message": "Too Many API Requests"},
     QuotaExceeded),
])
def test_a_report_job_that_fails_says_so(fake, end, error, expected):
    shop(fake).deliver("c1", D, impressions=10, clicks=1, spend="2.00")
    fake.job_steps = (("Job Running", 20), (end, 20))
    fake.job_error = error
    conn, _ = make(fake)
    with pytest.raises(ConnectorError) as caught:
        conn.daily_metrics(info(conn), D, D)
    assert type(caught.value) is expected and end in str(caught.value) and "act_111" in str(caught.value)


def test_a_job_that_never_finishes_is_given_up(fake):
    shop(fake)
    fake.job_steps = (("Job Running", 10),)
    conn, sleeps = make(fake, job_timeout_s=600, poll_s=30)
    with pytest.raises(ConnectorError, match="still 'Job Running'"):
        conn.daily_metrics(info(conn), D, D)
    assert sum(sleeps) == 600  # polled every 30 s of the simulated clock until the 10 minutes were up


def test_disabled_and_closed_accounts_are_skipped_and_named(fake):
    fake.add_account("1", "Open")
    fake.add_account("2", "Disabled", account_status=2)
    fake.add_account("3", "Closed", account_status=101, owned=False)
    fake.add_account("4", "Unsettled", account_status=3, owned=False)
    conn, _ = make(fake, business_id=fake.business_id)

    assert [a.external_id for a in conn.accounts()] == ["act_1", "act_4"]
    assert [(a.external_id, why) for a, why in conn.skipped] == [("act_2", "account_status 2 (disabled)"),
                                                                 ("act_3", "account_status 101 (closed)")]
    me, _ = make(fake)
    assert len(me.accounts()) == 2 and fake.calls("GET", "/me/adaccounts")


def test_a_server_error_is_retried_and_an_unknown_error_is_reported(fake):
    shop(fake)
    conn, sleeps = make(fake)
    fake.script(Scripted(500, graph_error("An unexpected error has occurred.", 2, transient=True)))
    assert len(conn.accounts()) == 1 and sleeps == [1]
    fake.script(Scripted(400, graph_error("(#100) Invalid parameter", 100, type_="GraphMethodException")))
    with pytest.raises(ConnectorError, match="Meta error 100") as caught:
        conn.accounts()
    assert type(caught.value) is ConnectorError


def test_no_answer_fails_fast_and_keeps_the_token_out_of_the_message():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    conn = connect({"base_url": f"http://127.0.0.1:{port}", "max_retries": 1, "backoff_s": 0.01, "timeout_s": 1},
                   {"access_token": DEFAULT_TOKEN})
    with pytest.raises(ConnectorError) as caught:
        conn.accounts()
    assert "did not answer" in str(caught.value) and find_leaks([("error", str(caught.value))], [DEFAULT_TOKEN]) == []
    assert caught.value.__suppress_context__


def test_a_slow_answer_times_out_instead_of_hanging():
    stalled = threading.Event()  # the fake answers nothing until the test is over
    with FakeMetaGraph(delay=stalled.wait) as slow:
        conn = connect({"base_url": slow.url, "timeout_s": 0.2, "max_retries": 0}, {"access_token": slow.token})
        try:
            with pytest.raises(ConnectorError, match="ReadTimeout"):
                conn.accounts()
        finally:
            stalled.set()


def test_an_app_secret_adds_the_appsecret_proof_meta_can_require():
    with FakeMetaGraph(app_secret="app-secret-1") as strict:
        strict.add_account("1", "Open")
        without = connect({"base_url": strict.url}, {"access_token": strict.token})
        with pytest.raises(ConnectorError, match="appsecret_proof"):
            without.accounts()
        proved = connect({"base_url": strict.url}, {"access_token": strict.token, "app_secret": "app-secret-1"})
        assert [a.external_id for a in proved.accounts()] == ["act_1"]
