"""A small read-only web server for the rendered reports: GET/HEAD under the reports folder, nothing outside it."""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import os
import socket
import sys
import threading
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

DEFAULT_PORT = 4201
# Only what the report flows write is served; anything else in the folder is as good as absent.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=utf-8",
}
REALM = "Cadence reports"
# Reports embed their charts, logo and styles: a page needs nothing from anywhere else.
HTML_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; frame-ancestors 'self'"
CHUNK = 1 << 16


def resolve(root: Path, url_path: str) -> Path | None:
    """The file or folder a URL path names under `root`, or None when it is not there or would leave `root`."""
    raw = urlsplit(url_path).path
    if not raw.startswith("/"):
        return None
    decoded = unquote(raw, errors="strict") if "%" in raw else raw
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p]
    # No "..", no ".", no hidden or half-written (".name.tmp") files; an encoded %2e%2e arrives here decoded.
    if any(p.startswith(".") for p in parts):
        return None
    real_root = Path(os.path.realpath(root))
    target = Path(os.path.realpath(real_root.joinpath(*parts)))
    # realpath follows symlinks: one pointing outside the folder resolves outside it and is refused.
    if target != real_root and not target.is_relative_to(real_root):
        return None
    if not target.exists():
        return None
    return target


def check_credentials(header: str | None, expected: str) -> bool:
    """Whether an Authorization header carries HTTP Basic `expected` (user:password), compared in constant time."""
    if not header or not header[:6].lower() == "basic ":
        return False
    try:
        given = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, expected.encode("utf-8"))


class ReportHandler(BaseHTTPRequestHandler):
    server: ReportServer
    server_version = "cadence-reports"

    def version_string(self) -> str:
        return self.server_version  # no Python version for a scanner to match

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _refuse_method(self) -> None:
        self._plain(HTTPStatus.METHOD_NOT_ALLOWED, "read only: GET and HEAD", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    def _answer(self, body: bool) -> None:
        if self.server.credentials is not None and not check_credentials(
                self.headers.get("Authorization"), self.server.credentials):
            self._plain(HTTPStatus.UNAUTHORIZED, "the reports need the Prefect server's user and password",
                        {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}, body)
            return
        try:
            target = resolve(self.server.root, self.path)
        except UnicodeDecodeError:
            target = None
        if target is None:
            self._plain(HTTPStatus.NOT_FOUND, "no such report", body=body)
        elif target.is_dir():
            if not urlsplit(self.path).path.endswith("/"):
                # Rebuilt from the resolved folder: a raw "//host" would send the browser to another site.
                self._plain(HTTPStatus.MOVED_PERMANENTLY, "moved", {"Location": self._url_of(target).rstrip("/") + "/"},
                            body)
            else:
                self._listing(target, body)
        elif target.suffix.lower() not in CONTENT_TYPES:
            self._plain(HTTPStatus.NOT_FOUND, "no such report", body=body)
        else:
            self._file(target, body)

    def _security_headers(self, content_type: str) -> None:
        self.send_header("Cache-Control", "no-store")  # reports hold client data: no copies in shared caches
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", HTML_POLICY)

    def _plain(self, status: HTTPStatus, text: str, headers: dict[str, str] | None = None, body: bool = True) -> None:
        data = f"{status.value} {status.phrase}: {text}\n".encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self._security_headers("text/plain")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _file(self, path: Path, body: bool) -> None:
        content_type = CONTENT_TYPES[path.suffix.lower()]
        try:
            handle = path.open("rb")
        except OSError:
            self._plain(HTTPStatus.NOT_FOUND, "no such report", body=body)
            return
        with handle:
            stat = os.fstat(handle.fileno())
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(stat.st_size))
            self.send_header("Last-Modified", formatdate(stat.st_mtime, usegmt=True))
            self._security_headers(content_type)
            self.end_headers()
            if body:
                while chunk := handle.read(CHUNK):
                    self.wfile.write(chunk)

    def _listing(self, folder: Path, body: bool) -> None:
        """A folder's reports and sub-folders as links; nothing hidden, nothing the server would not serve."""
        entries = []
        for entry in sorted(folder.iterdir(), key=lambda p: (not p.is_dir(), p.name)):
            if entry.name.startswith(".") or resolve(self.server.root, self._url_of(entry)) is None:
                continue
            if entry.is_dir():
                entries.append((entry.name + "/", quote(entry.name) + "/"))
            elif entry.suffix.lower() in CONTENT_TYPES:
                entries.append((entry.name, quote(entry.name)))
        relative = folder.relative_to(Path(os.path.realpath(self.server.root)))
        title = "Reports" + ("" if str(relative) == "." else f" / {relative.as_posix()}")
        items = "\n".join(f'<li><a href="{html.escape(href)}">{html.escape(name)}</a></li>' for name, href in entries)
        parent = "" if str(relative) == "." else '<p><a href="../">up</a></p>\n'
        page = (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>\n"
                f"<body style=\"font-family:sans-serif\"><h1>{html.escape(title)}</h1>\n{parent}"
                f"<ul>\n{items or '<li>nothing here yet</li>'}\n</ul></body></html>\n").encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", CONTENT_TYPES[".html"])
        self.send_header("Content-Length", str(len(page)))
        self._security_headers(CONTENT_TYPES[".html"])
        self.end_headers()
        if body:
            self.wfile.write(page)

    def _url_of(self, path: Path) -> str:
        relative = path.relative_to(Path(os.path.realpath(self.server.root))).as_posix()
        return "/" + quote(relative) if relative != "." else "/"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        # One line per request, never a header (the Authorization header carries the password).
        sys.stderr.write(f"reports: {self.address_string()} {format % args}\n")


class ReportServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, host: str, port: int, credentials: str | None):
        self.root = Path(root)
        self.credentials = credentials
        host = host.strip("[]")
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), ReportHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]


def start_in_thread(server: ReportServer) -> threading.Thread:
    """Serve in a daemon thread; `server.shutdown()` stops it within a twentieth of a second (the poll interval)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="cadence-reports",
                              daemon=True)
    thread.start()
    return thread
