"""`cadence demo` end to end, as a user runs it: generate once, say where everything is, refuse to clobber."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# `cadence demo` in a subprocess: a demo agency, a temporary Prefect server and every flow, minutes on a busy machine.
pytestmark = pytest.mark.slow
CADENCE = Path(sys.executable).parent / "cadence"
DETECTORS = {
    "spend_without_conversions",
    "cpa_above_band",
    "underdelivery_low_bid",
    "launch_guard",
    "budget_pacing",
    "anomaly",
    "tracking_broken",
    "churn_signal",
}


def test_demo_generates_then_skips_then_renews_a_demo_but_never_overwrites_real_data(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'demo.db'}"
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env.update({"CADENCE_DATABASE_URL": database, "CADENCE_HOME": str(home), "COLUMNS": "200"})

    def cadence(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CADENCE), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
        )

    first = cadence("demo", "--clients", "12", "--as-of", "2026-11-25")
    assert first.returncode == 0, first.stderr
    manifest_path = home.resolve() / "demo-manifest.json"
    for where in (database, home.resolve() / "outbox", home.resolve() / "reports", manifest_path):
        assert str(where) in first.stdout
    assert "generated in" in first.stdout
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert (manifest["seed"], manifest["as_of"], manifest["counts"]["clients"]) == (7, "2026-11-25", 12)
    assert {p["detector"] for p in manifest["problems"]} == DETECTORS
    assert all(p["client"] in first.stdout and p["account"] in first.stdout for p in manifest["problems"])
    for flow in ("daily-account-sweep", "crisis-escalation", "service-watch", "standup-summary", "monthly-recap",
                 "quarterly-strategy-pack"):
        assert flow in first.stdout
    assert list((home / "outbox").glob("*.eml")) and list((home / "reports").rglob("*.pdf"))

    again = cadence("demo", "--clients", "12", "--as-of", "2026-11-25", "--generate-only")
    assert again.returncode == 0, again.stderr
    assert "skipping generation" in again.stdout and "generated in" not in again.stdout
    assert str(manifest_path) in again.stdout

    later = cadence("demo", "--clients", "12", "--as-of", "2026-11-26", "--seed", "8", "--generate-only")
    assert later.returncode == 0, later.stderr
    assert "generating it anew" in later.stdout and "generated in" in later.stdout
    assert json.loads(manifest_path.read_text(encoding="utf-8"))["seed"] == 8

    added = cadence("client", "add", "--slug", "real-client", "--name", "Real", "--market", "US",
                    "--time-zone", "America/New_York", "--currency", "USD", "--am-email", "am@agency.example")
    assert added.returncode == 0, added.stderr
    other = cadence("demo", "--clients", "12", "--as-of", "2026-11-27", "--generate-only")
    assert other.returncode != 0
    assert "--fresh" in other.stderr and len(other.stderr.strip().splitlines()) == 1
    assert json.loads(manifest_path.read_text(encoding="utf-8"))["seed"] == 8
