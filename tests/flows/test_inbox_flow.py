"""The inbox flow: one run imports what waits, publishes the `inbox` artifact, and a second run finds nothing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from prefect.client.orchestration import get_client
from sqlalchemy.orm import Session

from flows.inbox import inbox
from models import AdAccount, Client, Staff
from models.enums import Platform, StaffRole

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"


def _artifact(key: str) -> str | None:
    with get_client(sync_client=True) as client:
        response = client._client.post("/artifacts/filter", json={
            "artifacts": {"key": {"any_": [key]}}, "limit": 1, "offset": 0, "sort": "UPDATED_DESC"})
    response.raise_for_status()
    found = response.json()
    return found[0]["data"] if found else None


def test_inbox_flow_imports_moves_and_reports(engine, tmp_path, prefect_harness):
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
        client = Client(slug="acme", name="Acme", industry="retail", market="RU", time_zone="Europe/Moscow",
                        currency="RUB", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        s.add(AdAccount(client=client, platform=Platform.YANDEX_DIRECT, external_id="ya-1", name="Main",
                        currency="RUB", time_zone="Europe/Moscow", created_on=dt.date(2024, 1, 1)))
    root = tmp_path / "inbox"
    (root / "ya-1").mkdir(parents=True)
    shutil.copyfile(EXPORTS / "yandex_direct.csv", root / "ya-1" / "yandex_direct.csv")
    (root / "ya-1" / "notes.txt").write_text("no table here\n")

    first = inbox(roots=[str(root)])
    assert first == {"files": 2, "done": 1, "failed": ["ya-1/notes.txt"]}
    artifact = _artifact("inbox")
    assert "| ya-1 | yandex_direct.csv | done | 6 | 3 |" in artifact
    assert "| ya-1 | notes.txt | failed |" in artifact and "no recognisable header" in artifact
    assert (Path(root) / "ya-1" / "failed" / "notes.txt.report.md").exists()

    assert inbox(roots=[str(root)]) == {"files": 0, "done": 0, "failed": []}
    assert "No files were waiting." in _artifact("inbox")
