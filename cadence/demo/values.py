"""Small value makers the generator shares: a wall-clock time as UTC, money, budgets rounded as people set them."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

UTC = dt.UTC


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    # ZoneInfo's own cache keeps only a few zones alive; without this each call rereads the zone file.
    return ZoneInfo(name)


def at_local(day: dt.date, time: dt.time, zone: str) -> dt.datetime:
    """The UTC instant of a wall-clock time in a zone."""
    return dt.datetime.combine(day, time, tzinfo=_zone(zone)).astimezone(UTC)


def money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def nice(value: float, digits: int = 2) -> float:
    """`value` rounded to `digits` significant figures, as budgets are set."""
    if value <= 0:
        return 0.0
    step = 10 ** (math.floor(math.log10(value)) - digits + 1)
    return round(value / step) * step
