"""`cadence account connect` and `cadence sync` against the fake Yandex Direct."""

from __future__ import annotations

import datetime as dt

from prefect.blocks.system import Secret
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cadence.cli import app
from cadence.demo.fakes.yandex_server import FakeYandexDirect
from models import AdAccount, Client, PlatformConnection, Staff
from models.enums import StaffRole
from tests.cadence.cli_helpers import cli, fails
from tests.tasks.test_sync import TOKEN, _client

runner = CliRunner()


def _clients(engine) -> None:
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
        for slug in ("acme", "globex"):
            s.add(Client(slug=slug, name=slug.title(), industry="retail", market="RU", time_zone="Europe/Moscow",
                         currency="RUB", cooperation_start=dt.date(2024, 1, 1), owner_am=am))


def test_connect_lists_the_agency_clients_and_adds_only_the_assigned_ones(engine, monkeypatch):
    _clients(engine)
    monkeypatch.setenv("YA_AGENCY_TOKEN", TOKEN)
    with FakeYandexDirect(TOKEN) as fake:
        fake.add_client(_client("shop-a"))
        fake.add_client(_client("shop-kz", currency="KZT", zone="Asia/Almaty"))
        first = cli("account", "connect", "yandex", "--label", "agency", "--agency", "--secret-env",
                    "token=YA_AGENCY_TOKEN", "--option", f"base_url={fake.url}", "--assign", "shop-kz=globex")
        assert "shop-a" in first and "not added" in first and "--assign shop-a=CLIENT_SLUG" in first
        second = cli("account", "connect", "yandex_direct", "--label", "agency", "--reuse-secrets",
                     "--client", "acme")
    assert "added" in second and TOKEN not in first + second
    with Session(engine) as s:
        accounts = {a.external_id: (a.client.slug, a.currency, a.time_zone, a.connection.label)
                    for a in s.scalars(select(AdAccount))}
        (connection,) = s.scalars(select(PlatformConnection)).all()
        assert connection.secrets == {"token": "env:YA_AGENCY_TOKEN"} and connection.options["agency"] is True
    assert accounts == {"shop-a": ("acme", "RUB", "Europe/Moscow", "agency"),
                        "shop-kz": ("globex", "KZT", "Asia/Almaty", "agency")}


def test_connect_stores_a_prompted_secret_in_a_prefect_block_and_refuses_a_bad_one(engine, prefect_harness):
    _clients(engine)
    with FakeYandexDirect(TOKEN) as fake:
        fake.add_client(_client("shop-a"))
        bad = runner.invoke(app, ["account", "connect", "yandex_direct", "--label", "direct", "--stdin",
                                  "--option", f"base_url={fake.url}", "--client", "acme"], input="y0_wrong\n\n\n")
        assert bad.exit_code != 0 and "error 53" in str(bad.exception)
        good = runner.invoke(app, ["account", "connect", "yandex_direct", "--label", "direct", "--stdin",
                                   "--option", f"base_url={fake.url}", "--client", "acme"], input=f"{TOKEN}\n\n\n")
        assert good.exit_code == 0, good.output
        assert TOKEN not in good.output
    assert Secret.load("cadence-yandex-direct-direct-token").get() == TOKEN
    with Session(engine) as s:
        assert s.scalars(select(PlatformConnection)).one().secrets == {
            "token": "block:cadence-yandex-direct-direct-token"}


def test_connect_refuses_a_platform_without_a_connector(engine):
    assert "no connector for 'vk'" in fails("account", "connect", "vk", "--label", "x", "--reuse-secrets")


def test_cadence_sync_pulls_now_and_exits_non_zero_when_an_account_did_not_sync(engine, prefect_harness, monkeypatch):
    _clients(engine)
    monkeypatch.setenv("YA_AGENCY_TOKEN", TOKEN)
    with FakeYandexDirect(TOKEN) as fake:
        fake.add_client(_client("shop-a"))
        fake.add_client(_client("shop-b"))
        cli("account", "connect", "yandex", "--label", "agency", "--agency", "--secret-env", "token=YA_AGENCY_TOKEN",
            "--option", f"base_url={fake.url}", "--client", "acme")
        done = cli("sync", "--as-of", "2026-11-25", "--days", "2", "--account", "shop-a")
        assert "1 of 1 account(s) synced, 4 rows pulled, 0 lost" in done
        assert [r["login"] for r in fake.report_requests()] == ["shop-a"]
        fake.revoke(TOKEN)
        failed = runner.invoke(app, ["sync", "--as-of", "2026-11-25", "--days", "2"], env={"COLUMNS": "200"})
    assert failed.exit_code == 1 and "shop-b: auth_expired" in failed.output
    listing = cli("account", "logins")
    assert "agency" in listing and "error 53" in listing and "never" not in listing
