"""Client-grade charts and layout: locale ticks, titles and units, partial weeks, repeated headers, branding, detail."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

import pandas as pd
import pytest
from pydantic import ValidationError
from pypdf import PdfReader

from tasks import i18n
from tasks.render import environment
from tasks.reports import charts, content, output, periods
from tasks.settings import Settings

NBSP = "\xa0"
BAND = {"low": 20.0, "high": 40.0}


def _svg(uri: str) -> str:
    return base64.b64decode(uri.split(",", 1)[1]).decode()


def _client(currency: str = "RUB") -> dict:
    return {"id": 1, "slug": "acme", "name": "Acme", "industry": "retail", "market": "RU", "currency": currency,
            "tier": "strategic", "status": "active", "settings": {}, "monthly_budget": 3_000_000.0, "cpa_band": BAND,
            "target_roas": None, "time_zone": "Europe/Moscow", "cooperation_start": dt.date(2024, 1, 1),
            "am": {"id": 1, "name": "Li Wei", "email": "li@agency.example", "team": "ru"}}


def _metrics(first: str, last: str, campaigns: int, spend: float = 150_000.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    days = pd.date_range(first, last)
    rows = [{"campaign_id": c, "account_id": 1, "client_id": 1, "day": d, "impressions": 10_000.0, "clicks": 300.0,
             "spend": spend, "conversions": 20.0 + c, "conversion_value": spend * 3} for d in days
            for c in range(1, campaigns + 1)]
    camps = pd.DataFrame({"campaign_id": list(range(1, campaigns + 1)), "account_id": 1, "client_id": 1,
                          "name": [f"Kampagne {c:03d}" for c in range(1, campaigns + 1)],
                          "initiative": ["brand" if c % 2 else "performance" for c in range(1, campaigns + 1)]})
    return pd.DataFrame(rows), camps


@pytest.mark.parametrize(("value", "kind", "locale", "step", "expected"), [
    (10_000_000, "number", "ru", 2_000_000, f"10{NBSP}млн"),
    (2_500_000, "number", "ru", 500_000, f"2,5{NBSP}млн"),
    (2_500.5, "number", "ru", 0.5, f"2{NBSP}500,5"),
    (1_500, "number", "ru", 500, f"1{NBSP}500"),
    (250_000, "number", "ru", 50_000, f"250{NBSP}000"),
    (25_000, "number", "zh_Hans_CN", 5_000, "2.5万"),
    (0.025, "percent", "ru", 0.005, "2,5%"),  # as the tables write it
    (10_000_000, "number", "zh_Hans_CN", 2_000_000, "1000万"),
    (120_000_000, "number", "zh_Hans_CN", 20_000_000, "1.2亿"),
    (0.025, "percent", "zh_Hans_CN", 0.005, "2.5%"),
    (10_000_000, "number", "en", 2_000_000, "10M"),
    (1_500, "number", "en", 500, "1,500"),
    (10.25, "number", "en", 0.25, "10.25"),
    (0.03, "percent", "en", 0.01, "3%"),
    (0, "number", "en", 1_000_000, "0"),
])
def test_tick_label_per_locale(value, kind, locale, step, expected):
    assert charts.tick_label(value, kind, locale, step) == expected


@pytest.mark.parametrize("magnitude", [0.01, 1, 12.5, 950, 12_345, 1e6, 1e7, 3.3e8, 1e10])
def test_russian_ticks_never_show_exponents_or_dot_decimals(magnitude):
    for value in (magnitude, magnitude * 1.5):
        for kind in ("number", "percent"):
            text = charts.tick_label(value, kind, "ru", magnitude / 4)
            assert "e" not in text.lower() and not re.search(r"\d\.\d", text), text


@pytest.mark.parametrize(("kind", "currency", "locale", "expected"), [
    ("money", "RUB", "ru", "₽"), ("money", "USD", "en", "$"), ("money", "CNY", "zh_Hans_CN", "¥"),
    ("percent", "RUB", "ru", "%"), ("number", "USD", "en", ""),
])
def test_axis_unit(kind, currency, locale, expected):
    assert charts.unit(kind, currency, locale) == expected


@pytest.mark.parametrize(("as_of", "partial"), [
    (dt.date(2026, 10, 1), [True] + [False] * 12 + [True]),  # 2026-Q3: Wednesday 1 July to Wednesday 30 September
    (dt.date(2024, 7, 1), [False] * 13),  # 2024-Q2: Monday 1 April to Sunday 30 June, whole weeks only
])
def test_partial_weeks_are_the_ones_the_quarter_cuts(as_of, partial):
    quarter = periods.previous_quarter(as_of)
    starts = pd.date_range(quarter.first - dt.timedelta(days=quarter.first.weekday()), quarter.last, freq="W-MON")
    assert content.partial_weeks(starts, quarter) == partial


def _pack_charts(language: str, currency: str) -> tuple[dict, dict[str, str]]:
    metrics, camps = _metrics("2026-07-01", "2026-09-30", 2)
    peers = pd.DataFrame([{"client_id": i, "industry": "retail", "market": "RU", "currency": currency,
                           "cpa": 7000.0 + 100 * i, "cvr": 0.02 + 0.001 * i, "ctr": 0.03 + 0.001 * i,
                           "cpc": 400.0 + i, "roas": 3.0 + 0.1 * i} for i in range(2, 9)])
    own = metrics.groupby("client_id")[["impressions", "clicks", "spend", "conversions", "conversion_value"]].sum()
    peers = pd.concat([peers, pd.DataFrame([{"client_id": 1, "industry": "retail", "market": "RU",
                                             "currency": currency, "cpa": 7300.0, "cvr": 0.024, "ctr": 0.031,
                                             "cpc": 405.0, "roas": 3.2}])], ignore_index=True)
    assert not own.empty
    ctx = content.pack_context(_client(currency), metrics, camps, [], [], periods.quarter(2026, 3), peers)
    return ctx, content.draw_charts("strategy_pack", language, ctx)


@pytest.mark.slow
def test_russian_pack_charts_have_titles_units_and_locale_ticks():
    ctx, drawn = _pack_charts("ru", "RUB")
    assert ctx["trend"]["partial"][0] and ctx["trend"]["partial"][-1] and not any(ctx["trend"]["partial"][1:-1])
    with i18n.use("ru"):
        title, note = i18n.gettext_("Weekly spend and conversions"), i18n.gettext_(
            "Pale hatched bars: incomplete weeks at the start or end of the quarter (fewer than 7 days).")
        spend = i18n.gettext_("Spend")
    assert title != "Weekly spend and conversions"
    trend = _svg(drawn["trend"])
    assert title in trend and note in trend and f"{spend}, ₽" in trend
    assert "млн" in trend and "1e" not in trend and not re.search(r">\d+\.\d+<", trend)
    initiatives = _svg(drawn["initiatives"])
    assert "Расход по направлениям" in initiatives
    bench = _svg(drawn["benchmark"])
    # Rates in the same unit as the benchmark table: percentages, not fractions like 0,024.
    assert "CVR, %" in bench and re.search(r"\d,\d%", bench) and "0,02" not in bench
    assert "CPA, ₽" in bench


@pytest.mark.slow
def test_chinese_and_english_trend_titles_and_units():
    _, zh = _pack_charts("zh", "CNY")
    trend = _svg(zh["trend"])
    with i18n.use("zh"):
        assert i18n.gettext_("Weekly spend and conversions") in trend
    assert "（¥）" in trend and "e+" not in trend
    _, en = _pack_charts("en", "USD")
    trend = _svg(en["trend"])
    assert "Weekly spend and conversions" in trend and "Spend ($)" in trend and "incomplete weeks" in trend


def test_a_chart_without_partial_weeks_has_no_partial_note():
    svg = charts.trend(["1", "2", "3"], [1e7, 1.2e7, 1.1e7], [10, 12, 11], "Spend ($)", "Conversions",
                       title="Daily spend", locale="en", partial=[False] * 3, partial_note="NOTE-PARTIAL")
    assert "Daily spend" in svg and "Spend ($)" in svg and "NOTE-PARTIAL" not in svg and "1e7" not in svg


def _pages(html: str) -> list[str]:
    reader = PdfReader(io.BytesIO(output.pdf_document(html).write_pdf()))
    return [page.extract_text() for page in reader.pages]


def _layout_html(body: str, language: str = "en", brand: dict | None = None, **context) -> str:
    template = environment().from_string(
        '{% extends "report/_layout.html.j2" %}{% from "report/_macros.html.j2" import campaign_table %}'
        "{% block body %}" + body + "{% endblock %}")
    with i18n.use(language):
        return template.render(language=language, title="t", footer="acme · 2026-10", compact=False,
                               brand=brand or output.DEFAULT_BRAND, **context)


@pytest.mark.slow
def test_a_long_table_repeats_its_header_on_every_page():
    rows = [{"name": f"Kampagne {i:03d}", "spend": 1000.0 + i, "conversions": 10, "cpa": 100.0, "ctr": 0.01}
            for i in range(90)]
    pages = _pages(_layout_html("<h2>By campaign</h2>{{ campaign_table(rows, 90, 'USD') }}", rows=rows))
    assert len(pages) >= 2
    for text in pages:
        assert "Campaign" in text and "Conversions" in text and "CTR" in text, text[:200]
    assert "Kampagne 089" in pages[-1]


@pytest.mark.slow
def test_a_heading_is_never_left_alone_at_the_bottom_of_a_page():
    rows = [{"name": f"Row {i}", "spend": 1.0, "conversions": 1, "cpa": 1.0, "ctr": 0.01} for i in range(3)]
    pushed = 0
    for filler in range(22, 32, 3):  # 31 filler lines fill the first page
        body = "{% for i in range(filler) %}<p>Filler line {{ i }}</p>{% endfor %}" \
               "<h2>Orphan check</h2>{{ campaign_table(rows, 3, 'USD') }}"
        pages = _pages(_layout_html(body, rows=rows, filler=filler))
        heading = next(i for i, text in enumerate(pages) if "Orphan check" in text)
        first_row = next(i for i, text in enumerate(pages) if "Row 0" in text)
        assert heading == first_row, f"{filler} fillers: heading on page {heading + 1}, table on {first_row + 1}"
        pushed += heading > 0
    assert 0 < pushed < 4, "the sweep must cross the bottom of the first page"


@pytest.mark.slow
def test_the_agencys_name_colour_and_logo_come_from_settings(tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="10"><rect width="40" height="10"'
                    ' fill="#123456"/></svg>')
    settings = Settings(agency_name="Northwind Media", brand_colour="#AA3366", logo_path=logo)
    brand = output.branding(settings.agency_name, settings.brand_colour, settings.logo_path)
    assert brand["colour"] == "#aa3366" and brand["logo"].startswith("data:image/svg+xml;base64,")
    rows = [{"name": f"K {i}", "spend": 1.0, "conversions": 1, "cpa": 1.0, "ctr": 0.01} for i in range(90)]
    html = _layout_html("{{ campaign_table(rows, 90, 'USD') }}", brand=brand, rows=rows)
    assert "#aa3366" in html and brand["logo"] in html
    pages = _pages(html)
    assert len(pages) >= 2 and all("Northwind Media" in text for text in pages)
    with pytest.raises(ValueError, match="cannot read the logo"):
        output.branding("x", "#000000", tmp_path / "missing.png")


@pytest.mark.parametrize(("field", "value", "message"), [("brand_colour", "blue", "#rrggbb"),
                                                         ("logo_path", "logo.gif", "not a PNG or SVG")])
def test_bad_branding_settings_are_refused(field, value, message):
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["recap", "strategy_pack"])
def test_only_the_detailed_variant_has_the_campaign_table(tmp_path, kind):
    if kind == "recap":
        metrics, camps = _metrics("2025-09-01", "2026-10-31", 4)
        ctx = content.recap_context(_client(), metrics, camps, [], [], periods.month(2026, 10))
    else:
        metrics, camps = _metrics("2025-07-01", "2026-09-30", 4)
        ctx = content.pack_context(_client(), metrics, camps, [], [], periods.quarter(2026, 3),
                                   pd.DataFrame(columns=["client_id", "industry", "market", "currency"]))
    texts = {}
    for detail in ("summary", "campaign"):
        html_path, pdf_path = output.report_paths(tmp_path, kind, "p", "acme", "ru", "x", detail)
        output.render_job(output.RenderJob((1, "ru", detail), f"report/{kind}.html.j2", "ru", ctx, str(html_path),
                                           str(pdf_path), 10, kind, detail))
        texts[detail] = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
    with i18n.use("ru"):
        heading = i18n.gettext_("By campaign")
    # The highlights may name the best and the worst campaign; the middle ones only appear in the campaign table.
    middle = ("Kampagne 002", "Kampagne 003")
    assert heading in texts["campaign"] and all(name in texts["campaign"] for name in middle)
    assert heading not in texts["summary"] and not any(name in texts["summary"] for name in middle)


def test_last_page_fill_tells_a_nearly_empty_last_page_from_a_full_one():
    lines = "".join(f"<p>Line {i}</p>" for i in range(33))
    almost_empty = output.pdf_document(_layout_html(lines))
    full = output.pdf_document(_layout_html(lines + "".join(f"<p>More {i}</p>" for i in range(25))))
    assert len(almost_empty.pages) == len(full.pages) == 2
    assert output.last_page_fill(almost_empty) < output.LOW_FILL < output.last_page_fill(full)
