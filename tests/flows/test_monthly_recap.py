"""The monthly recap as a whole flow: reports stored and queued once, artifacts with links to the reports."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flows.monthly_recap import monthly_recap
from models import Client, Contact, OutboundMessage, Report
from models.enums import MessageStatus
from tasks.clock import simulated_time
from tasks.messaging import dispatch
from tasks.messaging.compose import preferences
from tasks.settings import get_settings
from tasks.transports import FileOutboxTransport

AS_OF = dt.date(2026, 12, 2)
DEMO = {"as_of": AS_OF, "seed": 11, "clients": 8, "days": 70}


def _artifact(key: str) -> str:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                      sort=ArtifactSort.CREATED_DESC, limit=1, offset=0)
    return found[0].data


def test_recap_flow_renders_stores_queues_and_a_rerun_changes_nothing(engine, demo, prefect_harness):
    with Session(engine) as s:
        slugs = list(s.scalars(select(Client.slug).order_by(Client.id).limit(2)))
    result = monthly_recap(as_of=AS_OF, clients=slugs, pdf_workers=1, dispatch=False)
    assert result["period"] == "2026-11"
    reports = [r for chunk in result["chunks"] for r in chunk["reports"]]
    assert {r["client"] for r in reports} == set(slugs)
    assert all(1 <= r["pages"] <= 5 and Path(r["pdf"]).is_file() for r in reports)
    with Session(engine) as s:
        stored = s.execute(select(Report.client_id, Report.kind, Report.period, Report.language)).all()
        messages = s.scalar(select(func.count()).select_from(OutboundMessage))
    assert len(stored) == len(reports) and messages > 0

    again = monthly_recap(as_of=AS_OF, clients=slugs, pdf_workers=1, dispatch=False)
    assert sum(c["new_messages"] for c in again["chunks"]) == 0
    with Session(engine) as s:
        assert s.execute(select(Report.client_id, Report.kind, Report.period, Report.language)).all() == stored
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == messages
    markdown = _artifact("recap-2026-11")
    root = get_settings().reports_path
    for r in reports:
        relative = Path(r["pdf"]).relative_to(root).as_posix()
        assert f"[PDF](http://127.0.0.1:4201/{relative})" in markdown, "a link a browser opens, not a server path"
    assert str(root) not in markdown


def test_the_recap_email_in_the_file_outbox_carries_the_report_pdf(engine, demo, prefect_harness, tmp_path):
    with Session(engine) as s:
        # The first client is the demo's test client, which gets no client mail: the British one does.
        slug = s.scalar(select(Client.slug).where(Client.is_test.is_(False), Client.market == "GB").order_by(Client.id))
    monthly_recap(as_of=AS_OF, clients=[slug], pdf_workers=1, dispatch=False)
    # Wednesday 15:00 in London, where that client's email contact reads mail.
    now = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.timezone.utc)
    assert dispatch(engine, FileOutboxTransport(tmp_path / "outbox", "cadence@agency.example"), now=now).sent >= 1
    with Session(engine) as s:
        sent = s.execute(select(OutboundMessage.provider_message_id, Report.pdf_path)
                         .join(Report, Report.id == OutboundMessage.report_id)
                         .where(OutboundMessage.status == MessageStatus.SENT)).all()
    assert sent
    for eml_name, pdf_path in sent:
        parsed = email.message_from_bytes((tmp_path / "outbox" / eml_name).read_bytes(), policy=email.policy.default)
        [part] = parsed.iter_attachments()
        assert part.get_content_type() == "application/pdf" and part.get_filename() == f"{slug}-2026-11.pdf"
        assert part.get_content() == Path(pdf_path).read_bytes()


def test_recap_flow_ends_by_dispatching_the_outbox(engine, demo, prefect_harness):
    with Session(engine) as s:
        slug = s.scalar(select(Client.slug).where(Client.is_test.is_(False), Client.market == "GB").order_by(Client.id))
    # Wednesday 15:00 in London, where that client's email contact reads mail: the flow's own dispatch sends it.
    with simulated_time(dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.timezone.utc)):
        result = monthly_recap(as_of=AS_OF, clients=[slug], pdf_workers=1, chunk_clients=1)
    with Session(engine) as s:
        sent = s.scalar(select(func.count()).select_from(OutboundMessage)
                        .where(OutboundMessage.status == MessageStatus.SENT))
    assert result["dispatch"]["sent"] == sent >= 1
    assert len(list(get_settings().outbox_path.glob("*.eml"))) == sent


def test_the_test_client_gets_its_report_but_no_recap_and_others_get_mail_from_their_am(engine, demo, prefect_harness,
                                                                                       tmp_path):
    from tasks.client_check import CONTROL_SLUG

    with Session(engine) as s:
        control = s.scalars(select(Client).where(Client.slug == CONTROL_SLUG)).one()
        other = s.scalars(select(Client).where(Client.slug != CONTROL_SLUG, Client.market == "GB")
                          .order_by(Client.id)).first()
        assert control.is_test and not other.is_test
        control_id, other_id, am = control.id, other.id, (other.owner_am.name, other.owner_am.email)
    monthly_recap(as_of=AS_OF, clients=[CONTROL_SLUG, other.slug], pdf_workers=1, dispatch=False)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Report).where(Report.client_id == control_id)) >= 1
        assert s.scalar(select(func.count()).select_from(OutboundMessage)
                        .where(OutboundMessage.client_id == control_id)) == 0
        assert s.scalar(select(func.count()).select_from(OutboundMessage)
                        .where(OutboundMessage.client_id == other_id)) >= 1
    now = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.timezone.utc)
    assert dispatch(engine, FileOutboxTransport(tmp_path / "outbox", "cadence@agency.example"), now=now).sent >= 1
    for path in (tmp_path / "outbox").glob("*.eml"):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert parsed["From"].addresses[0].display_name == f"{am[0]}, Cadence Agency"
        assert parsed["From"].addresses[0].addr_spec == "cadence@agency.example"
        assert parsed["Reply-To"].addresses[0].addr_spec == am[1]
        assert parsed["Date"].datetime == now or abs(parsed["Date"].datetime - now) < dt.timedelta(minutes=1)
        assert parsed["Message-ID"].startswith("<") and parsed["Message-ID"].endswith("@agency.example>")
        with Session(engine) as s:
            contact = s.scalars(select(Contact).where(Contact.email == parsed["To"].addresses[0].addr_spec)).one()
            greeting = preferences(contact, contact.client).greeting
        first_line = parsed.get_body(("plain",)).get_content().splitlines()[0]
        assert first_line == greeting and contact.name not in first_line and contact.family_name
