"""tasks/today.py: the today view of a small agency, each section populated and each empty, and its artifact keys."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from models import (
    AdAccount,
    Client,
    ClientRequest,
    Contact,
    Finding,
    ImportBatch,
    Incident,
    Interaction,
    OutboundMessage,
    PlatformConnection,
    Staff,
)
from models.enums import (
    Audience,
    Channel,
    ContactRole,
    Direction,
    FindingStatus,
    IncidentSource,
    IncidentStage,
    Language,
    MessageStatus,
    Platform,
    Severity,
    StaffRole,
    Tier,
)
from tasks.today import EMPTY, build_today, client_key, client_views, moment, render_markdown, view_moment

ZONE = "Asia/Shanghai"
# 11:00 in Shanghai, 06:00 in Moscow: a Wednesday inside Shanghai business hours.
AS_OF = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.timezone.utc)
UTC = dt.timezone.utc


def _message(client: Client | None, status: MessageStatus, n: int, **values) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=f"test:{n}", flow="test", kind=values.pop("kind", "client_update"), period="p",
        audience=values.pop("audience", Audience.CLIENT), client_id=client.id if client else None,
        recipient=f"someone{n}@client.example", language=Language.EN, subject=f"Subject {n}",
        body_html="<p>x</p>", body_text=values.pop("body_text", f"Body {n}"), status=status,
        created_at=values.pop("created_at", AS_OF - dt.timedelta(hours=1)), **values)


@pytest.fixture
def agency(engine) -> dict[str, int]:
    """One strategic client with something in every section, and a quiet client with nothing."""
    with Session(engine) as s, s.begin():
        am = Staff(email="pavel@agency.example", name="Pavel Kozlov", role=StaffRole.AM, time_zone="Europe/Moscow")
        lead = Staff(email="lead@agency.example", name="Lena Lead", role=StaffRole.TEAM_LEAD, time_zone="UTC")
        client = Client(slug="merei", name="Merei", industry="real estate", market="KZ", time_zone="Asia/Almaty",
                        currency="KZT", tier=Tier.STRATEGIC, cooperation_start=dt.date(2024, 1, 1), owner_am=am,
                        team_lead=lead)
        quiet = Client(slug="quiet", name="Quiet", industry="retail", market="CN", time_zone=ZONE, currency="CNY",
                       cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        email = Contact(client=client, name="Aigerim", email="aigerim@client.example", role=ContactRole.OPERATOR,
                        language=Language.RU, channel=Channel.EMAIL)
        telegram = Contact(client=client, name="Askhat", email="askhat@client.example",
                           role=ContactRole.DECISION_MAKER, language=Language.RU, channel=Channel.TELEGRAM)
        account = AdAccount(client=client, platform=Platform.YANDEX_DIRECT, external_id="777", name="Merei Direct",
                            currency="KZT", time_zone="Asia/Almaty", created_on=dt.date(2024, 1, 1))
        s.add_all([quiet, email, telegram, account])
        s.flush()
        s.add(Finding(client_id=client.id, account_id=account.id, detector="tracking_broken", day=dt.date(2026, 11, 24),
                      severity=Severity.CRITICAL, evidence={"days": 2, "baseline_conversions_per_day": 50},
                      recommendation="check the tag", status=FindingStatus.ACKNOWLEDGED, acknowledged_by="li.wei"))
        s.add(Finding(client_id=client.id, account_id=account.id, detector="churn_signal", day=dt.date(2026, 11, 23),
                      severity=Severity.CRITICAL, status=FindingStatus.RESOLVED, evidence={},
                      recommendation="resolved: not shown"))
        s.add(Incident(dedupe_key="manual:1", client_id=client.id, source=IncidentSource.MANUAL,
                       opened_at=AS_OF - dt.timedelta(hours=1), cause="tracking broken on Merei Direct",
                       golden_deadline_at=AS_OF + dt.timedelta(hours=3), owner_id=am.id, escalation_level=1,
                       stage=IncidentStage.OPENED))
        s.add(Incident(dedupe_key="manual:2", client_id=client.id, source=IncidentSource.MANUAL,
                       opened_at=AS_OF - dt.timedelta(days=3), cause="closed: not shown",
                       golden_deadline_at=AS_OF - dt.timedelta(days=2), owner_id=am.id,
                       stage=IncidentStage.CLOSED, closed_at=AS_OF - dt.timedelta(days=1)))
        received = AS_OF - dt.timedelta(days=2)
        s.add(ClientRequest(client_id=client.id, reference="REQ-1", title="New landing page tracking",
                            received_at=received, confirm_due_at=received + dt.timedelta(hours=1),
                            plan_due_at=AS_OF + dt.timedelta(days=2), deliver_due_at=AS_OF + dt.timedelta(days=5)))
        s.add_all([
            _message(client, MessageStatus.SENT, 1, contact_id=email.id, sent_at=AS_OF - dt.timedelta(minutes=30)),
            _message(client, MessageStatus.SENT, 2, contact_id=email.id, sent_at=AS_OF - dt.timedelta(days=1)),
            _message(client, MessageStatus.HELD, 3, contact_id=email.id, hold_until=AS_OF + dt.timedelta(hours=20),
                     hold_reason="outside business hours (Asia/Almaty)"),
            _message(client, MessageStatus.AWAITING_APPROVAL, 4, contact_id=email.id, kind="recap"),
            _message(client, MessageStatus.MANUAL, 5, contact_id=telegram.id,
                     body_text="Здравствуйте, Асхат!\n\nКоротко: CPA в пределах диапазона. Пишите: am@agency.example"),
            _message(client, MessageStatus.DEAD, 6, contact_id=email.id, last_error="not sent: invalid recipient"),
            _message(None, MessageStatus.SENT, 7, audience=Audience.INTERNAL, kind="digest", staff_id=am.id,
                     sent_at=AS_OF - dt.timedelta(minutes=10)),
        ])
        s.add(PlatformConnection(platform=Platform.YANDEX_DIRECT, label="agency-main", problem="token refused (401)"))
        s.add(ImportBatch(account_id=account.id, platform=Platform.YANDEX_DIRECT, file_name="export.csv",
                          file_sha256="0" * 64, imported_at=AS_OF - dt.timedelta(hours=2), rows_in=10, loaded=8,
                          inserted=8, updated=0, quarantined=2, duplicates=0))
        return {"client": client.id, "quiet": quiet.id, "telegram": telegram.id}


def test_every_section_lists_what_needs_a_person(engine, agency):
    with Session(engine) as s:
        today = build_today(s, AS_OF, ZONE)
    assert [(c.slug, [f.detector for f in c.findings]) for c in today.critical] == [("merei", ["tracking_broken"])]
    assert "No conversion across the account for 2 days" in today.critical[0].findings[0].headline
    (incident,) = today.incidents
    assert (incident.slug, incident.stage, incident.level, incident.level_person, incident.owner_zone) == (
        "merei", "opened", 1, "Lena Lead", "Europe/Moscow")
    (request,) = today.requests
    assert request.reference == "REQ-1" and [(st.stage, st.kind) for st in request.stages] == [("confirm", "breach")]
    assert [m.message_id for m in today.sent] == [1, 7], "sent today: yesterday's message is not listed"
    assert [(m.message_id, m.to) for m in today.held] == [(3, "Aigerim")]
    assert [(m.message_id, m.zone) for m in today.awaiting] == [(4, "Europe/Moscow")], "the AM decides: AM's zone"
    (by_hand,) = today.by_hand
    assert (by_hand.message_id, by_hand.to, by_hand.channel) == (5, "Askhat", "telegram")
    assert "Коротко: CPA в пределах диапазона" in by_hand.note and "@" not in by_hand.note
    assert sorted(f.what for f in today.failures) == ["import", "login", "send"]


def test_the_markdown_shows_deadlines_in_the_owners_zone_and_utc_and_no_address(engine, agency):
    with Session(engine) as s:
        today = build_today(s, AS_OF, ZONE)
        views = client_views(s, today)
    markdown = render_markdown(today)
    # The golden deadline is 06:00 UTC: 09:00 in Moscow, the owner's zone.
    assert "2026-11-25 09:00 Europe/Moscow (06:00 UTC)" in markdown
    assert "level 1: team lead (Lena Lead)" in markdown
    assert ", 2026-11-24 (finding 1, acknowledged by li.wei)" in markdown
    assert "**overdue**: confirm by" in markdown
    assert "`cadence account connect yandex_direct --label agency-main`" in markdown
    assert "2 of 10 rows quarantined" in markdown
    assert "@" not in markdown, "no email address in an artifact"
    for empty in EMPTY.values():
        assert empty not in markdown
    assert [slug for _id, slug, _view in views] == ["merei"], "a client with nothing gets no view"
    client_md = render_markdown(views[0][2])
    assert client_md.startswith("# Today for Merei (merei) — Wednesday 25 November 2026")
    assert "> Коротко: CPA в пределах диапазона." in client_md, "the client view has the whole text to say"


def test_an_empty_agency_says_so_in_each_section(engine):
    with Session(engine) as s:
        today = build_today(s, AS_OF, ZONE)
    assert not today.has_something()
    markdown = render_markdown(today)
    for empty in EMPTY.values():
        assert markdown.count(empty) == 1, empty


def test_a_call_logged_after_a_message_takes_it_off_the_by_hand_list(engine, agency):
    with Session(engine) as s, s.begin():
        s.add(Interaction(client_id=agency["client"], contact_id=agency["telegram"], direction=Direction.OUTBOUND,
                          channel=Channel.TELEGRAM, occurred_at=AS_OF - dt.timedelta(minutes=5), summary="told him"))
    with Session(engine) as s:
        assert build_today(s, AS_OF, ZONE).by_hand == []
        # Before the call it was still to do: the view is of the moment asked for.
        assert [m.message_id for m in build_today(s, AS_OF - dt.timedelta(minutes=10), ZONE).by_hand] == [5]


@pytest.mark.parametrize(("slug", "client_id", "key"), [
    ("acme", 7, "client-acme"),
    ("qingquan-shangmao", 8, "client-qingquan-shangmao"),
    ("Acme_Co", 9, "client-acme-co-9"),  # cleaned, and the id keeps it apart from a real `acme-co`
    ("青泉商贸", 10, "client-10"),
    ("---", 11, "client-11"),
])
def test_client_keys_satisfy_prefects_artifact_key_rules(slug, client_id, key):
    from prefect.types.names import raise_on_name_alphanumeric_dashes_only

    assert client_key(slug, client_id) == key
    raise_on_name_alphanumeric_dashes_only(key)


@pytest.mark.parametrize(("at", "zone", "text"), [
    (dt.datetime(2026, 11, 25, 6, 0, tzinfo=UTC), "Europe/Moscow", "2026-11-25 09:00 Europe/Moscow (06:00 UTC)"),
    (dt.datetime(2026, 11, 25, 20, 0, tzinfo=UTC), "Asia/Shanghai",
     "2026-11-26 04:00 Asia/Shanghai (2026-11-25 20:00 UTC)"),
    (dt.datetime(2026, 11, 25, 20, 0, tzinfo=UTC), "UTC", "2026-11-25 20:00 UTC"),
])
def test_a_moment_is_in_the_readers_zone_and_utc(at, zone, text):
    assert moment(at, zone) == text


def test_the_published_view_is_of_now_unless_the_flow_runs_later():
    from models.base import utcnow

    before = utcnow()
    assert view_moment(dt.date(2020, 1, 6), ZONE) >= before, "a back-fill publishes today's view, not 2020's"
    assert view_moment(None, ZONE) >= before
    later = before + dt.timedelta(days=400)
    assert view_moment(later, ZONE) == later
    assert view_moment(later.date(), "UTC") == dt.datetime.combine(later.date(), dt.time(9, 30), tzinfo=UTC)
