"""Internal mail in the reader's language: finding headlines with their numbers, plural forms, sensible ratios."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks import i18n, internal_mail


def plain(text: str) -> str:
    """Babel's no-break spaces (in Russian dates and thousands) as plain ones, to compare with a readable literal."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(("ratio", "times", "share"), [
    (24.0, "24", "2,400%"), (2.43, "2.4", "243%"), (1.5, "1.5", "150%"), (0.35, "0.35", "35%"),
    (0.035, "0.035", "3.5%"), (0.0042, "0.0042", "0.42%"),
])
def test_ratios_keep_two_significant_digits(ratio, times, share):
    with i18n.use("en"):
        assert internal_mail.times(ratio) == times
        assert plain(internal_mail.share(ratio)) == share


CASES = [
    # (language, n, expected) for "touches N campaigns": Russian has three forms, Chinese one.
    ("en", 1, "touches 1 campaign"), ("en", 3, "touches 3 campaigns"),
    ("ru", 1, "затрагивает 1 кампанию"), ("ru", 3, "затрагивает 3 кампании"), ("ru", 5, "затрагивает 5 кампаний"),
    ("ru", 21, "затрагивает 21 кампанию"), ("ru", 11, "затрагивает 11 кампаний"), ("zh", 1, "涉及1个广告系列"),
    ("zh", 12, "涉及12个广告系列"),
]


@pytest.mark.parametrize(("language", "n", "expected"), CASES)
def test_a_folded_finding_says_how_many_campaigns_it_touches(language, n, expected):
    evidence = {"days": 3, "baseline_conversions_per_day": 4.2,
                "folded": {"count": n, "campaigns": list(range(n)), "detectors": ["spend_without_conversions"]}}
    with i18n.use(language):
        assert internal_mail.headline("tracking_broken", evidence).endswith(expected)


@pytest.mark.parametrize(("language", "findings", "critical", "expected"), [
    ("en", 1, 1, "Sweep Nov 24, 2026: 1 open finding, 1 critical"),
    ("en", 2, 0, "Sweep Nov 24, 2026: 2 open findings"),
    ("ru", 1, 0, "Проверка за 24 нояб. 2026 г.: 1 открытое замечание"),
    ("ru", 3, 2, "Проверка за 24 нояб. 2026 г.: 3 открытых замечания, 2 критичных"),
    ("ru", 5, 1, "Проверка за 24 нояб. 2026 г.: 5 открытых замечаний, 1 критичное"),
    ("zh", 5, 1, "2026年11月24日巡检：5个待处理问题，其中1个严重"),
])
def test_digest_subjects_use_the_languages_plural_forms(language, findings, critical, expected):
    import datetime as dt

    with i18n.use(language):
        assert plain(internal_mail.digest_subject(i18n.date(dt.date(2026, 11, 24)), findings, critical)) == expected


ANOMALY = {"weekday": "Friday", "currency": "EUR", "metrics": [
    {"metric": "impressions", "today": 24000, "baseline": 1000, "ratio": 24.0, "direction": "spike"},
    {"metric": "conversions", "today": 1, "baseline": 28.5, "ratio": 0.035, "direction": "drop"}]}


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Impressions 24× the usual for this weekday (24,000 against 1,000); Conversions at 3.5% of the usual for"
           " this weekday (1 against 28.5)"),
    ("ru", "Показы: ×24 к обычному для этого дня недели (24 000 против 1 000); Конверсии: 3,5% от обычного для этого"
           " дня недели (1 против 28,5)"),
    ("zh", "展示量为以往同一周几平均值的24倍（24,000，平均1,000）；转化数仅为以往同一周几平均值的3.5%（1，平均28.5）"),
])
def test_an_anomaly_headline_prints_ratios_readably(language, expected):
    with i18n.use(language):
        text = plain(internal_mail.headline("anomaly", ANOMALY))
    assert text == expected
    assert "0.0x" not in text and "0,0" not in text


RATE_DROP = {"weekday": "Friday", "currency": "USD", "metrics": [
    {"metric": "impressions", "today": 150000, "baseline": 10000, "ratio": 15.0, "direction": "spike"},
    {"metric": "ctr", "today": 0.0021, "baseline": 0.031, "ratio": 0.068, "direction": "drop"}]}


