"""Importing platform exports: every row loaded, quarantined with a reason, or counted a duplicate."""

from __future__ import annotations

import codecs
import datetime as dt
import math
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, Client, DailyMetric, ImportBatch, QuarantinedRow, Staff
from models.enums import Platform, StaffRole
from tasks.errors import CadenceError
from tasks.ingest.cells import parse_dates, parse_numbers
from tasks.ingest.map import check_platform, map_columns, normalise
from tasks.ingest.read import read_export
from tasks.ingest.validate import CONFLICT, INCOMPLETE, daily_records, plan_writes, validate
from tasks.ingest.write import import_file

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"
TODAY = dt.date(2026, 11, 25)
NBSP, NNBSP = "\u00a0", "\u202f"


def _cells(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object)


@pytest.mark.parametrize(("cells", "integer", "hint", "expected"), [
    (["1.234,56", "12,5"], False, None, [1234.56, 12.5]),
    (["1,234.56", "12.5"], False, None, [1234.56, 12.5]),
    ([f"1{NBSP}234,56", "7,1"], False, None, [1234.56, 7.1]),
    ([f"1{NNBSP}234,56"], False, None, [1234.56]),
    (["1 234 567", "12"], True, None, [1234567, 12]),
    (["1'234.50", "1’000.25"], False, None, [1234.5, 1000.25]),
    (["1234.5"], False, None, [1234.5]),
    (["¥1,234.00", "CN¥56.10"], False, None, [1234.0, 56.1]),
    (["1 234,50 ₽", "99,90 руб.", "RUB 1 000"], False, None, [1234.5, 99.9, 1000.0]),
    (["$12.30", "US$ 7", "EUR 1,000.50", "12元"], False, None, [12.3, 7.0, 1000.5, 12.0]),
    (["12,5%", "100 %"], False, None, [0.125, 1.0]),
    (["(12.30)", "−5", "-$5.00"], False, None, [-12.3, -5.0, -5.0]),
    (["1.234", "56"], True, None, [1234, 56]),
    (["1,234", "0"], True, None, [1234, 0]),
    (["1,234", "0,5"], False, None, [1.234, 0.5]),
    (["1.234"], False, ",", [1234.0]),
    (["1.234"], False, ".", [1.234]),
    (["1,234"], False, None, [1234.0]),
    (["1.2E+05"], False, None, [120000.0]),
    ([12, 3.5, None, "4,5"], False, None, [12.0, 3.5, None, 4.5]),
    (["-", "--", "", "n/a", "N/A"], False, None, [None] * 5),
    (["abc", "1,2,3", "12 34", "1,234.56", "2.50", "1.234,56"], False, None, [None, None, None, 1234.56, 2.5, None]),
])
def test_parse_numbers(cells, integer, hint, expected):
    parsed = parse_numbers(_cells(*cells), integer=integer, decimal=hint)
    assert [None if pd.isna(v) else pytest.approx(v) for v in parsed] == expected


@pytest.mark.parametrize(("cells", "day_first", "expected"), [
    (["2026-11-24", "2026-11-01"], True, ["2026-11-24", "2026-11-01"]),
    (["1.11.2026", "24.11.2026"], False, ["2026-11-01", "2026-11-24"]),
    (["03.04.2026"], False, ["2026-04-03"]),
    (["24/11/2026", "01/11/2026"], False, ["2026-11-24", "2026-11-01"]),
    (["11/24/2026", "11/01/2026"], True, ["2026-11-24", "2026-11-01"]),
    (["01/11/2026", "02/11/2026", "03/11/2026"], False, ["2026-11-01", "2026-11-02", "2026-11-03"]),
    (["11/01/2026", "11/02/2026", "11/03/2026"], True, ["2026-11-01", "2026-11-02", "2026-11-03"]),
    (["03/04/2026"], False, ["2026-03-04"]),
    (["03/04/2026"], True, ["2026-04-03"]),
    (["2026/11/24", "2026.11.24", "20261124"], True, ["2026-11-24"] * 3),
    (["2026年11月24日", "2026年1月2日"], True, ["2026-11-24", "2026-01-02"]),
    (["Nov 24, 2026", "Mon, Nov 24, 2026", "24-Nov-2026"], True, ["2026-11-24"] * 3),
    (["24 ноября 2026 г.", "1 мая 2026"], True, ["2026-11-24", "2026-05-01"]),
    (["2026-11-24 00:00:00", "2026-11-24T00:00:00Z", "24.11.26"], True, ["2026-11-24"] * 3),
    ([46350, 46350.0, "46350"], True, ["2026-11-24"] * 3),
    ([dt.datetime(2026, 11, 24, 13, 5), dt.date(2026, 11, 24)], True, ["2026-11-24"] * 2),
    (["31.02.2026", "yesterday", "", None, 12], True, [None] * 5),
])
def test_parse_dates(cells, day_first, expected):
    parsed = parse_dates(_cells(*cells), day_first=day_first)
    assert [None if pd.isna(v) else v.date().isoformat() for v in parsed] == expected


