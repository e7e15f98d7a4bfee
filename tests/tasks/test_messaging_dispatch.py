"""Dispatch rules against a local server speaking SendGrid v3, through the real `sendgrid` client."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import socket
import time

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cadence.demo.fakes.sendgrid_server import FakeSendGrid, Scripted, attachments_of, rate_limited
from fake_clock import Sleeps
from messaging_helpers import API_KEY, SENDER, client_with_contact, put, rows, transport
from models import OutboundMessage, Report
from models.enums import Audience, Channel, Language, MessageStatus, ReportKind
from tasks.messaging import DispatchPolicy, dispatch, retry
from tasks.messaging.outbox import INTERRUPTED, T
from tasks.transports import FileOutboxTransport

FAST = DispatchPolicy(max_per_second=0, backoff_s=0.01, backoff_cap_s=0.05)


@pytest.fixture
def fake():
    with FakeSendGrid(api_key=API_KEY) as server:
        yield server


def _all(engine) -> list[OutboundMessage]:
    with Session(engine) as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_accepted_is_sent_once_with_provider_id_and_our_ids_in_custom_args(engine, fake):
    put(engine, rows(3))
    report = dispatch(engine, transport(fake.url), policy=FAST)
    assert report.sent == 3
    messages = _all(engine)
    assert {m.status for m in messages} == {MessageStatus.SENT}
    assert all(m.provider == "sendgrid" and m.provider_message_id and m.sent_at and m.attempts == 1 for m in messages)
    assert fake.deliveries == {m.idempotency_key: 1 for m in messages}
    # Several messages are in flight at once, so the fake may receive them in any order.
    payload = next(p for p in fake.received if p["custom_args"]["cadence_id"] == str(messages[0].id))
    assert payload["custom_args"] == {"cadence_key": messages[0].idempotency_key, "cadence_id": str(messages[0].id)}
    assert [c["type"] for c in payload["content"]] == ["text/plain", "text/html"]
    assert (payload["from"]["email"] == SENDER
            and payload["personalizations"][0]["to"][0]["email"] == "user0@agency.example")
    assert dispatch(engine, transport(fake.url), policy=FAST).sent == 0
    assert put(engine, rows(3)) == 0
    assert sum(fake.deliveries.values()) == 3


def test_enqueue_is_idempotent_by_key():
    from tasks.messaging import idempotency_key

    assert idempotency_key("f", None, "2026-11", "A@B.example", "recap") == "f:-:2026-11:a@b.example:recap"


@pytest.mark.parametrize("status", [400, 403, 413])
def test_client_errors_are_dead_at_once_with_the_body_kept(engine, fake, status):
    put(engine, rows(1))
    fake.script(Scripted(status, body={"errors": [{"message": f"reason {status}", "field": "x"}]}))
    report = dispatch(engine, transport(fake.url), policy=FAST)
    [m] = _all(engine)
    assert report.dead == 1 and m.status == MessageStatus.DEAD and m.attempts == 1
    assert m.last_error.startswith(f"{status}:") and f"reason {status}" in m.last_error
    assert dispatch(engine, transport(fake.url), now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1),
                    policy=FAST).attempted == 0


def test_a_wrong_key_is_401_and_dead(engine, fake):
    put(engine, rows(1))
    dispatch(engine, transport(fake.url, key="SG.wrong"), policy=FAST)
    [m] = _all(engine)
    assert m.status == MessageStatus.DEAD and m.last_error.startswith("401:") and "authorization" in m.last_error
    assert fake.deliveries == {}


def test_too_large_for_the_provider_is_413_and_dead(engine):
    with FakeSendGrid(api_key=API_KEY, max_body_bytes=2_000) as small:
        put(engine, rows(1, body_text="x" * 5_000))
        dispatch(engine, transport(small.url), policy=FAST)
    [m] = _all(engine)
    assert m.status == MessageStatus.DEAD and m.last_error.startswith("413:")


def test_429_waits_for_x_ratelimit_reset_then_retries(engine, fake):
    put(engine, rows(2))
    fake.script(rate_limited(after_s=1.0))
    sleeps = Sleeps()
    before = time.time()
    report = dispatch(engine, transport(fake.url), policy=FAST, sleep=sleeps)
    # Two workers send at once: either message may meet the 429, and the other may be accepted first.
    assert report.sent == 2 and sorted(fake.responses) == [202, 202, 429]
    assert sleeps and 0.5 <= max(sleeps) <= (int(before + 1.999) - before) + 0.1
    assert sorted(m.attempts for m in _all(engine)) == [1, 2]


def test_429_with_a_distant_reset_is_failed_until_then(engine, fake):
    put(engine, rows(1))
    fake.script(rate_limited(after_s=600))
    dispatch(engine, transport(fake.url), policy=FAST)
    [m] = _all(engine)
    assert m.status == MessageStatus.FAILED
    assert m.next_attempt_at >= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=590)
    assert dispatch(engine, transport(fake.url), policy=FAST).attempted == 0
    assert dispatch(engine, transport(fake.url), now=m.next_attempt_at, policy=FAST).sent == 1


def test_5xx_backs_off_exponentially_with_jitter_then_sends(engine, fake):
    put(engine, rows(1))
    fake.script(Scripted(500), Scripted(503))
    sleeps = Sleeps()
    policy = DispatchPolicy(max_per_second=0, backoff_s=1.0, backoff_cap_s=30, tries_per_run=3)
    report = dispatch(engine, transport(fake.url), policy=policy, sleep=sleeps, rng=lambda: 1.0)
    assert report.sent == 1 and sleeps == [1.0, 2.0]
    assert dispatch(engine, transport(fake.url), policy=policy, sleep=Sleeps(), rng=lambda: 0.0).sent == 0
    assert _all(engine)[0].attempts == 3


def test_5xx_every_time_is_failed_then_retried_by_later_runs_then_dead(engine, fake):
    put(engine, rows(1))
    fake.script(*[Scripted(500)] * 10)
    policy = DispatchPolicy(max_per_second=0, backoff_s=0.001, tries_per_run=2, max_attempts=4)
    dispatch(engine, transport(fake.url), policy=policy)
    [m] = _all(engine)
    assert m.status == MessageStatus.FAILED and m.attempts == 2 and "500" in m.last_error
    assert m.next_attempt_at > dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30)
    dispatch(engine, transport(fake.url), now=m.next_attempt_at, policy=policy)
    [m] = _all(engine)
    assert m.status == MessageStatus.DEAD and m.attempts == 4 and m.last_error.startswith("gave up after 4 attempts")
    assert fake.deliveries == {}


def test_a_day_long_outage_is_waited_out_crisis_retried_every_few_minutes_and_given_up_after_two_days(engine,
                                                                                                        fake):
    """Dispatch every 15 simulated minutes through 24 hours of 503s: nothing dies, crisis mail is never more than
    5 minutes from its next try, then everything goes once; a message failing for two days is dead."""
    start = dt.datetime(2026, 7, 3, 0, 0, tzinfo=dt.timezone.utc)
    put(engine, rows(2) + rows(1, start=2, is_crisis=True))
    with engine.begin() as conn:
        conn.execute(update(T).values(created_at=start))
    policy = DispatchPolicy(max_per_second=0, backoff_s=0.0, workers=1)  # one at a time: the order is checked
    fake.down = True
    for step in range(96):
        now = start + dt.timedelta(minutes=15 * step)
        dispatch(engine, transport(fake.url), now=now, policy=policy, sleep=lambda s: None)
        waiting = {m.is_crisis: m for m in _all(engine)}
        assert {m.status for m in _all(engine)} <= {MessageStatus.FAILED, MessageStatus.QUEUED}
        assert waiting[True].next_attempt_at <= now + dt.timedelta(minutes=5, seconds=5)
    fake.down = False
    for step in range(1, 30):  # back: the watch dispatches every 15 minutes; backed-off mail goes when due
        dispatch(engine, transport(fake.url), now=start + dt.timedelta(hours=24, minutes=15 * step), policy=policy,
                 sleep=lambda s: None)
    crisis_key = next(m.idempotency_key for m in _all(engine) if m.is_crisis)
    assert fake.accepted[0] == crisis_key
    assert {m.status for m in _all(engine)} == {MessageStatus.SENT} and set(fake.deliveries.values()) == {1}

    put(engine, rows(1, start=9))
    fake.down = True
    late = start + dt.timedelta(days=2, minutes=1)
    with engine.begin() as conn:
        conn.execute(update(T).where(T.c.status == MessageStatus.QUEUED).values(created_at=start))
    dispatch(engine, transport(fake.url), now=late, policy=policy, sleep=lambda s: None)
    dead = [m for m in _all(engine) if m.status == MessageStatus.DEAD]
    assert len(dead) == 1 and dead[0].last_error.startswith("gave up after")


def test_a_network_error_before_the_request_is_retried_later(engine):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    put(engine, rows(1))
    dispatch(engine, transport(f"http://127.0.0.1:{port}"), policy=FAST)
    [m] = _all(engine)
    assert m.status == MessageStatus.FAILED and m.last_error.startswith("network error") and m.attempts == 3


def test_a_hang_after_accepting_is_uncertain_and_never_resent(engine, fake):
    put(engine, rows(2))
    fake.script(Scripted(202, hang_s=3, accept_then_hang=True))
    report = dispatch(engine, transport(fake.url, timeout=0.5), policy=FAST)
    # Two workers send at once, so either message may be the one that meets the hang.
    by_status = {m.status: m for m in _all(engine)}
    assert report.uncertain == 1 and set(by_status) == {MessageStatus.UNCERTAIN, MessageStatus.SENT}
    first = by_status[MessageStatus.UNCERTAIN]
    assert "may have accepted" in first.last_error
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    assert dispatch(engine, transport(fake.url), now=later, policy=FAST).attempted == 0
    assert fake.deliveries[first.idempotency_key] == 1


def test_a_message_found_in_sending_is_marked_uncertain_not_resent(engine, fake):
    put(engine, rows(2))
    with engine.begin() as conn:
        conn.execute(update(T).where(T.c.id == 1).values(status=MessageStatus.SENDING,
                                                         next_attempt_at=dt.datetime.now(dt.timezone.utc)))
        conn.execute(update(T).where(T.c.id == 2).values(
            status=MessageStatus.SENDING, next_attempt_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)))
    report = dispatch(engine, transport(fake.url), policy=FAST)
    stale, live = _all(engine)
    assert (report.recovered_uncertain == 1 and stale.status == MessageStatus.UNCERTAIN
            and stale.last_error == INTERRUPTED)
    assert live.status == MessageStatus.SENDING, "a claim inside its lease belongs to a live dispatcher"
    assert fake.deliveries == {}
    assert retry(engine, [stale.id]) == 1
    assert dispatch(engine, transport(fake.url), policy=FAST).sent == 1


def test_crisis_messages_go_first(engine, fake):
    put(engine, rows(3))
    put(engine, rows(1, start=10, is_crisis=True, kind="crisis"))
    dispatch(engine, transport(fake.url), limit=1, policy=FAST)
    assert [m.kind for m in _all(engine) if m.status == MessageStatus.SENT] == ["crisis"]


def test_the_rate_cap_spaces_sends(engine, fake):
    put(engine, rows(21))
    started = time.monotonic()
    report = dispatch(engine, transport(fake.url), policy=DispatchPolicy(max_per_second=50, batch_size=5))
    assert report.sent == 21 and time.monotonic() - started >= 0.38


def test_client_messages_wait_for_business_hours_unless_crisis(engine, fake):
    client_id, contact_id = client_with_contact(engine)
    saturday = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
    msg = dict(audience=Audience.CLIENT, client_id=client_id, contact_id=contact_id, recipient="li@client.example")
    put(engine, rows(1, **msg, kind="update") + rows(1, start=1, **msg, kind="crisis", is_crisis=True))
    report = dispatch(engine, transport(fake.url), now=saturday, policy=FAST)
    update_msg, crisis_msg = _all(engine)
    assert report.held == 1 and report.sent == 1 and crisis_msg.status == MessageStatus.SENT
    assert update_msg.status == MessageStatus.HELD
    assert update_msg.hold_until == dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.timezone.utc)  # Mon 09:00 Shanghai
    assert dispatch(engine, transport(fake.url), now=saturday + dt.timedelta(hours=20), policy=FAST).sent == 0
    assert dispatch(engine, transport(fake.url), now=update_msg.hold_until, policy=FAST).sent == 1


def test_a_contact_who_prefers_another_channel_gets_a_manual_message(engine, fake):
    client_id, contact_id = client_with_contact(engine, channel=Channel.WECHAT)
    monday = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.timezone.utc)
    put(engine, rows(1, audience=Audience.CLIENT, client_id=client_id, contact_id=contact_id))
    report = dispatch(engine, transport(fake.url), now=monday, policy=FAST)
    [m] = _all(engine)
    assert report.manual == 1 and m.status == MessageStatus.MANUAL and "wechat" in m.hold_reason
    assert fake.deliveries == {}


@pytest.mark.parametrize(("override", "reason"), [
    ({"recipient": "not-an-address"}, "invalid recipient address"),
    ({"recipient": "a@b.example\r\nBcc: victim@evil.example"}, "invalid recipient address"),
    ({"subject": "Hello\r\nBcc: victim@evil.example"}, "line break"),
    ({"body_text": "x" * 10_000_000}, "over the 5 MB limit"),
])
def test_unsendable_messages_are_dead_lettered_with_a_reason_and_never_reach_the_provider(
        engine, fake, override, reason):
    put(engine, rows(1, **override) + rows(1, start=1))
    report = dispatch(engine, transport(fake.url), policy=FAST)
    bad, good = _all(engine)
    assert bad.status == MessageStatus.DEAD and reason in bad.last_error and bad.attempts == 0
    assert good.status == MessageStatus.SENT and report.sent == 1 and len(fake.received) == 1


def test_the_api_key_is_never_logged_nor_shown(engine, fake, caplog):
    put(engine, rows(1))
    caplog.set_level(logging.DEBUG)
    sendgrid = transport(fake.url)
    dispatch(engine, sendgrid, policy=FAST)
    assert any("Request" in r.getMessage() for r in caplog.records), "python-http-client debug logging is on"
    assert API_KEY not in caplog.text and API_KEY not in repr(sendgrid)


def test_the_file_outbox_writes_one_eml_per_message_and_a_resend_overwrites(engine, tmp_path):
    put(engine, rows(2, subject="Привет <b>", body_html="<p>Привет</p>"))
    outbox = FileOutboxTransport(tmp_path / "outbox", SENDER)
    assert dispatch(engine, outbox, policy=FAST).sent == 2
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    retry_ids = [m.id for m in _all(engine)]
    with engine.begin() as conn:
        conn.execute(update(T).values(status=MessageStatus.FAILED, next_attempt_at=None))
    assert retry(engine, retry_ids) == 2 and dispatch(engine, outbox, policy=FAST).sent == 2
    assert sorted((tmp_path / "outbox").glob("*.eml")) == files
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Привет <b>" and parsed["To"] == "user0@agency.example"
    assert parsed.get_body(("plain",)).get_content().strip() == "Body 0"


PDF = b"%PDF-1.4\n% fake report\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def _report(engine, pdf_path: str | None) -> tuple[int, int]:
    """A client (slug `acme`) with a stored recap for 2026-11; returns (client id, report id)."""
    client_id, _contact = client_with_contact(engine)
    with Session(engine) as s, s.begin():
        report = Report(client_id=client_id, kind=ReportKind.RECAP, period="2026-11", language=Language.EN,
                        title="Acme — November 2026", pdf_path=pdf_path)
        s.add(report)
        s.flush()
        return client_id, report.id


def _with_report(client_id: int, report_id: int | None, pdf: str | None, **overrides) -> list[dict]:
    return rows(1, client_id=client_id, report_id=report_id, period="2026-11", kind="recap",
                meta={"report_pdf": pdf}, **overrides)


def test_the_report_pdf_goes_to_sendgrid_as_one_attachment_and_the_report_row_wins_over_meta(engine, fake, tmp_path):
    (tmp_path / "acme.en.pdf").write_bytes(PDF)
    client_id, report_id = _report(engine, str(tmp_path / "acme.en.pdf"))
    put(engine, _with_report(client_id, report_id, str(tmp_path / "stale.pdf")) + rows(1, start=1))
    report = dispatch(engine, transport(fake.url), policy=FAST)
    assert report.sent == 2 and len(fake.received) == 2
    recap, plain = _all(engine)
    by_id = {p["custom_args"]["cadence_id"]: p for p in fake.received}
    [attachment] = by_id[str(recap.id)]["attachments"]
    assert attachment["disposition"] == "attachment"
    assert attachments_of(by_id[str(recap.id)]) == [("acme-2026-11.pdf", "application/pdf", PDF)]
    assert "attachments" not in by_id[str(plain.id)]


def test_the_file_outbox_writes_multipart_mixed_with_the_pdf_from_meta_when_there_is_no_report_row(engine, tmp_path):
    (tmp_path / "recap.pdf").write_bytes(PDF)
    client_id, _report_id = _report(engine, None)
    put(engine, _with_report(client_id, None, str(tmp_path / "recap.pdf")))
    outbox = FileOutboxTransport(tmp_path / "outbox", SENDER)
    assert dispatch(engine, outbox, policy=FAST).sent == 1
    [eml] = (tmp_path / "outbox").glob("*.eml")
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed.get_body(("plain",)).get_content().strip() == "Body 0"
    [part] = [p for p in parsed.iter_attachments()]
    assert part.get_content_type() == "application/pdf" and part.get_filename() == "acme-2026-11.pdf"
    assert part.get_content_disposition() == "attachment" and part.get_content() == PDF


@pytest.mark.parametrize(("make", "reason"), [
    (None, "cannot be read"),
    (lambda path: path.write_bytes(b""), "is empty"),
    (lambda path: path.write_bytes(b"<html>Not found</html>"), "not a PDF"),
    (lambda path: path.write_bytes(PDF + b"0" * 10_000_000), "over the 10 MB attachment limit"),
])
def test_a_missing_unreadable_or_oversized_pdf_is_dead_with_a_reason_and_nothing_is_sent(engine, fake, tmp_path,
                                                                                         make, reason):
    path = tmp_path / "acme.en.pdf"
    if make is not None:
        make(path)
    client_id, report_id = _report(engine, str(path))
    put(engine, _with_report(client_id, report_id, str(path)) + rows(1, start=1))
    report = dispatch(engine, transport(fake.url), policy=FAST)
    recap, plain = _all(engine)
    assert recap.status == MessageStatus.DEAD and recap.attempts == 0 and report.dead == 1
    assert recap.last_error.startswith("not sent: report PDF") and reason in recap.last_error
    assert plain.status == MessageStatus.SENT and report.sent == 1
    assert [p["custom_args"]["cadence_id"] for p in fake.received] == [str(plain.id)]
