"""Client emails and report HTML rendered from hostile client data: never a crash, an injection or a split header."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from tasks.messaging.compose import Preferences, client_message, client_update_context, compose
from tasks.messaging.outbox import Window
from tasks.reports import build, content, output, periods
from tasks.reports.benchmarks import client_kpis

FUZZ = settings.get_profile("cadence-fuzz")
LANGUAGES = ("en", "zh", "ru")
AS_OF = dt.date(2026, 12, 2)
RECAP, PACK = periods.previous_month(AS_OF), periods.previous_quarter(AS_OF)
SHANGHAI = Window("Asia/Shanghai", "CN", dt.time(9), dt.time(18))
HOSTILE = (
    "<script>alert(1)</script>", "<SCRIPT SRC=//x.example/a.js>", "<scr<script>ipt>", "</title><script>x</script>",
    "\"'><img src=x onerror=alert(1)>", "{{ 7*7 }}", "{{7*7}}", "{% raw %}", "{% endraw %}{{ 7*7 }}",
    "{{ config }}", "${7*7}", "%s", "%(x)s", "%(client)s %(name)s %%", "Acme\r\nBcc: victim@example.com",
    "Acme\nSubject: hi", "line\u2028break", "\x00", "\u202eevil\u202c", "\u200f\u05e9\u05dc\u05d5\u05dd", "😀🚀",
    "ＡＣＭＥ", "&lt;script&gt;", "&amp;", "]]>", "\\", "'", '"', "$", "$\\frac$", "$$", "x" * 3000,
)
hostile = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=5), min_size=2, max_size=4).map("".join),
)


def _collapsed(text: str) -> str:
    return " ".join(text.split())


def assert_safe_html(html: str) -> None:
    """No <script: the templates have none, so one would be client data that escaped escaping."""
    assert "<script" not in html.lower(), "unescaped <script in HTML"


def assert_one_line_subject(subject: str) -> None:
    assert subject.strip() and subject.splitlines() == [subject], repr(subject[:200])
    assert "\r" not in subject and "\n" not in subject


@st.composite
def preferences(draw: st.DrawFn) -> Preferences:
    return Preferences(
        email="li@client.example", name=draw(hostile), given_name=draw(hostile), family_name=draw(hostile),
        language=draw(st.sampled_from(LANGUAGES)),
        tone=draw(st.sampled_from(["formal", "friendly"])), detail=draw(st.sampled_from(["summary", "campaign"])),
        role=draw(st.sampled_from(["decision_maker", "operator"])), channel=draw(st.sampled_from(["email", "wechat"])),
        window=SHANGHAI)


kpi_values = st.one_of(st.none(), st.decimals(0, 10**9, places=2, allow_nan=False))


@settings(FUZZ, max_examples=80)
@given(prefs=preferences(), client=hostile, am=hostile, campaign_names=st.lists(hostile, max_size=3),
       actions=st.lists(hostile, max_size=5), steps=st.lists(hostile, max_size=4),
       currency=st.sampled_from(["USD", "CNY", "RUB", "EUR"]), spend=kpi_values, conversions=kpi_values,
       now=st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2027, 1, 1), timezones=st.just(dt.timezone.utc)))
@example(prefs=Preferences("li@client.example", "<script>x</script>", "en", "formal", "campaign", "operator", "email",
                           SHANGHAI, given_name="<script>x</script>"),
         client="Acme\r\nBcc: victim@example.com {{ 7*7 }}", am="%(x)s", campaign_names=["{% raw %}"],
         actions=["<b>bold</b>"], steps=["%s"], currency="USD", spend=Decimal(1000), conversions=Decimal(10),
         now=dt.datetime(2026, 11, 30, 2, tzinfo=dt.timezone.utc))
def test_a_client_update_from_hostile_data_renders_inert_in_every_language(
    prefs, client, am, campaign_names, actions, steps, currency, spend, conversions, now
):
    cpa = spend / conversions if spend is not None and conversions else None
    kpis = {"spend": spend, "conversions": conversions, "cpa": cpa, "impressions": 1000, "clicks": 50, "ctr": 0.05,
            "cpc": Decimal("1.5")}
    campaigns = [{"name": n, "spend": 10.0, "conversions": 1.0, "cpa": 10.0, "ctr": 0.01} for n in campaign_names]
    context = client_update_context(prefs, {"name": client, "currency": currency}, (dt.date(2026, 11, 23),
                                    dt.date(2026, 11, 26)), kpis, kpis, {"low": 1, "high": 99}, campaigns, actions,
                                    steps, {"name": am, "email": "am@agency.example"})
    composed = compose("client_update", prefs, context)
    assert_one_line_subject(composed.subject)
    assert_safe_html(composed.html)
    # The greeting names the contact by given name (the full name is never in a greeting).
    shown = [prefs.given_name.strip(), am, *context["actions"], *context["next_steps"]]
    if context["show_campaigns"]:
        shown += campaign_names
    for value in shown:
        assert str(escape(value)) in composed.html, value[:80]  # escaped once, never evaluated or formatted
        assert value in composed.text, value[:80]
    if len(_collapsed(client)) < 200:
        assert _collapsed(client) in composed.subject  # verbatim: "{{ 7*7 }}" stays, "%(x)s" is not formatted
    row = client_message(flow="standup", kind="client-update", period="2026-11-26", client_slug="acme", client_id=1,
                         contact_id=1, prefs=prefs, composed=composed, now=now, tier="regular",
                         settings={})
    assert row["subject"] == composed.subject and row["body_html"] == composed.html
    assert row["hold_until"] is None or row["hold_until"].tzinfo is not None


def _client(name: str, am: str, currency: str) -> dict:
    return {"id": 1, "slug": "acme", "name": name, "industry": "retail", "market": "CN", "currency": currency,
            "tier": "strategic", "monthly_budget": 10_000.0, "target_roas": None,
            "cpa_band": {"low": 10.0, "high": 50.0}, "am": {"name": am}}


def _frames(first: dt.date, last: dt.date, names: list[str],
            initiatives: list[str | None]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every campaign spending every day: the metrics and campaigns frames a report reads."""
    days = pd.date_range(first, last, freq="D")
    metrics = pd.DataFrame([(c + 1, 1, 1, day, 1000.0, 50.0, 100.0 + 7 * c, 3.0 + c % 2, 300.0)
                            for c in range(len(names)) for day in days],
                           columns=["campaign_id", "account_id", "client_id", "day", "impressions", "clicks", "spend",
                                    "conversions", "conversion_value"])
    campaigns = pd.DataFrame({"campaign_id": range(1, len(names) + 1), "account_id": 1, "client_id": 1,
                              "name": names, "initiative": initiatives})
    return metrics, campaigns


