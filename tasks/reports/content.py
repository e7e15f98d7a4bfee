"""What each report says, as plain-value contexts built from frames: recap, strategy pack, review, stand-up."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from models.enums import NoteKind
from tasks import i18n, rules
from tasks.messaging.compose import cpa_verdict
from tasks.reports import charts
from tasks.reports.benchmarks import benchmark
from tasks.reports.kpis import (
    KIND_OF,
    cheapest_to_scale,
    comparable,
    comparison_rows,
    conclusion,
    daily,
    grouped,
    headline,
    highlights,
    period_budget,
    plan_points,
    seasonal_context,
    totals,
    upcoming,
)
from tasks.reports.periods import (
    DocumentPeriods,
    Period,
    months_of,
    pack_periods,
    recap_periods,
    review_periods,
    window_periods,
    year_before,
)

TOP_CAMPAIGNS = 15
TOP_CAMPAIGNS_COMPACT = 6
KEY_DATE_HORIZON = dt.timedelta(days=14)
STANDUP_KPIS = ("spend", "conversions", "cpa")


def _notes(notes: list[dict[str, Any]], period: Period, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """The notes of these kinds in `period`, each distinct note once (the same work logged twice is said once)."""
    seen, out = set(), []
    for n in notes:
        key = (n["kind"], n["action"], n.get("reason"))
        if n["kind"] in kinds and period.first <= n["day"] <= period.last and key not in seen:
            seen.add(key)
            out.append(n)
    return out


def _document(period: Period | DocumentPeriods, kind: str) -> DocumentPeriods:
    """The document's periods as its flow computed them; a bare period (tests, tools) gets its kind's defaults."""
    if isinstance(period, DocumentPeriods):
        return period
    return recap_periods(period) if kind == "recap" else pack_periods(period)


def recap_window(period: Period | DocumentPeriods) -> tuple[dt.date, dt.date]:
    """The days a recap reads: this month, last month, and both of those a year earlier."""
    doc = _document(period, "recap")
    return doc.first, doc.current.last


def _lead(head: list[dict[str, Any]], band: Mapping[str, Any] | None) -> dict[str, Any] | None:
    facts = conclusion(head, band)
    return facts[0] if facts else None


def recap_context(client: Mapping[str, Any], metrics: pd.DataFrame, campaigns: pd.DataFrame,
                  notes: list[dict[str, Any]], key_dates: list[dict[str, Any]],
                  period: Period | DocumentPeriods) -> dict[str, Any]:
    """The monthly light recap: conclusion and three numbers first, then MoM/YoY, initiatives, work and plan."""
    doc = _document(period, "recap")
    period, previous, last_year, following = doc.current, doc.previous, doc.year_before, doc.next
    now = totals(metrics, period)
    prev_k, ly_k = totals(metrics, previous), totals(metrics, last_year)
    ly_prev_k = totals(metrics, doc.year_before_previous)
    band = client["cpa_band"]
    initiatives = grouped(metrics, campaigns, period, "initiative")
    by_campaign = grouped(metrics, campaigns, period, "name")
    head = headline(now, prev_k, band, period_budget(client["monthly_budget"], period))
    stand_out = highlights(by_campaign, band)
    dates = upcoming(key_dates, following.first, following.last, doc.today)
    per_day = daily(metrics, period)
    rows = comparison_rows(now, prev_k, ly_k)
    return {
        "kind": "recap", "client": _public(client), "period": _period(period),
        "previous_period": _period(previous), "last_year_period": _period(last_year),
        "next_period": _period(following), "kpis": now, "verdict": cpa_verdict(now, band), "cpa_band": band,
        "headline": head, "lead": _lead(head, band), "client_am": client["am"]["name"], "rows": rows,
        "show_previous": any(r["previous"] is not None for r in rows),
        "show_last_year": any(r["last_year"] is not None for r in rows),
        "previous_complete": prev_k["complete"], "last_year_complete": ly_k["complete"],
        "seasonal": seasonal_context(now, prev_k, ly_k, ly_prev_k),
        "initiatives": initiatives, "campaigns": by_campaign[:TOP_CAMPAIGNS],
        "campaigns_compact": by_campaign[:TOP_CAMPAIGNS_COMPACT], "campaign_count": len(by_campaign),
        "highlights": stand_out, "done": _notes(notes, period, (NoteKind.OPTIMISATION.value,)),
        "plan": plan_points(now, initiatives, stand_out, band, head[0]["budget_use"], dates),
        "trend": {"labels": [str(d.day) for d in per_day["day"]], "spend": per_day["spend"].round(2).tolist(),
                  "conversions": per_day["conversions"].round(2).tolist()},
    }


def pack_window(period: Period | DocumentPeriods) -> tuple[dt.date, dt.date]:
    """The days a strategy pack reads: this quarter, the one before, and the same quarter a year earlier."""
    doc = _document(period, "strategy_pack")
    return doc.first, doc.current.last


def pack_context(client: Mapping[str, Any], metrics: pd.DataFrame, campaigns: pd.DataFrame,
                 notes: list[dict[str, Any]], key_dates: list[dict[str, Any]], period: Period | DocumentPeriods,
                 peers: pd.DataFrame) -> dict[str, Any]:
    """The quarterly strategy pack: trends, QoQ/YoY, anonymised benchmarks, notes, opportunities, risks, plan."""
    doc = _document(period, "strategy_pack")
    period, previous, last_year, following = doc.current, doc.previous, doc.year_before, doc.next
    now, prev_k, ly_k = totals(metrics, period), totals(metrics, previous), totals(metrics, last_year)
    band = client["cpa_band"]
    initiatives = grouped(metrics, campaigns, period, "initiative")
    by_campaign = grouped(metrics, campaigns, period, "name")
    head = headline(now, prev_k, band, period_budget(client["monthly_budget"], period))
    stand_out = highlights(by_campaign, band)
    risks = upcoming(key_dates, following.first, following.last, doc.today)
    bench = benchmark(peers, client["id"], client["industry"], client["market"])
    monthly = []
    for m in months_of(period):
        k = totals(metrics, m)
        ly = comparable(totals(metrics, year_before(m)))
        monthly.append({"label": m.label, "first": m.first, "spend": k["spend"], "conversions": k["conversions"],
                        "cpa": k["cpa"], "cpa_last_year": ly["cpa"] if ly else None})
    per_week = daily(metrics, period).set_index("day")[["spend", "conversions"]].resample("W-MON", label="left",
                                                                                           closed="left").sum()
    rows = comparison_rows(now, prev_k, ly_k)
    return {
        "kind": "strategy_pack", "client": _public(client), "period": _period(period),
        "previous_period": _period(previous), "last_year_period": _period(last_year), "next_period": _period(following),
        "kpis": now, "verdict": cpa_verdict(now, band), "cpa_band": band, "headline": head,
        "lead": _lead(head, band), "client_am": client["am"]["name"], "kinds": KIND_OF,
        "last_year_complete": ly_k["complete"], "rows": rows,
        "show_previous": any(r["previous"] is not None for r in rows),
        "show_last_year": any(r["last_year"] is not None for r in rows),
        "show_monthly_last_year": any(m["cpa_last_year"] is not None for m in monthly),
        "monthly": monthly, "initiatives": initiatives,
        "campaigns": by_campaign[:TOP_CAMPAIGNS], "campaigns_compact": by_campaign[:TOP_CAMPAIGNS_COMPACT],
        "campaign_count": len(by_campaign),
        "benchmark": bench, "market_notes": _notes(notes, period, (NoteKind.MARKET.value, NoteKind.COMPETITOR.value)),
        "done": _notes(notes, period, (NoteKind.OPTIMISATION.value,)),
        "opportunities": opportunities(bench, initiatives, risks), "risks": risks,
        "plan": plan_points(now, initiatives, stand_out, band, head[0]["budget_use"], risks),
        "trend": {"labels": [d.strftime("%m-%d") for d in per_week.index],
                  "spend": per_week["spend"].round(2).tolist(),
                  "conversions": per_week["conversions"].round(2).tolist(),
                  "partial": partial_weeks(per_week.index, period)},
    }


def partial_weeks(starts: pd.Index, period: Period) -> list[bool]:
    """For each week (by its Monday), whether the period cuts it: fewer than 7 of its days inside."""
    return [d.date() < period.first or d.date() + dt.timedelta(days=6) > period.last for d in starts]


def opportunities(bench: Mapping[str, Any], initiatives: list[dict[str, Any]],
                  risks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Opportunity points: strengths to scale, weaknesses peers show can be fixed, peaks to prepare for."""
    points = []
    for row in bench["rows"]:
        if row["percentile"] >= 75:
            points.append({"code": "strength", "key": row["key"], "percentile": row["percentile"]})
        elif row["percentile"] <= 25:
            points.append({"code": "gap", "key": row["key"], "percentile": row["percentile"], "median": row["median"]})
    best = cheapest_to_scale(initiatives)
    if best is not None and best["share"] < 0.5:
        points.append({"code": "shift_budget", "name": best["name"], "share": best["share"]})
    peaks = [r for r in risks if r["kind"] == "market_peak"]
    if peaks:
        points.append({"code": "peak", "title": peaks[0]["title"], "on": peaks[0]["on"],
                       "prepare_by": peaks[0]["prepare_by"]})
    return points


