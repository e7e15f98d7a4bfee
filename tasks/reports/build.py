"""What a report run does, without Prefect: load a chunk of clients, render their recaps, packs or the manager's
review, store the report rows, queue the covering emails and the stand-up's client updates, and compose each
AM's stand-up summary.

The database engine and the settings are handed in by the steps in tasks/reports/edges.py (or a benchmark).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.base import utcnow
from models.enums import Audience, Detail, Language
from tasks import i18n, internal_mail, rules
from tasks.messaging import enqueue
from tasks.messaging.compose import client_message, client_update_context, compose, sender
from tasks.render import render_in
from tasks.reports import client_view, content, data
from tasks.reports.benchmarks import client_kpis
from tasks.reports.output import Rendered, RenderJob, branding, render_all, report_paths
from tasks.reports.periods import (
    DocumentPeriods,
    Period,
    pack_periods,
    recap_periods,
    review_periods,
    standup_periods,
    standup_windows,
    week_windows,
)
from tasks.reports.store import store_reports
from tasks.settings import Settings

# One chunk loads its clients' metrics at once and renders their PDFs on every core.
DEFAULT_CHUNK_CLIENTS = 50
RECAP_MAX_PAGES = 5
PACK_MAX_PAGES = 10
EMAIL_CAMPAIGNS = 5
FLOWS = {"recap": "monthly-recap", "strategy_pack": "quarterly-strategy-pack", "review": "client-review",
         "standup": "standup-summary"}


def _sent_as(client: dict[str, Any], agency_name: str) -> dict[str, str | None]:
    """The client's owner AM as sender and Reply-To, on the agency's address."""
    return sender(client["am"]["name"], client["am"]["email"], agency_name)


def report_variants(prefs: list[tuple[int, Any]]) -> list[tuple[str, str]]:
    """The (language, detail) reports a client's contacts read: only the detail levels someone asked for."""
    return sorted({(str(p.language), str(p.detail)) for _, p in prefs}) or [(Language.EN.value, Detail.SUMMARY.value)]


def _brand(settings: Settings) -> dict[str, Any]:
    return branding(settings.agency_name, settings.brand_colour, settings.logo_path)


def email_context(view: client_view.ClientReport | dict[str, Any], title: str, prefs: Any) -> dict[str, Any]:
    """What the covering email shows: conclusion first; operators get the table, campaign-level readers campaigns."""
    if not isinstance(view, client_view.ClientReport):
        view = client_view.client_report(view, prefs.language, client_view.Labels())
    ctx, brief = view.values, prefs.role == "decision_maker"
    return {"client": ctx["client"], "title": title, "period": ctx["period"], "kpis": ctx["kpis"],
            "verdict": ctx["verdict"], "cpa_band": ctx["cpa_band"], "headline": ctx["headline"],
            "lead": ctx.get("lead"), "previous_name": content.names(ctx, prefs.language).get("previous_name"),
            "rows": [] if brief else ctx["rows"], "plan": ctx["plan"][:3] if brief else ctx["plan"],
            "campaigns": ctx.get("campaigns", [])[:EMAIL_CAMPAIGNS] if prefs.detail == "campaign" else [],
            "am": {"name": ctx["client_am"]}}