@pytest.mark.parametrize(("language", "rate"), [("en", "CTR at 6.8% of the usual for this weekday (0.21% against"
                                                       " 3.10%)"),
                                                ("ru", "CTR: 6,8% от обычного для этого дня недели (0,21% против"),
                                                ("zh", "点击率仅为以往同一周几平均值的6.8%（0.21%，平均3.10%）")])
def test_a_rate_in_an_anomaly_headline_is_named_and_shown_in_percent(language, rate):
    with i18n.use(language):
        text = plain(internal_mail.headline("anomaly", RATE_DROP))
    assert rate in text, text
    assert "ctr" not in text and "0.0 against" not in text


EVIDENCE = {
    "spend_without_conversions": {"spend_today": 412.5, "target_cpa": 80, "currency": "GBP", "action": "pause"},
    "cpa_above_band": {"window_days": 7, "cpa": 55.2, "pct_above_max": 38.0, "cpa_band": [20, 40], "currency": "EUR"},
    "underdelivery_low_bid": {"days": 5, "max_share_of_budget": 0.12, "daily_budget": 200, "currency": "EUR"},
    "launch_guard": {"problems": ["no_geo_targeting", "no_conversion_goal"], "spend_today": 33.1, "currency": "RUB"},
    "budget_pacing": {"direction": "overspend", "projected_pct": 131.0, "monthly_budget": 30000, "daily_rate": 1310,
                      "currency": "EUR"},
    "anomaly": ANOMALY,
    "tracking_broken": {"days": 3, "baseline_conversions_per_day": 4.2},
    "churn_signal": {"paused_by_client_day": "2026-11-22"},
    "data_quality": {"issues": [{"issue": "no_kpi_band"}, {"issue": "export_incomplete", "day_count": 2}]},
    "data_not_arrived": {"last_day_with_data": "2026-11-21", "days_missing": 2, "baseline_daily_spend": 410.0,
                         "currency": "EUR"},
    "stopped_delivering": {"last_day_with_delivery": "2026-11-21", "days_stopped": 3, "recent_days": 14,
                           "days_delivered": 13, "baseline_daily_spend": 95.5, "status": "active", "currency": "EUR"},
}


@pytest.mark.parametrize("language", ["zh", "ru"])
@pytest.mark.parametrize("detector", sorted(EVIDENCE))
def test_every_detector_has_a_translated_headline_with_its_numbers(detector, language):
    with i18n.use("en"):
        english = internal_mail.headline(detector, EVIDENCE[detector])
    with i18n.use(language):
        translated = internal_mail.headline(detector, EVIDENCE[detector])
    assert translated != english
    # No English word of three letters or more is left (currency codes and CPA are not words of the language).
    leftover = [w for w in __import__("re").findall(r"[A-Za-z]{3,}", translated)
                if w not in ("CPA", "RUB", "EUR", "USD")]
    assert leftover == [], translated
    assert any(ch.isdigit() for ch in translated)


def test_a_headline_from_evidence_of_another_shape_falls_back_to_the_detectors_name():
    with i18n.use("ru"):
        assert internal_mail.headline("anomaly", {"metrics": [{"metric": "spend"}]}).startswith("Расход")
        assert internal_mail.headline("brand_new_detector", {}) == "brand new detector"


GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "messages"
UPDATE = os.environ.get("CADENCE_UPDATE_GOLDEN") == "1"
DIGEST = [  # one finding per detector, a folded one among them, worst first as the digest sorts them
    {"severity": "critical", "client": "Acme", "account": "Acme Search", "campaign": "Brand",
     "detector": "spend_without_conversions", "evidence": EVIDENCE["spend_without_conversions"],
     "recommendation": "Pause it. It spent £412.50 on 2026-11-24 with no conversion."},
    {"severity": "critical", "client": "Acme", "account": "Acme Search", "campaign": None,
     "detector": "tracking_broken", "evidence": {**EVIDENCE["tracking_broken"], "folded": {
         "count": 3, "campaigns": [1, 2, 3], "detectors": ["spend_without_conversions", "anomaly"]}},
     "recommendation": "Conversions stopped across the whole account for the last 3 days while clicks held."},
    *({"severity": "warning", "client": "Beta", "account": "Beta Social", "campaign": "Prospecting",
       "detector": d, "evidence": EVIDENCE[d], "recommendation": f"(the {d} advice)"}
      for d in ("anomaly", "budget_pacing", "cpa_above_band", "underdelivery_low_bid", "launch_guard",
                "churn_signal", "data_not_arrived", "stopped_delivering")),
    {"severity": "info", "client": "Gamma", "account": "Gamma Ads", "campaign": None, "detector": "data_quality",
     "evidence": EVIDENCE["data_quality"], "recommendation": "(the data quality advice)"},
]


