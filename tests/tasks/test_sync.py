"""Platform sync through the Yandex Direct connector against a local fake of its API: pulls load as imports do."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadence.demo.fakes.yandex_server import FakeCampaign, FakeClient, FakeYandexDirect, Scripted
from fake_clock import Sleeps
from models import (
    AdAccount,
    Campaign,
    Client,
    DailyMetric,
    ImportBatch,
    OutboundMessage,
    PlatformConnection,
    QuarantinedRow,
    Staff,
)
from models.enums import Platform, StaffRole
from tasks.connectors import ConnectionInfo, Secrets, connector_for
from tasks.connectors.base import AccountInfo, CampaignSettings, DailyRow, MalformedResponse, ReportPending
from tasks.connectors.yandex import YandexDirect, parse_report
from tasks.ingest.write import save_mapping
from tasks.metrics import load_sweep_frames
from tasks.sync import QUOTA_BACKOFF_S, connected_accounts, export_rows, pull_window, sync_accounts, upsert_campaigns

AS_OF = dt.date(2026, 11, 25)  # a Wednesday: the 3-day restatement window, 21..24 November
D = [dt.date(2026, 11, 21) + dt.timedelta(days=i) for i in range(4)]
TOKEN = "y0_good-token"


def _client(login: str, currency: str = "RUB", zone: str = "Europe/Moscow", quiet: bool = False) -> FakeClient:
    c = FakeClient(login=login, currency=currency, time_zone=zone, name=f"Shop {login}",
                   campaigns=[FakeCampaign(101, "Search brand"),
                              FakeCampaign(102, "Network", start=D[2], daily_budget_micros=None, goal_id=None)])
    for day in D:
        if not quiet:
            c.stats[(101, day)] = (1000, 50, Decimal("1234.50"), Decimal("3"), Decimal("9000.00"))
    c.stats[(102, D[3])] = (200, 4, Decimal("80.10"), None, None)
    return c


@pytest.fixture
def fake():
    with FakeYandexDirect(TOKEN) as server:
        yield server


def _setup(engine, fake, logins=("shop-a",), label="agency", token=TOKEN, monkeypatch=None) -> dict[str, int]:
    env = f"YA_TOKEN_{label.upper()}"
    monkeypatch.setenv(env, token)
    with Session(engine) as s, s.begin():
        am = s.scalars(select(Staff).where(Staff.role == StaffRole.AM)).first()
        if am is None:
            am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
            s.add(Staff(email="ops@agency.example", name="Ops", role=StaffRole.OPS))
        client = s.scalars(select(Client)).first() or Client(
            slug="acme", name="Acme", industry="retail", market="RU", time_zone="Europe/Moscow", currency="RUB",
            cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        connection = PlatformConnection(platform=Platform.YANDEX_DIRECT, label=label, secrets={"token": f"env:{env}"},
                                        options={"agency": True, "base_url": fake.url})
        s.add(connection)
        ids = {}
        for login in logins:
            account = AdAccount(client=client, platform=Platform.YANDEX_DIRECT, external_id=login, name=login,
                                currency="RUB", time_zone="Europe/Moscow", created_on=dt.date(2024, 1, 1),
                                connection=connection)
            s.add(account)
            s.flush()
            ids[login] = account.id
    return ids


def _metrics(engine, login: str) -> dict[tuple[str, dt.date], tuple]:
    with Session(engine) as s:
        rows = s.execute(select(Campaign.external_id, DailyMetric.day, DailyMetric.impressions, DailyMetric.spend,
                                DailyMetric.conversions, DailyMetric.import_batch_id)
                         .join(Campaign).join(AdAccount).where(AdAccount.external_id == login)).all()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def test_the_window_is_the_accounts_own_yesterday_plus_the_restatement_days():
    late = dt.datetime(2026, 11, 25, 22, 30, tzinfo=dt.timezone.utc)  # already the 26th in Moscow and Shanghai
    assert pull_window("Europe/Moscow", 3, 10, now=late) == (dt.date(2026, 11, 22), dt.date(2026, 11, 25),
                                                              dt.date(2026, 11, 26))
    assert pull_window("America/Los_Angeles", 3, 10, now=late) == (dt.date(2026, 11, 21), dt.date(2026, 11, 24),
                                                                   dt.date(2026, 11, 25))
    sunday = dt.date(2026, 11, 29)
    assert pull_window("UTC", 3, 10, as_of=sunday)[0] == dt.date(2026, 11, 18)
    assert pull_window("UTC", 3, 10, as_of=AS_OF, days=1)[:2] == (D[3], D[3])


def test_the_report_sequence_201_202_200_is_polled_without_blocking(fake):
    fake.offline_polls, fake.retry_in = 1, 7  # 201, one 202, then 200
    fake.add_client(_client("shop-a"))
    y = YandexDirect(TOKEN, agency=True, base_url=fake.url)
    account = y.accounts()[0]
    assert (account.external_id, account.currency, account.time_zone) == ("shop-a", "RUB", "Europe/Moscow")
    for _ in range(2):
        with pytest.raises(ReportPending) as pending:
            y.daily_metrics(account, D[0], D[3])
        assert pending.value.retry_after == 7
    rows = list(y.daily_metrics(account, D[0], D[3]))
    sent = fake.report_requests("shop-a")
    assert [r["headers"]["returnMoneyInMicros"] for r in sent] == ["false"] * 3
    assert all(r["headers"]["processingMode"] == "auto" and r["login"] == "shop-a" for r in sent)
    first = next(r for r in rows if r.campaign_external_id == "101" and r.day == D[0])
    assert (first.impressions, first.clicks, first.spend, first.conversions) == (1000, 50, Decimal("1234.50"), 3)


def test_zero_metric_days_become_explicit_zeros_and_money_is_in_the_account_currency(fake):
    fake.add_client(_client("shop-kz", currency="KZT", zone="Asia/Almaty", quiet=True))
    y = YandexDirect(TOKEN, agency=True, base_url=fake.url)
    account = y.accounts()[0]
    assert (account.currency, account.time_zone) == ("KZT", "Asia/Almaty")
    rows = {(r.campaign_external_id, r.day): r for r in y.daily_metrics(account, D[0], D[3])}
    # 101 had no impressions on any day (Yandex omits those rows); 102 started on D[2]: no row before it.
    assert [rows[("101", d)].impressions for d in D] == [0, 0, 0, 0]
    assert ("102", D[0]) not in rows and rows[("102", D[2])].spend == 0
    assert rows[("102", D[3])].spend == Decimal("80.10") and rows[("102", D[3])].conversions is None


def test_campaign_settings_come_from_the_campaigns_service(fake):
    fake.add_client(_client("shop-a"))
    y = YandexDirect(TOKEN, agency=True, base_url=fake.url)
    brand, network = y.campaigns(AccountInfo("yandex_direct", "shop-a", "a", "RUB", "Europe/Moscow"))
    assert (brand.daily_budget, brand.bid_strategy, brand.conversion_goal) == (Decimal("5000.00"),
                                                                               "HIGHEST_POSITION", "1234")
    assert network.daily_budget is None and network.conversion_goal is None and network.conversion_goal_known
    assert network.created_on == D[2] and brand.geo_targeting is None


@pytest.mark.parametrize("body", [
    "Date\tCampaignId\tCampaignName\tImpressions\tClicks\tCost\tConversions\tRevenue\n"
    "2026-11-21\t101\tA\t10\tx\t1.00\t--\t--\nTotal rows: 1\n",
    "Date\tCampaignId\tCampaignName\tImpressions\tClicks\tCost\tConversions\tRevenue\n"
    "2026-11-21\t101\tA\t10\t1\t1.00\t--\t--\n2026-11-22\t101\tA\t10\t1\t1.00\t--\t--\nTotal rows: 5\n",
    "Date\tCampaignId\tCampaignName\tImpressions\tClicks\tCost\n2026-11-21\t101\tA\t10\t1\t1.00\nTotal rows: 1\n",
    "Date\tCampaignId\tCampaignName\tImpressions\tClicks\tCost\tConversions\tRevenue\n"
    "2026-12-21\t101\tA\t10\t1\t1.00\t--\t--\nTotal rows: 1\n",
])
def test_a_malformed_report_is_refused_whole(body):
    with pytest.raises(MalformedResponse):
        parse_report(body, "shop-a", D[0], D[3])


def test_a_pull_loads_as_an_import_and_an_identical_repull_changes_nothing(engine, fake, monkeypatch):
    fake.add_client(_client("shop-a"))
    ids = _setup(engine, fake, monkeypatch=monkeypatch)
    (outcome,) = sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)
    assert (outcome.status, outcome.rows, outcome.inserted, outcome.rows_lost) == ("ok", 6, 6, 0)
    stored = _metrics(engine, "shop-a")
    assert stored[("101", D[0])][:3] == (1000, Decimal("1234.50"), Decimal("3.00"))
    assert stored[("102", D[3])][2] is None  # "--" from Yandex: missing, not zero
    with Session(engine) as s:
        network = s.scalars(select(Campaign).where(Campaign.external_id == "102")).one()
        assert (network.created_on, network.daily_budget, network.conversion_goal) == (D[2], None, None)
        batch = s.scalars(select(ImportBatch)).one()
        assert batch.platform == Platform.YANDEX_DIRECT and batch.account_id == ids["shop-a"]
    (again,) = sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)
    assert again.status == "ok" and again.already_imported
    assert _metrics(engine, "shop-a") == stored
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 1


def test_a_mapping_saved_for_the_accounts_files_does_not_remap_a_pull(engine, fake, monkeypatch):
    # The AM's exports name goal conversions differently; their plain "Conversions" column was set aside.
    fake.add_client(_client("shop-a"))
    ids = _setup(engine, fake, monkeypatch=monkeypatch)
    with Session(engine) as s, s.begin():
        save_mapping(s, ids["shop-a"], {"Conversions": "ignore", "Cost": "conversion_value"})
    (outcome,) = sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)
    assert (outcome.status, outcome.inserted, outcome.quarantined) == ("ok", 6, 0)
    assert _metrics(engine, "shop-a")[("101", D[0])][:3] == (1000, Decimal("1234.50"), Decimal("3.00"))


def test_a_restated_day_updates_exactly_that_day(engine, fake, monkeypatch):
    client = fake.add_client(_client("shop-a"))
    _setup(engine, fake, monkeypatch=monkeypatch)
    sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)
    before = _metrics(engine, "shop-a")
    client.stats[(101, D[1])] = (1000, 50, Decimal("1300.00"), Decimal("4"), Decimal("9000.00"))
    (outcome,) = sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)
    assert (outcome.updated, outcome.inserted, outcome.duplicates) == (1, 0, 5)
    after = _metrics(engine, "shop-a")
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {("101", D[1])}
    assert after[("101", D[1])][1:3] == (Decimal("1300.00"), Decimal("4.00"))


def test_quota_exhaustion_backs_off_and_the_account_recovers_in_the_same_run(engine, fake, monkeypatch):
    fake.add_client(_client("shop-a"))
    fake.add_client(_client("shop-b"))
    fake.script("shop-a", Scripted(400, 9000, retry_in=0), Scripted(400, 152, retry_in=0))
    _setup(engine, fake, logins=("shop-a", "shop-b"), monkeypatch=monkeypatch)
    sleeps = Sleeps()
    outcomes = {o.external_id: o for o in sync_accounts(engine, connected_accounts(engine), as_of=AS_OF,
                                                          sleep=sleeps, clock=sleeps.clock)}
    assert sleeps == [QUOTA_BACKOFF_S, 2 * QUOTA_BACKOFF_S], "no wait named by the API: the backoff doubles"
    assert outcomes["shop-a"].status == "ok" and outcomes["shop-a"].quota_errors == 2
    assert outcomes["shop-b"].status == "ok" and outcomes["shop-b"].quota_errors == 0
    assert len(_metrics(engine, "shop-a")) == 6


def test_an_expired_token_sends_one_reconnect_message_and_the_other_logins_go_on(engine, fake, monkeypatch):
    fake.add_client(_client("shop-a"))
    fake.add_client(_client("shop-b"))
    _setup(engine, fake, logins=("shop-a",), label="good", monkeypatch=monkeypatch)
    _setup(engine, fake, logins=("shop-b",), label="old", token="y0_revoked", monkeypatch=monkeypatch)
    outcomes = {o.external_id: o for o in sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)}
    assert outcomes["shop-a"].status == "ok"
    assert outcomes["shop-b"].status == "auth_expired" and "error 53" in outcomes["shop-b"].error
    assert _metrics(engine, "shop-b") == {}
    with Session(engine) as s:
        messages = s.scalars(select(OutboundMessage).where(OutboundMessage.kind == "reconnect")).all()
        assert sorted(m.recipient for m in messages) == ["am@agency.example", "ops@agency.example"]
        assert all("shop-b" in m.body_text and "--label old" in m.body_text for m in messages)
        assert "y0_revoked" not in " ".join(m.body_text + m.subject for m in messages)
        b = s.scalars(select(AdAccount).where(AdAccount.external_id == "shop-b")).one()
        assert b.sync_problem.startswith("reconnect") and b.connection.problem
        client_id = b.client_id
    frames = load_sweep_frames(engine, [client_id], D[3])
    problems = dict(zip(frames.accounts["account_id"], frames.accounts["sync_problem"]))
    assert problems[b.id].startswith("reconnect") and sum(p is not None for p in problems.values()) == 1
    sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 2


def test_a_malformed_report_writes_nothing_for_that_account(engine, fake, monkeypatch):
    fake.add_client(_client("shop-a"))
    fake.add_client(_client("shop-b"))
    fake.script("shop-a", Scripted(200, body="Date\tCampaignId\tCampaignName\tImpressions\tClicks\tCost\t"
                                              "Conversions\tRevenue\n2026-11-21\t101\tA\t10\t1\t1,00\t--\t--\n"
                                              "Total rows: 1\n"))
    _setup(engine, fake, logins=("shop-a", "shop-b"), monkeypatch=monkeypatch)
    outcomes = {o.external_id: o for o in sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)}
    assert outcomes["shop-a"].status == "failed" and "line 2" in outcomes["shop-a"].error
    assert _metrics(engine, "shop-a") == {} and len(_metrics(engine, "shop-b")) == 6
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 1


def test_unknown_settings_leave_the_stored_values(engine):
    from tests.tasks.test_ingest import _account

    account_id = _account(engine)
    with Session(engine) as s, s.begin():
        s.add(Campaign(account_id=account_id, external_id="7", name="old", created_on=D[0], bid=Decimal("1.5"),
                       bid_strategy="manual", geo_targeting=["RU"], conversion_goal="lead"))
    with Session(engine) as s, s.begin():
        created = upsert_campaigns(s, account_id, [
            CampaignSettings("7", "new name", "paused", Decimal("100"), None, None, None, None, False, None),
            CampaignSettings("8", "fresh", "active", None, "auto", None, (), "buy", True, None)], first_day=D[1])
    assert created == 1
    with Session(engine) as s:
        old, fresh = s.scalars(select(Campaign).order_by(Campaign.external_id)).all()
        assert (old.name, old.status.value, old.daily_budget, old.bid, old.bid_strategy, old.geo_targeting,
                old.conversion_goal) == ("new name", "paused", Decimal("100.00"), Decimal("1.5000"), "manual",
                                         ["RU"], "lead")
        assert (fresh.created_on, fresh.geo_targeting, fresh.conversion_goal) == (D[1], [], "buy")


def test_the_canonical_export_reads_back_through_the_generic_mapping():
    from tasks.ingest.map import map_columns
    from tasks.ingest.read import read_export

    data = export_rows([DailyRow("1", 'Brand, "exact"', D[0], 5, None, Decimal("1.5"), None, Decimal("0"))])
    assert data.decode().splitlines()[1] == '2026-11-21,1,"Brand, ""exact""",5,,1.50,,0.00'
    raw = read_export(data, "pull.csv")
    assert set(map_columns(raw.header, "generic", name="pull.csv").fields) == {
        "day", "campaign_id", "campaign_name", "impressions", "clicks", "spend", "conversions", "conversion_value"}


