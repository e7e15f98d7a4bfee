"""A local HTTP server that speaks SendGrid's v3 POST /v3/mail/send, for tests and the outbox benchmark."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from .local_http import LocalHTTPServer

KEY_ARG = "cadence_key"


@dataclass
class Scripted:
    """One scripted answer: a status (202 counts a delivery), extra headers, a body, or a hang before answering."""

    status: int = 202
    headers: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    hang_s: float = 0.0
    accept_then_hang: bool = False


# Headers SendGrid sets itself and refuses in `headers` (its v3 mail/send reference).
RESERVED_HEADERS = {"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding",
                    "to", "from", "subject", "reply-to", "cc", "bcc"}


def _errors(message: str, field: str | None = None) -> dict[str, Any]:
    return {"errors": [{"message": message, "field": field, "help": None}]}


def shape_errors(payload: Any) -> list[str]:
    """What SendGrid would reject in a mail/send body (the parts Cadence uses)."""
    problems = []
    if not isinstance(payload, dict):
        return ["body is not a JSON object"]
    people = payload.get("personalizations")
    if not isinstance(people, list) or not people:
        problems.append("personalizations must be a non-empty list")
    else:
        for p in people:
            to = p.get("to") if isinstance(p, dict) else None
            if not isinstance(to, list) or not to or not all(isinstance(t, dict) and t.get("email") for t in to):
                problems.append("personalizations[].to must list recipients with an email")
    sender = payload.get("from")
    if not isinstance(sender, dict) or not sender.get("email"):
        problems.append("from.email is required")
    if not payload.get("subject") and not all(isinstance(p, dict) and p.get("subject") for p in people or []):
        problems.append("subject is required")
    content = payload.get("content")
    if not isinstance(content, list) or not content:
        problems.append("content must be a non-empty list")
    else:
        types = [c.get("type") for c in content if isinstance(c, dict)]
        if types and types[0] != "text/plain" and "text/plain" in types:
            problems.append("text/plain must come first in content")
        if not all(isinstance(c, dict) and isinstance(c.get("value"), str) and c.get("value") for c in content):
            problems.append("content[].value must be a non-empty string")
    reply_to = payload.get("reply_to")
    if reply_to is not None and (not isinstance(reply_to, dict) or not reply_to.get("email")):
        problems.append("reply_to.email is required when reply_to is given")
    headers = payload.get("headers")
    if headers is not None:
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            problems.append("headers values must be strings")
        else:
            problems += [f"header {name} is reserved" for name in headers if name.lower() in RESERVED_HEADERS]
    args = payload.get("custom_args")
    if args is not None and (not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values())):
        problems.append("custom_args values must be strings")
    attachments = payload.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            problems.append("attachments must be a list")
        else:
            problems += [p for a in attachments for p in attachment_errors(a)]
    return problems


def attachment_errors(attachment: Any) -> list[str]:
    """What SendGrid would reject in one attachments[] entry: base64 content and a file name are required."""
    if not isinstance(attachment, dict):
        return ["attachments[] must be objects"]
    problems = []
    content = attachment.get("content")
    try:
        if not isinstance(content, str) or not content:
            raise ValueError
        base64.b64decode(content, validate=True)
    except ValueError:
        problems.append("attachments[].content must be non-empty base64")
    if not isinstance(attachment.get("filename"), str) or not attachment["filename"]:
        problems.append("attachments[].filename is required")
    if attachment.get("disposition", "attachment") not in ("attachment", "inline"):
        problems.append("attachments[].disposition must be attachment or inline")
    if attachment.get("disposition") == "inline" and not attachment.get("content_id"):
        problems.append("attachments[].content_id is required for an inline attachment")
    return problems


def attachments_of(payload: dict[str, Any]) -> list[tuple[str, str | None, bytes]]:
    """A received payload's attachments as (filename, type, decoded bytes)."""
    return [(a["filename"], a.get("type"), base64.b64decode(a["content"])) for a in payload.get("attachments") or []]


class FakeSendGrid(LocalHTTPServer):
    """Checks the Authorization header and the JSON shape; answers 202 with X-Message-Id unless scripted otherwise."""

    def __init__(self, api_key: str = "SG.fake-key", max_body_bytes: int = 30_000_000, keep_bodies: bool = True):
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes
        self.keep_bodies = keep_bodies
        self.deliveries: Counter[str] = Counter()
        self.accepted: list[str] = []  # our keys in the order they were accepted
        self.down = False  # while set, every request gets 503 (an outage)
        self.received: list[dict[str, Any]] = []
        self.responses: list[int] = []
        self.on_accept: Callable[[str], None] | None = None
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        super().__init__(self._handler())

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        super().__exit__(*exc)

    def script(self, *answers: Scripted) -> None:
        """Answer the next requests with these, in order; afterwards 202 again."""
        with self._lock:
            self._script.extend(answers)

    def total_delivered(self) -> int:
        with self._lock:
            return sum(self.deliveries.values())

    def _next(self) -> Scripted:
        with self._lock:
            return self._script.popleft() if self._script else Scripted()

    def _accept(self, payload: dict[str, Any]) -> str:
        key = (payload.get("custom_args") or {}).get(KEY_ARG, "?")
        with self._lock:
            self.deliveries[key] += 1
            self.accepted.append(key)
            if self.keep_bodies:
                self.received.append(payload)
        if self.on_accept is not None:
            self.on_accept(key)
        return key

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any] | None = None,
                        headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with fake._lock:
                    fake.responses.append(status)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if fake.down:
                    return self._answer(503, _errors("Service Unavailable"))
                if self.path.rstrip("/") != "/v3/mail/send":
                    return self._answer(404, _errors(f"no route {self.path}"))
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._answer(
                        401, _errors("The provided authorization grant is invalid, expired, or revoked"))
                if length > fake.max_body_bytes:
                    return self._answer(413, _errors("Payload Too Large"))
                try:
                    payload = json.loads(raw)
                except ValueError:
                    return self._answer(400, _errors("Bad Request: body is not JSON"))
                problems = shape_errors(payload)
                if problems:
                    return self._answer(400, {"errors": [{"message": p, "field": None} for p in problems]})
                answer = fake._next()
                if answer.hang_s and not answer.accept_then_hang:
                    fake._release.wait(answer.hang_s)
                if answer.status == 202:
                    fake._accept(payload)
                    if answer.accept_then_hang:
                        fake._release.wait(answer.hang_s)
                    return self._answer(202, None, {"X-Message-Id": uuid.uuid4().hex[:22], **(answer.headers or {})})
                return self._answer(answer.status, answer.body or _errors(f"scripted {answer.status}"), answer.headers)

        return Handler


def rate_limited(after_s: float = 1.0) -> Scripted:
    """A 429 whose X-RateLimit-Reset (epoch seconds, as SendGrid sends it) is `after_s` from now."""
    return Scripted(429, {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                          "X-RateLimit-Reset": str(int(time.time() + after_s + 0.999))})
