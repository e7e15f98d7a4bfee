"""Issue 13's causes: data not arrived, stopped delivering, root-cause folding and materiality, on hand-built frames."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_detect import D, World, back, swc_world, tracking_world

from tasks.detect.causes import fold_root_causes
from tasks.detect.evidence import FINDINGS_COLUMNS
from tasks.detect.materiality import MATERIAL_FLOORS
from tasks.detect.run import run_detectors
from tasks.detect.window import DEFAULT_THRESHOLDS


def by(found: pd.DataFrame, detector: str, subject: str | None = None) -> list[dict[str, Any]]:
    rows = found[(found["detector"] == detector) & ((found["subject"] == subject) if subject else True)]
    return rows.to_dict("records")


# data_not_arrived


def late_world(missing: int = 1, status: str = "active", **client: Any) -> World:
    """Two steady campaigns whose rows end `missing` days before D (none at all on the last `missing` days)."""
    world = World().client(**client).account(status=status)
    for cid in (1, 2):
        world.campaign(cid).steady(cid, range(missing, 56))
    return world


@pytest.mark.parametrize(("missing", "kwargs", "severity"), [
    (0, {}, None),  # D arrived
    (1, {}, "warning"),
    (2, {}, "critical"),  # freshness_critical_days
    (2, {"settings": {"freshness_critical_days": 3}}, "warning"),
    (30, {}, "critical"),  # weeks later it is still said
    (2, {"status": "paused"}, None),
    (2, {"status": "removed"}, None),
])
def test_data_not_arrived(missing: int, kwargs: dict, severity: str | None) -> None:
    client = {k: v for k, v in kwargs.items() if k != "status"}
    found = late_world(missing, status=kwargs.get("status", "active"), **client).one("data_not_arrived")
    assert (found and found["severity"]) == severity
    if found:
        ev = found["evidence"]
        assert found["subject"] == "account"
        assert ev["days_missing"] == missing and ev["last_day_with_data"] == back(missing).isoformat()
        assert ev["baseline_daily_spend"] == 1000.0  # two campaigns at 500 a day
        assert "import" in found["recommendation"] and "cannot judge" in found["recommendation"]


def test_a_zero_row_on_d_is_data_that_arrived() -> None:
    world = late_world(1).daily(1, [0])  # an all-zero row for campaign 1
    assert world.one("data_not_arrived") is None


def test_stale_account_has_none_of_its_campaigns_judged_on_d() -> None:
    # The account's data stopped two days ago: the sweep says only that, however its campaigns look.
    world = late_world(2)
    world.campaign(3, daily_budget=5000.0).steady(3, range(2, 56), spend=100.0)  # "underdelivers" on the blanks
    world.account(11).campaign(9, account_id=11).steady(9, range(0, 56))
    found = run_detectors(*world.frames(), D)
    mine = found[found["account_id"] == 10]
    assert mine["detector"].tolist() == ["data_not_arrived"]
    assert not by(found, "stopped_delivering")
    folded = mine.iloc[0]["evidence"].get("folded")
    assert folded is None or set(folded["detectors"]) <= {"underdelivery_low_bid", "churn_signal", "anomaly"}


# stopped_delivering


def stop_world(quiet: int = 1, delivered_before: range = range(1, 56), today_row: bool = True,
               status: str = "active", account_status: str = "active") -> World:
    """Campaign 1 delivered on `delivered_before`, nothing since `quiet` days; campaign 2 keeps delivering."""
    world = World().client().account(status=account_status).campaign(1, status=status).campaign(2)
    world.steady(1, [d for d in delivered_before if d >= quiet]).steady(2, range(0, 56))
    if today_row:
        world.daily(1, range(0, quiet))
    return world


@pytest.mark.parametrize(("kwargs", "severity"), [
    ({}, "warning"),  # a zero row on D
    ({"today_row": False}, "warning"),  # no row at all on D
    ({"quiet": 0, "delivered_before": range(0, 56)}, None),  # it delivered on D
    ({"delivered_before": range(1, 6)}, "warning"),  # exactly 5 of the 7 days before
    ({"delivered_before": range(1, 5)}, None),  # 4 of 7
    ({"quiet": 12}, "warning"),  # quiet for 12 days: still said
    ({"status": "paused"}, "info"),  # paused on purpose
    ({"status": "paused", "quiet": 7}, "info"),
    ({"status": "paused", "quiet": 8}, None),  # an old pause is no news
    ({"status": "removed"}, None),
    ({"account_status": "paused"}, None),  # churn_signal speaks for a paused account
])
def test_stopped_delivering(kwargs: dict, severity: str | None) -> None:
    found = stop_world(**kwargs).detect("stopped_delivering")
    campaign = found[found["subject"] == "campaign:1"]
    assert (campaign.iloc[0]["severity"] if len(campaign) else None) == severity
    assert len(found) == len(campaign)  # campaign 2 delivers, the account is not dark
    if len(campaign):
        row = campaign.iloc[0]
        ev = row["evidence"]
        quiet = kwargs.get("quiet", 1)
        assert ev["days_stopped"] == quiet and ev["last_day_with_delivery"] == back(quiet).isoformat()
        assert ev["row_on_day"] == kwargs.get("today_row", True) and ev["baseline_daily_spend"] == 500.0
        if severity == "info":
            assert row["recommendation"].startswith("Paused on purpose")
        else:
            assert "budget" in row["recommendation"] and "billing" in row["recommendation"]


def test_a_campaign_is_not_called_stopped_when_its_account_data_did_not_arrive() -> None:
    world = World().client().account().campaign(1).campaign(2).steady(1, range(1, 56)).steady(2, range(1, 56))
    assert world.detect("stopped_delivering").empty
    assert world.one("data_not_arrived") is not None


def test_blank_cells_on_d_are_no_evidence_of_a_stop() -> None:
    world = stop_world().daily(1, [0], impressions=float("nan"), clicks=float("nan"))
    assert world.detect("stopped_delivering").empty


def dark_world(campaigns: int = 3, paused: tuple[int, ...] = ()) -> World:
    """Every campaign of account 10 delivered until D-1 and has an all-zero row on D."""
    world = World().client().account()
    for cid in range(1, campaigns + 1):
        world.campaign(cid, status="paused" if cid in paused else "active").steady(cid, range(1, 56))
        world.daily(cid, [0])
    return world


def test_every_campaign_stopping_at_once_is_one_account_finding() -> None:
    found = dark_world(3).detect("stopped_delivering")
    account = by(found, "stopped_delivering", "account")
    assert len(account) == 1 and account[0]["severity"] == "critical"
    assert account[0]["evidence"]["campaigns_stopped"] == 3 and account[0]["evidence"]["campaigns"] == [1, 2, 3]
    assert "billing" in account[0]["recommendation"] and "all 3" in account[0]["recommendation"]
    assert len(found) == 4  # the campaign findings until they are folded
    # One campaign going dark alone is a campaign finding; paused ones are not counted.
    assert not by(dark_world(1).detect("stopped_delivering"), "stopped_delivering", "account")
    assert not by(dark_world(3, paused=(2, 3)).detect("stopped_delivering"), "stopped_delivering", "account")


def test_run_detectors_folds_the_campaign_stops_into_the_account_stop() -> None:
    found = run_detectors(*dark_world(3).frames(), D)
    stops = by(found, "stopped_delivering")
    assert len(stops) == 1 and stops[0]["subject"] == "account"
    assert stops[0]["evidence"]["folded"] == {"count": 3, "campaigns": [1, 2, 3],
                                               "detectors": {"stopped_delivering": 3}}
    assert "touches 3 campaigns" in stops[0]["recommendation"]


# root causes


def test_tracking_broken_folds_the_spend_without_conversions_it_explains() -> None:
    world = tracking_world(baseline_conversions=5.0)
    for cid in (1, 2):
        world.daily(cid, range(2, 30), spend=500.0).daily(cid, [0, 1], spend=300.0)
    world.campaign(3).steady(3, range(0, 56), clicks=0.0, conversions=0.0, spend=0.0, impressions=100.0)
    detected = [world.detect(d) for d in ("tracking_broken", "spend_without_conversions")]
    assert len(detected[0]) == 1 and len(detected[1]) == 2  # three alarms for one cause ...
    found = run_detectors(*world.frames(), D)
    assert not by(found, "spend_without_conversions")  # ... become one
    tracking = by(found, "tracking_broken")
    assert len(tracking) == 1 and tracking[0]["severity"] == "critical"
    assert tracking[0]["evidence"]["folded"] == {"count": 2, "campaigns": [1, 2],
                                                  "detectors": {"spend_without_conversions": 2}}
    assert "touches 2 campaigns" in tracking[0]["recommendation"]


def finding(detector: str, subject: str = "account", account: int = 10, severity: str = "warning",
            **evidence: Any) -> dict[str, Any]:
    campaign = None if subject == "account" else int(subject.split(":")[1])
    return {"client_id": 1, "account_id": account, "campaign_id": campaign, "subject": subject, "detector": detector,
            "day": D, "severity": severity, "evidence": evidence, "recommendation": "Do it."}


def moves(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"metric": m, "direction": d, "today": 1.0, "baseline": 2.0, "ratio": 0.5} for m, d in pairs]


def fold(*rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=FINDINGS_COLUMNS)
    frame["campaign_id"] = pd.array(frame["campaign_id"], dtype="Int64")
    return fold_root_causes(frame)


@pytest.mark.parametrize(("cause", "folded", "kept"), [
    # tracking_broken: spend without conversions, CPA above band and conversion drops
    (finding("tracking_broken", severity="critical"),
     [finding("spend_without_conversions", "campaign:1", severity="critical"), finding("cpa_above_band", "campaign:2"),
      finding("anomaly", "campaign:3", metrics=moves(("conversions", "drop")))],
     [finding("anomaly", "campaign:4", metrics=moves(("conversions", "drop"), ("clicks", "spike"))),
      finding("launch_guard", "campaign:5"), finding("spend_without_conversions", "campaign:6", account=11)]),
    # data not arrived: stops, anomalies, underdelivery and the spend collapse it causes, not the client's pause
    (finding("data_not_arrived"),
     [finding("stopped_delivering", "campaign:1"), finding("anomaly", "campaign:2", metrics=moves(("spend", "drop"))),
      finding("underdelivery_low_bid", "campaign:3"), finding("churn_signal", paused_by_client_day=None)],
     [finding("cpa_above_band", "campaign:4"), finding("data_quality", "campaign:5")]),
    (finding("data_not_arrived"), [],
     [finding("churn_signal", severity="critical", paused_by_client_day="2026-03-16")]),
    # the account stopped: its campaigns' stops
    (finding("stopped_delivering", severity="critical"),
     [finding("stopped_delivering", "campaign:1"), finding("stopped_delivering", "campaign:2"),
      finding("anomaly", "campaign:3", metrics=moves(("impressions", "drop")))],
     [finding("spend_without_conversions", "campaign:4")]),
    # an account-wide move: the campaign anomalies that move the same metrics the same way
    (finding("anomaly", metrics=moves(("impressions", "drop"), ("clicks", "drop"))),
     [finding("anomaly", f"campaign:{c}", metrics=moves(("impressions", "drop"))) for c in range(1, 12)]
     + [finding("anomaly", "campaign:12", metrics=moves(("impressions", "drop"), ("clicks", "drop")))],
     [finding("anomaly", "campaign:13", metrics=moves(("impressions", "spike"))),
      finding("anomaly", "campaign:14", metrics=moves(("impressions", "drop"), ("spend", "drop"))),
      finding("stopped_delivering", "campaign:15")]),
    # the account's spend collapsed (or the client paused it): the drops it shows today, not a spike
    (finding("churn_signal", baseline_daily_spend=700.0),
     [finding("anomaly", metrics=moves(("impressions", "drop"), ("spend", "drop"))),
      finding("anomaly", "campaign:1", metrics=moves(("clicks", "drop"))), finding("stopped_delivering", "campaign:2")],
     [finding("anomaly", "campaign:3", metrics=moves(("impressions", "spike"))),
      finding("cpa_above_band", "campaign:4")]),
], ids=["tracking", "data-not-arrived", "client-pause-kept", "account-stop", "account-anomaly", "churn"])
def test_fold_root_causes(cause: dict, folded: list[dict], kept: list[dict]) -> None:
    out = fold(cause, *folded, *kept)
    assert len(out) == 1 + len(kept)
    subjects = list(zip(out["detector"], out["subject"], out["account_id"], strict=True))
    assert subjects == [(r["detector"], r["subject"], r["account_id"]) for r in (cause, *kept)]
    head = out.iloc[0]
    if not folded:
        assert "folded" not in head["evidence"] and head["recommendation"] == "Do it."
        return
    campaigns = sorted(int(r["subject"].split(":")[1]) for r in folded if r["subject"] != "account")
    ev = head["evidence"]["folded"]
    assert ev["count"] == len(campaigns) and ev["campaigns"] == campaigns[:20]
    assert sum(ev["detectors"].values()) == len(folded)
    assert f"touches {len(campaigns)} campaign" in head["recommendation"]
    worst = max((r["severity"] for r in (cause, *folded)), key=["info", "warning", "critical"].index)
    assert head["severity"] == worst


@pytest.mark.parametrize(("host", "anomaly", "joined"), [
    ("spend_without_conversions", moves(("conversions", "drop")), True),
    ("cpa_above_band", moves(("cvr", "drop")), True),
    ("spend_without_conversions", moves(("conversions", "drop"), ("spend", "spike")), False),
    ("launch_guard", moves(("conversions", "drop")), False),
])
def test_a_campaigns_conversion_drop_joins_its_conversion_finding(host: str, anomaly: list, joined: bool) -> None:
    out = fold(finding(host, "campaign:7"), finding("anomaly", "campaign:7", severity="warning", metrics=anomaly),
               finding("anomaly", "campaign:8", metrics=moves(("conversions", "drop"))))
    assert len(out) == (2 if joined else 3)
    head = out.iloc[0]
    assert head["detector"] == host
    if joined:
        assert head["evidence"]["joined"] == {"anomaly": {"metrics": anomaly}} and "folded" not in head["evidence"]
        assert head["recommendation"].startswith("Do it. Against its usual day: Do it.")
    else:
        assert "joined" not in head["evidence"]


def test_fold_lists_twenty_campaigns_and_counts_them_all() -> None:
    rows = [finding("anomaly", f"campaign:{c}", metrics=moves(("clicks", "drop"))) for c in range(1, 31)]
    out = fold(finding("anomaly", metrics=moves(("clicks", "drop"))), *rows)
    assert len(out) == 1
    assert out.iloc[0]["evidence"]["folded"]["count"] == 30
    assert out.iloc[0]["evidence"]["folded"]["campaigns"] == list(range(1, 21))


def test_a_campaign_finding_folds_under_one_cause_only() -> None:
    out = fold(finding("anomaly", metrics=moves(("conversions", "drop"), ("clicks", "drop"))),
               finding("tracking_broken"), finding("anomaly", "campaign:1", metrics=moves(("conversions", "drop"))))
    assert len(out) == 2
    tracking = out[out["detector"] == "tracking_broken"].iloc[0]
    assert tracking["evidence"]["folded"]["count"] == 1  # tracking_broken comes first among causes
    assert "folded" not in out[out["detector"] == "anomaly"].iloc[0]["evidence"]
    # An account-wide drop of conversions alone is what a broken tag looks like: folded too.
    out = fold(finding("tracking_broken"), finding("anomaly", metrics=moves(("conversions", "drop"))))
    assert out["detector"].tolist() == ["tracking_broken"]
    assert out.iloc[0]["evidence"]["folded"]["detectors"] == {"anomaly": 1}


# materiality


def test_materiality_defaults() -> None:
    assert DEFAULT_THRESHOLDS["material_share"] == 0.10 and np.isnan(DEFAULT_THRESHOLDS["material_floor"])
    assert MATERIAL_FLOORS["USD"] <= 150 and MATERIAL_FLOORS["RUB"] >= 5000 and "DEFAULT" in MATERIAL_FLOORS


def big_spender(world: World, daily: float) -> World:
    """Another campaign of the same client carrying most of its spend."""
    return world.campaign(50).steady(50, range(0, 56), spend=daily, conversions=daily / 100)


@pytest.mark.parametrize(("other_spend", "kwargs", "severity", "material"), [
    (0.0, {}, "critical", True),  # 300 of a usual 500 a day
    (20_500.0, {}, "warning", False),  # the case: 633 is 3% of a usual 21,000 a day
    (5_200.0, {}, "critical", True),  # 633 is 11% of 5,700
    (20_500.0, {"settings": {"material_share": 0.02}}, "critical", True),
], ids=["small-client", "three-percent", "eleven-percent", "client-share-override"])
def test_materiality_share_of_usual_daily_spend(other_spend: float, kwargs: dict, severity: str,
                                                 material: bool) -> None:
    world = swc_world(633.0, **kwargs)
    if other_spend:
        big_spender(world, other_spend)
    rows = by(run_detectors(*world.frames(), D), "spend_without_conversions")
    assert len(rows) == 1 and rows[0]["severity"] == severity
    m = rows[0]["evidence"]["materiality"]
    assert m["material"] is material and m["at_risk"] == 633.0 and m["floor"] == MATERIAL_FLOORS["USD"]
    if not material:
        assert m["share"] == pytest.approx(633 / 21_000, abs=1e-3)
        assert "not a crisis" in rows[0]["recommendation"] and "3.0%" in rows[0]["recommendation"]


@pytest.mark.parametrize(("currency", "settings", "severity"), [
    ("USD", {}, "warning"),  # 90 USD is under the 100 USD floor
    ("USD", {"material_floor": 50}, "critical"),
    ("JPY", {}, "warning"),
    ("XXX", {}, "warning"),  # an unknown currency: the default floor
    ("XXX", {"material_floor": 80}, "critical"),
])
def test_materiality_floor_in_the_accounts_currency(currency: str, settings: dict, severity: str) -> None:
    world = World().client(cpa_min=20.0, cpa_max=30.0, settings=settings).account(currency=currency)
    world.campaign(1).steady(1, range(1, 29), spend=150.0, conversions=5.0)
    world.daily(1, [0], spend=90.0, clicks=100.0, impressions=5000.0, conversions=0.0)
    rows = by(run_detectors(*world.frames(), D), "spend_without_conversions")
    assert len(rows) == 1 and rows[0]["severity"] == severity
    assert rows[0]["evidence"]["materiality"]["material"] is (severity == "critical")


def test_materiality_of_an_account_cause_counts_the_days() -> None:
    # Data missing for 2 days on an account spending 1,000 a day, inside a client spending 40,000 a day.
    world = late_world(2)
    world.account(11).campaign(9, account_id=11).steady(9, range(0, 56), spend=39_000.0, account_id=11)
    found = run_detectors(*world.frames(), D)
    late = by(found, "data_not_arrived")[0]
    assert late["severity"] == "warning"
    assert late["evidence"]["materiality"]["at_risk"] == 2000.0 and not late["evidence"]["materiality"]["material"]
    alone = by(run_detectors(*late_world(2).frames(), D), "data_not_arrived")[0]
    assert alone["severity"] == "critical" and alone["evidence"]["materiality"]["material"]


def test_warnings_are_left_alone() -> None:
    found = run_detectors(*swc_world(150.0).frames(), D)
    assert "materiality" not in by(found, "spend_without_conversions")[0]["evidence"]


def test_data_not_arrived_says_the_platform_login_must_be_reconnected() -> None:
    world = late_world(2)
    world.accounts[0]["sync_problem"] = "reconnect: the platform login expired or was revoked"
    found = world.one("data_not_arrived")
    assert found["evidence"]["sync_problem"].startswith("reconnect")
    assert "Reconnect the login" in found["recommendation"] and "re-import" not in found["recommendation"]
    assert "sync_problem" not in late_world(2).one("data_not_arrived")["evidence"]