def test_connectors_are_registered_by_platform(monkeypatch):
    monkeypatch.setenv("YA_T", "secret-value")
    connector = connector_for(ConnectionInfo(1, "yandex_direct", "x", {"agency": True}),
                              Secrets({"token": "env:YA_T"}))
    assert connector.platform == "yandex_direct" and connector.restatement_days == 3


def test_an_expired_access_token_is_refreshed_and_the_rotated_pair_saved_back(fake, monkeypatch):
    fake.add_client(_client("shop-a"))
    fake.refresh_tokens.add("1:refresh-old")
    monkeypatch.setenv("YA_ACCESS", "y0_expired")
    monkeypatch.setenv("YA_REFRESH", "1:refresh-old")
    monkeypatch.setenv("YA_SECRET", "app-secret")
    secrets = Secrets({"token": "env:YA_ACCESS", "refresh_token": "env:YA_REFRESH", "client_secret": "env:YA_SECRET"})
    y = connector_for(ConnectionInfo(1, "yandex_direct", "x", {"agency": True, "base_url": fake.url,
                                                                "oauth_url": fake.url, "oauth_client_id": "app"}),
                      secrets)
    assert [a.external_id for a in y.accounts()] == ["shop-a"]
    import os

    assert os.environ["YA_ACCESS"] in fake.tokens and os.environ["YA_REFRESH"] != "1:refresh-old"
    assert os.environ["YA_REFRESH"] in fake.refresh_tokens


