"""The import parser under fuzzing: any bytes, any CSV dialect, extreme numbers and odd header Unicode."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import math
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, Client, DailyMetric, ImportBatch, QuarantinedRow, Staff
from models.enums import Platform, StaffRole
from tasks.errors import CadenceError
from tasks.ingest.cells import parse_numbers
from tasks.ingest.map import map_columns, normalise
from tasks.ingest.read import read_export
from tasks.ingest.validate import EARLIEST_DAY, LIMITS, daily_records, validate
from tasks.ingest.write import import_file
from tasks.mappings import INTEGER_METRICS, METRICS, PLATFORM_ALIASES

FUZZ = settings.get_profile("cadence-fuzz")
TODAY = dt.date(2026, 11, 25)
NAMES = ("export.csv", "export.xlsx", "export.parquet", "export.txt")
NBSP, NNBSP = "\u00a0", "\u202f"
# What the columns hold: BIGINT counts, NUMERIC(18, 2) money, NUMERIC(14, 2) conversions (in hundredths here).
COLUMN_MAX = {"impressions": 2**63 - 1, "clicks": 2**63 - 1, "spend": 10**18 - 1, "conversions": 10**14 - 1,
              "conversion_value": 10**18 - 1}


def pipeline(data: bytes, name: str = "export.csv") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What import_file does before it touches the database: (parsed rows, loadable rows, quarantined rows)."""
    raw = read_export(data, name)
    frame = normalise(raw, map_columns(raw.header, "generic", name=name), day_first=True)
    good, quarantine = validate(frame, today=TODAY)
    assert frame.index.equals(raw.rows.index)
    return frame, good, quarantine


def assert_one_line(error: CadenceError) -> None:
    message = str(error)
    assert message.strip() and "\n" not in message and "\r" not in message, repr(message)


def records_by_key(good: pd.DataFrame) -> dict[tuple[str, str], dict[str, int]]:
    """The daily records import_file would write, keyed by (campaign key, ISO day); money in hundredths."""
    if good.empty:
        return {}
    codes, keys = pd.factorize(good["campaign_key"])
    records = daily_records(good.assign(campaign_pk=codes))
    return {(keys[r["campaign_pk"]], r["day"].date().isoformat()):
            {m: None if pd.isna(r[m]) else int(r[m]) for m in METRICS} for r in records.to_dict("records")}


def assert_loadable(frame: pd.DataFrame, good: pd.DataFrame, quarantine: pd.DataFrame) -> None:
    """Every row loads or is quarantined with a reason, and what loads fits the database columns."""
    assert len(good) + len(quarantine) == len(frame)
    assert set(good.index).isdisjoint(quarantine.index)
    assert all(isinstance(r, str) and r for r in quarantine["reason"])
    for metric in METRICS:
        values = good[metric].dropna()  # NaN is a blank cell or an absent column: missing, stored as NULL
        assert values.map(math.isfinite).all() and (values >= 0).all() and (values < LIMITS[metric]).all()
    if not good.empty:
        assert good["day"].min() >= pd.Timestamp(EARLIEST_DAY)
        assert good["day"].max() <= pd.Timestamp(TODAY + dt.timedelta(days=1))
    # Breakdown rows are summed per campaign and day: the sum has to fit the column too.
    for key, record in records_by_key(good).items():
        for metric, value in record.items():
            assert value is None or 0 <= value <= COLUMN_MAX[metric], f"{key} {metric} sums to {value}, past its column"


def _xlsx_seed() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Report"])
    sheet.append(["Day", "Campaign", "Device", "Impressions", "Clicks", "Cost (USD)"])
    sheet.append([dt.datetime(2026, 11, 1), "Brand", "Mobile", 1000, 50, 12.5])
    sheet.append([46328, "Brand", "Desktop", 900, 40, "10,00"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _parquet_seed(campaign: str = "A") -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"date": pd.to_datetime(["2026-11-01", "2026-11-02"]), "campaign_name": [campaign, "B"],
                  "impressions": [10, 20], "clicks": [1, 2], "spend": [1.5, 2.25]}).to_parquet(buffer)
    return buffer.getvalue()


