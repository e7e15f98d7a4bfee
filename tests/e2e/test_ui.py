"""A manager in the real Prefect UI: opens client-review, fills its form for a demo client, runs it, sees the dossier
and opens the report from its link."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import REPO, api_post, prefect_server, stop, wait_for

from cadence.demo.write import generate_agency
from models.db import make_engine, upgrade
from tasks.clock import agency_today

SCREENSHOTS = REPO / "test-output"


def test_a_manager_runs_a_client_review_from_the_ui(browser, tmp_path: Path):
    database = f"sqlite:///{tmp_path / 'cadence.db'}"
    engine = make_engine(database)
    upgrade(engine)
    # The flow's as_of defaults to today in the agency's zone: the demo's data must end yesterday.
    demo = generate_agency(engine, as_of=agency_today(), seed=3, clients=4, days=45)
    engine.dispose()
    slug = sorted({p["client"] for p in demo.problems})[0]

    # The report server reads the reports folder the flows write: the same CADENCE_HOME.
    cadence_home = {"CADENCE_HOME": str(tmp_path / "cadence")}
    with prefect_server(tmp_path / "prefect-home", cadence_home, ui=True, via_cadence=True) as (api, env):
        serve_log = tmp_path / "serve.log"
        serve_env = {**env, "CADENCE_DATABASE_URL": database, **cadence_home}
        with serve_log.open("w") as log:
            serve = subprocess.Popen([sys.executable, "-c", "from cadence.cli import main; main()", "serve",
                                      "--only", "client-review"], env=serve_env, cwd=tmp_path,
                                     stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for("cadence serve registering client-review",
                         lambda: api_post(f"{api}/deployments/filter",
                                          {"deployments": {"name": {"any_": ["client-review"]}}}),
                         90, [serve_log])
                run_from_the_ui(browser, api.removesuffix("/api"), slug, serve_log)
            finally:
                stop(serve)
        runs = api_post(f"{api}/flow_runs/filter", {"flows": {"name": {"any_": ["client-review"]}}})
        assert [r["state_type"] for r in runs] == ["COMPLETED"]
        assert runs[0]["name"].startswith(f"review-{slug}-")
        assert runs[0]["parameters"]["request"]["client"] == slug
        assert runs[0]["parameters"]["request"]["detail"] == "campaign"
        assert {"cadence", "cadence:on-demand"} <= set(runs[0]["tags"])


def form_field(page, label: str):
    """The innermost field of Prefect's parameter form whose label reads exactly `label`."""
    name = page.locator(".schema-form-property__label", has_text=re.compile(f"^{re.escape(label)}$"))
    return page.locator(".schema-form-property", has=name).last


def open_submitted_run(page, ui: str, flow_name: str, serve_log: Path) -> None:
    """Open the run a form just submitted by its address: the toast that links to it comes and goes, and on a
    loaded machine (the suite's other workers) it was gone before it could be clicked."""
    runs = wait_for(f"the {flow_name} run the form submitted",
                    lambda: api_post(f"{ui}/api/flow_runs/filter", {"flows": {"name": {"any_": [flow_name]}}}),
                    120, [serve_log])
    assert len(runs) == 1, [r["name"] for r in runs]
    page.goto(f"{ui}/runs/flow-run/{runs[0]['id']}")


def run_from_the_ui(browser, ui: str, slug: str, serve_log: Path) -> None:
    """Deployments → client-review → Run → Custom run → fill the form → Submit → wait for Completed → Artifacts."""
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{ui}/deployments")
        page.get_by_role("link", name="client-review", exact=True).first.click()
        expect(page.get_by_text("cadence:on-demand").first).to_be_visible()
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_text("Custom run", exact=True).click()

        form_field(page, "Client").locator("textarea").fill(slug)
        detail = form_field(page, "Detail (Optional)").locator("button.p-select-button__control")
        # Prefect's select opens from the keyboard; a headless click only focuses it.
        detail.focus()
        page.keyboard.press("ArrowDown")
        expect(page.get_by_role("option", name="campaign", exact=True)).to_be_visible()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        expect(detail).to_have_text("campaign")
        page.screenshot(path=str(SCREENSHOTS / "client-review-form.png"), full_page=True)
        page.get_by_role("button", name="Submit", exact=True).click()

        open_submitted_run(page, ui, "client-review", serve_log)
        expect(page.get_by_text(f"review-{slug}-").first).to_be_visible(timeout=60_000)
        try:
            expect(page.get_by_text("Completed", exact=True).first).to_be_visible(timeout=120_000)
        except AssertionError:
            pytest.fail(f"the run did not complete in the UI:\n{serve_log.read_text()[-4000:]}", pytrace=False)
        page.get_by_text("Artifacts", exact=True).click()
        artifact = page.get_by_text(f"review-{slug}", exact=True)
        expect(artifact).to_be_visible(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "client-review-run.png"), full_page=True)
        artifact.click()
        page.wait_for_url(re.compile(r"/artifacts/artifact/[0-9a-f-]{36}"))
        expect(page.get_by_text("Flow run", exact=True)).to_be_hidden()
        expect(page.locator(".markdown-renderer", has_text="CPA").first).to_contain_text(
            re.compile(r"Client review.*tier", re.S))
        page.screenshot(path=str(SCREENSHOTS / "client-review-artifact.png"), full_page=True)
        dossier = page.locator(".markdown-renderer", has_text="CPA").first
        expect(dossier).to_contain_text("By campaign")  # the detail chosen in the form shows in the artifact
        # The report opens from the artifact's link, served by the report server `cadence server` started.
        href = dossier.get_by_role("link", name="HTML", exact=True).get_attribute("href")
        assert re.match(r"http://127\.0\.0\.1:\d+/review/", href), href
        page.goto(href)
        expect(page.locator("h1").first).to_contain_text("Client review")
        page.screenshot(path=str(SCREENSHOTS / "client-review-report.png"), full_page=True)
    except BaseException:
        page.screenshot(path=str(SCREENSHOTS / "client-review-failed.png"), full_page=True)
        raise
    finally:
        page.close()


