"""Email as a person sends it: sender and headers, salutations, the glossary once per contact, numbers, test clients."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import re
from decimal import Decimal
from email.message import EmailMessage

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cadence.demo.fakes.sendgrid_server import FakeSendGrid
from messaging_helpers import client_with_contact, transport
from models import Client, Contact, OutboundMessage, Staff
from models.enums import Audience, Honorific, Language, MessageStatus, Tone
from tasks import i18n
from tasks.messaging import dispatch, enqueue
from tasks.messaging.compose import Preferences, client_message, client_update_context, compose, preferences, sender
from tasks.messaging.outbox import Window
from tasks.messaging.salutation import NameParts, salutation
from tasks.render import render_in
from tasks.transports import Envelope, FileOutboxTransport

MONDAY_10_SHANGHAI = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)
WINDOW = Window("Asia/Shanghai", "CN", dt.time(9), dt.time(18))
AGENCY = "Northwind Media"


@pytest.mark.parametrize(("language", "tone", "parts", "expected"), [
    ("en", "formal", ("Michael Bennett", "Michael", "Bennett", None, "mr"), "Dear Mr Bennett,"),
    ("en", "formal", ("Emily Walker", "Emily", "Walker", None, "ms"), "Dear Ms Walker,"),
    ("en", "formal", ("Emily Walker", "Emily", "Walker", None, None), "Dear Emily Walker,"),
    ("en", "formal", ("Michael Bennett", None, None, None, None), "Dear Michael Bennett,"),
    ("en", "friendly", ("Michael Bennett", "Michael", "Bennett", None, "mr"), "Hi Michael,"),
    ("en", "friendly", ("Michael Bennett", None, None, None, None), "Hello,"),
    ("en", "friendly", ("Michael Bennett", "  ", None, None, None), "Hello,"),
    ("zh", "formal", ("徐雨萱", "雨萱", "徐", None, "ms"), "徐女士，您好！"),
    ("zh", "formal", ("王伟", "伟", "王", None, "mr"), "王先生，您好！"),
    ("zh", "formal", ("王伟", "伟", "王", None, None), "王伟，您好！"),
    ("zh", "formal", ("徐雨萱", None, None, None, None), "您好！"),
    ("zh", "friendly", ("徐雨萱", "雨萱", "徐", None, "ms"), "雨萱，你好！"),
    ("zh", "friendly", ("徐雨萱", None, None, None, None), "你好！"),
    ("ru", "formal", ("Айгерим Касымова", "Айгерим", "Касымова", "Касымовна", "ms"), "Уважаемая Айгерим Касымовна!"),
    ("ru", "formal", ("Иван Попов", "Иван", "Попов", "Сергеевич", "mr"), "Уважаемый Иван Сергеевич!"),
    ("ru", "formal", ("Айгерим Касымова", "Айгерим", "Касымова", None, "ms"), "Уважаемая Айгерим!"),
    ("ru", "formal", ("Айгерим Касымова", "Айгерим", None, None, None), "Здравствуйте, Айгерим!"),
    ("ru", "formal", ("Айгерим Касымова", None, None, None, None), "Здравствуйте!"),
    ("ru", "friendly", ("Айгерим Касымова", "Айгерим", "Касымова", "Касымовна", "ms"), "Здравствуйте, Айгерим!"),
    ("ru", "friendly", ("Айгерим Касымова", None, None, None, None), "Здравствуйте!"),
])
def test_salutation_per_language_and_tone(language, tone, parts, expected):
    greeting = salutation(language, tone, NameParts(*parts))
    assert greeting == expected
    if tone == "friendly":
        assert parts[0] not in greeting, "a friendly greeting never uses the full name"


@pytest.mark.parametrize(("value", "en", "ru"), [
    (-0.0004, "0.0%", "0,0%"), (0.0004, "0.0%", "0,0%"), (-0.00049, "0.0%", "0,0%"), (0.0, "0.0%", "0,0%"),
    (-0.06, "-6.0%", "-6,0%"), (0.125, "+12.5%", "+12,5%"), (Decimal("-0.0001"), "0.0%", "0,0%"),
    (None, "—", "—"),
])
def test_a_change_that_rounds_to_zero_has_no_sign(value, en, ru):
    with i18n.use("en"):
        assert i18n.change(value) == en
    with i18n.use("ru"):
        assert i18n.change(value) == ru


def _prefs(language: str, tone: str, known: frozenset[str] = frozenset()) -> Preferences:
    parts = {"en": ("Michael Bennett", "Michael", "Bennett", None, "mr"), "zh": ("徐雨萱", "雨萱", "徐", None, "ms"),
             "ru": ("Айгерим Касымова", "Айгерим", "Касымова", "Касымовна", "ms")}[language]
    return Preferences(email="c@client.example", name=parts[0], language=language, tone=tone, detail="campaign",
                       role="operator", channel="email", window=WINDOW, given_name=parts[1], family_name=parts[2],
                       patronymic=parts[3], honorific=parts[4], known_terms=known)


def _update(prefs: Preferences) -> dict:
    kpis = {"spend": Decimal("1000"), "impressions": 10_000, "clicks": 300, "ctr": 0.03, "cpc": Decimal("3.33"),
            "conversions": Decimal(10), "cpa": Decimal("100")}
    previous = {**kpis, "spend": Decimal("1000.3"), "cpa": Decimal("100.03")}
    return client_update_context(prefs, {"name": "Acme", "currency": "CNY"}, (dt.date(2026, 11, 23),
                                 dt.date(2026, 11, 26)), kpis, previous, {"low": Decimal(80), "high": Decimal(120)},
                                 [{"name": "Search", "spend": Decimal(500), "conversions": 5, "cpa": Decimal(100),
                                   "ctr": 0.03}], ["Raised bids"], ["Raised bids"],
                                 {"name": "Anna Petrova", "email": "anna@agency.example"})


@pytest.mark.parametrize("language", ["en", "zh", "ru"])
@pytest.mark.parametrize("tone", ["formal", "friendly"])
def test_a_client_update_greets_by_name_parts_and_never_shows_minus_zero(language, tone):
    prefs = _prefs(language, tone)
    message = compose("client_update", prefs, _update(prefs))
    assert message.text.splitlines()[0] == prefs.greeting
    for part in (message.text, message.html):
        assert not re.search(r"-0[.,]0\s?%", part), "a change that rounds to zero printed as -0.0%"
        assert prefs.name not in part.split("\n")[0]


def test_a_friendly_chinese_letter_says_你_throughout_and_a_formal_one_您():
    friendly = compose("client_update", _prefs("zh", "friendly"), _update(_prefs("zh", "friendly")))
    formal = compose("client_update", _prefs("zh", "formal"), _update(_prefs("zh", "formal")))
    for part in (friendly.subject, friendly.text, friendly.html):
        assert "您" not in part
    assert "你" in friendly.text and "您" in formal.text
    for part in (formal.subject, formal.text, formal.html):
        assert "你" not in part


def test_the_check_for_minus_zero_catches_the_old_filter():
    with i18n.use("en"):
        planted = i18n.format_percent(-0.0004, format="+#,##0.0%;-#,##0.0%", locale=i18n.locale_for("en"))
    assert re.search(r"-0[.,]0\s?%", planted), "the planted defect must be what the check looks for"


def test_recap_email_labels_campaign_figures_and_shows_the_headline_or_the_table_not_both():
    context = {
        "greeting": "Hi Michael,", "contact": {"tone": "friendly"}, "am": {"name": "Anna Petrova"},
        "client": {"name": "Acme", "currency": "USD"}, "verdict": "none",
        "kpis": {"has_data": True, "spend": Decimal("9026.39"), "conversions": Decimal(616)}, "cpa_band": None,
        "headline": [{"key": "spend", "kind": "money", "value": Decimal("9026.39"), "change": 0.04}],
        "rows": [{"key": "spend", "kind": "money", "value": Decimal("9026.39"), "previous": Decimal("8679.22"),
                  "change": 0.04}],
        "campaigns": [{"name": "Brand", "spend": Decimal("9026.39"), "conversions": Decimal(616),
                       "cpa": Decimal("14.65")}],
    }
    text = render_in("en", "email/recap_email.txt.j2", **context)
    assert "Brand: spend $9,026.39, conversions 616, CPA" in text and "$14.65" in text
    assert text.count("Spend: $9,026.39") == 1, "the headline repeats the table's figures"
    brief = render_in("en", "email/recap_email.txt.j2", **{**context, "rows": []})
    assert brief.count("Spend: $9,026.39") == 1
    for language in ("zh", "ru"):
        assert "616" in render_in(language, "email/recap_email.txt.j2", **context)


def _craft_problems(raw: bytes, am_name: str, am_email: str) -> list[str]:
    """What makes a client email not look sent by its AM: the checks the tests below apply to real output."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    problems = []
    sender_name = parsed["From"].addresses[0].display_name if parsed["From"] else ""
    if am_name not in sender_name:
        problems.append(f"From {sender_name!r} does not name the AM")
    if not parsed["Reply-To"] or parsed["Reply-To"].addresses[0].addr_spec != am_email:
        problems.append("Reply-To is not the AM")
    if not parsed["Date"]:
        problems.append("no Date")
    if not parsed["Message-ID"]:
        problems.append("no Message-ID")
    return problems


