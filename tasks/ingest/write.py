"""Platform exports in, daily metrics out: pure read, map, normalise and validate steps, then one transaction."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, DailyMetric, ImportBatch, ImportMapping, QuarantinedRow
from models.enums import Platform
from tasks.clock import today_in
from tasks.errors import CadenceError
from tasks.mappings import (
    CURRENCY_COLUMN_ALIASES,
    CURRENCY_NOTES,
    DAY_FIRST_DEFAULT,
    FIELDS,
    INTEGER_METRICS,
    MAP_ROLES,
    METRICS,
    MONTH_ALIASES,
    PERIOD_END_ALIASES,
    PLATFORM_ALIASES,
    SEGMENT_ALIASES,
    SUMMARY_DASHES,
    SUMMARY_PREFIXES,
    SUMMARY_WORDS,
)

HEADER_SCAN_ROWS = 30
SNIFF_CHARS = 20_000
HEAD_CHARS = 200_000
MARKET_ENCODINGS = ("gb18030", "cp1251")
DELIMITERS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
MAX_EXTERNAL_ID = 64
MAX_CAMPAIGN_NAME = 300
EARLIEST_DAY = dt.date(2000, 1, 1)
EXAMPLES = 10
PLATFORM_NICKNAMES = {
    "google": "google_ads",
    "adwords": "google_ads",
    "facebook": "meta",
    "yandex": "yandex_direct",
    "direct": "yandex_direct",
    "vkontakte": "vk",
    "oceanengine": "ocean_engine",
    "ocean": "ocean_engine",
}
# Reasons that leave the rest of the row's campaign-day loadable; any other reason means that a sum over
# the campaign-day's rows, or a choice between them, would be wrong, so its other rows stay out too.
ROW_REASONS = frozenset({
    "summary row", "missing date", "bad date", "date in the future", "not a single day", "missing campaign",
    "campaign id too long", "no metric values",
})
# What the columns hold: NUMERIC(18, 2) for money, NUMERIC(14, 2) for conversions, BIGINT for counts.
LIMITS = {"impressions": 9e18, "clicks": 9e18, "spend": 1e16, "conversions": 1e12, "conversion_value": 1e16}
INCOMPLETE = "other row for this campaign and day quarantined"
CONFLICT = "conflicting duplicate"
SEGMENT_PREFIX = "segment:"
EXTRA_PREFIX = "extra:"
MONEY = ("spend", "conversion_value")
# A column whose filled cells are mostly not numbers is a breakdown (banner, audience, placement): summed over.
TEXT_SHARE = 0.5
TEXT_SAMPLE = 2_000
MAP_SYNTAX = '--map "HEADER=field"'


@dataclass(frozen=True)
class RawTable:
    """An export's header and its non-blank rows as read, indexed by the row's 1-based line number in the file."""

    header: list[str]
    rows: pd.DataFrame
    source: str


@dataclass(frozen=True)
class ColumnMap:
    """Which column position holds each canonical field, and which columns are breakdown segments."""

    fields: dict[str, int]
    segments: dict[str, int]
    period_end: int | None = None
    currency_column: int | None = None
    month_column: int | None = None
    ignored: frozenset[int] = frozenset()
    extras: dict[str, int] = field(default_factory=dict)

    @property
    def metrics(self) -> list[str]:
        return [m for m in METRICS if m in self.fields]


@dataclass(frozen=True)
class QuarantineExample:
    """One quarantined row: where it is in the file, why, and its cells."""

    row: int
    reason: str
    raw: dict[str, Any]


@dataclass
class ImportReport:
    """What one import did: rows_in = loaded + quarantined + duplicates, and loaded = inserted + updated."""

    file_name: str
    platform: str
    account: str
    rows_in: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    duplicates: int = 0
    campaigns_created: int = 0
    already_imported: bool = False
    batch_id: int | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    summed_over: list[str] = field(default_factory=list)
    source: str = ""
    examples: list[QuarantineExample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    unread: list[str] = field(default_factory=list)
    nothing_loaded: str | None = None

    @property
    def reconciles(self) -> bool:
        return (self.rows_in == self.loaded + self.quarantined + self.duplicates
                and self.loaded == self.inserted + self.updated)


def check_platform(value: str) -> str:
    """The mapping name for a --platform value; unknown names are a CadenceError listing the known ones."""
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    key = PLATFORM_NICKNAMES.get(key, key)
    if key not in PLATFORM_ALIASES:
        raise CadenceError(f"unknown platform {value!r}: use one of {', '.join(p.value for p in Platform)}")
    return key


def read_export(data: bytes, name: str, known: Iterable[str] = ()) -> RawTable:
    """The header row and the data rows of a CSV, XLSX or Parquet export, whatever its encoding and title lines.

    `known` are the headers a mapping names, which help find the header row of an export with unusual names."""
    if not data.strip():
        raise CadenceError(f"{name} is empty")
    known = frozenset(normalise_header(k) for k in known)
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, name, known)
    if data.startswith(b"PAR1"):
        return _read_parquet(data, name, known)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise CadenceError(f"{name} is an old-style .xls workbook: save it as .xlsx or CSV and import that")
    return _read_text(data, name, known)


# Readings _decodings returns whole; the others are heads, and the one chosen is decoded again in full.
_WHOLE_READINGS = frozenset({"utf-8", "utf-8-sig", "utf-16-le", "utf-16-be"})


def _decodings(data: bytes, name: str) -> list[tuple[str, str]]:
    """The readings of these bytes as text worth trying, most likely first (of a long file only the head)."""
    boms = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
    for bom, encoding in boms:
        if data.startswith(bom):
            return [(encoding, data[len(bom):].decode(encoding.removesuffix("-sig"), errors="replace"))]
    head = data[:4096]
    if head.count(0) > len(head) // 4:
        # UTF-16 without a BOM: one byte of every ASCII character is zero.
        encoding = "utf-16-be" if head[0::2].count(0) > head[1::2].count(0) else "utf-16-le"
        try:
            return [(encoding, data.decode(encoding))]
        except UnicodeDecodeError:
            raise CadenceError(f"{name} is not a CSV, XLSX or Parquet export (binary content)") from None
    if 0 in head:
        raise CadenceError(f"{name} is not a CSV, XLSX or Parquet export (binary content)")
    try:
        return [("utf-8", data.decode("utf-8"))]
    except UnicodeDecodeError:
        pass
    # Not UTF-8: charset-normalizer's candidates, most likely first. It misses GB18030 in short, mostly-ASCII
    # files, so the legacy encodings of the markets Cadence speaks (zh, ru) are always candidates too.
    from charset_normalizer import from_bytes

    options = []
    for encoding in dict.fromkeys([*(codecs.lookup(m.encoding).name for m in from_bytes(data)), *MARKET_ENCODINGS]):
        if encoding in _WHOLE_READINGS:
            continue  # UTF-8 did not decode; UTF-16 has its own test above
        try:
            # Only the head of each reading is kept for finding the header: the chosen one is decoded again.
            options.append((encoding, data.decode(encoding)[:HEAD_CHARS]))
        except UnicodeDecodeError:
            continue
    if not options:
        raise CadenceError(f"{name} is not text in UTF-8, UTF-16 or any encoding charset-normalizer recognises")
    return options


def _csv_rows(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    """The first `limit` CSV records of `text`; a record that breaks the CSV rules ends the list."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for cells in islice(reader, limit):
            rows.append(cells)
    except csv.Error:
        pass
    return rows