@pytest.mark.parametrize(("platform", "header", "expected"), [
    ("google_ads", ["Day", "Campaign", "Campaign ID", "Impr.", "Clicks", "Cost (USD)", "Conversions", "Conv. value"],
     {"day": 0, "campaign_name": 1, "campaign_id": 2, "impressions": 3, "clicks": 4, "spend": 5, "conversions": 6,
      "conversion_value": 7}),
    ("meta", ["Reporting starts", "Campaign name", "Impressions", "Clicks (all)", "Link clicks",
              "Amount spent (RUB)", "Results", "Purchases conversion value"],
     {"day": 0, "campaign_name": 1, "impressions": 2, "clicks": 4, "spend": 5, "conversions": 6,
      "conversion_value": 7}),
    ("meta", ["Day", "Reporting starts", "Campaign ID", "Impressions", "Clicks (all)", "Amount spent (USD)"],
     {"day": 0, "campaign_id": 2, "impressions": 3, "clicks": 4, "spend": 5}),
    ("yandex_direct", ["Дата", "Кампания", "№ Кампании", "Показы", "Клики", "Расход (руб.)", "Конверсии",
                       "Ценность конверсий"],
     {"day": 0, "campaign_name": 1, "campaign_id": 2, "impressions": 3, "clicks": 4, "spend": 5, "conversions": 6,
      "conversion_value": 7}),
    ("yandex_direct", ["День", "ID кампании", "Название кампании", "Клики", "Расход, руб.", "Доход"],
     {"day": 0, "campaign_id": 1, "campaign_name": 2, "clicks": 3, "spend": 4, "conversion_value": 5}),
    ("vk", ["Дата", "Кампания", "Показы", "Клики", "Потрачено"],
     {"day": 0, "campaign_name": 1, "impressions": 2, "clicks": 3, "spend": 4}),
    ("ocean_engine", ["日期", "计划名称", "计划ID", "展示数", "点击数", "消耗（元）", "转化数", "转化价值"],
     {"day": 0, "campaign_name": 1, "campaign_id": 2, "impressions": 3, "clicks": 4, "spend": 5, "conversions": 6,
      "conversion_value": 7}),
    ("ocean_engine", ["时间", "广告组", "展现数", "点击数", "花费", "成交金额"],
     {"day": 0, "campaign_name": 1, "impressions": 2, "clicks": 3, "spend": 4, "conversion_value": 5}),
    ("generic", ["  DAY ", "CAMPAIGN", "CLICKS", "COST (EUR)"],
     {"day": 0, "campaign_name": 1, "clicks": 2, "spend": 3}),
    ("generic", ["日期", "广告计划", "展示数", "消耗(元)"],
     {"day": 0, "campaign_name": 1, "impressions": 2, "spend": 3}),
    ("generic", ["date", "campaign_id", "impressions", "spend", "conversion_value"],
     {"day": 0, "campaign_id": 1, "impressions": 2, "spend": 3, "conversion_value": 4}),
])
def test_map_columns(platform, header, expected):
    assert map_columns(header, platform).fields == expected


def test_breakdown_columns_are_segments_and_other_columns_are_ignored():
    columns = map_columns(["Day", "Campaign", "Device", "CTR", "Impr.", "Clicks", "Cost"], "google_ads")
    assert columns.segments == {"Device": 2}
    assert 3 not in columns.fields.values()