def _compose_update(engine, contact_id: int, period: str = "2026-11-26") -> int:
    with Session(engine) as s, s.begin():
        contact = s.get(Contact, contact_id)
        client = s.get(Client, contact.client_id)
        prefs = preferences(contact, client)
        row = client_message(flow="standup", kind="client_update", period=period,
                             client_slug=client.slug, client_id=client.id, contact_id=contact.id, prefs=prefs,
                             composed=compose("client_update", prefs, _update(prefs)), now=MONDAY_10_SHANGHAI,
                             tier=client.effective_tier.value, settings=client.settings,
                             sent_as=sender(client.owner_am.name, client.owner_am.email, AGENCY))
        return enqueue(s, [row])


def _named(engine, language: Language = Language.EN) -> int:
    _client, contact_id = client_with_contact(engine, name="Michael Bennett", language=language)
    with Session(engine) as s, s.begin():
        s.execute(update(Contact).where(Contact.id == contact_id).values(
            given_name="Michael", family_name="Bennett", honorific=Honorific.MR, tone=Tone.FRIENDLY))
        s.execute(update(Staff).values(name="Anna Petrova"))
    return contact_id


def test_the_file_outbox_sends_as_the_am_with_reply_to_date_and_a_stable_message_id(engine, tmp_path):
    contact_id = _named(engine)
    assert _compose_update(engine, contact_id) == 1
    outbox = FileOutboxTransport(tmp_path, "cadence@agency.example")
    assert dispatch(engine, outbox, now=MONDAY_10_SHANGHAI).sent == 1
    [path] = list(tmp_path.glob("*.eml"))
    raw = path.read_bytes()
    assert _craft_problems(raw, "Anna Petrova", "am@agency.example") == []
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["From"]) == '"Anna Petrova, Northwind Media" <cadence@agency.example>'
    assert abs(parsed["Date"].datetime - MONDAY_10_SHANGHAI) < dt.timedelta(minutes=1)
    assert parsed.get_body(("plain",)).get_content().startswith("Hi Michael,\n")
    with Session(engine) as s:
        row = s.scalars(select(OutboundMessage)).one()
        again = Envelope(row.id, row.idempotency_key, row.recipient, row.subject, row.body_html, row.body_text,
                         sender_name=row.meta["from_name"], reply_to=row.meta["reply_to"])
    resent = email.message_from_bytes(outbox.render(again), policy=email.policy.default)
    assert resent["Message-ID"] == parsed["Message-ID"] and resent["From"] == parsed["From"]


