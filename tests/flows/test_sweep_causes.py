"""Issue 13 on the demo agency, both databases: one cause is one finding and one incident; an immaterial
problem opens no crisis; a problem flapping critical -> warning -> critical keeps its one incident."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cadence.demo.write import generate_agency
from flows.crisis_escalation import crisis_escalation
from flows.daily_sweep import daily_account_sweep
from models import AdAccount, Campaign, Client, DailyMetric, Finding, Incident
from models.enums import FindingStatus, IncidentStage
from tasks.findings import critical_without_incident, persist_findings
from tasks.sweep import digest_context

AS_OF = dt.date(2026, 11, 25)
DAY = AS_OF - dt.timedelta(days=1)
AT = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.timezone.utc)


def open_findings(engine, account_id: int) -> list[Finding]:
    with Session(engine) as s:
        return list(s.scalars(select(Finding).where(Finding.account_id == account_id,
                                                    Finding.status != FindingStatus.RESOLVED)))


def incidents_on(engine, account_id: int) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Incident).join(Finding, Finding.id == Incident.finding_id)
                        .where(Finding.account_id == account_id))


def escalate_all(result: dict) -> list[dict]:
    payloads = [p for c in result["chunks"] for p in c["critical"]]
    for payload in payloads:
        crisis_escalation(finding=payload, as_of=AT, send=False)
    return payloads


def test_broken_tracking_under_several_campaigns_is_one_critical_finding_and_one_incident(engine, prefect_harness):
    demo = generate_agency(engine, as_of=AS_OF, seed=11, clients=12, days=90)
    planted = next(p for p in demo.problems if p["detector"] == "tracking_broken")
    with Session(engine) as s:
        account_id = s.scalar(select(AdAccount.id).where(AdAccount.external_id == planted["account"]))
        campaigns = s.scalar(select(func.count()).select_from(Campaign).where(Campaign.account_id == account_id))
    assert campaigns >= 2

    result = daily_account_sweep(as_of=AS_OF, notify=True)
    found = open_findings(engine, account_id)
    assert [(f.detector, f.subject, f.severity.value) for f in found] == [("tracking_broken", "account", "critical")]
    folded = found[0].evidence["folded"]
    assert folded["count"] >= 2 and "spend_without_conversions" in folded["detectors"]
    assert f"touches {folded['count']} campaigns" in found[0].recommendation
    mine = [p for c in result["chunks"] for p in c["critical"] if p["account_id"] == account_id]
    assert len(mine) == 1
    with Session(engine) as s:
        name = s.get(AdAccount, account_id).name
        client_id = s.get(AdAccount, account_id).client_id
        lines = [f for ctx in digest_context(s, DAY, [client_id]) for f in ctx["findings"] if f["account"] == name]
    assert [(f["detector"], f["severity"]) for f in lines] == [("tracking_broken", "critical")]  # one digest line

    escalate_all(result)
    assert incidents_on(engine, account_id) == 1
    again = daily_account_sweep(as_of=AS_OF, notify=True)
    assert not [p for c in again["chunks"] for p in c["critical"] if p["account_id"] == account_id]
    assert incidents_on(engine, account_id) == 1


def test_a_problem_of_three_percent_of_the_clients_spend_opens_no_crisis(engine, prefect_harness):
    generate_agency(engine, as_of=AS_OF, seed=11, clients=6, days=60, inject_problems=False)
    with Session(engine, expire_on_commit=False) as s, s.begin():
        client = s.scalars(select(Client).join(AdAccount, AdAccount.client_id == Client.id)
                           .where(Client.is_test.is_(False), AdAccount.currency == "USD").order_by(Client.id)).first()
        assert client is not None, "the demo has a USD client"
        client.cpa_min, client.cpa_max, client.monthly_budget = Decimal("100"), Decimal("150"), None
        rows = pd.DataFrame(s.execute(
            select(DailyMetric.campaign_id, DailyMetric.day, DailyMetric.spend, DailyMetric.conversions)
            .join(Campaign, Campaign.id == DailyMetric.campaign_id).join(AdAccount, AdAccount.id == Campaign.account_id)
            .where(AdAccount.client_id == client.id, DailyMetric.day > DAY - dt.timedelta(days=29))).all())
        rows["spend"] = rows["spend"].astype(float)
        rows["conversions"] = rows["conversions"].astype(float)
        # The campaign that converted most in the last four weeks spends 633 USD on D with no conversion ...
        target = int(rows[rows["day"] < DAY].groupby("campaign_id")["conversions"].sum().idxmax())
        s.execute(update(DailyMetric).where(DailyMetric.campaign_id == target, DailyMetric.day == DAY)
                  .values(spend=Decimal("633.00"), conversions=Decimal("0"), clicks=300, impressions=20_000))
        # ... in a client that spends about 21,000 USD a day (every other row scaled, its CPA kept).
        daily = rows[rows["campaign_id"] != target].groupby("day")["spend"].sum().mean()
        factor = Decimal(f"{21_000 / daily:.4f}")
        s.execute(update(DailyMetric).where(
            DailyMetric.campaign_id.in_(select(Campaign.id).join(AdAccount, AdAccount.id == Campaign.account_id)
                                        .where(AdAccount.client_id == client.id, Campaign.id != target)))
            .values(spend=DailyMetric.spend * factor, conversions=DailyMetric.conversions * factor))
        s.execute(update(DailyMetric).where(DailyMetric.campaign_id == target, DailyMetric.day < DAY)
                  .values(conversions=DailyMetric.conversions + 1))
    result = daily_account_sweep(as_of=AS_OF, clients=[client.slug], notify=True)
    with Session(engine) as s:
        swc = s.scalars(select(Finding).where(Finding.campaign_id == target,
                                              Finding.detector == "spend_without_conversions")).one()
        assert swc.severity.value == "warning"
        m = swc.evidence["materiality"]
        assert m["material"] is False and m["at_risk"] == 633.0 and m["share"] == pytest.approx(0.03, abs=0.006)
        assert "not a crisis" in swc.recommendation
    assert not [p for c in result["chunks"] for p in c["critical"]]
    escalate_all(result)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Incident).where(Incident.client_id == client.id)) == 0


def test_critical_warning_critical_keeps_the_one_incident(engine, prefect_harness):
    generate_agency(engine, as_of=AS_OF, seed=11, clients=6, days=45)
    with Session(engine) as s:
        account = s.scalars(select(AdAccount).join(Client, Client.id == AdAccount.client_id)
                            .where(Client.is_test.is_(False)).order_by(AdAccount.id)).first()
        client_id, account_id = account.client_id, account.id

    def sweep(day: dt.date, severity: str) -> list[dict]:
        frame = pd.DataFrame([{
            "client_id": client_id, "account_id": account_id, "campaign_id": pd.NA, "subject": "account",
            "detector": "tracking_broken", "day": day, "severity": severity,
            "evidence": {"days": 2, "conversions": 0}, "recommendation": "Check the conversion tag."}])
        result = persist_findings(engine, [client_id], day, frame)
        return result.new_critical, critical_without_incident(engine, [client_id], day)

    days = [DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1), DAY]
    _, events = sweep(days[0], "critical")
    assert len(events) == 1
    first = crisis_escalation(finding=events[0], as_of=AT, send=False)
    assert first["created"]
    assert sweep(days[1], "warning")[1] == []
    new_critical, events = sweep(days[2], "critical")
    assert events == [], "the open incident covers the problem: no second event"
    # Even an event raised for it anyway (a warning turned critical is "new critical") opens nothing new.
    again = crisis_escalation(finding=new_critical[0], as_of=AT + dt.timedelta(days=2), send=False)
    assert (again["incident_id"], again["created"]) == (first["incident_id"], False)
    assert incidents_on(engine, account_id) == 1
    with Session(engine) as s:
        assert s.get(Incident, first["incident_id"]).stage is not IncidentStage.CLOSED