@st.composite
def report_cases(draw: st.DrawFn) -> dict:
    count = draw(st.integers(1, 4))
    names = draw(st.lists(hostile, min_size=count, max_size=count, unique=True))
    return {
        "kind": draw(st.sampled_from(["recap", "strategy_pack"])), "language": draw(st.sampled_from(LANGUAGES)),
        "client": draw(hostile), "am": draw(hostile), "names": names,
        "initiatives": draw(st.lists(st.none() | hostile, min_size=count, max_size=count)),
        "note": draw(hostile), "reason": draw(hostile), "title": draw(hostile), "contact": draw(preferences()),
        "currency": draw(st.sampled_from(["USD", "CNY", "RUB"])),
    }


def report_context(case: dict) -> dict:
    period = RECAP if case["kind"] == "recap" else PACK
    first = (content.recap_window if case["kind"] == "recap" else content.pack_window)(period)[0]
    metrics, campaigns = _frames(first, period.last, case["names"], case["initiatives"])
    client = _client(case["client"], case["am"], case["currency"])
    notes = [{"kind": kind, "day": period.first + dt.timedelta(days=3), "action": case["note"],
              "reason": case["reason"]} for kind in ("optimisation", "market", "competitor")]
    key_dates = [{"title": case["title"], "kind": "launch", "on_date": period.last + dt.timedelta(days=20),
                  "recurs_yearly": False, "lead_days": 14, "note": case["note"]}]
    if case["kind"] == "recap":
        return content.recap_context(client, metrics, campaigns, notes, key_dates, period)
    peers = client_kpis(metrics.iloc[0:0], pd.DataFrame(columns=["client_id", "industry", "market", "currency"]))
    return content.pack_context(client, metrics, campaigns, notes, key_dates, period, peers)


EXPLOIT = {"kind": "recap", "language": "en", "client": "<script>c</script>", "am": "{{ 7*7 }}",
           "names": ["<scr<script>ipt>", "%(x)s"], "initiatives": ["$\\frac$", "$$"], "note": "{% raw %}",
           "reason": "<img onerror=x>", "title": "\r\n", "currency": "USD",
           "contact": Preferences("li@client.example", "<script>alert(1)</script>", "en", "friendly", "campaign",
                                  "operator", "email", SHANGHAI, given_name="<script>alert(1)</script>")}


@settings(FUZZ, max_examples=20)
@given(case=report_cases())
@example(case=EXPLOIT)  # the covering emails' greeting is a text partial included from HTML: it has to be escaped
def test_reports_and_their_emails_from_hostile_data_render_inert(case):
    ctx = report_context(case)
    template = f"report/{case['kind']}.html.j2"
    # The campaign-level variant: it is the one that prints every campaign name.
    html = output.render_html(output.RenderJob((1, case["language"]), template, case["language"], ctx, "", None,
                                               detail="campaign"))
    assert_safe_html(html)
    for value in [case["client"], *(c["name"] for c in ctx.get("campaigns", []))]:
        assert str(escape(value)) in html, value[:80]

    prefs = case["contact"]
    title = content.names(ctx, prefs.language)["title"]
    email = compose(f"{'recap' if case['kind'] == 'recap' else 'pack'}_email", prefs,
                    build.email_context(ctx, title, prefs))
    assert_one_line_subject(email.subject)
    if len(_collapsed(case["client"])) < 200:
        assert _collapsed(case["client"]) in email.subject
    assert_safe_html(email.html)
    # The greeting (built from hostile name parts, or a name-less one where the language's form needs a family
    # name) is escaped in HTML and verbatim in text.
    greeting = prefs.greeting
    assert str(escape(greeting)) in email.html and greeting in email.text


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font:UserWarning")  # fonts come with `make system-test`
@settings(FUZZ, max_examples=4)
@given(case=report_cases())
@example(case=EXPLOIT)  # "$\frac$" as an initiative: matplotlib would read it as mathtext and fail to parse it
def test_report_charts_take_any_initiative_name(case):
    case = {**case, "kind": "recap"}
    ctx = report_context(case)
    html = output.render_html(output.RenderJob((1, case["language"]), "report/recap.html.j2", case["language"], ctx,
                                               "", None, charts="recap"))
    assert 'src="data:image/svg+xml;base64,' in html
    assert_safe_html(html)
