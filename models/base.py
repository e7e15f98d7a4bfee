"""One DeclarativeBase for every Cadence table, with the column types they share."""

from __future__ import annotations

import datetime as dt
import enum
import os
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, Integer, MetaData, Numeric, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement

# Alembic needs deterministic constraint names to alter or drop them later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Cadence stores aware timestamps only")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


# JSONB on PostgreSQL: comparable (upserts skip unchanged rows) and indexable.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class json_array_length(FunctionElement[int]):
    """The number of elements of a JSONType array, counted by the database: SQLite's json_array_length, PostgreSQL's
    jsonb_array_length (JSONType is JSONB there)."""

    type = Integer()
    name = "json_array_length"
    inherit_cache = True


@compiles(json_array_length)
def _json_array_length(element: json_array_length, compiler: Any, **kw: Any) -> str:
    return f"json_array_length({compiler.process(element.clauses, **kw)})"


@compiles(json_array_length, "postgresql")
def _jsonb_array_length(element: json_array_length, compiler: Any, **kw: Any) -> str:
    return f"jsonb_array_length({compiler.process(element.clauses, **kw)})"


# Money and rates: exact decimals, never floats.
Money = Numeric(18, 2, asdecimal=True)
Rate = Numeric(18, 4, asdecimal=True)


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, storing the values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        Decimal: Money,
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


# How far Cadence's clock runs ahead of (or behind) the wall clock, in microseconds: unset (zero), except inside
# `tasks.clock.simulated_time`, which a simulated month uses to run every flow at its scheduled moment. It lives in
# the environment, not in a variable, so that the processes a flow starts for its tasks (the sweep's process pool,
# which hands each task the submitting process's environment) keep the same "now". Not a setting: never set it.
CLOCK_OFFSET_ENV = "CADENCE_CLOCK_OFFSET_US"
_MICROSECOND = dt.timedelta(microseconds=1)


def clock_offset() -> dt.timedelta:
    """How far Cadence's clock is from the wall clock (zero outside a simulation)."""
    raw = os.environ.get(CLOCK_OFFSET_ENV)
    return dt.timedelta(microseconds=int(raw)) if raw else dt.timedelta(0)


def utcnow() -> dt.datetime:
    """Now, aware UTC: every Cadence timestamp and "now" comes from here."""
    return dt.datetime.now(dt.timezone.utc) + clock_offset()


def set_clock_offset(offset: dt.timedelta) -> dt.timedelta:
    """Shift Cadence's clock by `offset` from the wall clock, for this process and those it starts; returns the
    previous offset."""
    previous = clock_offset()
    if offset:
        os.environ[CLOCK_OFFSET_ENV] = str(offset // _MICROSECOND)
    else:
        os.environ.pop(CLOCK_OFFSET_ENV, None)
    return previous
