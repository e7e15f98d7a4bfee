"""The conclusion is the most material fact, and the plan never contradicts the tables."""

import datetime as dt

import pandas as pd
import pytest

from tasks.reports import content, kpis, output, periods
from tasks.reports.output import RenderJob

BAND = {"low": 20.0, "high": 40.0}


def head(spend=3000.0, budget=3000.0, conversions=100.0, previous_conversions=100.0, cpa=30.0):
    now = {"spend": spend, "conversions": conversions, "cpa": cpa, "has_data": True}
    before = {"spend": spend, "conversions": previous_conversions, "cpa": cpa, "complete": True}
    return kpis.headline(now, before, BAND, budget)


@pytest.mark.parametrize(("kwargs", "code"), [
    ({}, "cpa_within"),
    ({"spend": 4530.0}, "over_budget"),                     # 151 % of budget: not "CPA inside the range"
    ({"spend": 1380.0}, "under_budget"),                    # 46 % of budget
    ({"spend": 3200.0}, "cpa_within"),                      # 107 %: inside the agreed band
    ({"spend": 2700.0}, "cpa_within"),                      # 90 %: inside the band
    ({"conversions": 85.0}, "cpa_within"),                  # -15 %: at the threshold, not beyond it
    ({"conversions": 80.0}, "conversions_down"),            # -20 %
    ({"conversions": 130.0}, "conversions_up"),
    ({"cpa": 48.0}, "cpa_above"),
    ({"cpa": 15.0}, "cpa_below"),
    ({"spend": 3600.0, "cpa": 60.0}, "cpa_above"),          # 50 % over the band outweighs 120 % pacing
    ({"spend": 4500.0, "cpa": 44.0}, "over_budget"),        # 150 % pacing outweighs 10 % over the band
    ({"conversions": 0.0, "cpa": None, "spend": 4500.0}, "no_conversions"),
])
def test_the_headline_is_the_most_material_fact(kwargs, code):
    assert kpis.conclusion(head(**kwargs), BAND)[0]["code"] == code


def initiative(name, cpa, conversions=100.0, share=0.5):
    return {"name": name, "cpa": cpa, "conversions": conversions, "share": share, "spend": cpa * conversions}


@pytest.mark.parametrize(("initiatives", "best"), [
    ([initiative("brand", 30.0), initiative("retargeting", 30.15)], None),            # a 0.5 % gap is no gap
    ([initiative("brand", 25.0), initiative("retargeting", 30.0)], "brand"),          # 17 %: material
    ([initiative("brand", 20.0, share=0.02), initiative("retargeting", 30.0)], None),  # 2 % of spend
    ([initiative("brand", 20.0, conversions=5), initiative("retargeting", 30.0)], None),  # 5 conversions
    ([initiative("brand", 20.0), initiative("retargeting", 30.0, conversions=3), initiative("search", 22.0)], None),
    ([initiative("a", 20.0), initiative("b", 30.0), initiative("c", 40.0)], "a"),
])
def test_the_cheapest_initiative_is_named_only_on_a_material_gap(initiatives, best):
    found = kpis.cheapest_to_scale(initiatives)
    assert (found["name"] if found else None) == best
    plan = kpis.plan_points({"has_data": True}, initiatives, [], BAND, 1.0, [])
    assert [p["name"] for p in plan if p["code"] == "scale_initiative"] == ([best] if best else [])


def test_over_budget_plan_never_adds_budget():
    pair = [initiative("brand", 25.0), initiative("retargeting", 30.0)]
    plan = kpis.plan_points({"has_data": True}, pair, [], BAND, 1.51, [])
    codes = [p["code"] for p in plan]
    assert "scale_initiative" not in codes and "underspend" not in codes
    assert "shift_to_initiative" in codes and "overspend" in codes


def campaign(name, spend, conversions, share):
    return {"name": name, "spend": spend, "conversions": conversions, "cpa": spend / conversions if conversions
            else None, "share": share}


def test_a_tiny_campaign_is_never_the_one_named():
    campaigns = [campaign("main", 1_780_000.0, 30_000.0, 0.9999), campaign("leftover", 95.0, 1.0, 0.0001)]
    stand_out = kpis.highlights(campaigns, {"low": 20.0, "high": 40.0})
    # The ¥95 leftover is neither "best" nor "the largest" above the band; main, above the band, is not "best".
    assert [(h["code"], h["name"]) for h in stand_out if "name" in h] == [("above_band", "main")]


def frame(days, campaign_ids=(1,), spend=100.0, conversions=4.0):
    return pd.DataFrame([{"campaign_id": c, "account_id": 1, "client_id": 1, "day": d, "impressions": 1000.0,
                          "clicks": 50.0, "spend": spend, "conversions": conversions,
                          "conversion_value": spend * 3} for d in days for c in campaign_ids])


