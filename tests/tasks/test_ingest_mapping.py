"""Exports nobody here wrote: header notes in any brackets, --map, currencies, dates without a year, text columns."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pandas as pd
import pytest

from tasks.errors import CadenceError
from tasks.ingest.cells import date_trouble, parse_dates
from tasks.ingest.map import (
    describe_mapping,
    header_currency,
    map_columns,
    money_factors,
    normalise,
    parse_map,
    parse_rates,
    with_text_columns,
)
from tasks.ingest.read import read_export
from tasks.ingest.validate import CONFLICT, daily_records, validate

TODAY = dt.date(2026, 11, 26)


@pytest.mark.parametrize("header", [
    "Cost", "Cost [EUR]", "Cost (EUR)", "Cost, EUR", "COST（EUR）", "cost_(eur)", " Cost  [ EUR ] ", "Cost【EUR】",
])
def test_bracket_styles_read_alike(header):
    assert map_columns(["Day", "Campaign", "Clicks", header], "generic").fields["spend"] == 3


@pytest.mark.parametrize(("header", "field"), [
    ("花费（元）", "spend"), ("消耗【元】", "spend"), ("Расход, руб.", "spend"), ("Расход (руб.)", "spend"),
    ("Amount spent (USD)", "spend"), ("Conv. value [EUR]", "conversion_value"), ("Доход, ₽", "conversion_value"),
])
def test_currency_notes_in_any_language_leave_the_field(header, field):
    others = ["Date", "Campaign", "Clicks"] + ([] if field == "spend" else ["Cost"])
    assert map_columns([*others, header], "generic").fields[field] == len(others)


@pytest.mark.parametrize(("header", "expected"), [
    ("Cost [EUR]", {"EUR"}), ("Cost (EUR)", {"EUR"}), ("Cost, EUR", {"EUR"}), ("花费（元）", {"CNY"}),
    ("Расход, руб.", {"RUB"}), ("Расход (руб.)", {"RUB"}), ("Spend ($)", {"USD", "CAD", "AUD", "NZD", "HKD", "SGD",
                                                                         "TWD", "MXN"}),
    ("Cost (RMB)", {"CNY"}), ("Cost", None), ("Clicks (all)", None), ("Cost (gross)", None), ("Cost, net", None),
])
def test_header_currency(header, expected):
    assert header_currency(header) == (None if expected is None else frozenset(expected))


def _table(*lines: str):
    return read_export("\n".join(lines).encode(), "export.csv")


@pytest.mark.parametrize(("lines", "currency", "rates", "expected"), [
    (["Day,Campaign,Clicks,Cost [EUR]", "2026-11-01,A,1,2.00"], "EUR", None, {}),
    (["Day,Campaign,Clicks,Cost", "2026-11-01,A,1,€2.00"], "EUR", None, {}),
    (["Day,Campaign,Clicks,Cost,Currency code", "2026-11-01,A,1,2.00,EUR"], "EUR", None, {}),
    (["Day,Campaign,Clicks,Cost ($)", "2026-11-01,A,1,2.00"], "CAD", None, {}),
    (["Day,Campaign,Clicks,Cost [EUR]", "2026-11-01,A,1,2.00"], "USD", {"EUR": Decimal("1.08")},
     {"spend": Decimal("1.08")}),
    (["Day,Campaign,Clicks,Cost,Conv. value (EUR)", "2026-11-01,A,1,2.00,3"], "USD", {"EUR": Decimal("1.1")},
     {"conversion_value": Decimal("1.1")}),
])
def test_money_in_the_account_currency_or_converted_at_a_given_rate(lines, currency, rates, expected):
    raw = _table(*lines)
    columns = map_columns(raw.header, "generic")
    assert money_factors(raw, columns, currency, rates, name="export.csv", account="a1")[0] == expected


@pytest.mark.parametrize(("lines", "currency", "where"), [
    (["Day,Campaign,Clicks,Cost [EUR]", "2026-11-01,A,1,2.00"], "RUB", "the column 'Cost [EUR]' is in EUR"),
    (["Day,Campaign,Clicks,Cost", "2026-11-01,A,1,€2.00"], "RUB", "'€' in the 'Cost' cells is in EUR"),
    (["Day,Campaign,Clicks,Cost,Currency code", "2026-11-01,A,1,2.00,USD"], "EUR",
     "the 'Currency code' column (USD) is in USD"),
    (["日期,计划名称,点击数,花费（元）", "2026-11-01,A,1,2.00"], "USD", "the column '花费（元）' is in CNY"),
    (["Дата;Кампания;Клики;Расход, руб.", "01.11.2026;A;1;2,00"], "KZT", "the column 'Расход, руб.' is in RUB"),
])
def test_a_currency_other_than_the_account_is_refused_with_the_way_out(lines, currency, where):
    raw = _table(*lines)
    with pytest.raises(CadenceError) as caught:
        money_factors(raw, map_columns(raw.header, "generic"), currency, None, name="export.csv", account="a1")
    message = str(caught.value)
    assert where in message and f"account a1 is in {currency}" in message and "--rate" in message


@pytest.mark.parametrize(("items", "expected"), [
    (["Amount Spent=spend"], {"Amount Spent": "spend"}),
    (["a=b=conversions"], {"a=b": "conversions"}),
    ([" Displays = Impressions "], {"Displays": "impressions"}),
    (["Banner size=segment", "CTR=ignore"], {"Banner size": "segment", "CTR": "ignore"}),
    (["Conversion value=conversion value"], {"Conversion value": "conversion_value"}),
])
def test_parse_map(items, expected):
    assert parse_map(items) == expected


@pytest.mark.parametrize(("items", "expected"), [
    (["spend"], re.escape('is not HEADER=field (e.g. --map "Amount Spent=spend")')),
    (["=spend"], "is not HEADER=field"),
    (["Cost=money"], "'money' is not a field; use one of day, campaign_id, campaign_name"),
])
def test_bad_map_items_show_the_syntax(items, expected):
    with pytest.raises(CadenceError, match=expected):
        parse_map(items)


@pytest.mark.parametrize(("items", "expected"), [
    (["EUR=1.08"], {"EUR": Decimal("1.08")}), (["usd=90,5"], {"USD": Decimal("90.5")}),
])
def test_parse_rates(items, expected):
    assert parse_rates(items) == expected


@pytest.mark.parametrize("item", ["EUR", "EUR=0", "EUR=-1", "XXX=2", "EUR=abc", "EUR=nan"])
def test_bad_rates_are_refused(item):
    with pytest.raises(CadenceError, match="is not CODE=RATE"):
        parse_rates([item])


def test_a_map_names_the_columns_no_alias_knows_and_can_sum_over_or_ignore_a_column():
    header = ["month", "day", "campaign_number", "displays", "cost", "clicks", "slot", "revenue"]
    mapping = {"Campaign_Number": "campaign_name", "DISPLAYS": "impressions", "slot": "segment", "revenue": "ignore"}
    columns = map_columns(header, "generic", mapping=mapping)
    assert columns.fields == {"day": 1, "campaign_name": 2, "impressions": 3, "clicks": 5, "spend": 4}
    assert columns.segments == {"slot": 6}
    assert columns.month_column == 0
    assert columns.ignored == frozenset({7})


def test_a_map_wins_over_the_aliases():
    columns = map_columns(["Day", "Campaign", "Clicks", "Cost", "Cost (gross)"], "generic",
                          mapping={"Cost (gross)": "spend", "Cost": "ignore"})
    assert columns.fields["spend"] == 4


def test_the_error_for_an_unknown_header_lists_the_accepted_names_and_the_map_syntax():
    with pytest.raises(CadenceError) as caught:
        map_columns(["Date", "Campaign", "Clicks", "Amount Spent in Total"], "meta", name="report.csv")
    message = str(caught.value)
    assert message.startswith("report.csv: no column for spend in the meta mapping")
    assert "accepted names — spend: 'amount spent', 'spend'" in message
    assert "`cadence import --show-mapping meta`" in message
    assert 'or say which column it is with --map "HEADER=spend"' in message
    assert "\n" not in message


def test_describe_mapping_lists_every_field_then_the_breakdowns():
    rows = dict(describe_mapping("yandex"))
    assert rows["spend"] == ("расход", "расход всего", "cost")
    assert "баннер" in rows["segment (summed over)"] and "аудитория" in rows["segment (summed over)"]
    assert list(rows)[:8] == ["day", "campaign_id", "campaign_name", "impressions", "clicks", "spend",
                              "conversions", "conversion_value"]


def _frame(*lines: str, year: int | None = None, date_format: str | None = None, mapping=None):
    raw = _table(*lines)
    columns = with_text_columns(raw, map_columns(raw.header, "generic", mapping=mapping))
    return raw, columns, normalise(raw, columns, year=year, date_format=date_format)


def test_unknown_text_columns_are_summed_over_and_numeric_ones_left_unread():
    raw, columns, frame = _frame(
        "Day,Campaign,Banner,Audience,Clicks,Cost,CTR",
        "2026-11-20,A,160 x 600,Lookalike,10,1.10,5%",
        "2026-11-20,A,300 x 250,Lookalike,5,2.25,3%",
        "2026-11-20,A,300 x 250,Broad,1,0.50,1%",
    )
    assert list(columns.segments) == ["Banner", "Audience"]
    assert list(columns.extras) == ["CTR"]
    good, quarantine = validate(frame, today=TODAY)
    assert quarantine.empty
    assert daily_records(good.assign(campaign_pk=1))[["clicks", "spend", "rows"]].values.tolist() == [[16, 385, 3]]


def test_breakdown_sums_are_exact_decimals_rounded_once():
    _, _, frame = _frame(
        "day,campaign,placement,clicks,cost,conversions",
        "2026-11-20,A,abc,1,0.006,0.004",
        "2026-11-20,A,def,1,26.7824,0.004",
        "2026-11-20,A,ghi,1,27.9406,0.004",
        "2026-11-20,A,mno,1,216.875,0",
        "2026-11-21,A,abc,1,0.285,0.005",
    )
    good, _ = validate(frame, today=TODAY)
    records = daily_records(good.assign(campaign_pk=1))
    # Row by row the cents would be 0.01 + 26.78 + 27.94 + 216.88 = 271.61 and 0.00 × 3 conversions.
    assert records[["spend", "conversions"]].values.tolist() == [[27160, 1], [29, 1]]


def test_rows_that_conflict_only_through_an_unread_column_say_so():
    _, _, frame = _frame(
        "Day,Campaign,Slot,CTR,Clicks,Cost",
        "2026-11-20,A,1,5%,10,1.10",
        "2026-11-20,A,2,3%,5,2.25",
        "2026-11-21,A,1,3%,5,2.25",
    )
    _, quarantine = validate(frame, today=TODAY)
    reason = ("conflicting duplicate: the rows differ only in 'Slot', 'CTR', not a column Cadence reads; "
              "if it is a breakdown, --map \"Slot=segment\" sums over it")
    assert quarantine["reason"].to_dict() == {2: reason, 3: reason}
    _, _, mapped = _frame("Day,Campaign,Slot,CTR,Clicks,Cost", "2026-11-20,A,1,5%,10,1.10",
                          "2026-11-20,A,2,3%,5,2.25", mapping={"Slot": "segment"})
    assert validate(mapped, today=TODAY)[1].empty


def test_a_plain_conflict_stays_plain():
    _, _, frame = _frame("Day,Campaign,Clicks,Cost", "2026-11-20,A,10,1.10", "2026-11-20,A,5,2.25")
    assert set(validate(frame, today=TODAY)[1]["reason"]) == {CONFLICT}


@pytest.mark.parametrize(("cells", "year", "date_format", "expected"), [
    (["24.11", "25.11"], 2026, None, ["2026-11-24", "2026-11-25"]),
    (["11/24", "11/25"], 2026, None, ["2026-11-24", "2026-11-25"]),
    (["Nov 24", "Nov 25"], 2026, None, ["2026-11-24", "2026-11-25"]),
    (["24 ноября", "25 ноя"], 2026, None, ["2026-11-24", "2026-11-25"]),
    (["11月24日", "11月25日"], 2026, None, ["2026-11-24", "2026-11-25"]),
    (["2026-11-24", "24.11"], 2026, None, ["2026-11-24", "2026-11-24"]),
    (["24.11", "25.11"], None, None, [None, None]),
    (["24|11|26", "x"], None, "%d|%m|%y", ["2026-11-24", None]),
    (["24/11", "25/11"], 2026, "%d/%m", ["2026-11-24", "2026-11-25"]),
    (["11-24", "11-25"], 2025, "%m-%d", ["2025-11-24", "2025-11-25"]),
])
def test_dates_without_a_year_with_year_or_format(cells, year, date_format, expected):
    parsed = parse_dates(pd.Series(cells, dtype=object), year=year, date_format=date_format)
    assert [None if pd.isna(d) else d.date().isoformat() for d in parsed] == expected


def test_a_month_column_and_days_of_the_month_make_dates_with_a_year():
    lines = ["month,day,campaign,clicks,cost", "April,1,camp 1,1,2.00", "4,2,camp 1,1,2.00"]
    _, columns, frame = _frame(*lines, year=2026)
    assert frame["day"].dt.date.tolist() == [dt.date(2026, 4, 1), dt.date(2026, 4, 2)]
    _, _, without = _frame(*lines)
    assert without["problem"].tolist() == ["bad date", "bad date"]


@pytest.mark.parametrize(("cells", "month", "expected"), [
    (["1", "2", "31"], None, "the 'Day' column holds days of the month (1), not dates, and no column gives the month"),
    (["1", "2"], "Month", "the 'Day' column holds days of the month (1) and 'Month' the month: give --year"),
    (["24.11", "25.11"], None, "the 'Day' column has dates without a year ('24.11'): give --year"),
    (["Nov 24", "Nov 25"], None, "the 'Day' column has dates without a year ('Nov 24'): give --year"),
    (["week 47", "week 48"], None, "the 'Day' column is not dates Cadence reads ('week 47'): give --date-format"),
])
def test_date_trouble_names_the_option_that_helps(cells, month, expected):
    assert date_trouble(pd.Series(cells, dtype=object), "Day", month).startswith(expected)


def test_the_docs_list_every_accepted_header():
    from pathlib import Path

    from tasks.mappings import PLATFORM_ALIASES

    docs = (Path(__file__).parents[2] / "docs" / "imports.md").read_text()
    for platform in ("google_ads", "meta", "yandex_direct", "vk", "ocean_engine"):
        section = docs.split(f"### {platform}\n", 1)[1].split("###", 1)[0]
        for field, aliases in PLATFORM_ALIASES[platform].items():
            row = next(line for line in section.splitlines() if line.startswith(f"| `{field}` |"))
            assert all(f"`{a}`" in row for a in aliases), (platform, field)
    for _, names in describe_mapping("generic")[8:]:
        assert all(f"`{n}`" in docs for n in names)


def test_a_header_nobody_knows_is_found_through_the_mapping():
    data = "Informe de campañas\nFecha;Campaña;Clics;Coste (EUR)\n02/11/2026;Marca;5;1,50\n".encode()
    with pytest.raises(CadenceError, match=r'no recognisable header .*name its columns with --map "HEADER=field"'):
        read_export(data, "informe.csv")
    mapping = {"Fecha": "day", "Campaña": "campaign_name", "Clics": "clicks", "Coste": "spend"}
    raw = read_export(data, "informe.csv", known=mapping)
    assert raw.header == ["Fecha", "Campaña", "Clics", "Coste (EUR)"] and "header on line 2" in raw.source
    # "Coste" names "Coste (EUR)": a --map need not repeat the currency note.
    columns = map_columns(raw.header, "generic", mapping=mapping)
    assert columns.fields == {"day": 0, "campaign_name": 1, "clicks": 2, "spend": 3}


RUSSIAN = ("Дата;Кампания;Показы;Клики;Расход\n01.11.2026;Поиск по бренду;1 000;10;100,50\n"
           "02.11.2026;Ретаргетинг;2 000;20;200,50\n")


@pytest.mark.parametrize("encoding", ["koi8_r", "cp866", "iso8859_5", "mac_cyrillic"])
def test_encodings_no_list_here_names_are_read_through_charset_normalizer(encoding):
    raw = read_export(RUSSIAN.encode(encoding), "export.csv")
    assert raw.header[:2] == ["Дата", "Кампания"]
    assert raw.rows.loc[2, 1] == "Поиск по бренду"