def build_chunk(engine: Engine, settings: Settings, kind: str, client_ids: list[int], period: Period, as_of: dt.date,
                pdf_workers: int | None = None, send: bool = True, now: dt.datetime | None = None) -> dict[str, Any]:
    """Load a chunk, render each client's report per contact language, store the rows, queue the covering emails."""
    root = settings.reports_path
    now = now or utcnow()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    # The document's periods, computed once here and passed down to every client's content.
    doc = recap_periods(period, as_of) if kind == "recap" else pack_periods(period, as_of)
    chunk = data.load_chunk(engine, client_ids, doc.first, period.last, now)
    peers = None
    if kind == "strategy_pack":
        peers = client_kpis(data.peer_metrics(engine, period.first, period.last), data.peer_clients(engine))
    timings["load_s"] = time.perf_counter() - started
    by_client = dict(tuple(chunk.metrics.groupby("client_id"))) if len(chunk.metrics) else {}
    camps_by_client = dict(tuple(chunk.campaigns.groupby("client_id"))) if len(chunk.campaigns) else {}
    empty_metrics, empty_camps = chunk.metrics.iloc[0:0], chunk.campaigns.iloc[0:0]
    jobs, views, brand = [], {}, _brand(settings)
    missing_names: list[str] = []
    labels = client_view.load_labels(engine, [c["slug"] for c in chunk.clients])
    for client in chunk.clients:
        cid = client["id"]
        metrics, camps = by_client.get(cid, empty_metrics), camps_by_client.get(cid, empty_camps)
        # Client documents never see private key dates: they drive the AM's reminders only.
        all_dates = chunk.key_dates.get(cid, [])
        notes, key_dates = chunk.notes.get(cid, []), client_view.shareable(all_dates)
        if kind == "recap":
            ctx = content.recap_context(client, metrics, camps, notes, key_dates, doc)
            template, max_pages = "report/recap.html.j2", RECAP_MAX_PAGES
        else:
            ctx = content.pack_context(client, metrics, camps, notes, key_dates, doc, peers)
            template, max_pages = "report/strategy_pack.html.j2", PACK_MAX_PAGES
        missing: set[tuple[str, str, str]] = set()
        for language, detail in report_variants(chunk.contacts.get(cid, [])):
            if (cid, language) not in views:
                views[(cid, language)] = client_view.client_report(ctx, language, labels[client["slug"]], all_dates,
                                                                   missing)
            html_path, pdf_path = report_paths(root, kind, period.label, client["slug"], language, f"client-{cid}",
                                               detail)
            jobs.append(RenderJob((cid, language, detail), template, language, views[(cid, language)],
                                  str(html_path), str(pdf_path), max_pages, kind, detail, brand))
        missing_names += client_view.warn_missing(missing, client["slug"])
    timings["context_s"] = time.perf_counter() - started - timings["load_s"]
    failures: list[str] = []
    rendered = render_all(jobs, pdf_workers, on_error=lambda job, exc: failures.append(f"{job.key}: {exc}"))
    timings["render_s"] = time.perf_counter() - started - timings["load_s"] - timings["context_s"]
    titles = {(cid, lang): content.names(views[(cid, lang)].values, lang)["title"]
              for cid, lang, _ in (r.key for r in rendered)}
    slugs = {c["id"]: c["slug"] for c in chunk.clients}
    new_messages = 0
    with Session(engine) as s, s.begin():
        ids = store_reports(s, [{"client_id": r.key[0], "kind": kind, "period": period.label, "language": r.key[1],
                                 "detail": r.key[2], "title": titles[r.key[:2]], "html_path": r.html_path,
                                 "pdf_path": r.pdf_path,
                                 "content_sha256": r.sha256} for r in rendered])
        if send:
            done = {r.key: r for r in rendered}
            messages = []
            # A test client's report is rendered and stored, but it is never sent.
            for client in (c for c in chunk.clients if not c.get("is_test")):
                cid = client["id"]
                for contact_id, prefs in chunk.contacts.get(cid, []):
                    report = done.get((cid, str(prefs.language), str(prefs.detail)))
                    if report is None:
                        continue
                    title = titles[(cid, prefs.language)]
                    composed = compose(f"{'recap' if kind == 'recap' else 'pack'}_email", prefs,
                                       email_context(views[(cid, prefs.language)], title, prefs))
                    message = client_message(
                        flow=FLOWS[kind], kind=kind, period=period.label, client_slug=slugs[cid], client_id=cid,
                        contact_id=contact_id, prefs=prefs, composed=composed, now=now,
                        tier=client["tier"], settings=client["settings"],
                        meta={"report_pdf": report.pdf_path, "pages": report.pages},
                        sent_as=_sent_as(client, settings.agency_name))
                    report_key = (cid, kind, period.label, prefs.language, report.key[2])
                    messages.append({**message, "report_id": ids[report_key]})
            new_messages = enqueue(s, messages)
    timings["store_s"] = time.perf_counter() - started - sum(timings.values())
    return {"clients": len(chunk.clients), "reports": [_row(r, slugs, titles) for r in rendered],
            "failures": failures, "new_messages": new_messages, "timings": timings, "missing_names": missing_names}


def _row(r: Rendered, slugs: dict[int, str], titles: dict[tuple[int, str], str]) -> dict[str, Any]:
    return {"client": slugs[r.key[0]], "language": r.key[1], "detail": r.key[2], "title": titles[r.key[:2]],
            "pages": r.pages,
            "compact": r.compact, "html": r.html_path, "pdf": r.pdf_path}


