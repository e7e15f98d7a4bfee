"""Reports from the demo agency on both databases: golden HTML per kind and language, PDFs, emails, idempotency."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cadence.demo.write import generate_agency
from models import Contact, OutboundMessage, Report
from models.db import make_engine
from models.enums import MessageStatus
from tasks.messaging.compose import compose
from tasks.reports import build, client_view, content, data, output, periods
from tasks.reports.benchmarks import client_kpis
from tasks.settings import get_settings

# A 430-day demo agency, and every report rendered from it to HTML, PDF and email.
pytestmark = pytest.mark.slow
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "reports"
UPDATE = os.environ.get("CADENCE_UPDATE_GOLDEN") == "1"
AS_OF = dt.date(2026, 12, 2)
NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
RECAP = periods.previous_month(AS_OF)
PACK = periods.previous_quarter(AS_OF)
_CHART = re.compile(r'src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"')


@pytest.fixture(scope="module")
def engine(module_db_url):
    """The demo agency, built once per database for the module: 430 days, so last year's recap month is complete.

    The tests only read it, but for one that stores reports and messages, which no other test reads.
    """
    engine = make_engine(module_db_url)
    generate_agency(engine, as_of=AS_OF, seed=11, clients=8, days=430)
    yield engine
    engine.dispose()


def _by_language(engine) -> dict[str, dict]:
    """The first client whose contacts read each language."""
    ids = [c["id"] for c in data.select_clients(engine)]
    chunk = data.load_chunk(engine, ids, dt.date(2025, 6, 1), AS_OF, NOW)
    out = {}
    for c in chunk.clients:
        for _, prefs in chunk.contacts.get(c["id"], []):
            out.setdefault(prefs.language, c)
    return out


def _context(engine, kind: str, client: dict) -> dict:
    period = RECAP if kind == "recap" else PACK
    first = (content.recap_window if kind == "recap" else content.pack_window)(period)[0]
    chunk = data.load_chunk(engine, [client["id"]], first, period.last, NOW)
    c = chunk.clients[0]
    key_dates = client_view.shareable(chunk.key_dates.get(c["id"], []))  # as build_chunk does: private dates stay out
    args = (c, chunk.metrics, chunk.campaigns, chunk.notes.get(c["id"], []), key_dates, period)
    if kind == "recap":
        return content.recap_context(*args)
    peers = client_kpis(data.peer_metrics(engine, period.first, period.last), data.peer_clients(engine))
    return content.pack_context(*args, peers)


def _html(kind: str, language: str, ctx: dict | client_view.ClientReport) -> str:
    job = output.RenderJob((0, language), f"report/{kind}.html.j2", language, ctx, "", None, None, kind)
    return _CHART.sub('src="chart"', output.render_html(job))


def test_golden_html_per_kind_and_language(engine):
    clients = _by_language(engine)
    assert set(clients) == {"en", "zh", "ru"}
    mismatched = []
    for kind in ("recap", "strategy_pack"):
        for language, client in sorted(clients.items()):
            labels = client_view.load_labels(engine, [client["slug"]])[client["slug"]]
            html = _html(kind, language, client_view.client_report(_context(engine, kind, client), language, labels))
            path = GOLDEN / f"{kind}.{language}.html"
            if UPDATE:
                path.write_text(html, encoding="utf-8")
            elif path.read_text(encoding="utf-8") != html:
                mismatched.append(path.name)
    assert not mismatched, f"differs from golden (CADENCE_UPDATE_GOLDEN=1 to accept): {mismatched}"


def test_recap_html_reads_conclusion_first_and_explains_yoy(engine):
    ctx = _context(engine, "recap", _by_language(engine)["en"])
    html = _html("recap", "en", ctx)
    assert html.index('class="conclusion"') < html.index("Results compared") < html.index("What we did")
    assert ctx["last_year_complete"] and ctx["seasonal"]["code"] in {"seasonal", "ahead_of_season", "behind_season"}
    assert "Last year conversions moved by" in html
    assert "Year over year" in html
    # The pack's quarter a year earlier predates the data: no base, so no empty YoY column, only the sentence.
    pack_ctx = _context(engine, "strategy_pack", _by_language(engine)["en"])
    pack = _html("strategy_pack", "en", pack_ctx)
    assert not pack_ctx["last_year_complete"] and "Year over year" not in pack
    assert "we cannot yet tell seasonal swings" in pack


@pytest.mark.parametrize(("language", "needle"), [("zh", "月度小结"), ("ru", "Итоги месяца")])
def test_pdf_shows_real_glyphs_and_its_page_count_is_checked(engine, tmp_path, language, needle):
    ctx = _context(engine, "recap", _by_language(engine)[language])
    html_path, pdf_path = output.report_paths(tmp_path, "recap", RECAP.label, ctx["client"]["slug"], language, "x")
    done = output.render_job(output.RenderJob((1, language), "report/recap.html.j2", language, ctx, str(html_path),
                                              str(pdf_path), build.RECAP_MAX_PAGES, "recap"))
    reader = PdfReader(io.BytesIO(pdf_path.read_bytes()))
    assert done.pages == len(reader.pages) <= build.RECAP_MAX_PAGES
    text = "".join(page.extract_text() for page in reader.pages)
    assert needle in text
    assert ctx["client"]["name"].split()[0] in text


def test_recap_email_campaign_detail_versus_a_glance(engine):
    client = _by_language(engine)["en"]
    ctx = _context(engine, "recap", client)
    chunk = data.load_chunk(engine, [client["id"]], RECAP.first, RECAP.last, NOW)
    prefs = {p.detail + ":" + p.role: p for _, p in chunk.contacts[client["id"]]}
    glance = next(p for k, p in prefs.items() if k.startswith("summary:decision_maker"))
    detail = next(p for k, p in prefs.items() if k.startswith("campaign:"))
    short = compose("recap_email", glance, build.email_context(ctx, "t", glance))
    full = compose("recap_email", detail, build.email_context(ctx, "t", detail))
    top = ctx["campaigns"][0]["name"]
    assert top not in short.html and top in full.html
    assert "Previous period" not in short.html and "Previous period" in full.html
    assert short.html.index("In short") < short.html.index("Next steps")


def test_reports_are_stored_once_and_a_sent_email_is_never_composed_again(engine):
    ids = [c["id"] for c in data.select_clients(engine)][:2]
    first = build.build_chunk(engine, get_settings(), "recap", ids, RECAP, AS_OF, pdf_workers=1, now=NOW)
    assert not first["failures"] and first["new_messages"] > 0
    with Session(engine) as s, s.begin():
        rows = s.execute(select(Report.id, Report.pdf_path, Report.content_sha256)).all()
        s.execute(update(OutboundMessage).values(status=MessageStatus.SENT, sent_at=NOW))
    for r in rows:
        assert Path(r.pdf_path).is_file()
    again = build.build_chunk(engine, get_settings(), "recap", ids, RECAP, AS_OF, pdf_workers=1, now=NOW)
    assert again["new_messages"] == 0
    with Session(engine) as s:
        assert sorted(s.execute(select(Report.id, Report.pdf_path, Report.content_sha256)).all()) == sorted(rows)
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == first["new_messages"]
        assert {m.status for m in s.scalars(select(OutboundMessage))} == {MessageStatus.SENT}
        messages = s.scalars(select(OutboundMessage)).all()
        assert all(m.report_id is not None and m.meta["report_pdf"] for m in messages)
        # Each contact gets the variant its `detail` asks for: campaign-level readers the campaign tables.
        details = {m.contact_id: s.get(Contact, m.contact_id).detail.value for m in messages}
        assert set(details.values()) == {"summary", "campaign"}
        for m in messages:
            report = s.get(Report, m.report_id)
            assert report.detail.value == details[m.contact_id] and report.pdf_path == m.meta["report_pdf"]
            assert m.meta["report_pdf"].endswith(".campaign.pdf") == (details[m.contact_id] == "campaign")
