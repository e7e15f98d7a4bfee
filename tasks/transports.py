"""How a message leaves Cadence: SendGrid, the .eml file outbox, or a recording fake, behind one interface."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import logging
import os
import re
import time
import urllib.error
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage, Message
from email.utils import format_datetime, formataddr
from http.client import HTTPException
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr

if TYPE_CHECKING:  # SendGrid is imported when a message is sent; it ships no types, so these are Any to mypy
    from sendgrid import SendGridAPIClient
    from sendgrid.helpers.mail import Mail

PROVIDER_SENDGRID = "sendgrid"
PROVIDER_FILE = "file-outbox"
# Our own id travels in SendGrid's custom_args so webhooks and audits can find the outbox row.
CUSTOM_ARG_KEY = "cadence_key"
CUSTOM_ARG_ID = "cadence_id"
# Kept in last_error for audit; SendGrid's error bodies are small, a proxy's HTML page need not be kept whole.
MAX_ERROR_BODY = 4_000


class Outcome(str, enum.Enum):
    ACCEPTED = "accepted"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    REJECTED = "rejected"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Attachment:
    """A file that goes out with the message, e.g. the report PDF the email text promises."""

    filename: str
    content: bytes = field(repr=False)
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class Envelope:
    """Everything a transport needs to send one outbox row."""

    message_id: int
    key: str
    recipient: str
    subject: str
    html: str
    text: str
    kind: str = "message"
    attachments: tuple[Attachment, ...] = ()
    # Who the reader sees: the AM's name on the agency's address, replies to the AM; None: the product's name.
    sender_name: str | None = None
    reply_to: str | None = None
    date: dt.datetime | None = None


def message_id(envelope: Envelope, sender_email: str) -> str:
    """A Message-ID made from the outbox key, so a retried send carries the same one and threads stay whole."""
    digest = hashlib.sha256(envelope.key.encode()).hexdigest()[:32]
    return f"<{digest}.{envelope.message_id}@{sender_email.rpartition('@')[2] or 'cadence.local'}>"


def date_header(envelope: Envelope) -> str:
    """RFC 5322 Date: when the message leaves (the dispatch clock), in UTC."""
    moment = envelope.date or dt.datetime.now(dt.timezone.utc)
    return format_datetime(moment.astimezone(dt.timezone.utc))


@dataclass(frozen=True)
class SendResult:
    """What the provider said: accepted (with its id), rate limited (with when to retry), or an error."""

    outcome: Outcome
    provider: str
    provider_message_id: str | None = None
    status_code: int | None = None
    error: str | None = None
    retry_at: float | None = None


class EmailTransport(Protocol):
    name: str

    def send(self, envelope: Envelope) -> SendResult: ...


class _DropHeaders(logging.Filter):
    """python-http-client logs request headers at DEBUG, and the Authorization header is the API key."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("HEADERS:")


logging.getLogger("python_http_client.client").addFilter(_DropHeaders())


def rate_limit_reset(value: str | None, now: float) -> float | None:
    """X-RateLimit-Reset as an epoch time: SendGrid sends epoch seconds; a small number is read as a delay."""
    if not value:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number > 1_000_000_000 else now + max(0.0, number)


def _body(raw: bytes | str | None) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else (raw or "")
    return text[:MAX_ERROR_BODY]


