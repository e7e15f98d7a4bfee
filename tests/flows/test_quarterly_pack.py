"""The quarterly strategy pack: strategic clients and opted-in potential ones only, anonymised benchmarks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flows.quarterly_pack import quarterly_strategy_pack
from models import Client, Contact, Report

AS_OF = dt.date(2026, 10, 8)
DEMO = {"as_of": AS_OF, "seed": 11, "clients": 8, "days": 200}


@pytest.fixture
def demo(engine, demo):
    with Session(engine) as s, s.begin():
        potential = s.scalars(select(Client).where(Client.tier == "potential", Client.tier_override.is_(None))).first()
        s.execute(update(Client).where(Client.id == potential.id).values(settings={"quarterly_pack": True}))
    return demo


def test_pack_goes_to_strategic_and_opted_in_clients_and_names_no_other_client(engine, demo, prefect_harness):
    with Session(engine) as s:
        clients = s.scalars(select(Client)).all()
        wanted = {c.slug for c in clients
                  if c.effective_tier.value == "strategic"
                  or (c.effective_tier.value == "potential" and c.settings.get("quarterly_pack"))}
        names = {c.slug: c.name for c in clients}
    result = quarterly_strategy_pack(as_of=AS_OF, send=False, pdf_workers=1)
    reports = [r for chunk in result["chunks"] for r in chunk["reports"]]
    assert result["period"] == "2026-Q3" and {r["client"] for r in reports} == wanted
    for r in reports:
        html = Path(r["html"]).read_text(encoding="utf-8")
        others = [name for slug, name in names.items() if slug != r["client"] and name in html]
        assert not others, f"{r['client']}'s pack names {others}"
        assert r["pages"] is not None and r["pages"] <= 10
    with Session(engine) as s:
        assert s.query(Report).filter(Report.kind == "strategy_pack").count() == len(reports)


def test_a_pack_benchmarking_every_kpi_renders_in_every_language(engine, demo, prefect_harness):
    with Session(engine) as s, s.begin():
        # One industry and market for all: enough peers that CVR, a KPI only the benchmark shows, is compared.
        s.execute(update(Client).values(industry="retail", market="CN", currency="CNY"))
        for i, contact in enumerate(s.scalars(select(Contact).order_by(Contact.id))):
            contact.language = ("en", "zh", "ru")[i % 3]
    result = quarterly_strategy_pack(as_of=AS_OF, send=False, pdf_workers=1)
    reports = [r for chunk in result["chunks"] for r in chunk["reports"]]
    assert {r["language"] for r in reports} == {"en", "zh", "ru"}
    for r in reports:
        html = Path(r["html"]).read_text(encoding="utf-8")
        assert "<td>CVR" in html, f"{r['client']} {r['language']}: no CVR benchmark row"