def client(**overrides):
    base = {"id": 1, "slug": "acme", "name": "Acme", "industry": "retail", "market": "US", "currency": "USD",
            "tier": "strategic", "status": "active", "settings": {}, "monthly_budget": 2000.0, "cpa_band": BAND,
            "target_roas": None, "time_zone": "America/New_York", "cooperation_start": dt.date(2024, 1, 1),
            "am": {"id": 1, "name": "Ann Lee", "email": "ann@agency.example", "team": "us"}}
    return {**base, **overrides}


CAMPS = pd.DataFrame({"campaign_id": [1, 2], "account_id": [1, 1], "client_id": [1, 1], "name": ["A", "B"],
                      "initiative": ["brand", "brand"]})


def html_of(ctx, language="en", template="report/recap.html.j2", kind="recap"):
    return output.render_html(RenderJob((1, language), template, language, ctx, "", None, None, kind))


def test_a_recap_at_151_percent_of_budget_opens_with_pacing_and_never_says_add_budget():
    # 31 days x 2 campaigns x 100 = 6,200 spent on a 4,100 budget: 151 %, CPA 25 inside the band.
    metrics = frame(pd.date_range("2026-09-01", "2026-10-31"), campaign_ids=(1, 2))
    doc = periods.recap_periods(periods.month(2026, 10), dt.date(2026, 11, 3))
    ctx = content.recap_context(client(monthly_budget=4100.0), metrics, CAMPS, [], [], doc)
    assert ctx["lead"]["code"] == "over_budget"
    html = html_of(ctx)
    conclusion = html.split('class="conclusion">')[1].split("</p>")[0]
    assert "151%" in conclusion and "inside your target range" not in conclusion
    assert "Give more budget" not in html


@pytest.mark.parametrize("language", ["en", "zh", "ru"])
def test_a_comparison_column_empty_for_every_row_is_not_shown(language):
    # Only October has data: no September, no October last year.
    metrics = frame(pd.date_range("2026-10-01", "2026-10-31"))
    ctx = content.recap_context(client(), metrics, CAMPS, [], [], periods.month(2026, 10))
    assert all(r["previous"] is None and r["last_year"] is None for r in ctx["rows"])
    names = content.names(ctx, language)
    html = html_of(ctx, language)
    table = html.split("<table>")[1].split("</table>")[0]
    assert names["previous_name"] not in table and names["last_year_name"] not in table
    assert "—" not in table  # no dash column
    assert "Compared with" not in html  # and no sentence about a base that does not exist


def test_a_like_for_like_base_keeps_its_columns():
    metrics = frame(pd.date_range("2025-09-01", "2026-10-31"))
    ctx = content.recap_context(client(), metrics, CAMPS, [], [], periods.month(2026, 10))
    html = html_of(ctx)
    table = html.split("<table>")[1].split("</table>")[0]
    assert "September 2026" in table and "October 2025" in table
    # 31 days against 30 of the same daily figures: volume up 3 %, cost per result unchanged.
    assert "Compared with September 2026: Spend up 3%; Conversions up 3%; CPA unchanged." in html


def test_the_same_work_logged_twice_is_said_once():
    note = {"kind": "optimisation", "day": dt.date(2026, 10, 5), "action": "Added negative keywords",
            "reason": "irrelevant queries"}
    metrics = frame(pd.date_range("2026-10-01", "2026-10-31"))
    ctx = content.recap_context(client(), metrics, CAMPS, [note, dict(note)], [], periods.month(2026, 10))
    assert len(ctx["done"]) == 1
    assert html_of(ctx).count("Added negative keywords") == 1


def _prefs(language, detail="summary", role="operator"):
    from tasks.messaging.compose import Preferences
    from tasks.messaging.outbox import Window

    return Preferences(email="c@client.example", name="Ann", language=language, tone="formal", detail=detail,
                       role=role, channel="email",
                       window=Window("America/New_York", "US", dt.time(9), dt.time(18)))


@pytest.mark.parametrize(("language", "pacing"), [("en", "151%"), ("zh", "151%"), ("ru", "151%")])
def test_the_recap_email_leads_with_pacing_and_says_nothing_without_a_base(language, pacing):
    from tasks.messaging.compose import compose
    from tasks.reports import build

    metrics = frame(pd.date_range("2026-10-01", "2026-10-31"), campaign_ids=(1, 2))
    ctx = content.recap_context(client(monthly_budget=4100.0), metrics, CAMPS, [], [], periods.month(2026, 10))
    prefs = _prefs(language)
    mail = compose("recap_email", prefs, build.email_context(ctx, "t", prefs))
    first_fact = next(line for line in mail.text.splitlines() if "%" in line)
    assert pacing in first_fact
    # An operator gets one line per KPI row (the three headline numbers are not repeated), never run together.
    assert mail.text.count("\n- ") >= 8
    # No previous month: no "previous period: —" line, no dash cell, no empty column.
    assert ": —" not in mail.text and "—)" not in mail.text and ">—<" not in mail.html
