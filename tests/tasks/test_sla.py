"""Service clocks as tables: 1-3-7 deadlines in business time, alerts, write first, unresponsive, key dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from models.enums import Channel, Tier
from tasks.messaging.outbox import Window
from tasks.sla import (
    KeyDateRow,
    OpenRequest,
    Silence,
    Unanswered,
    key_date_reminders,
    next_occurrence,
    other_channels,
    reply_owed,
    request_alerts,
    request_deadlines,
    unresponsive,
    working_days_between,
    write_first_nudges,
)

SH, MSK, NY = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Moscow"), ZoneInfo("America/New_York")
UTC = dt.timezone.utc
CN = Window("Asia/Shanghai", "CN", dt.time(9), dt.time(18))
RU = Window("Europe/Moscow", "RU", dt.time(10), dt.time(19))
US = Window("America/New_York", "US", dt.time(9), dt.time(17))


@pytest.mark.parametrize(("received", "window", "tier", "confirm", "plan", "deliver"), [
    # Tuesday 10:00 in Shanghai: one business hour, then 3 and 7 working days of 9 hours.
    (dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), CN, Tier.REGULAR, dt.datetime(2026, 11, 24, 11, 0, tzinfo=SH),
     dt.datetime(2026, 11, 27, 10, 0, tzinfo=SH), dt.datetime(2026, 12, 3, 10, 0, tzinfo=SH)),
    # Friday evening: the clock starts on Monday morning; the plan is due at the end of Wednesday.
    (dt.datetime(2026, 11, 27, 19, 30, tzinfo=SH), CN, Tier.REGULAR, dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH),
     dt.datetime(2026, 12, 2, 18, 0, tzinfo=SH), dt.datetime(2026, 12, 8, 18, 0, tzinfo=SH)),
    # 23:59 on a Thursday counts from Friday 09:00.
    (dt.datetime(2026, 11, 26, 23, 59, tzinfo=SH), CN, Tier.REGULAR, dt.datetime(2026, 11, 27, 10, 0, tzinfo=SH),
     dt.datetime(2026, 12, 1, 18, 0, tzinfo=SH), dt.datetime(2026, 12, 7, 18, 0, tzinfo=SH)),
    # Golden Week: 30 minutes left on 30 Sep, the rest after the holidays; 10 Oct (Saturday) is a make-up workday.
    (dt.datetime(2026, 9, 30, 17, 30, tzinfo=SH), CN, Tier.REGULAR, dt.datetime(2026, 10, 8, 9, 30, tzinfo=SH),
     dt.datetime(2026, 10, 10, 17, 30, tzinfo=SH), dt.datetime(2026, 10, 15, 17, 30, tzinfo=SH)),
    # Russia: 8 March falls on a Sunday in 2026 and Monday 9 March is the day off.
    (dt.datetime(2026, 3, 6, 18, 30, tzinfo=MSK), RU, Tier.REGULAR, dt.datetime(2026, 3, 10, 10, 30, tzinfo=MSK),
     dt.datetime(2026, 3, 12, 18, 30, tzinfo=MSK), dt.datetime(2026, 3, 18, 18, 30, tzinfo=MSK)),
    # New York across the spring DST change (8 March 2026): half an hour on Friday, half on Monday in EDT.
    (dt.datetime(2026, 3, 6, 16, 30, tzinfo=NY), US, Tier.REGULAR, dt.datetime(2026, 3, 9, 9, 30, tzinfo=NY),
     dt.datetime(2026, 3, 11, 16, 30, tzinfo=NY), dt.datetime(2026, 3, 17, 16, 30, tzinfo=NY)),
    # Strategic clients: confirm in 30 minutes, plan in 2 working days, deliver in 5.
    (dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), CN, Tier.STRATEGIC, dt.datetime(2026, 11, 24, 10, 30, tzinfo=SH),
     dt.datetime(2026, 11, 26, 10, 0, tzinfo=SH), dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)),
])
def test_request_deadlines_run_in_the_clients_business_time(received, window, tier, confirm, plan, deliver):
    due = request_deadlines(received, window, tier)
    assert (due.confirm, due.plan, due.deliver) == (confirm, plan, deliver)
    assert due.confirm.tzinfo == UTC


def _request(**done) -> OpenRequest:
    base = dt.datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    return OpenRequest(1, 7, "REQ-1", "Plan for 双11", Tier.REGULAR, base + dt.timedelta(hours=1),
                       base + dt.timedelta(days=3), base + dt.timedelta(days=7),
                       done.get("ack"), done.get("plan"), done.get("deliver"))


@pytest.mark.parametrize(("minutes_after_receipt", "done", "expected"), [
    (30, {}, []),
    (45, {}, [("confirm", "warning")]),
    (60, {}, [("confirm", "breach")]),
    (60, {"ack": dt.datetime(2026, 11, 24, 2, 50, tzinfo=UTC)}, []),
    (3 * 1440 - 60, {"ack": dt.datetime(2026, 11, 24, 2, 50, tzinfo=UTC)}, [("plan", "warning")]),
    (8 * 1440, {"ack": dt.datetime(2026, 11, 24, 2, 50, tzinfo=UTC)}, [("plan", "breach"), ("deliver", "breach")]),
])
def test_request_alerts_warn_before_and_report_after(minutes_after_receipt, done, expected):
    as_of = dt.datetime(2026, 11, 24, 2, 0, tzinfo=UTC) + dt.timedelta(minutes=minutes_after_receipt)
    assert [(a.stage, a.kind) for a in request_alerts([_request(**done)], as_of)] == expected


def test_a_reminder_for_the_same_deadline_has_the_same_period():
    early = request_alerts([_request()], dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    later = request_alerts([_request()], dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert early[0].period == later[0].period == "r1-confirm-202611240300"


@pytest.mark.parametrize(("start", "end", "country", "days"), [
    (dt.date(2026, 11, 26), dt.date(2026, 11, 30), "CN", 2),   # Thu → Mon: Friday and Monday
    (dt.date(2026, 9, 30), dt.date(2026, 10, 8), "CN", 1),     # Golden Week
    (dt.date(2026, 3, 6), dt.date(2026, 3, 10), "RU", 1),      # 9 March off
    (dt.date(2026, 11, 30), dt.date(2026, 11, 30), "CN", 0),
])
def test_working_days_between(start, end, country, days):
    assert working_days_between(start, end, country) == days


def _silence(tier: Tier, last: dt.datetime | None) -> Silence:
    return Silence(3, tier, "Asia/Shanghai", "CN", last, dt.date(2025, 1, 1))


@pytest.mark.parametrize(("tier", "last_local", "as_of_local", "nudged"), [
    (Tier.STRATEGIC, dt.datetime(2026, 11, 26, 15, 0), dt.datetime(2026, 11, 30, 10, 0), False),  # weekend
    (Tier.STRATEGIC, dt.datetime(2026, 11, 26, 15, 0), dt.datetime(2026, 12, 2, 10, 0), True),   # 4 working days
    (Tier.REGULAR, dt.datetime(2026, 11, 20, 15, 0), dt.datetime(2026, 11, 30, 10, 0), False),   # 6 of 7
    (Tier.REGULAR, dt.datetime(2026, 11, 20, 15, 0), dt.datetime(2026, 12, 2, 10, 0), True),
    (Tier.REGULAR, None, dt.datetime(2026, 12, 2, 10, 0), True),                                  # never written to
])
def test_write_first_by_tier_in_working_days(tier, last_local, as_of_local, nudged):
    last = last_local.replace(tzinfo=SH) if last_local else None
    found = write_first_nudges([_silence(tier, last)], as_of_local.replace(tzinfo=SH))
    assert bool(found) is nudged


def test_a_nudge_repeats_only_after_another_allowance_of_silence():
    last = dt.datetime(2026, 11, 2, 15, 0, tzinfo=SH)
    periods = [write_first_nudges([_silence(Tier.STRATEGIC, last)], dt.datetime(2026, 11, d, 10, tzinfo=SH))[0].period
               for d in (6, 9, 10, 11, 12)]
    assert periods[0] == periods[1] == "since-20261102-1"
    assert periods[2] == periods[3] == periods[4] == "since-20261102-2"


def _waiting(interaction_id: int, client_id: int, at: dt.datetime, channel: Channel = Channel.WECHAT) -> Unanswered:
    return Unanswered(interaction_id, client_id, 1, channel, at, "Asia/Shanghai", "CN", True, False)


def test_unresponsive_takes_the_oldest_unanswered_message_after_two_working_days():
    first = _waiting(10, 1, dt.datetime(2026, 11, 25, 11, tzinfo=SH))
    second = _waiting(11, 1, dt.datetime(2026, 11, 26, 11, tzinfo=SH))
    recent = _waiting(12, 2, dt.datetime(2026, 11, 26, 11, tzinfo=SH))
    assert unresponsive([second, first, recent], dt.datetime(2026, 11, 26, 18, tzinfo=SH)) == []
    found = unresponsive([second, first, recent], dt.datetime(2026, 11, 27, 9, tzinfo=SH))
    assert [w.interaction_id for w in found] == [10]


@pytest.mark.parametrize(("channel", "phone", "messenger", "expected"), [
    (Channel.WECHAT, True, True, [Channel.PHONE, Channel.EMAIL]),
    (Channel.EMAIL, True, True, [Channel.PHONE, Channel.MESSENGER]),
    (Channel.EMAIL, False, False, [Channel.PHONE]),
    (Channel.PHONE, False, True, [Channel.EMAIL, Channel.MESSENGER]),
])
def test_other_channels_follow_seed_002(channel, phone, messenger, expected):
    assert other_channels(channel, phone, messenger) == expected


def test_a_reply_is_owed_after_two_business_hours():
    asked = dt.datetime(2026, 11, 27, 17, 30, tzinfo=SH)  # Friday, 30 minutes before closing
    assert not reply_owed(asked, CN, dt.datetime(2026, 11, 30, 10, 29, tzinfo=SH))
    assert reply_owed(asked, CN, dt.datetime(2026, 11, 30, 10, 30, tzinfo=SH))


@pytest.mark.parametrize(("on_date", "recurs", "today", "expected"), [
    (dt.date(1984, 12, 1), True, dt.date(2026, 11, 25), dt.date(2026, 12, 1)),
    (dt.date(1984, 11, 1), True, dt.date(2026, 11, 25), dt.date(2027, 11, 1)),
    (dt.date(1984, 2, 29), True, dt.date(2027, 2, 1), dt.date(2027, 2, 28)),
    (dt.date(2026, 11, 1), False, dt.date(2026, 11, 25), None),
    (dt.date(2026, 11, 25), False, dt.date(2026, 11, 25), dt.date(2026, 11, 25)),
])
def test_next_occurrence(on_date, recurs, today, expected):
    assert next_occurrence(on_date, recurs, today) == expected


def test_key_date_reminders_start_at_the_lead_time_and_stop_after_the_day():
    rows = [KeyDateRow(1, None, "CN", "618", "market_peak", dt.date(2026, 6, 18), True, 7, "book KOLs"),
            KeyDateRow(2, 5, None, "Birthday", "birthday", dt.date(1980, 6, 14), True, 3, "")]
    assert [r.key_date_id for r in key_date_reminders(rows, dt.date(2026, 6, 10))] == []
    assert [(r.key_date_id, r.days_left) for r in key_date_reminders(rows, dt.date(2026, 6, 11))] == [(2, 3), (1, 7)]
    assert [(r.key_date_id, r.days_left) for r in key_date_reminders(rows, dt.date(2026, 6, 12))] == [(2, 2), (1, 6)]
    after = key_date_reminders(rows, dt.date(2026, 6, 19))
    assert after == []
    assert key_date_reminders(rows, dt.date(2026, 6, 18))[0].period == "kd1-20260618"


AT = dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _agency(engine) -> dict[str, int]:
    """An AM (Russian), a team lead (Chinese), a regular and a strategic client, each with a request left untouched
    for ten days: every stage of both is overdue."""
    from sqlalchemy.orm import Session

    from models import Client, ClientRequest, Staff
    from models.enums import Language, RequestStatus, StaffRole

    with Session(engine) as s, s.begin():
        am = Staff(name="Анна Петрова", email="anna@agency.example", role=StaffRole.AM, language=Language.RU)
        lead = Staff(name="李伟", email="li@agency.example", role=StaffRole.TEAM_LEAD, language=Language.ZH)
        s.add_all([am, lead])
        s.flush()
        ids = {}
        for slug, tier in (("romashka", Tier.REGULAR), ("berezka", Tier.STRATEGIC)):
            client = Client(slug=slug, name=slug.title(), industry="retail", market="RU", time_zone="Europe/Moscow",
                            currency="RUB", tier=tier, cooperation_start=AT.date(), owner_am_id=am.id,
                            team_lead_id=lead.id, tier_computed_at=AT)
            s.add(client)
            s.flush()
            s.add(ClientRequest(client_id=client.id, reference="REQ-0001", title="Новые объявления к распродаже",
                                status=RequestStatus.OPEN, received_at=AT - dt.timedelta(days=10)))
            ids[slug] = client.id
        ids["am"], ids["lead"] = am.id, lead.id
    return ids


def test_one_overdue_request_is_one_email_per_recipient_per_pass(engine):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models import OutboundMessage
    from tasks.sla import run_service_clocks

    ids = _agency(engine)
    with Session(engine) as s, s.begin():
        first = run_service_clocks(s, AT, "Europe/Moscow")
    assert first.found["request_alerts"] == 6, "three overdue stages on each request"
    with Session(engine) as s:
        rows = s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
        per = {}
        for m in rows:
            per.setdefault((m.staff_id, m.client_id), []).append(m.kind)
        # Regular client: one folded reminder to the AM. Strategic client: the crisis notice, to the AM and the lead.
        assert per == {(ids["am"], ids["romashka"]): ["request-breach"],
                       (ids["am"], ids["berezka"]): ["incident-opened"],
                       (ids["lead"], ids["berezka"]): ["incident-opened"]}
        reminder = next(m for m in rows if m.kind == "request-breach")
        assert reminder.language.value == "ru"
        assert reminder.body_text.startswith("Просрочено:") and reminder.subject.startswith("[Просрочка SLA] Romashka")
        for stage in ("подтвердить запрос", "отправить первый план", "сдать промежуточный результат"):
            assert stage in reminder.body_text, reminder.body_text
        assert reminder.meta["stages"] == ["confirm:breach", "plan:breach", "deliver:breach"]
        assert "overdue" not in reminder.body_text and "Record it" not in reminder.body_text
        # The crisis notices, each in its reader's language and zone, list every overdue stage of the request.
        notices = {m.staff_id: m for m in rows if m.kind == "incident-opened"}
        ru, zh = notices[ids["am"]], notices[ids["lead"]]
        assert (ru.language.value, zh.language.value) == ("ru", "zh")
        assert ru.subject.startswith("[инцидент №") and zh.subject.startswith("【事件#")
        assert "По вашему клиенту открыт кризис." in ru.body_text and "Золотой срок:" in ru.body_text
        assert "您的客户出现危机" in zh.body_text and "黄金时限：" in zh.body_text
        assert "A crisis was opened" not in ru.body_text + zh.body_text
        assert all(stage in ru.body_text for stage in ("confirm", "plan", "deliver")), "facts list every stage"

    with Session(engine) as s, s.begin():
        again = run_service_clocks(s, AT + dt.timedelta(minutes=5), "Europe/Moscow")
    assert again.queued == [] and again.incidents == []
    with Session(engine) as s:
        assert len(s.scalars(select(OutboundMessage)).all()) == len(rows)
