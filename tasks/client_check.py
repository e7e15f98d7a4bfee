"""The client-output check: what a client reads must carry no internal advice, private dates or others' data."""

from __future__ import annotations

import base64
import datetime as dt
import html as html_lib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

RULES = ("am_advice", "private_date", "other_client", "internal_slug", "english_in_translation",
         "unequal_comparison", "past_prepare_by", "test_client")
TRANSLATED = ("zh", "ru")
PRIVATE_KINDS = ("birthday", "anniversary", "renewal", "financing")
# The demo agency's control client (cadence.demo): a test client by its slug, even where is_test is unset.
CONTROL_SLUG = "demo-control"
# The detectors' AM-facing openings (tasks/detect/): none belongs in a client's document, in any language.
ADVICE_PHRASES = (
    "Call the client today", "Cut its budget or pause it now", "Lower bids and cut the weakest",
    "Raise the bid to get volume", "Tell the client what was fixed", "Narrow the targeting.", "Keep watching until",
    "Pause it.", "bot traffic", "explain why to the client", "agree extra budget with the client",
    "before the budget goes elsewhere", "a problem on our side", "the client's limit", "the client's accounts",
)
# A private key date named in any of the three languages, whatever its stored title.
PRIVATE_PATTERNS = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"\bbirthday\b", r"\bcooperation anniversary\b", r"\bcontract renewal\b", r"\bfinancing round\b",
    r"生日", r"合作周年", r"续约", r"续签合同", r"融资轮|轮融资",
    r"дн[еяю]м? рождения", r"годовщин\w* сотрудничества", r"продлени\w* (договора|контракта)",
    r"раунд\w* финансирования",
))
# Latin words a zh/ru reader expects as they are: platforms, metric acronyms, file and unit names.
GLOSSARY = frozenset(w.lower() for w in (
    "Google", "Ads", "Meta", "Facebook", "Instagram", "Yandex", "Direct", "VK", "Ocean", "Engine", "OceanEngine",
    "TikTok", "Douyin", "Baidu", "WeChat", "Weixin", "Bing", "Microsoft", "LinkedIn", "YouTube", "Telegram",
    "WhatsApp", "Kaspi", "Ozon", "Wildberries", "Avito", "Tmall", "JD", "Xiaohongshu", "Weibo", "Kuaishou",
    "CPA", "CTR", "ROAS", "CPC", "CVR", "oCPM", "oCPC", "CPM", "KPI", "ROI", "GMV", "PDF", "Q",
    "look-alike", "lookalike",
))
_LATIN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*")
# A stretch of Latin script: from a Latin letter up to the next Cyrillic or CJK character.
_LATIN_RUN = re.compile(r"[A-Za-z][^\u0400-\u04ff\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]*")
_ADDRESS = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")
_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?:[.,]\d+)?|(?<![\d.,])\d+(?:[.,]\d+)?")
_SPACES = re.compile(r"\s+")
_LEGAL = re.compile(r"\s*,?\s*\b(Inc|Ltd|LLC|GmbH|AG|PLC|Corp|Co)\.?$|^(ООО|ТОО|АО|ПАО|ИП)\s+")
_ZH_LEGAL = re.compile(r"^(北京|上海|深圳|广州|杭州|成都|南京|武汉|苏州|西安)|(科技)?(股份)?有限(责任)?公司$")
DISTINCTIVE_DIGITS = 7
# Two ranges of days compared in words: "1–2 Nov vs 29–31 Oct", "Nov 1–2 vs Oct 29–31", ISO "a..b vs c..d".
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}
_D = r"(\d{1,2})\s*[–—-]\s*(\d{1,2})"
_M = r"([A-Za-z]{3})[a-z]*\.?"
_VS = r"\s*(?:vs\.?|versus|compared with|against)\s*"
_RANGE_PAIRS = (
    re.compile(_D + r"\s+" + _M + _VS + _D + r"\s+" + _M),
    re.compile(_M + r"\s+" + _D + _VS + _M + r"\s+" + _D),
    re.compile(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|–|—)\s*(\d{4}-\d{2}-\d{2})" + _VS
               + r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|–|—)\s*(\d{4}-\d{2}-\d{2})"),
)


@dataclass(frozen=True)
class Violation:
    """One thing a client must not read, where it was found."""

    client: str
    document: str
    rule: str
    excerpt: str


