"""Client messages in en / zh / ru: complete catalogues, nothing left untranslated, golden files, escaping."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from tasks import escalation, i18n, internal_mail, sla, tiering
from tasks import sync as platform_sync
from tasks.messaging.compose import Preferences, client_update_context, compose
from tasks.messaging.outbox import Window
from tasks.render import TEMPLATES, render_in
from tasks.reports import build as report_build

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "messages"
UPDATE = os.environ.get("CADENCE_UPDATE_GOLDEN") == "1"
TRANSLATED = ("zh", "ru")
WINDOW = Window("Asia/Shanghai", "CN", dt.time(9), dt.time(18))
NAMES = {"en": ("Li Wei", "Acme Retail"), "zh": ("李伟", "安可零售"), "ru": ("Анна Петрова", "Ромашка")}
WORK = {"en": ["Paused two keywords that spent without converting"], "zh": ["暂停了两个只花钱不转化的关键词"],
        "ru": ["Остановили два ключевых слова без конверсий"]}


# The contact's full name, given name, family name, patronymic and honorific.
CONTACTS = {"en": ("Michael Bennett", "Michael", "Bennett", None, "mr"), "zh": ("徐雨萱", "雨萱", "徐", None, "ms"),
            "ru": ("Айгерим Касымова", "Айгерим", "Касымова", "Касымовна", "ms")}


def _prefs(language: str, tone: str = "formal", role: str = "operator", detail: str = "campaign",
           name: str | None = None) -> Preferences:
    full, given, family, patronymic, honorific = (name, None, None, None, None) if name else CONTACTS[language]
    return Preferences(email="contact@client.example", name=full, language=language, tone=tone,
                       detail=detail, role=role, channel="email", window=WINDOW, given_name=given,
                       family_name=family, patronymic=patronymic, honorific=honorific)


def _update_context(prefs: Preferences, client_name: str | None = None, cpa: str = "130.5") -> dict:
    kpis = {"spend": Decimal("12345.60"), "impressions": 1_200_000, "clicks": 35_000, "ctr": 0.0292,
            "cpc": Decimal("0.35"), "conversions": Decimal(94), "cpa": Decimal(cpa)}
    previous = {**kpis, "spend": Decimal("11000"), "conversions": Decimal(100), "cpa": Decimal("110")}
    work = WORK[prefs.language]
    return client_update_context(
        prefs, {"name": client_name or NAMES[prefs.language][1], "currency": "CNY"},
        (dt.date(2026, 11, 23), dt.date(2026, 11, 26)), kpis, previous, {"low": Decimal(80), "high": Decimal(120)},
        [{"name": work[0][:12], "spend": Decimal(5000), "conversions": 40, "cpa": Decimal("125"), "ctr": 0.051}],
        work * 5, work, {"name": NAMES[prefs.language][0], "email": "am@agency.example"})


def _crisis_context(language: str, stage: str = "prevention") -> dict:
    work = WORK[language]
    return {"client": {"name": NAMES[language][1]}, "zone": "Asia/Shanghai", "am": {"name": NAMES[language][0],
            "email": "am@agency.example"},
            "incident": {"title": work[0], "stage": stage, "facts": work, "solution": work, "prevention": work,
                         "opened_at": dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.timezone.utc),
                         "next_update_at": dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)}}


def _messages_in_templates() -> set[str]:
    found = set()
    options = {"**.j2": {"extensions": "jinja2.ext.i18n"}}
    for extracted in extract_from_dir(TEMPLATES / "email", [("**.j2", "jinja2")], options):
        message = extracted[2]
        found.add(message if isinstance(message, str) else message[0])
    for module in (i18n.__file__, internal_mail.__file__, sla.__file__, tiering.__file__, report_build.__file__,
                   escalation.__file__, platform_sync.__file__):
        keywords = {"N_": None, "gettext_": None, "ngettext_": (1, 2)}
        for extracted in extract_from_file("python", module, keywords=keywords):
            found.add(extracted[1] if isinstance(extracted[1], str) else extracted[1][0])
    return found


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_string_has_a_translation(language):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp)
    translated = {}
    for m in catalog:
        if not m.id:
            continue
        msgid = m.id if isinstance(m.id, str) else m.id[0]
        strings = m.string if isinstance(m.string, tuple | list) else [m.string]
        translated[msgid] = (not m.fuzzy and all(strings)
                             and len(strings) == (catalog.num_plurals if m.pluralizable else 1))
    needed = _messages_in_templates()
    assert needed, "extraction found nothing"
    missing = sorted(s for s in needed if not translated.get(s))
    assert missing == [], f"untranslated in {language}: {missing}"
    assert [e for e in catalog.check() if e[1]] == [], "placeholders differ between a msgid and its translation"


# %(name)s as gettext and Jinja format it, {name} as Babel and str.format do; %% is a literal percent sign.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|(?<!\{)\{(\w*)\}(?!\})")


def _placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PLACEHOLDER.finditer(text)}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_has_exactly_the_placeholders_of_its_msgid(language):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp)
    broken = []
    for m in catalog:
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        expected = set().union(*(_placeholders(i) for i in ids))
        names = {name: 1 for i in ids for name in re.findall(r"%\((\w+)\)", i)}
        for string in filter(None, strings):
            if _placeholders(string) != expected:
                broken.append(f"{ids[0]!r}: {string!r} has {sorted(_placeholders(string))}, not {sorted(expected)}")
            try:
                # Newstyle gettext in the templates %-formats every string, so a lone "%" breaks a render.
                string % names
            except (ValueError, TypeError, KeyError) as exc:
                broken.append(f"{ids[0]!r}: {string!r} does not %-format: {exc}")
    assert broken == [], f"{language}: " + "\n".join(broken)


def _visible(text: str) -> str:
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text)
    text = re.sub(r"\S+@\S+", " ", text)
    return re.sub(r"(?<![A-Za-z])(CPA|CPC|CTR|CVR|ROAS|oCPM|CN)(?![A-Za-z])", " ", text)


def _renders(language: str):
    for tone in ("formal", "friendly"):
        for role in ("decision_maker", "operator"):
            for detail in ("summary", "campaign"):
                prefs = _prefs(language, tone, role, detail)
                yield f"client_update/{tone}/{role}/{detail}", compose("client_update", prefs, _update_context(prefs))
        for stage in ("facts", "solution", "prevention"):
            yield f"crisis_notice/{tone}/{stage}", compose("crisis_notice", _prefs(language, tone),
                                                           _crisis_context(language, stage))


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_english_is_left_in_a_rendered_message(language):
    for name, message in _renders(language):
        for part in (message.subject, message.text, message.html):
            leftovers = re.findall(r"[A-Za-z]{2,}", _visible(part).replace("doctype html", ""))
            assert leftovers == [], f"{language} {name}: untranslated {leftovers}"


@pytest.mark.parametrize("language", ["en", *TRANSLATED])
@pytest.mark.parametrize("tone", ["formal", "friendly"])
def test_golden_files_per_language_and_tone(language, tone):
    update = compose("client_update", _prefs(language, tone, "operator", "campaign"),
                     _update_context(_prefs(language, tone, "operator", "campaign")))
    brief = compose("client_update", _prefs(language, tone, "decision_maker", "summary"),
                    _update_context(_prefs(language, tone, "decision_maker", "summary"), cpa="100"))
    crisis = compose("crisis_notice", _prefs(language, tone), _crisis_context(language))
    outputs = {
        f"client_update.operator.{language}.{tone}.txt": f"Subject: {update.subject}\n\n{update.text}",
        f"client_update.operator.{language}.{tone}.html": update.html,
        f"client_update.decision_maker.{language}.{tone}.txt": f"Subject: {brief.subject}\n\n{brief.text}",
        f"crisis_notice.{language}.{tone}.txt": f"Subject: {crisis.subject}\n\n{crisis.text}",
    }
    for name, content in outputs.items():
        path = GOLDEN / name
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        assert path.exists(), f"no golden file {path}: run with CADENCE_UPDATE_GOLDEN=1 and review the diff"
        assert content == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def test_a_term_is_explained_the_first_time_only_in_each_text():
    prefs = _prefs("en")
    message = compose("client_update", prefs, _update_context(prefs))
    for part in (message.text, message.html):
        assert part.count("cost per acquisition") == 1 and part.count("CPA") >= 3
        assert part.count("click-through rate") == 1 and part.index("CPA (cost per") < part.index("CTR (click")


def test_decision_makers_get_the_conclusion_first_and_a_short_version():
    brief_prefs, full_prefs = _prefs("en", role="decision_maker", detail="summary"), _prefs("en")
    brief = compose("client_update", brief_prefs, _update_context(brief_prefs)).text
    full = compose("client_update", full_prefs, _update_context(full_prefs)).text
    assert brief.splitlines()[2].startswith("In short: your CPA") and "above your target range" in brief
    assert "Impressions" not in brief and "By campaign" not in brief and "2 more changes" in brief
    assert "Impressions" in full and "By campaign" in full and len(full) > len(brief)


def test_names_are_escaped_in_html_and_a_subject_stays_one_line():
    prefs = _prefs("en", name="<script>alert(1)</script>")
    message = compose("client_update", prefs, _update_context(prefs, client_name="Evil\r\nBcc: victim@x.example"))
    assert "<script>" not in message.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert ("\r" not in message.subject and "\n" not in message.subject
            and "Evil Bcc: victim@x.example" in message.subject)
    assert "<script>alert(1)</script>" in message.text


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "CN¥12,345.60"), ("zh", "¥12,345.60"), ("ru", "12\xa0345,60\xa0CN¥"),
])
def test_money_follows_the_contacts_locale(language, expected):
    assert render_in(language, "email/_verdict.j2", verdict="no_conversions", client={"currency": "CNY"},
                     kpis={"spend": Decimal("12345.6")}, cpa_band=None).count(expected) == 1


def test_an_unknown_language_is_a_clear_error():
    with pytest.raises(LookupError, match="no message catalogue"):
        i18n.translations("de")