def test_the_throttle_takes_rate_limit_slots_in_batches():
    from tasks.sync import BatchedThrottle

    taken = []
    throttle = BatchedThrottle("platform-sync:yandex_direct", 4, lambda name, occupy, strict: taken.append(occupy))
    for _ in range(9):
        throttle()
    assert taken == [4, 4, 4]


def test_an_account_with_an_unknown_time_zone_fails_alone(engine, fake, monkeypatch):
    fake.add_client(_client("shop-a"))
    fake.add_client(_client("shop-b"))
    ids = _setup(engine, fake, logins=("shop-a", "shop-b"), monkeypatch=monkeypatch)
    with Session(engine) as s, s.begin():
        s.get(AdAccount, ids["shop-a"]).time_zone = "Mars/Olympus"
    outcomes = {o.external_id: o for o in sync_accounts(engine, connected_accounts(engine))}
    assert outcomes["shop-a"].status == "failed" and "Mars/Olympus" in outcomes["shop-a"].error
    assert outcomes["shop-b"].status == "ok"


@pytest.mark.parametrize("answer", [Scripted(502, None), Scripted(500, 1000), Scripted(400, 52)])
def test_the_servers_own_trouble_is_asked_again_later(engine, fake, monkeypatch, answer):
    fake.add_client(_client("shop-a"))
    fake.script("shop-a", answer)
    _setup(engine, fake, monkeypatch=monkeypatch)
    monkeypatch.setattr("tasks.connectors.yandex.RETRY_5XX_SECONDS", 0.0)
    (outcome,) = sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)
    assert (outcome.status, outcome.pending_polls, outcome.rows) == ("ok", 1, 6)


