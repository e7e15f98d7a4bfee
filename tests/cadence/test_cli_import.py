"""`cadence import`: a readable summary that adds up, and one `error:` line when a file cannot be read."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cadence.cli import app, main
from models import AdAccount, Client, DailyMetric, Staff
from models.db import make_engine
from models.enums import Platform, StaffRole
from tasks import resources
from tasks.errors import CadenceError

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"
CADENCE = Path(sys.executable).parent / "cadence"
runner = CliRunner()


# The currency each fixture export is in.
CURRENCIES = {Platform.GOOGLE_ADS: "USD", Platform.META: "USD", Platform.OCEAN_ENGINE: "CNY"}


def _account(engine: Engine, platform: Platform = Platform.YANDEX_DIRECT, external_id: str = "ya-1") -> None:
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
        client = Client(slug="acme", name="Acme", industry="retail", market="RU", time_zone="Europe/Moscow",
                        currency="RUB", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        s.add(AdAccount(client=client, platform=platform, external_id=external_id, name="Main",
                        currency=CURRENCIES.get(platform, "RUB"),
                        time_zone="Europe/Moscow", created_on=dt.date(2024, 1, 1)))


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """One migrated SQLite database, made the configured one: for CLI wiring that no database changes."""
    path = tmp_path / "cli.db"
    shutil.copyfile(sqlite_template, path)
    monkeypatch.setenv("CADENCE_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    resources.reset()
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()
    resources.reset()


def _import(*args: str):
    return runner.invoke(app, ["import", *args])


def test_import_prints_counts_that_add_up_reasons_and_quarantined_rows(engine):
    _account(engine)
    args = [str(EXPORTS / "yandex_direct.csv"), "--platform", "yandex_direct", "--account", "ya-1"]
    result = _import(*args)
    assert result.exit_code == 0, result.output
    assert "yandex_direct.csv → yandex_direct account ya-1, batch 1" in result.output
    assert "9 rows in = 6 loaded + 3 quarantined + 0 duplicates" in result.output
    assert "6 (6 new, 0 updated)" in result.output
    for reason in ("summary row", "missing campaign", "no metric values"):
        assert reason in result.output
    assert "Дата=Итого" in result.output
    rows = [line.split()[0] for line in result.output.splitlines() if line.strip().startswith(("8 ", "11 ", "12 "))]
    assert rows == ["8", "11", "12"]

    again = _import(*args)
    assert again.exit_code == 0
    assert "was already imported into yandex_direct account ya-1 as batch 1: nothing changed" in again.output
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(DailyMetric)) == 6


def test_known_campaigns_only_flag(sqlite_engine):
    _account(sqlite_engine, Platform.META, "act_1")
    result = _import(str(EXPORTS / "meta_bom.csv"), "-p", "meta", "-a", "act_1", "--known-campaigns-only")
    # Nothing loaded: the report, then a non-zero exit with the main reason.
    assert result.exit_code != 0, result.output
    assert "4 rows in = 0 loaded + 4 quarantined + 0 duplicates" in result.output
    assert "unknown campaign" in result.output
    assert "none of the file's campaigns is in account act_1 and --known-campaigns-only" in str(result.exception)


def _files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "empty.csv": b"",
        "junk.bin": random.Random(3).randbytes(2000),
        "notes.txt": b"just some notes\nnothing tabular here\n",
        "partial.csv": "Дата;Кампания;Показы\n01.11.2026;Поиск;10\n".encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in files}


@pytest.mark.parametrize(("file", "platform", "account", "expected"), [
    ("missing.csv", "meta", "act_1", "no such file"),
    ("empty.csv", "meta", "act_1", "empty.csv is empty"),
    ("junk.bin", "meta", "act_1", "binary content"),
    ("notes.txt", "meta", "act_1", "no recognisable header"),
    ("partial.csv", "meta", "act_1", "no column for spend in the meta mapping (headers seen: 'Дата'"),
    ("notes.txt", "tiktok", "act_1", "unknown platform 'tiktok'"),
    ("partial.csv", "meta", "act_9", "no meta account 'act_9'"),
])
def test_unreadable_input_is_one_error(sqlite_engine, tmp_path, file, platform, account, expected):
    _account(sqlite_engine, Platform.META, "act_1")
    _files(tmp_path)
    result = _import(str(tmp_path / file), "--platform", platform, "--account", account)
    assert result.exit_code != 0
    assert isinstance(result.exception, CadenceError)
    assert expected in str(result.exception) and "\n" not in str(result.exception)


def _cadence(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CADENCE), *args], capture_output=True, text=True, env=dict(os.environ), timeout=60)


@pytest.mark.slow  # a subprocess
def test_the_installed_command_prints_one_error_line_and_no_traceback(sqlite_engine, tmp_path):
    _account(sqlite_engine, Platform.META, "act_1")
    result = _cadence("import", str(_files(tmp_path)["junk.bin"]), "--platform", "meta", "--account", "act_1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: junk.bin is not a CSV, XLSX or Parquet export (binary content)"]


def test_a_long_error_stays_on_one_line(sqlite_engine, tmp_path, monkeypatch, capsys):
    _account(sqlite_engine, Platform.META, "act_1")
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "argv", ["cadence", "import", str(_files(tmp_path)["partial.csv"]), "-p", "meta",
                                      "-a", "act_1"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: partial.csv: no column for spend")