CSV_SEED = "Дата;Кампания;Показы;Клики;Расход, руб.\r\n01.11.2026;Поиск;1 000;10;100,50\r\n".encode("cp1251")
SEEDS = (CSV_SEED, codecs.BOM_UTF8 + b"Day,Campaign,Clicks,Cost\n2026-11-01,Brand,5,1.00\n", _xlsx_seed(),
         _parquet_seed())
MAGIC = (b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", codecs.BOM_UTF8, codecs.BOM_UTF16_LE,
         codecs.BOM_UTF16_BE, b"Day,Campaign,Clicks,Cost\n", "日期,计划名称,展示数,消耗\n".encode("gb18030"))
TOKENS = ("Day", "Campaign", "Cost", "Clicks", "Impressions", "Device", "Total", "Итого", "2026-11-01", "01.11.2026",
          "1e308", "-1e999", "inf", "nan", "1,234,567,890.12", "1 234 567,89", "9" * 40, "(5.00)", "—", "",
          ",", ";", "\t", "|", '"', "\n", "\r\n", "\r", " ", "\x00", "\ufeff", "\u200b", "é", "日期", "<script>")


def _mutate(seed: bytes, edits: list[tuple[int, bytes]], keep: float) -> bytes:
    data = bytearray(seed)
    for position, chunk in edits:
        position %= len(data) + 1
        data[position:position + len(chunk)] = chunk
    return bytes(data[: max(1, int(len(data) * keep))])


mutated = st.builds(_mutate, st.sampled_from(SEEDS),
                    st.lists(st.tuples(st.integers(0, 10**5), st.binary(min_size=1, max_size=8)), max_size=5),
                    st.sampled_from([1.0, 1.0, 0.9, 0.5, 0.1]))
