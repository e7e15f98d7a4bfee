"""The review gate: per-client policy, the awaiting state dispatch never picks, decisions kept, reminders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Client, Contact, MessageReview, OutboundMessage, Staff
from models.enums import (
    ApprovalMode,
    Channel,
    ContactRole,
    Detail,
    Language,
    MessageStatus,
    ReviewAction,
    Tier,
    Tone,
)
from review_helpers import TUESDAY_10, compose_for, gated_agency
from tasks.errors import CadenceError
from tasks.messaging import dispatch, plan_delivery, release, retry
from tasks.messaging.outbox import Delivery, Window
from tasks.messaging.review import (
    Waiting,
    approval_mode,
    approval_reminders,
    awaiting,
    awaiting_markdown,
    decide,
    edit_changes,
    gate,
    set_approval,
    text_to_html,
)
from tasks.service_clocks import run_service_clocks
from tasks.transports import FileOutboxTransport

TUESDAY_21 = dt.datetime(2026, 11, 24, 13, 0, tzinfo=dt.timezone.utc)
SHANGHAI = Window("Asia/Shanghai", "CN", dt.time(9), dt.time(18))


# --- pure logic: no database, no Prefect -------------------------------------------------------------------

@pytest.mark.parametrize(("settings", "tier", "kind", "expected"), [
    ({}, "strategic", "recap", "am_approves"),
    ({}, "strategic", "client_update", "am_approves"),
    ({}, "potential", "recap", "auto"),
    ({}, "regular", "strategy_pack", "auto"),
    (None, Tier.STRATEGIC, "strategy_pack", "am_approves"),
    ({"approval": {"recap": "auto"}}, "strategic", "recap", "auto"),
    ({"approval": {"recap": "auto"}}, "strategic", "client_update", "am_approves"),
    ({"approval": {"client_update": "am_approves"}}, "regular", "client_update", "am_approves"),
    ({"approval": {"recap": "am_approves"}}, "regular", "strategy_pack", "auto"),
    ({"approval": {"recap": "nonsense"}}, "regular", "recap", "am_approves"),
    ({"approval": {"crisis-facts": "am_approves"}}, "strategic", "crisis-facts", "auto"),
    ({}, "strategic", "crisis-solution", "auto"),
])
def test_approval_mode_by_setting_tier_and_kind(settings, tier, kind, expected):
    assert approval_mode(settings, tier, kind) == ApprovalMode(expected)


@pytest.mark.parametrize(("plan", "mode", "expected"), [
    (Delivery(MessageStatus.QUEUED), ApprovalMode.AM_APPROVES, MessageStatus.AWAITING_APPROVAL),
    (Delivery(MessageStatus.HELD, TUESDAY_10, "outside"), ApprovalMode.AM_APPROVES, MessageStatus.AWAITING_APPROVAL),
    (Delivery(MessageStatus.MANUAL, None, "phone"), ApprovalMode.AM_APPROVES, MessageStatus.MANUAL),
    (Delivery(MessageStatus.QUEUED), ApprovalMode.AUTO, MessageStatus.QUEUED),
    (Delivery(MessageStatus.HELD, TUESDAY_10, "outside"), ApprovalMode.AUTO, MessageStatus.HELD),
])
def test_gate_only_holds_what_dispatch_would_send(plan, mode, expected):
    gated = gate(plan, mode)
    assert gated.status == expected
    if expected == MessageStatus.AWAITING_APPROVAL:
        assert gated.hold_until is None, "an approval wait has no time-out that would release it"


@pytest.mark.parametrize(("kind", "mode", "error"), [
    ("crisis-facts", "am_approves", "not gated"),
    ("crisis", "am_approves", "not gated"),
    ("birthday", "auto", "unknown message kind"),
    ("recap", "sometimes", "unknown approval mode"),
])
def test_set_approval_refuses_bad_input(kind, mode, error):
    with pytest.raises(CadenceError, match=error):
        set_approval({}, kind, mode)


def test_set_approval_sets_and_resets_without_touching_other_settings():
    settings = set_approval({"standup_updates": "every"}, "recap", "auto")
    assert settings == {"standup_updates": "every", "approval": {"recap": "auto"}}
    assert set_approval(settings, "recap", None) == {"standup_updates": "every"}


def _waiting(kind: str, since: dt.datetime, message_id: int = 1) -> Waiting:
    return Waiting(message_id, 7, "acme", kind, "li@client.example", "zh", "Subject", since, SHANGHAI)


@pytest.mark.parametrize(("kind", "at", "steps"), [
    ("recap", TUESDAY_10 + dt.timedelta(hours=3, minutes=59), []),
    ("recap", TUESDAY_10 + dt.timedelta(hours=4), ["am"]),
    ("recap", TUESDAY_10 + dt.timedelta(hours=7, minutes=59), ["am"]),
    ("recap", TUESDAY_10 + dt.timedelta(hours=8), ["am", "team-lead"]),
    ("client_update", TUESDAY_10 + dt.timedelta(hours=2), ["am"]),
    ("client_update", TUESDAY_10 + dt.timedelta(hours=4), ["am", "team-lead"]),
    # Composed at 21:00 local: the clock starts when business hours open next morning.
    ("recap", TUESDAY_21 + dt.timedelta(hours=12), []),
    ("recap", TUESDAY_21 + dt.timedelta(hours=17), ["am"]),
])
def test_approval_reminders_run_in_business_time(kind, at, steps):
    since = TUESDAY_21 if at > TUESDAY_21 else TUESDAY_10
    reminders = approval_reminders([_waiting(kind, since)], at)
    assert [r.step for r in reminders] == steps
    assert len({r.period for r in reminders}) == len(reminders), "one idempotency key per step"


def test_edit_changes_and_html_from_text():
    changes = edit_changes("Old", "New", "Hello\nline two\n", "Hello\nline 2\n")
    assert changes["subject"] == {"before": "Old", "after": "New"}
    assert "-line two" in changes["body_diff"] and "+line 2" in changes["body_diff"]
    assert edit_changes("Same", "Same", "x\n", "x\n") == {}
    html = text_to_html("Dear <Li>,\n\nSpend & leads\nrose.")
    assert "&lt;Li&gt;" in html and "<Li>" not in html and "Spend &amp; leads<br>rose." in html


def test_awaiting_markdown_lists_ids_and_escapes_pipes():
    markdown = awaiting_markdown([Waiting(42, 7, "acme", "recap", "li@x.example", "zh", "a | b", TUESDAY_10,
                                          SHANGHAI)], TUESDAY_10)
    assert "| 42 | acme | recap |" in markdown and "a / b" in markdown and "message-approval" in markdown
    assert "li@x.example" not in markdown  # an artifact carries no client contact's email
    assert "Nothing is waiting" in awaiting_markdown([], TUESDAY_10)


# --- on the database (SQLite and PostgreSQL) ----------------------------------------------------------------

def _message(engine, message_id: int) -> OutboundMessage:
    with Session(engine) as s:
        return s.get(OutboundMessage, message_id)


def _decide(engine, message_id: int, action: str, by: str = "am@agency.example", at: dt.datetime = TUESDAY_10,
            **kw):
    with Session(engine) as s, s.begin():
        return decide(s, message_id, action, by, at, **kw)


def test_dispatch_never_sends_a_message_awaiting_approval_until_it_is_approved(engine, tmp_path: Path):
    ids = gated_agency(engine)
    message_id = compose_for(engine, ids)
    assert _message(engine, message_id).status == MessageStatus.AWAITING_APPROVAL
    transport = FileOutboxTransport(tmp_path / "outbox", "cadence@agency.example")
    for hours in (0, 30, 24 * 30):
        report = dispatch(engine, transport, now=TUESDAY_10 + dt.timedelta(hours=hours))
        assert report.attempted == 0 and report.sent == 0
    assert not list((tmp_path / "outbox").glob("*.eml"))
    assert release(engine, [message_id]) == 0 and retry(engine, [message_id]) == 0, "no side door past the gate"

    decision = _decide(engine, message_id, "approve", note="fine", at=TUESDAY_10 + dt.timedelta(hours=1))
    assert decision.status == MessageStatus.QUEUED
    assert dispatch(engine, transport, now=TUESDAY_10 + dt.timedelta(hours=1)).sent == 1
    assert _message(engine, message_id).status == MessageStatus.SENT
    with Session(engine) as s:
        review = s.scalars(select(MessageReview)).one()
        assert (review.message_id, review.action, review.staff_id, review.note, review.changes) == \
            (message_id, ReviewAction.APPROVE, ids["am"], "fine", {})
        assert review.at == TUESDAY_10 + dt.timedelta(hours=1)


def test_an_auto_client_is_sent_as_composed_and_a_crisis_never_waits(engine):
    ids = gated_agency(engine, tier=Tier.REGULAR)
    assert _message(engine, compose_for(engine, ids)).status == MessageStatus.QUEUED
    strategic = _agency_second(engine)
    crisis = compose_for(engine, strategic, kind="crisis-facts", is_crisis=True, now=TUESDAY_21)
    assert _message(engine, crisis).status == MessageStatus.QUEUED, "a crisis notice neither waits nor is held"


def _agency_second(engine) -> dict[str, int]:
    with Session(engine) as s, s.begin():
        am = s.scalars(select(Staff).where(Staff.email == "am@agency.example")).one()
        client = Client(slug="bigco", name="BigCo", industry="retail", market="CN", time_zone="Asia/Shanghai",
                        currency="CNY", cooperation_start=dt.date(2024, 1, 1), owner_am_id=am.id,
                        tier=Tier.STRATEGIC)
        contact = Contact(client=client, name="Wang", email="wang@bigco.example", role=ContactRole.OPERATOR,
                          language=Language.EN, tone=Tone.FRIENDLY, detail=Detail.SUMMARY, channel=Channel.EMAIL)
        s.add(contact)
        s.flush()
        return {"client": client.id, "contact": contact.id}


def test_a_client_setting_overrides_the_tier_default(engine):
    ids = gated_agency(engine, tier=Tier.STRATEGIC)
    with Session(engine) as s, s.begin():
        client = s.get(Client, ids["client"])
        client.settings = set_approval(client.settings, "recap", "auto")
    assert _message(engine, compose_for(engine, ids, kind="recap")).status == MessageStatus.QUEUED
    assert _message(engine, compose_for(engine, ids, kind="client_update")).status == MessageStatus.AWAITING_APPROVAL


def test_approval_outside_business_hours_holds_until_they_open(engine):
    ids = gated_agency(engine)
    message_id = compose_for(engine, ids)
    decision = _decide(engine, message_id, "approve", at=TUESDAY_21)
    expected = plan_delivery(Channel.EMAIL, SHANGHAI, False, TUESDAY_21)
    assert decision.status == MessageStatus.HELD and decision.hold_until == expected.hold_until
    assert _message(engine, message_id).hold_until == expected.hold_until


def test_edit_changes_the_text_records_the_diff_and_approves(engine):
    ids = gated_agency(engine)
    message_id = compose_for(engine, ids)
    _decide(engine, message_id, "edit", by="lead@agency.example", subject="October: spend up\r\n12%",
            body="Spend rose by 12%.\n\nAnna", note="softer")
    m = _message(engine, message_id)
    assert (m.status, m.subject) == (MessageStatus.QUEUED, "October: spend up 12%")
    assert m.body_text == "Spend rose by 12%.\n\nAnna\n" and "<p>Anna</p>" in m.body_html
    with Session(engine) as s:
        review = s.scalars(select(MessageReview)).one()
    assert review.action == ReviewAction.EDIT and review.staff_id == ids["lead"]
    assert review.changes["subject"] == {"before": "Your October recap", "after": "October: spend up 12%"}
    assert "-Spend rose." in review.changes["body_diff"] and "+Spend rose by 12%." in review.changes["body_diff"]


def test_reject_is_terminal_and_never_sent(engine, tmp_path: Path):
    ids = gated_agency(engine)
    message_id = compose_for(engine, ids)
    with pytest.raises(CadenceError, match="needs a reason"):
        _decide(engine, message_id, "reject")
    _decide(engine, message_id, "reject", by="boss@agency.example", note="figures not final")
    assert _message(engine, message_id).status == MessageStatus.REJECTED
    report = dispatch(engine, FileOutboxTransport(tmp_path / "outbox", "c@agency.example"), now=TUESDAY_10)
    assert report.attempted == 0
    with pytest.raises(CadenceError, match="is rejected, not awaiting approval"):
        _decide(engine, message_id, "approve")


@pytest.mark.parametrize(("message", "by", "action", "kw", "error"), [
    (999, "am@agency.example", "approve", {}, "no message 999"),
    (None, "nobody@agency.example", "approve", {}, "no staff member"),
    (None, "other@agency.example", "approve", {}, "not the AM, team lead or director of acme"),
    (None, "am@agency.example", "approve", {"subject": "x"}, "choose edit"),
    (None, "am@agency.example", "edit", {}, "needs a new subject or body"),
    (None, "am@agency.example", "edit", {"subject": "Your October recap"}, "needs a new subject or body"),
    (None, "am@agency.example", "send", {}, "unknown decision"),
])
def test_bad_decisions_are_one_line_errors_and_change_nothing(engine, message, by, action, kw, error):
    ids = gated_agency(engine)
    message_id = compose_for(engine, ids)
    with pytest.raises(CadenceError, match=error):
        _decide(engine, message or message_id, action, by=by, **kw)
    assert _message(engine, message_id).status == MessageStatus.AWAITING_APPROVAL
    with Session(engine) as s:
        assert s.scalars(select(MessageReview)).first() is None


def test_the_status_check_constraint_knows_the_new_states_and_refuses_others(engine):
    ids = gated_agency(engine)
    message_id = compose_for(engine, ids)
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbound_message SET status = 'rejected' WHERE id = :id"), {"id": message_id})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE outbound_message SET status = 'approved-ish' WHERE id = :id"), {"id": message_id})


def test_the_watch_reminds_the_am_then_the_team_lead_once_each(engine):
    ids = gated_agency(engine)
    message_id = compose_for(engine, ids)
    with Session(engine) as s, s.begin():
        s.get(OutboundMessage, message_id).created_at = TUESDAY_10  # composed then, not at the test's wall clock

    def reminders() -> list[tuple[str, str]]:
        with Session(engine) as s:
            return [(m.kind, m.recipient) for m in s.scalars(
                select(OutboundMessage).where(OutboundMessage.kind.like("approval-%")).order_by(OutboundMessage.id))]

    for at in (TUESDAY_10 + dt.timedelta(hours=3), TUESDAY_10 + dt.timedelta(hours=4, minutes=15),
               TUESDAY_10 + dt.timedelta(hours=5), TUESDAY_10 + dt.timedelta(hours=8, minutes=15),
               TUESDAY_10 + dt.timedelta(hours=9)):
        with Session(engine) as s, s.begin():
            found = run_service_clocks(s, at).found
        assert found["awaiting_approval"] == 1
        if at == TUESDAY_10 + dt.timedelta(hours=3):
            assert reminders() == []
    assert reminders() == [("approval-reminder", "am@agency.example"), ("approval-overdue", "lead@agency.example")]
    with Session(engine) as s:
        body = s.scalars(select(OutboundMessage.body_text).where(OutboundMessage.kind == "approval-overdue")).one()
    assert f"cadence outbox approve|edit|reject {message_id}" in body
    _decide(engine, message_id, "approve", at=TUESDAY_10 + dt.timedelta(hours=9))
    with Session(engine) as s, s.begin():
        assert run_service_clocks(s, TUESDAY_10 + dt.timedelta(days=3)).found["awaiting_approval"] == 0
        assert awaiting(s) == []
