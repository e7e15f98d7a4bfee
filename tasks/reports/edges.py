"""The Prefect steps of the report flows: plan chunks, build a chunk's reports and messages, publish artifacts."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from sqlalchemy.orm import Session

from models.base import utcnow
from models.enums import Audience, Detail, Language
from tasks.messaging import enqueue
from tasks.messaging.compose import client_message, client_update_context, compose, sender
from tasks import i18n, internal_mail
from tasks.render import markdown_cell, markdown_line, render_in
from tasks.reports import client_view, content, data
from tasks.reports.benchmarks import client_kpis
from tasks.reports.output import Rendered, RenderJob, branding, render_all, report_paths, report_url
from tasks.reports.periods import (
    DocumentPeriods,
    Period,
    month,
    pack_periods,
    quarter,
    recap_periods,
    review_periods,
    span,
    standup_periods,
    standup_windows,
    week_windows,
)
from tasks.reports.store import store_reports
from tasks.resources import configured_engine

# One chunk loads its clients' metrics at once and renders their PDFs on every core.
DEFAULT_CHUNK_CLIENTS = 50
RECAP_MAX_PAGES = 5
PACK_MAX_PAGES = 10
EMAIL_CAMPAIGNS = 5
FLOWS = {"recap": "monthly-recap", "strategy_pack": "quarterly-strategy-pack", "review": "client-review",
         "standup": "standup-summary"}


def _reports_root():
    from tasks.settings import get_settings

    return get_settings().reports_path


def _sent_as(client: dict[str, Any]) -> dict[str, str | None]:
    """The client's owner AM as sender and Reply-To, on the agency's address."""
    from tasks.settings import get_settings

    return sender(client["am"]["name"], client["am"]["email"], get_settings().agency_name)


def parse_period(kind: str, label: str) -> Period:
    """A stored period label back into its dates: 2026-10, 2026-Q3 or 2026-11-01..2026-11-24."""
    if kind == "strategy_pack":
        year, number = label.split("-Q")
        return quarter(int(year), int(number))
    if ".." in label:
        first, last = label.split("..")
        return span(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    year, number = label.split("-")
    return month(int(year), int(number))


@task(name="plan-report-chunks", cache_policy=NO_CACHE)
def plan_report_chunks(kind: str, client_slugs: list[str] | None, chunk_clients: int,
                       as_of: dt.date | None = None) -> list[list[int]]:
    """The clients a report kind goes to (packs: strategic and opted-in potential), in chunks of ids."""
    clients = data.select_clients(configured_engine(), client_slugs)
    if kind == "strategy_pack" and not client_slugs:
        clients = [c for c in clients if content.wants_pack(c)]
    ids = [c["id"] for c in clients]
    size = max(1, chunk_clients)
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def report_variants(prefs: list[tuple[int, Any]]) -> list[tuple[str, str]]:
    """The (language, detail) reports a client's contacts read: only the detail levels someone asked for."""
    return sorted({(str(p.language), str(p.detail)) for _, p in prefs}) or [(Language.EN.value, Detail.SUMMARY.value)]


def _brand() -> dict[str, Any]:
    from tasks.settings import get_settings

    settings = get_settings()
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


def build_chunk(kind: str, client_ids: list[int], period: Period, as_of: dt.date, pdf_workers: int | None = None,
                send: bool = True, now: dt.datetime | None = None) -> dict[str, Any]:
    """Load a chunk, render each client's report per contact language, store the rows, queue the covering emails."""
    engine, root = configured_engine(), _reports_root()
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
    jobs, views, brand = [], {}, _brand()
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
                        meta={"report_pdf": report.pdf_path, "pages": report.pages}, sent_as=_sent_as(client))
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


@task(name="build-report-chunk", task_run_name="{kind}-chunk-{index}", cache_policy=NO_CACHE, retries=1,
      retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.5)
def report_chunk(kind: str, client_ids: list[int], period_label: str, as_of: dt.date, index: int = 0,
                 pdf_workers: int | None = None, send: bool = True) -> dict[str, Any]:
    """Build one chunk's recaps or packs; a retry re-renders the same files and finds its messages already queued."""
    result = build_chunk(kind, client_ids, parse_period(kind, period_label), as_of, pdf_workers, send)
    get_run_logger().info("%s chunk %d: %d clients, %d reports, %d failures, %d new messages", kind, index,
                          result["clients"], len(result["reports"]), len(result["failures"]), result["new_messages"])
    if result["missing_names"]:
        get_run_logger().warning("%d display name(s) missing, shown humanised (see `cadence label missing`): %s",
                                 len(result["missing_names"]), "; ".join(result["missing_names"][:5]))
    if result["failures"]:
        raise RuntimeError(f"{len(result['failures'])} report(s) failed: {result['failures'][:3]}")
    return result