def test_missing_required_columns_name_what_is_missing_and_the_headers_seen():
    with pytest.raises(CadenceError) as caught:
        map_columns(["Дата", "Кампания", "Показы", "CTR (%)"], "yandex_direct", name="report.csv")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("report.csv: no column for spend in the yandex_direct mapping")
    assert "'Показы', 'CTR (%)'" in message


@pytest.mark.parametrize(("value", "expected"), [("meta", "meta"), ("Google", "google_ads"),
                                                 ("yandex-direct", "yandex_direct"), ("generic", "generic")])
def test_check_platform(value, expected):
    assert check_platform(value) == expected


def test_unknown_platform_lists_the_known_ones():
    with pytest.raises(CadenceError, match="unknown platform 'tiktok': use one of generic, google_ads, meta"):
        check_platform("tiktok")


RUSSIAN = "Дата;Кампания;Показы;Клики;Расход\n01.11.2026;Поиск;1 000;10;100,50\n"
CHINESE = "日期,计划名称,展示数,点击数,消耗\n2026-11-01,品牌词,1000,10,100.50\n"


@pytest.mark.parametrize(("data", "encoding", "first_header", "campaign"), [
    (RUSSIAN.encode("utf-8"), "utf-8", "Дата", "Поиск"),
    (RUSSIAN.encode("utf-8-sig"), "utf-8-sig", "Дата", "Поиск"),
    (codecs.BOM_UTF16_LE + RUSSIAN.replace(";", "\t").encode("utf-16-le"), "utf-16-le", "Дата", "Поиск"),
    (codecs.BOM_UTF16_BE + RUSSIAN.replace(";", "\t").encode("utf-16-be"), "utf-16-be", "Дата", "Поиск"),
    (RUSSIAN.encode("cp1251"), "cp1251", "Дата", "Поиск"),
    (CHINESE.encode("gb18030"), "gb18030", "日期", "品牌词"),
    (CHINESE.encode("gbk"), "gb18030", "日期", "品牌词"),
])
def test_text_encodings(data, encoding, first_header, campaign):
    raw = read_export(data, "export.csv")
    assert raw.header[0] == first_header
    assert raw.rows.loc[2, 1] == campaign
    assert f", {encoding}," in raw.source


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(delimiter):
    text = delimiter.join(["Day", "Campaign", "Clicks", "Cost"]) + "\n" + delimiter.join(
        ["2026-11-01", "Brand", "5", '"1,00"' if delimiter == "," else "1,00"]) + "\n"
    raw = read_export(text.encode(), "export.csv")
    assert raw.header == ["Day", "Campaign", "Clicks", "Cost"]
    assert raw.rows.loc[2].tolist() == ["2026-11-01", "Brand", "5", "1,00"]


def test_title_lines_are_skipped_and_rows_keep_their_line_numbers():
    text = ("Campaign report\nNovember 1, 2026 - November 2, 2026\n\nDay,Campaign,Clicks,Cost\n"
            '2026-11-01,"Brand\nSearch",5,1.00\n\n2026-11-02,Brand,6,2.00\n,,,\n')
    raw = read_export(text.encode(), "export.csv")
    assert raw.header == ["Day", "Campaign", "Clicks", "Cost"]
    assert raw.rows.index.tolist() == [5, 8]
    assert "header on line 4" in raw.source


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "is empty"),
    (b"  \r\n\n", "is empty"),
    (codecs.BOM_UTF16_LE, "is empty"),
    (random.Random(7).randbytes(3000), "binary content"),
    (b"hello\nworld\n", "no recognisable header"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old-style .xls"),
    (b"PK\x03\x04 not really a workbook", "not a readable XLSX"),
    (b"PAR1 not really parquet", "not a readable Parquet"),
])
def test_unreadable_files_are_one_line_errors(data, expected):
    with pytest.raises(CadenceError) as caught:
        read_export(data, "export.csv")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


HEADER = "Day,Campaign ID,Campaign,Impressions,Clicks,Cost,Conversions"
GOOD = "2026-11-20,c0,Zero,100,10,5.00,1"


def _checked(*lines: str, header: str = HEADER) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = read_export("\n".join([header, *lines]).encode(), "export.csv")
    return validate(normalise(raw, map_columns(raw.header, "generic")), today=TODAY)


