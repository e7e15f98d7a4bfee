"""`cadence import` as a new user tries it: exports nobody here wrote, --map, a saved mapping, currencies, years."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, Client, DailyMetric, ImportBatch, Staff
from models.enums import Platform, StaffRole
from tests.cadence.cli_helpers import cli, fails

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"
KAGGLE = EXPORTS / "kaggle_online_advertising.csv"
KAGGLE_MAP = ["--map", "campaign_number=campaign_name", "--map", "displays=impressions",
              "--map", "post_click_conversions=conversions"]


def _account(engine: Engine, platform: Platform, external_id: str, currency: str) -> None:
    with Session(engine) as s, s.begin():
        client = s.scalars(select(Client)).first()
        if client is None:
            am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
            client = Client(slug="acme", name="Acme", industry="retail", market="DE", time_zone="Europe/Berlin",
                            currency="EUR", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        s.add(AdAccount(client=client, platform=platform, external_id=external_id, name=external_id,
                        currency=currency, time_zone="Europe/Berlin", created_on=dt.date(2024, 1, 1)))


def _spend(engine: Engine, account: str) -> dict[tuple[str, str], Decimal]:
    with Session(engine) as s:
        rows = s.execute(select(Campaign.name, DailyMetric.day, DailyMetric.spend).join(Campaign).join(AdAccount)
                         .where(AdAccount.external_id == account)).all()
    return {(name, day.isoformat()): Decimal(spend).quantize(Decimal("0.01")) for name, day, spend in rows}


PUBLIC = [
    ("google_ads_looker_eur.csv", Platform.GOOGLE_ADS, "EUR", [],
     "7 rows in = 6 loaded + 1 quarantined + 0 duplicates", "Ad network type",
     {("Brand - DE", "2026-11-02"): "93.52", ("Generic - DE", "2026-11-03"): "310.98"}),
    ("meta_breakdown_eur.csv", Platform.META, "EUR", [],
     "6 rows in = 6 loaded + 0 quarantined + 0 duplicates", "Ad set name, Age, Gender",
     {("Autumn sale - conversions", "2026-11-02"): "50.11"}),
    ("yandex_wizard_banner.csv", Platform.YANDEX_DIRECT, "RUB", [],
     "7 rows in = 6 loaded + 1 quarantined + 0 duplicates", "Баннер, Аудитория",
     {("Поиск | Бренд", "2026-11-02"): "3454.61", ("РСЯ | Товары", "2026-11-03"): "4410.98"}),
    ("kaggle_online_advertising.csv", Platform.GOOGLE_ADS, "USD", [*KAGGLE_MAP, "--year", "2026"],
     "8 rows in = 8 loaded + 0 quarantined + 0 duplicates", "user_engagement, banner, placement",
     {("camp 1", "2026-04-01"): "271.60", ("camp 2", "2026-04-02"): "0.00"}),
]


@pytest.mark.parametrize(("file", "platform", "currency", "args", "counts", "summed", "spend"), PUBLIC)
def test_exports_nobody_here_wrote_import_with_at_most_a_few_maps(engine, file, platform, currency, args, counts,
                                                                   summed, spend):
    _account(engine, platform, "acc", currency)
    output = cli("import", str(EXPORTS / file), "-p", "generic" if "kaggle" in file else platform.value,
                 "-a", "acc", *args)
    assert counts in output
    assert f"rows summed per campaign and day over: {summed}" in output
    stored = _spend(engine, "acc")
    assert {k: stored[k] for k in spend} == {k: Decimal(v) for k, v in spend.items()}


def test_kaggle_export_from_first_try_to_a_saved_mapping(engine, tmp_path):
    _account(engine, Platform.GOOGLE_ADS, "kg", "USD")
    unknown = fails("import", str(KAGGLE), "-p", "generic", "-a", "kg")
    assert "no column for campaign (id or name) in the generic mapping" in unknown
    assert "accepted names — campaign_name: 'campaign', 'campaign name'" in unknown
    assert '--map "HEADER=campaign_name"' in unknown

    no_year = fails("import", str(KAGGLE), "-p", "generic", "-a", "kg", *KAGGLE_MAP)
    assert "8 rows in = 0 loaded + 8 quarantined + 0 duplicates" in no_year
    assert ("nothing loaded from kaggle_online_advertising.csv: the 'day' column holds days of the month (1) and "
            "'month' the month: give --year") in no_year
    assert _spend(engine, "kg") == {}

    # The same bytes again, now with the year: the import that loaded nothing does not stand in the way.
    first = cli("import", str(KAGGLE), "-p", "generic", "-a", "kg", *KAGGLE_MAP, "--year", "2026", "--save-mapping")
    assert "8 rows in = 8 loaded" in first and "mapping saved for account kg" in first
    shown = cli("account", "mapping", "show", "kg")
    assert "campaign_number" in shown and "post_click_conversions" in shown and "conversions" in shown

    later = tmp_path / "may.csv"
    later.write_text(KAGGLE.read_text().replace("April", "May"))
    again = cli("import", str(later), "-p", "generic", "-a", "kg", "--year", "2026")
    assert "8 rows in = 8 loaded + 0 quarantined + 0 duplicates" in again
    assert "displays → impressions" in again
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 2

    cli("account", "mapping", "set", "kg", "--forget", "displays", "--map", "post_click_sales_amount=ignore")
    shown = cli("account", "mapping", "show", "kg")
    assert "displays" not in shown and "post_click_sales_amount" in shown


def test_a_map_naming_a_header_the_file_lacks_is_an_error(engine):
    _account(engine, Platform.GOOGLE_ADS, "kg", "USD")
    message = fails("import", str(KAGGLE), "-p", "generic", "-a", "kg", "--map", "campaign_no=campaign_name")
    assert "--map names 'campaign_no', which is not a header of this file (headers: 'month', 'day'" in message


def test_money_in_another_currency_is_refused_unless_a_rate_is_given(engine):
    _account(engine, Platform.META, "act_usd", "USD")
    file = str(EXPORTS / "meta_breakdown_eur.csv")
    refused = fails("import", file, "-p", "meta", "-a", "act_usd")
    assert ("the column 'Amount spent (EUR)' is in EUR but account act_usd is in USD: import an export in USD, "
            "or convert at a rate you choose with --rate EUR=RATE") in refused
    assert _spend(engine, "act_usd") == {}
    converted = cli("import", file, "-p", "meta", "-a", "act_usd", "--rate", "EUR=1.08")
    assert "spend converted from EUR at 1.08 USD per EUR" in converted
    # 11.37 + 10.04 + 15.705 + 12.995 = 50.11 EUR; in USD at 1.08 = 54.1188.
    assert _spend(engine, "act_usd")[("Autumn sale - conversions", "2026-11-02")] == Decimal("54.12")


def test_show_mapping_prints_the_accepted_headers():
    output = cli("import", "--show-mapping", "ocean")
    assert "ocean_engine headers" in output
    assert "计划名称" in output and "消耗" in output and "segment (summed over)" in output
    assert "needs FILE, --platform, --account" in fails("import")