def _sniffed_delimiter(text: str) -> str | None:
    """The delimiter csv.Sniffer reads in the first lines, if it settles on one of the known ones."""
    try:
        return csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return None


def _read_text(data: bytes, name: str, known: frozenset[str] = frozenset()) -> RawTable:
    """A delimited text export: the likeliest encoding, and the delimiter under which the header names most fields."""
    options = _decodings(data, name)
    if not any(text.strip() for _, text in options):
        raise CadenceError(f"{name} is empty")
    first = options[0][1]
    if "\x00" in first:
        line = first.count("\n", 0, first.index("\x00")) + 1
        raise _nul_error(name, f"line {line}")
    found: list[tuple[int, bool, int, str, str, str, int]] = []
    for encoding, text in options:
        sniffed = _sniffed_delimiter(text)
        for delimiter in DELIMITERS:
            head = _csv_rows(text, delimiter, HEADER_SCAN_ROWS)
            hit = _find_header(head, known)
            if hit is not None:
                index, score = hit
                found.append((score, delimiter == sniffed, len(head[index]), encoding, text, delimiter, index))
    if not found:
        first = next((line.strip() for line in options[0][1].splitlines() if line.strip()), "")
        raise CadenceError(f"{name}: no recognisable header in the first {HEADER_SCAN_ROWS} lines "
                           f"(first line: {first[:80]!r}): name its columns with {MAP_SYNTAX}")
    best_score = max(f[0] for f in found)
    top = [f for f in found if f[0] == best_score]
    encodings = list(dict.fromkeys(f[3] for f in top))
    if len(encodings) > 1:
        encoding = _likeliest_encoding(data, encodings)
        top = [f for f in top if f[3] == encoding]
    _, _, _, encoding, text, delimiter, header_index = max(top, key=lambda f: f[:3])
    if len(options) > 1 or encoding not in _WHOLE_READINGS:
        text = data.decode(encoding)

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] = []
    rows: list[list[str]] = []
    numbers: list[int] = []
    line = 0
    try:
        for index, cells in enumerate(reader):
            start, line = line + 1, reader.line_num
            if index < header_index:
                continue
            if index == header_index:
                header = cells
            elif any(cell.strip() for cell in cells):
                rows.append(cells)
                numbers.append(start)
    except csv.Error as exc:
        raise CadenceError(f"{name}: line {line + 1} cannot be read as {DELIMITERS[delimiter]}-separated text "
                           f"({exc})") from None
    line = _line_of(text, delimiter, header_index)
    source = f"CSV, {encoding}, {DELIMITERS[delimiter]}-separated, header on line {line}"
    return _table(header, rows, numbers, source, fill="")


def _nul_error(name: str, where: str) -> CadenceError:
    """A NUL that got past the binary sniff (which reads 4 kB): no export has one, and PostgreSQL cannot store it."""
    return CadenceError(f"{name}: {where} has a NUL character, which no export contains: the file is damaged")


def _line_of(text: str, delimiter: str, record: int) -> int:
    """The 1-based line on which CSV record number `record` (0-based) starts."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 0
    for _ in islice(reader, record):
        line = reader.line_num
    return line + 1


def _likeliest_encoding(data: bytes, encodings: list[str]) -> str:
    """Of encodings that all decode and all show the same header, the one charset-normalizer prefers among them."""
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=encodings).best()
    guess = codecs.lookup(best.encoding).name if best else ""
    return next((e for e in encodings if e == guess), encodings[0])


def _read_xlsx(data: bytes, name: str, known: frozenset[str] = frozenset()) -> RawTable:
    """The first sheet of a workbook with a recognisable header; cells keep their types (dates, numbers)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged workbook fails in many ways, all meaning the same
        raise CadenceError(f"{name} is not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        best: tuple[Any, int, int] | None = None
        for sheet in book.worksheets:
            head = [[_cell_text(v) for v in row]
                    for row in sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, values_only=True)]
            hit = _find_header(head, known)
            if hit is not None and (best is None or hit[1] > best[2]):
                best = (sheet, *hit)
        if best is None:
            raise CadenceError(f"{name}: no sheet has a recognisable header in its first {HEADER_SCAN_ROWS} rows")
        sheet, header_index, _ = best
        header: list[str] = []
        rows: list[list[Any]] = []
        numbers: list[int] = []
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            if number - 1 < header_index:
                continue
            if number - 1 == header_index:
                header = [_cell_text(v) for v in values]
            elif any(_cell_text(v) for v in values):
                rows.append(list(values))
                numbers.append(number)
        source = f"XLSX, sheet {sheet.title!r}, header on row {header_index + 1}"
    finally:
        book.close()
    return _table(header, rows, numbers, source, fill=None)


def _read_parquet(data: bytes, name: str, known: frozenset[str] = frozenset()) -> RawTable:
    """A Parquet export: its column names are the header; row numbers count the header as row 1."""
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise CadenceError(f"{name} is not a readable Parquet file ({type(exc).__name__})") from None
    header = [str(c) for c in frame.columns]
    if _find_header([header], known) is None:
        raise CadenceError(f"{name}: no recognisable columns (columns: {', '.join(header)[:200]})")
    frame = frame.reset_index(drop=True)
    frame.columns = range(len(header))
    frame.index = pd.Index(range(2, len(frame) + 2), name="row")
    texts = frame.astype(object).map(_cell_text)
    if "\x00" in "".join(header) or texts.map(lambda t: "\x00" in t).to_numpy().any():
        raise _nul_error(name, "a cell")
    filled = texts.ne("").any(axis=1) if len(frame) else pd.Series(dtype=bool)
    return RawTable(header=_unique_names(header), rows=frame[filled], source="Parquet")


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


def normalise_header(text: str) -> str:
    """A header as compared with the aliases: NFKC, case-folded, single-spaced, "_" as a space, no quotes or BOM."""
    text = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").replace("_", " ")
    return re.sub(r"\s+", " ", text.strip().strip("\"'").strip()).casefold()


# A trailing note in brackets of any style, or after a comma: "cost (usd)", "cost [eur]", "花费(元)" (NFKC
# turns "（元）" into "(元)"), "расход, руб.", "cost, eur", "消耗【元】".
_SUFFIX = re.compile(r"\s*(?:\(([^()]*)\)|\[([^\[\]]*)\]|【([^【】]*)】|,\s*(руб\.?|р\.|₽|¥|\$|€|元|[a-z]{3}))$")
_ISO_CURRENCIES = frozenset((
    "USD EUR GBP CNY RUB JPY KRW INR TRY UAH KZT BYN HKD TWD SGD AUD CAD CHF BRL MXN AED THB VND IDR MYR PHP PLN "
    "CZK SEK NOK DKK NZD ZAR ILS SAR HUF RON BGN ARS CLP COP PEN EGP NGN PKR BDT UZS AMD GEL AZN KGS MNT").split())