def review_context(client: Mapping[str, Any], metrics: pd.DataFrame, campaigns: pd.DataFrame,
                   notes: list[dict[str, Any]], findings: list[dict[str, Any]], incidents: list[dict[str, Any]],
                   requests: list[dict[str, Any]], key_dates: list[dict[str, Any]], last_contact: dt.datetime | None,
                   period: Period | DocumentPeriods, detail: str, as_of: dt.date, now: dt.datetime) -> dict[str, Any]:
    """The manager's dossier: KPIs with context, pacing, findings, incidents, SLA, contacts, notes."""
    doc = period if isinstance(period, DocumentPeriods) else review_periods(period, as_of)
    period, previous = doc.current, doc.previous
    k, prev_k = totals(metrics, period), totals(metrics, previous)
    band = client["cpa_band"]
    month = window_periods(as_of.replace(day=1), as_of - dt.timedelta(days=1)).current if as_of.day > 1 else None
    pacing = None
    if month is not None and client["monthly_budget"]:
        spent = totals(metrics, month)["spend"]
        days_in_month = calendar.monthrange(as_of.year, as_of.month)[1]
        projected = spent / month.days * days_in_month
        pacing = {"spent": spent, "budget": client["monthly_budget"], "projected": projected,
                  "projected_use": projected / client["monthly_budget"], "days": month.days}
    by_campaign = grouped(metrics, campaigns, period, "name")
    return {
        "kind": "review", "client": _public(client), "period": _period(period), "previous_period": _period(previous),
        "partial": doc.partial,
        "detail": detail, "kpis": k, "verdict": cpa_verdict(k, band), "cpa_band": band,
        "rows": comparison_rows(k, prev_k, None), "pacing": pacing,
        "initiatives": grouped(metrics, campaigns, period, "initiative"),
        "campaigns": by_campaign if detail == "campaign" else [], "findings": findings, "incidents": incidents,
        "requests": requests, "key_dates": upcoming(key_dates, as_of, as_of + KEY_DATE_HORIZON, as_of),
        "last_contact": last_contact, **write_first(client, last_contact, now),
        "notes": _notes(notes, period, tuple(n.value for n in NoteKind)), "am": client["am"], "tier": client["tier"],
    }