texts = st.builds(lambda head, cells, encoding: (head + "".join(cells)).encode(encoding, errors="replace"),
                  st.sampled_from(["Day,Campaign,Clicks,Cost\n", "Дата;Кампания;Клики;Расход\n", ""]),
                  st.lists(st.sampled_from(TOKENS), max_size=60),
                  st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1251", "gb18030"]))
any_bytes = st.one_of(st.binary(max_size=600), st.tuples(st.sampled_from(MAGIC), st.binary(max_size=300)).map(b"".join),
                      mutated, texts)


@settings(FUZZ, max_examples=80)
@given(data=any_bytes, name=st.sampled_from(NAMES))
@example(data=b"Day,Campaign,Clicks,Cost\n" + b"2026-11-01,Brand,5,1.00\n" * 300 + b"2026-11-02,A\x00B,5,1.00\n",
         name="export.csv")  # a NUL past the first 4 kB: PostgreSQL cannot store it, so the file is refused
@example(data=_parquet_seed("A\x00B"), name="export.parquet")
def test_any_bytes_parse_or_fail_with_a_one_line_cadence_error(data, name):
    try:
        frame, good, quarantine = pipeline(data, name)
    except CadenceError as error:
        assert_one_line(error)
        return
    assert_loadable(frame, good, quarantine)
    for column in ("campaign_key", "campaign_name"):
        assert not good[column].str.contains("\x00").any(), "a NUL would reach PostgreSQL"


# --- CSV dialects: a known table written every way an export might be, read back to the same values ---

HEADERS = {
    "en": ("Day", "Campaign", "Impressions", "Clicks", "Cost"),
    "ru": ("Дата", "Кампания", "Показы", "Клики", "Расход, руб."),
    "zh": ("日期", "计划名称", "展示数", "点击数", "消耗（元）"),
}
PREFIXES = {"en": ("Brand", "Retargeting", "Search"), "ru": ("Поиск", "Бренд", "Ретаргетинг"),
            "zh": ("品牌词", "双十一", "信息流")}
ENCODINGS = {"utf-8": ("en", "ru", "zh"), "utf-8-sig": ("en", "ru", "zh"), "utf-16": ("en", "ru", "zh"),
             "utf-16-le+bom": ("en", "ru", "zh"), "utf-16-be+bom": ("en", "ru", "zh"), "cp1251": ("ru",),
             "gb18030": ("zh",)}
ASCII_NAME = "abcXYZ019 -_.,;|\t\"'()&%$#/<>{}\n"
CP1251_NAME = ASCII_NAME + "абвгдеёжЯЮЭ«»№–—"
DAY_FORMATS = {"iso": "%Y-%m-%d", "dots": "%d.%m.%Y", "slashes": "%Y/%m/%d", "cjk": "%Y年%m月%d日"}
QUOTING = (csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC)
GROUPING = {"plain": ("", "."), "us": (",", "."), "eu": (".", ","), "ru": (" ", ","), "nbsp": (NBSP, ","),
            "nnbsp": (NNBSP, ","), "swiss": ("'", ".")}


def _grouped(number: int, separator: str) -> str:
    return f"{number:,}".replace(",", separator)


def money_text(cents: int, style: str) -> str:
    separator, mark = GROUPING[style]
    return f"{_grouped(cents // 100, separator)}{mark}{cents % 100:02d}"


def count_text(count: int, style: str) -> str:
    return _grouped(count, GROUPING[style][0])


def _encode(text: str, encoding: str, errors: str = "strict") -> bytes:
    if encoding.endswith("+bom"):
        codec = encoding.removesuffix("+bom")
        return (codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE) + text.encode(codec, errors)
    return text.encode(encoding, errors)


@st.composite
def dialects(draw: st.DrawFn) -> dict:
    encoding = draw(st.sampled_from(sorted(ENCODINGS)))
    return {"encoding": encoding, "language": draw(st.sampled_from(ENCODINGS[encoding])),
            "delimiter": draw(st.sampled_from([",", ";", "\t", "|"])), "quoting": draw(st.sampled_from(QUOTING)),
            "newline": draw(st.sampled_from(["\n", "\r\n"])), "title": draw(st.booleans())}


@st.composite
def tables(draw: st.DrawFn, language: str, encoding: str) -> dict:
    """A table of distinct campaign days, with the formats it is written in."""
    chars = CP1251_NAME if encoding == "cp1251" else st.characters(
        exclude_categories=("Cs", "Cc"), exclude_characters="\x00") | st.sampled_from(list(ASCII_NAME))
    name = st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(PREFIXES[language]),
                     st.text(chars, max_size=20))
    day = st.dates(dt.date(2024, 1, 1), dt.date(2026, 11, 20))
    keys = draw(st.lists(st.tuples(day, name), min_size=1, max_size=6,
                         unique_by=lambda k: (k[0], _collapsed(k[1]).casefold())))
    rows = []
    for when, campaign in keys:
        impressions = draw(st.integers(0, 10**12))
        rows.append({"day": when, "campaign": campaign, "impressions": impressions,
                     "clicks": draw(st.integers(0, min(impressions, 10**9))), "cents": draw(st.integers(0, 10**13))})
    formats = ["iso", "dots", "slashes"] + (["cjk"] if encoding != "cp1251" else [])
    return {"rows": rows, "days": draw(st.sampled_from(formats)), "numbers": draw(st.sampled_from(sorted(GROUPING))),
            "order": draw(st.permutations(range(5)))}


def _collapsed(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip()


def write_csv(table: dict, dialect: dict) -> bytes:
    header = HEADERS[dialect["language"]]
    style = table["numbers"]
    lines = [[r["day"].strftime(DAY_FORMATS[table["days"]]), r["campaign"], count_text(r["impressions"], style),
              count_text(r["clicks"], style), money_text(r["cents"], style)] for r in table["rows"]]
    order = table["order"]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=dialect["delimiter"], quoting=dialect["quoting"],
                        lineterminator=dialect["newline"])
    if dialect["title"]:
        writer.writerow(["Campaign report"])
        writer.writerow([])
    writer.writerow([header[i] for i in order])
    writer.writerows([[line[i] for i in order] for line in lines])
    return _encode(buffer.getvalue(), dialect["encoding"])


@st.composite
def exports(draw: st.DrawFn) -> tuple[dict, dict]:
    dialect = draw(dialects())
    return draw(tables(dialect["language"], dialect["encoding"])), dialect


