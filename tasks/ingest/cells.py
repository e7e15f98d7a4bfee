"""An export as read (RawTable) and what its cells say: trimmed text, numbers whatever their marks, dates."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RawTable:
    """An export's header and its non-blank rows as read, indexed by the row's 1-based line number in the file."""

    header: list[str]
    rows: pd.DataFrame
    source: str


def _table(header: list[Any], rows: list[list[Any]], numbers: list[int], source: str, fill: Any) -> RawTable:
    """A RawTable from ragged rows: short rows padded, columns beyond the header named by position."""
    width = max([len(header), *map(len, rows)])
    names = [_cell_text(h) for h in header] + [""] * (width - len(header))
    frame = pd.DataFrame(rows, index=pd.Index(numbers, name="row"), dtype=object)
    frame = frame.reindex(columns=range(width))
    if fill is not None:
        frame = frame.fillna(fill)
    return RawTable(header=_unique_names(names), rows=frame, source=source)


def _unique_names(names: list[str]) -> list[str]:
    """Header names made unique and non-empty, so a row's raw values can be keyed by them."""
    seen: Counter[str] = Counter()
    out = []
    for position, text in enumerate(names, start=1):
        text = text or f"column {position}"
        seen[text] += 1
        out.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return out


def _cell_text(value: Any) -> str:
    """A cell as trimmed text: numbers without a spurious .0, dates in ISO form, empties as ''."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


# A platform's own way of writing zero: Yandex Direct reports print "--" for a metric that was 0 that day.
# Every other blank cell is missing, not zero.
ZERO_MARKS = {"yandex_direct": frozenset({"-", "--"})}
_BLANKS = frozenset({"", "-", "--", "—", "–", "n/a", "na", "nan", "null", "none", "#n/a", "н/д", "нет данных"})
_BLANK_CELLS = _BLANKS | {b.upper() for b in _BLANKS} | {b.capitalize() for b in _BLANKS}

_CURRENCY = re.compile(
    r"(?:[A-Z]{1,2}[$¥]|[$€£¥￥₽₹₩₺₴₸₫฿]|[Рр]уб\.?|(?<=\d)\s*р\.|元"
    r"|(?<![A-Za-z])(?:USD|EUR|GBP|CNY|RMB|RUB|JPY|KRW|INR|TRY|UAH|KZT|BYN|HKD|TWD|SGD|AUD|CAD|CHF|BRL|MXN"
    r"|AED|THB|VND|IDR|MYR|PHP|PLN|CZK|SEK|NOK|DKK)(?![A-Za-z]))"
)
_SPACES = re.compile(r"[\s'’`´]+")
_PLAIN_NUMBER = re.compile(r"[+-]?[\d.,]+")


def _clean_number(text: str) -> tuple[str, bool]:
    """A number text without currency, spaces and apostrophes as '_', brackets as a minus; and whether it was %."""
    if _PLAIN_NUMBER.fullmatch(text):
        return text, False
    text = _CURRENCY.sub("", text).replace("\u2212", "-").strip()
    if text.startswith("(") and text.endswith(")"):
        text = "-" + text[1:-1].strip()
    percent = text.endswith("%")
    text = _SPACES.sub("_", text.rstrip("%").strip())
    if text[:2] in {"-_", "+_"}:
        text = text[0] + text[2:]
    return text, percent


def _decimal_vote(text: str) -> str | None:
    """The decimal mark this one cleaned number proves, if it proves one ("1,5" → ",", "1,234" → None)."""
    body = text.lstrip("+-")
    if "e" in body.lower():
        return "." if "." in body else None
    comma, point = body.rfind(","), body.rfind(".")
    if comma >= 0 and point >= 0:
        return "," if comma > point else "."
    mark = "," if comma >= 0 else "." if point >= 0 else None
    if mark is None:
        return None
    if body.count(mark) > 1:
        return "." if mark == "," else ","
    head, tail = body.split(mark)
    digits = head.replace("_", "")
    if len(tail) != 3 or digits in {"", "0"} or "_" in head or len(digits) > 3:
        return mark
    return None


def decimal_votes(cleaned: Iterable[str]) -> Counter[str]:
    """How many distinct cleaned numbers prove a decimal comma, and how many a decimal point."""
    return Counter(v for v in map(_decimal_vote, set(cleaned)) if v)


def _number_pattern(decimal: str) -> re.Pattern[str]:
    """What a cleaned number may look like when `decimal` is the decimal mark."""
    group = re.escape("," if decimal == "." else ".")
    mark = re.escape(decimal)
    exponent = r"|[+-]?\d+(?:\.\d+)?[eE][+-]?\d+" if decimal == "." else ""
    return re.compile(rf"[+-]?(?:\d+|\d{{1,3}}(?:[_{group}]\d{{3}})+)(?:{mark}\d*)?|[+-]?{mark}\d+{exponent}")


@dataclass
class _Numbers:
    """One metric column read once: cells that were numbers, cleaned texts of the rest, and blanks."""

    given: np.ndarray
    blank: np.ndarray
    positions: list[int]
    texts: list[str]
    percent: list[bool]
    votes: Counter[str]


def _prepare_numbers(values: pd.Series) -> _Numbers:
    """Sort a column's cells into numbers, blanks and texts to parse, and count the decimal marks they prove."""
    given = np.full(len(values), np.nan)
    blank = np.zeros(len(values), dtype=bool)
    positions: list[int] = []
    texts: list[str] = []
    for position, value in enumerate(values.to_numpy(dtype=object)):
        if isinstance(value, str):
            value = value.strip()
            if value in _BLANK_CELLS:
                blank[position] = True
            else:
                positions.append(position)
                texts.append(value)
        elif value is None or value is pd.NaT or (isinstance(value, (float, np.floating)) and math.isnan(value)):
            blank[position] = True
        elif isinstance(value, (int, float, np.integer, np.floating, Decimal)) and not isinstance(value, bool):
            given[position] = float(value)
        else:
            positions.append(position)
            texts.append(_cell_text(value))
    cleaned = {text: _clean_number(text) for text in dict.fromkeys(texts)}
    votes = decimal_votes(c[0] for c in cleaned.values())
    return _Numbers(given, blank, positions, [cleaned[t][0] for t in texts], [cleaned[t][1] for t in texts], votes)