@pytest.mark.parametrize("subject", [
    "[напишите первыми] ООО «Альтаир Геймс»: 10 рабочих дней без контакта",
    "2026年11月28日站会：6个客户，其中1个需要关注 — 上海万象汽车销售有限公司 "
    "广州青橙互娱科技有限公司 北京清泉医疗健康有限公司",
    "Tier changes for 3 of your clients: Summit Motors Inc., Lumen Foods Inc. and Bramble Direct Ltd are moving up",
])
def test_a_long_subject_reads_back_word_for_word_from_the_eml(subject):
    raw = FileOutboxTransport(None, "cadence@agency.example").render(Envelope(1, "k", "c@client.example", subject,
                                                                              "<p>x</p>", "x"))
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == subject
    assert max(len(line) for line in raw.splitlines()) <= 998


def test_the_checks_catch_a_robot_sender_and_missing_headers():
    robot = EmailMessage()
    robot["From"] = "Cadence <cadence@agency.example>"
    robot["To"] = "c@client.example"
    robot.set_content("Hi")
    problems = _craft_problems(robot.as_bytes(), "Anna Petrova", "am@agency.example")
    assert problems == ["From 'Cadence' does not name the AM", "Reply-To is not the AM", "no Date", "no Message-ID"]
    plain = Envelope(1, "k", "c@client.example", "S", "<p>x</p>", "x")
    raw = FileOutboxTransport(None, "cadence@agency.example").render(plain)
    assert _craft_problems(raw, "Anna Petrova", "am@agency.example") == [
        "From 'Cadence' does not name the AM", "Reply-To is not the AM"]