def report_markdown(heading: str, results: list[dict[str, Any]]) -> str:
    reports = [r for result in results for r in result["reports"]]
    lines = [f"# {heading}", "",
             (f"- clients: **{sum(r['clients'] for r in results)}**; reports rendered: **{len(reports)}**;"
              f" new messages in the outbox: {sum(r['new_messages'] for r in results)}"), "",
             "| client | language | detail | pages | report |", "|---|---|---|---|---|"]
    for r in sorted(reports, key=lambda r: (r["client"], r["language"], r.get("detail", "summary"))):
        lines.append(f"| {r['client']} | {r['language']} | {r.get('detail', 'summary')} |"
                     f" {r['pages'] if r['pages'] is not None else '—'}"
                     f"{' (compact)' if r['compact'] else ''} | {_links(r)} |")
    return "\n".join(lines) + "\n"


@task(name="publish-report-artifacts", cache_policy=NO_CACHE)
def publish_reports(key: str, heading: str, results: list[dict[str, Any]]) -> str:
    """A markdown summary with a link to each report, and a table of the reports, under stable keys."""
    markdown = report_markdown(heading, results)
    create_markdown_artifact(markdown, key=key, description=heading)
    create_table_artifact([{**{k: r.get(k) for k in ("client", "language", "detail", "pages")},
                            "pdf": report_link(r.get("pdf")) or r.get("pdf")}
                           for result in results for r in result["reports"]], key=f"{key}-files",
                          description=f"{heading}: rendered files")
    return markdown


def standup_chunk_rows(client_ids: list[int], as_of: dt.date, now: dt.datetime,
                       send: bool = True) -> dict[str, Any]:
    """Each client's stand-up line, and the client updates due at this stand-up queued in the outbox."""
    engine = configured_engine()
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
        every = client["tier"] == "strategic" or client["settings"].get("standup_updates") == "every"
        since_standup = standup_periods(as_of, now, client.get("time_zone"))
        row = content.standup_row(client, metrics, since_standup or standup_periods(as_of), chunk.notes.get(cid, []),
                                  chunk.findings.get(cid, []), chunk.incidents.get(cid, []),
                                  chunk.requests.get(cid, []), chunk.key_dates.get(cid, []),
                                  chunk.last_contact.get(cid), as_of, now)
        row["update_due"] = content.wants_update(client, as_of)
        rows.append(row)
        if not (send and row["update_due"]) or client.get("is_test"):
            continue
        # Weekly readers hear about the whole week; stand-up readers about the days since the last stand-up.
        periods = since_standup if every else standup_periods(as_of, now, client.get("time_zone"), weekly=True)
        if periods is None:
            continue  # not one day of the window is over for the client yet: nothing complete to report
        messages.extend(_client_updates(client, chunk, metrics, camps_by_client.get(cid, chunk.campaigns.iloc[0:0]),
                                        window if every else week, periods, row, now))
    new = 0
    if messages:
        with Session(engine) as s, s.begin():
            new = enqueue(s, messages)
    return {"rows": rows, "updates": len(messages), "new_messages": new}


def _client_updates(client: dict[str, Any], chunk: data.Chunk, metrics: pd.DataFrame, campaigns: pd.DataFrame,
                    key: Period, periods: DocumentPeriods, row: dict[str, Any],
                    now: dt.datetime) -> list[dict[str, Any]]:
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
                                  settings=client["settings"], sent_as=_sent_as(client)))
    return out


@task(name="standup-chunk", task_run_name="standup-chunk-{index}", cache_policy=NO_CACHE, retries=1,
      retry_delay_seconds=5)
def standup_chunk(client_ids: list[int], as_of: dt.date, index: int = 0, send: bool = True) -> dict[str, Any]:
    """One chunk's stand-up lines and client updates."""
    return standup_chunk_rows(client_ids, as_of, utcnow(), send)


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