@pytest.mark.parametrize(("line", "reason"), [
    ("Total,,,100,10,5.00,1", "summary row"),
    ("2026-11-20,,Итого,100,10,5.00,1", "summary row"),
    ("Итого по кампаниям,,,100,10,5.00,1", "summary row"),
    ("Total: Account,--,--,100,10,5.00,1", "summary row"),
    ("Всего,,,100,10,5.00,1", "summary row"),
    ("总计,,,100,10,5.00,1", "summary row"),
    ("合计:,,,100,10,5.00,1", "summary row"),
    ("--,--,--,100,10,5.00,1", "summary row"),
    (",c1,A,100,10,5.00,1", "missing date"),
    ("2026-02-30,c1,A,100,10,5.00,1", "bad date"),
    ("1999-12-31,c1,A,100,10,5.00,1", "bad date"),
    ("2026-11-27,c1,A,100,10,5.00,1", "date in the future"),
    ("2026-11-20,,,100,10,5.00,1", "missing campaign"),
    ("2026-11-20,-,-,100,10,5.00,1", "missing campaign"),
    ("2026-11-20,c1,A,100,10,-5.00,1", "negative spend"),
    ("2026-11-20,c1,A,-100,10,5.00,1", "negative impressions"),
    ("2026-11-20,c1,A,100,-1,5.00,1", "negative clicks"),
    ("2026-11-20,c1,A,100,10,5.00,-1", "negative conversions"),
    ("2026-11-20,c1,A,10,11,5.00,1", "clicks above impressions"),
    ("2026-11-20,c1,A,100,10,abc,1", "non-numeric value in spend"),
    ("2026-11-20,c1,A,100,10,99999999999999999,1", "value too large in spend"),
    ("2026-11-20,c1,A,100,ten,5.00,1", "non-numeric value in clicks"),
    ("2026-11-20,c1,A,12.5,10,5.00,1", "non-integer value in impressions"),
    ("2026-11-20,c1,A,,,,", "no metric values"),
    ("2026-11-20,c1,A,-,-,-,-", "no metric values"),
])
def test_each_quarantine_reason(line, reason):
    good, quarantine = _checked(GOOD, line)
    assert quarantine["reason"].to_dict() == {3: reason}
    assert good.index.tolist() == [2]


@pytest.mark.parametrize("line", [
    "2026-11-26,c1,A,100,10,5.00,1",
    "2026-11-20,c1,A,0,5,5.00,1",
    "2026-11-20,c1,Total Recall,100,10,5.00,1",
    "2026-11-20,c1,NA,100,10,5.00,",
    "2026-11-20,c1,A,100,10,0,0",
])
def test_rows_that_load(line):
    good, quarantine = _checked(GOOD, line)
    assert quarantine.empty
    assert good.index.tolist() == [2, 3]


def test_blank_metric_cells_are_missing_not_zero():
    good, _ = _checked("2026-11-20,c1,A,100,10,5.00,-")
    values = good.loc[2, ["impressions", "clicks", "spend", "conversions"]].tolist()
    assert values[:3] == [100, 10, 5.0] and math.isnan(values[3])


def test_a_row_covering_more_than_one_day_is_not_a_daily_figure():
    good, quarantine = _checked("2026-11-01,2026-11-30,A,100,5", "2026-11-01,2026-11-01,B,100,5",
                                header="Reporting starts,Reporting ends,Campaign name,Impressions,Amount spent (USD)")
    assert quarantine["reason"].to_dict() == {2: "not a single day"}
    assert good.index.tolist() == [3]


def test_exact_repeats_are_duplicates_and_differing_repeats_conflict():
    good, quarantine = _checked(GOOD, GOOD, "2026-11-21,c1,A,100,10,5.00,1", "2026-11-21,c1,A,100,10,6.00,1")
    assert good["duplicate"].to_dict() == {2: False, 3: True}
    assert quarantine["reason"].to_dict() == {4: CONFLICT, 5: CONFLICT}


def test_a_bad_row_keeps_the_rest_of_its_campaign_day_out():
    good, quarantine = _checked(GOOD, "2026-11-20,c0,Zero,100,10,-1.00,1", "2026-11-21,c0,Zero,100,10,5.00,1")
    assert quarantine["reason"].to_dict() == {2: INCOMPLETE, 3: "negative spend"}
    assert good.index.tolist() == [4]