@dataclass(frozen=True)
class Document:
    """One client-facing render: its plain text and/or HTML, its language and the day it was made."""

    client: str
    name: str
    language: str
    made_on: dt.date
    text: str = ""
    html: str = ""
    message: bool = True  # an outbox message; False for a report file, which reaches a client only through one


@dataclass(frozen=True)
class ClientFacts:
    """What identifies a client (names, slug, distinctive figures) and the Latin words its own documents may hold."""

    slug: str
    names: tuple[str, ...]
    figures: frozenset[str] = frozenset()
    is_test: bool = False
    own_words: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Forbidden:
    """What never reaches a client: AM advice, private date titles, internal slugs, and every client's identity."""

    clients: Mapping[str, ClientFacts]
    advice: tuple[str, ...] = ()
    private_titles: tuple[str, ...] = ()
    initiative_slugs: frozenset[str] = frozenset()
    detector_codes: frozenset[str] = frozenset()
    glossary: frozenset[str] = GLOSSARY


def name_forms(name: str) -> tuple[str, ...]:
    """A client's name as a document may print it: in full, inside its quotes, without its legal form."""
    forms = {name.strip()}
    quoted = re.search(r"«([^»]+)»|\"([^\"]+)\"", name)
    if quoted:
        forms.add((quoted.group(1) or quoted.group(2)).strip())
    forms.add(_LEGAL.sub("", name).strip())
    forms.add(_ZH_LEGAL.sub("", _ZH_LEGAL.sub("", name.strip())).strip())
    return tuple(sorted(f for f in forms if len(f) >= 3))


def figure_keys(value: float) -> set[str]:
    """The digit strings a figure prints as (to the cent, and rounded), kept only when distinctive."""
    keys = {f"{round(value, 2):.2f}".replace(".", ""), str(round(value))}
    return {k for k in keys if len(k) >= DISTINCTIVE_DIGITS}


# Never shown: styles, scripts, the head, and an SVG's metadata (its generator's name and version).
_HIDDEN = ("style", "script", "head", "title", "metadata")