@settings(FUZZ, max_examples=20)
@given(case=exports())
def test_a_table_written_in_any_dialect_reads_back_to_the_same_values(case):
    table, dialect = case
    frame, good, quarantine = pipeline(write_csv(table, dialect))
    assert quarantine.empty, quarantine["reason"].to_dict()
    assert len(frame) == len(table["rows"])
    for (_, parsed), row in zip(frame.iterrows(), table["rows"], strict=True):
        assert parsed["day"].date() == row["day"]
        assert parsed["campaign_name"] == _collapsed(row["campaign"])
        assert (parsed["impressions"], parsed["clicks"]) == (row["impressions"], row["clicks"])
        assert parsed["spend"] == pytest.approx(row["cents"] / 100, rel=1e-15)


# --- Extreme numbers: the right float, or a quarantine reason; never a crash or a column overflow ---

BLANK, UNREADABLE = "blank", "unreadable"
# (text, meaning, strict): a strict cell whose value fits must load; an exponent without a decimal point is read
# only where the column's decimal mark is a point, so elsewhere it may be quarantined as non-numeric instead.
NEUTRAL = (("inf", UNREADABLE, True), ("-inf", UNREADABLE, True), ("Infinity", UNREADABLE, True),
           ("nan", BLANK, True), ("NaN", BLANK, False), ("9" * 40, float("9" * 40), True), ("1" + "0" * 40, 1e40, True),
           ("1e999", math.inf, False), ("-1e999", -math.inf, False), ("1e300", 1e300, False),
           ("1E+300", 1e300, False), ("-1e300", -1e300, False), ("1e-400", 0.0, False), ("$1e300", 1e300, False))
SPECIALS = {
    ".": NEUTRAL + (("1,234,567,890.12", 1234567890.12, True), (f"{10**40:,}", 1e40, True),
                    ("(1,234.50)", -1234.5, True), ("1.5e300", 1.5e300, True)),
    ",": NEUTRAL + (("1 234 567,89", 1234567.89, True), (f"1{NBSP}234{NBSP}567,89", 1234567.89, True),
                    ("12.3.4", UNREADABLE, True), ("(1 234,50)", -1234.5, True)),
}


@st.composite
def number_cells(draw: st.DrawFn, integer: bool) -> list[tuple[str, object, bool]]:
    """(cell text, what it means, strict) in one column style, as a platform would write them."""
    style = draw(st.sampled_from(sorted(GROUPING)))
    separator, mark = GROUPING[style]
    cells = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["plain", "huge", "special", "exponent"]))
        if kind == "special" or (kind == "exponent" and mark != "."):
            cells.append(draw(st.sampled_from(SPECIALS[mark])))
            continue
        if kind == "exponent":
            text = f"{draw(st.floats(1e-3, 1e300)):.6e}"
            cells.append((text, float(text), True))
            continue
        whole = draw(st.integers(0, 10**40 if kind == "huge" else 10**15))
        cents = 0 if integer else draw(st.integers(0, 99))
        text = _grouped(whole, separator) + ("" if integer else f"{mark}{cents:02d}")
        sign = draw(st.sampled_from(["", "", "-"]))
        cells.append((sign + draw(st.sampled_from(["", "$", "€", "¥", "RUB "])) + text,
                      float(f"{sign}{whole}.{cents:02d}"), True))
    return cells


def _fits(metric: str, value: float) -> bool:
    return math.isfinite(value) and 0 <= value < LIMITS[metric] and (
        metric not in INTEGER_METRICS or float(value).is_integer())


