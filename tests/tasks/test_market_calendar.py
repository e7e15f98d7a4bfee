"""Market peaks computed per year from their rules, and lead times that are never in the past."""

import datetime as dt

import pytest

from tasks import market_calendar
from tasks.reports import kpis


@pytest.mark.parametrize(("rule", "year", "expected"), [
    ("black_friday", 2026, dt.date(2026, 11, 27)),
    ("black_friday", 2027, dt.date(2027, 11, 26)),
    ("black_friday", 2030, dt.date(2030, 11, 29)),
    ("thanksgiving", 2026, dt.date(2026, 11, 26)),
    ("cyber_monday", 2026, dt.date(2026, 11, 30)),
    ("fixed:11-11", 2026, dt.date(2026, 11, 11)),
    ("fixed:06-18", 2027, dt.date(2027, 6, 18)),
    ("fixed:03-08", 2027, dt.date(2027, 3, 8)),
    ("fixed:02-29", 2027, dt.date(2027, 2, 28)),
    ("spring_festival", 2026, dt.date(2026, 2, 17)),
    ("spring_festival", 2027, dt.date(2027, 2, 6)),
    ("spring_festival", 2028, dt.date(2028, 1, 26)),
])
def test_each_rule_gives_its_day_of_that_year(rule, year, expected):
    assert market_calendar.occurrence(rule, year) == expected


@pytest.mark.parametrize("rule", ["fixed:13-01", "fixed:11-31", "easter", "11-11", ""])
def test_an_unknown_rule_is_a_clear_error(rule):
    with pytest.raises(ValueError, match="date rule|month|day"):
        market_calendar.check(rule)


def _peak(title, rule, stored, lead):
    return {"title": title, "kind": "market_peak", "on_date": stored, "recurs_yearly": True, "lead_days": lead,
            "rule": rule, "note": ""}


def test_black_friday_stored_at_next_years_date_is_in_this_years_q4_risk_calendar():
    # The demo stored Black Friday 2027 (generated after this year's); the Q4 2026 pack made on 1 Oct needs 2026's.
    stored = _peak("Black Friday / Cyber Monday", "black_friday", dt.date(2027, 11, 26), 21)
    risks = kpis.upcoming([stored], dt.date(2026, 10, 1), dt.date(2026, 12, 31), dt.date(2026, 10, 1))
    assert [(r["on"], r["prepare_by"]) for r in risks] == [(dt.date(2026, 11, 27), dt.date(2026, 11, 6))]
    # Without its rule, the stored date would be copied and this year's Black Friday lost: the defect planted.
    assert kpis.upcoming([{**stored, "rule": None, "recurs_yearly": False}], dt.date(2026, 10, 1),
                         dt.date(2026, 12, 31)) == []


def test_double_eleven_falls_on_11_november_and_a_november_plan_mentions_it():
    peak = _peak("双11", "fixed:11-11", dt.date(2027, 11, 11), 36)
    dates = kpis.upcoming([peak], dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 11, 3))
    assert [d["on"] for d in dates] == [dt.date(2026, 11, 11)]
    now = {"has_data": True}
    plan = kpis.plan_points(now, [], [], None, 1.0, dates)
    assert [p["title"] for p in plan if p["code"] == "prepare_date"] == ["双11"]


def test_a_preparation_day_already_past_says_now_not_a_past_date():
    peak = _peak("双11", "fixed:11-11", dt.date(2026, 11, 11), 36)
    made_on = dt.date(2026, 11, 3)
    [due] = kpis.upcoming([peak], dt.date(2026, 11, 1), dt.date(2026, 11, 30), made_on)
    assert due["prepare_by"] is None and due["prepare_now"]
    [ahead] = kpis.upcoming([peak], dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 9, 1))
    assert ahead["prepare_by"] == dt.date(2026, 10, 6) and not ahead["prepare_now"]


def test_every_peak_of_the_next_quarter_is_in_the_risk_calendar():
    from cadence.demo.record import market_key_dates

    # Generated late in the year, every stored date is its next occurrence, some of them next year's.
    stored = [{**kd, "kind": kd["kind"].value} for kd in market_key_dates(dt.date(2026, 11, 28), ["CN", "US", "RU"])]
    q4 = kpis.upcoming([kd for kd in stored if kd["market"] == "US"], dt.date(2026, 10, 1), dt.date(2026, 12, 31),
                       dt.date(2026, 10, 1))
    assert {(r["title"], r["on"]) for r in q4} == {("Black Friday / Cyber Monday", dt.date(2026, 11, 27)),
                                                    ("Christmas shopping season", dt.date(2026, 12, 1))}
    cn = {r["title"]: r["on"] for r in kpis.upcoming([kd for kd in stored if kd["market"] == "CN"],
                                                    dt.date(2027, 1, 1), dt.date(2027, 6, 30))}
    assert cn["春节"] == dt.date(2027, 2, 6) and cn["618"] == dt.date(2027, 6, 18)
    assert all(kd["rule"] for kd in stored)


def test_a_date_already_behind_the_document_is_not_coming_up():
    # An October recap made on 28 November plans November: Black Friday (27 Nov) is over, 双11 long gone.
    peaks = [_peak("Black Friday / Cyber Monday", "black_friday", dt.date(2027, 11, 26), 21),
             _peak("双11", "fixed:11-11", dt.date(2027, 11, 11), 36),
             _peak("Christmas shopping season", "fixed:12-01", dt.date(2026, 12, 1), 21)]
    made_late = kpis.upcoming(peaks, dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 11, 28))
    assert [(d["title"], d["prepare_now"]) for d in made_late] == [("Christmas shopping season", True)]
    made_early = kpis.upcoming(peaks, dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 11, 3))
    assert [d["title"] for d in made_early] == ["双11", "Black Friday / Cyber Monday", "Christmas shopping season"]


def test_am_reminders_follow_the_rule_too():
    from tasks.sla import next_occurrence

    # Stored at 2026's Black Friday; a yearly copy of 27 Nov would be a Saturday in 2027.
    assert next_occurrence(dt.date(2026, 11, 27), True, dt.date(2027, 1, 10)) == dt.date(2027, 11, 27)
    assert next_occurrence(dt.date(2026, 11, 27), True, dt.date(2027, 1, 10), "black_friday") == dt.date(2027, 11, 26)
