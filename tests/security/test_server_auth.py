"""Prefect's server with PREFECT_SERVER_API_AUTH_STRING refuses anonymous API calls; `cadence server` will not
listen beyond loopback without it, nor start its report server there."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import httpx
import pytest

from cadence.cli import main
from e2e.e2e_support import prefect_server

SECRET = "ops:correct horse battery staple"


def call(method: str, url: str, auth: str | None = None, body: object = None) -> tuple[int, object]:
    """(status, JSON body) of one request, optionally with HTTP Basic auth as Prefect's client sends it."""
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture(scope="module")
def guarded_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` on 127.0.0.1 with an auth string; waits on /api/health, which stays open."""
    home = tmp_path_factory.mktemp("prefect-auth-home")
    with prefect_server(home, {"PREFECT_SERVER_API_AUTH_STRING": SECRET}) as (api, _env):
        yield api


@pytest.mark.slow  # on a real Prefect server
@pytest.mark.parametrize("method, path, body", [
    ("POST", "/flows/filter", {}), ("GET", "/admin/version", None), ("POST", "/deployments/filter", {}),
    ("POST", "/flow_runs/filter", {}), ("GET", "/admin/settings", None), ("POST", "/health", {}),
])
@pytest.mark.parametrize("auth", [None, "ops:wrong", "", SECRET.upper()])
def test_the_api_refuses_requests_without_the_auth_string(guarded_api, method, path, body, auth):
    status, answer = call(method, guarded_api + path, auth, body)
    assert status == 401, answer
    assert answer == {"exception_message": "Unauthorized"}


@pytest.mark.slow  # on a real Prefect server
def test_the_api_answers_with_the_auth_string(guarded_api):
    assert call("POST", f"{guarded_api}/flows/filter", SECRET, {}) == (200, [])
    status, version = call("GET", f"{guarded_api}/admin/version", SECRET)
    assert status == 200 and str(version).startswith("3.")


@pytest.mark.slow  # on a real Prefect server
def test_health_and_ready_stay_open_and_say_only_that_the_server_is_up(guarded_api):
    assert call("GET", f"{guarded_api}/health") == (200, True)
    assert call("GET", f"{guarded_api}/ready") == (200, {"message": "OK"})


@pytest.mark.slow  # on a real Prefect server
def test_prefects_client_gets_in_with_prefect_api_auth_string_and_not_without(guarded_api):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    async def flows() -> list:
        async with get_client() as client:
            return await client.read_flows()

    with temporary_settings({PREFECT_API_URL: guarded_api, PREFECT_API_AUTH_STRING: SECRET}):
        assert asyncio.run(flows()) == []
    with temporary_settings({PREFECT_API_URL: guarded_api}, restore_defaults={PREFECT_API_AUTH_STRING}):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            asyncio.run(flows())
    assert refused.value.response.status_code == 401


class Started:
    """What `cadence server` would start, recorded instead: Prefect's command and environment, the report server."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.reports: list[tuple[str, int]] = []


@pytest.fixture
def no_exec(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Started:
    """Record `cadence server`'s start of the real servers instead of doing it; no Prefect profile, no auth string."""
    from cadence.cli import prefect_ops

    started = Started()

    def supervise(argv, env, reports):
        started.calls.append((argv[0], argv, env))
        return 0

    class Bound:
        port = 4201

    def open_report_server(host, port):
        prefect_ops.report_credentials(host)
        started.reports.append((host, port))
        return Bound()

    monkeypatch.setattr(prefect_ops, "supervise", supervise)
    monkeypatch.setattr(prefect_ops, "open_report_server", open_report_server)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "cadence-home"))
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}")
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    monkeypatch.delenv("PREFECT_UI_API_URL", raising=False)
    return started


def cadence_server(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `cadence server ARGS` as the installed command runs it."""
    monkeypatch.setattr(sys, "argv", ["cadence", "server", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "192.168.1.10", "10.0.0.5", "prefect.agency.internal", ""])
@pytest.mark.parametrize("auth", [None, "", "   "])
def test_cadence_server_refuses_to_listen_beyond_loopback_without_an_auth_string(no_exec, monkeypatch, capsys, host,
                                                                                 auth):
    if auth is not None:
        monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", auth)
    code, _out, err = cadence_server(monkeypatch, capsys, "--host", host, "--port", "4299")
    assert code == 2 and no_exec.calls == [] and no_exec.reports == []
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to listen on")
    assert "PREFECT_SERVER_API_AUTH_STRING" in lines[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "LOCALHOST", "::1", "[::1]"])
def test_cadence_server_listens_on_loopback_without_an_auth_string(no_exec, monkeypatch, capsys, host):
    cadence_server(monkeypatch, capsys, "--host", host)
    [(executable, argv, env)] = no_exec.calls
    assert argv[1:] == ["-m", "prefect", "server", "start", "--host", host, "--port", "4200"]
    assert "PREFECT_SERVER_API_AUTH_STRING" not in env
    assert no_exec.reports == [(host, 4201)], "the report server listens where Prefect's does, on its own port"


def test_cadence_server_listens_beyond_loopback_with_an_auth_string(no_exec, monkeypatch, capsys):
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", SECRET)
    _code, out, _err = cadence_server(monkeypatch, capsys, "--host", "0.0.0.0", "--port", "4299")
    [(_executable, argv, env)] = no_exec.calls
    assert argv[-4:] == ["--host", "0.0.0.0", "--port", "4299"]
    assert env["PREFECT_SERVER_API_AUTH_STRING"] == SECRET
    assert "PREFECT_UI_API_URL" in out, "remote browsers need it: the hint is printed"
    assert no_exec.reports == [("0.0.0.0", 4201)] and "CADENCE_REPORTS_URL" in out


def test_cadence_server_takes_the_auth_string_from_the_prefect_profile(no_exec, monkeypatch, capsys):
    from prefect.settings import PREFECT_SERVER_API_AUTH_STRING, temporary_settings

    with temporary_settings({PREFECT_SERVER_API_AUTH_STRING: SECRET}):
        cadence_server(monkeypatch, capsys, "--host", "0.0.0.0")
    assert len(no_exec.calls) == 1


def test_cadence_servers_hint_is_exact_and_never_wrapped(no_exec, monkeypatch, capsys, tmp_path):
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "cadence").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "30")  # a narrow terminal must not break a command in two
    _code, out, _err = cadence_server(monkeypatch, capsys, "--port", "4311")
    lines = out.splitlines()
    assert "export PREFECT_API_URL=http://127.0.0.1:4311/api" in lines
    assert ".venv/bin/cadence serve" in lines, "as the README runs it, on a line of its own"