def test_an_am_approves_a_client_message_from_the_ui(browser, db_url: str, tmp_path: Path):
    """On SQLite and on PostgreSQL (db_url): the form's run decides in the same database the CLI reads."""
    from sqlalchemy.orm import Session

    from models import MessageReview, OutboundMessage
    from models.enums import MessageStatus, ReviewAction
    from review_helpers import compose_for, gated_agency

    database = db_url
    engine = make_engine(database)
    message_id = compose_for(engine, gated_agency(engine))
    waiting = compose_for(engine, gated_agency_more(engine), kind="client_update")

    with prefect_server(tmp_path / "prefect-home", ui=True, via_cadence=True) as (api, env):
        serve_log = tmp_path / "serve.log"
        serve_env = {**env, "CADENCE_DATABASE_URL": database, "CADENCE_HOME": str(tmp_path / "cadence")}
        with serve_log.open("w") as log:
            serve = subprocess.Popen([sys.executable, "-c", "from cadence.cli import main; main()", "serve",
                                      "--only", "message-approval"], env=serve_env, cwd=tmp_path,
                                     stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for("cadence serve registering message-approval",
                         lambda: api_post(f"{api}/deployments/filter",
                                          {"deployments": {"name": {"any_": ["message-approval"]}}}),
                         90, [serve_log])
                approve_from_the_ui(browser, api.removesuffix("/api"), message_id, waiting, serve_log)
            finally:
                stop(serve)
        runs = api_post(f"{api}/flow_runs/filter", {"flows": {"name": {"any_": ["message-approval"]}}})
        assert [r["state_type"] for r in runs] == ["COMPLETED"]
        assert runs[0]["name"] == f"approve-message-{message_id}"
    with Session(engine) as s:
        approved, other = s.get(OutboundMessage, message_id), s.get(OutboundMessage, waiting)
        review = s.query(MessageReview).one()
        assert approved.status in (MessageStatus.QUEUED, MessageStatus.HELD, MessageStatus.SENT)
        assert other.status == MessageStatus.AWAITING_APPROVAL
        assert (review.message_id, review.action, review.note) == (message_id, ReviewAction.APPROVE, "read it, fine")
    engine.dispose()


def gated_agency_more(engine) -> dict[str, int]:
    """A second client of the same AM, so the awaiting list still shows one message after the approval."""
    import datetime as dt

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models import Client, Contact, Staff
    from models.enums import Channel, ContactRole, Detail, Language, Tier, Tone

    with Session(engine) as s, s.begin():
        am = s.scalars(select(Staff).where(Staff.email == "am@agency.example")).one()
        client = Client(slug="bigco", name="BigCo", industry="retail", market="RU", time_zone="Europe/Moscow",
                        currency="RUB", cooperation_start=dt.date(2024, 1, 1), owner_am_id=am.id,
                        tier=Tier.STRATEGIC)
        contact = Contact(client=client, name="Ирина", email="irina@bigco.example", role=ContactRole.OPERATOR,
                          language=Language.RU, tone=Tone.FRIENDLY, detail=Detail.SUMMARY, channel=Channel.EMAIL)
        s.add(contact)
        s.flush()
        return {"client": client.id, "contact": contact.id}


def approve_from_the_ui(browser, ui: str, message_id: int, waiting: int, serve_log: Path) -> None:
    """Deployments → message-approval → Run → Custom run → message id, by, note → Submit → Completed → Artifacts."""
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{ui}/deployments")
        page.get_by_role("link", name="message-approval", exact=True).first.click()
        expect(page.get_by_text("cadence:on-demand").first).to_be_visible()
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_text("Custom run", exact=True).click()

        form_field(page, "Message").locator("input").fill(str(message_id))
        form_field(page, "By").locator("textarea, input").first.fill("am@agency.example")
        form_field(page, "Note (Optional)").locator("textarea, input").first.fill("read it, fine")
        expect(form_field(page, "Decision (Optional)").locator("button.p-select-button__control")).to_have_text(
            "approve")
        page.screenshot(path=str(SCREENSHOTS / "message-approval-form.png"), full_page=True)
        page.get_by_role("button", name="Submit", exact=True).click()

        open_submitted_run(page, ui, "message-approval", serve_log)
        expect(page.get_by_text(f"approve-message-{message_id}").first).to_be_visible(timeout=60_000)
        try:
            expect(page.get_by_text("Completed", exact=True).first).to_be_visible(timeout=90_000)
        except AssertionError:
            pytest.fail(f"the run did not complete in the UI:\n{serve_log.read_text()[-4000:]}", pytrace=False)
        page.get_by_text("Artifacts", exact=True).click()
        artifact = page.get_by_text("awaiting-approval", exact=True)
        expect(artifact).to_be_visible(timeout=30_000)
        artifact.click()
        page.wait_for_url(re.compile(r"/artifacts/artifact/[0-9a-f-]{36}"))
        listed = page.locator(".markdown-renderer", has_text="awaiting approval (1)").first
        rows = listed.locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.locator("td").nth(0)).to_have_text(str(waiting))
        expect(rows.locator("td").nth(1)).to_have_text("bigco")
        page.screenshot(path=str(SCREENSHOTS / "message-approval-artifact.png"), full_page=True)
    except BaseException:
        page.screenshot(path=str(SCREENSHOTS / "message-approval-failed.png"), full_page=True)
        raise
    finally:
        page.close()
