"""What the report runs say about themselves, pure: the artifacts' markdown, with links to the rendered reports.
No Prefect, no database, no settings: the steps in tasks/reports/edges.py hand in where reports are served."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tasks import rules
from tasks.render import markdown_cell, markdown_line
from tasks.reports.output import ReportPlace, safe_name
from tasks.reports.periods import standup_windows


def report_markdown(heading: str, results: list[dict[str, Any]], place: ReportPlace) -> str:
    reports = [r for result in results for r in result["reports"]]
    lines = [f"# {heading}", "",
             (f"- clients: **{sum(r['clients'] for r in results)}**; reports rendered: **{len(reports)}**;"
              f" new messages in the outbox: {sum(r['new_messages'] for r in results)}"), "",
             "| client | language | detail | pages | report |", "|---|---|---|---|---|"]
    for r in sorted(reports, key=lambda r: (r["client"], r["language"], r.get("detail", "summary"))):
        lines.append(f"| {r['client']} | {r['language']} | {r.get('detail', 'summary')} |"
                     f" {r['pages'] if r['pages'] is not None else '—'}"
                     f"{' (compact)' if r['compact'] else ''} | {_links(r, place)} |")
    return "\n".join(lines) + "\n"


def standup_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every client's stand-up line from the stand-up chunks' results, in chunk order."""
    return [row for result in results for row in result["rows"]]


def standup_counts(results: list[dict[str, Any]]) -> dict[str, int]:
    """The stand-up chunks' counts added up: clients, client updates composed, and of those new in the outbox."""
    return {"clients": sum(len(r["rows"]) for r in results), "updates": sum(r["updates"] for r in results),
            "new_updates": sum(r["new_messages"] for r in results)}


def standup_markdown(as_of: dt.date, results: list[dict[str, Any]], summaries: dict[str, int]) -> str:
    window, _ = standup_windows(as_of)
    rows, counts = standup_rows(results), standup_counts(results)
    lines = [f"# Stand-up {as_of.isoformat()} ({window.label})", "",
             (f"- clients: **{counts['clients']}**; client updates composed: {counts['updates']}; AM summaries:"
              f" {summaries['summaries']} ({summaries['new']} new in the outbox)"), "",
             ("| client | tier | AM | spend | conversions | open findings | incidents | SLA breached | days silent |"
              " update |"), "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["slug"]):
        lines.append(f"| {r['slug']} | {r['tier']} | {r['am']['name']} | {r['kpis']['spend']:,.2f} {r['currency']} |"
                     f" {r['kpis']['conversions']:,.0f} | {r['findings_open']} | {len(r['incidents'])} |"
                     f" {len(r['sla_breached'])} |"
                     f" {r['days_since_contact'] if r['days_since_contact'] is not None else 'never'} |"
                     f" {'yes' if r['update_due'] else 'no'} |")
    return "\n".join(lines) + "\n"


ARTIFACT_FINDINGS = 30


def review_markdown(result: dict[str, Any], place: ReportPlace) -> str:
    """The review artifact: the dossier's headline facts, its findings and, at campaign detail, its campaigns."""
    ctx, client = result["context"], result["client"]
    k, currency = ctx["kpis"], client["currency"]
    cpa = f"{k['cpa']:,.2f}" if k["cpa"] is not None else "—"
    findings = sorted(ctx["findings"], key=lambda f: (rules.SEVERITY_RANK[f["severity"]], -f["day"].toordinal()))
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
              f" working days ago (limit {ctx['write_first_days']})")]
    if ctx["pacing"]:
        p = ctx["pacing"]
        lines.append(f"- pacing: {p['spent']:,.2f} of {p['budget']:,.2f} month to date, projected"
                     f" {p['projected_use']:.0%} of the budget")
    lines += ["", "Report: " + _links(result, place)]
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


def _links(result: dict[str, Any], place: ReportPlace) -> str:
    """Markdown links to a report's PDF and HTML, or their paths where no server can serve them."""
    parts = []
    for label, path in (("PDF", result.get("pdf")), ("HTML", result.get("html"))):
        if path:
            url = place.link(path)
            parts.append(f"[{label}]({url})" if url else f"{label} `{path}`")
    return " · ".join(parts) or "—"


def content_key(slug: str) -> str:
    """An artifact key from a slug: lowercase letters, digits and dashes only."""
    return safe_name(slug, "client")
