"""`cadence check-output`: every client-facing message in the database checked; non-zero exit on a violation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cadence.cli import app
from cadence.demo.write import generate_agency
from models import Client, OutboundMessage
from models.enums import Audience
from tasks.client_check import CONTROL_SLUG
from tasks.errors import CadenceError

runner = CliRunner()


def _message(client: Client, n: int, language: str, body: str) -> OutboundMessage:
    return OutboundMessage(idempotency_key=f"test:{client.slug}:{n}", flow="standup-summary", kind="client_update",
                           period="2026-11-23..2026-11-26", audience=Audience.CLIENT, client_id=client.id,
                           recipient=f"reader{n}@{client.slug}.example", language=language, subject="Update",
                           body_text=body, body_html=f"<html><body><p>{body}</p></body></html>", meta={})


def test_check_output_passes_clean_mail_and_fails_on_advice_and_the_test_client(engine) -> None:
    generate_agency(engine, as_of=dt.date(2026, 11, 27), seed=3, clients=4, days=45, inject_problems=False)
    with Session(engine) as s, s.begin():
        clients = {c.slug: c for c in s.scalars(select(Client))}
        clean, control = next(c for slug, c in clients.items() if slug != CONTROL_SLUG), clients[CONTROL_SLUG]
        s.add(_message(clean, 1, "en", f"Dear reader, {clean.name} had a steady week: CPA inside the range."))
        s.add(_message(control, 2, "en", "Dear reader, a steady week."))
        clean_slug = clean.slug
    ok = runner.invoke(app, ["check-output", "--client", clean_slug, "--no-pdfs"], env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    assert "2 client-facing documents checked" in ok.output and "clean: no violation" in ok.output
    with Session(engine) as s, s.begin():
        s.add(_message(s.scalar(select(Client).where(Client.slug == clean_slug)), 3, "en",
                       "Next steps: Call the client today: they paused this account."))
    failed = runner.invoke(app, ["check-output", "--as-of", "2026-11-27"], env={"COLUMNS": "200"})
    assert failed.exit_code == 1, failed.output
    # Each message is checked as its subject and text, and as its HTML.
    assert ("am_advice 2" in failed.output and "test_client 2" in failed.output
            and "FAILED: 4 violations" in failed.output)


def test_check_output_refuses_an_unknown_client_and_a_bad_date(engine) -> None:
    for args, message in ((["--client", "nobody"], "no client with slug 'nobody'"),
                          (["--as-of", "27/11/2026"], "--as-of must be a date")):
        result = runner.invoke(app, ["check-output", *args])
        assert isinstance(result.exception, CadenceError) and message in str(result.exception)