def _without_suffix(header: str) -> str:
    """A normalised header without its trailing note: "cost (usd)" → "cost", "расход, руб." → "расход"."""
    return _SUFFIX.sub("", header)


def header_currency(header: str) -> frozenset[str] | None:
    """The currencies a header's trailing note can mean ("Cost [EUR]" → EUR, "Расход, руб." → RUB), if it names one."""
    match = _SUFFIX.search(normalise_header(header))
    if match is None:
        return None
    note = next(g for g in match.groups() if g is not None).strip()
    return currency_of(note)


def currency_of(note: str) -> frozenset[str] | None:
    """What a currency code, word or symbol can mean; None if it names no currency ("all" in "Clicks (all)")."""
    text = note.strip().casefold()
    if text.upper() in _ISO_CURRENCIES:
        return frozenset({text.upper()})
    return CURRENCY_NOTES.get(text) or CURRENCY_NOTES.get(text.rstrip("."))


_ALIASES = {
    platform: {f: tuple(normalise_header(a) for a in aliases) for f, aliases in by_field.items()}
    for platform, by_field in PLATFORM_ALIASES.items()
}
_SEGMENTS = frozenset(normalise_header(s) for s in SEGMENT_ALIASES)
_PERIOD_ENDS = frozenset(normalise_header(s) for s in PERIOD_END_ALIASES)
_CURRENCY_COLUMNS = frozenset(normalise_header(s) for s in CURRENCY_COLUMN_ALIASES)
_MONTHS_COLUMNS = frozenset(normalise_header(s) for s in MONTH_ALIASES)


def _match_fields(header: list[str], platform: str, taken: frozenset[int] = frozenset()) -> dict[str, int]:
    """Canonical field → column position: the platform's aliases in order, then everyone's; exact names first."""
    exact = [normalise_header(h) for h in header]
    loose = [_without_suffix(h) for h in exact]
    used = set(taken)
    fields: dict[str, int] = {}
    for name in FIELDS:
        aliases = _ALIASES[platform][name] + _ALIASES["generic"][name]
        position = next((i for names in (exact, loose) for alias in aliases
                         for i, h in enumerate(names) if h == alias and i not in used), None)
        if position is not None:
            fields[name] = position
            used.add(position)
    return fields


def _find_header(rows: list[list[str]], known: frozenset[str] = frozenset()) -> tuple[int, int] | None:
    """(index, fields named) of the row naming the most canonical fields, at least two: the header.

    `known` are headers a --map or the account's saved mapping names: they count as fields too."""
    best: tuple[int, int] | None = None
    for index, cells in enumerate(rows):
        texts = [_cell_text(c) for c in cells]
        score = len(_match_fields(texts, "generic")) + sum(
            normalise_header(t) in known or _without_suffix(normalise_header(t)) in known for t in texts if t)
        if score >= 2 and (best is None or score > best[1]):
            best = (index, score)
    return best


def parse_map(items: Iterable[str]) -> dict[str, str]:
    """`--map "HEADER=field"` values as {header: field}; a bad item is a CadenceError that shows the syntax."""
    mapping: dict[str, str] = {}
    for item in items:
        header, sep, role = item.rpartition("=")
        header, role = header.strip(), role.strip().lower().replace(" ", "_")
        if not sep or not header:
            raise CadenceError(f"--map {item!r} is not HEADER=field (e.g. --map \"Amount Spent=spend\")")
        if role not in FIELDS and role not in MAP_ROLES:
            raise CadenceError(f"--map {item!r}: {role!r} is not a field; use one of "
                               f"{', '.join((*FIELDS, *MAP_ROLES))}")
        mapping[header] = role
    return mapping


def map_columns(header: list[str], platform: str, *, name: str = "the file",
                mapping: dict[str, str] | None = None) -> ColumnMap:
    """The column map for this header; a file without day, campaign, spend and impressions or clicks is unreadable.

    `mapping` ({header: field, "segment" or "ignore"}) comes first; headers it names that the file lacks are skipped."""
    normalised = [normalise_header(h) for h in header]
    loose = [_without_suffix(h) for h in normalised]
    chosen: dict[int, str] = {}
    for text, role in (mapping or {}).items():
        key = normalise_header(text)
        position = next((i for names in (normalised, loose) for i, h in enumerate(names)
                         if h == key and i not in chosen), None)
        if position is not None:
            chosen[position] = role
    fields = {role: i for i, role in chosen.items() if role in FIELDS}
    fields.update(_match_fields(header, platform, frozenset(chosen)) | fields)
    fields = {f: fields[f] for f in FIELDS if f in fields}
    missing = []
    if "day" not in fields:
        missing.append("day")
    if "campaign_id" not in fields and "campaign_name" not in fields:
        missing.append("campaign_name")
    if "spend" not in fields:
        missing.append("spend")
    if "impressions" not in fields and "clicks" not in fields:
        missing.append("impressions or clicks")
    if missing:
        seen = ", ".join(repr(h) for h in header[:40]) + (", …" if len(header) > 40 else "")
        wanted = ", ".join("campaign (id or name)" if m == "campaign_name" else m for m in missing)
        accepted = "; ".join(f"{f}: {', '.join(repr(a) for a in PLATFORM_ALIASES[platform][f][:6])}"
                             for m in missing for f in (m.split(" or ") if " or " in m else [m]))
        example = next(f for f in (m.split(" or ")[0] for m in missing))
        raise CadenceError(f"{name}: no column for {wanted} in the {platform} mapping (headers seen: {seen}); "
                           f"accepted names — {accepted}; `cadence import --show-mapping {platform}` lists them all; "
                           f"or say which column it is with {MAP_SYNTAX.replace('field', example)}")
    used = set(fields.values())
    unused = [(i, h) for i, h in enumerate(normalised) if i not in used and i not in chosen]
    segments = {header[i]: i for i, role in chosen.items() if role == "segment"}
    segments.update({header[i]: i for i, h in unused if h in _SEGMENTS or _without_suffix(h) in _SEGMENTS})
    period_end = next((i for i, h in unused if h in _PERIOD_ENDS), None)
    currency_column = next((i for i, h in unused if h in _CURRENCY_COLUMNS), None)
    month_column = next((i for i, h in unused if h in _MONTHS_COLUMNS), None)
    ignored = frozenset(i for i, role in chosen.items() if role == "ignore")
    return ColumnMap(fields=fields, segments=dict(sorted(segments.items(), key=lambda kv: kv[1])),
                     period_end=period_end, currency_column=currency_column, month_column=month_column,
                     ignored=ignored)