@settings(FUZZ, max_examples=20)
@given(metric=st.sampled_from(["impressions", "spend", "conversions"]), data=st.data())
def test_extreme_numbers_parse_to_the_right_float_or_are_quarantined_with_a_reason(metric, data):
    cells = data.draw(number_cells(metric in INTEGER_METRICS))
    fixed = {"impressions": "1000", "clicks": "0", "spend": "1.00", "conversions": "0"}
    lines = ["Day,Campaign ID,Impressions,Clicks,Cost,Conversions"]
    for number, (text, _, _) in enumerate(cells):
        values = {**fixed, metric: text}
        lines.append(",".join(["2026-11-01", f"c{number}", *(f'"{values[m]}"' for m in
                                                              ("impressions", "clicks", "spend", "conversions"))]))
    frame, good, quarantine = pipeline("\n".join(lines).encode())
    assert_loadable(frame, good, quarantine)
    reasons = {f"{what} {metric}" for what in ("non-numeric value in", "non-integer value in", "negative",
                                               "value too large in")}
    for row, (text, meaning, strict) in zip(frame.index, cells, strict=True):
        if meaning == BLANK:  # a blank cell is missing, never zero ("NaN" may also be read as a bad number)
            if row in good.index:
                assert math.isnan(good.loc[row, metric]), text
            else:
                assert not strict and quarantine.loc[row, "reason"] in reasons, (text, quarantine.loc[row, "reason"])
            continue
        value = math.nan if meaning == UNREADABLE else meaning
        if row in good.index:
            assert _fits(metric, value) and good.loc[row, metric] == pytest.approx(value, rel=1e-15), text
        else:
            assert quarantine.loc[row, "reason"] in reasons, (text, quarantine.loc[row, "reason"])
            assert not (strict and _fits(metric, value)), (text, quarantine.loc[row, "reason"])


@settings(FUZZ, max_examples=80)
@given(integer=st.booleans(), data=st.data())
def test_parse_numbers_reads_one_column_style_exactly(integer, data):
    cells = [(t, v) for t, v, strict in data.draw(number_cells(integer)) if strict and isinstance(v, float)]
    parsed = parse_numbers(pd.Series([t for t, _ in cells], dtype=object), integer=integer)
    for (text, value), got in zip(cells, parsed, strict=True):
        assert got == pytest.approx(value, rel=1e-15), text


# --- Header Unicode: harmless variants still map; odd characters map or give a clear error ---

MAPPED_FIELDS = ("day", "campaign_name", "impressions", "clicks", "spend")
ODD = ("\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202b", "\u202e", "\u2060", "\u00ad", "\u061c", "\u0301",
       "\u0308", "📈", "🔥", "\U0001f1f7\U0001f1fa")
SPACES = (" ", NBSP, NNBSP, "\u2009", "\u3000", "  ", "\t", "_")


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


@st.composite
def harmless(draw: st.DrawFn, alias: str) -> str:
    """Variants normalise_header is documented to see through: case, width, spaces, quotes, a BOM."""
    text = draw(st.sampled_from([alias, alias.upper(), alias.title(), _fullwidth(alias), _fullwidth(alias.upper())]))
    text = text.replace(" ", draw(st.sampled_from(SPACES)))
    pad = draw(st.sampled_from(["", " ", NBSP, "\u3000"]))
    quote = draw(st.sampled_from(["", '"', "'"]))
    return draw(st.sampled_from(["", "\ufeff"])) + pad + quote + text + quote + pad


@st.composite
def headers(draw: st.DrawFn, odd: bool) -> tuple[list[str], dict[str, int], set[str]]:
    """(header, where each field is, which fields got an odd character)."""
    platform = draw(st.sampled_from(sorted(PLATFORM_ALIASES)))
    cells, touched = [], set()
    for field in MAPPED_FIELDS:
        alias = draw(st.sampled_from(PLATFORM_ALIASES[platform][field]))
        text = draw(harmless(alias))
        if odd and draw(st.booleans()):
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(ODD)) + text[at:]
            touched.add(field)
        cells.append(text)
    order = draw(st.permutations(range(len(cells))))
    return [cells[i] for i in order], {f: order.index(i) for i, f in enumerate(MAPPED_FIELDS)}, touched