def test_segment_rows_are_summed_per_campaign_and_day():
    header = "Day,Campaign,Device,Impressions,Clicks,Cost"
    good, quarantine = _checked("2026-11-20,A,Mobile,100,10,1.10", "2026-11-20,A,Desktop,50,5,2.25",
                                "2026-11-20,A,Desktop,50,5,2.25", "2026-11-21,A,Mobile,10,1,0.01", header=header)
    assert quarantine.empty
    assert good["duplicate"].tolist() == [False, False, True, False]
    records = daily_records(good.assign(campaign_pk=1))
    assert records[["impressions", "clicks", "spend", "rows"]].values.tolist() == [[150, 15, 335, 2], [10, 1, 1, 1]]


def test_plan_writes_compares_only_the_metrics_the_file_has():
    day = pd.Timestamp("2026-11-01")
    records = pd.DataFrame({"campaign_pk": [1, 2, 3], "day": [day] * 3, "impressions": [10, 10, 10],
                            "clicks": [1, 1, 1], "spend": [500, 500, 500], "conversions": [0, 0, 0],
                            "conversion_value": [0, 0, 0], "rows": [1, 1, 1]})
    stored = pd.DataFrame({"campaign_pk": [1, 2], "day": [day] * 2, "impressions": [10, 10], "clicks": [1, 2],
                           "spend": [500, 500], "conversions": [300, 300], "conversion_value": [0, 0]})
    plan = plan_writes(records, stored, ["impressions", "clicks", "spend"])
    assert plan["action"].tolist() == ["same", "update", "insert"]


# The currency each fixture export is in.
CURRENCIES = {Platform.GOOGLE_ADS: "USD", Platform.META: "USD", Platform.OCEAN_ENGINE: "CNY"}


def _account(engine: Engine, platform: Platform = Platform.YANDEX_DIRECT, external_id: str = "ya-1") -> int:
    with Session(engine) as s, s.begin():
        client = s.scalars(select(Client)).first()
        if client is None:
            am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
            client = Client(slug="acme", name="Acme", industry="retail", market="RU", time_zone="Europe/Moscow",
                            currency="RUB", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        account = AdAccount(client=client, platform=platform, external_id=external_id, name=external_id,
                            currency=CURRENCIES.get(platform, "RUB"), time_zone="Europe/Moscow",
                            created_on=dt.date(2024, 1, 1))
        s.add(account)
        s.flush()
        return account.id


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Campaign, DailyMetric, ImportBatch, QuarantinedRow)}


def _metrics(engine: Engine) -> dict[tuple[str, str], tuple]:
    with Session(engine) as s:
        rows = s.execute(select(Campaign.external_id, DailyMetric.day, DailyMetric.impressions, DailyMetric.clicks,
                                DailyMetric.spend, DailyMetric.conversions, DailyMetric.conversion_value,
                                DailyMetric.import_batch_id).join(Campaign)).all()
    def cents(value: Any) -> Decimal | None:  # NULL is a metric the export left out or blank: kept missing
        return None if value is None else Decimal(value).quantize(Decimal("0.01"))

    return {(ext, day.isoformat()): (i, c, cents(s), cents(cv), cents(v), b) for ext, day, i, c, s, cv, v, b in rows}


