"""Artifacts link to reports through the report server, and the review artifact says which findings, not how many."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from tasks.reports.output import ReportPlace, report_url
from tasks.reports.summaries import (
    report_markdown,
    review_markdown,
    standup_counts,
    standup_markdown,
)
from tasks.resources import configured_report_place
from tasks.settings import Settings, get_settings


@pytest.fixture
def reports(monkeypatch, tmp_path) -> Path:
    root = tmp_path / "reports"
    monkeypatch.setenv("CADENCE_REPORTS_DIR", str(root))
    monkeypatch.delenv("CADENCE_REPORTS_URL", raising=False)
    monkeypatch.delenv("CADENCE_REPORTS_PORT", raising=False)
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


@pytest.fixture
def place(tmp_path) -> ReportPlace:
    return ReportPlace("http://127.0.0.1:4201", tmp_path / "reports")


@pytest.mark.parametrize("base, path, expected", [
    ("http://127.0.0.1:4201", "recap/2026-10/acme.en.pdf", "http://127.0.0.1:4201/recap/2026-10/acme.en.pdf"),
    ("https://reports.agency.internal/cadence/", "review/2026-10-27..2026-11-25/acme.en.campaign.pdf",
     "https://reports.agency.internal/cadence/review/2026-10-27..2026-11-25/acme.en.campaign.pdf"),
    ("http://h:1", "客户/报告 one.html", "http://h:1/%E5%AE%A2%E6%88%B7/%E6%8A%A5%E5%91%8A%20one.html"),
])
def test_report_url_is_the_base_and_the_files_place_under_the_folder(tmp_path, base, path, expected):
    assert report_url(base, tmp_path, tmp_path / path) == expected


def test_a_file_outside_the_folder_has_no_link(tmp_path):
    assert report_url("http://127.0.0.1:4201", tmp_path / "reports", tmp_path / "elsewhere.pdf") is None
    assert ReportPlace("http://127.0.0.1:4201", tmp_path / "reports").link(tmp_path / "elsewhere.pdf") is None


def test_the_link_defaults_to_the_local_report_server_and_follows_the_settings(reports, monkeypatch):
    pdf = reports / "recap" / "2026-10" / "acme.en.pdf"
    assert configured_report_place().link(str(pdf)) == "http://127.0.0.1:4201/recap/2026-10/acme.en.pdf"
    monkeypatch.setenv("CADENCE_REPORTS_PORT", "4300")
    get_settings.cache_clear()
    assert configured_report_place().link(str(pdf)) == "http://127.0.0.1:4300/recap/2026-10/acme.en.pdf"
    monkeypatch.setenv("CADENCE_REPORTS_URL", "https://reports.agency.internal/")
    get_settings.cache_clear()
    assert configured_report_place().link(str(pdf)) == "https://reports.agency.internal/recap/2026-10/acme.en.pdf"
    assert configured_report_place().link(None) is None


@pytest.mark.parametrize("url", ["reports.agency.internal", "ftp://x", "http://", "javascript:alert(1)", "http://a b"])
def test_a_reports_url_that_is_not_a_web_address_is_refused(url):
    with pytest.raises(ValidationError, match="not an http"):
        Settings(reports_url=url)


def test_recap_and_pack_artifacts_link_each_report(place):
    folder = place.root / "recap" / "2026-10"
    results = [{"clients": 1, "new_messages": 2, "reports": [
        {"client": "acme", "language": "zh", "detail": "summary", "title": "t", "pages": 3, "compact": False,
         "pdf": str(folder / "acme.zh.pdf"), "html": str(folder / "acme.zh.html")}]}]
    markdown = report_markdown("Monthly recap 2026-10", results, place)
    assert ("| acme | zh | summary | 3 | [PDF](http://127.0.0.1:4201/recap/2026-10/acme.zh.pdf) ·"
            " [HTML](http://127.0.0.1:4201/recap/2026-10/acme.zh.html) |") in markdown
    assert str(place.root) not in markdown


def _review(detail: str, findings: list[dict], campaigns: list[dict], root: Path) -> dict:
    now = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
    context = {
        "tier": "strategic", "am": {"name": "Li Wei"}, "detail": detail, "verdict": "above",
        "kpis": {"spend": 12345.6, "conversions": 40, "cpa": 308.64}, "findings": findings,
        "incidents": [{"cause": "tracking_broken on 107-1", "stage": "acknowledged", "opened_at": now,
                       "escalation_level": 1, "root_cause_doc": False}],
        "requests": [{"reference": "R-7", "title": "New | creatives", "step": "plan", "state": "breached",
                      "due_at": now - dt.timedelta(hours=3)},
                     {"reference": "R-8", "title": "Budget", "step": "confirm", "state": "on_track", "due_at": now}],
        "days_since_contact": 9, "write_first_days": 3, "pacing": None, "campaigns": campaigns,
        "period": {"label": "2026-10-27..2026-11-25"},
    }
    folder = root / "review" / "2026-10-27..2026-11-25"
    return {"context": context, "title": "Client review: Acme (2026-10-27 – 2026-11-25)",
            "client": {"industry": "retail", "market": "CN", "currency": "CNY"},
            "pdf": str(folder / f"acme.en{'.campaign' if detail == 'campaign' else ''}.pdf"),
            "html": str(folder / f"acme.en{'.campaign' if detail == 'campaign' else ''}.html")}


FINDINGS = [
    {"day": dt.date(2026, 11, 23), "severity": "warning", "detector": "cpa_above_band", "campaign": "Brand | Search",
     "status": "open", "recommendation": "CPA 310 is above the band 80–120 for 3 days:\nnarrow targeting."},
    {"day": dt.date(2026, 11, 24), "severity": "critical", "detector": "tracking_broken", "campaign": None,
     "status": "acknowledged", "recommendation": "Conversions fell to zero while clicks held: check the tag."},
]


def test_the_review_artifact_lists_the_findings_themselves_worst_first(place):
    markdown = review_markdown(_review("summary", FINDINGS, [], place.root), place)
    rows = [line for line in markdown.splitlines() if line.startswith("- **")]
    assert rows == [
        "- **critical** 2026-11-24 · tracking broken · whole account (acknowledged): Conversions fell to zero while"
        " clicks held: check the tag.",
        "- **warning** 2026-11-23 · cpa above band · Brand | Search (open): CPA 310 is above the band 80–120 for 3"
        " days: narrow targeting.",
    ]
    assert "open findings: 2 (1 critical)" in markdown
    assert "[PDF](http://127.0.0.1:4201/review/2026-10-27..2026-11-25/acme.en.pdf)" in markdown
    assert "| R-7 New \\| creatives | plan | 2026-11-24 23:00 | breached |" in markdown and "R-8" not in markdown
    assert "opened 2026-11-25 02:00 UTC: tracking_broken on 107-1 — stage acknowledged" in markdown
    assert "By campaign" not in markdown, "summary detail: no campaign table"


def test_campaign_detail_puts_the_campaign_table_in_the_artifact_too(place):
    campaigns = [{"name": "Brand | Search", "spend": 9000.0, "conversions": 30, "cpa": 300.0, "ctr": 0.0412},
                 {"name": "新品 推广", "spend": 3345.6, "conversions": 0, "cpa": None, "ctr": None}]
    markdown = review_markdown(_review("campaign", FINDINGS, campaigns, place.root), place)
    assert "## By campaign (2026-10-27..2026-11-25)" in markdown and "detail: campaign" in markdown
    assert "| Brand \\| Search | 9,000.00 | 30 | 300.00 | 4.12% |" in markdown
    assert "| 新品 推广 | 3,345.60 | 0 | — | — |" in markdown
    assert "acme.en.campaign.pdf" in markdown


def test_a_long_list_of_findings_is_cut_and_says_where_the_rest_is(place):
    many = [{**FINDINGS[0], "day": dt.date(2026, 10, 1) + dt.timedelta(days=i)} for i in range(45)]
    markdown = review_markdown(_review("summary", many, [], place.root), place)
    assert sum(line.startswith("- **warning** 2026-") for line in markdown.splitlines()) == 30
    assert "… and 15 more in the report." in markdown


def test_without_findings_the_artifact_says_so_in_one_line(place):
    markdown = review_markdown(_review("summary", [], [], place.root), place)
    assert "open findings: 0 (0 critical)" in markdown and "## Open findings" not in markdown


def _standup_row(slug: str) -> dict:
    return {"slug": slug, "tier": "regular", "am": {"name": "Li Wei"}, "kpis": {"spend": 1234.5, "conversions": 7.0},
            "currency": "CNY", "findings_open": 1, "incidents": [], "sla_breached": [], "days_since_contact": None,
            "update_due": slug == "acme"}


def test_the_standup_artifact_adds_up_every_chunk():
    chunks = [{"rows": [_standup_row("zeta"), _standup_row("acme")], "updates": 3, "new_messages": 1},
              {"rows": [_standup_row("bramble")], "updates": 2, "new_messages": 2}]
    assert standup_counts(chunks) == {"clients": 3, "updates": 5, "new_updates": 3}
    assert standup_counts([]) == {"clients": 0, "updates": 0, "new_updates": 0}
    markdown = standup_markdown(dt.date(2026, 11, 26), chunks, {"summaries": 2, "new": 1})
    assert "- clients: **3**; client updates composed: 5; AM summaries: 2 (1 new in the outbox)" in markdown
    lines = [line for line in markdown.splitlines() if line.startswith("| ") and "Li Wei" in line]
    assert [line.split(" | ")[0] for line in lines] == ["| acme", "| bramble", "| zeta"]
    assert lines[0].endswith("| never | yes |") and "1,234.50 CNY" in lines[0]