@pytest.mark.parametrize("language", ["en", "zh", "ru"])
def test_digest_golden_per_language(language):
    import datetime as dt

    from tasks.sweep import digest_message

    outputs = {}
    for name, findings, clients in (("findings", DIGEST, 4), ("quiet", [], 1)):
        counts = {level: sum(f["severity"] == level for f in findings) for level in ("critical", "warning", "info")}
        message = digest_message({"staff_id": 1, "email": "am@agency.example", "am_name": "Anna", "language": language,
                                  "day": dt.date(2026, 11, 24), "clients": clients, "findings": findings, **counts})
        assert message["language"].value == language
        outputs[f"sweep_digest.{name}.{language}.txt"] = f"Subject: {message['subject']}\n\n{message['body_text']}"
    for name, content in outputs.items():
        path = GOLDEN / name
        if UPDATE:
            path.write_text(content, encoding="utf-8")
        assert path.read_text(encoding="utf-8") == content, f"{name} changed: CADENCE_UPDATE_GOLDEN=1 to accept"
    if language != "en":
        assert "open finding" not in outputs[f"sweep_digest.findings.{language}.txt"]
        assert "(the " not in outputs[f"sweep_digest.findings.{language}.txt"], "English advice is for English AMs"


@pytest.mark.parametrize(("language", "evidence", "expected"), [
    ("en", {"campaigns_stopped": 4, "campaigns": [1, 2, 3, 4], "last_day_with_delivery": "2026-11-22",
            "days_stopped": 2, "baseline_daily_spend": 1200, "currency": "USD"},
     "The whole account stopped delivering: 4 campaigns have had nothing since Nov 22, 2026; usually $1,200.00 a day;"
     " check billing, a suspension and the spending limit today"),
    ("ru", {"last_day_with_delivery": "2026-11-23", "days_stopped": 1, "recent_days": 14, "days_delivered": 12,
            "status": "paused"},
     "Пауза: ничего с 23 нояб. 2026 г. после показов в 12 из 14 дней; проверьте, что пауза задумана"),
    ("ru", {"last_day_with_delivery": "2026-11-19", "days_stopped": 5, "recent_days": 14, "days_delivered": 14},
     "Показы прекратились: ничего 5 дней с 19 нояб. 2026 г., после показов в 14 из 14 дней; выясните причину и"
     " перезапустите"),
    ("zh", {"last_day_with_data": "2026-11-21", "days_missing": 3},
     "自2026年11月21日起没有数据（缺失3天）；请检查导入和平台连接"),
])
def test_freshness_and_stop_headlines(language, evidence, expected):
    detector = "data_not_arrived" if "days_missing" in evidence else "stopped_delivering"
    with i18n.use(language):
        assert plain(internal_mail.headline(detector, evidence)) == expected


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "; not a crisis: $9.84 at risk, 0.18% of a usual day"),
    ("ru", "; не кризис: под угрозой 9,84 $, 0,18% обычного дня"),
    ("zh", "；不构成危机：涉及金额US$9.84，占日常花费的0.18%"),
])
def test_an_immaterial_finding_says_it_is_not_a_crisis(language, expected):
    evidence = {"problems": ["no_geo_targeting"], "spend_today": 9.84, "currency": "USD",
                "materiality": {"at_risk": 9.84, "share": 0.0018, "floor": 100, "material": False}}
    with i18n.use(language):
        assert plain(internal_mail.headline("launch_guard", evidence)).endswith(expected)


def test_a_reconnect_headline_replaces_the_check_the_import_advice():
    from tasks.internal_mail import headline

    ev = {"last_day_with_data": "2026-11-22", "days_missing": 2, "sync_problem": "reconnect: expired"}
    assert headline("data_not_arrived", ev).endswith("; the platform login expired: reconnect it")
