"""Database helpers shared by the task modules: set-based upserts that work on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, and_, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# SQLite caps bound parameters per statement (32,766 in 3.32+); keep batches well inside it.
MAX_PARAMS = 30_000


def batches(rows: Sequence[dict[str, Any]], width: int) -> Iterable[Sequence[dict[str, Any]]]:
    size = max(1, MAX_PARAMS // max(1, width))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _same_columns(rows: Sequence[dict[str, Any]]) -> None:
    """An executemany takes its columns from the first row: a row with other keys would lose values."""
    first = rows[0].keys()
    odd = next((i for i, row in enumerate(rows) if row.keys() != first), None)
    if odd is not None:
        raise ValueError(f"row {odd} has columns {sorted(rows[odd])}, row 0 has {sorted(first)}")


def _insert(session: Session, table: Table):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are written for SQLite and PostgreSQL, not {dialect}")


def insert_missing(session: Session, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]) -> int:
    """Insert rows whose natural key is not present yet; returns how many were inserted."""
    if not rows:
        return 0
    _same_columns(rows)
    inserted = 0
    for chunk in batches(rows, len(rows[0])):
        stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(key))
        # rowcount is -1 for executemany on PostgreSQL; RETURNING counts exactly on both databases.
        inserted += len(session.execute(stmt.returning(table.c[key[0]]), list(chunk)).all())
    return inserted


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    update: Sequence[str],
    touch: Sequence[str] = (),
) -> None:
    """Insert rows, or update `update` (and `touch`) columns of existing rows whose `update` columns differ."""
    if not rows:
        return
    _same_columns(rows)
    for chunk in batches(rows, len(rows[0])):
        stmt = _insert(session, table)
        changed = or_(*[table.c[col].is_distinct_from(stmt.excluded[col]) for col in update])
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={col: stmt.excluded[col] for col in [*update, *touch]}, where=changed
        )
        session.execute(stmt, list(chunk))


def key_filter(table: Table, key: Sequence[str], values: Iterable[tuple[Any, ...]]):
    """A WHERE clause matching any of the given natural-key tuples."""
    return or_(*[and_(*[table.c[col] == v for col, v in zip(key, value, strict=True)]) for value in values])

