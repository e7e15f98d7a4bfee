"""Bytes to a RawTable: CSV in any encoding and delimiter, XLSX or Parquet, the header row found among title lines."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from itertools import islice
from typing import Any

import pandas as pd

from tasks.errors import CadenceError
from tasks.ingest.cells import RawTable, _cell_text, _table, _unique_names
from tasks.ingest.map import MAP_SYNTAX, _find_header, normalise_header

HEADER_SCAN_ROWS = 30
SNIFF_CHARS = 20_000
HEAD_CHARS = 200_000
MARKET_ENCODINGS = ("gb18030", "cp1251")
DELIMITERS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


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
