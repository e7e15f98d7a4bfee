"""What Cadence writes to its own staff, in the reader's language: finding headlines, counts with plural forms."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from tasks import i18n
from tasks.i18n import N_, gettext_, ngettext_

SEVERITY_LABELS = {"critical": N_("critical"), "warning": N_("warning"), "info": N_("info")}
METRIC_LABELS = {"spend": N_("Spend"), "impressions": N_("Impressions"), "clicks": N_("Clicks"),
                 "conversions": N_("Conversions"), "ctr": N_("CTR"), "cvr": N_("Conversion rate")}
RATE_METRICS = ("ctr", "cvr")  # shares (0.031), shown as percentages
TIER_LABELS = {"strategic": N_("strategic"), "potential": N_("potential"), "regular": N_("regular")}
STAGE_LABELS = {"confirm": N_("confirm the request"), "plan": N_("send the first plan"),
                "deliver": N_("deliver the staged result")}


INCIDENT_STAGES = {"opened": N_("opened"), "facts": N_("facts"), "solution": N_("solution"),
                   "prevention": N_("prevention"), "closed": N_("closed")}


def stage(value: str) -> str:
    """A request stage (confirm, plan, deliver) as what is owed, in the language in use."""
    return gettext_(STAGE_LABELS[value]) if value in STAGE_LABELS else value


def incident_stage(value: str) -> str:
    return gettext_(INCIDENT_STAGES[value]) if value in INCIDENT_STAGES else value


def when(at: dt.datetime, zone: str) -> str:
    """A moment in the reader's zone and locale, with the zone's abbreviation: 25.11.2026, 15:00 MSK."""
    local = at.astimezone(ZoneInfo(zone))
    return f"{i18n.datetime(at, zone, 'short')} {local.tzname() or zone}"


def severity(value: str) -> str:
    return gettext_(SEVERITY_LABELS.get(value, value))


def tier(value: str) -> str:
    return gettext_(TIER_LABELS.get(value, value))


def significant(value: float, digits: int = 2) -> int:
    """Decimal places that show `value` to `digits` significant digits (12.3 → 0, 2.43 → 1, 0.035 → 3)."""
    if not value or not math.isfinite(value):
        return 0
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def times(ratio: float) -> str:
    """A multiple to two significant digits: 12, 2.4, 1.5 (never "0.0")."""
    return i18n.number(ratio, significant(ratio))


def share(ratio: float) -> str:
    """A share of the usual as a percentage to two significant digits: 3.5%, 35%, 0.42%."""
    return i18n.percent(ratio, significant(ratio * 100))


def _day(value: Any) -> str:
    try:
        return i18n.date(dt.date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _money(evidence: Mapping[str, Any], key: str) -> str:
    return i18n.money(evidence.get(key), evidence.get("currency") or "")


SWC_ACTIONS = {"pause": N_("; pause it"), "narrow_targeting": N_("; narrow the targeting"),
               "keep_watching": N_("; keep watching until it spends another %(remaining)s")}


def _spend_without_conversions(ev: Mapping[str, Any]) -> str:
    text = gettext_("Spent %(spend)s with no conversion; the CPA limit is %(limit)s") % {
        "spend": _money(ev, "spend_today"), "limit": _money(ev, "target_cpa")}
    phrase = SWC_ACTIONS.get(ev.get("action") or "")
    if phrase:
        text += gettext_(phrase) % {"remaining": _money(ev, "remaining_before_limit")}
    return text


def _cpa_above_band(ev: Mapping[str, Any]) -> str:
    band = ev.get("cpa_band") or [None, None]
    return ngettext_("CPA %(cpa)s over the last %(num)s day, %(pct)s above the maximum of %(max)s",
                     "CPA %(cpa)s over the last %(num)s days, %(pct)s above the maximum of %(max)s",
                     int(ev.get("window_days") or 0)) % {
        "cpa": _money(ev, "cpa"), "num": int(ev.get("window_days") or 0),
        "pct": i18n.percent((ev.get("pct_above_max") or 0) / 100, 0),
        "max": i18n.money(band[1], ev.get("currency") or "")}


def _underdelivery_low_bid(ev: Mapping[str, Any]) -> str:
    days = int(ev.get("days") or 0)
    return ngettext_("Spent at most %(share)s of its %(budget)s daily budget on the last %(num)s day; raise the bid",
                     "Spent at most %(share)s of its %(budget)s daily budget on each of the last %(num)s days;"
                     " raise the bid", days) % {
        "share": share(ev.get("max_share_of_budget") or 0), "budget": _money(ev, "daily_budget"), "num": days}


def _launch_guard(ev: Mapping[str, Any]) -> str:
    problems = ev.get("problems") or []
    missing = [gettext_(N_("no geo targeting")) if p == "no_geo_targeting" else gettext_(N_("no conversion goal"))
               for p in problems]
    text = gettext_("New or edited campaign: %(missing)s") % {"missing": gettext_(N_(", ")).join(missing)}
    if ev.get("spend_today"):
        text += gettext_("; it already spent %(spend)s") % {"spend": _money(ev, "spend_today")}
    return text


def _budget_pacing(ev: Mapping[str, Any]) -> str:
    values = {"pct": i18n.percent((ev.get("projected_pct") or 0) / 100, 0), "budget": _money(ev, "monthly_budget"),
              "rate": _money(ev, "daily_rate")}
    if ev.get("direction") == "overspend":
        return gettext_("Overspending: at %(rate)s a day the month ends at %(pct)s of the %(budget)s budget") % values
    return gettext_("Underspending: at %(rate)s a day the month ends at %(pct)s of the %(budget)s budget") % values


def _anomaly(ev: Mapping[str, Any]) -> str:
    parts = []
    for m in ev.get("metrics") or []:
        metric = m.get("metric", "")
        label = gettext_(METRIC_LABELS[metric]) if metric in METRIC_LABELS else metric
        if metric == "spend":
            now = i18n.money(m.get("today"), ev.get("currency") or "")
            usual = i18n.money(m.get("baseline"), ev.get("currency") or "")
        elif metric in RATE_METRICS:
            now, usual = i18n.percent(m.get("today"), 2), i18n.percent(m.get("baseline"), 2)
        else:
            now, usual = (i18n.number(v, 0 if v is None or v >= 100 or float(v).is_integer() else 1)
                          for v in (m.get("today"), m.get("baseline")))
        ratio = float(m.get("ratio") or 0)
        if m.get("direction") == "spike" or ratio >= 1:
            text = gettext_("%(metric)s %(times)s× the usual for this weekday (%(today)s against %(usual)s)")
            parts.append(text % {"metric": label, "times": times(ratio), "today": now, "usual": usual})
        else:
            text = gettext_("%(metric)s at %(share)s of the usual for this weekday (%(today)s against %(usual)s)")
            parts.append(text % {"metric": label, "share": share(ratio), "today": now, "usual": usual})
    return gettext_(N_("; ")).join(parts) or gettext_("Unusual volume against the same weekday")


def _tracking_broken(ev: Mapping[str, Any]) -> str:
    days = int(ev.get("days") or 0)
    return ngettext_("No conversion across the account for %(num)s day while clicks held (usual conversions a day:"
                     " %(usual)s)",
                     "No conversion across the account for %(num)s days while clicks held (usual conversions a day:"
                     " %(usual)s)",
                     days) % {"num": days, "usual": i18n.number(ev.get("baseline_conversions_per_day"), 1)} \
        + gettext_("; check the conversion tag and tell the client")


def _churn_signal(ev: Mapping[str, Any]) -> str:
    if ev.get("paused_by_client_day"):
        return gettext_("The client paused the account on %(day)s: call them today") % {
            "day": _day(ev["paused_by_client_day"])}
    return gettext_("Account spend fell to %(recent)s a day from %(usual)s: call the client today") % {
        "recent": _money(ev, "recent_daily_spend"), "usual": _money(ev, "baseline_daily_spend")}


def _data_quality_issue(issue: Mapping[str, Any]) -> str:
    kind = issue.get("issue")
    if kind == "no_kpi_band":
        return gettext_("No CPA band agreed with the client")
    if kind == "mixed_currencies":
        return gettext_("Accounts spend in several currencies (%(currencies)s): pacing skipped") % {
            "currencies": gettext_(N_(", ")).join(issue.get("currencies") or [])}
    if kind == "no_metrics":
        n = int(issue.get("window_days") or 0)
        return ngettext_("No metrics arrived for %(num)s day", "No metrics arrived for %(num)s days", n) % {"num": n}
    if kind == "metrics_without_campaign":
        return gettext_("Metrics without campaign settings: re-sync the campaigns")
    if kind == "export_incomplete":
        n = int(issue.get("day_count") or 0)
        return ngettext_("Export incomplete on %(num)s day: re-import it", "Export incomplete on %(num)s days:"
                         " re-import them", n) % {"num": n}
    if kind == "suspicious_values":
        return gettext_("Impossible values in the metrics: re-import those days")
    return str(kind)


def _data_quality(ev: Mapping[str, Any]) -> str:
    return gettext_(N_("; ")).join(_data_quality_issue(i) for i in ev.get("issues") or [ev])


def _usual(ev: Mapping[str, Any]) -> str:
    if not ev.get("baseline_daily_spend"):
        return ""
    return gettext_("; usually %(usual)s a day") % {"usual": _money(ev, "baseline_daily_spend")}


def _data_not_arrived(ev: Mapping[str, Any]) -> str:
    days = int(ev.get("days_missing") or 0)
    text = ngettext_("No data since %(day)s (%(num)s day missing)", "No data since %(day)s (%(num)s days missing)",
                     days) % {"day": _day(ev.get("last_day_with_data")), "num": days}
    if ev.get("sync_problem"):
        return text + _usual(ev) + gettext_("; the platform login expired: reconnect it")
    return text + _usual(ev) + gettext_("; check the import and the platform connection")


def _stopped_delivering(ev: Mapping[str, Any]) -> str:
    days, last = int(ev.get("days_stopped") or 0), _day(ev.get("last_day_with_delivery"))
    if ev.get("campaigns_stopped"):  # the whole account went dark
        n = int(ev["campaigns_stopped"])
        return ngettext_("The whole account stopped delivering: %(num)s campaign has had nothing since %(day)s",
                         "The whole account stopped delivering: %(num)s campaigns have had nothing since %(day)s",
                         n) % {"num": n, "day": last} + _usual(ev) \
            + gettext_("; check billing, a suspension and the spending limit today")
    values = {"num": days, "day": last, "delivered": ev.get("days_delivered"), "recent": ev.get("recent_days")}
    if ev.get("status") == "paused":
        return gettext_("Paused: nothing since %(day)s after delivering on %(delivered)s of %(recent)s days;"
                        " check that the pause was meant") % values
    return ngettext_("Stopped delivering: nothing for %(num)s day since %(day)s, after delivering on %(delivered)s"
                     " of %(recent)s days", "Stopped delivering: nothing for %(num)s days since %(day)s, after"
                     " delivering on %(delivered)s of %(recent)s days", days) % values + _usual(ev) \
        + gettext_("; find out why and restart it")


HEADLINES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "spend_without_conversions": _spend_without_conversions,
    "cpa_above_band": _cpa_above_band,
    "underdelivery_low_bid": _underdelivery_low_bid,
    "launch_guard": _launch_guard,
    "budget_pacing": _budget_pacing,
    "anomaly": _anomaly,
    "tracking_broken": _tracking_broken,
    "churn_signal": _churn_signal,
    "data_quality": _data_quality,
    "data_not_arrived": _data_not_arrived,
    "stopped_delivering": _stopped_delivering,
}


def headline(detector: str, evidence: Mapping[str, Any] | None) -> str:
    """One short line for a finding, in the language in use, with its key numbers; "touches N campaigns" if folded."""
    ev = evidence or {}
    make = HEADLINES.get(detector)
    try:
        text = make(ev) if make else detector.replace("_", " ")
    except (KeyError, TypeError, ValueError):  # evidence of an older shape: the detector's name still says what
        text = detector.replace("_", " ")
    materiality = ev.get("materiality")
    if isinstance(materiality, Mapping) and materiality.get("material") is False:
        values = {"at_risk": i18n.money(materiality.get("at_risk"), ev.get("currency") or ""),
                  "share": share(materiality["share"]) if materiality.get("share") is not None else ""}
        text += (gettext_("; not a crisis: %(at_risk)s at risk, %(share)s of a usual day") if values["share"]
                 else gettext_("; not a crisis: %(at_risk)s at risk")) % values
    folded = ev.get("folded")
    if isinstance(folded, Mapping):
        campaigns = folded.get("campaigns")
        n = int(folded.get("count") or (len(campaigns) if isinstance(campaigns, list | tuple) else 0))
        if n:
            text += ngettext_("; touches %(num)s campaign", "; touches %(num)s campaigns", n) % {"num": n}
    return text


def digest_subject(day: str, findings: int, critical: int) -> str:
    subject = ngettext_("Sweep %(day)s: %(num)s open finding", "Sweep %(day)s: %(num)s open findings",
                        findings) % {"day": day, "num": findings}
    if critical:
        subject += ngettext_(", %(num)s critical", ", %(num)s critical", critical) % {"num": critical}
    return subject
