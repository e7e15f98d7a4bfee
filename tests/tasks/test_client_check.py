"""The client-output check's rules: each defect class planted in a clean document is reported as exactly its rule."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from tasks.client_check import (
    RULES,
    ClientFacts,
    Document,
    Forbidden,
    check,
    check_document,
    counts,
    figure_keys,
    name_forms,
)

MADE = dt.date(2026, 11, 27)
ADVICE = ("Call the client today: they paused this account on 2026-11-20. Ask why (results, budget, plans) and agree"
          " the next step before the budget goes elsewhere.")
FORBIDDEN = Forbidden(
    clients={
        "lumen-health": ClientFacts("lumen-health", name_forms("Lumen Health Inc."), frozenset(figure_keys(48213.57)),
                                    own_words=frozenset({"lumen", "health", "inc", "anna", "petrova"})),
        "orbita-finans": ClientFacts("orbita-finans", name_forms("ООО «Орбита Финанс»"),
                                     frozenset(figure_keys(1736402.18)),
                                     own_words=frozenset({"orbita", "black", "friday", "sale"})),
        "xinhe-qiche": ClientFacts("xinhe-qiche", name_forms("北京新禾汽车销售有限公司"),
                                   frozenset(figure_keys(95311.4)),
                                   own_words=frozenset({"xinhe", "auto", "summer", "launch"})),
        "demo-control": ClientFacts("demo-control", name_forms("Control Client GmbH"), is_test=True),
    },
    advice=(ADVICE,),
    private_titles=("Birthday: Sophie Johnson", "Contract renewal", "Cooperation anniversary"),
    initiative_slugs=frozenset({"performance", "brand", "new-product-launch", "double-11", "618"}),
    detector_codes=frozenset({"spend_without_conversions", "churn_signal"}),
)

def _svg_img(*labels: str) -> str:
    """A chart as the reports embed it: an SVG data URI whose metadata names its generator, labels kept as text."""
    svg = ("<svg xmlns='http://www.w3.org/2000/svg'><metadata><dc:format>image/svg+xml</dc:format>"
           "<dc:title>Matplotlib v3.11.2, https://matplotlib.org/</dc:title></metadata>"
           + "".join(f"<text>{x}</text>" for x in labels) + "</svg>")
    return f"<img src=\"data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}\">"


# Clean client documents in each language: the client's own name, platforms and acronyms, their own campaign names.
CLEAN = {
    "en": Document("lumen-health", "recap email", "en", MADE, text=(
        "Dear Sophie, October at Lumen Health Inc.: spend $48,213.57, CPA $31.20, inside your target range. "
        "Google Ads and Meta both delivered; ROAS 4.1. Next steps: keep the retargeting budget as agreed. "
        "Kind regards, Anna Petrova")),
    "ru": Document("orbita-finans", "client update", "ru", MADE, text=(
        "Здравствуйте, Ольга! Расход ООО «Орбита Финанс» за 23–26 ноября: 1 736 402,18 ₽, CPA 1 505,26 ₽, CTR 4,1 %, "
        "ROAS 3,2. Яндекс Директ и VK Реклама работают ровно; кампания Orbita Black Friday Sale набирает заявки. "
        "Настроили look-alike аудиторию. Сумма в KZT и RUB пересчитана по курсу. Подробности в PDF. "
        "С уважением, Анна Петрова")),
    "zh": Document("xinhe-qiche", "recap report", "zh", MADE, html=(
        "<html><body><h1>北京新禾汽车销售有限公司 10月月报</h1><p>本月花费 ¥95,311.40，CPA ¥150.71，CTR 3.2%，"
        "oCPM 出价稳定。巨量引擎和百度的 Xinhe Auto Summer Launch 活动表现良好。</p>"
        + _svg_img("花费", "CPA", "10-01") +
        "<ul><li data-prepare-by=\"2026-12-01\">准备双11之后的年终促销：最晚 2026年12月1日 开始。</li></ul>"
        "<table data-period-first=\"2026-10-01\" data-period-last=\"2026-10-31\" data-base-first=\"2026-09-01\""
        " data-base-last=\"2026-09-30\"><tr><td>花费</td></tr></table></body></html>")),
}


def _planted(base: Document, **changes: str) -> Document:
    return Document(base.client, base.name, base.language, base.made_on, text=changes.get("text", base.text),
                    html=changes.get("html", base.html))


@pytest.mark.parametrize("language", ["en", "ru", "zh"])
def test_a_clean_document_in_each_language_raises_no_alarm(language: str) -> None:
    assert check_document(CLEAN[language], FORBIDDEN) == []


PLANTED = [
    # (rule, the clean document's language, where the defect goes, the defect)
    ("am_advice", "en", "text", f" Next steps: {ADVICE}"),
    ("am_advice", "en", "text", " Next steps: Cut its budget or pause it now: its 7-day CPA is $50.20."),
    ("private_date", "en", "text", " Plan: Birthday: Sophie Johnson (28 Nov): start by 25 Nov."),
    ("private_date", "ru", "text", " План: подготовиться ко дню рождения Ольги и к годовщине сотрудничества."),
    ("private_date", "zh", "html", "<p>准备 王芳的生日（2026年11月28日）。</p>"),
    ("other_client", "en", "text", " Peers such as Орбита Финанс spend more."),
    ("other_client", "ru", "text", " Для сравнения: у lumen-health расход выше."),
    ("other_client", "zh", "html", "<p>同行中位数 1,736,402.18</p>"),
    ("other_client", "en", "text", " The peer median is 1 736 402,18."),
    ("internal_slug", "zh", "html", "<p>给 CPA 最低的推广项目 performance 增加预算。</p>"),
    ("internal_slug", "ru", "text", " Направление double-11 выросло."),
    ("internal_slug", "en", "text", " Give more budget to new-product-launch, the initiative with the lowest CPA."),
    ("internal_slug", "en", "text", " Status: spend_without_conversions on one campaign."),
    ("internal_slug", "zh", "html", _svg_img("brand", "品牌")),
    ("english_in_translation", "ru", "text", " We will review the bids on Monday and send you the new plan."),
    ("english_in_translation", "zh", "html", "<p>下一步：Next steps will follow.</p>"),
    ("english_in_translation", "zh", "html", _svg_img("Spend", "花费")),
    ("unequal_comparison", "zh", "html", "<table data-period-first=\"2026-11-26\" data-period-last=\"2026-11-27\""
                                         " data-base-first=\"2026-11-23\" data-base-last=\"2026-11-25\"></table>"),
    ("unequal_comparison", "zh", "html", "<table data-period-first=\"2026-10-01\" data-period-last=\"2026-10-15\""
                                         " data-base-first=\"2026-09-01\" data-base-last=\"2026-09-30\"></table>"),
    ("unequal_comparison", "en", "text", " Spend fell 9% (1–2 Nov vs 29–31 Oct)."),
    ("unequal_comparison", "en", "text", " Spend fell 9% (Nov 1-2 versus Oct 29-31)."),
    ("unequal_comparison", "en", "text", " Spend fell 9% (2026-11-26..2026-11-27 vs 2026-11-23..2026-11-25)."),
    ("past_prepare_by", "zh", "html", "<ul><li data-prepare-by=\"2026-11-06\">准备 双11（2026年11月11日）：最晚"
                                      " 2026年11月6日 开始。</li></ul>"),
    ("past_prepare_by", "zh", "html", "<table><tr><td data-prepare-by=\"2026-11-26\">2026年11月26日</td></tr></table>"),
]


@pytest.mark.parametrize(("rule", "language", "where", "defect"), PLANTED,
                         ids=[f"{r}-{lang}-{i}" for i, (r, lang, _, _) in enumerate(PLANTED)])
def test_a_planted_defect_is_reported_as_exactly_its_rule(rule: str, language: str, where: str, defect: str) -> None:
    base = CLEAN[language]
    if where == "html":
        doc = _planted(base, html=base.html.replace("</body>", defect + "</body>"))
    else:
        doc = _planted(base, text=base.text + defect)
    found = check_document(doc, FORBIDDEN)
    assert {v.rule for v in found} == {rule}, found
    assert all(v.client == base.client and v.document == base.name for v in found)


def test_a_message_to_a_test_client_is_reported_whatever_it_says() -> None:
    clean = Document("demo-control", "recap email", "en", MADE, text="Dear Felix, October went well.")
    found = check_document(clean, FORBIDDEN)
    assert [v.rule for v in found] == ["test_client"]
    # Its report file reaches no one unless a message carries it: only the other rules apply to it.
    report = Document("demo-control", "recap report", "en", MADE, text="October went well.", message=False)
    assert check_document(report, FORBIDDEN) == []


def test_equal_short_periods_and_calendar_months_or_quarters_are_like_for_like() -> None:
    html = ("<html><body><table data-period-first=\"2026-11-23\" data-period-last=\"2026-11-25\""
            " data-base-first=\"2026-11-16\" data-base-last=\"2026-11-18\"></table>"
            "<table data-period-first=\"2026-07-01\" data-period-last=\"2026-09-30\" data-base-first=\"2026-04-01\""
            " data-base-last=\"2026-06-30\"></table>"
            "<table data-period-first=\"2026-02-01\" data-period-last=\"2026-02-28\" data-base-first=\"2026-01-01\""
            " data-base-last=\"2026-01-31\"></table></body></html>")
    assert check_document(_planted(CLEAN["zh"], html=html), FORBIDDEN) == []


@pytest.mark.parametrize("words", ["1–3 Nov vs 29–31 Oct", "Nov 23-26 vs Nov 19-22", "30 Oct–2 Nov",
                                   "2026-11-23..2026-11-25 vs 2026-11-20..2026-11-22"])
def test_equal_ranges_compared_in_words_are_fine(words: str) -> None:
    assert check_document(_planted(CLEAN["en"], text=CLEAN["en"].text + f" Spend rose 4% ({words})."), FORBIDDEN) == []


def test_prepare_by_today_or_later_is_fine() -> None:
    html = "<html><body><li data-prepare-by=\"2026-11-27\">准备</li></body></html>"
    assert check_document(_planted(CLEAN["zh"], html=html), FORBIDDEN) == []


def test_a_passage_matching_several_patterns_is_reported_once_and_counts_name_every_rule() -> None:
    doc = _planted(CLEAN["en"], text=CLEAN["en"].text + " Plan: Birthday: Sophie Johnson. Contract renewal soon.")
    found = check([doc, CLEAN["ru"]], FORBIDDEN)
    assert [v.rule for v in found] == ["private_date", "private_date"]
    assert counts(found) == {rule: 2 if rule == "private_date" else 0 for rule in RULES}


@pytest.mark.parametrize(("name", "forms"), [
    ("Lumen Health Inc.", {"Lumen Health Inc.", "Lumen Health"}),
    ("ООО «Орбита Финанс»", {"ООО «Орбита Финанс»", "«Орбита Финанс»", "Орбита Финанс"}),
    ("北京新禾汽车销售有限公司", {"北京新禾汽车销售有限公司", "新禾汽车销售"}),
    ("Penrose Direct Ltd", {"Penrose Direct Ltd", "Penrose Direct"}),
])
def test_a_client_is_known_by_its_name_with_and_without_its_legal_form(name: str, forms: set[str]) -> None:
    assert set(name_forms(name)) == forms


def test_only_distinctive_figures_identify_a_client() -> None:
    assert figure_keys(1736402.18) == {"173640218", "1736402"}
    assert figure_keys(31.2) == set()


def test_what_must_never_appear_is_read_from_the_database(engine) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from cadence.demo.write import generate_agency
    from models import Finding, KeyDate
    from tasks.client_check import CONTROL_SLUG, PRIVATE_KINDS, load_forbidden
    from tasks.detect.run import run_detectors
    from tasks.findings import persist_findings
    from tasks.metrics import active_client_ids, load_sweep_frames

    generate_agency(engine, as_of=MADE, seed=2, clients=6, days=60)
    ids, day = active_client_ids(engine), MADE - dt.timedelta(days=1)
    frames = load_sweep_frames(engine, ids, day)
    persist_findings(engine, ids, day, run_detectors(frames.metrics, frames.campaigns, frames.accounts,
                                                     frames.clients, day))
    forbidden = load_forbidden(engine, "Cadence Agency")
    with Session(engine) as s:
        dates = s.scalars(select(KeyDate)).all()
        advice = set(s.scalars(select(Finding.recommendation)))
    private = {k.title for k in dates if k.kind.value in PRIVATE_KINDS}
    assert private and private <= set(forbidden.private_titles)
    assert not {k.title for k in dates if k.kind.value == "market_peak"} & set(forbidden.private_titles)
    assert advice and advice == set(forbidden.advice)
    assert {"performance", "brand"} <= forbidden.initiative_slugs and "churn_signal" in forbidden.detector_codes
    assert [s for s, f in forbidden.clients.items() if f.is_test] == [CONTROL_SLUG]
    assert all(f.figures and f.names for f in forbidden.clients.values())
