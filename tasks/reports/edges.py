"""The Prefect steps of the report flows: plan chunks, build a chunk's reports and messages, publish artifacts.

Each step gets the engine and the settings from tasks/resources.py in its own process and hands them to
tasks/reports/build.py; the markdown it publishes comes from tasks/reports/summaries.py, handed the reports' place.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client, Staff
from models.base import utcnow
from models.enums import Audience, Language
from tasks import rules
from tasks.messaging import enqueue
from tasks.reports import data
from tasks.reports.build import FLOWS, build_chunk, build_review, standup_chunk_rows, summary_contexts, summary_message
from tasks.reports.periods import parse_period, span
from tasks.reports.summaries import (
    content_key,
    report_markdown,
    review_markdown,
    standup_markdown,
    standup_rows,
)
from tasks.resources import configured_engine, configured_report_place
from tasks.runners import tag_current_flow_run
from tasks.settings import get_settings


@task(name="plan-report-chunks", cache_policy=NO_CACHE)
def plan_report_chunks(kind: str, client_slugs: list[str] | None, chunk_clients: int,
                       as_of: dt.date | None = None) -> list[list[int]]:
    """The clients a report kind goes to (packs: strategic and opted-in potential), in chunks of ids."""
    clients = data.select_clients(configured_engine(), client_slugs)
    if kind == "strategy_pack" and not client_slugs:
        clients = [c for c in clients if rules.wants_pack(c["tier"], c["settings"])]
    ids = [c["id"] for c in clients]
    size = max(1, chunk_clients)
    return [ids[i:i + size] for i in range(0, len(ids), size)]


@task(name="build-report-chunk", task_run_name="{kind}-chunk-{index}", cache_policy=NO_CACHE, retries=1,
      retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.5)
def report_chunk(kind: str, client_ids: list[int], period_label: str, as_of: dt.date, index: int = 0,
                 pdf_workers: int | None = None, send: bool = True) -> dict[str, Any]:
    """Build one chunk's recaps or packs; a retry re-renders the same files and finds its messages already queued."""
    result = build_chunk(configured_engine(), get_settings(), kind, client_ids, parse_period(kind, period_label), as_of,
                         pdf_workers, send)
    get_run_logger().info("%s chunk %d: %d clients, %d reports, %d failures, %d new messages", kind, index,
                          result["clients"], len(result["reports"]), len(result["failures"]), result["new_messages"])
    if result["missing_names"]:
        get_run_logger().warning("%d display name(s) missing, shown humanised (see `cadence label missing`): %s",
                                 len(result["missing_names"]), "; ".join(result["missing_names"][:5]))
    if result["failures"]:
        raise RuntimeError(f"{len(result['failures'])} report(s) failed: {result['failures'][:3]}")
    return result


@task(name="publish-report-artifacts", cache_policy=NO_CACHE)
def publish_reports(key: str, heading: str, results: list[dict[str, Any]]) -> str:
    """A markdown summary with a link to each report, and a table of the reports, under stable keys."""
    place = configured_report_place()
    markdown = report_markdown(heading, results, place)
    create_markdown_artifact(markdown, key=key, description=heading)
    create_table_artifact([{**{k: r.get(k) for k in ("client", "language", "detail", "pages")},
                            "pdf": place.link(r.get("pdf")) or r.get("pdf")}
                           for result in results for r in result["reports"]], key=f"{key}-files",
                          description=f"{heading}: rendered files")
    return markdown


@task(name="standup-chunk", task_run_name="standup-chunk-{index}", cache_policy=NO_CACHE, retries=1,
      retry_delay_seconds=5)
def standup_chunk(client_ids: list[int], as_of: dt.date, index: int = 0, send: bool = True) -> dict[str, Any]:
    """One chunk's stand-up lines and client updates."""
    return standup_chunk_rows(configured_engine(), get_settings(), client_ids, as_of, utcnow(), send)


@task(name="compose-standup-summaries", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def compose_standup_summaries(results: list[dict[str, Any]], as_of: dt.date) -> dict[str, int]:
    """One internal stand-up summary per AM, from the chunks' lines, into the outbox in the AM's language."""
    messages = [summary_message(ctx) for ctx in summary_contexts(standup_rows(results), as_of)]
    with Session(configured_engine()) as s, s.begin():
        new = enqueue(s, messages)
    return {"summaries": len(messages), "new": new}


@task(name="publish-standup-artifacts", cache_policy=NO_CACHE)
def publish_standup(as_of: dt.date, results: list[dict[str, Any]], summaries: dict[str, int]) -> str:
    """The standup-summary markdown in the Prefect UI: the chunks' lines and counts."""
    markdown = standup_markdown(as_of, results, summaries)
    create_markdown_artifact(markdown, key="standup-summary", description=f"Stand-up for {as_of}")
    return markdown


@task(name="build-client-review", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def client_review_task(slug: str, first: dt.date, last: dt.date, detail: str, as_of: dt.date,
                       send_to: str | None = None) -> dict[str, Any]:
    """Render the dossier, publish it as an artifact, and queue it for the requesting manager when asked."""
    period = span(first, last)
    result = build_review(configured_engine(), get_settings(), slug, period, detail, as_of, utcnow())
    markdown = review_markdown(result, configured_report_place())
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
    with Session(configured_engine()) as s:
        client = s.scalar(select(Client).where(Client.slug == slug))
        if client is None:
            return None  # the review itself reports an unknown client
        tag = f"tier:{client.effective_tier.value}"
    tag_current_flow_run(tag)
    return tag
