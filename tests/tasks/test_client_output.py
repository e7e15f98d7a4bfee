"""The client-output check over the demo: seeds 1-5, three dates, every client-facing render in en, zh and ru.

Each case generates a small demo agency, runs the day's flow steps without Prefect (sweep, stand-up client
updates, the month's recaps, the quarter's packs, a crisis notice), then reads back every client outbox row,
report HTML and (for a few) PDF text, and checks them with tasks/client_check.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.demo.write import generate_agency
from models import Client, Staff
from models.db import make_engine
from models.enums import IncidentStage
from tasks import resources
from tasks.client_check import Document, Violation, check_database, counts
from tasks.settings import get_settings

CLIENTS = 6  # the smallest agency that still has every market, all three languages and a strategic client
# A 60- to 460-day demo agency per case, each day's client-facing documents rendered and checked.
pytestmark = pytest.mark.slow
SEEDS = (1, 2, 3, 4, 5)
# (day, days of history, steps): a quarter start (recap and pack, Thursday stand-up), a stand-up Monday that
# starts a month (recap, weekly updates), and the Friday (stand-up window after Thursday, a crisis).
DATES = {
    dt.date(2026, 10, 1): (460, ("recap", "strategy_pack")),
    dt.date(2026, 11, 2): (400, ("recap",)),
    dt.date(2026, 11, 27): (60, ("crisis",)),
}
# PDFs and charts are slow and say what the HTML tables say: PDFs once per language, charts for one seed.
PDF_SEED, PDF_DATE, CHART_SEED = 1, dt.date(2026, 10, 1), 1


@pytest.fixture
def configured(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh SQLite copy made the configured database, with its own CADENCE_HOME for the rendered files."""
    path = tmp_path / "cadence.db"
    shutil.copyfile(sqlite_template, path)
    monkeypatch.setenv("CADENCE_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    resources.reset()
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()
    resources.reset()


def _render_less(pdf_languages: set[str], charts: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports render their HTML as the flow does; a PDF only for the first report in each listed language, and
    charts (their SVG text holds the same labels as the tables) only when asked."""
    from tasks.reports import build

    real = build.render_all

    def render_all(jobs, workers=None, on_error=None):
        kept = []
        for job in jobs:
            with_pdf = job.language in pdf_languages
            pdf_languages.discard(job.language)
            kept.append(dataclasses.replace(job, pdf_path=job.pdf_path if with_pdf else None,
                                            charts=job.charts if charts else None))
        return real(kept, 1, on_error)

    monkeypatch.setattr(build, "render_all", render_all)


def build_day(engine: Any, seed: int, as_of: dt.date, days: int, steps: tuple[str, ...]) -> None:
    """Generate the agency for `as_of` and run that day's client-facing steps as the flows would."""
    from tasks.detect.run import run_detectors
    from tasks.escalation import advance
    from tasks.escalation_edges import open_incident_task
    from tasks.findings import open_critical_payloads, persist_findings
    from tasks.metrics import active_client_ids, load_sweep_frames
    from tasks.reports import build, data
    from tasks.reports.periods import previous_month, previous_quarter
    from tasks.rules import wants_pack

    generate_agency(engine, as_of=as_of, seed=seed, clients=CLIENTS, days=days)
    now = dt.datetime.combine(as_of, dt.time(9, 30), tzinfo=dt.timezone.utc)
    day = as_of - dt.timedelta(days=1)
    ids = active_client_ids(engine)
    frames = load_sweep_frames(engine, ids, day)
    persist_findings(engine, ids, day, run_detectors(frames.metrics, frames.campaigns, frames.accounts,
                                                     frames.clients, day))
    build.standup_chunk_rows(engine, get_settings(), ids, as_of, now)
    clients = data.select_clients(engine, None)
    if "recap" in steps:
        build.build_chunk(engine, get_settings(), "recap", [c["id"] for c in clients], previous_month(as_of), as_of,
                          pdf_workers=1, now=now)
    if "strategy_pack" in steps:
        build.build_chunk(engine, get_settings(), "strategy_pack",
                          [c["id"] for c in clients if wants_pack(c["tier"], c["settings"])], previous_quarter(as_of),
                          as_of, pdf_workers=1, now=now)
    if "crisis" in steps:
        # What crisis-escalation does with a critical finding, then the AM telling the client the facts.
        for payload in open_critical_payloads(engine, day)[:1]:
            opened = open_incident_task.fn(now, finding=payload)
            with Session(engine) as s, s.begin():
                am = s.scalar(select(Staff.email).join(Client, Client.owner_am_id == Staff.id)
                              .where(Client.id == payload["client_id"]))
                advance(s, opened["incident_id"], IncidentStage.FACTS, am, now, agency_name=get_settings().agency_name)


def _report(docs: list[Document], violations: list[Violation]) -> str:
    lines = [f"{len(docs)} documents; " + ", ".join(f"{r} {n}" for r, n in counts(violations).items() if n)]
    lines += [f"  [{v.rule}] {v.client} | {v.document} | {v.excerpt[:160]}" for v in violations[:40]]
    return "\n".join(lines)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("as_of", list(DATES), ids=str)
def test_every_client_facing_render_of_the_demo_passes_the_client_output_check(
        configured: Any, monkeypatch: pytest.MonkeyPatch, seed: int, as_of: dt.date) -> None:
    days, steps = DATES[as_of]
    _render_less({"en", "zh", "ru"} if (seed, as_of) == (PDF_SEED, PDF_DATE) else set(), seed == CHART_SEED,
                 monkeypatch)
    build_day(configured, seed, as_of, days, ("update", *steps))
    docs, violations = check_database(configured, get_settings().agency_name, made_on=as_of)
    # The check saw what it should: each kind of document the day makes, and every language in a recap day.
    assert {d.language for d in docs} == {"en", "zh", "ru"} or "recap" not in steps
    names = " ".join(d.name for d in docs)
    made = {"recap": "recap" in steps, "strategy_pack": "strategy_pack" in steps, "client_update": as_of.weekday() == 0}
    assert all(f" {kind} " in names for kind, expected in made.items() if expected), names
    if as_of.weekday() == 0:
        # Weekly updates compare two full weeks: the markup the unequal-comparison rule reads must be there.
        assert any("data-base-first" in d.html for d in docs if " client_update " in d.name)
    if (seed, as_of) == (PDF_SEED, PDF_DATE):
        assert sum("(pdf " in d.name for d in docs) >= 3
    assert not violations, _report(docs, violations)
