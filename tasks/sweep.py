"""The daily sweep's edges: plan chunks, sweep a chunk (load, detect, persist, raise events), digests."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.tasks import exponential_backoff
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, Client, Finding, Staff
from models.enums import Audience, FindingStatus, Language
from tasks import i18n, internal_mail
from tasks.detect.run import run_detectors
from tasks.findings import critical_without_incident, persist_findings
from tasks.messaging import enqueue
from tasks.metrics import active_client_ids, chunk_clients, load_sweep_frames
from tasks.render import render_in
from tasks.resources import configured_engine
from tasks.rules import SEVERITIES, SEVERITY_RANK

FLOW = "daily-account-sweep"
CRITICAL_EVENT = "cadence.finding.critical"


@task(name="plan-sweep-chunks", cache_policy=NO_CACHE)
def plan_chunks(client_slugs: list[str] | None, max_campaigns: int) -> list[list[int]]:
    """Active clients (or the named ones) partitioned into chunks of about `max_campaigns` campaigns."""
    engine = configured_engine()
    return chunk_clients(engine, active_client_ids(engine, client_slugs), max_campaigns)


def should_notify(as_of: dt.date, today: dt.date, notify: bool | None) -> bool:
    """Mail and crisis events only for the latest complete day, unless the caller says otherwise."""
    return as_of >= today if notify is None else notify


@task(name="sweep-chunk", task_run_name="sweep-chunk-{index}", cache_policy=NO_CACHE, retries=2,
      retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.5)
def sweep_chunk(client_ids: list[int], day: dt.date, index: int = 0, notify: bool = True) -> dict[str, Any]:
    """Load the chunk's window, run every detector, persist findings; raise an event per new critical one.

    Without `notify` (a back-fill) the findings are written and no event is raised.
    """
    engine = configured_engine()
    started = time.perf_counter()
    frames = load_sweep_frames(engine, client_ids, day)
    loaded = time.perf_counter()
    findings = run_detectors(frames.metrics, frames.campaigns, frames.accounts, frames.clients, day,
                             peaks=frames.peaks)
    campaigns, metric_rows = int(frames.campaigns.shape[0]), int(frames.metrics.shape[0])
    del frames  # the chunk's window is released before its findings are written: memory is bounded by the chunk
    detected = time.perf_counter()
    result = persist_findings(engine, client_ids, day, findings)
    # Raised for every critical problem still without an incident, not only the new ones: a run killed after
    # writing its findings raises them on its re-run (crisis-escalation opens one incident per finding).
    criticals = critical_without_incident(engine, client_ids, day) if notify else []
    persisted = time.perf_counter()
    for critical in criticals:
        emit_event(
            event=CRITICAL_EVENT,
            resource={"prefect.resource.id": f"cadence.client.{critical['client_id']}"},
            related=[{"prefect.resource.id": f"cadence.account.{critical['account_id']}",
                      "prefect.resource.role": "account"}],
            payload=critical,
        )
    counts = Counter(zip(findings["detector"], findings["severity"], strict=True)) if len(findings) else Counter()
    return {
        "index": index,
        "clients": len(client_ids),
        "campaigns": campaigns,
        "metric_rows": metric_rows,
        "findings": int(len(findings)),
        "new": result.new,
        "carried": result.carried,
        "resolved": result.resolved,
        "critical_events": len(criticals),
        # The events' payloads too: what a caller without the deployment trigger (a simulation) passes on.
        "critical": criticals,
        "by_detector": {f"{d}:{s}": n for (d, s), n in sorted(counts.items())},
        "load_s": loaded - started,
        "detect_s": detected - loaded,
        "persist_s": persisted - detected,
    }


def digest_context(session: Session, day: dt.date, client_ids: list[int]) -> list[dict[str, Any]]:
    """One digest context per owner AM of the swept clients: their open findings for `day`, worst first."""
    rows = session.execute(
        select(Finding, Client.name.label("client"), Client.owner_am_id, AdAccount.name.label("account"),
               Campaign.name.label("campaign"))
        .join(Client, Client.id == Finding.client_id)
        .join(AdAccount, AdAccount.id == Finding.account_id)
        .outerjoin(Campaign, Campaign.id == Finding.campaign_id)
        .where(Finding.day == day, Finding.client_id.in_(client_ids), Finding.status != FindingStatus.RESOLVED)
    ).all()
    by_am: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        f = row.Finding
        by_am.setdefault(row.owner_am_id, []).append({
            "severity": f.severity.value, "client": row.client, "account": row.account, "campaign": row.campaign,
            "detector": f.detector, "evidence": f.evidence or {}, "recommendation": f.recommendation,
        })
    clients_per_am = Counter(session.scalars(select(Client.owner_am_id).where(Client.id.in_(client_ids))))
    ams = session.scalars(select(Staff).where(Staff.id.in_(list(clients_per_am)))).all()
    contexts = []
    for am in sorted(ams, key=lambda a: a.email):
        findings = sorted(by_am.get(am.id, []), key=lambda f: (SEVERITY_RANK[f["severity"]], f["client"]))
        contexts.append({
            "staff_id": am.id, "email": am.email, "am_name": am.name, "language": am.language.value,
            "day": day, "clients": clients_per_am[am.id], "findings": findings,
            **{level: sum(f["severity"] == level for f in findings) for level in SEVERITIES},
        })
    return contexts


def digest_message(ctx: dict[str, Any]) -> dict[str, Any]:
    """One AM's digest in their language: a translated headline per finding, the English advice for English readers."""
    language = ctx["language"]
    with i18n.use(language):
        findings = [{**f, "headline": internal_mail.headline(f["detector"], f["evidence"]),
                     "severity_label": internal_mail.severity(f["severity"])} for f in ctx["findings"]]
        subject = internal_mail.digest_subject(i18n.date(ctx["day"]), len(findings), ctx["critical"])
    view = {**ctx, "findings": findings}
    return {
        "flow": FLOW, "kind": "digest", "period": ctx["day"].isoformat(), "audience": Audience.INTERNAL,
        "staff_id": ctx["staff_id"], "recipient": ctx["email"], "language": Language(language),
        "subject": i18n.tidy(language, subject), "body_html": render_in(language, "email/sweep_digest.html.j2", **view),
        "body_text": render_in(language, "email/sweep_digest.txt.j2", **view), "client_id": None, "contact_id": None,
        "is_crisis": False, "meta": {"findings": len(findings), "critical": ctx["critical"],
                                     "warning": ctx["warning"], "info": ctx["info"]},
    }