def test_yandex_export_with_every_row_accounted_for_and_a_second_import_changing_nothing(engine):
    _account(engine)
    report = import_file(engine, EXPORTS / "yandex_direct.csv", platform="yandex_direct", account="ya-1",
                         today=TODAY)
    assert (report.rows_in, report.loaded, report.inserted, report.updated, report.quarantined,
            report.duplicates, report.campaigns_created) == (9, 6, 6, 0, 3, 0, 3)
    assert report.reconciles and not report.already_imported
    assert report.reasons == {"no metric values": 1, "missing campaign": 1, "summary row": 1}
    assert (report.first_day, report.last_day) == (dt.date(2026, 11, 1), dt.date(2026, 11, 4))
    stored = _metrics(engine)
    assert stored[("70012345", "2026-11-01")][:5] == (12345, 1234, Decimal("23456.78"), Decimal("12.00"),
                                                      Decimal("150000.00"))
    assert stored[("70012345", "2026-11-02")][3:5] == (Decimal("0.00"), Decimal("0.00"))
    assert sum(v[2] for v in stored.values()) == Decimal("84685.94")
    with Session(engine) as s:
        quarantined = s.scalars(select(QuarantinedRow).order_by(QuarantinedRow.row_number)).all()
        names = dict(s.execute(select(Campaign.external_id, Campaign.name)).tuples().all())
    assert [(q.row_number, q.reason) for q in quarantined] == [
        (8, "no metric values"), (11, "missing campaign"), (12, "summary row")]
    assert quarantined[2].raw["Дата"] == "Итого"
    assert quarantined[2].raw["Расход (руб.)"] == f"84{NBSP}785,94"
    assert names["70012347"] == "Мастер кампаний | Товары"

    before, stored = _counts(engine), _metrics(engine)
    again = import_file(engine, EXPORTS / "yandex_direct.csv", platform="yandex_direct", account="ya-1",
                        today=TODAY)
    assert again.already_imported and again.batch_id == report.batch_id
    assert (again.rows_in, again.loaded, again.quarantined, again.reasons) == (
        report.rows_in, report.loaded, report.quarantined, report.reasons)
    assert _counts(engine) == before == {"campaign": 3, "daily_metric": 6, "import_batch": 1, "quarantined_row": 3}
    assert _metrics(engine) == stored


PLATFORM_EXPORTS = [
    ("google_ads_utf16.csv", Platform.GOOGLE_ADS, (8, 6, 2, 2), "3359.20", "1234567891"),
    ("meta_bom.csv", Platform.META, (4, 4, 0, 2), "1100.69", "120210000000002"),
    ("ocean_engine.csv", Platform.OCEAN_ENGINE, (5, 4, 1, 2), "14113.40", "1780000000000001"),
    ("ocean_engine_gb18030.csv", Platform.OCEAN_ENGINE, (5, 4, 1, 2), "14113.40", "name:双十一-品牌词"),
]


def test_platform_exports(engine):
    for file, platform, counts, spend, key in PLATFORM_EXPORTS:
        _account(engine, platform, file)
        report = import_file(engine, EXPORTS / file, platform=platform.value, account=file, today=TODAY)
        assert (report.rows_in, report.loaded, report.quarantined, report.campaigns_created) == counts, file
        assert report.reconciles and set(report.reasons) <= {"summary row"}, file
        with Session(engine) as s:
            total = s.scalar(select(func.sum(DailyMetric.spend)).join(Campaign).join(AdAccount)
                             .where(AdAccount.external_id == file))
            days = s.scalars(select(DailyMetric.day).join(Campaign).join(AdAccount)
                             .where(AdAccount.external_id == file, Campaign.external_id == key)).all()
        assert Decimal(total).quantize(Decimal("0.01")) == Decimal(spend), file
        assert dt.date(2026, 11, 1) in days, file


def _xlsx(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["Campaign report, November 2026"])
    sheet.append([])
    sheet.append(["Day", "Campaign ID", "Campaign", "Device", "Impressions", "Clicks", "Cost (USD)", "Conversions"])
    sheet.append([dt.datetime(2026, 11, 1), 111, "Brand", "Mobile", 1000, 50, 12.5, 1])
    sheet.append([dt.datetime(2026, 11, 1), 111, "Brand", "Desktop", 500, 20, 7.25, 0])
    sheet.append([46328, 111.0, "Brand", "Mobile", 900, 40, "10,00", 2])
    sheet.append(["Total", None, None, None, 2400, 110, 29.75, 3])
    book.save(path)
    return path


def test_xlsx_with_title_rows_date_cells_serials_and_a_device_breakdown(engine, tmp_path):
    _account(engine, Platform.GOOGLE_ADS, "123-456-7890")
    report = import_file(engine, _xlsx(tmp_path / "report.xlsx"), platform="google_ads", account="123-456-7890",
                         today=TODAY)
    assert (report.rows_in, report.loaded, report.quarantined, report.duplicates) == (4, 3, 1, 0)
    assert report.summed_over == ["Device"]
    assert report.examples[0].row == 7 and report.examples[0].raw["Day"] == "Total"
    stored = _metrics(engine)
    assert stored[("111", "2026-11-01")][:4] == (1500, 70, Decimal("19.75"), Decimal("1.00"))
    assert stored[("111", "2026-11-02")][:3] == (900, 40, Decimal("10.00"))