@settings(FUZZ, max_examples=40)
@given(case=headers(odd=False), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030"]))
def test_harmless_header_variants_still_map_through_the_reader(case, encoding):
    header, where, _ = case
    body = io.StringIO(newline="")
    csv.writer(body, lineterminator="\r\n").writerows([header, ["2026-11-01", "Brand", "10", "1", "1.00"]])
    raw = read_export(body.getvalue().encode(encoding), "export.csv")
    assert map_columns(raw.header, "generic").fields == where


@settings(FUZZ, max_examples=100)
@given(case=headers(odd=True))
def test_odd_characters_in_headers_map_or_give_a_clear_error(case):
    header, where, touched = case
    try:
        fields = map_columns(header, "generic", name="export.csv").fields
    except CadenceError as error:
        assert_one_line(error)
        message = str(error)
        assert message.isprintable(), f"invisible characters in {message!r}"
        assert touched, "only harmless variants, yet no mapping"
        assert "no column for" in message and "headers seen" in message
        return
    assert all(where[field] == position for field, position in fields.items() if field in where)
    assert set(MAPPED_FIELDS) - touched <= set(fields)


# --- Through the database: every row accounted for, and importing again changes nothing ---

HEADER = ["Day", "Campaign ID", "Campaign", "Device", "Impressions", "Clicks", "Cost", "Conversions"]
HOSTILE_NAMES = ("Brand", "Brand", "Поиск", "<script>alert(1)</script>", "{{ 7*7 }}", "Итого", "—", "NA", "x" * 400,
                 "%(x)s", "\u202eRTL", "😀 emoji", "a\u200bb", "", "x\x00y")
IDS = ("", "c1", "c2", "1780000000000001", "9" * 70)
AMOUNTS = ("0", "12", "1 000", "1,234.50", "-5", "", "n/a", "inf", "nan", "1e300", "1" + "0" * 40,
           "5000000000000000000", "6000000000000000", "999999999999.99", "12.5")
DAYS = ("2026-11-01", "2026-11-01", "2026-11-02", "2026-02-30", "Total", "", "2027-01-01", "1999-12-31")


@st.composite
def hostile_tables(draw: st.DrawFn) -> list[list[str]]:
    """Rows of an export with breakdown rows, repeats, summary lines, bad cells and numbers past any column."""
    rows = [HEADER]
    for _ in range(draw(st.integers(1, 12))):
        rows.append([draw(st.sampled_from(DAYS)), draw(st.sampled_from(IDS)), draw(st.sampled_from(HOSTILE_NAMES)),
                     draw(st.sampled_from(["Mobile", "Desktop", "Tablet"])),
                     *(draw(st.sampled_from(AMOUNTS)) for _ in range(4))])
    # Copies on another device are breakdown rows summed into one day; on the same device, exact repeats.
    for copy in draw(st.lists(st.sampled_from(rows[1:]), max_size=4)):
        rows.append([*copy[:3], draw(st.sampled_from(["Mobile", "Desktop", "Tablet"])), *copy[4:]])
    return rows


def hostile_csv(rows: list[list[str]], dialect: dict) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=dialect["delimiter"], quoting=dialect["quoting"],
               lineterminator=dialect["newline"]).writerows(rows)
    return _encode(buffer.getvalue(), dialect["encoding"], errors="replace")


@settings(FUZZ, max_examples=25)
@given(rows=hostile_tables(), dialect=dialects())
@example(rows=[["Day", "Campaign", "Device", "Impressions", "Clicks", "Cost"],
               ["2026-11-20", "A", "Mobile", "5000000000000000000", "0", "6000000000000000"],
               ["2026-11-20", "A", "Desktop", "5000000000000000000", "0", "6000000000000000"]],
         dialect={"encoding": "utf-8", "delimiter": ",", "quoting": csv.QUOTE_MINIMAL, "newline": "\n"})
def test_hostile_tables_load_only_what_fits(rows, dialect):
    try:
        frame, good, quarantine = pipeline(hostile_csv(rows, dialect))
    except CadenceError as error:
        assert_one_line(error)
        return
    assert_loadable(frame, good, quarantine)


_accounts = itertools.count(1)