def _column_mark(numbers: _Numbers, *, integer: bool, hint: str | None) -> str:
    """The decimal mark of one column: its own evidence, else the file's (not for counts), else thousands."""
    votes = numbers.votes
    if votes:
        ranked = votes.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1] and hint:
            return hint
        return ranked[0][0]
    if hint and not integer:
        return hint
    return "." if any("," in text for text in numbers.texts) else ","


def _parse_prepared(numbers: _Numbers, mark: str) -> np.ndarray:
    """The column's values with `mark` as the decimal mark; NaN for blanks and texts that are not numbers."""
    result = numbers.given.copy()
    pattern, group = _number_pattern(mark), "," if mark == "." else "."
    seen: dict[tuple[str, bool], float] = {}
    for position, text, percent in zip(numbers.positions, numbers.texts, numbers.percent):
        value = seen.get((text, percent))
        if value is None:
            value = np.nan
            if pattern.fullmatch(text):
                value = float(text.replace("_", "").replace(group, "").replace(mark, "."))
                value = value / 100 if percent else value
            seen[(text, percent)] = value
        result[position] = value
    return result


def parse_numbers(values: pd.Series, *, integer: bool = False, decimal: str | None = None) -> pd.Series:
    """Numbers from a column of export cells; NaN where blank or not a number.

    The decimal mark is decided for the whole column from the values that prove it ("0,5", "1.234,56");
    if none do, `decimal` (what the file's other columns prove) applies, and then "1,234"/"1.234" are
    thousands. Integer columns ignore `decimal`: a count with three digits after the mark is thousands.
    """
    if values.dtype.kind in "iuf":
        return values.astype(float)
    numbers = _prepare_numbers(values)
    mark = _column_mark(numbers, integer=integer, hint=decimal)
    return pd.Series(_parse_prepared(numbers, mark), index=values.index)


def _per_unique(values: pd.Series, function: Any) -> pd.Series:
    """`function` applied once per distinct cell (days, campaigns and segments repeat a lot)."""
    lookup = {value: function(value) for value in pd.unique(values.to_numpy(dtype=object))}
    mapped = values.map(lookup)
    missed = mapped.isna()  # pandas does not look None or NaN up in a dict
    if missed.any():
        mapped[missed] = values[missed].map(function)
    return mapped