def test_parquet(engine, tmp_path):
    _account(engine, Platform.META, "act_1")
    path = tmp_path / "export.parquet"
    pd.DataFrame({
        "date": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-02"]),
        "campaign_id": [5, 5, 6], "campaign_name": ["A", "A", "B"], "impressions": [10, 20, 5],
        "clicks": [1, 2, 9], "spend": [1.5, 2.25, 3.0],
    }).to_parquet(path)
    report = import_file(engine, path, platform="generic", account="act_1", today=TODAY)
    assert (report.rows_in, report.loaded, report.quarantined) == (3, 2, 1)
    assert report.reasons == {"clicks above impressions": 1}
    assert report.examples[0].row == 4
    assert _metrics(engine)[("5", "2026-11-02")][:3] == (20, 2, Decimal("2.25"))


def _csv(path: Path, *lines: str, header: str = "Day,Campaign ID,Campaign,Impressions,Clicks,Cost,Conversions") -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_a_restated_file_updates_changed_days_and_leaves_the_rest(engine, tmp_path):
    _account(engine, Platform.GOOGLE_ADS, "g")
    first = import_file(engine, _csv(tmp_path / "v1.csv", "2026-11-01,1,A,100,10,5.00,1",
                                     "2026-11-02,1,A,200,20,10.00,2", "2026-11-03,1,A,300,30,15.00,3"),
                        platform="google_ads", account="g", today=TODAY)
    second = import_file(engine, _csv(tmp_path / "v2.csv", "2026-11-01,1,A,100,10,6.00",
                                      "2026-11-01,1,A,100,10,7.00", "2026-11-02,1,A,200,20,10.00",
                                      "2026-11-03,1,A,310,31,15.50", "2026-11-04,1,A,400,40,20.00",
                                      header="Day,Campaign ID,Campaign,Impressions,Clicks,Cost"),
                         platform="google_ads", account="g", today=TODAY)
    assert (second.rows_in, second.inserted, second.updated, second.duplicates, second.quarantined) == (5, 1, 1, 1, 2)
    assert second.reasons == {CONFLICT: 2} and second.reconciles and second.campaigns_created == 0
    stored = _metrics(engine)
    # Neither file has a revenue column, and the second none for conversions: those stay missing, never 0.
    assert stored[("1", "2026-11-01")] == (100, 10, Decimal("5.00"), Decimal("1.00"), None, first.batch_id)
    assert stored[("1", "2026-11-02")][-1] == first.batch_id
    assert stored[("1", "2026-11-03")] == (310, 31, Decimal("15.50"), Decimal("3.00"), None, second.batch_id)
    assert stored[("1", "2026-11-04")][:4] == (400, 40, Decimal("20.00"), None)


def test_known_campaigns_only_quarantines_rows_of_campaigns_not_in_the_account(engine):
    account_id = _account(engine, Platform.META, "act_1")
    with Session(engine) as s, s.begin():
        s.add(Campaign(account_id=account_id, external_id="120210000000001", name="Prospecting",
                       created_on=dt.date(2026, 1, 1)))
    report = import_file(engine, EXPORTS / "meta_bom.csv", platform="meta", account="act_1",
                         known_campaigns_only=True, today=TODAY)
    assert (report.loaded, report.quarantined, report.campaigns_created) == (2, 2, 0)
    assert report.reasons == {"unknown campaign": 2}
    assert _counts(engine)["campaign"] == 1


def test_a_file_without_ids_finds_campaigns_by_name(engine):
    account_id = _account(engine, Platform.OCEAN_ENGINE, "oe")
    with Session(engine) as s, s.begin():
        s.add(Campaign(account_id=account_id, external_id="1780000000000001", name="双十一-品牌词",
                       created_on=dt.date(2026, 1, 1)))
    report = import_file(engine, EXPORTS / "ocean_engine_gb18030.csv", platform="ocean_engine", account="oe",
                         today=TODAY)
    assert report.campaigns_created == 1 and report.loaded == 4
    assert set(_metrics(engine)) == {("1780000000000001", "2026-11-01"), ("1780000000000001", "2026-11-02"),
                                     ("name:双十一-信息流", "2026-11-01"), ("name:双十一-信息流", "2026-11-02")}


