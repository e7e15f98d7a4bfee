"""`cadence request|incident|contact|tier` as an AM uses them, on both databases."""

from __future__ import annotations

from cli_helpers import cli, fails
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ClientRequest, Incident, Interaction, OutboundMessage


def test_requests_on_the_1_3_7_clock(engine):
    cli("client", "add", "--slug", "acme", "--name", "Acme", "--market", "CN", "--time-zone", "Asia/Shanghai",
        "--currency", "CNY", "--am-email", "am@agency.example")
    added = cli("request", "add", "REQ-1", "--client", "acme", "--title", "Plan for 双12",
                "--received-at", "2026-11-27T23:59")
    # Friday 23:59 in Shanghai: confirm Monday 10:00, plan end of Wednesday, deliver end of next Tuesday.
    assert "confirm by 2026-11-30 10:00" in added and "plan by 2026-12-02 18:00" in added
    assert "deliver by 2026-12-08 18:00" in added
    assert "already exists" in fails("request", "add", "REQ-1", "--client", "acme", "--title", "again")
    assert "REQ-1" in cli("request", "list") and "confirm" in cli("request", "list", "--client", "acme")
    assert "on time" in cli("request", "ack", "REQ-1", "--client", "acme", "--at", "2026-11-30T09:40")
    assert "LATE" in cli("request", "plan", "REQ-1", "--client", "acme", "--at", "2026-12-03T10:00")
    assert "already recorded" in cli("request", "ack", "REQ-1", "--client", "acme")
    cli("request", "deliver", "REQ-1", "--client", "acme", "--at", "2026-12-07T12:00+08:00")
    assert "no open requests" in cli("request", "list")
    with Session(engine) as s:
        row = s.scalars(select(ClientRequest)).one()
        assert row.status.value == "delivered" and row.delivered_at.hour == 4

    cli("contact", "log", "--client", "acme", "--channel", "wechat", "--direction", "inbound", "--summary",
        "Can we raise the budget?", "--needs-reply", "--at", "2026-12-07T10:00")
    logged = cli("contact", "log", "--client", "acme", "--channel", "phone", "--summary", "Called back: yes",
                 "--at", "2026-12-07T11:00", "--by", "am@agency.example")
    assert "answers 1 waiting message" in logged
    with Session(engine) as s:
        assert [i.replied_at is not None
                for i in s.scalars(select(Interaction).order_by(Interaction.id))] == [True, False]

    assert "potential (override)" in cli("tier", "set", "acme", "potential")
    assert "regular (computed regular)" in cli("tier", "set", "acme", "auto")
    assert "1 clients recomputed, 0 changed" in cli("tier", "recompute", "--as-of", "2026-12-01")


def test_incidents_by_hand_ack_advance_show(engine):
    cli("client", "add", "--slug", "acme", "--name", "Acme", "--market", "CN", "--time-zone", "Asia/Shanghai",
        "--currency", "CNY", "--am-email", "am@agency.example")
    opened = cli("incident", "open", "--client", "acme", "--cause", "Budget overspent by 40% overnight")
    assert "incident #1 opened" in opened and "golden deadline" in opened
    assert "NO" in cli("incident", "list")
    assert "no staff member" in fails("incident", "ack", "1", "--by", "stranger@agency.example")
    assert "acknowledged" in cli("incident", "ack", "1", "--by", "am@agency.example")
    assert "already acknowledged" in cli("incident", "ack", "1", "--by", "am@agency.example")
    assert "next stage is facts" in fails("incident", "advance", "1", "--to", "solution", "--by", "am@agency.example")
    cli("incident", "advance", "1", "--to", "facts", "--by", "am@agency.example")
    solved = cli("incident", "advance", "1", "--to", "solution", "--by", "am@agency.example",
                 "--note", "Daily caps restored on every campaign", "--responsibility", "We refund the overspend")
    assert "root-cause document submitted" in solved
    shown = cli("incident", "show", "1")
    assert "We refund the overspend" in shown and "doc-submitted" in shown
    with Session(engine) as s:
        incident = s.get(Incident, 1)
        assert incident.stage.value == "solution" and incident.acknowledged_at is not None
        kinds = {m.kind for m in s.scalars(select(OutboundMessage))}
    assert kinds == {"incident-opened"}, "the client has no contact on file, so only the crisis group was told"
    assert "no open incidents" not in cli("incident", "list")