@task(name="compose-sweep-digests", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def compose_digests(day: dt.date, client_slugs: list[str] | None, latest: bool = True) -> dict[str, int]:
    """One internal digest per owner AM into the outbox, keyed so a re-run composes nothing new.

    For an earlier day (`latest` false) only AMs with open findings hear of it: never "0 open findings".
    """
    engine = configured_engine()
    client_ids = active_client_ids(engine, client_slugs)
    with Session(engine) as s, s.begin():
        contexts = [c for c in digest_context(s, day, client_ids) if latest or c["findings"]]
        messages = [digest_message(ctx) for ctx in contexts]
        new = enqueue(s, messages)
    get_run_logger().info("digests: %d composed, %d new in the outbox", len(messages), new)
    return {"digests": len(messages), "new": new}


def findings_table(day: dt.date, client_ids: list[int], limit: int = 500) -> list[dict[str, Any]]:
    """The day's open findings, worst first, as plain rows for a table artifact (no contact data)."""
    with Session(configured_engine()) as s:
        rows = s.execute(
            select(Finding.severity, Finding.detector, Client.slug, AdAccount.external_id, Campaign.name,
                   Finding.recommendation)
            .join(Client, Client.id == Finding.client_id)
            .join(AdAccount, AdAccount.id == Finding.account_id)
            .outerjoin(Campaign, Campaign.id == Finding.campaign_id)
            .where(Finding.day == day, Finding.client_id.in_(client_ids), Finding.status != FindingStatus.RESOLVED)
        ).all()
    table = [{"severity": r[0].value, "detector": r[1], "client": r[2], "account": r[3], "campaign": r[4] or "",
              "recommendation": r[5]} for r in rows]
    table.sort(key=lambda r: (SEVERITY_RANK[r["severity"]], r["client"], r["detector"]))
    return table[:limit]


def summary_markdown(day: dt.date, chunks: list[dict[str, Any]], digests: dict[str, int],
                     notified: bool = True) -> str:
    """The sweep-summary artifact: what was swept, what was found, what changed."""
    total = Counter()
    for chunk in chunks:
        total.update({k: v for k, v in chunk.items() if isinstance(v, int) and k != "index"})
    by_detector: Counter = Counter()
    for chunk in chunks:
        by_detector.update(chunk["by_detector"])
    lines = [
        f"# Daily account sweep — {day.isoformat()}",
        "",
        f"- clients swept: **{total['clients']}** in {len(chunks)} chunk(s); campaigns: **{total['campaigns']}**;"
        f" metric rows read: {total['metric_rows']:,}",
        f"- findings for the day: **{total['findings']}** (new problems: {total['new']},"
        f" carried over: {total['carried']}, resolved: {total['resolved']})",
        f"- critical events raised: {total['critical_events']}",
        (f"- digests: {digests['digests']} composed ({digests['new']} new in the outbox)" if notified else
         "- back-fill: findings written quietly, no digest and no critical event (`notify` to send them)"),
        "",
        "| detector | severity | findings |",
        "|---|---|---|",
    ]
    for key, n in sorted(by_detector.items()):
        detector, severity = key.split(":")
        lines.append(f"| {detector} | {severity} | {n} |")
    return "\n".join(lines) + "\n"


@task(name="publish-sweep-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(day: dt.date, chunks: list[dict[str, Any]], client_ids: list[int],
                      digests: dict[str, int], notified: bool = True) -> str:
    """The sweep-summary markdown and the sweep-findings table in the Prefect UI."""
    summary = summary_markdown(day, chunks, digests, notified)
    create_markdown_artifact(summary, key="sweep-summary", description=f"Daily account sweep for {day}")
    create_table_artifact(findings_table(day, client_ids), key="sweep-findings",
                          description=f"Open findings for {day}, worst first (at most 500)")
    return summary