def test_a_failure_mid_import_leaves_nothing_behind(engine, monkeypatch):
    _account(engine)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("tasks.ingest.write._write_quarantine", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(engine, EXPORTS / "yandex_direct.csv", platform="yandex_direct", account="ya-1", today=TODAY)
    assert _counts(engine) == {"campaign": 0, "daily_metric": 0, "import_batch": 0, "quarantined_row": 0}


def test_accounts_are_found_by_platform_and_external_id(engine):
    _account(engine, Platform.META, "act_1")
    with pytest.raises(CadenceError, match=r"no yandex_direct account 'nope': `cadence account list`"):
        import_file(engine, EXPORTS / "yandex_direct.csv", platform="yandex_direct", account="nope")
    with pytest.raises(CadenceError, match=r"no google_ads account 'act_1' \(there is one on meta\)"):
        import_file(engine, EXPORTS / "meta_bom.csv", platform="google_ads", account="act_1")
    assert import_file(engine, EXPORTS / "meta_bom.csv", platform="generic", account="act_1", today=TODAY).loaded == 4
    _account(engine, Platform.VK, "act_1")
    with pytest.raises(CadenceError, match="account 'act_1' exists on meta, vk: pass --platform"):
        import_file(engine, EXPORTS / "yandex_direct.csv", platform="generic", account="act_1")


def test_missing_file_and_unknown_platform_fail_before_the_database_is_asked(tmp_path):
    nowhere = create_engine("sqlite://")
    with pytest.raises(CadenceError, match="no such file"):
        import_file(nowhere, tmp_path / "nope.csv", platform="meta", account="act_1")
    with pytest.raises(CadenceError, match="unknown platform"):
        import_file(nowhere, EXPORTS / "meta_bom.csv", platform="facebook ads", account="act_1")


def test_blank_cells_are_stored_missing_and_the_sweep_calls_the_day_an_incomplete_export(engine, tmp_path):
    """The issue's case: spend arrived with impressions, clicks and conversions blank."""
    from tasks.detect.run import run_detectors
    from tasks.metrics import load_sweep_frames

    _account(engine, Platform.GOOGLE_ADS, "g")
    history = [f"2026-11-{d:02d},1,A,1000,50,100.00,5" for d in range(1, 24)]
    path = _csv(tmp_path / "blank.csv", *history, "2026-11-24,1,A,,,300.00,")
    report = import_file(engine, path, platform="google_ads", account="g", today=TODAY)
    assert (report.loaded, report.quarantined) == (24, 0)
    assert _metrics(engine)[("1", "2026-11-24")][:4] == (None, None, Decimal("300.00"), None)
    assert _metrics(engine)[("1", "2026-11-23")][:4] == (1000, 50, Decimal("100.00"), Decimal("5.00"))

    again = import_file(engine, _csv(tmp_path / "again.csv", "2026-11-24,1,A,,,300.00,", history[-1]),
                        platform="google_ads", account="g", today=TODAY)
    assert (again.inserted, again.updated, again.duplicates) == (0, 0, 2)  # NULL equals NULL: nothing changed

    with Session(engine) as s:
        client_id = s.scalar(select(Client.id))
    frames = load_sweep_frames(engine, [client_id], dt.date(2026, 11, 24))
    found = run_detectors(frames.metrics, frames.campaigns, frames.accounts, frames.clients, dt.date(2026, 11, 24),
                          peaks=frames.peaks)
    assert "spend_without_conversions" not in set(found["detector"])
    quality = found[(found["detector"] == "data_quality") & found["subject"].str.startswith("campaign:")].iloc[0]
    assert quality["evidence"]["issues"][0]["issue"] == "export_incomplete"


def test_yandex_writes_zero_as_a_dash_and_that_stays_zero(engine, tmp_path):
    _account(engine)
    path = tmp_path / "ya.csv"
    path.write_text("Дата;№ Кампании;Кампания;Показы;Клики;Расход (руб.);Конверсии\n"
                    "24.11.2026;7001;Поиск;1 000;50;500,00;--\n"
                    "24.11.2026;7002;РСЯ;2 000;60;400,00;\n", encoding="utf-8")
    import_file(engine, path, platform="yandex_direct", account="ya-1", today=TODAY)
    stored = _metrics(engine)
    assert stored[("7001", "2026-11-24")][3] == Decimal("0.00")
    assert stored[("7002", "2026-11-24")][3] is None
