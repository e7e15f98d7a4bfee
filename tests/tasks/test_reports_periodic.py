"""The recap's and the pack's shared sequence: each named for the last complete period before its day."""

from __future__ import annotations

import datetime as dt

from tasks.reports.periodic import PACK, RECAP


def test_the_recap_and_the_pack_are_named_for_the_period_before_the_day():
    assert RECAP.name(dt.date(2026, 12, 3)) == "recap-2026-11"
    assert RECAP.name(dt.date(2027, 1, 1)) == "recap-2026-12"
    assert PACK.name(dt.date(2027, 1, 5)) == "pack-2026-Q4"
    assert (RECAP.kind, PACK.kind) == ("recap", "strategy_pack")
