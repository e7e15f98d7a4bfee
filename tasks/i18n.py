"""Languages for client-facing text: gettext catalogues, Babel formatting, and plain-words explanations of terms."""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations
from jinja2 import Environment

LOCALE_DIR = Path(__file__).resolve().parent.parent / "templates" / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# Babel locale per Cadence language; Simplified Chinese as written in mainland China.
LOCALES = {"en": "en", "zh": "zh_Hans_CN", "ru": "ru"}


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


# Explained the first time they appear in a client-facing text (seed 002: explain terms in plain words).
GLOSSARY = {
    "CPA": N_("cost per acquisition: what one conversion, such as a lead or an order, costs on average"),
    "CPC": N_("cost per click: what one click on the ad costs on average"),
    "CTR": N_("click-through rate: the share of people who saw the ad and clicked it"),
    "CVR": N_("conversion rate: the share of clicks that turned into a conversion"),
    "ROAS": N_("return on ad spend: revenue earned for every unit of money spent on ads"),
    "oCPM": N_("optimised cost per thousand impressions: the platform shows the ad to the people most likely"
               " to convert and charges per thousand showings"),
}


KPI_LABELS = {
    "spend": N_("Spend"), "impressions": N_("Impressions"), "clicks": N_("Clicks"),
    "conversions": N_("Conversions"), "ctr": "CTR", "cpc": "CPC", "cvr": "CVR", "cpa": "CPA", "roas": "ROAS",
}


def locale_for(language: str) -> Locale:
    return _locale(LOCALES.get(str(language), str(language)))


@lru_cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue for `language`, compiled in memory from its committed .po file (English needs none)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == SOURCE_LANGUAGE or not po.exists():
        if language != SOURCE_LANGUAGE:
            raise LookupError(f"no message catalogue for language {language!r} at {po}")
        return gettext.NullTranslations()
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=LOCALES.get(language, language), domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@dataclass
class _Active:
    language: str
    locale: Locale
    catalogue: gettext.NullTranslations
    seen_terms: set[str] = field(default_factory=set)


_active: ContextVar[_Active | None] = ContextVar("cadence_i18n", default=None)


def _current() -> _Active:
    active = _active.get()
    if active is None:
        active = _Active(SOURCE_LANGUAGE, locale_for(SOURCE_LANGUAGE), translations(SOURCE_LANGUAGE))
        _active.set(active)
    return active


@contextmanager
def use(language: str) -> Iterator[None]:
    """Render in `language` inside the block: gettext, number and date formats follow it."""
    token = _active.set(_Active(str(language), locale_for(language), translations(str(language))))
    try:
        yield
    finally:
        _active.reset(token)


@dataclass
class _Reader:
    known: frozenset[str]
    explained: set[str] = field(default_factory=set)


_reader: ContextVar[_Reader | None] = ContextVar("cadence_reader", default=None)


@contextmanager
def reader_knows(terms: frozenset[str] | set[str] | tuple[str, ...] = ()) -> Iterator[set[str]]:
    """Inside the block texts skip explaining `terms` (the reader had them before); yields the terms explained."""
    reader = _Reader(frozenset(terms))
    token = _reader.set(reader)
    try:
        yield reader.explained
    finally:
        _reader.reset(token)


def forget_terms() -> None:
    """Start a new text: every term the reader does not know yet is explained the first time it appears."""
    reader = _reader.get()
    _current().seen_terms = set(reader.known) if reader is not None else set()


class _ActiveCatalogue:
    """What `install_gettext_translations` binds: it forwards to the catalogue of the language in use."""

    def gettext(self, message: str) -> str:
        return _current().catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _current().catalogue.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return _current().catalogue.pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return _current().catalogue.npgettext(context, singular, plural, n)


def gettext_(message: str) -> str:
    return _current().catalogue.gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    """The plural form for `n` in the language in use (Russian has three, Chinese one)."""
    return _current().catalogue.ngettext(singular, plural, n)


def term(code: str) -> str:
    """`CPA (cost per acquisition: ...)` the first time in a text, `CPA` after that."""
    active = _current()
    if code in active.seen_terms or code not in GLOSSARY:
        return code
    active.seen_terms.add(code)
    reader = _reader.get()
    if reader is not None:
        reader.explained.add(code)
    return gettext_(N_("%(term)s (%(explanation)s)")) % {"term": code, "explanation": gettext_(GLOSSARY[code])}


def label(key: str) -> str:
    """A KPI's name in the language in use; an abbreviation is explained the first time."""
    code = KPI_LABELS[key]
    return term(code) if code in GLOSSARY else gettext_(code)


# Babel's formatting is most of a render's cost, and the HTML and text versions show the same values.
@lru_cache(maxsize=8_192, typed=True)
def _formatted(kind: str, value: float | int | Decimal, arg: str | int | None, locale: Locale) -> str:
    if kind == "money":
        return format_currency(value, str(arg), locale=locale)
    digits = "" if not arg else "." + "0" * int(arg)
    if kind == "percent":
        return format_percent(value, format=f"#,##0{digits}%", locale=locale)
    return format_decimal(value, format=None if arg is None else f"#,##0{digits}", locale=locale)


def number(value: float | int | Decimal | None, digits: int | None = None) -> str:
    return "—" if value is None else _formatted("number", value, digits, _current().locale)


def money(value: float | int | Decimal | None, currency: str = "") -> str:
    if value is None:
        return "—"
    if not currency:
        return number(value, 2)
    return _formatted("money", value, currency, _current().locale)


def percent(value: float | Decimal | None, digits: int = 1) -> str:
    """A share (0.034) as a percentage for the locale (3.4%)."""
    return "—" if value is None else _formatted("percent", value, digits, _current().locale)


def change(value: float | Decimal | None) -> str:
    """A relative change with its sign: +12.5%, -3.0%; one that rounds to 0.0% has no sign (never "-0.0%")."""
    if value is None:
        return "—"
    text = format_percent(value, format="+#,##0.0%;-#,##0.0%", locale=_current().locale)
    if not any(digit in text for digit in "123456789"):
        return format_percent(0, format="#,##0.0%", locale=_current().locale)
    return text


def kpi(value: float | int | Decimal | None, kind: str, currency: str = "") -> str:
    """A KPI value formatted by its kind: money, number or percent."""
    if kind == "money":
        return money(value, currency)
    if kind == "percent":
        return percent(value, 2)
    return number(value)


def date(value: dt.date | dt.datetime, style: str = "medium") -> str:
    return format_date(value, format=style, locale=_current().locale)


def datetime(value: dt.datetime, zone: str = "UTC", style: str = "medium") -> str:
    return format_datetime(value, format=style, tzinfo=ZoneInfo(zone), locale=_current().locale)


# Babel's Russian dates end in "г." (25 нояб. 2026 г.): a sentence ending on one keeps a single dot.
_RU_DOUBLE_DOT = re.compile(r"(?<=\bг)\.\.(?!\.)")


def tidy(language: str, text: str) -> str:
    """Typography a native writer fixes by hand: in Russian, no "г.." where a date ends a sentence."""
    if str(language) == "ru":
        return _RU_DOUBLE_DOT.sub(".", text)
    return text


def install(env: Environment) -> None:
    """Add gettext (newstyle, so autoescaping covers its placeholders) and the Babel filters to `env`."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(_ActiveCatalogue(), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(number=number, money=money, percent=percent, change=change, kpi=kpi, date=date,
                       datetime=datetime)
    env.globals.update(term=term, label=label)