_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?$")
_WEEKDAY = re.compile(r"^[^\W\d_]+\.?,\s*")
_YEAR_MARK = re.compile(r"\s*г(?:ода?)?\.?$")
_YMD = re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})")
_CJK = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"\d{5}(?:\.0+)?")
_AMBIGUOUS = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})")
_DAY_MONTH = re.compile(r"(\d{1,2})[\s-]+([^\W\d_]+)\.?,?[\s-]+(\d{4})")
_MONTH_DAY = re.compile(r"([^\W\d_]+)\.?\s+(\d{1,2}),?\s+(\d{4})")
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12, "янв": 1, "фев": 2, "мар": 3, "апр": 4, "май": 5, "мая": 5, "июн": 6, "июл": 7,
    "авг": 8, "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
}
EXCEL_EPOCH = dt.date(1899, 12, 30)


def _date(year: int, month: int, day: int) -> dt.date | None:
    """The date, or None if there is no such day; two-digit years are this century."""
    try:
        return dt.date(year + 2000 if year < 100 else year, month, day)
    except ValueError:
        return None


def _date_text(text: str) -> str:
    """A date text without time of day, weekday or the Russian "г." after the year."""
    text = _TIME.sub("", text.strip())
    return _YEAR_MARK.sub("", _WEEKDAY.sub("", text)).strip()


def _day_first(texts: Iterable[str], default: bool) -> bool:
    """Whether the column's nn/nn/yyyy dates are day-first: a part above 12 decides, then the shorter span."""
    parts = [(int(m[1]), m[2], int(m[3]), int(m[4])) for t in texts if (m := _AMBIGUOUS.fullmatch(t))]
    if not parts:
        return default
    if any(a > 12 for a, _, _, _ in parts):
        return True
    if any(b > 12 for _, _, b, _ in parts):
        return False
    if all(sep == "." for _, sep, _, _ in parts):
        return True
    spans = []
    for day_first in (True, False):
        dates = [d for a, _, b, y in parts if (d := _date(y, b, a) if day_first else _date(y, a, b))]
        spans.append((max(dates) - min(dates)) if dates else dt.timedelta.max)
    # A daily export covers consecutive days: the reading that packs the dates closer is the right one.
    if spans[0] != spans[1]:
        return spans[0] < spans[1]
    return default


def _parse_date_text(text: str, day_first: bool) -> dt.date | None:
    """One cleaned date text as a date, or None."""
    if m := _YMD.fullmatch(text) or _CJK.fullmatch(text) or _COMPACT.fullmatch(text):
        return _date(int(m[1]), int(m[2]), int(m[3]))
    if m := _AMBIGUOUS.fullmatch(text):
        a, b, year = int(m[1]), int(m[3]), int(m[4])
        return _date(year, b, a) if day_first else _date(year, a, b)
    if _SERIAL.fullmatch(text):
        return _excel_serial(float(text))
    if m := _DAY_MONTH.fullmatch(text):
        month = _MONTHS.get(m[2][:3].casefold())
        return _date(int(m[3]), month, int(m[1])) if month else None
    if m := _MONTH_DAY.fullmatch(text):
        month = _MONTHS.get(m[1][:3].casefold())
        return _date(int(m[3]), month, int(m[2])) if month else None
    return None


def _excel_serial(value: float) -> dt.date | None:
    """An Excel day number as a date; only 1954-2119 counts, smaller or larger numbers are not dates."""
    if not 20_000 <= value <= 80_000:
        return None
    return EXCEL_EPOCH + dt.timedelta(days=int(value))


_NO_YEAR_NUMERIC = re.compile(r"(\d{1,2})([./-])(\d{1,2})")
_NO_YEAR_DAY_MONTH = re.compile(r"\d{1,2}[\s-]+([^\W\d_]+)\.?")
_NO_YEAR_MONTH_DAY = re.compile(r"([^\W\d_]+)\.?\s+\d{1,2}")
_NO_YEAR_CJK = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*日?")
_DAY_OF_MONTH = re.compile(r"\d{1,2}(?:\.0+)?")


def _with_year(text: str, year: int) -> str:
    """A date text without a year ("24.11", "11/24", "Nov 24", "24 ноября", "11月24日") given `year`."""
    if m := _NO_YEAR_NUMERIC.fullmatch(text):
        return f"{text}{m[2]}{year}"
    if (m := _NO_YEAR_DAY_MONTH.fullmatch(text)) and m[1][:3].casefold() in _MONTHS:
        return f"{text} {year}"
    if (m := _NO_YEAR_MONTH_DAY.fullmatch(text)) and m[1][:3].casefold() in _MONTHS:
        return f"{text}, {year}"
    if _NO_YEAR_CJK.fullmatch(text):
        return f"{year}年{text}"
    return text