def test_a_pulled_row_that_fails_validation_is_quarantined_as_in_a_file(engine, fake, monkeypatch):
    client = fake.add_client(_client("shop-a"))
    client.stats[(101, D[0])] = (10, 50, Decimal("5.00"), Decimal("0"), Decimal("0"))  # clicks above impressions
    _setup(engine, fake, monkeypatch=monkeypatch)
    (outcome,) = sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)
    assert (outcome.status, outcome.quarantined, outcome.inserted, outcome.rows_lost) == ("ok", 1, 5, 0)
    with Session(engine) as s:
        (row,) = s.scalars(select(QuarantinedRow)).all()
        assert row.reason == "clicks above impressions" and row.raw["Campaign ID"] == "101"
    assert ("101", D[0]) not in _metrics(engine, "shop-a")


def test_no_rights_to_one_client_fails_that_account_and_not_the_login(engine, fake, monkeypatch):
    fake.add_client(_client("shop-a"))
    fake.add_client(_client("shop-b"))
    fake.script("shop-a", Scripted(400, 54))
    _setup(engine, fake, logins=("shop-a", "shop-b"), monkeypatch=monkeypatch)
    outcomes = {o.external_id: o for o in sync_accounts(engine, connected_accounts(engine), as_of=AS_OF)}
    assert outcomes["shop-a"].status == "failed" and "no rights" in outcomes["shop-a"].error
    assert outcomes["shop-b"].status == "ok"
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def test_a_dead_login_seen_by_two_chunks_sends_one_message_naming_all_its_accounts(engine, fake, monkeypatch):
    for login in ("shop-b", "shop-d"):
        fake.add_client(_client(login))
    ids = _setup(engine, fake, logins=("shop-b", "shop-d"), label="old", token="y0_revoked", monkeypatch=monkeypatch)
    for account_id in ids.values():  # one chunk each
        sync_accounts(engine, [account_id], as_of=AS_OF)
    with Session(engine) as s:
        messages = s.scalars(select(OutboundMessage)).all()
    assert len(messages) == 2 and all("shop-b" in m.body_text and "shop-d" in m.body_text for m in messages)