def write_first(client: Mapping[str, Any], last_contact: dt.datetime | None, now: dt.datetime) -> dict[str, Any]:
    """The service watch's write-first verdict for a report: working days since we last wrote (None: never), the
    client's allowance, and whether it is time to write first."""
    allowed = rules.write_first_days(client["tier"], client["settings"])
    silent = rules.silent_days(last_contact, now, client["time_zone"], client["market"], client["cooperation_start"])
    return {"days_since_contact": silent if last_contact else None, "write_first_days": allowed,
            "not_contacted": rules.write_first_due(silent, allowed)}


def standup_row(client: Mapping[str, Any], metrics: pd.DataFrame, periods: DocumentPeriods,
                notes: list[dict[str, Any]], findings: list[dict[str, Any]], incidents: list[dict[str, Any]],
                requests: list[dict[str, Any]], key_dates: list[dict[str, Any]],
                last_contact: dt.datetime | None, as_of: dt.date, now: dt.datetime) -> dict[str, Any]:
    """One client's line in the internal stand-up summary: KPIs since last time against the same weekdays before."""
    window = periods.current
    k, prev_k = totals(metrics, window), totals(metrics, periods.previous)
    since = dt.datetime.combine(window.first, dt.time(), dt.UTC)
    return {
        "slug": client["slug"], "name": client["name"], "tier": client["tier"], "currency": client["currency"],
        "am": client["am"], "kpis": k,
        "rows": [r for r in comparison_rows(k, prev_k, None) if r["key"] in STANDUP_KPIS],
        "verdict": cpa_verdict(k, client["cpa_band"]), "cpa_band": client["cpa_band"],
        "findings_open": len(findings),
        "findings_new": [f for f in findings if f["first_seen_at"] and f["first_seen_at"] >= since],
        "critical": sum(f["severity"] == "critical" for f in findings), "incidents": incidents,
        "sla_breached": [r for r in requests if r["state"] == "breached"],
        "sla_near": [r for r in requests if r["state"] == "near"],
        **write_first(client, last_contact, now),
        "key_dates": upcoming(key_dates, as_of, as_of + KEY_DATE_HORIZON, as_of),
        "notes": _notes(notes, window, (NoteKind.OPTIMISATION.value,)),
    }