@task(name="compose-standup-summaries", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def compose_standup_summaries(rows: list[dict[str, Any]], as_of: dt.date) -> dict[str, int]:
    """One internal stand-up summary per AM into the outbox, in the AM's language."""
    messages = [summary_message(ctx) for ctx in summary_contexts(rows, as_of)]
    with Session(configured_engine()) as s, s.begin():
        new = enqueue(s, messages)
    return {"summaries": len(messages), "new": new}


def standup_markdown(as_of: dt.date, rows: list[dict[str, Any]], updates: int, summaries: dict[str, int]) -> str:
    window, _ = standup_windows(as_of)
    lines = [f"# Stand-up {as_of.isoformat()} ({window.label})", "",
             (f"- clients: **{len(rows)}**; client updates composed: {updates}; AM summaries:"
              f" {summaries['summaries']} ({summaries['new']} new in the outbox)"), "",
             ("| client | tier | AM | spend | conversions | open findings | incidents | SLA breached | days silent |"
              " update |"), "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["slug"]):
        lines.append(f"| {r['slug']} | {r['tier']} | {r['am']['name']} | {r['kpis']['spend']:,.2f} {r['currency']} |"
                     f" {r['kpis']['conversions']:,.0f} | {r['findings_open']} | {len(r['incidents'])} |"
                     f" {len(r['sla_breached'])} | {r['days_since_contact'] if r['days_since_contact'] is not None else 'never'} |"
                     f" {'yes' if r['update_due'] else 'no'} |")
    return "\n".join(lines) + "\n"


@task(name="publish-standup-artifacts", cache_policy=NO_CACHE)
def publish_standup(as_of: dt.date, rows: list[dict[str, Any]], updates: int, summaries: dict[str, int]) -> str:
    markdown = standup_markdown(as_of, rows, updates, summaries)
    create_markdown_artifact(markdown, key="standup-summary", description=f"Stand-up for {as_of}")
    return markdown


def build_review(slug: str, period: Period, detail: str, as_of: dt.date, now: dt.datetime,
                 pdf: bool = True) -> dict[str, Any]:
    """The manager's dossier for one client: rendered, stored as a report, returned with its markdown."""
    engine, root = configured_engine(), _reports_root()
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
                    str(pdf_path) if pdf else None, detail=detail, brand=_brand())
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


ARTIFACT_FINDINGS = 30
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def review_markdown(result: dict[str, Any]) -> str:
    """The review artifact: the dossier's headline facts, its findings and, at campaign detail, its campaigns."""
    ctx, client = result["context"], result["client"]
    k, currency = ctx["kpis"], client["currency"]
    cpa = f"{k['cpa']:,.2f}" if k["cpa"] is not None else "—"
    findings = sorted(ctx["findings"], key=lambda f: (SEVERITY_RANK.get(f["severity"], 3), -f["day"].toordinal()))
    critical = sum(f["severity"] == "critical" for f in findings)
    lines = [f"# {result['title']}", "",
             f"- tier **{ctx['tier']}**, AM {ctx['am']['name']}, {client['industry']} / {client['market']};"
             f" detail: {ctx['detail']}",
             (f"- spend {k['spend']:,.2f} {currency}, conversions {k['conversions']:,.0f}, CPA {cpa}"
              f" (verdict: {ctx['verdict']})"),
             f"- open findings: {len(findings)} ({critical} critical); open incidents: {len(ctx['incidents'])}",
             (f"- SLA: {sum(r['state'] == 'breached' for r in ctx['requests'])} breached,"
              f" {sum(r['state'] == 'near' for r in ctx['requests'])} near a breach"),
             (f"- last written to: {ctx['days_since_contact'] if ctx['days_since_contact'] is not None else 'never'}"
              f" days ago (limit {ctx['write_first_days']})")]
    if ctx["pacing"]:
        p = ctx["pacing"]
        lines.append(f"- pacing: {p['spent']:,.2f} of {p['budget']:,.2f} month to date, projected"
                     f" {p['projected_use']:.0%} of the budget")
    lines += ["", "Report: " + _links(result)]
    if findings:
        # A list, not a table: the recommendation is what a manager reads, and a table column cuts it off.
        lines += ["", "## Open findings", ""]
        for f in findings[:ARTIFACT_FINDINGS]:
            lines.append(f"- **{f['severity']}** {f['day'].isoformat()} · {f['detector'].replace('_', ' ')} ·"
                         f" {markdown_line(f['campaign'] or 'whole account')} ({f['status']}):"
                         f" {markdown_line(f['recommendation'])}")
        if len(findings) > ARTIFACT_FINDINGS:
            lines += ["", f"… and {len(findings) - ARTIFACT_FINDINGS} more in the report."]
    if ctx["incidents"]:
        lines += ["", "## Open incidents", ""]
        for i in ctx["incidents"]:
            opened = i["opened_at"].astimezone(dt.UTC)
            lines.append(f"- opened {opened:%Y-%m-%d %H:%M} UTC: {markdown_line(i['cause'])} — stage {i['stage']},"
                         f" escalation level {i['escalation_level']}, root-cause document"
                         f" {'written' if i['root_cause_doc'] else 'missing'}")
    late = [r for r in ctx["requests"] if r["state"] in ("breached", "near")]
    if late:
        lines += ["", "## Requests breached or near a breach (1-3-7)", "",
                  "| request | next step | due (UTC) | state |", "|---|---|---|---|"]
        for r in late:
            due = f"{r['due_at'].astimezone(dt.UTC):%Y-%m-%d %H:%M}" if r.get("due_at") else "—"
            request = f"{r['reference']} {r['title']}"
            lines.append(f"| {markdown_cell(request)} | {r['step']} | {due} | {r['state']} |")
    if ctx["detail"] == "campaign":
        lines += ["", f"## By campaign ({ctx['period']['label']})", ""]
        if ctx["campaigns"]:
            lines += [f"| campaign | spend ({currency}) | conversions | CPA | CTR |", "|---|---:|---:|---:|---:|"]
            for c in ctx["campaigns"]:
                lines.append(f"| {markdown_cell(c['name'])} | {c['spend']:,.2f} | {c['conversions']:,.0f} |"
                             f" {_number(c['cpa'])} | {_percent(c['ctr'])} |")
        else:
            lines.append("No campaign spent in the period.")
    return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    return f"{value:,.2f}" if value is not None else "—"


def _percent(value: float | None) -> str:
    return f"{value:.2%}" if value is not None else "—"


def report_link(path: str | None) -> str | None:
    """Where a browser opens a rendered file: the report server's address (CADENCE_REPORTS_URL) and its place."""
    if not path:
        return None
    from tasks.settings import get_settings

    settings = get_settings()
    return report_url(settings.reports_base_url, settings.reports_path, path)


def _links(result: dict[str, Any]) -> str:
    """Markdown links to a report's PDF and HTML, or their paths where no server can serve them."""
    parts = []
    for label, path in (("PDF", result.get("pdf")), ("HTML", result.get("html"))):
        if path:
            url = report_link(path)
            parts.append(f"[{label}]({url})" if url else f"{label} `{path}`")
    return " · ".join(parts) or "—"


@task(name="build-client-review", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def client_review_task(slug: str, first: dt.date, last: dt.date, detail: str, as_of: dt.date,
                       send_to: str | None = None) -> dict[str, Any]:
    """Render the dossier, publish it as an artifact, and queue it for the requesting manager when asked."""
    from sqlalchemy import select

    from models import Staff

    period = span(first, last)
    result = build_review(slug, period, detail, as_of, utcnow())
    markdown = review_markdown(result)
    create_markdown_artifact(markdown, key=f"review-{content_key(slug)}", description=result["title"])
    new = 0
    if send_to:
        with Session(configured_engine()) as s, s.begin():
            manager = s.scalar(select(Staff).where(Staff.email == send_to))
            if manager is None:
                raise ValueError(f"{send_to!r} is not a member of staff: a review is only sent inside the agency")
            new = enqueue(s, [{
                "flow": FLOWS["review"], "kind": "review", "period": period.label, "audience": Audience.INTERNAL,
                "staff_id": manager.id, "recipient": manager.email, "language": Language.EN,
                "client_id": result["client"]["id"], "contact_id": None, "is_crisis": False,
                "subject": result["title"], "body_html": Path(result["html"]).read_text(encoding="utf-8"),
                "body_text": markdown, "report_id": result["report_id"], "meta": {"report_pdf": result["pdf"]},
            }])
    return {"title": result["title"], "html": result["html"], "pdf": result["pdf"], "pages": result["pages"],
            "report_id": result["report_id"], "new_messages": new, "markdown": markdown}


@task(name="tag-review-tier", cache_policy=NO_CACHE)
def tag_review_tier(slug: str) -> str | None:
    """Add the client's `tier:<tier>` tag to the current flow run, so the UI can filter reviews by tier."""
    from sqlalchemy import select

    from models import Client
    from tasks.runners import tag_current_flow_run

    with Session(configured_engine()) as s:
        client = s.scalar(select(Client).where(Client.slug == slug))
        if client is None:
            return None  # the review itself reports an unknown client
        tag = f"tier:{client.effective_tier.value}"
    tag_current_flow_run(tag)
    return tag


def content_key(slug: str) -> str:
    """An artifact key from a slug: lowercase letters, digits and dashes only."""
    from tasks.reports.output import safe_name

    return safe_name(slug, "client")
