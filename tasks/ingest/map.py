"""An export's columns onto Cadence's fields (ColumnMap), money into the account's currency, rows normalised."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd

from tasks.errors import CadenceError
from tasks.ingest.cells import (
    _BLANK_CELLS,
    _CURRENCY,
    RawTable,
    _cell_text,
    _column_mark,
    _month_and_day,
    _parse_prepared,
    _per_unique,
    _prepare_numbers,
    parse_dates,
    parse_numbers,
)
from tasks.mappings import (
    CURRENCY_COLUMN_ALIASES,
    CURRENCY_NOTES,
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

MAX_EXTERNAL_ID = 64

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

SEGMENT_PREFIX = "segment:"
EXTRA_PREFIX = "extra:"
MONEY = ("spend", "conversion_value")
# A column whose filled cells are mostly not numbers is a breakdown (banner, audience, placement): summed over.
TEXT_SHARE = 0.5
TEXT_SAMPLE = 2_000
MAP_SYNTAX = '--map "HEADER=field"'


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


def check_platform(value: str) -> str:
    """The mapping name for a --platform value; unknown names are a CadenceError listing the known ones."""
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    key = PLATFORM_NICKNAMES.get(key, key)
    if key not in PLATFORM_ALIASES:
        # The names it accepts, generic first as models.enums.Platform lists them (models would bring the database in).
        known = sorted(PLATFORM_ALIASES, key=lambda name: name != "generic")
        raise CadenceError(f"unknown platform {value!r}: use one of {', '.join(known)}")
    return key


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


# Only dashes stand for "no campaign": "NA" or "None" may well be a campaign's name.
_NO_NAME = frozenset({"", "-", "--", "—", "–"})

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


def _check_mapped_headers(header: list[str], mapping: dict[str, str], name: str) -> None:
    """Every header a --map names is in the file: a typo is an error, not a silently ignored option."""
    present = {normalise_header(h) for h in header} | {_without_suffix(normalise_header(h)) for h in header}
    absent = [h for h in mapping if normalise_header(h) not in present]
    if absent:
        seen = ", ".join(repr(h) for h in header[:40])
        raise CadenceError(f"{name}: --map names {', '.join(repr(h) for h in absent)}, which is not a header "
                           f"of this file (headers: {seen})")