def _public(client: Mapping[str, Any]) -> dict[str, Any]:
    return {k: client[k] for k in ("id", "slug", "name", "industry", "market", "currency", "tier", "monthly_budget",
                                   "target_roas")}


def _period(period: Period) -> dict[str, Any]:
    return {"label": period.label, "first": period.first, "last": period.last}


def draw_charts(spec: str, language: str, context: Mapping[str, Any]) -> dict[str, str]:
    """The charts a report kind shows, titled and labelled with units in its language, as <img> data URIs."""
    with i18n.use(language):
        _ = i18n.gettext_
        locale = i18n.locale_for(language)
        colour = context.get("brand", {}).get("colour", charts.SPEND)
        currency = context["client"]["currency"]

        def with_unit(name: str, kind: str) -> str:
            symbol = charts.unit(kind, currency, locale)
            return _("%(label)s (%(unit)s)") % {"label": name, "unit": symbol} if symbol else name

        spend = with_unit(_("Spend"), "money")
        conversions = _("Conversions")
        out: dict[str, str] = {}
        trend = context["trend"]
        if context["kpis"]["has_data"]:
            weekly = spec == "strategy_pack"
            title = _("Weekly spend and conversions") if weekly else _("Daily spend and conversions")
            note = _("Pale hatched bars: incomplete weeks at the start or end of the quarter (fewer than 7 days).")
            out["trend"] = charts.data_uri(charts.trend(
                trend["labels"], trend["spend"], trend["conversions"], spend, conversions, title=title,
                locale=locale, partial=trend.get("partial", ()), partial_note=note, colour=colour))
        if len(context.get("initiatives", [])) > 1:
            names = [i["name"] for i in context["initiatives"]]
            out["initiatives"] = charts.data_uri(charts.shares(
                names, [i["spend"] for i in context["initiatives"]], spend, title=_("Spend by initiative"),
                locale=locale, colour=colour))
        rows = context.get("benchmark", {}).get("rows", [])
        if spec == "strategy_pack" and rows:
            out["benchmark"] = charts.data_uri(charts.position(
                [with_unit(_(i18n.KPI_LABELS[r["key"]]), r["kind"]) for r in rows], [r["kind"] for r in rows],
                [r["p25"] for r in rows], [r["p75"] for r in rows], [r["value"] for r in rows],
                [r["median"] for r in rows], _("Peers, middle half"), _("You"), title=_("How you compare"),
                locale=locale))
    return out


def names(context: Mapping[str, Any], language: str) -> dict[str, str]:
    """Title, footer and period names in the report's language (month names, quarters as the locale writes them)."""
    from babel.dates import format_date, format_skeleton

    kind, client = context["kind"], context["client"]
    with i18n.use(language):
        locale = i18n.locale_for(language)

        def named(period: Mapping[str, Any], skeleton: str) -> str:
            if skeleton == "LLLL":
                return format_date(period["first"], "LLLL", locale=locale)
            return format_skeleton(skeleton, period["first"], locale=locale)

        footer = client["name"]  # the client's own name: slugs and internal labels stay inside the agency
        if kind == "recap":
            out = {"period_name": named(context["period"], "yMMMM"),
                   "previous_name": named(context["previous_period"], "yMMMM"),
                   "last_year_name": named(context["last_year_period"], "yMMMM"),
                   "month_only": named(context["period"], "LLLL"),
                   "previous_month_only": named(context["previous_period"], "LLLL")}
            out["title"] = i18n.gettext_("Monthly recap: %(client)s, %(month)s") % {
                "client": client["name"], "month": out["period_name"]}
        elif kind == "strategy_pack":
            out = {"period_name": named(context["period"], "yQQQ"),
                   "previous_name": named(context["previous_period"], "yQQQ"),
                   "last_year_name": named(context["last_year_period"], "yQQQ")}
            out["title"] = i18n.gettext_("Quarterly strategy pack: %(client)s, %(quarter)s") % {
                "client": client["name"], "quarter": out["period_name"]}
        else:
            out = {"title": f"Client review: {client['name']}, {context['period']['label']}"}
    if "period_name" in out:
        footer = f"{footer} · {out['period_name']}"
    return {**out, "footer": footer}
