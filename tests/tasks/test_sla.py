"""The service watch as tables: request alerts, write first, unresponsive, replies owed, key dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from models.enums import Channel, Tier
from tasks.market_calendar import next_occurrence
from tasks.messaging.outbox import Window
from tasks.rules import write_first_days
from tasks.sla import (
    KeyDateRow,
    OpenRequest,
    Silence,
    Unanswered,
    key_date_reminders,
    other_channels,
    reply_owed,
    request_alerts,
    unresponsive,
    write_first_nudges,
)

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
CN = Window("Asia/Shanghai", "CN", dt.time(9), dt.time(18))


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


def _silence(tier: Tier, last: dt.datetime | None) -> Silence:
    return Silence(3, write_first_days(tier), "Asia/Shanghai", "CN", last, dt.date(2025, 1, 1))


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