def standup_chunk_rows(engine: Engine, settings: Settings, client_ids: list[int], as_of: dt.date, now: dt.datetime,
                       send: bool = True) -> dict[str, Any]:
    """Each client's stand-up line, and the client updates due at this stand-up queued in the outbox."""
    # Nominal windows key the messages; each client's content reads only its complete local days, like for like.
    window, week = standup_windows(as_of)[0], week_windows(as_of)[0]
    first = min(window.first, week.first) - dt.timedelta(days=14)
    chunk = data.load_chunk(engine, client_ids, first, window.last, now)
    by_client = dict(tuple(chunk.metrics.groupby("client_id"))) if len(chunk.metrics) else {}
    camps_by_client = dict(tuple(chunk.campaigns.groupby("client_id"))) if len(chunk.campaigns) else {}
    rows, messages = [], []
    for client in chunk.clients:
        cid = client["id"]
        metrics = by_client.get(cid, chunk.metrics.iloc[0:0])
        every = rules.update_cadence(client["tier"], client["settings"]) == "every"
        since_standup = standup_periods(as_of, now, client.get("time_zone"))
        row = content.standup_row(client, metrics, since_standup or standup_periods(as_of), chunk.notes.get(cid, []),
                                  chunk.findings.get(cid, []), chunk.incidents.get(cid, []),
                                  chunk.requests.get(cid, []), chunk.key_dates.get(cid, []),
                                  chunk.last_contact.get(cid), as_of, now)
        row["update_due"] = rules.wants_update(client["tier"], client["settings"], as_of)
        rows.append(row)
        if not (send and row["update_due"]) or client.get("is_test"):
            continue
        # Weekly readers hear about the whole week; stand-up readers about the days since the last stand-up.
        periods = since_standup if every else standup_periods(as_of, now, client.get("time_zone"), weekly=True)
        if periods is None:
            continue  # not one day of the window is over for the client yet: nothing complete to report
        messages.extend(_client_updates(client, chunk, metrics, camps_by_client.get(cid, chunk.campaigns.iloc[0:0]),
                                        window if every else week, periods, row, now, settings.agency_name))
    new = 0
    if messages:
        with Session(engine) as s, s.begin():
            new = enqueue(s, messages)
    return {"rows": rows, "updates": len(messages), "new_messages": new}


def _client_updates(client: dict[str, Any], chunk: data.Chunk, metrics: pd.DataFrame, campaigns: pd.DataFrame,
                    key: Period, periods: DocumentPeriods, row: dict[str, Any],
                    now: dt.datetime, agency_name: str) -> list[dict[str, Any]]:
    from tasks.reports.kpis import grouped, totals

    current = periods.current
    now_k, prev_k = totals(metrics, current), totals(metrics, periods.previous)
    by_campaign = grouped(metrics, campaigns, current, "name")[:10]
    notes = [n for n in chunk.notes.get(client["id"], [])
             if n["kind"] == "optimisation" and current.first <= n["day"] <= current.last]
    findings = chunk.findings.get(client["id"], [])
    out = []
    for contact_id, prefs in chunk.contacts.get(client["id"], []):
        # The client reads the view only: the detectors' advice for the AM never reaches it.
        view = client_view.client_update(client, prefs.language, (current.first, current.last), now_k,
                                         prev_k if prev_k["complete"] else None, by_campaign, notes, findings)
        ctx = client_update_context(
            prefs, {"name": view.client_name, "currency": view.currency}, view.period, view.kpis, view.previous,
            view.cpa_band, list(view.campaigns), list(view.actions), list(view.next_steps),
            {"name": view.am_name, "email": view.am_email})
        composed = compose("client_update", prefs, ctx)
        out.append(client_message(flow=FLOWS["standup"], kind="client_update", period=key.label,
                                  client_slug=client["slug"], client_id=client["id"], contact_id=contact_id,
                                  prefs=prefs, composed=composed, now=now, tier=client["tier"],
                                  settings=client["settings"], sent_as=_sent_as(client, agency_name)))
    return out