def test_sendgrid_gets_the_am_as_sender_reply_to_and_the_date_and_message_id_headers(engine):
    contact_id = _named(engine)
    _compose_update(engine, contact_id)
    with FakeSendGrid(api_key="SG.test-key-do-not-log") as fake:
        assert dispatch(engine, transport(fake.url), now=MONDAY_10_SHANGHAI).sent == 1
    [payload] = fake.received
    assert payload["from"] == {"email": "cadence@agency.example", "name": "Anna Petrova, Northwind Media"}
    assert payload["reply_to"] == {"email": "am@agency.example"}
    assert set(payload["headers"]) == {"Date", "Message-ID"}
    assert email.utils.parsedate_to_datetime(payload["headers"]["Date"]) - MONDAY_10_SHANGHAI < dt.timedelta(minutes=1)


def test_the_fake_sendgrid_refuses_what_sendgrid_refuses():
    from cadence.demo.fakes.sendgrid_server import shape_errors

    body = {"personalizations": [{"to": [{"email": "c@client.example"}]}], "from": {"email": "a@b.example"},
            "subject": "S", "content": [{"type": "text/plain", "value": "x"}]}
    assert shape_errors(body) == []
    assert shape_errors({**body, "reply_to": {"name": "Anna"}}) == ["reply_to.email is required when reply_to is given"]
    assert shape_errors({**body, "headers": {"From": "x"}}) == ["header From is reserved"]


def test_a_term_is_explained_to_a_contact_once_not_in_every_email(engine):
    contact_id = _named(engine)
    assert _compose_update(engine, contact_id, "2026-11-23") == 1
    assert _compose_update(engine, contact_id, "2026-11-26") == 1
    with Session(engine) as s:
        first, second = s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
        known = s.get(Contact, contact_id).glossary_sent
    assert "cost per acquisition" in first.body_text and "cost per acquisition" in first.body_html
    assert "cost per acquisition" not in second.body_text and "cost per acquisition" not in second.body_html
    assert "CPA" in second.body_text and known == ["CPA"]
    assert first.meta["terms"] == sorted(known) and "terms" not in second.meta


def test_forgetting_what_a_contact_was_told_repeats_the_glossary(engine):
    contact_id = _named(engine)
    _compose_update(engine, contact_id, "2026-11-23")
    with Session(engine) as s, s.begin():
        s.execute(update(Contact).where(Contact.id == contact_id).values(glossary_sent=[]))
    _compose_update(engine, contact_id, "2026-11-26")
    with Session(engine) as s:
        texts = [m.body_text for m in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]
    assert all("cost per acquisition" in t for t in texts), "without the record, every email explains again"


def test_a_test_client_gets_no_client_message_but_its_internal_mail_goes(engine):
    client_id, contact_id = client_with_contact(engine)
    with Session(engine) as s, s.begin():
        s.execute(update(Client).where(Client.id == client_id).values(is_test=True))
    assert _compose_update(engine, contact_id) == 0
    internal = {"flow": "sweep", "kind": "digest", "period": "2026-11-30", "client_slug": "acme",
                "audience": Audience.INTERNAL, "client_id": client_id, "contact_id": None, "staff_id": None,
                "recipient": "am@agency.example", "language": Language.EN, "subject": "Digest", "body_html": "<p>x</p>",
                "body_text": "x", "is_crisis": False, "status": MessageStatus.QUEUED, "meta": {}}
    with Session(engine) as s, s.begin():
        assert enqueue(s, [internal]) == 1
    with Session(engine) as s, s.begin():
        s.execute(update(Client).where(Client.id == client_id).values(is_test=False))
    assert _compose_update(engine, contact_id) == 1, "the same message to a real client is queued"