class SendGridTransport:
    """SendGrid v3 mail/send through the official client; the key is read when sending, never logged."""

    name = PROVIDER_SENDGRID

    def __init__(self, api_key: SecretStr, base_url: str, sender_email: str, sender_name: str = "Cadence",
                 timeout: float = 10.0) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.sender_email = sender_email
        self.sender_name = sender_name
        self.timeout = timeout
        self._client: SendGridAPIClient | None = None

    def __repr__(self) -> str:
        return f"SendGridTransport(base_url={self.base_url!r}, api_key=**********)"

    def _sendgrid(self) -> SendGridAPIClient:
        if self._client is None:
            from sendgrid import SendGridAPIClient

            self._client = SendGridAPIClient(api_key=self._api_key.get_secret_value(), host=self.base_url)
            self._client.client.timeout = self.timeout
        return self._client

    def mail(self, envelope: Envelope) -> Mail:
        """The SendGrid Mail object: plain text first, then HTML, our ids in custom_args, then any attachments."""
        from sendgrid.helpers.mail import Attachment as SendGridAttachment
        from sendgrid.helpers.mail import (
            Category,
            CustomArg,
            Disposition,
            FileContent,
            FileName,
            FileType,
            From,
            Header,
            Mail,
            ReplyTo,
            To,
        )

        mail = Mail(
            from_email=From(self.sender_email, envelope.sender_name or self.sender_name),
            to_emails=To(envelope.recipient),
            subject=envelope.subject,
            plain_text_content=envelope.text,
            html_content=envelope.html,
        )
        mail.custom_arg = [CustomArg(CUSTOM_ARG_KEY, envelope.key), CustomArg(CUSTOM_ARG_ID, str(envelope.message_id))]
        mail.category = Category(envelope.kind[:255])
        if envelope.reply_to:
            mail.reply_to = ReplyTo(envelope.reply_to)
        mail.header = [Header("Date", date_header(envelope)),
                       Header("Message-ID", message_id(envelope, self.sender_email))]
        for item in envelope.attachments:
            mail.add_attachment(SendGridAttachment(
                FileContent(base64.b64encode(item.content).decode("ascii")), FileName(item.filename),
                FileType(item.mime_type), Disposition("attachment")))
        return mail

    def send(self, envelope: Envelope) -> SendResult:
        from python_http_client.exceptions import HTTPError

        try:
            response = self._sendgrid().send(self.mail(envelope))
        except HTTPError as exc:
            return self._classify(exc.status_code, exc.headers, exc.body)
        except urllib.error.URLError as exc:
            # urllib wraps only failures while connecting or writing the request: it was never whole, so retry.
            return SendResult(Outcome.TRANSIENT, self.name, error=f"network error: {exc.reason}")
        except (HTTPException, OSError) as exc:
            # The request was (maybe) delivered and the answer lost: the provider may have accepted it.
            return SendResult(Outcome.AMBIGUOUS, self.name,
                              error=f"no answer from SendGrid: {type(exc).__name__}: {exc}")
        headers = response.headers
        provider_id = headers.get("X-Message-Id") if headers is not None else None
        return SendResult(Outcome.ACCEPTED, self.name, provider_message_id=provider_id,
                          status_code=response.status_code)

    def _classify(self, status: int, headers: Mapping[str, str] | Message | None,
                  body: bytes | str | None) -> SendResult:
        text = _body(body)
        if status == 429:
            reset = rate_limit_reset(headers.get("X-RateLimit-Reset") if headers is not None else None, time.time())
            return SendResult(Outcome.RATE_LIMITED, self.name, status_code=status, error=f"429: {text}",
                              retry_at=reset)
        if status >= 500 or status == 408:
            return SendResult(Outcome.TRANSIENT, self.name, status_code=status, error=f"{status}: {text}")
        return SendResult(Outcome.REJECTED, self.name, status_code=status, error=f"{status}: {text}")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
EML_POLICY = email_policy.default.clone(utf8=True)


@dataclass
class FileOutboxTransport:
    """The embedded default: each message as an .eml file; the name comes from the key, so a re-send overwrites."""

    folder: Path
    sender_email: str
    sender_name: str = "Cadence"
    name: str = PROVIDER_FILE

    def path_for(self, envelope: Envelope) -> Path:
        digest = hashlib.sha256(envelope.key.encode()).hexdigest()[:16]
        return self.folder / f"{envelope.message_id:08d}-{_UNSAFE.sub('-', envelope.kind)[:40]}-{digest}.eml"

    def render(self, envelope: Envelope) -> bytes:
        """The RFC 5322 message; the email package refuses CR/LF in a header value, so no header can split."""
        message = EmailMessage()
        message["From"] = formataddr((envelope.sender_name or self.sender_name, self.sender_email))
        if envelope.reply_to:
            message["Reply-To"] = envelope.reply_to
        message["To"] = envelope.recipient
        message["Subject"] = envelope.subject
        message["Date"] = date_header(envelope)
        message["Message-ID"] = message_id(envelope, self.sender_email)
        message["X-Cadence-Key"] = envelope.key
        message.set_content(envelope.text)
        message.add_alternative(envelope.html, subtype="html")
        for item in envelope.attachments:
            # On a multipart/alternative message this makes it multipart/mixed, the bodies staying the first part.
            maintype, _, subtype = item.mime_type.partition("/")
            message.add_attachment(item.content, maintype=maintype, subtype=subtype, filename=item.filename)
        # UTF-8 headers (RFC 6532): the default policy's folding of encoded words drops the space at a fold
        # ("10 рабочих дней" read back as "10 рабочихдней").
        return message.as_bytes(policy=EML_POLICY)

    def send(self, envelope: Envelope) -> SendResult:
        try:
            data = self.render(envelope)
        except (ValueError, TypeError) as exc:
            return SendResult(Outcome.REJECTED, self.name, error=f"cannot write as email: {exc}")
        path = self.path_for(envelope)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            return SendResult(Outcome.TRANSIENT, self.name, error=f"cannot write {path}: {exc}")
        return SendResult(Outcome.ACCEPTED, self.name, provider_message_id=path.name)