def with_text_columns(raw: RawTable, columns: ColumnMap) -> ColumnMap:
    """Unrecognised columns sorted out: text ones (banner, audience, …) become segments, numeric ones extras."""
    taken = {*columns.fields.values(), *columns.segments.values(), *columns.ignored,
             columns.period_end, columns.currency_column, columns.month_column}
    segments, extras = dict(columns.segments), {}
    for position, header in enumerate(raw.header):
        if position in taken or position not in raw.rows.columns:
            continue
        cells = raw.rows[position].head(TEXT_SAMPLE * 5).map(_cell_text)
        filled = cells[~cells.isin(_BLANK_CELLS)].head(TEXT_SAMPLE)
        if filled.empty:
            continue
        numbers = parse_numbers(filled)
        if numbers.isna().mean() > TEXT_SHARE and parse_dates(filled).isna().mean() > TEXT_SHARE:
            segments[header] = position
        else:
            extras[header] = position
    return ColumnMap(fields=columns.fields, segments=dict(sorted(segments.items(), key=lambda kv: kv[1])),
                     period_end=columns.period_end, currency_column=columns.currency_column,
                     month_column=columns.month_column, ignored=columns.ignored, extras=extras)


def describe_mapping(platform: str) -> list[tuple[str, tuple[str, ...]]]:
    """(field, accepted header names) for a platform, in the order they are tried; then the breakdown columns."""
    platform = check_platform(platform)
    rows = [(f, PLATFORM_ALIASES[platform][f]) for f in FIELDS]
    return [*rows, ("segment (summed over)", tuple(sorted(SEGMENT_ALIASES))),
            ("currency column", CURRENCY_COLUMN_ALIASES)]


def parse_rates(items: Iterable[str]) -> dict[str, Decimal]:
    """`--rate EUR=98.5` values (units of the account's currency per unit of EUR) as {"EUR": Decimal("98.5")}."""
    rates: dict[str, Decimal] = {}
    for item in items:
        code, _, value = item.partition("=")
        code = code.strip().upper()
        try:
            rate = Decimal(value.strip().replace(",", "."))
        except ArithmeticError:
            rate = Decimal(0)
        if code not in _ISO_CURRENCIES or not rate.is_finite() or rate <= 0:
            raise CadenceError(f"--rate {item!r} is not CODE=RATE with a currency code and a positive rate "
                               f"(e.g. --rate EUR=98.5: one EUR is 98.5 of the account's currency)")
        rates[code] = rate
    return rates


def _named_currencies(raw: RawTable, columns: ColumnMap, metric: str) -> list[tuple[str, frozenset[str]]]:
    """(where, currencies it may mean) for what the file says of one money column: its header, a currency
    column, currency marks in its cells."""
    position = columns.fields[metric]
    header = raw.header[position]
    named = []
    if (from_header := header_currency(header)) is not None:
        named.append((f"the column {header!r}", from_header))
    if columns.currency_column is not None:
        cells = {_cell_text(v) for v in pd.unique(raw.rows[columns.currency_column].to_numpy(dtype=object))}
        for cell in sorted(cells - _BLANK_CELLS):
            named.append((f"the {raw.header[columns.currency_column]!r} column ({cell})",
                          currency_of(cell) or frozenset({cell.upper()})))
    texts = [v for v in islice(pd.unique(raw.rows[position].to_numpy(dtype=object)), 2000) if isinstance(v, str)]
    marks = {m.strip() for t in texts for m in _CURRENCY.findall(t)}
    for mark in sorted(marks):
        if (meaning := currency_of(mark)) is not None:
            named.append((f"{mark!r} in the {header!r} cells", meaning))
    return named


def money_factors(raw: RawTable, columns: ColumnMap, currency: str, rates: dict[str, Decimal] | None = None,
                  *, name: str = "the file", account: str = "") -> tuple[dict[str, Decimal], list[str]]:
    """The rate each money column is multiplied by to be in the account's currency, and notes on conversions.

    A column in another currency is refused unless the user gave its rate (`--rate EUR=98.5`)."""
    factors: dict[str, Decimal] = {}
    notes: list[str] = []
    for metric in (m for m in MONEY if m in columns.fields):
        for where, meaning in _named_currencies(raw, columns, metric):
            if currency in meaning:
                continue
            code = next((c for c in sorted(meaning) if c in (rates or {})), None)
            if code is None:
                other = "/".join(sorted(meaning))
                raise CadenceError(
                    f"{name}: {where} is in {other} but account {account} is in {currency}: import an export in "
                    f"{currency}, or convert at a rate you choose with --rate {sorted(meaning)[0]}=RATE "
                    f"(how many {currency} one {sorted(meaning)[0]} is)")
            if factors.setdefault(metric, rates[code]) != rates[code]:  # type: ignore[index]
                raise CadenceError(f"{name}: {metric} is named in more than one currency ({where} is in {code})")
            note = f"{metric} converted from {code} at {rates[code]} {currency} per {code}"  # type: ignore[index]
            if note not in notes:
                notes.append(note)
    return factors, notes


# A platform's own way of writing zero: Yandex Direct reports print "--" for a metric that was 0 that day.
# Every other blank cell is missing, not zero.
ZERO_MARKS = {"yandex_direct": frozenset({"-", "--"})}
_BLANKS = frozenset({"", "-", "--", "—", "–", "n/a", "na", "nan", "null", "none", "#n/a", "н/д", "нет данных"})
_BLANK_CELLS = _BLANKS | {b.upper() for b in _BLANKS} | {b.capitalize() for b in _BLANKS}
# Only dashes stand for "no campaign": "NA" or "None" may well be a campaign's name.
_NO_NAME = frozenset({"", "-", "--", "—", "–"})
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


_SUMMARY = re.compile("^(?:" + "|".join(
    [re.escape(w) + r"\s*(?:$|[:(\-–—])" for w in SUMMARY_WORDS] + [re.escape(p) for p in SUMMARY_PREFIXES]) + ")")


def _is_summary(text: str) -> bool:
    """Whether a day or campaign cell says "Total", "Итого", "总计" and the like."""
    return bool(_SUMMARY.match(text.casefold()))


def _id_text(value: Any) -> str:
    """A campaign id cell as text ("" for a dash); 1234.0 from a spreadsheet reads as "1234"."""
    text = _cell_text(value)
    return "" if text in _NO_NAME else text


def _name_text(value: Any) -> str:
    """A campaign name with its whitespace collapsed ("" for a dash)."""
    text = re.sub(r"\s+", " ", _cell_text(value))
    return "" if text in _NO_NAME else text


def name_key(name: str) -> str:
    """The stable external id for a campaign known only by name: "name:<name>", hashed if it would not fit."""
    key = f"name:{name}"
    if len(key) <= MAX_EXTERNAL_ID:
        return key
    digest = hashlib.sha1(name.encode()).hexdigest()[:12]
    return f"name:{name[:MAX_EXTERNAL_ID - 18]}~{digest}"


