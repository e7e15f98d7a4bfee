"""Prefect's own server starts with the pinned dependencies and records a flow run end to end."""

from __future__ import annotations

import subprocess
import sys

import pytest
from e2e_support import api_get, api_post, prefect_server

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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A real `prefect server start` on a free port with a throwaway PREFECT_HOME."""
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as (api, env):
        yield api, env


def test_prefect_server_starts_with_the_pinned_fastapi(server):
    api, _ = server
    assert api_get(f"{api}/health") is True
    version = api_get(f"{api}/admin/version")
    assert isinstance(version, str) and version.startswith("3.")


def test_a_flow_run_is_recorded_completed_by_the_server(server, tmp_path):
    api, env = server
    script = tmp_path / "pin_proof.py"
    script.write_text(FLOW_SCRIPT)
    run = subprocess.run([sys.executable, str(script)], env={**env, "PREFECT_API_URL": api},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-2:] == ["['# proof']", "42"]
    runs = api_post(f"{api}/flow_runs/filter", {"flows": {"name": {"any_": ["pin-proof"]}}})
    assert [r["state_type"] for r in runs] == ["COMPLETED"]
    tasks = api_post(f"{api}/task_runs/filter", {"flow_runs": {"id": {"any_": [runs[0]["id"]]}}})
    assert [t["state_type"] for t in tasks] == ["COMPLETED"]
