"""The report server: read only, nothing outside the reports folder, the Prefect server's password when exposed."""

from __future__ import annotations

import base64
import http.client
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.cli import main
from cadence.cli.prefect_ops import report_credentials
from cadence.report_server import ReportServer, resolve, start_in_thread
from tasks.errors import CadenceError

SECRET = "ops:correct horse battery staple"
PDF = b"%PDF-1.7\n% a report\n"
OUTSIDE = "the secret next door"


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A reports folder as the flows leave it, and a file beside it that must never be served."""
    root = tmp_path / "reports"
    (root / "recap" / "2026-10").mkdir(parents=True)
    (root / "recap" / "2026-10" / "acme.en.html").write_text("<h1>Acme, October</h1>", encoding="utf-8")
    (root / "recap" / "2026-10" / "acme.en.pdf").write_bytes(PDF)
    (root / "recap" / "2026-10" / ".acme.en.pdf.123.tmp").write_bytes(b"half written")
    (root / "recap" / "2026-10" / "notes.txt").write_text("not a report", encoding="utf-8")
    (root / "客户").mkdir()
    (root / "客户" / "报告.html").write_text("<p>中文</p>", encoding="utf-8")
    secret = tmp_path / "secret.html"
    secret.write_text(OUTSIDE, encoding="utf-8")
    os.symlink(secret, root / "recap" / "escape.html")
    os.symlink(tmp_path, root / "recap" / "up")
    os.symlink(root / "recap" / "2026-10" / "acme.en.html", root / "recap" / "latest.html")  # stays inside: fine
    return root, secret


@pytest.fixture
def serve(folders) -> Iterator:
    """Start a report server on 127.0.0.1 (a free port) over the folder; yields a request function."""
    servers = []

    def start(credentials: str | None = None):
        server = ReportServer(folders[0], "127.0.0.1", 0, credentials)
        start_in_thread(server)
        servers.append(server)

        def request(path: str, method: str = "GET", auth: str | None = None,
                    headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            sent = dict(headers or {})
            if auth is not None:
                sent["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
            # http.client sends the path as written: no client-side normalisation of "..".
            connection.request(method, path, headers=sent)
            response = connection.getresponse()
            body = response.read()
            connection.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        return request

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_reports_are_served_with_their_content_types(serve):
    get = serve()
    status, headers, body = get("/recap/2026-10/acme.en.pdf")
    assert (status, headers["content-type"], body) == (200, "application/pdf", PDF)
    assert headers["content-length"] == str(len(PDF)) and headers["cache-control"] == "no-store"
    status, headers, body = get("/recap/2026-10/acme.en.html")
    assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert body.decode() == "<h1>Acme, October</h1>" and "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    status, _headers, body = get(quote("/客户/报告.html"))
    assert (status, body.decode()) == (200, "<p>中文</p>")
    assert get("/recap/latest.html")[2] == b"<h1>Acme, October</h1>", "a link that stays inside the folder is served"


def test_head_answers_like_get_without_a_body(serve):
    status, headers, body = serve()("/recap/2026-10/acme.en.pdf", "HEAD")
    assert (status, headers["content-length"], body) == (200, str(len(PDF)), b"")


def test_folders_list_their_reports_and_nothing_hidden_or_outside(serve):
    get = serve()
    status, headers, body = get("/recap/2026-10/")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert 'href="acme.en.pdf"' in page and 'href="acme.en.html"' in page
    assert ".tmp" not in page and "notes.txt" not in page
    page = get("/recap/")[2].decode()
    assert 'href="2026-10/"' in page and "latest.html" in page
    assert "escape.html" not in page and 'href="up/"' not in page, "links leading out of the folder are not listed"
    assert "recap/" in get("/")[2].decode()
    status, headers, _ = get("/recap")
    assert (status, headers["location"]) == (301, "/recap/")
    status, headers, _ = get("//recap")
    assert status == 301 and headers["location"] == "/recap/", "never a //host redirect to another site"


@pytest.mark.parametrize("path", [
    "/../secret.html", "/recap/../../secret.html", "/recap/2026-10/../../../secret.html",
    "/%2e%2e/secret.html", "/%2E%2E/secret.html", "/recap/%2e%2e/%2e%2e/secret.html", "/..%2fsecret.html",
    "/%2e%2e%2fsecret.html", "/recap/..%2F..%2Fsecret.html", "/%252e%252e/secret.html", "/..%5csecret.html",
    "/recap/escape.html", "/recap/up/secret.html", "/recap/up/", "/./secret.html", "/.", "/..",
    "/recap/2026-10/.acme.en.pdf.123.tmp", "/recap/2026-10/notes.txt", "/recap/2026-10/acme.en.html%00.pdf",
    "/nothing-here.pdf", "/%ff%fe.html",
])
def test_no_path_leaves_the_reports_folder(serve, folders, path):
    status, _headers, body = serve()(path)
    assert status in (403, 404), (path, status)
    assert OUTSIDE.encode() not in body and b"half written" not in body and b"not a report" not in body


def test_absolute_paths_are_read_under_the_folder_not_from_the_disk(serve, folders):
    _root, secret = folders
    for path in (str(secret), "/" + str(secret), "file://" + str(secret), "http://127.0.0.1" + str(secret)):
        status, _headers, body = serve()(path)
        assert status == 404 and OUTSIDE.encode() not in body, path


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_the_server_is_read_only(serve, folders, method):
    status, headers, _ = serve()("/recap/2026-10/acme.en.pdf", method)
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert (folders[0] / "recap" / "2026-10" / "acme.en.pdf").read_bytes() == PDF


@pytest.mark.parametrize("auth", [None, "ops:wrong", "", SECRET.upper(), SECRET + " ", "ops"])
@pytest.mark.parametrize("path", ["/recap/2026-10/acme.en.pdf", "/", "/../secret.html", "/missing.pdf"])
def test_exposed_it_answers_401_without_the_prefect_servers_credentials(serve, auth, path):
    status, headers, body = serve(SECRET)(path, auth=auth)
    assert status == 401 and headers["www-authenticate"].startswith('Basic realm="Cadence reports"')
    assert PDF not in body and OUTSIDE.encode() not in body


@pytest.mark.parametrize("header", ["Bearer " + SECRET, "Basic not-base64!", "Basic", "basic " + SECRET])
def test_malformed_credentials_are_refused(serve, header):
    assert serve(SECRET)("/recap/2026-10/acme.en.pdf", headers={"Authorization": header})[0] == 401


def test_exposed_it_serves_with_the_credentials_and_still_keeps_to_the_folder(serve):
    get = serve(SECRET)
    assert get("/recap/2026-10/acme.en.pdf", auth=SECRET)[:3:2] == (200, PDF)
    assert get("/recap/2026-10/acme.en.pdf", "HEAD", auth=SECRET)[0] == 200
    assert get("/../secret.html", auth=SECRET)[0] == 404
    assert get("/recap/escape.html", auth=SECRET)[0] == 404


DATA = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
PIECES = ["..", ".", "/", "%2e", "%2f", "%5c", "%00", "\\", "recap", "2026-10", "acme.en.pdf", "escape.html", "up",
          "secret.html", "%25", "~", "客户"]


@DATA
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join) | st.text(max_size=60))
def test_whatever_the_path_resolve_stays_inside(folders, path):
    root, _secret = folders
    try:
        found = resolve(root, "/" + path)
    except UnicodeDecodeError:
        return  # answered 404 by the handler
    if found is not None:
        assert found.resolve().is_relative_to(root.resolve())


@pytest.fixture
def no_auth_string(monkeypatch, tmp_path):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_on_loopback_no_password_is_needed(no_auth_string, host):
    assert report_credentials(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "reports.agency.internal"])
def test_beyond_loopback_it_refuses_without_the_prefect_servers_auth_string(no_auth_string, host):
    with pytest.raises(CadenceError, match="PREFECT_SERVER_API_AUTH_STRING"):
        report_credentials(host)


def test_the_password_is_the_prefect_servers_wherever_it_listens(no_auth_string, monkeypatch):
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", SECRET)
    assert report_credentials("0.0.0.0") == SECRET and report_credentials("127.0.0.1") == SECRET


def test_cadence_reports_serve_beyond_loopback_is_one_error_line(no_auth_string, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["cadence", "reports", "serve", "--host", "0.0.0.0", "--port", "4299"])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(err) == 1 and err[0].startswith("error: refusing to serve reports")