def normalise(raw: RawTable, columns: ColumnMap, *, day_first: bool = True,
              zero_marks: frozenset[str] = frozenset(), year: int | None = None, date_format: str | None = None,
              factors: dict[str, Decimal] | None = None) -> pd.DataFrame:
    """One parsed row per file row: day, campaign key, metrics (blank cells and absent columns NaN: missing, not
    zero; money times its `factors` rate), segments, unread columns (`extra:`), and any `problem`."""
    index = raw.rows.index
    problem = pd.Series(None, index=index, dtype=object)

    def flag(mask: pd.Series, reason: str) -> None:
        hit = problem.isna() & mask
        if hit.any():
            problem[hit] = reason

    def texts(position: int | None, parse: Any = _cell_text) -> pd.Series:
        if position is None:
            return pd.Series("", index=index, dtype=object)
        return _per_unique(raw.rows[position], parse).astype(object)

    fields = columns.fields
    day_text = texts(fields["day"])
    ids = texts(fields.get("campaign_id"), _id_text)
    names = texts(fields.get("campaign_name"), _name_text)
    segments = {h: texts(p) for h, p in columns.segments.items()}

    identity = [day_text, ids, names, *segments.values(), texts(0)]
    summary = pd.concat([_per_unique(t, _is_summary).astype(bool) for t in identity], axis=1).any(axis=1)
    dashes = day_text.isin(SUMMARY_DASHES) & ids.eq("") & names.eq("")
    flag(summary | dashes, "summary row")

    day_cells = raw.rows[fields["day"]]
    if columns.month_column is not None and year is not None and date_format is None:
        day_cells, day_first = _month_and_day(raw.rows[columns.month_column], day_cells), True
    days = parse_dates(day_cells, day_first=day_first, year=year, date_format=date_format)
    flag(day_text.isin(_BLANK_CELLS), "missing date")
    flag(days.isna(), "bad date")
    if columns.period_end is not None:
        ends = parse_dates(raw.rows[columns.period_end], day_first=day_first, year=year, date_format=date_format)
        flag(ends.notna() & ends.ne(days), "not a single day")

    key = ids.where(ids.ne(""), None)
    if "campaign_id" in fields and "campaign_name" in fields:
        known = pd.DataFrame({"name": names, "id": ids})
        known = known[known["name"].ne("") & known["id"].ne("")].drop_duplicates("name")
        key = key.fillna(names.map(dict(zip(known["name"], known["id"]))))
    from_name = key.isna() & names.ne("")
    key = key.where(~from_name, _per_unique(names, name_key))
    flag(key.isna(), "missing campaign")
    flag(key.fillna("").str.len() > MAX_EXTERNAL_ID, "campaign id too long")

    numbers = {m: _prepare_numbers(raw.rows[fields[m]]) for m in columns.metrics}
    votes = sum((n.votes for n in numbers.values()), Counter()).most_common(1)
    hint = votes[0][0] if votes else None
    parsed: dict[str, Any] = {m: np.nan for m in METRICS}
    for metric, column in numbers.items():
        mark = _column_mark(column, integer=metric in INTEGER_METRICS, hint=hint)
        values = pd.Series(_parse_prepared(column, mark), index=index)
        flag(values.isna() & ~column.blank, f"non-numeric value in {metric}")
        if zero_marks:
            values[raw.rows[fields[metric]].map(lambda cell: str(cell).strip() in zero_marks)] = 0.0
        if factors and metric in factors:
            values = values * float(factors[metric])
        parsed[metric] = values
    flag(pd.Series(np.logical_and.reduce([n.blank for n in numbers.values()]), index=index), "no metric values")

    out = pd.DataFrame({"day": days, "campaign_key": key, "campaign_name": names, "from_name": from_name,
                        **parsed}, index=index)
    for header, values in segments.items():
        out[SEGMENT_PREFIX + header] = values
    for header, position in columns.extras.items():
        out[EXTRA_PREFIX + header] = texts(position)
    out["problem"] = problem
    return out


