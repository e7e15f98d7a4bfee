"""The service watch's pass over the database: alerts queued once per key, a strategic breach as a crisis."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client, ClientRequest, OutboundMessage, Staff
from models.enums import Language, RequestStatus, StaffRole, Tier
from tasks.service_clocks import run_service_clocks

AT = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)


def _agency(engine) -> dict[str, int]:
    """An AM (Russian), a team lead (Chinese), a regular and a strategic client, each with a request left untouched
    for ten days: every stage of both is overdue."""
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