def build_review(engine: Engine, settings: Settings, slug: str, period: Period, detail: str, as_of: dt.date,
                 now: dt.datetime, pdf: bool = True) -> dict[str, Any]:
    """The manager's dossier for one client: rendered, stored as a report, returned with its markdown."""
    root = settings.reports_path
    clients = data.select_clients(engine, [slug])
    if not clients:
        raise ValueError(f"no client with slug {slug!r}")
    cid = clients[0]["id"]
    doc = review_periods(period, as_of)
    chunk = data.load_chunk(engine, [cid], min(doc.first, as_of.replace(day=1)), max(period.last, as_of), now)
    client = chunk.clients[0]
    ctx = content.review_context(client, chunk.metrics, chunk.campaigns, chunk.notes.get(cid, []),
                                 chunk.findings.get(cid, []), chunk.incidents.get(cid, []),
                                 chunk.requests.get(cid, []), chunk.key_dates.get(cid, []),
                                 chunk.last_contact.get(cid), doc, detail, as_of, now)
    html_path, pdf_path = report_paths(root, "review", period.label, client["slug"], "en", f"client-{cid}", detail)
    job = RenderJob((cid, "en", detail), "report/review.html.j2", "en", ctx, str(html_path),
                    str(pdf_path) if pdf else None, detail=detail, brand=_brand(settings))
    rendered = render_all([job], workers=1)[0]
    title = content.names(ctx, "en")["title"]
    with Session(engine) as s, s.begin():
        ids = store_reports(s, [{"client_id": cid, "kind": "review", "period": period.label, "language": "en",
                                 "detail": detail, "title": title, "html_path": rendered.html_path,
                                 "pdf_path": rendered.pdf_path,
                                 "content_sha256": rendered.sha256}])
    return {"client": client, "context": ctx, "title": title,
            "report_id": ids[(cid, "review", period.label, "en", detail)],
            "html": rendered.html_path, "pdf": rendered.pdf_path, "pages": rendered.pages}



def summary_contexts(rows: list[dict[str, Any]], as_of: dt.date) -> list[dict[str, Any]]:
    """One internal summary per owner AM: clients needing attention first."""
    agency = standup_periods(as_of)
    window, before = agency.current, agency.previous
    by_am: dict[str, list[dict[str, Any]]] = defaultdict(list)
    ams: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_am[row["am"]["email"]].append(row)
        ams[row["am"]["email"]] = row["am"]

    def urgency(r: dict[str, Any]) -> tuple:
        return (-r["critical"], -len(r["incidents"]), -len(r["sla_breached"]), not r["not_contacted"], r["slug"])

    return [{"am": ams[email], "as_of": as_of, "window": {"label": window.label, "first": window.first,
             "last": window.last}, "before": {"label": before.label, "first": before.first, "last": before.last},
             "clients": sorted(rs, key=urgency),
             "attention": sum(1 for r in rs if r["critical"] or r["incidents"] or r["sla_breached"]
                              or r["not_contacted"] or r["verdict"] in ("above", "no_conversions"))}
            for email, rs in sorted(by_am.items())]


def summary_message(ctx: dict[str, Any]) -> dict[str, Any]:
    """One AM's stand-up summary in their language: tiers, KPI names and stages translated, plural forms."""
    language = ctx["am"].get("language") or Language.EN.value
    with i18n.use(language):
        clients = [{**c, "tier": internal_mail.tier(c["tier"]),
                    "rows": [{**r, "label": i18n.gettext_(i18n.KPI_LABELS.get(r["key"], r["key"]))} for r in c["rows"]],
                    "incidents": [{**i, "stage": internal_mail.incident_stage(i["stage"])} for i in c["incidents"]],
                    "sla_breached": [{**r, "step": internal_mail.stage(r["step"])} for r in c["sla_breached"]],
                    "sla_near": [{**r, "step": internal_mail.stage(r["step"])} for r in c["sla_near"]]}
                   for c in ctx["clients"]]
        values = {"day": i18n.date(ctx["as_of"]), "num": len(clients)}
        subject = (i18n.ngettext_("Stand-up %(day)s: %(num)s client", "Stand-up %(day)s: %(num)s clients",
                                  len(clients)) % values
                   + i18n.ngettext_(", %(num)s needs attention", ", %(num)s need attention", ctx["attention"])
                   % {"num": ctx["attention"]})
    view = {**ctx, "clients": clients, "language": language}
    return {
        "flow": FLOWS["standup"], "kind": "standup_summary", "period": ctx["window"]["label"],
        "audience": Audience.INTERNAL, "staff_id": ctx["am"]["id"], "recipient": ctx["am"]["email"],
        "language": Language(language), "client_id": None, "contact_id": None, "is_crisis": False,
        "subject": i18n.tidy(language, subject),
        "body_html": render_in(language, "email/standup_summary.html.j2", **view),
        "body_text": render_in(language, "email/standup_summary.txt.j2", **view),
        "meta": {"clients": len(clients), "attention": ctx["attention"]},
    }