def _account(engine: Engine) -> str:
    """A new Yandex Direct account (so day-first dates) under one client; returns its external id."""
    external_id = f"fuzz-{next(_accounts)}"
    with Session(engine) as s, s.begin():
        client = s.scalars(select(Client)).first()
        if client is None:
            am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
            client = Client(slug="acme", name="Acme", industry="retail", market="RU", time_zone="Europe/Moscow",
                            currency="RUB", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        s.add(AdAccount(client=client, platform=Platform.YANDEX_DIRECT, external_id=external_id, name=external_id,
                        currency="RUB", time_zone="Europe/Moscow", created_on=dt.date(2024, 1, 1)))
    return external_id


def _state(engine: Engine, account: str) -> tuple[dict[str, int], dict[tuple[str, str], dict[str, int]]]:
    """Row counts of the import tables, and the account's stored metrics (money in hundredths)."""
    with Session(engine) as s:
        counts = {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                  for m in (Campaign, DailyMetric, ImportBatch, QuarantinedRow)}
        rows = s.execute(select(Campaign.external_id, DailyMetric.day, *(getattr(DailyMetric, m) for m in METRICS))
                         .join(Campaign).join(AdAccount).where(AdAccount.external_id == account)).all()
    stored = {(ext, day.isoformat()): {m: None if v is None else int(v) if m in INTEGER_METRICS
                                       else int(Decimal(v).scaleb(2)) for m, v in zip(METRICS, values)}
              for ext, day, *values in rows}
    return counts, stored


def _import(engine: Engine, path: Path, account: str):
    return import_file(engine, path, platform="generic", account=account, today=TODAY)


UTF16 = {"encoding": "utf-16", "delimiter": ",", "quoting": csv.QUOTE_MINIMAL, "newline": "\r\n"}


@settings(FUZZ, max_examples=12)
@given(rows=hostile_tables(), dialect=dialects(), other=dialects())
@example(rows=[HEADER, ["2026-11-01", "c1", "x\x00y", "Mobile", "10", "1", "1.00", "0"]], dialect=UTF16,
         other={**UTF16, "delimiter": ";"})  # PostgreSQL: "text fields cannot contain NUL (0x00) bytes"
@example(rows=[HEADER, ["2026-11-20", "c1", "A", "Mobile", "5000000000000000000", "0", "6000000000000000", "0"],
               ["2026-11-20", "c1", "A", "Desktop", "5000000000000000000", "0", "6000000000000000", "0"]],
         dialect=UTF16, other={**UTF16, "quoting": csv.QUOTE_ALL})  # two breakdown rows summing past BIGINT
def test_import_file_accounts_for_every_row_and_a_reimport_changes_nothing(engine, tmp_path, rows, dialect, other):
    account = _account(engine)
    path = tmp_path / f"{account}.csv"
    path.write_bytes(hostile_csv(rows, dialect))
    before = _state(engine, account)
    try:
        report = _import(engine, path, account)
    except CadenceError as error:
        event("refused: " + str(error).split(" ", 1)[1][:40])
        assert_one_line(error)
        assert _state(engine, account) == before
        return
    event("imported")
    assert report.reconciles and report.rows_in == report.loaded + report.quarantined + report.duplicates
    counts, stored = _state(engine, account)
    with Session(engine) as s:
        batch = s.get(ImportBatch, report.batch_id)
        assert (batch.rows_in, batch.loaded, batch.quarantined, batch.duplicates) == (
            report.rows_in, report.loaded, report.quarantined, report.duplicates)
        assert s.scalar(select(func.count()).select_from(QuarantinedRow)
                        .where(QuarantinedRow.batch_id == batch.id)) == report.quarantined
    _, good, _ = pipeline(path.read_bytes(), path.name)
    assert stored == records_by_key(good)

    again = _import(engine, path, account)
    assert again.already_imported and again.batch_id == report.batch_id
    assert (again.rows_in, again.loaded, again.quarantined, again.duplicates) == (
        report.rows_in, report.loaded, report.quarantined, report.duplicates)
    assert _state(engine, account) == (counts, stored)

    # The same rows written another way are new bytes, so a new batch, but not one changed figure.
    restated = tmp_path / f"{account}-restated.csv"
    restated.write_bytes(hostile_csv(rows, {**other, "encoding": dialect["encoding"]}))
    if restated.read_bytes() == path.read_bytes():
        return
    third = _import(engine, restated, account)
    assert third.reconciles and (third.inserted, third.updated, third.loaded) == (0, 0, 0)
    assert third.rows_in == report.rows_in and third.quarantined == report.quarantined
    assert _state(engine, account)[1] == stored