def _strptime(text: str, date_format: str, year: int | None) -> dt.date | None:
    """One cell read with an explicit strftime format; a format without a year takes `year`."""
    if year is not None and not re.search(r"%[Yy]", date_format):
        text, date_format = f"{text} {year}", f"{date_format} %Y"
    try:
        return dt.datetime.strptime(text, date_format).date()
    except ValueError:
        return None


def parse_dates(values: pd.Series, *, day_first: bool = True, year: int | None = None,
                date_format: str | None = None) -> pd.Series:
    """Days from a column of export cells, as datetime64 with NaT where blank or not a date.

    Accepts ISO, YYYY/MM/DD, D.MM.YYYY, DD/MM/YYYY or MM/DD/YYYY (decided for the whole column, `day_first`
    when nothing decides), 2026年11月24日, YYYYMMDD, "Nov 24, 2026", "24 ноября 2026 г.", Excel serials and
    date cells; with `year`, the same without a year ("24.11", "Nov 24"); with `date_format`, that strftime
    format only (text cells).
    """
    if values.dtype.kind == "M":
        stamps = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
        return stamps.dt.normalize()
    uniques = pd.unique(values.to_numpy(dtype=object))
    texts = {u: _date_text(u) for u in uniques if isinstance(u, str)}
    if year is not None and date_format is None:
        texts = {u: _with_year(t, year) for u, t in texts.items()}
    first = _day_first(texts.values(), day_first)
    lookup: dict[Any, dt.date | None] = {}
    for value in uniques:
        if isinstance(value, str):
            lookup[value] = (_strptime(value.strip(), date_format, year) if date_format
                             else _parse_date_text(texts[value], first))
        elif isinstance(value, dt.datetime) and value is not pd.NaT:
            lookup[value] = value.date()
        elif isinstance(value, dt.date):
            lookup[value] = value
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            lookup[value] = None if math.isnan(value) else _excel_serial(float(value))
    return pd.to_datetime(values.map(lambda v: lookup.get(v)), errors="coerce")


def _month_and_day(months: pd.Series, days: pd.Series) -> pd.Series:
    """"April" and "5" (or "4" and "5") as "5 April" ("5.4"): a date without a year, for --year to complete."""
    month = months.map(_cell_text)
    day = days.map(lambda v: _cell_text(v).split(".")[0] if _DAY_OF_MONTH.fullmatch(_cell_text(v)) else None)
    joined = np.where(month.str.fullmatch(r"\d{1,2}"), day + "." + month, day + " " + month)
    return pd.Series(joined, index=days.index, dtype=object).where(day.notna() & month.ne(""), days)


def date_trouble(values: pd.Series, header: str, month: str | None = None) -> str | None:
    """Why a day column's cells are not dates, in a sentence that names the option that helps, if it is plain."""
    cells = [t for t in (_cell_text(v) for v in values) if t and t not in _BLANK_CELLS]
    if not cells:
        return None
    sample = cells[:1000]
    if all(_DAY_OF_MONTH.fullmatch(t) and 1 <= float(t) <= 31 for t in sample):
        if month is not None:
            return (f"the {header!r} column holds days of the month ({sample[0]}) and {month!r} the month: "
                    f"give --year to make them dates")
        return (f"the {header!r} column holds days of the month ({sample[0]}), not dates, and no column gives "
                f"the month: --map a column with full dates to day (--map \"Date=day\"); --year and --date-format "
                f"read dates that lack only the year")
    texts = [_date_text(t) for t in sample]
    if all(_with_year(t, 2000) != t for t in texts):
        return (f"the {header!r} column has dates without a year ({sample[0]!r}): give --year "
                f"(and --date-format if the day and month order is not plain)")
    return (f"the {header!r} column is not dates Cadence reads ({sample[0]!r}): give --date-format, "
            f"e.g. --date-format %d/%m/%Y")


def _raw_values(raw: RawTable, number: int) -> dict[str, Any]:
    """A row's cells keyed by header, JSON-safe: text as in the file, numbers as numbers, dates in ISO form."""
    values = raw.rows.loc[number]
    return {header: _json_cell(values.iloc[i]) for i, header in enumerate(raw.header)}


def _json_cell(value: Any) -> Any:
    """A cell as JSON can store it."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating, Decimal)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return str(value)