def validate(frame: pd.DataFrame, *, today: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(loadable rows with `duplicate` marking exact repeats, quarantined rows with a `reason`)."""
    reason = frame["problem"].copy()

    def flag(mask: pd.Series, text: str) -> None:
        hit = reason.isna() & mask
        if hit.any():  # a masked assignment costs milliseconds even when it sets nothing (a pull imports often)
            reason[hit] = text

    days = frame["day"]
    flag(days > pd.Timestamp(today + dt.timedelta(days=1)), "date in the future")
    flag(days < pd.Timestamp(EARLIEST_DAY), "bad date")
    for metric in METRICS:
        if metric in INTEGER_METRICS:
            flag(frame[metric].notna() & (frame[metric] % 1 != 0), f"non-integer value in {metric}")
    for metric in METRICS:
        flag(frame[metric] < 0, f"negative {metric}")
        flag(frame[metric] >= LIMITS[metric], f"value too large in {metric}")
    # Zero impressions with clicks is how a platform that does not count impressions reports.
    flag((frame["impressions"] > 0) & (frame["clicks"] > frame["impressions"]), "clicks above impressions")

    segments = [c for c in frame.columns if c.startswith(SEGMENT_PREFIX)]
    keys = ["campaign_key", "day", *segments]
    ok = reason.isna()
    distinct = frame.loc[ok, keys + list(METRICS)].drop_duplicates()
    clashing = distinct.loc[distinct.duplicated(keys, keep=False), keys].drop_duplicates()
    clash = ok & _in(frame, keys, clashing)
    flag(clash, _conflict_reason(frame[clash], keys))

    poisoned = reason.notna() & ~reason.isin(ROW_REASONS)
    day_keys = ["campaign_key", "day"]
    flag(_in(frame, day_keys, frame.loc[poisoned, day_keys].drop_duplicates()), INCOMPLETE)

    # Breakdown rows are summed per campaign and day (exactly, in Python ints): past the column, the day stays out.
    ok = reason.isna()
    summed = frame.loc[ok].drop_duplicates(keys + list(METRICS))
    for metric in METRICS:
        known = summed[metric].fillna(0)
        units = known if metric in INTEGER_METRICS else _hundredths(known)
        totals = units.astype("int64").astype(object).groupby([summed["campaign_key"], summed["day"]]).sum()
        limit = LIMITS[metric] * (1 if metric in INTEGER_METRICS else 100)
        flag(ok & _in(frame, day_keys, totals[totals >= limit].index.to_frame(index=False)),
             f"daily total too large in {metric}")

    ok = reason.isna()
    good = frame[ok].drop(columns="problem")
    good["duplicate"] = good.duplicated(keys + list(METRICS), keep="first")
    quarantine = pd.DataFrame({"reason": reason[~ok]})
    return good, quarantine


_DERIVED = re.compile(r"ctr|cpc|cpm|cpa|cpv|roas|rate|avg|average|%|per |frequency|reach|cost per|стоимость|цена|"
                      r"ср\.|средн|率|均")


def _conflict_reason(rows: pd.DataFrame, keys: list[str]) -> str:
    """"conflicting duplicate", naming the unread columns the clashing rows differ in (a breakdown, most likely)."""
    extras = [c for c in rows.columns if c.startswith(EXTRA_PREFIX)]
    if rows.empty or not extras:
        return CONFLICT
    varying = [c.removeprefix(EXTRA_PREFIX) for c in extras if rows.groupby(keys)[c].nunique().gt(1).any()]
    if not varying:
        return CONFLICT
    varying.sort(key=lambda h: bool(_DERIVED.search(h.casefold())))
    names = ", ".join(repr(h) for h in varying[:3])
    return (f"{CONFLICT}: the rows differ only in {names}, not a column Cadence reads; if it is a breakdown, "
            f"--map \"{varying[0]}=segment\" sums over it")


def _in(frame: pd.DataFrame, keys: list[str], wanted: pd.DataFrame) -> pd.Series:
    """Which rows of `frame` have their `keys` among the rows of `wanted`."""
    if wanted.empty:
        return pd.Series(False, index=frame.index)
    marks = wanted.assign(_hit=True)
    merged = frame[keys].reset_index(drop=True).merge(marks, on=keys, how="left")
    return pd.Series(merged["_hit"].eq(True).to_numpy(), index=frame.index)


def _hundredths(values: pd.Series) -> pd.Series:
    """Money and conversions as exact whole hundredths, rounded half away from zero like NUMERIC(…, 2)."""
    # The nudge keeps 0.285 (stored as 0.28499999…) rounding up, as the decimal it was written as would.
    return (np.sign(values) * np.floor(values.abs() * 100 + 0.5 + 1e-7)).astype("int64")


def daily_records(good: pd.DataFrame) -> pd.DataFrame:
    """One record per campaign and day: the non-repeated rows summed, with how many rows went into each.

    A metric blank in any of a day's rows is missing for that day (NA), not the sum of the others. Money and
    conversions over several rows are summed as the decimals the file wrote and rounded once, at the end."""
    rows = good[~good["duplicate"]].copy()
    blank = rows[list(METRICS)].isna()
    several = rows.duplicated(["campaign_pk", "day"], keep=False)
    exact = {m: rows.loc[several, m].fillna(0) for m in METRICS if m not in INTEGER_METRICS}
    for metric in METRICS:
        known = rows[metric].fillna(0)
        rows[metric] = known.astype("int64") if metric in INTEGER_METRICS else _hundredths(known)
    keys = [rows["campaign_pk"], rows["day"]]
    grouped = rows.groupby(["campaign_pk", "day"], sort=True)
    records = grouped[list(METRICS)].sum().astype("Int64")
    for metric, values in exact.items():
        if not values.empty:
            # repr gives the shortest decimal that reads back as the same float: the number as the file wrote it.
            sums = values.map(lambda v: Decimal(repr(float(v)))).groupby(
                [rows.loc[several, "campaign_pk"], rows.loc[several, "day"]]).sum()
            records.loc[sums.index, metric] = [int(v.scaleb(2).quantize(Decimal(1), ROUND_HALF_UP)) for v in sums]
    records = records.mask(blank.groupby(keys, sort=True).any())
    records["rows"] = grouped.size()
    return records.reset_index()


def plan_writes(records: pd.DataFrame, stored: pd.DataFrame, compared: list[str]) -> pd.DataFrame:
    """Each record marked insert, update or same against the stored row; only the file's own metrics compare."""
    merged = records.merge(stored, on=["campaign_pk", "day"], how="left", suffixes=("", "_stored"),
                           indicator=True)
    same = pd.Series(True, index=merged.index)
    for metric in compared:
        new, old = merged[metric], merged[f"{metric}_stored"]
        same &= new.eq(old).fillna(False).astype(bool) | (new.isna() & old.isna())
    merged["action"] = np.where(merged["_merge"].eq("left_only"), "insert", np.where(same, "same", "update"))
    return merged[[*records.columns, "action"]]


def import_file(
    engine: Engine,
    path: str | Path,
    *,
    platform: str,
    account: str,
    known_campaigns_only: bool = False,
    today: dt.date | None = None,
    mapping: dict[str, str] | None = None,
    year: int | None = None,
    date_format: str | None = None,
    rates: dict[str, Decimal] | None = None,
) -> ImportReport:
    """Import one export into one account: every row loaded, quarantined with a reason, or counted a duplicate.

    `mapping` ({header: field}) goes over the account's saved mapping; `year` and `date_format` read dates the
    usual forms do not; `rates` convert money named in another currency. A report with `nothing_loaded` set
    loaded nothing, and says why."""
    path = Path(path)
    return import_bytes(engine, _read_bytes(path), path.name, platform=platform, account=account,
                        known_campaigns_only=known_campaigns_only, today=today, mapping=mapping, year=year,
                        date_format=date_format, rates=rates)


def import_bytes(
    engine: Engine,
    data: bytes,
    name: str,
    *,
    platform: str,
    account: str,
    known_campaigns_only: bool = False,
    today: dt.date | None = None,
    account_platform: str | None = None,
    mapping: dict[str, str] | None = None,
    year: int | None = None,
    date_format: str | None = None,
    rates: dict[str, Decimal] | None = None,
    use_saved_mapping: bool = True,
) -> ImportReport:
    """Import an export's bytes, named `name`, into one account (a file, or a platform pull serialised as one).

    `account_platform` finds the account on that platform when the headers are read as another (a pull's generic
    export); the batch is recorded under the account's platform then. `use_saved_mapping=False` reads the headers
    as they are: a pull's canonical export must not be remapped by what an AM saved for the account's files. The
    other options are import_file's."""
    platform = check_platform(platform)
    digest = hashlib.sha256(data).hexdigest()
    with Session(engine) as session:
        found = find_account(session, account, account_platform or platform)
        previous = session.scalars(select(ImportBatch).where(
            ImportBatch.account_id == found.id, ImportBatch.file_sha256 == digest)).one_or_none()
        if previous is not None and (previous.loaded or previous.duplicates):
            return _previous_report(session, previous, account)
        account_id, zone, account_platform = found.id, found.time_zone, found.platform.value
        currency = found.currency
        saved = saved_mapping(session, found.id) if use_saved_mapping else {}
    today = today or today_in(zone)
    if date_format is not None and "%" not in date_format:
        raise CadenceError(f"--date-format {date_format!r} has no % codes: write it as for strftime, e.g. %d.%m.%Y")

    merged = {**saved, **(mapping or {})}
    raw = read_export(data, name, known=merged)
    _check_mapped_headers(raw.header, mapping or {}, name)
    columns = map_columns(raw.header, platform, name=name, mapping=merged)
    columns = with_text_columns(raw, columns)
    factors, notes = money_factors(raw, columns, currency, rates, name=name, account=account)
    # A generic file for a Google Ads account most likely writes dates the way Google Ads does.
    day_first = DAY_FIRST_DEFAULT[account_platform if platform == "generic" else platform]
    frame = normalise(raw, columns, day_first=day_first, zero_marks=ZERO_MARKS.get(platform, frozenset()),
                      year=year, date_format=date_format, factors=factors)
    good, quarantine = validate(frame, today=today)
    report = ImportReport(file_name=name, platform=platform, account=account, rows_in=len(frame),
                          source=raw.source, notes=notes,
                          columns={raw.header[i]: f for f, i in columns.fields.items()},
                          unread=list(columns.extras))
    try:
        with Session(engine) as session, session.begin():
            if previous is not None:
                # That import loaded nothing: this one, with other options or mapping, takes its place if it loads.
                session.delete(session.get(ImportBatch, previous.id))
                session.flush()
            batch = ImportBatch(account_id=account_id, platform=Platform(account_platform or platform),
                                file_name=name[:500],
                                file_sha256=digest, rows_in=len(frame), loaded=0, inserted=0, updated=0,
                                quarantined=0, duplicates=0)
            session.add(batch)
            session.flush()
            good, unknown, created = _resolve_campaigns(session, account_id, good, known_campaigns_only)
            quarantine = pd.concat([quarantine, unknown]).sort_index()
            records = daily_records(good)
            plan = plan_writes(records, _stored_metrics(session, records), columns.metrics)
            _write_metrics(session, plan, columns.metrics, batch.id)
            _write_quarantine(session, batch.id, raw, quarantine)

            rows_by_action = plan.groupby("action")["rows"].sum()
            report.inserted = int(rows_by_action.get("insert", 0))
            report.updated = int(rows_by_action.get("update", 0))
            report.loaded = report.inserted + report.updated
            report.duplicates = int(good["duplicate"].sum() + rows_by_action.get("same", 0))
            report.quarantined = len(quarantine)
            report.campaigns_created = created
            report.batch_id = batch.id
            for counter in ("loaded", "inserted", "updated", "quarantined", "duplicates", "campaigns_created"):
                setattr(batch, counter, getattr(report, counter))
            if previous is not None and report.loaded == 0 and report.duplicates == 0:
                raise _LoadsNothingAgain
    except _LoadsNothingAgain:
        report.reasons = dict(Counter(quarantine["reason"]).most_common())
        with Session(engine) as session:
            prior = _previous_report(session, session.get(ImportBatch, previous.id), account)  # type: ignore[union-attr]
        prior.nothing_loaded = _main_reason(raw, columns, report)
        return prior
    except IntegrityError:
        with Session(engine) as session:
            racer = session.scalars(select(ImportBatch.id).where(
                ImportBatch.account_id == account_id, ImportBatch.file_sha256 == digest)).first()
        if racer is None:
            raise
        raise CadenceError(f"{name} was imported into {account} as batch {racer} by another run "
                           "at the same time") from None
    report.reasons = dict(Counter(quarantine["reason"]).most_common())
    report.examples = [QuarantineExample(int(n), r, _raw_values(raw, n))
                       for n, r in quarantine["reason"].head(EXAMPLES).items()]
    report.summed_over = summed_over(good, list(columns.segments))
    if not good.empty:
        report.first_day, report.last_day = good["day"].min().date(), good["day"].max().date()
    if report.loaded == 0 and report.duplicates == 0:
        report.nothing_loaded = _main_reason(raw, columns, report)
    return report


class _LoadsNothingAgain(Exception):
    """A file whose earlier import loaded nothing loads nothing again: that import stands, nothing is written."""


def _check_mapped_headers(header: list[str], mapping: dict[str, str], name: str) -> None:
    """Every header a --map names is in the file: a typo is an error, not a silently ignored option."""
    present = {normalise_header(h) for h in header} | {_without_suffix(normalise_header(h)) for h in header}
    absent = [h for h in mapping if normalise_header(h) not in present]
    if absent:
        seen = ", ".join(repr(h) for h in header[:40])
        raise CadenceError(f"{name}: --map names {', '.join(repr(h) for h in absent)}, which is not a header "
                           f"of this file (headers: {seen})")


def summed_over(good: pd.DataFrame, segments: list[str]) -> list[str]:
    """The breakdown columns whose values differ within some campaign and day: the ones rows were summed over."""
    if good.empty:
        return []
    rows = good[~good["duplicate"]]
    keys = ["campaign_key", "day"]
    return [s for s in segments if rows.groupby(keys)[SEGMENT_PREFIX + s].nunique().gt(1).any()]


def _main_reason(raw: RawTable, columns: ColumnMap, report: ImportReport) -> str:
    """Why an import loaded nothing, in one sentence naming what to change."""
    if report.rows_in == 0:
        return "the file has a header but no data rows"
    reason, rows = next(iter(report.reasons.items()))
    if reason == "bad date":
        position = columns.fields["day"]
        month = None if columns.month_column is None else raw.header[columns.month_column]
        trouble = date_trouble(raw.rows[position], raw.header[position], month)
        if trouble:
            return trouble
    if reason == "unknown campaign":
        return (f"none of the file's campaigns is in account {report.account} and --known-campaigns-only "
                "keeps new ones out")
    return f"every row was quarantined; the commonest reason is {reason!r} ({rows} of {report.rows_in} rows)"


def saved_mapping(session: Session, account_id: int) -> dict[str, str]:
    """The account's saved header → field mapping."""
    rows = session.execute(select(ImportMapping.header, ImportMapping.field)
                           .where(ImportMapping.account_id == account_id).order_by(ImportMapping.id)).all()
    return dict(rows)


def save_mapping(session: Session, account_id: int, mapping: dict[str, str]) -> None:
    """Add or change the account's saved mapping; "HEADER=" (no field) forgets a header."""
    existing = {normalise_header(m.header): m for m in session.scalars(
        select(ImportMapping).where(ImportMapping.account_id == account_id))}
    for header, role in mapping.items():
        row = existing.get(normalise_header(header))
        if not role:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(ImportMapping(account_id=account_id, header=header[:300], field=role))
        else:
            row.header, row.field, row.updated_at = header[:300], role, dt.datetime.now(dt.timezone.utc)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing, unreadable or empty file is a CadenceError."""
    if not path.exists():
        raise CadenceError(f"no such file: {path}")
    if path.is_dir():
        raise CadenceError(f"{path} is a folder, not an export file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CadenceError(f"cannot read {path}: {exc.strerror}") from None
    if not data.strip():
        raise CadenceError(f"{path.name} is empty")
    return data


def find_account(session: Session, external_id: str, platform: str) -> AdAccount:
    """The account with this external id on this platform (any platform for generic, if only one has it)."""
    query = select(AdAccount).where(AdAccount.external_id == external_id)
    if platform != "generic":
        query = query.where(AdAccount.platform == Platform(platform))
    found = session.scalars(query).all()
    if len(found) == 1:
        return found[0]
    if found:
        platforms = ", ".join(sorted(a.platform.value for a in found))
        raise CadenceError(f"account {external_id!r} exists on {platforms}: pass --platform to say which")
    elsewhere = session.scalars(select(AdAccount.platform).where(AdAccount.external_id == external_id)).all()
    hint = f" (there is one on {', '.join(p.value for p in elsewhere)})" if elsewhere else ""
    what = "account" if platform == "generic" else f"{platform} account"
    raise CadenceError(f"no {what} {external_id!r}{hint}: `cadence account list` shows the accounts")


def _previous_report(session: Session, batch: ImportBatch, account: str) -> ImportReport:
    """The report of the batch these same bytes were imported as; nothing is written."""
    reasons = Counter(session.scalars(select(QuarantinedRow.reason).where(QuarantinedRow.batch_id == batch.id)))
    examples = session.scalars(select(QuarantinedRow).where(QuarantinedRow.batch_id == batch.id)
                               .order_by(QuarantinedRow.row_number).limit(EXAMPLES)).all()
    return ImportReport(
        file_name=batch.file_name, platform=batch.platform.value, account=account, rows_in=batch.rows_in,
        loaded=batch.loaded, inserted=batch.inserted, updated=batch.updated, quarantined=batch.quarantined,
        duplicates=batch.duplicates, campaigns_created=batch.campaigns_created, already_imported=True,
        batch_id=batch.id, reasons=dict(reasons.most_common()),
        examples=[QuarantineExample(q.row_number, q.reason, q.raw) for q in examples],
    )


def _resolve_campaigns(
    session: Session, account_id: int, good: pd.DataFrame, known_only: bool
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Give rows their campaign's primary key, creating missing campaigns (or quarantining their rows)."""
    existing = session.execute(select(Campaign.id, Campaign.external_id, Campaign.name)
                               .where(Campaign.account_id == account_id)).all()
    by_key = {ext: pk for pk, ext, _ in existing}
    by_name: dict[str, list[int]] = {}
    for pk, _, name in existing:
        by_name.setdefault(re.sub(r"\s+", " ", name.strip()).casefold(), []).append(pk)

    keys = good.drop_duplicates("campaign_key").set_index("campaign_key")
    names = good[good["campaign_name"].ne("")].groupby("campaign_key")["campaign_name"].first()
    resolved: dict[str, int] = {}
    ambiguous: set[str] = set()
    missing: list[str] = []
    for key, row in keys.iterrows():
        pk = by_key.get(key)
        if pk is None and row["from_name"]:
            matches = by_name.get(row["campaign_name"].casefold(), [])
            if len(matches) == 1:
                pk = matches[0]
            elif matches:
                ambiguous.add(key)
                continue
        if pk is not None:
            resolved[key] = pk
        else:
            missing.append(key)

    created = 0
    if missing and not known_only:
        first_day = good.groupby("campaign_key")["day"].min()
        session.execute(insert(Campaign), [
            {"account_id": account_id, "external_id": key,
             "name": str(names.get(key, key))[:MAX_CAMPAIGN_NAME],
             "created_on": first_day[key].date()}
            for key in missing
        ])
        created = len(missing)
        for chunk in _chunks(missing):
            resolved.update(session.execute(select(Campaign.external_id, Campaign.id).where(
                Campaign.account_id == account_id, Campaign.external_id.in_(chunk))).tuples().all())

    reason = good["campaign_key"].map(lambda k: "ambiguous campaign name" if k in ambiguous
                                      else None if k in resolved else "unknown campaign")
    unknown = pd.DataFrame({"reason": reason[reason.notna()]})
    good = good[reason.isna()].copy()
    good["campaign_pk"] = good["campaign_key"].map(resolved).astype("int64")
    return good, unknown, created


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    """`items` in slices small enough for an IN (...) list on any database."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _stored_metrics(session: Session, records: pd.DataFrame) -> pd.DataFrame:
    """The stored daily metrics of the records' campaigns over the records' days, in whole units and hundredths."""
    rows: list[tuple[Any, ...]] = []
    if not records.empty:
        low, high = records["day"].min().date(), records["day"].max().date()
        for chunk in _chunks(sorted(records["campaign_pk"].unique().tolist())):
            rows += session.execute(
                select(DailyMetric.campaign_id, DailyMetric.day, *(getattr(DailyMetric, m) for m in METRICS))
                .where(DailyMetric.campaign_id.in_(chunk), DailyMetric.day.between(low, high))
            ).tuples().all()
    stored = pd.DataFrame(rows, columns=["campaign_pk", "day", *METRICS])
    stored["campaign_pk"] = stored["campaign_pk"].astype("int64")
    stored["day"] = pd.to_datetime(stored["day"])
    for metric in METRICS:
        if metric in INTEGER_METRICS:
            stored[metric] = stored[metric].astype("Int64")
        else:
            stored[metric] = pd.Series([None if v is None else int((Decimal(v) * 100).to_integral_value())
                                        for v in stored[metric]], index=stored.index, dtype="Int64")
    return stored


def _db_rows(records: pd.DataFrame, metrics: list[str], batch_id: int, prefix: str = "") -> list[dict[str, Any]]:
    """Records as bind parameters: counts as int, hundredths back to exact Decimals."""
    columns: dict[str, list[Any]] = {
        "campaign_id": records["campaign_pk"].astype(int).tolist(),
        "day": [d.date() for d in records["day"]],
    }
    for metric in metrics:
        values = [None if pd.isna(v) else int(v) for v in records[metric]]
        columns[metric] = values if metric in INTEGER_METRICS else [
            None if v is None else Decimal(v).scaleb(-2) for v in values]
    names = list(columns)
    return [{**{prefix + n: v for n, v in zip(names, row)}, prefix + "import_batch_id": batch_id}
            for row in zip(*columns.values())]


def _write_metrics(session: Session, plan: pd.DataFrame, present: list[str], batch_id: int) -> None:
    """Insert the new daily records and update the changed ones (only the file's own metrics), set-based."""
    table = DailyMetric.__table__
    inserts = plan[plan["action"].eq("insert")]
    updates = plan[plan["action"].eq("update")]
    # Core executemany rather than ORM bulk: the ORM layer costs more than the database does here.
    if not inserts.empty:
        session.execute(table.insert(), _db_rows(inserts, list(METRICS), batch_id))
    if not updates.empty:
        statement = (
            table.update()
            .where(table.c.campaign_id == bindparam("b_campaign_id"), table.c.day == bindparam("b_day"))
            .values({name: bindparam(f"b_{name}") for name in [*present, "import_batch_id"]})
        )
        session.execute(statement, _db_rows(updates, present, batch_id, prefix="b_"))


def _write_quarantine(session: Session, batch_id: int, raw: RawTable, quarantine: pd.DataFrame) -> None:
    """Store each quarantined row with its line number, reason and cells as they were in the file."""
    if quarantine.empty:
        return
    session.execute(insert(QuarantinedRow), [
        {"batch_id": batch_id, "row_number": int(number), "reason": reason, "raw": _raw_values(raw, number)}
        for number, reason in quarantine["reason"].items()
    ])


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
