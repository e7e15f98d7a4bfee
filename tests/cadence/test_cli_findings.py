"""`cadence findings list|show|ack` as an AM uses them, on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from cli_helpers import cli, fails, runner
from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.cli import app
from models import AdAccount, Campaign, Client, Finding, Staff
from models.enums import FindingStatus, Platform, StaffRole
from tasks.errors import CadenceError
from tasks.findings import persist_findings

DAY = dt.date(2026, 11, 24)
LONG_SLUG = "northwind-outdoor-equipment-and-apparel-greater-china-region"


@pytest.fixture
def agency(engine):
    """Two clients; acme has a campaign-level warning and an account-level critical, the other one info."""
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="AM", role=StaffRole.AM)
        made = {}
        for slug in ("acme", LONG_SLUG):
            client = Client(slug=slug, name=slug.title(), industry="retail", market="CN", time_zone="Asia/Shanghai",
                            currency="CNY", cooperation_start=dt.date(2024, 1, 1), owner_am=am,
                            cpa_min=Decimal(80), cpa_max=Decimal(120))
            account = AdAccount(client=client, platform=Platform.META, external_id=f"act_{slug[:4]}", name="Main",
                                currency="CNY", time_zone="Asia/Shanghai", created_on=dt.date(2024, 1, 1))
            campaign = Campaign(account=account, external_id=f"{slug[:4]}-brand-search-{'x' * 40}", name="Brand",
                                created_on=dt.date(2024, 1, 1))
            s.add(campaign)
            s.flush()
            made[slug] = (client.id, account.id, campaign.id)
    return made


def _finding(ids, detector, severity, on_campaign, day=DAY):
    client_id, account_id, campaign_id = ids
    return {"client_id": client_id, "account_id": account_id, "campaign_id": campaign_id if on_campaign else None,
            "subject": f"campaign:{campaign_id}" if on_campaign else "account", "detector": detector,
            "day": pd.Timestamp(day), "severity": severity,
            "evidence": {"spend": 1234.5, "conversions": 0, "folded": [{"subject": "campaign:7", "detector": "x"}]},
            "recommendation": f"{detector}: check the conversion tag on the landing page"}


def _sweep(engine, agency, day=DAY, acme=("tracking_broken", "cpa_above_band")):
    acme_ids, other = agency["acme"], agency[LONG_SLUG]
    rows = [_finding(acme_ids, d, "critical" if d == "tracking_broken" else "warning", d != "tracking_broken", day)
            for d in acme]
    persist_findings(engine, [acme_ids[0]], day, pd.DataFrame(rows))
    persist_findings(engine, [other[0]], day, pd.DataFrame([_finding(other, "pacing", "info", False, day)]))


def _id(engine, detector, day=DAY) -> int:
    with Session(engine) as s:
        return s.scalars(select(Finding.id).where(Finding.detector == detector, Finding.day == day)).one()


def test_list_filters_by_client_detector_severity_and_status_on_the_latest_day(engine, agency):
    assert "no findings yet" in cli("findings", "list")
    _sweep(engine, agency, DAY - dt.timedelta(days=1), acme=("budget_pacing",))
    _sweep(engine, agency)
    listed = cli("findings", "list")
    assert "Findings for 2026-11-24" in listed
    assert "budget_pacing" not in listed  # yesterday's, and resolved today
    lines = [line for line in listed.splitlines() if "tracking_broken" in line or "cpa_above_band" in line
             or "pacing" in line]
    # Most severe first; piped output (not a terminal) keeps the long slug and ids whole.
    assert ["tracking_broken" in lines[0], "cpa_above_band" in lines[1], "pacing" in lines[2]] == [True] * 3
    # A row wider than the 200 columns the runner claims: still one line, nothing cut.
    assert LONG_SLUG in lines[2] and f"campaign acme-brand-search-{'x' * 40}" in lines[1] and len(lines[2]) > 200
    assert "3 findings: critical 1, warning 1, info 1" in listed
    assert "pacing" not in cli("findings", "list", "--client", "acme")
    only = cli("findings", "list", "--severity", "critical")
    assert "tracking_broken" in only and "cpa_above_band" not in only
    assert "tracking_broken" not in cli("findings", "list", "--detector", "cpa_above_band")
    old = cli("findings", "list", "--day", "2026-11-23", "--status", "resolved")
    assert "budget_pacing" in old and "resolved" in old
    assert "no open/acknowledged findings for 2026-11-23" in cli("findings", "list", "--day", "2026-11-23")
    assert "--day must be a date" in fails("findings", "list", "--day", "24/11")
    assert "no client nope" in fails("findings", "list", "--client", "nope")
    assert fails("findings", "list", "--status", "closed")


def test_show_prints_evidence_as_json_and_the_recommendation(engine, agency):
    _sweep(engine, agency)
    shown = cli("findings", "show", str(_id(engine, "tracking_broken")))
    assert "tracking_broken: check the conversion tag" in shown
    assert '"spend": 1234.5' in shown and '"folded": [' in shown
    assert "critical" in shown and "acme" in shown
    result = runner.invoke(app, ["findings", "show", "999999"])
    assert result.exit_code != 0 and isinstance(result.exception, CadenceError)
    assert str(result.exception) == "no finding 999999: see `cadence findings list`"


def test_ack_records_who_and_why_and_carries_to_the_next_day(engine, agency):
    _sweep(engine, agency)
    finding = _id(engine, "tracking_broken")
    out = cli("findings", "ack", str(finding), "--by", "li.wei", "--note", "client fixing the tag")
    assert f"finding {finding} acknowledged by li.wei" in out
    with Session(engine) as s:
        f = s.get(Finding, finding)
        assert (f.status, f.acknowledged_by, f.ack_note) == (FindingStatus.ACKNOWLEDGED, "li.wei",
                                                            "client fixing the tag")
        assert f.acknowledged_at is not None and f.acknowledged_at.tzinfo is not None
    assert "acknowledged" in cli("findings", "list", "--status", "acknowledged")
    assert "tracking_broken" not in cli("findings", "list", "--status", "open")
    assert "li.wei: client fixing the tag" in cli("findings", "show", str(finding))
    # The problem holds the next day: the new row is acknowledged by the same person, with the same note.
    nxt = DAY + dt.timedelta(days=1)
    _sweep(engine, agency, nxt)
    with Session(engine) as s:
        carried = s.get(Finding, _id(engine, "tracking_broken", nxt))
        assert (carried.status, carried.acknowledged_by, carried.ack_note) == (
            FindingStatus.ACKNOWLEDGED, "li.wei", "client fixing the tag")
        other = s.get(Finding, _id(engine, "cpa_above_band", nxt))
        assert (other.status, other.acknowledged_by) == (FindingStatus.OPEN, None)
    assert "is resolved" in fails("findings", "ack", str(finding))
    assert "no finding 424242" in fails("findings", "ack", "424242")
