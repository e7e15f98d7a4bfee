"""Incidents over simulated time: one per cause, the ladder from the rows, stages to the client, restarts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Client, Contact, Incident, IncidentEvent, OutboundMessage, Staff
from models.db import make_engine
from models.enums import (
    Channel,
    ContactRole,
    IncidentSource,
    IncidentStage,
    Language,
    MessageStatus,
    StaffRole,
    Tier,
    Tone,
)
from tasks.errors import CadenceError
from tasks.escalation import (
    acknowledge,
    advance,
    escalate_due,
    golden_missed,
    next_stage,
    open_incident,
    target_level,
    timeline_markdown,
)

UTC = dt.timezone.utc
AGENCY = "Cadence Agency"
# 02:00 UTC is 23:00 in Moscow on a Tuesday: outside the client's business hours.
T0 = dt.datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
M = dt.timedelta(minutes=1)


@pytest.mark.parametrize(("minutes", "ack_after", "doc_after", "level"), [
    (29, None, None, 0),
    (30, None, None, 1),
    (59, None, None, 1),
    (60, None, None, 2),
    (90, 20, None, 0),      # acknowledged in time: stays with the owner
    (90, 45, None, 1),      # acknowledged late: the team lead was already called, the director is not
    (240, 10, None, 2),     # no document by the golden deadline
    (300, 10, 200, 0),      # document in time
    (300, 10, 250, 2),      # document late
])
def test_target_level_from_the_rows_alone(minutes, ack_after, doc_after, level):
    ack = T0 + ack_after * M if ack_after is not None else None
    doc = T0 + doc_after * M if doc_after is not None else None
    assert target_level(T0, ack, doc, T0 + 240 * M, T0 + minutes * M)[0] == level


def test_golden_missed():
    assert not golden_missed(None, T0, T0 - M)
    assert golden_missed(None, T0, T0)
    assert not golden_missed(T0 - M, T0, T0 + 60 * M)


def build_client(engine) -> int:
    with Session(engine) as s, s.begin():
        director = Staff(email="dir@agency.example", name="Director", role=StaffRole.DIRECTOR)
        lead = Staff(email="lead@agency.example", name="Lead", role=StaffRole.TEAM_LEAD)
        s.add_all([director, lead])
        s.flush()
        lead.manager_id = director.id
        am = Staff(email="am@agency.example", name="Anna", role=StaffRole.AM, manager_id=lead.id)
        client = Client(slug="romashka", name="Ромашка", industry="retail", market="RU", time_zone="Europe/Moscow",
                        currency="RUB", cooperation_start=dt.date(2023, 1, 1), owner_am=am, tier=Tier.STRATEGIC,
                        business_hours_start=dt.time(10), business_hours_end=dt.time(19))
        s.add_all([
            Contact(client=client, name="Анна Петрова", email="anna@romashka.example", role=ContactRole.DECISION_MAKER,
                    language=Language.RU, tone=Tone.FORMAL),
            Contact(client=client, name="Oleg", email="oleg@romashka.example", role=ContactRole.OPERATOR,
                    language=Language.EN, tone=Tone.FRIENDLY),
            Contact(client=client, name="Ivan", email="ivan@romashka.example", role=ContactRole.OPERATOR,
                    language=Language.RU, channel=Channel.TELEGRAM),
        ])
        s.flush()
        return client.id


def _open(engine, client_id: int, key: str = "finding:1", at: dt.datetime = T0):
    with Session(engine) as s, s.begin():
        return open_incident(s, client_id=client_id, source=IncidentSource.FINDING, dedupe_key=key,
                             cause="tracking broken: Main account (2026-11-24)", now=at,
                             facts=["Conversions fell to zero on 24 Nov while clicks held"])


def _messages(engine, kind: str | None = None) -> list[tuple[str, str]]:
    with Session(engine) as s:
        query = select(OutboundMessage.kind, OutboundMessage.recipient).order_by(OutboundMessage.id)
        if kind:
            query = query.where(OutboundMessage.kind.like(kind))
        return [tuple(r) for r in s.execute(query)]


def test_duplicate_triggers_open_one_incident_and_tell_the_group_once(engine):
    client_id = build_client(engine)
    first = _open(engine, client_id)
    again = _open(engine, client_id, at=T0 + 5 * M)
    assert first.created and not again.created and first.incident_id == again.incident_id
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 1
        incident = s.get(Incident, first.incident_id)
        assert incident.golden_deadline_at == T0 + dt.timedelta(hours=4)
        assert incident.owner_id == s.scalar(select(Staff.id).where(Staff.email == "am@agency.example"))
        assert "(DRAFT)" in incident.root_cause_doc and "Acknowledge" in incident.root_cause_doc
        assert incident.root_cause_doc_at is None
    assert _messages(engine) == [("incident-opened", "am@agency.example"), ("incident-opened", "lead@agency.example")]


def test_escalation_over_simulated_time_survives_a_restart_and_never_repeats(engine, db_url):
    client_id = build_client(engine)
    incident_id = _open(engine, client_id).incident_id
    levels = []
    for minute in (0, 15, 29, 30, 31, 45, 59):
        with Session(engine) as s, s.begin():
            escalate_due(s, T0 + minute * M)
            levels.append(s.get(Incident, incident_id).escalation_level)
    assert levels == [0, 0, 0, 1, 1, 1, 1]
    engine.dispose()  # every process restarts: the clock lives in the rows
    fresh = make_engine(db_url)
    for minute in (60, 60, 75):
        with Session(fresh) as s, s.begin():
            escalate_due(s, T0 + minute * M)
    assert _messages(fresh, "incident-escalated%") == [("incident-escalated-l1", "lead@agency.example"),
                                                       ("incident-escalated-l2", "dir@agency.example")]
    with Session(fresh) as s:
        incident = s.get(Incident, incident_id)
        assert (incident.escalation_level, incident.escalated_at) == (2, T0 + 60 * M)
        kinds = [e.kind for e in s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id))]
    assert kinds.count("escalated") == 2
    with Session(fresh) as s, s.begin():
        escalate_due(s, T0 + 240 * M)
    assert _messages(fresh, "incident-deadline-missed") == [("incident-deadline-missed", "am@agency.example"),
                                                            ("incident-deadline-missed", "dir@agency.example")]
    fresh.dispose()


def test_a_missed_run_catches_up_and_calls_every_rung_it_skipped(engine):
    client_id = build_client(engine)
    _open(engine, client_id)
    with Session(engine) as s, s.begin():
        actions = escalate_due(s, T0 + 70 * M)
    assert actions[0]["action"] == "escalated to level 2"
    assert _messages(engine, "incident-escalated%") == [("incident-escalated-l1", "lead@agency.example"),
                                                        ("incident-escalated-l2", "dir@agency.example")]


def test_acknowledged_in_time_stays_with_the_owner_until_the_golden_deadline_passes(engine):
    client_id = build_client(engine)
    incident_id = _open(engine, client_id).incident_id
    with Session(engine) as s, s.begin():
        assert acknowledge(s, incident_id, "am@agency.example", T0 + 10 * M)
        assert not acknowledge(s, incident_id, "lead@agency.example", T0 + 11 * M)
    for minute in (30, 60, 239):
        with Session(engine) as s, s.begin():
            assert escalate_due(s, T0 + minute * M) == []
    for minute in (240, 241, 300):
        with Session(engine) as s, s.begin():
            escalate_due(s, T0 + minute * M)
    assert _messages(engine, "incident-escalated%") == [("incident-escalated-l1", "lead@agency.example"),
                                                        ("incident-escalated-l2", "dir@agency.example")]
    assert _messages(engine, "incident-deadline-missed") == [("incident-deadline-missed", "am@agency.example")]
    with Session(engine) as s:
        flags = s.scalar(select(func.count()).select_from(IncidentEvent)
                         .where(IncidentEvent.kind == "golden-deadline-missed"))
    assert flags == 1


def test_stages_go_to_the_client_in_order_and_are_not_held_for_business_hours(engine):
    client_id = build_client(engine)
    incident_id = _open(engine, client_id).incident_id
    with Session(engine) as s, s.begin():
        with pytest.raises(CadenceError, match="next stage is facts"):
            advance(s, incident_id, IncidentStage.SOLUTION, "am@agency.example", T0, ["x"], agency_name=AGENCY)
    with Session(engine) as s, s.begin():
        done = advance(s, incident_id, IncidentStage.FACTS, "am@agency.example", T0 + 20 * M, agency_name=AGENCY)
    assert "acknowledged by am@agency.example" in done
    with Session(engine) as s, s.begin():
        with pytest.raises(CadenceError, match="at least one --note"):
            advance(s, incident_id, IncidentStage.SOLUTION, "am@agency.example", T0 + 60 * M, agency_name=AGENCY)
    with Session(engine) as s, s.begin():
        advance(s, incident_id, IncidentStage.SOLUTION, "am@agency.example", T0 + 90 * M,
                ["Fixed the conversion tag on the checkout page"], ["We credit two days of fees"], agency_name=AGENCY)
        advance(s, incident_id, IncidentStage.PREVENTION, "am@agency.example", T0 + 120 * M,
                ["A tag check runs after every site release"], agency_name=AGENCY)
    with Session(engine) as s:
        rows = s.execute(select(OutboundMessage.kind, OutboundMessage.recipient, OutboundMessage.status,
                                OutboundMessage.is_crisis, OutboundMessage.language, OutboundMessage.body_text)
                         .where(OutboundMessage.kind.like("crisis-%")).order_by(OutboundMessage.id)).all()
        incident = s.get(Incident, incident_id)
        assert incident.root_cause_doc_at == T0 + 90 * M and "(DRAFT)" not in incident.root_cause_doc
        assert "We credit two days of fees" in incident.root_cause_doc
        assert "Fixed the conversion tag" in incident.root_cause_doc
    assert [r.kind for r in rows] == ["crisis-facts"] * 3 + ["crisis-solution"] * 3 + ["crisis-prevention"] * 3
    assert all(r.is_crisis for r in rows)
    by_recipient = {(r.kind, r.recipient): r for r in rows}
    # 23:00 in Moscow, yet the e-mail contacts' notices are queued now; the Telegram contact gets it by hand.
    assert by_recipient[("crisis-facts", "anna@romashka.example")].status == MessageStatus.QUEUED
    assert by_recipient[("crisis-facts", "ivan@romashka.example")].status == MessageStatus.MANUAL
    assert by_recipient[("crisis-facts", "anna@romashka.example")].language == Language.RU
    # Facts Cadence recorded itself when it opened the incident are the AM's evidence, never the client's text.
    assert "Conversions fell to zero" not in by_recipient[("crisis-facts", "oleg@romashka.example")].body_text
    assert "A tag check runs" in by_recipient[("crisis-prevention", "oleg@romashka.example")].body_text
    with Session(engine) as s, s.begin():
        assert escalate_due(s, T0 + 300 * M) == []
        advance(s, incident_id, IncidentStage.CLOSED, "am@agency.example", T0 + 400 * M, agency_name=AGENCY)
        markdown = timeline_markdown(s, incident_id)
    assert "stage: **closed**" in markdown and "doc-submitted" in markdown and "client-told" in markdown


def test_a_test_client_is_never_told_of_a_crisis_but_the_agency_still_works_it(engine):
    client_id = build_client(engine)
    with Session(engine) as s, s.begin():
        s.get(Client, client_id).is_test = True
    incident_id = _open(engine, client_id).incident_id
    with Session(engine) as s, s.begin():
        done = advance(s, incident_id, IncidentStage.FACTS, "am@agency.example", T0 + 20 * M, agency_name=AGENCY)
    assert "facts queued for 0 contact(s), not held for business hours" in done
    assert _messages(engine, "crisis-%") == [] and _messages(engine, "incident-%")


def test_the_form_and_the_cli_share_one_rule_for_the_next_stage():
    from models.enums import IncidentStage
    from tasks.errors import CadenceError

    assert next_stage(7, "acme", IncidentStage.OPENED, "next") == IncidentStage.FACTS
    assert next_stage(7, "acme", IncidentStage.OPENED, "facts") == IncidentStage.FACTS
    # A re-run of the same form finds the incident already there: advance() then says so instead of failing.
    assert next_stage(7, "acme", IncidentStage.FACTS, "facts") == IncidentStage.FACTS
    with pytest.raises(CadenceError, match="is at opened: the next stage is facts"):
        next_stage(7, "acme", IncidentStage.OPENED, "solution")
    with pytest.raises(CadenceError, match="is closed: there is no next stage"):
        next_stage(7, "acme", IncidentStage.CLOSED, "next")
