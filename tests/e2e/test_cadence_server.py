"""`cadence server` as a user runs it: Prefect's server and the report server together, stopped together, and the
history `cadence demo` recorded is there when it starts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from e2e_support import api_post, free_port, stop, wait_for
from test_ui import SCREENSHOTS, form_field

# Each test starts a real Prefect server (tens of seconds); one runs the demo first.
pytestmark = pytest.mark.slow
CADENCE = [sys.executable, "-c", "from cadence.cli import main; main()"]


def _env(home: Path, reports_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CADENCE_", "PREFECT_"))}
    env.update({"CADENCE_HOME": str(home), "CADENCE_REPORTS_PORT": str(reports_port),
                "PREFECT_HOME": str(home / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_UI_ENABLED": "false", "COLUMNS": "200"})
    return env


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def cadence_server(home: Path, reports_port: int,
                   ui: bool = False) -> Iterator[tuple[subprocess.Popen, str, str, Path]]:
    """`cadence server` on free ports; yields (its process, API URL, reports URL, its log) once both answer."""
    port, log_path = free_port(), home / "cadence-server.log"
    home.mkdir(parents=True, exist_ok=True)
    env = {**_env(home, reports_port), "PREFECT_UI_ENABLED": str(ui).lower(),
           "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false", "PREFECT_SERVER_API_PORT": str(port)}
    with log_path.open("w") as log:
        proc = subprocess.Popen([*CADENCE, "server", "--port", str(port)], env=env, cwd=home,
                                stdout=log, stderr=subprocess.STDOUT)
    api, reports = f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{reports_port}"
    try:
        def both() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"cadence server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}",
                            pytrace=False)
            return _answers(f"{api}/health") and _answers(f"{reports}/")
        wait_for("cadence server: Prefect's API and the reports answering", both, 180, [log_path], interval=0.5)
        yield proc, api, reports, log_path
    finally:
        stop(proc)


def _family(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _gone(processes: list[psutil.Process]) -> bool:
    return all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in processes)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cadence_server_starts_both_servers_and_a_signal_stops_both(tmp_path, signum):
    reports_port = free_port()
    with cadence_server(tmp_path / "home", reports_port) as (proc, api, reports, log_path):
        children = _family(proc.pid)
        assert children, "Prefect's server runs as a child of the supervisor"
        listening = {c.laddr for c in psutil.Process(proc.pid).net_connections("inet") if c.status == "LISTEN"}
        assert listening == {("127.0.0.1", reports_port)}, "the reports listen on loopback by default"
        proc.send_signal(signum)  # Ctrl-C sends SIGINT; a supervisor (systemd, docker stop) SIGTERM
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-3000:]
        wait_for("every child of cadence server gone", lambda: _gone(children), 30, [log_path], interval=0.2)
        assert not _answers(f"{api}/health") and not _answers(f"{reports}/")
        assert "stopped" in log_path.read_text()


def test_no_child_outlives_a_killed_supervisor(tmp_path):
    with cadence_server(tmp_path / "home", free_port()) as (proc, api, _reports, log_path):
        children = _family(proc.pid)
        proc.kill()  # SIGKILL: no handler runs; the kernel's parent-death signal stops the child
        proc.wait(timeout=30)
        wait_for("Prefect's server gone after its supervisor was killed", lambda: _gone(children), 60, [log_path],
                 interval=0.2)
        assert not _answers(f"{api}/health")


def test_the_demo_day_is_in_the_ui_and_its_reports_open_from_the_artifacts(tmp_path, browser):
    home, reports_port = tmp_path / "home", free_port()
    demo = subprocess.run([*CADENCE, "demo", "--clients", "6", "--days", "60", "--as-of", "2026-11-25"],
                          env=_env(home, reports_port), cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert str((home / "prefect.db").resolve()) in demo.stdout and "task runs recorded" in demo.stdout
    recorded = int(re.search(r"(\d+) task runs recorded", demo.stdout).group(1))

    with cadence_server(home, reports_port, ui=True) as (_proc, api, reports, log):
        runs = api_post(f"{api}/flow_runs/filter", {"limit": 200})
        names = {r["name"] for r in runs}
        for flow in ("sweep", "crisis", "watch", "standup", "recap", "pack"):
            assert any(n.startswith(f"{flow}-") for n in names), (flow, names)
        assert {r["state_type"] for r in runs} == {"COMPLETED"}
        task_runs = api_post(f"{api}/task_runs/count", {})
        assert task_runs == recorded and task_runs >= 3 * len(runs), "every task run was written before the demo ended"
        assert api_post(f"{api}/task_runs/count", {"task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}) \
            == task_runs
        artifacts = api_post(f"{api}/artifacts/filter", {"limit": 200})
        keys = {a["key"] for a in artifacts}
        assert {"agency-today", "sweep-summary", "sweep-findings", "recap-2026-10", "pack-2026-q3",
                "standup-summary"} <= keys

        recap = next(a for a in artifacts if a["key"] == "recap-2026-10")["data"]
        links = re.findall(r"\[PDF\]\((http://[^)]+)\)", recap)
        assert links and all(link.startswith(f"{reports}/recap/2026-10/") for link in links)
        assert str(home) not in recap, "a browser cannot open a server's file path: the artifact links instead"
        with urllib.request.urlopen(links[0], timeout=10) as response:
            assert response.headers["Content-Type"] == "application/pdf" and response.read(5) == b"%PDF-"
        html_link = re.search(r"\[HTML\]\((http://[^)]+)\)", recap).group(1)
        with urllib.request.urlopen(html_link, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/html") and b"<html" in response.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{reports}/recap/2026-10/..%2f..%2f..%2fcadence.db", timeout=10)
        assert refused.value.code == 404
        newcomer_in_the_browser(browser, api, home, reports_port, log)


def newcomer_in_the_browser(browser, api: str, home: Path, reports_port: int, server_log: Path) -> None:
    """What a newcomer does after `make demo` and `cadence server`: the today view, a report from its link, and
    the incident form under the clock with a wrong stage."""
    from playwright.sync_api import expect
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models import Client, Incident
    from models.db import make_engine
    from models.enums import IncidentStage

    ui = api.removesuffix("/api")
    SCREENSHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.set_default_timeout(30_000)
    try:
        # What needs me today: one artifact.
        page.goto(f"{ui}/artifacts")
        page.get_by_text("agency-today", exact=True).first.click()
        # The key's page is its timeline of versions, newest first: the newest is today's view.
        page.wait_for_url(re.compile(r"/artifacts/key/agency-today"))
        page.locator("a[href*='/artifacts/artifact/']").first.click()
        page.wait_for_url(re.compile(r"/artifacts/artifact/[0-9a-f-]{36}"))
        today = page.locator(".markdown-renderer", has_text="Today at the agency").first
        expect(today).to_be_visible()
        expect(today).to_contain_text("Open incidents")
        page.screenshot(path=str(SCREENSHOTS / "newcomer-agency-today.png"), full_page=True)

        # A report from its link in the recap's artifact, opened by the browser from the report server.
        page.goto(f"{ui}/artifacts")
        page.get_by_text("recap-2026-10", exact=True).first.click()
        page.wait_for_url(re.compile(r"/artifacts/key/recap-2026-10"))
        page.locator("a[href*='/artifacts/artifact/']").first.click()
        page.wait_for_url(re.compile(r"/artifacts/artifact/[0-9a-f-]{36}"))
        link = page.locator(".markdown-renderer a", has_text="HTML").first
        href = link.get_attribute("href")
        assert href and href.startswith(f"http://127.0.0.1:{reports_port}/recap/2026-10/"), href
        page.goto(href)
        expect(page.locator("body")).to_contain_text("2026")
        page.screenshot(path=str(SCREENSHOTS / "newcomer-report-from-link.png"), full_page=True)

        # The incident form under the four-hour clock, with a stage the incident is not at.
        engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
        with Session(engine) as s:
            incident_id, slug = s.execute(select(Incident.id, Client.slug).join(Client, Client.id == Incident.client_id)
                                          .where(Incident.stage == IncidentStage.OPENED)
                                          .order_by(Incident.id)).first()
        engine.dispose()
        serve_log = home / "serve.log"
        serve_env = {**_env(home, reports_port), "PREFECT_API_URL": api}
        with serve_log.open("w") as out:
            serve = subprocess.Popen([*CADENCE, "serve", "--only", "incident-action"], env=serve_env, cwd=home,
                                     stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for("cadence serve registering incident-action",
                     lambda: api_post(f"{api}/deployments/filter",
                                      {"deployments": {"name": {"any_": ["incident-action"]}}}), 120,
                     [serve_log, server_log])
            page.goto(f"{ui}/deployments")
            page.get_by_role("link", name="incident-action", exact=True).first.click()
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Custom run", exact=True).click()
            # The Incident field's help names the open incidents and their clients.
            expect(form_field(page, "Incident")).to_contain_text(f"#{incident_id} {slug}")
            form_field(page, "Incident").locator("input").fill(str(incident_id))
            form_field(page, "By").locator("textarea, input").first.fill("ops@agency.example")
            choose(page, form_field(page, "Action (Optional)"), "advance", steps=1)
            choose(page, form_field(page, "Stage (Optional)"), "solution", steps=2)
            page.screenshot(path=str(SCREENSHOTS / "newcomer-incident-form.png"), full_page=True)
            page.get_by_role("button", name="Submit", exact=True).click()
            page.locator("a[href*='/runs/flow-run/']").first.click()
            page.wait_for_url(re.compile(r"/runs/flow-run/[0-9a-f-]{36}"))
            expect(page.get_by_text("Failed", exact=True).first).to_be_visible(timeout=120_000)
            expect(page.get_by_text(re.compile(rf"incident #{incident_id} \({re.escape(slug)}\) is at opened: the next "
                                               r"stage is facts")).first).to_be_visible(timeout=60_000)
            page.screenshot(path=str(SCREENSHOTS / "newcomer-incident-refused.png"), full_page=True)
        finally:
            stop(serve)
        engine = make_engine(f"sqlite:///{home / 'cadence.db'}")
        with Session(engine) as s:
            assert s.get(Incident, incident_id).stage == IncidentStage.OPENED, "a refused form writes nothing"
        engine.dispose()
    except BaseException:
        page.screenshot(path=str(SCREENSHOTS / "newcomer-failed.png"), full_page=True)
        raise
    finally:
        page.close()


def choose(page, field, option: str, steps: int) -> None:
    """Prefect's select opens from the keyboard (a headless click only focuses it); `steps` down from the default."""
    from playwright.sync_api import expect

    control = field.locator("button.p-select-button__control")
    control.focus()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("option", name=option, exact=True)).to_be_visible()
    for _ in range(steps):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(control).to_have_text(option)
