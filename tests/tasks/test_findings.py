"""Findings persist idempotently: one open row per problem, carried forward, resolved when gone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, Client, Finding, Staff
from models.enums import FindingStatus, Platform, Severity, StaffRole
from tasks.findings import persist_findings

DAY = dt.date(2026, 11, 24)


@pytest.fixture
def ids(engine):
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="AM", role=StaffRole.AM)
        client = Client(slug="acme", name="Acme", industry="retail", market="CN", time_zone="Asia/Shanghai",
                        currency="CNY", cooperation_start=dt.date(2024, 1, 1), owner_am=am,
                        cpa_min=Decimal(80), cpa_max=Decimal(120))
        account = AdAccount(client=client, platform=Platform.META, external_id="act_1", name="Main",
                            currency="CNY", time_zone="Asia/Shanghai", created_on=dt.date(2024, 1, 1))
        campaign = Campaign(account=account, external_id="c1", name="Brand", created_on=dt.date(2024, 1, 1))
        s.add(campaign)
        s.flush()
        return client.id, account.id, campaign.id


def frame(ids, *findings):
    client_id, account_id, campaign_id = ids
    rows = []
    for detector, severity, on_campaign in findings:
        rows.append({
            "client_id": client_id, "account_id": account_id,
            "campaign_id": campaign_id if on_campaign else None,
            "subject": f"campaign:{campaign_id}" if on_campaign else "account",
            "detector": detector, "day": pd.Timestamp(DAY), "severity": severity,
            "evidence": {"spend": 123.456, "ratio": float("nan"), "day": pd.Timestamp(DAY)},
            "recommendation": f"{detector} needs a look",
        })
    return pd.DataFrame(rows)


def snapshot(engine):
    with Session(engine) as s:
        return sorted(
            (f.detector, f.subject, f.day, f.status.value, f.severity.value, sorted(f.evidence.items()),
             f.recommendation)
            for f in s.scalars(select(Finding))
        )


def test_rerun_of_the_same_day_changes_nothing_and_raises_no_second_event(engine, ids):
    today = frame(ids, ("tracking_broken", "critical", False), ("cpa_above_band", "warning", True))
    first = persist_findings(engine, [ids[0]], DAY, today)
    before = snapshot(engine)
    second = persist_findings(engine, [ids[0]], DAY, today)
    assert (first.new, len(first.new_critical)) == (2, 1)
    assert (second.new, second.new_critical, second.resolved) == (0, [], 0)
    assert snapshot(engine) == before
    with Session(engine) as s:
        evidence = s.scalars(select(Finding.evidence).where(Finding.detector == "cpa_above_band")).one()
    assert evidence == {"day": "2026-11-24", "ratio": None, "spend": 123.456}


def test_a_problem_carried_to_the_next_day_keeps_one_open_row_and_its_acknowledgement(engine, ids):
    persist_findings(engine, [ids[0]], DAY, frame(ids, ("tracking_broken", "critical", False)))
    with Session(engine) as s, s.begin():
        s.scalars(select(Finding)).one().status = FindingStatus.ACKNOWLEDGED
    nxt = DAY + dt.timedelta(days=1)
    result = persist_findings(engine, [ids[0]], nxt, frame(ids, ("tracking_broken", "critical", False)))
    assert (result.new, result.carried, result.resolved, result.new_critical) == (0, 1, 0, [])
    with Session(engine) as s:
        rows = {f.day: f.status for f in s.scalars(select(Finding))}
    assert rows == {DAY: FindingStatus.RESOLVED, nxt: FindingStatus.ACKNOWLEDGED}


def test_a_problem_gone_the_next_day_is_resolved(engine, ids):
    persist_findings(engine, [ids[0]], DAY, frame(ids, ("anomaly", "info", True), ("churn_signal", "warning", False)))
    nxt = DAY + dt.timedelta(days=1)
    result = persist_findings(engine, [ids[0]], nxt, frame(ids, ("anomaly", "info", True)))
    assert result.resolved == 1
    with Session(engine) as s:
        open_rows = s.execute(select(Finding.detector, Finding.day)
                              .where(Finding.status != FindingStatus.RESOLVED)).all()
        resolved = s.scalar(select(func.count()).where(Finding.status == FindingStatus.RESOLVED))
    assert open_rows == [("anomaly", nxt)]
    assert resolved == 2


def test_a_changed_verdict_for_the_same_day_is_updated_in_place(engine, ids):
    persist_findings(engine, [ids[0]], DAY, frame(ids, ("cpa_above_band", "warning", True)))
    persist_findings(engine, [ids[0]], DAY, frame(ids, ("cpa_above_band", "critical", True)))
    with Session(engine) as s:
        assert [f.severity for f in s.scalars(select(Finding))] == [Severity.CRITICAL]


def test_a_warning_that_turns_critical_raises_the_critical_event_once(engine, ids):
    """A problem first seen as a warning gets its incident when it turns critical, and only then."""
    warning = frame(ids, ("spend_without_conversions", "warning", True))
    first = persist_findings(engine, [ids[0]], DAY, warning)
    assert (first.new, first.new_critical) == (1, [])

    critical = frame(ids, ("spend_without_conversions", "critical", True))
    worse = persist_findings(engine, [ids[0]], DAY + dt.timedelta(days=1), critical)
    assert (worse.new, worse.carried) == (0, 1)
    assert [(c["detector"], c["day"]) for c in worse.new_critical] == [
        ("spend_without_conversions", (DAY + dt.timedelta(days=1)).isoformat())]

    still = persist_findings(engine, [ids[0]], DAY + dt.timedelta(days=2), critical)
    again = persist_findings(engine, [ids[0]], DAY + dt.timedelta(days=1), critical)
    assert still.new_critical == [] and again.new_critical == []
