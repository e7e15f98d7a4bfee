"""Report maths and rendering without Prefect: periods, YoY with gaps, benchmarks, paths, golden HTML, PDFs."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from pypdf import PdfReader
from sqlalchemy import func, select

from cadence.demo.write import generate_agency
from models import AdAccount, Campaign, DailyMetric
from tasks import i18n
from tasks.metrics import read_metric_window
from tasks.render import TEMPLATES
from tasks.reports import content, kpis, output, periods
from tasks.reports.benchmarks import BENCHMARK_KPIS, benchmark, client_kpis
from tasks.reports.output import RenderJob, render_job, report_paths, safe_name

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "reports"
UPDATE = os.environ.get("CADENCE_UPDATE_GOLDEN") == "1"
BAND = {"low": 20.0, "high": 40.0}


def frame(days: pd.DatetimeIndex, campaign_ids=(1,), spend=100.0, conversions=4.0) -> pd.DataFrame:
    rows = [{"campaign_id": c, "account_id": 1, "client_id": 1, "day": d, "impressions": 1000.0, "clicks": 50.0,
             "spend": spend, "conversions": conversions, "conversion_value": spend * 3} for d in days
            for c in campaign_ids]
    return pd.DataFrame(rows)


def client(**overrides) -> dict:
    base = {"id": 1, "slug": "acme", "name": "Acme", "industry": "retail", "market": "CN", "currency": "CNY",
            "tier": "strategic", "status": "active", "settings": {}, "monthly_budget": 3000.0, "cpa_band": BAND,
            "target_roas": None, "time_zone": "Asia/Shanghai", "cooperation_start": dt.date(2024, 1, 1),
            "am": {"id": 1, "name": "Li Wei", "email": "li@agency.example", "team": "cn"}}
    return {**base, **overrides}


@pytest.mark.parametrize(("as_of", "label", "first", "last"), [
    (dt.date(2026, 11, 3), "2026-10", dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
    (dt.date(2026, 1, 2), "2025-12", dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
    (dt.date(2024, 3, 1), "2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
])
def test_previous_month(as_of, label, first, last):
    assert periods.previous_month(as_of) == periods.Period(label, first, last)


@pytest.mark.parametrize(("as_of", "label"), [(dt.date(2026, 10, 1), "2026-Q3"), (dt.date(2026, 1, 5), "2025-Q4"),
                                              (dt.date(2026, 5, 1), "2026-Q1")])
def test_previous_quarter_and_year_before(as_of, label):
    quarter = periods.previous_quarter(as_of)
    assert quarter.label == label
    assert periods.year_before(quarter).first == quarter.first.replace(year=quarter.first.year - 1)
    assert periods.next_quarter(quarter).first == quarter.last + dt.timedelta(days=1)


@pytest.mark.parametrize(("as_of", "window", "before"), [
    (dt.date(2026, 11, 23), ("2026-11-19", "2026-11-22"), ("2026-11-16", "2026-11-18")),  # Monday
    (dt.date(2026, 11, 26), ("2026-11-23", "2026-11-25"), ("2026-11-19", "2026-11-22")),  # Thursday
])
def test_standup_windows_run_from_the_previous_standup(as_of, window, before):
    now, prev = periods.standup_windows(as_of)
    assert (now.first.isoformat(), now.last.isoformat()) == window
    assert (prev.first.isoformat(), prev.last.isoformat()) == before


def test_yoy_with_a_missing_last_year_month_says_so_and_does_not_divide_by_zero():
    period = periods.month(2026, 10)
    metrics = frame(pd.date_range("2026-09-01", "2026-10-31"))
    now = kpis.totals(metrics, period)
    last_year = kpis.totals(metrics, periods.year_before(period))
    assert not last_year["has_data"] and not last_year["complete"]
    rows = kpis.comparison_rows(now, kpis.totals(metrics, periods.month(2026, 9)), last_year)
    assert all(r["last_year"] is None and r["yoy"] is None for r in rows)
    assert {r["key"]: r["change"] for r in rows}["spend"] == pytest.approx(31 / 30 - 1)
    assert kpis.seasonal_context(now, None, last_year, None)["code"] == "no_history"


def test_a_partial_last_year_month_is_not_compared():
    period = periods.month(2026, 10)
    metrics = frame(pd.date_range("2025-10-25", "2026-10-31"))
    assert kpis.totals(metrics, periods.year_before(period))["coverage"] < kpis.MIN_COVERAGE
    assert kpis.comparison_rows(kpis.totals(metrics, period), None,
                                kpis.totals(metrics, periods.year_before(period)))[0]["yoy"] is None


@pytest.mark.parametrize(("now", "before", "expected"), [(10, 0, None), (None, 5, None), (5, None, None),
                                                         (15, 10, 0.5), (0, 10, -1.0)])
def test_change(now, before, expected):
    assert kpis.change(now, before) == expected


@pytest.mark.parametrize(("this", "last", "code"), [(0.20, 0.18, "seasonal"), (0.40, 0.10, "ahead_of_season"),
                                                    (-0.30, 0.05, "behind_season")])
def test_seasonal_context_compares_this_move_with_last_years(this, last, code):
    def k(conversions):
        return {"conversions": conversions, "complete": True}

    result = kpis.seasonal_context(k(100 * (1 + this)), k(100), k(200 * (1 + last)), k(200))
    assert result["code"] == code


def test_cpa_with_no_conversions_is_none_not_infinite():
    k = kpis.totals(frame(pd.date_range("2026-10-01", "2026-10-31"), conversions=0.0), periods.month(2026, 10))
    assert k["cpa"] is None and k["spend"] > 0
    assert kpis.headline(k, None, BAND, 3000.0)[2]["band"] == "no_conversions"


def test_a_client_with_a_single_initiative():
    metrics = frame(pd.date_range("2026-09-01", "2026-10-31"), campaign_ids=(1, 2))
    camps = pd.DataFrame({"campaign_id": [1, 2], "account_id": [1, 1], "client_id": [1, 1], "name": ["A", "B"],
                          "initiative": ["brand", "brand"]})
    ctx = content.recap_context(client(), metrics, camps, [], [], periods.month(2026, 10))
    assert [i["name"] for i in ctx["initiatives"]] == ["brand"] and ctx["initiatives"][0]["share"] == 1.0
    assert "initiatives" not in content.draw_charts("recap", "en", ctx)
    html = render_job_html(ctx, "en")
    assert "All spend went to one initiative: Brand." in html  # no display name: the slug humanised


def test_a_client_with_no_data_this_month_says_so_plainly():
    metrics = frame(pd.date_range("2026-08-01", "2026-09-30"))
    camps = pd.DataFrame({"campaign_id": [1], "account_id": [1], "client_id": [1], "name": ["A"],
                          "initiative": ["brand"]})
    ctx = content.recap_context(client(), metrics, camps, [], [], periods.month(2026, 10))
    assert not ctx["kpis"]["has_data"] and ctx["plan"] == [{"code": "restart"}]
    assert content.draw_charts("recap", "en", ctx) == {}
    html = render_job_html(ctx, "en")
    assert "There was no advertising in October 2026" in html


def render_job_html(ctx: dict, language: str) -> str:
    job = RenderJob((1, language), "report/recap.html.j2", language, ctx, "", None, None, "recap")
    return output.render_html(job)


def test_benchmark_is_anonymous_and_widens_then_gives_up():
    table = pd.DataFrame({
        "client_id": range(1, 9), "industry": ["retail"] * 7 + ["auto"], "market": ["CN"] * 3 + ["RU"] * 5,
        "currency": ["CNY"] * 3 + ["RUB"] * 5, "cpa": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 5.0],
        "cvr": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.6], "ctr": [0.01] * 8, "cpc": [1.0] * 8, "roas": [2.0] * 8,
    })
    result = benchmark(table, 1, "retail", "CN")
    assert result["scope"] == "industry" and result["peers"] == 6
    rows = {r["key"]: r for r in result["rows"]}
    assert "cpa" not in rows  # only two other CNY clients: money is not compared across currencies
    assert rows["cvr"]["percentile"] == 0 and rows["cvr"]["median"] == pytest.approx(0.45)
    assert set(rows["cvr"]) >= {"p25", "p75", "percentile"} and "client_id" not in rows["cvr"]
    # Every peer with the same CTR: any statistic would be each peer's own figure, so CTR is withheld.
    assert "ctr" not in rows
    assert benchmark(table, 8, "auto", "RU") == {"scope": "none", "peers": 0, "rows": [], "min_peers": 5}


def _peer_table(n: int) -> pd.DataFrame:
    return pd.DataFrame({"client_id": range(1, n + 1), "industry": ["x"] * n, "market": ["CN"] * n,
                         "currency": ["CNY"] * n, "cpa": [5.0 * k for k in range(1, n + 1)],
                         "cvr": [0.1 * k for k in range(1, n + 1)], "ctr": [0.01 * k for k in range(1, n + 1)],
                         "cpc": [1.0 * k for k in range(1, n + 1)], "roas": [1.0 * k for k in range(1, n + 1)]})


def test_lower_cpa_ranks_higher():
    assert benchmark(_peer_table(6), 1, "x", "CN")["rows"][0]["percentile"] == 100


def test_every_benchmarked_kpi_says_how_it_is_shown():
    rows = benchmark(_peer_table(6), 1, "x", "CN")["rows"]
    assert [r["key"] for r in rows] == list(BENCHMARK_KPIS)
    assert {r["key"]: r["kind"] for r in rows} == {"cpa": "money", "cvr": "percent", "ctr": "percent",
                                                     "cpc": "money", "roas": "number"}
    assert set(BENCHMARK_KPIS) <= set(kpis.KIND_OF)


@pytest.mark.parametrize(("clients", "shown"), [(5, False), (6, True), (9, True)])
def test_a_cell_of_fewer_than_five_peers_withholds_the_benchmark(clients, shown):
    result = benchmark(_peer_table(clients), 1, "x", "CN")
    assert bool(result["rows"]) is shown and (result["scope"] == "none") is not shown


@pytest.mark.parametrize("clients", [6, 7, 8, 11])
def test_no_shown_statistic_equals_a_single_peers_figure(clients):
    table = _peer_table(clients)
    for row in benchmark(table, 1, "x", "CN")["rows"]:
        peers = table.loc[table["client_id"] != 1, row["key"]].to_numpy()
        for stat in ("p25", "median", "p75"):
            assert not np.isclose(peers, row[stat], rtol=1e-6).any(), (row["key"], stat, row[stat])


def test_two_middle_peers_with_the_same_figure_withhold_that_kpi():
    table = _peer_table(7)
    table.loc[table["client_id"].isin([4, 5]), "roas"] = 4.0  # the median would be their shared, own figure
    keys = {r["key"] for r in benchmark(table, 1, "x", "CN")["rows"]}
    assert "roas" not in keys and "cpa" in keys


def _pack_with_peers() -> dict:
    """A pack for client 1 among five same-industry, same-market peers, so CVR is benchmarked."""
    quarter_days = pd.date_range("2026-07-01", "2026-09-30")
    metrics = frame(pd.date_range("2025-07-01", "2026-09-30"))
    peers = pd.concat([frame(quarter_days, conversions=c).assign(client_id=i)
                       for i, c in enumerate((4.0, 2.0, 3.0, 5.0, 6.0, 7.0), start=1)])
    clients = pd.DataFrame({"client_id": range(1, 7), "industry": "retail", "market": "CN", "currency": "CNY"})
    camps = pd.DataFrame({"campaign_id": [1], "account_id": [1], "client_id": [1], "name": ["A"],
                          "initiative": ["brand"]})
    return content.pack_context(client(), metrics, camps, [], [], periods.quarter(2026, 3),
                                client_kpis(peers, clients))


@pytest.mark.parametrize(("language", "cvr", "middle_half"), [("en", "8.00%", "Peers, middle half"),
                                                               ("zh", "8.00%", "同行典型区间"),
                                                               ("ru", "8,00", "Типичный диапазон аналогов")])
def test_a_pack_benchmarking_cvr_renders_in_every_language(language, cvr, middle_half):
    ctx = _pack_with_peers()
    assert "cvr" in {r["key"] for r in ctx["benchmark"]["rows"]}
    job = RenderJob((1, language), "report/strategy_pack.html.j2", language, ctx, "", None, None, "strategy_pack")
    html = output.render_html(job)
    assert re.search(r"<td>CVR[^<]*</td><td>" + re.escape(cvr), html)
    assert middle_half in html and 'alt="' in html


def test_reading_a_metric_window_leaves_open_connections_working(engine):
    generate_agency(engine, as_of=dt.date(2026, 10, 8), seed=11, clients=4, days=60)
    with engine.connect() as conn:
        campaigns = pd.DataFrame(conn.execute(select(Campaign.id.label("campaign_id"), Campaign.account_id,
                                                     AdAccount.client_id).join(AdAccount)).all())
    engine.dispose()
    metric = DailyMetric.__table__
    with engine.connect() as held:
        held.execute(metric.update().values(clicks=metric.c.clicks))
        held.commit()
        window = read_metric_window(engine, campaigns, dt.date(2026, 9, 1), dt.date(2026, 10, 7))
        held.execute(metric.update().values(clicks=0))
        held.commit()
        # The dispatch's worker threads open new connections while others stay checked out, as here.
        with engine.connect() as fresh:
            assert fresh.execute(select(func.max(metric.c.clicks))).scalar() == 0
    assert len(window) > 0 and window["day"].min() >= pd.Timestamp("2026-09-01")


@pytest.mark.parametrize("slug", ["../../etc/passwd", "a/b\\c", "..", "", "Ünïcode 客户", "x" * 300])
def test_report_paths_stay_inside_the_reports_folder(tmp_path, slug):
    html, pdf = report_paths(tmp_path, "recap", "2026-10", slug, "zh", "client-7")
    for path in (html, pdf):
        assert path.resolve().is_relative_to(tmp_path.resolve())
        assert re.fullmatch(r"[a-z0-9-]+\.zh\.(html|pdf)", path.name)
    assert safe_name("", "client-7") == "client-7"


def test_key_dates_recur_and_carry_their_preparation_day():
    dates = [{"title": "618", "kind": "market_peak", "on_date": dt.date(2025, 6, 18), "recurs_yearly": True,
              "lead_days": 7, "note": ""},
             {"title": "old launch", "kind": "launch", "on_date": dt.date(2025, 6, 1), "recurs_yearly": False,
              "lead_days": 7, "note": ""}]
    found = kpis.upcoming(dates, dt.date(2026, 6, 1), dt.date(2026, 6, 30))
    assert [(k["title"], k["on"], k["prepare_by"]) for k in found] == [("618", dt.date(2026, 6, 18),
                                                                        dt.date(2026, 6, 11))]


def _report_messages() -> set[str]:
    found = set()
    options = {"**.j2": {"extensions": "jinja2.ext.i18n"}}
    for extracted in extract_from_dir(TEMPLATES / "report", [("**.j2", "jinja2")], options):
        message = extracted[2]
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", ["zh", "ru"])
def test_every_report_string_is_translated(language):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp)
    done = {(m.id if isinstance(m.id, str) else m.id[0]) for m in catalog
            if m.id and all(m.string if isinstance(m.string, tuple | list) else [m.string]) and not m.fuzzy}
    assert _report_messages() - done == set()


def test_pdf_page_limit_falls_back_to_compact_then_refuses(tmp_path):
    metrics = frame(pd.date_range("2026-09-01", "2026-10-31"), campaign_ids=tuple(range(1, 41)))
    camps = pd.DataFrame({"campaign_id": range(1, 41), "account_id": 1, "client_id": 1,
                          "name": [f"Campaign {i}" for i in range(1, 41)], "initiative": "brand"})
    ctx = content.recap_context(client(), metrics, camps, [], [], periods.month(2026, 10))
    html, pdf = report_paths(tmp_path, "recap", "2026-10", "acme", "en", "x")
    with pytest.raises(output.PageLimitExceeded):
        render_job(RenderJob((1, "en"), "report/recap.html.j2", "en", ctx, str(html), str(pdf), 1, "recap"))
    done = render_job(RenderJob((1, "en"), "report/recap.html.j2", "en", ctx, str(html), str(pdf), 3, "recap"))
    assert done.pages == len(PdfReader(io.BytesIO(Path(pdf).read_bytes())).pages) <= 3
