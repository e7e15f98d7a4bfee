"""The drop folder: each file imported into its folder's account, moved to done/ or failed/ with its report."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path

import fsspec
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import AdAccount, Client, DailyMetric, ImportBatch, Staff
from models.enums import Platform, StaffRole
from tasks.inbox import import_waiting_file, inbox_markdown, waiting_files

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"
TODAY = dt.date(2026, 11, 26)


def _account(engine: Engine, platform: Platform, external_id: str, currency: str) -> None:
    with Session(engine) as s, s.begin():
        client = s.scalars(select(Client)).first()
        if client is None:
            am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
            client = Client(slug="acme", name="Acme", industry="retail", market="RU", time_zone="Europe/Moscow",
                            currency="RUB", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        s.add(AdAccount(client=client, platform=platform, external_id=external_id, name=external_id,
                        currency=currency, time_zone="Europe/Moscow", created_on=dt.date(2024, 1, 1)))


def _drop(root: Path, account: str, *files: str) -> None:
    (root / account).mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copyfile(EXPORTS / file, root / account / file)


def _run(engine: Engine, roots: list[str]):
    return [import_waiting_file(engine, item, today=TODAY) for item in waiting_files(roots)]


def test_files_are_imported_moved_and_reported_and_a_second_pass_finds_nothing(engine, tmp_path):
    _account(engine, Platform.YANDEX_DIRECT, "ya-1", "RUB")
    _account(engine, Platform.META, "act_1", "USD")
    root = tmp_path / "inbox"
    _drop(root, "ya-1", "yandex_direct.csv")
    _drop(root, "act_1", "meta_bom.csv", "meta_breakdown_eur.csv")
    _drop(root, "nobody", "ocean_engine.csv")
    (root / "ya-1" / ".partial").write_text("still uploading")

    results = {(r.account, r.name): r for r in _run(engine, [str(root)])}
    assert {k: r.outcome for k, r in results.items()} == {
        ("act_1", "meta_bom.csv"): "done", ("act_1", "meta_breakdown_eur.csv"): "failed",
        ("nobody", "ocean_engine.csv"): "failed", ("ya-1", "yandex_direct.csv"): "done"}
    assert "is in EUR but account act_1 is in USD" in results[("act_1", "meta_breakdown_eur.csv")].reason
    assert "no account 'nobody'" in results[("nobody", "ocean_engine.csv")].reason

    done = root / "ya-1" / "done"
    assert sorted(p.name for p in done.iterdir()) == [
        "yandex_direct.csv", "yandex_direct.csv.report.json", "yandex_direct.csv.report.md"]
    report = json.loads((done / "yandex_direct.csv.report.json").read_text())
    assert report["outcome"] == "done" and report["report"]["loaded"] == 6 and report["report"]["quarantined"] == 3
    assert "9 = 6 loaded + 3 quarantined + 0 duplicates" in (done / "yandex_direct.csv.report.md").read_text()
    assert (root / "act_1" / "failed" / "meta_breakdown_eur.csv.report.md").read_text().count("--rate EUR=") == 1
    assert sorted(p.name for p in (root / "ya-1").iterdir()) == [".partial", "done"]

    with Session(engine) as s:
        counts = (s.scalar(select(func.count()).select_from(ImportBatch)),
                  s.scalar(select(func.count()).select_from(DailyMetric)))
    assert counts == (2, 10)
    assert _run(engine, [str(root)]) == []

    # The same file dropped again is recognised: done, nothing written, both copies kept apart by name.
    _drop(root, "ya-1", "yandex_direct.csv")
    (again,) = _run(engine, [str(root)])
    assert again.outcome == "done" and again.report["already_imported"]
    assert again.moved_to.endswith("ya-1/done/yandex_direct.csv")
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 2


def test_an_fsspec_url_is_an_inbox_too(engine):
    _account(engine, Platform.META, "act_1", "USD")
    root = f"memory://inbox-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    fs.pipe_file(f"{root}/act_1/meta_bom.csv", (EXPORTS / "meta_bom.csv").read_bytes())
    (result,) = _run(engine, [root])
    assert result.outcome == "done" and result.report["loaded"] == 4
    assert fs.exists(f"{root}/act_1/done/meta_bom.csv.report.json")
    assert not fs.exists(f"{root}/act_1/meta_bom.csv")


def test_a_file_that_loads_nothing_goes_to_failed_with_its_main_reason(engine, tmp_path):
    _account(engine, Platform.GOOGLE_ADS, "kg", "USD")
    root = tmp_path / "inbox"
    _drop(root, "kg", "kaggle_online_advertising.csv")
    with Session(engine) as s, s.begin():
        from tasks.ingest.write import save_mapping

        save_mapping(s, s.scalars(select(AdAccount.id)).one(), {"campaign_number": "campaign_name"})
    (result,) = _run(engine, [str(root)])
    assert result.outcome == "failed"
    assert "the 'day' column holds days of the month (1) and 'month' the month: give --year" in result.reason
    assert (root / "kg" / "failed" / "kaggle_online_advertising.csv").exists()


@pytest.mark.parametrize(("results", "expected"), [
    ([], "No files were waiting."),
])
def test_inbox_markdown_when_nothing_waits(results, expected):
    assert expected in inbox_markdown(results)
