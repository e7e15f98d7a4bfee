"""Prefect's own server starts with the pinned dependencies and records a flow run end to end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

FLOW_SCRIPT = """
import asyncio
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

@task
def double(x: int) -> int:
    return 2 * x

@flow(name="pin-proof")
def pin_proof() -> int:
    create_markdown_artifact("# proof", key="pin-proof")
    return double(21)

async def artifacts() -> list:
    async with get_client() as client:
        found = ArtifactFilter(key=ArtifactFilterKey(any_=["pin-proof"]))
        return await client.read_artifacts(artifact_filter=found, limit=1)

result = pin_proof()
print([a.data for a in asyncio.run(artifacts())])
print(result)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _post(url: str, body: dict) -> object:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `prefect server start` on a free port with a throwaway PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"prefect server exited with {proc.returncode}:\n{Path(log.name).read_text()[-3000:]}")
        try:
            if _get(f"{api}/health") is True:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"prefect server did not answer within 90 s:\n{Path(log.name).read_text()[-3000:]}")
    yield api, env
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_prefect_server_starts_with_the_pinned_fastapi(prefect_server):
    api, _ = prefect_server
    assert _get(f"{api}/health") is True
    version = _get(f"{api}/admin/version")
    assert isinstance(version, str) and version.startswith("3.")


def test_a_flow_run_is_recorded_completed_by_the_server(prefect_server, tmp_path):
    api, env = prefect_server
    script = tmp_path / "pin_proof.py"
    script.write_text(FLOW_SCRIPT)
    run = subprocess.run([sys.executable, str(script)], env={**env, "PREFECT_API_URL": api},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-2:] == ["['# proof']", "42"]
    runs = _post(f"{api}/flow_runs/filter", {"flows": {"name": {"any_": ["pin-proof"]}}})
    assert [r["state_type"] for r in runs] == ["COMPLETED"]
    tasks = _post(f"{api}/task_runs/filter", {"flow_runs": {"id": {"any_": [runs[0]["id"]]}}})
    assert [t["state_type"] for t in tasks] == ["COMPLETED"]
