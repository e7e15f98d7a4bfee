"""The agency's rules as tables, and the proof that the service watch and the stand-up read them alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from models.enums import Tier
from tasks import rules
from tasks.messaging.outbox import Window
from tasks.rules import request_deadlines, working_days_between

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


@pytest.mark.parametrize(("start", "end", "country", "days"), [
    (dt.date(2026, 11, 26), dt.date(2026, 11, 30), "CN", 2),   # Thu → Mon: Friday and Monday
    (dt.date(2026, 9, 30), dt.date(2026, 10, 8), "CN", 1),     # Golden Week
    (dt.date(2026, 3, 6), dt.date(2026, 3, 10), "RU", 1),      # 9 March off
    (dt.date(2026, 11, 30), dt.date(2026, 11, 30), "CN", 0),
])
def test_working_days_between(start, end, country, days):
    assert working_days_between(start, end, country) == days


@pytest.mark.parametrize(("stage", "before_due", "expected"), [
    ("confirm", dt.timedelta(minutes=21), None), ("confirm", dt.timedelta(minutes=20), "warning"),
    ("plan", dt.timedelta(hours=5), None), ("plan", dt.timedelta(hours=4), "warning"),
    ("deliver", dt.timedelta(hours=25), None), ("deliver", dt.timedelta(hours=24), "warning"),
    ("plan", dt.timedelta(0), "breach"), ("deliver", -dt.timedelta(days=3), "breach"),
])
def test_a_stage_is_near_a_breach_in_proportion_to_its_length(stage, before_due, expected):
    due = dt.datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert rules.stage_state(stage, due, due - before_due) == expected


@pytest.mark.parametrize(("tier", "settings", "allowed"), [
    ("strategic", {}, 3), ("potential", None, 5), (Tier.REGULAR, {}, 7), ("regular", {"write_first_days": 2}, 2),
    ("strategic", {"write_first_days": "10"}, 10),
])
def test_write_first_allowance_is_the_clients_setting_else_its_tiers(tier, settings, allowed):
    assert rules.write_first_days(tier, settings) == allowed


@pytest.mark.parametrize(("last", "as_of", "silent"), [
    # Thursday 23:30 in Shanghai is still Thursday there: Friday and Monday are the working days since.
    (dt.datetime(2026, 11, 26, 15, 30, tzinfo=UTC), dt.datetime(2026, 11, 30, 9, 0, tzinfo=SH), 2),
    (None, dt.datetime(2026, 11, 30, 9, 0, tzinfo=SH), 1),  # never written: counted from cooperation (Friday)
])
def test_silence_counts_working_days_of_the_clients_market(last, as_of, silent):
    assert rules.silent_days(last, as_of, "Asia/Shanghai", "CN", dt.date(2026, 11, 27)) == silent
    assert rules.write_first_due(3, 3) is False and rules.write_first_due(4, 3) is True


@pytest.mark.parametrize(("tier", "settings", "weekday", "expected"), [
    ("strategic", {}, 3, True), ("regular", {}, 3, False), ("regular", {}, 0, True),
    ("regular", {"standup_updates": "every"}, 3, False),  # only potential clients choose
    ("potential", {"standup_updates": "every"}, 3, True), ("potential", {}, 3, False),
    ("potential", {"standup_updates": "never"}, 0, False),
])
def test_who_gets_a_client_update_at_a_standup(tier, settings, weekday, expected):
    as_of = dt.date(2026, 11, 23) + dt.timedelta(days=weekday)
    assert rules.wants_update(tier, settings, as_of) is expected


@pytest.mark.parametrize(("tier", "settings", "expected"), [("strategic", {}, True), ("potential", {}, False),
                                                            ("potential", {"quarterly_pack": True}, True),
                                                            ("regular", {"quarterly_pack": True}, False)])
def test_who_gets_the_quarterly_pack(tier, settings, expected):
    assert rules.wants_pack(tier, settings) is expected


def test_severities_rank_most_severe_first():
    assert sorted(["info", "critical", "warning"], key=rules.SEVERITY_RANK.__getitem__) == list(rules.SEVERITIES)
    assert rules.most_severe(["warning", "info", "critical", "warning"]) == "critical"
    assert rules.most_severe(iter(["info", "warning"])) == "warning"


def test_the_standup_schedule_is_the_deployments_cron():
    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "prefect.yaml").read_text())
    standup = next(d for d in spec["deployments"] if d["name"] == "standup-summary")
    cron_days = standup["schedules"][0]["cron"].split()[4]
    assert sorted((int(d) - 1) % 7 for d in cron_days.split(",")) == sorted(rules.STANDUP_WEEKDAYS)


START = dt.datetime(2026, 11, 20, 9, 0, tzinfo=SH)  # a Friday morning in Shanghai


def _client(engine, tier: Tier, settings: dict, last_written: dt.datetime | None) -> int:
    """One client in Shanghai with an unacknowledged and an acknowledged request, and perhaps one call from us."""
    from sqlalchemy.orm import Session

    from models import Client, ClientRequest, Interaction, Staff
    from models.enums import Channel, Direction, RequestStatus, StaffRole

    with Session(engine) as s, s.begin():
        am = Staff(name="Li Wei", email="li@agency.example", role=StaffRole.AM)
        s.add(am)
        s.flush()
        client = Client(slug="acme", name="Acme", industry="retail", market="CN", time_zone="Asia/Shanghai",
                        currency="CNY", tier=tier, cooperation_start=dt.date(2026, 11, 16), owner_am_id=am.id,
                        tier_computed_at=START, settings=settings)
        s.add(client)
        s.flush()
        for reference, acknowledged in (("REQ-1", None), ("REQ-2", START + dt.timedelta(minutes=10))):
            due = request_deadlines(START, CN, tier.value)
            s.add(ClientRequest(client_id=client.id, reference=reference, title="Plan for 双11",
                                status=RequestStatus.ACKNOWLEDGED if acknowledged else RequestStatus.OPEN,
                                received_at=START, confirm_due_at=due.confirm, plan_due_at=due.plan,
                                deliver_due_at=due.deliver, acknowledged_at=acknowledged))
        if last_written is not None:
            s.add(Interaction(client_id=client.id, direction=Direction.OUTBOUND, channel=Channel.PHONE,
                              occurred_at=last_written, summary="weekly call"))
        return client.id


@pytest.mark.parametrize(("tier", "settings", "last_written"), [
    (Tier.STRATEGIC, {}, START + dt.timedelta(hours=8)),
    (Tier.REGULAR, {}, START + dt.timedelta(hours=15)),  # 00:00 Saturday in Shanghai: a day off
    (Tier.REGULAR, {"write_first_days": 1}, START),  # the client's own allowance, not its tier's
    (Tier.POTENTIAL, {}, None),  # never written to: silence counts from the start of cooperation
])
def test_the_service_watch_and_the_standup_agree(engine, tier, settings, last_written):
    """Same client, same silence, same clock: the same write-first and the same near-breach verdicts."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models import ClientRequest
    from tasks.reports import content, data
    from tasks.reports.periods import standup_periods
    from tasks.service_clocks import load_clients, load_open_requests, load_silences
    from tasks.sla import request_alerts, write_first_nudges

    cid = _client(engine, tier, settings, last_written)
    chunk = data.load_chunk(engine, [cid], START.date(), START.date(), START)  # what the stand-up reads
    with Session(engine) as s:
        clients = load_clients(s)  # what the watch reads
        silences, requests = load_silences(s, clients), load_open_requests(s, clients)
        rows = s.scalars(select(ClientRequest).order_by(ClientRequest.reference)).all()
    seen = set()
    for hours in range(0, 16 * 24, 3):
        now = START + dt.timedelta(hours=hours, minutes=7)
        # The stand-up row's verdicts (standup_row spreads write_first in and files requests by sla_state).
        not_contacted = content.write_first(chunk.clients[0], chunk.last_contact[cid], now)["not_contacted"]
        assert not_contacted is bool(write_first_nudges(silences, now)), now
        kinds: dict[str, set[str]] = {r.reference: set() for r in rows}
        for alert in request_alerts(requests, now):
            kinds[alert.reference].add(alert.kind)
        watch = {ref: "breached" if "breach" in k else ("near" if k else "on_track") for ref, k in kinds.items()}
        assert {r.reference: data.sla_state(r, now)["state"] for r in rows} == watch, now
        seen |= {not_contacted, *watch.values()}
    assert seen == {"on_track", "near", "breached", False, True}, "the clock ran through every verdict"
    row = content.standup_row(chunk.clients[0], chunk.metrics, standup_periods(now.date()), [], [], [],
                              [data.sla_state(r, now) for r in rows], [], chunk.last_contact[cid], now.date(), now)
    assert row["not_contacted"] is not_contacted and len(row["sla_breached"]) == list(watch.values()).count("breached")