class _Reader(HTMLParser):
    """Visible text (SVG chart text and alt text included) and the markup the check reads, in one pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.periods: list[dict[str, str]] = []
        self.prepare_by: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in _HIDDEN:
            self._skip += 1
        if "data-period-first" in a and "data-base-first" in a:
            self.periods.append(a)
        if a.get("data-prepare-by"):
            self.prepare_by.append(a["data-prepare-by"])
        if a.get("alt"):
            self.parts.append(a["alt"])
        src = a.get("src", "")
        if src.startswith("data:image/svg+xml;base64,"):
            svg = base64.b64decode(src.split(",", 1)[1]).decode("utf-8", "replace")
            inner = _Reader()
            inner.feed(svg)
            self.parts.append(inner.text())

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self._skip:
            self._skip -= 1
        if tag in ("p", "li", "tr", "td", "th", "h1", "h2", "h3", "div", "br", "text", "tspan"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        return " ".join(self.parts)


def read_html(markup: str) -> _Reader:
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader


def _flat(text: str) -> str:
    return _SPACES.sub(" ", html_lib.unescape(text).replace("\u00ad", "")).strip()


def _excerpt(text: str, start: int, end: int, around: int = 40) -> str:
    return ("…" if start > around else "") + text[max(0, start - around):end + around].strip() + (
        "…" if end + around < len(text) else "")


def _word(token: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(token)}(?![\w-])")


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _calendar_aligned(first: dt.date, last: dt.date) -> bool:
    """A whole calendar month or quarter: month-on-month and quarter-on-quarter are like for like by convention."""
    following = last + dt.timedelta(days=1)
    return first.day == 1 and following.day == 1 and (following.year * 12 + following.month
                                                      - first.year * 12 - first.month) in (1, 3, 12)


def _unequal(period: Mapping[str, str]) -> str | None:
    first, last = _day(period.get("data-period-first", "")), _day(period.get("data-period-last", ""))
    b_first, b_last = _day(period.get("data-base-first", "")), _day(period.get("data-base-last", ""))
    if None in (first, last, b_first, b_last):
        return f"unreadable comparison markup {dict(period)}"
    if _calendar_aligned(first, last) and _calendar_aligned(b_first, b_last):
        return None
    now, base = (last - first).days + 1, (b_last - b_first).days + 1
    if now != base:
        return f"{first}..{last} ({now} days) vs {b_first}..{b_last} ({base} days)"
    return None


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(c.lower() for c in list_currencies())


def _text_ranges(m: re.Match[str], index: int) -> tuple[int, int] | None:
    """The lengths in days of the two ranges a comparison in words names (a range may cross a month's end)."""
    g = m.groups()
    if index == 2:
        days = [_day(x) for x in g]
        if None in days:
            return None
        return (days[1] - days[0]).days + 1, (days[3] - days[2]).days + 1
    if index == 1:
        g = (g[1], g[2], g[0], g[4], g[5], g[3])
    if g[2][:3].lower() not in _MONTHS or g[5][:3].lower() not in _MONTHS:
        return None

    def length(first: str, last: str) -> int:
        a, b = int(first), int(last)
        return b - a + 1 if b >= a else b + 31 - a + 1  # "29–2 Nov": across a month's end, near enough to compare

    return length(g[0], g[1]), length(g[3], g[4])


def check_document(doc: Document, forbidden: Forbidden) -> list[Violation]:
    """Every rule over one document; a passage is reported once per rule, however many patterns it matches."""
    reader = read_html(doc.html) if doc.html else None
    text = _flat(doc.text + ("\n" + reader.text() if reader else ""))
    me = forbidden.clients.get(doc.client)
    found: list[Violation] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    seen: set[tuple[str, str]] = set()

    def hit(rule: str, excerpt: str, start: int = -1, end: int = -1, key: str = "") -> None:
        if start >= 0:
            if any(a <= start < b or start <= a < end for a, b in spans.get(rule, [])):
                return
            spans.setdefault(rule, []).append((start, end))
        elif (rule, key or excerpt) in seen:
            return
        seen.add((rule, key or excerpt))
        found.append(Violation(doc.client, doc.name, rule, excerpt))

    def search(rule: str, pattern: re.Pattern[str] | str) -> None:
        if isinstance(pattern, str):
            at = text.find(pattern)
            if at >= 0:
                hit(rule, _excerpt(text, at, at + len(pattern)), at, at + len(pattern))
            return
        m = pattern.search(text)
        if m:
            hit(rule, _excerpt(text, m.start(), m.end()), m.start(), m.end())

    if me is not None and me.is_test and doc.message:
        hit("test_client", f"{doc.client} is a test client")
    for advice in sorted((*forbidden.advice, *ADVICE_PHRASES), key=len, reverse=True):
        search("am_advice", advice)
    for title in sorted(forbidden.private_titles, key=len, reverse=True):
        search("private_date", title)
    for pattern in PRIVATE_PATTERNS:
        search("private_date", pattern)
    other_words: set[str] = set()
    for slug, facts in forbidden.clients.items():
        if slug == doc.client:
            continue
        for form in sorted((*facts.names, slug), key=len, reverse=True):
            search("other_client", _word(form))
        other_words.add(slug.lower())
    own_figures = me.figures if me else frozenset()
    others = {k: s for s, f in forbidden.clients.items() if s != doc.client for k in f.figures - own_figures}
    for m in _NUMBER.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if digits in others:
            hit("other_client", _excerpt(text, m.start(), m.end()) + f" (a figure of {others[digits]})",
                m.start(), m.end())
    slugs = {s for s in (*forbidden.initiative_slugs, *forbidden.detector_codes, doc.client)
             if not s.isdigit() and s.lower() not in other_words}
    translated = doc.language in TRANSLATED
    plain = _ADDRESS.sub(lambda m: " " * len(m.group(0)), text)
    for slug in sorted(slugs, key=len, reverse=True):
        if not (re.search(r"[-_\d]", slug) or translated):
            continue  # a one-word slug ("brand") reads as plain English in an English document
        for n, m in enumerate(_word(slug).finditer(text)):
            if n == 0:
                hit("internal_slug", _excerpt(text, m.start(), m.end()), m.start(), m.end())
            plain = plain[:m.start()] + " " * (m.end() - m.start()) + plain[m.end():]  # reported once, as a slug
    if translated:
        allowed = forbidden.glossary | _currencies() | (me.own_words if me else frozenset())
        for run in _LATIN_RUN.finditer(plain):
            words = [w.group(0) for w in _LATIN.finditer(run.group(0))]
            foreign = [w for w in words if not _allowed(w, allowed | other_words)]
            if foreign:
                hit("english_in_translation", _excerpt(plain, run.start(), run.end(), 20), run.start(), run.end())
    for index, pattern in enumerate(_RANGE_PAIRS):
        for m in pattern.finditer(text):
            lengths = _text_ranges(m, index)
            if lengths and lengths[0] != lengths[1]:
                hit("unequal_comparison", f"{m.group(0)} ({lengths[0]} days vs {lengths[1]})", m.start(), m.end())
    if reader:
        for period in reader.periods:
            problem = _unequal(period)
            if problem:
                hit("unequal_comparison", problem)
        for value in reader.prepare_by:
            day = _day(value)
            if day is None or day < doc.made_on:
                hit("past_prepare_by", f"prepare by {value}, in a document made on {doc.made_on}")
    return found


def _allowed(word: str, allowed: frozenset[str] | set[str]) -> bool:
    low = word.lower()
    return len(word) == 1 or low in allowed or all(part in allowed for part in low.split("-"))


def check(documents: Iterable[Document], forbidden: Forbidden) -> list[Violation]:
    """Every rule over every document."""
    return [v for doc in documents for v in check_document(doc, forbidden)]


def counts(violations: Sequence[Violation]) -> dict[str, int]:
    """Violations per rule, every rule listed."""
    return {rule: sum(v.rule == rule for v in violations) for rule in RULES}


# The edge that reads a database: everything above is pure.

@dataclass
class _Acc:
    names: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    figures: set[str] = field(default_factory=set)


def _words(*texts: str | None) -> set[str]:
    return {m.group(0).lower() for t in texts if t for m in _LATIN.finditer(t)}


def _is_test(client: Any) -> bool:
    settings = client.settings or {}
    return bool(getattr(client, "is_test", False) or settings.get("is_test") or client.slug == CONTROL_SLUG)


def _private(key_date: Any) -> bool:
    visibility = getattr(key_date, "visibility", None)
    if visibility is not None:
        return str(getattr(visibility, "value", visibility)).lower() in ("private", "internal", "agency")
    return str(getattr(key_date.kind, "value", key_date.kind)) in PRIVATE_KINDS


def _titles(key_date: Any) -> set[str]:
    titles = {key_date.title}
    for attribute in ("display_names", "names", "titles"):
        value = getattr(key_date, attribute, None)
        if isinstance(value, Mapping):
            titles.update(str(v) for v in value.values() if v)
    return {t for t in titles if len(t) >= 4}


def load_forbidden(engine: Any, agency_name: str | None) -> Forbidden:
    """What must never reach a client, read from the database: findings' advice, private dates, clients' identities
    (the agency's own name is not one of them)."""
    from sqlalchemy import String, cast, func, select
    from sqlalchemy.orm import Session

    from models import AdAccount, Base, Campaign, Client, Contact, DailyMetric, Finding, KeyDate, Staff
    from tasks.detect.run import DETECTORS

    acc: dict[int, _Acc] = {}
    with Session(engine) as s:
        clients = s.scalars(select(Client).order_by(Client.id)).all()
        staff = {m.id: m for m in s.scalars(select(Staff))}
        for c in clients:
            a = acc.setdefault(c.id, _Acc())
            a.names.update(name_forms(c.name))
            a.words |= _words(c.name)
            am = staff.get(c.owner_am_id)
            a.words |= _words(am.name if am else None, am.email if am else None)
            if c.monthly_budget is not None:
                a.figures |= figure_keys(float(c.monthly_budget))
        for client_id, name in s.execute(select(Contact.client_id, Contact.name)):
            acc[client_id].words |= _words(name)
        for client_id, account, campaign in s.execute(
                select(AdAccount.client_id, AdAccount.name, Campaign.name).join(
                    Campaign, Campaign.account_id == AdAccount.id, isouter=True)):
            acc[client_id].words |= _words(account, campaign)
        initiatives = frozenset(i for (i,) in s.execute(select(Campaign.initiative).distinct()) if i)
        advice = {r for (r,) in s.execute(select(Finding.recommendation).distinct()) if r and len(r) >= 20}
        private = {t for k in s.scalars(select(KeyDate)) if _private(k) for t in _titles(k)}
        labels = Base.metadata.tables.get("display_name")  # per-language names of labels, where the schema has them
        if labels is not None:
            private |= {text for kind, key, text in s.execute(select(labels.c.kind, labels.c.key, labels.c.text))
                        if str(getattr(kind, "value", kind)) == "key_date" and key in private and len(text) >= 2}
        month = func.substr(cast(DailyMetric.day, String(10)), 1, 7)
        rows = s.execute(select(AdAccount.client_id, month, func.sum(DailyMetric.spend),
                                func.sum(DailyMetric.conversion_value))
                         .join(Campaign, Campaign.id == DailyMetric.campaign_id)
                         .join(AdAccount, AdAccount.id == Campaign.account_id)
                         .group_by(AdAccount.client_id, month)).all()
    quarters: dict[tuple[int, str], float] = {}
    for client_id, ym, spend, value in rows:
        acc[client_id].figures |= figure_keys(float(spend or 0)) | figure_keys(float(value or 0))
        key = (client_id, f"{ym[:4]}-Q{(int(ym[5:7]) - 1) // 3 + 1}")
        quarters[key] = quarters.get(key, 0.0) + float(spend or 0)
    for (client_id, _), spend in quarters.items():
        acc[client_id].figures |= figure_keys(spend)
    facts = {c.slug: ClientFacts(slug=c.slug, names=tuple(sorted(acc[c.id].names)),
                                 figures=frozenset(acc[c.id].figures), is_test=_is_test(c),
                                 own_words=frozenset(acc[c.id].words | _words(agency_name)))
             for c in clients}
    return Forbidden(clients=facts, advice=tuple(sorted(advice)), private_titles=tuple(sorted(private)),
                     initiative_slugs=initiatives, detector_codes=frozenset(DETECTORS))


def pdf_text(path: str | Path) -> str:
    """The text a PDF reader extracts, page by page."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def client_documents(engine: Any, client_slug: str | None = None, made_on: dt.date | None = None,
                     pdfs: bool | int = True) -> list[Document]:
    """Every client-facing render in the database: client outbox rows, and report HTML and PDF files.

    `made_on` overrides the stored creation day (a simulated run); `pdfs` reads every PDF, none, or the first n.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models import Client, OutboundMessage, Report
    from models.enums import Audience

    docs: list[Document] = []
    with Session(engine) as s:
        slugs = dict(s.execute(select(Client.id, Client.slug)).tuples().all())
        messages = select(OutboundMessage).where(OutboundMessage.audience == Audience.CLIENT)
        reports = select(Report).where(Report.client_id.is_not(None), Report.kind != "review")
        if client_slug is not None:
            wanted = [i for i, slug in slugs.items() if slug == client_slug]
            messages = messages.where(OutboundMessage.client_id.in_(wanted))
            reports = reports.where(Report.client_id.in_(wanted))
        for m in s.scalars(messages.order_by(OutboundMessage.id)):
            if str(getattr(m.status, "value", m.status)) == "rejected":
                continue  # the AM stopped it: it never reaches the client
            language = str(getattr(m.language, "value", m.language))
            day = made_on or m.created_at.date()
            where = f"outbox #{m.id} {m.kind} {language} to {m.recipient}"
            slug = slugs.get(m.client_id, "?")
            docs.append(Document(slug, f"{where} (subject + text)", language, day, text=f"{m.subject}\n{m.body_text}"))
            docs.append(Document(slug, f"{where} (html)", language, day, html=m.body_html))
        read = 0
        for r in s.scalars(reports.order_by(Report.id)):
            language = str(getattr(r.language, "value", r.language))
            kind = str(getattr(r.kind, "value", r.kind))
            day = made_on or r.created_at.date()
            slug = slugs.get(r.client_id, "?")
            where = f"report #{r.id} {kind} {r.period} {language}"
            if r.html_path and Path(r.html_path).exists():
                docs.append(Document(slug, f"{where} (html)", language, day, text=r.title,
                                     html=Path(r.html_path).read_text(encoding="utf-8"), message=False))
            wants_pdf = pdfs is True or (pdfs is not False and read < int(pdfs))
            if wants_pdf and r.pdf_path and Path(r.pdf_path).exists():
                docs.append(Document(slug, f"{where} (pdf {Path(r.pdf_path).name})", language, day,
                                     text=pdf_text(r.pdf_path), message=False))
                read += 1
    return docs


def check_database(engine: Any, agency_name: str | None, client_slug: str | None = None, made_on: dt.date | None = None,
                   pdfs: bool | int = True) -> tuple[list[Document], list[Violation]]:
    """Read every client-facing render and what must never appear in one, and check them."""
    docs = client_documents(engine, client_slug, made_on, pdfs)
    return docs, check(docs, load_forbidden(engine, agency_name))
