"""The audience boundary: AM advice, private key dates and internal names never reach a client; labels localised."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, DisplayName, Finding, KeyDate, OutboundMessage
from models.enums import KeyDateKind, LabelKind, Language, Severity, Visibility
from models.service import default_visibility
from tasks import i18n
from tasks.reports import build, client_view, content, data, output, periods
from tasks.settings import get_settings

AS_OF = dt.date(2026, 11, 30)  # a Monday: every client gets its weekly stand-up update
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
RECAP = periods.previous_month(AS_OF)
ADVICE = "Call the client today: they paused this account PLANTED-ADVICE"
BIRTHDAY = "Birthday: PLANTED-PERSON"
CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
# ASCII , : ; ( ) touching a Chinese character, or a space touching one (placeholders count as text around them).
ZH_FAULT = re.compile(rf"[{CJK}][,:;()]|[,:;()][{CJK}]|[{CJK}] | [{CJK}]")


def _finding(detector: str, campaign: str | None = "Spring sale", severity: str = "critical") -> dict:
    return {"detector": detector, "severity": severity, "campaign": campaign, "day": dt.date(2026, 11, 25),
            "recommendation": ADVICE, "status": "open", "first_seen_at": NOW}


# Pure logic: what the client reads about each detector's finding.
@pytest.mark.parametrize("language", ["en", "zh", "ru"])
@pytest.mark.parametrize("detector", sorted(client_view.CLIENT_PHRASES) + ["churn_signal", "paused_by_client",
                                                                            "data_quality", "some_new_detector"])
@pytest.mark.parametrize("campaign", ["Spring sale", None])
def test_findings_reach_the_client_only_as_a_client_phrase(language, detector, campaign):
    steps = client_view.next_steps([_finding(detector, campaign)], language)
    if detector not in client_view.CLIENT_PHRASES:
        assert steps == ()  # relationship and plumbing detectors, and unknown ones, say nothing to clients
        return
    assert len(steps) == 1 and "PLANTED-ADVICE" not in steps[0] and "Call the client" not in steps[0]
    if campaign:
        assert campaign in steps[0]
    if language != "en":
        english = client_view.next_steps([_finding(detector, campaign)], "en")[0]
        assert steps[0] != english and not re.search(r"\b(We|we are|checking|bids)\b", steps[0])
    if language == "zh":
        assert not ZH_FAULT.search(steps[0].replace(campaign or "", "名")), steps[0]


def test_info_findings_and_repeats_say_nothing_and_at_most_three_steps():
    assert client_view.next_steps([_finding("anomaly", severity="info")], "en") == ()
    same = [_finding("anomaly"), _finding("anomaly")]
    assert len(client_view.next_steps(same, "en")) == 1
    several = client_view.next_steps([_finding("anomaly", "A"), _finding("anomaly", "B")], "en")
    assert several == ("We saw an unusual change in your results on Nov 25, 2026 and are looking into the cause.",)
    many = [_finding(d, f"C{n}") for n, d in enumerate(sorted(client_view.CLIENT_PHRASES))]
    assert len(client_view.next_steps(many, "en")) == client_view.NEXT_STEPS


def test_the_client_update_view_cannot_carry_advice_or_internal_fields():
    names = {f.name for f in dataclasses.fields(client_view.ClientUpdate)}
    assert not names & {"recommendation", "detector", "findings", "evidence", "severity", "slug", "settings", "tier"}
    client = {"name": "Acme", "currency": "CNY", "slug": "acme-internal", "cpa_band": None,
              "am": {"name": "Anna", "email": "anna@agency.example"}, "settings": {"secret": 1}}
    view = client_view.client_update(client, "zh", (dt.date(2026, 11, 23), dt.date(2026, 11, 29)), {"spend": 1.0},
                                     None, [], [{"action": "降低出价", "reason": "CPA偏高"}],
                                     [_finding("tracking_broken")])
    assert "acme-internal" not in repr(view) and "PLANTED-ADVICE" not in repr(view) and "secret" not in repr(view)
    assert view.actions == ("降低出价（CPA偏高）",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.next_steps = (ADVICE,)  # type: ignore[misc]


@pytest.mark.parametrize(("kind", "shareable"), [(KeyDateKind.BIRTHDAY, False), (KeyDateKind.ANNIVERSARY, False),
                                                  (KeyDateKind.RENEWAL, False), (KeyDateKind.FINANCING, False),
                                                  (KeyDateKind.LAUNCH, True), (KeyDateKind.MARKET_PEAK, True)])
def test_key_date_visibility_defaults_by_kind(kind, shareable):
    assert (default_visibility(kind) is Visibility.SHAREABLE) == shareable
    assert client_view.is_shareable({"kind": kind.value}) == shareable
    # A stored visibility wins over the kind's default.
    assert client_view.is_shareable({"kind": kind.value, "visibility": "private"}) is False
    assert client_view.is_shareable({"kind": kind.value, "visibility": "shareable"}) is True


def _recap_ctx() -> dict:
    return {"kind": "recap", "client": {"id": 1, "slug": "acme-internal", "name": "Acme", "currency": "CNY",
                                        "industry": "retail", "market": "CN", "tier": "strategic"},
            "period": {"label": "2026-11", "first": dt.date(2026, 11, 1), "last": dt.date(2026, 11, 30)},
            "initiatives": [{"name": "performance", "spend": 1.0}, {"name": "retargeting", "spend": 1.0}],
            "plan": [{"code": "scale_initiative", "name": "performance", "cpa": 1.0, "compared_with": "retargeting"},
                     {"code": "prepare_date", "title": BIRTHDAY, "on": dt.date(2026, 12, 3),
                      "prepare_by": dt.date(2026, 11, 30)},
                     {"code": "prepare_date", "title": "Launch: spring collection", "on": dt.date(2026, 12, 9),
                      "prepare_by": dt.date(2026, 11, 30)}],
            "risks": [{"kind": "renewal", "title": "Contract renewal", "on": dt.date(2026, 12, 20), "note": "x"},
                      {"kind": "market_peak", "title": "双11", "on": dt.date(2026, 11, 11), "note": "internal lead"}]}


def test_the_report_view_drops_private_dates_and_internal_names_and_localises_labels():
    labels = client_view.Labels({("initiative", "performance", "zh"): "效果广告",
                                 ("key_date", "双11", "zh"): "双11购物节"})
    key_dates = [{"kind": "birthday", "title": BIRTHDAY, "visibility": "private"},
                 {"kind": "launch", "title": "Launch: spring collection", "visibility": "shareable"}]
    missing: set = set()
    view = client_view.client_report(_recap_ctx(), "zh", labels, key_dates, missing)
    text = repr(view.values)
    assert BIRTHDAY not in text and "Contract renewal" not in text and "acme-internal" not in text
    assert "internal lead" not in text and "strategic" not in text
    assert view.values["initiatives"][0]["name"] == "效果广告" and view.values["plan"][0]["name"] == "效果广告"
    # The initiative a plan point is compared with is a label too (it leaked as "比performance低15%").
    assert view.values["plan"][0]["compared_with"] == "Retargeting" and "retargeting" not in text
    assert view.values["risks"] == [{"kind": "market_peak", "title": "双11购物节", "on": dt.date(2026, 11, 11)}]
    assert ("key_date", "Launch: spring collection", "zh") in missing
    # A missing name falls back to a humanised form, never the raw slug.
    plain = client_view.client_report(_recap_ctx(), "ru", client_view.Labels(), key_dates)
    assert plain.values["initiatives"][0]["name"] == "Performance"


@pytest.mark.parametrize("planted", [{"findings": [_finding("tracking_broken")]},
                                     {"extra": {"settings": {"write_first_days": 3}}},
                                     {"dates": [{"kind": "birthday", "title": "x", "on": dt.date(2026, 12, 1)}]},
                                     {"client_slug_row": [{"slug": "acme-internal"}]}])
def test_rendering_a_client_template_with_internal_facts_fails(planted):
    ctx = {**_recap_ctx(), **planted}
    if "dates" in planted:  # a private date under an unknown key is not filtered, so the final check catches it
        ctx["hidden"] = ctx.pop("dates")
    job = output.RenderJob((1, "en"), "report/recap.html.j2", "en", ctx, "", None)
    with pytest.raises(client_view.ClientLeak):
        output.render_html(job)


@pytest.mark.parametrize(("key", "expected"), [("new-product-launch", "New product launch"),
                                               ("double-11", "Double 11"), ("brand", "Brand"), ("", "")])
def test_humanise(key, expected):
    assert client_view.humanise(key) == expected


# Catalogues: Chinese as a native writer writes it, Russian dates with one dot.
def _catalog(language: str):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp)


def _strings(language: str) -> list[tuple[str, str]]:
    out = []
    for m in _catalog(language):
        if m.id:
            strings = m.string if isinstance(m.string, tuple | list) else [m.string]
            out += [(m.id if isinstance(m.id, str) else m.id[0], s) for s in strings if s]
    return out


def test_zh_catalogue_has_full_width_punctuation_and_no_spaces_around_chinese():
    bad = [(msgid, s) for msgid, s in _strings("zh") if ZH_FAULT.search(s)]
    assert bad == []


@pytest.mark.parametrize(("text", "faulty"), [("结论：本期花费 %(spend)s。", True), ("%(name)s 的", True),
                                              ("给CPA最低的项目(%(cpa)s)", True), ("徐雨萱, 你好", True),
                                              ("徐雨萱，你好！", False), ("让%(name)s的CPA回到目标区间。", False)])
def test_the_zh_scan_catches_what_it_should(text, faulty):
    assert bool(ZH_FAULT.search(text)) == faulty


def test_ru_catalogue_has_the_native_reader_fixes():
    strings = dict(_strings("ru"))
    assert "Подготовил(а)" not in " ".join(strings.values())
    assert strings["Peers, middle half"] != "Средняя половина группы"


@pytest.mark.parametrize("msgid", sorted({s for s in (m[1] for m in extract_from_file(
    "python", client_view.__file__, keywords={"N_": None})) if isinstance(s, str)}))
@pytest.mark.parametrize("language", ["zh", "ru"])
def test_every_client_phrase_is_translated(msgid, language):
    strings = dict(_strings(language))
    assert strings.get(msgid), f"{msgid!r} has no {language} translation"


@pytest.mark.parametrize("day", [dt.date(2026, 1, 1), dt.date(2026, 11, 25), dt.date(2027, 12, 31)])
def test_a_russian_date_ending_a_sentence_keeps_one_dot(day):
    with i18n.use("ru"):
        sentence = i18n.gettext_("Prepare for %(title)s (%(on)s): start by %(by)s.") % {
            "title": "Черная пятница", "on": i18n.date(day), "by": i18n.date(day)}
    assert sentence.endswith("г..")  # Babel's date plus the sentence's own dot: the fault tidy() removes
    assert not re.search(r"г\.\.", i18n.tidy("ru", sentence))
    assert i18n.tidy("zh", "a..") == "a.." and i18n.tidy("ru", "Итак...") == "Итак..."


# Through the real flows' building blocks, on the demo agency (the `demo` fixture).
DEMO = {"as_of": AS_OF, "seed": 3, "clients": 8, "days": 120}


def _client_reading(engine, language: str) -> dict:
    chunk = data.load_chunk(engine, [c["id"] for c in data.select_clients(engine)], AS_OF, AS_OF, NOW)
    return next(c for c in chunk.clients if c["slug"] != "demo-control"
                and any(p.language == language for _, p in chunk.contacts.get(c["id"], [])))


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", " ", html, flags=re.S))


@pytest.mark.slow  # a demo agency
def test_a_planted_recommendation_never_reaches_the_stand_up_update(engine, demo):
    client = _client_reading(engine, "zh")
    with Session(engine) as s, s.begin():
        account = s.scalars(select(AdAccount).where(AdAccount.client_id == client["id"])).first()
        campaign = s.scalars(select(Campaign).where(Campaign.account_id == account.id)).first()
        for detector in ("tracking_broken", "churn_signal"):
            s.add(Finding(client_id=client["id"], account_id=account.id, campaign_id=campaign.id,
                          subject=f"campaign:{campaign.id}", detector=detector, day=AS_OF - dt.timedelta(days=1),
                          severity=Severity.CRITICAL, recommendation=ADVICE, first_seen_at=NOW))
        campaign_name = campaign.name
    build.standup_chunk_rows(engine, get_settings(), [client["id"]], AS_OF, NOW)
    with Session(engine) as s:
        updates = s.scalars(select(OutboundMessage).where(OutboundMessage.client_id == client["id"],
                                                          OutboundMessage.kind == "client_update")).all()
    assert updates
    for m in updates:
        body = m.body_text + m.body_html
        assert "PLANTED-ADVICE" not in body and "Call the client" not in body
        assert campaign_name in m.body_text  # the tracking finding still reaches the client, in client words
    zh = [m for m in updates if m.language == Language.ZH]
    assert zh and "正在与贵方团队一起检查转化跟踪" in zh[0].body_text


@pytest.mark.slow  # a demo agency
def test_private_dates_never_reach_a_recap_and_labels_are_localised(engine, demo):
    client = _client_reading(engine, "zh")
    with Session(engine) as s, s.begin():
        s.add(KeyDate(scope=client["slug"], client_id=client["id"], market=client["market"],
                      kind=KeyDateKind.BIRTHDAY, title=BIRTHDAY, on_date=dt.date(1980, 12, 5)))
        s.add(KeyDate(scope=client["slug"], client_id=client["id"], market=client["market"],
                      kind=KeyDateKind.LAUNCH, title="Launch: PLANTED-LAUNCH", on_date=dt.date(2026, 12, 10),
                      recurs_yearly=False, lead_days=14))
        s.add(DisplayName(scope=client["slug"], client_id=client["id"], kind=LabelKind.KEY_DATE,
                          key="Launch: PLANTED-LAUNCH", language=Language.ZH, text="新品上市：测试新品"))
        stored = s.scalars(select(KeyDate).where(KeyDate.title == BIRTHDAY)).one()
        s.flush()
        assert stored.visibility is Visibility.PRIVATE  # defaulted from its kind
        initiatives = set(s.scalars(select(Campaign.initiative).join(AdAccount).where(
            AdAccount.client_id == client["id"])))
    result = build.build_chunk(engine, get_settings(), "recap", [client["id"]], RECAP, AS_OF, pdf_workers=1,
                               now=NOW)
    assert not result["failures"]
    zh = next(r for r in result["reports"] if r["language"] == "zh")
    html = Path(zh["html"]).read_text(encoding="utf-8")
    visible = _visible(html)
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(Path(zh["pdf"]).read_bytes())).pages)
    with Session(engine) as s:
        mails = [m.body_text + m.body_html for m in s.scalars(select(OutboundMessage).where(
            OutboundMessage.client_id == client["id"], OutboundMessage.language == Language.ZH))]
    for text in (visible, pdf_text, *mails):
        assert "PLANTED-PERSON" not in text and "Birthday" not in text
        assert "Cooperation anniversary" not in text and "Contract renewal" not in text
        assert client["slug"] not in text
        for slug in initiatives:
            if re.fullmatch(r"[a-z-]+", slug):
                assert not re.search(rf"(?<![\w-]){re.escape(slug)}(?![\w-])", text), slug
    assert "效果广告" in visible or "品牌广告" in visible or "再营销" in visible
    assert "新品上市：测试新品" in visible and "PLANTED-LAUNCH" not in visible


def test_the_report_footer_names_the_client_not_its_slug():
    ctx = {**_recap_ctx(), "previous_period": _recap_ctx()["period"], "last_year_period": _recap_ctx()["period"]}
    for language in ("en", "zh", "ru"):
        footer = content.names(ctx, language)["footer"]
        assert "acme-internal" not in footer and footer.startswith("Acme")
