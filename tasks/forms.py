"""Deployment forms: parameter types whose schema Prefect's UI shows as titled, described fields with defaults."""

from __future__ import annotations

import datetime as dt
import difflib
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic.fields import FieldInfo

TODAY = "today"
NOW = "now"
DAY_PATTERN = r"^(today|\d{4}-\d{2}-\d{2})$"
MOMENT_PATTERN = r"^(now|\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)$"
NOTIFY_CHOICES = ("auto", "yes", "no")


def form(title: str, description: str, **constraints: Any) -> FieldInfo:
    """A parameter's title and description as the UI shows them (Prefect titles a parameter by its name otherwise)."""
    field: FieldInfo = Field(json_schema_extra={"title": title, "description": description}, **constraints)
    return field


def _blank_to_none(value: Any, word: str) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", word)):
        return None
    return value


def notify_choice(value: Any) -> bool | None:
    """auto / yes / no (or a bool, or None for auto) as the sweep's tri-state."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word not in NOTIFY_CHOICES:
            raise ValueError(f"notify is one of {', '.join(NOTIFY_CHOICES)}, got {value!r}")
        return {"auto": None, "yes": True, "no": False}[word]
    return cast("bool | None", value)  # anything else is judged by pydantic's bool check after this validator


# A text field reading "today" (the UI sends what it shows, and a date picker cannot show "today");
# `None` stays the Python default so callers and `.fn()` keep passing dates or nothing.
AgencyDay = Annotated[
    dt.date | None,
    BeforeValidator(lambda v: _blank_to_none(v, TODAY)),
    WithJsonSchema({"type": "string", "pattern": DAY_PATTERN}),
]
AgencyMoment = Annotated[
    dt.datetime | None,
    BeforeValidator(lambda v: _blank_to_none(v, NOW)),
    WithJsonSchema({"type": "string", "pattern": MOMENT_PATTERN}),
]
Notify = Annotated[
    bool | None,
    BeforeValidator(notify_choice),
    WithJsonSchema({"type": "string", "enum": list(NOTIFY_CHOICES)}),
]
# Inside a form's model: an empty text box is None (the model validates its "" default).
OptionalDay = Annotated[
    dt.date | None,
    BeforeValidator(lambda v: _blank_to_none(v, "")),
    WithJsonSchema({"type": "string", "pattern": r"^(\d{4}-\d{2}-\d{2})?$"}),
]
OptionalText = Annotated[
    str | None, BeforeValidator(lambda v: _blank_to_none(v, "")), WithJsonSchema({"type": "string"})]
# Empty means "all": an empty list, never a "list / None" choice on the form.
Names = Annotated[list[str], BeforeValidator(lambda v: [] if v is None else v)]


def takes_moment(fn: Callable[..., Any], parameter: str = "as_of") -> bool:
    """Whether a flow function's `parameter` is a moment (an AgencyMoment, a datetime) rather than a day."""
    try:
        annotation = typing.get_type_hints(fn).get(parameter)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: judged by its text
        annotation = getattr(fn, "__annotations__", {}).get(parameter)
    if isinstance(annotation, str):
        return "datetime" in annotation
    return annotation is dt.datetime or dt.datetime in typing.get_args(annotation)


def day_or_today(value: Any, today: dt.date) -> dt.date:
    """A flow's `as_of` day: a date, an ISO string, or today / nothing for `today`."""
    value = _blank_to_none(value, TODAY)
    if value is None:
        return today
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def moment_or_now(value: Any, now: dt.datetime, zone: str) -> dt.datetime:
    """A flow's `as_of` moment in UTC: an aware datetime, an ISO string (no offset: the agency's zone), or now."""
    value = _blank_to_none(value, NOW)
    if value is None:
        return now.astimezone(dt.timezone.utc)
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(dt.timezone.utc)


def local_stamp(moment: dt.datetime, zone: str, sep: str = "T") -> str:
    """A moment (naive: UTC) on a zone's wall clock with its offset, as run names show it: 2026-11-28T07:45+08."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    offset = offset[:3] if offset.endswith("00") else f"{offset[:3]}:{offset[3:]}"
    return f"{local:%Y-%m-%d}{sep}{local:%H:%M}{offset}"


def nearest(word: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The closest known names to a mistyped one, best first (a slug's pieces count as well as its whole)."""
    known = sorted(set(known))
    close = difflib.get_close_matches(word, known, n=n, cutoff=0.5)
    if len(close) < n:
        pieces = [k for k in known if k not in close and word and (word in k or any(
            difflib.SequenceMatcher(None, word, part).ratio() >= 0.75 for part in k.split("-")))]
        close += pieces[:n - len(close)]
    return close


def unknown_slug_message(slug: str, known: Iterable[str]) -> str:
    """`no client 'acme-shp'; did you mean acme-shop, acme-store? (cadence client list shows them all)`"""
    close = nearest(slug, known)
    hint = f"did you mean {', '.join(close)}?" if close else "no slug is close"
    return f"no client {slug!r}; {hint} (`cadence client list` shows them all)"


# The report flows' (recap, pack) shared knobs, worded once for both forms.
ChunkClients = Annotated[int, form(
    "Clients per chunk", "how many clients one task renders; the default suits one machine", ge=1)]
PdfWorkers = Annotated[int, form("PDF workers", "processes rendering PDFs at once; 0: one per core", ge=0)]
ComposeEmails = Annotated[bool, form(
    "Compose emails", "on: queue each client's email (once: a re-run queues nothing twice); off: reports only")]
DispatchNow = Annotated[bool, form(
    "Dispatch", "on: send what is queued now (client mail still waits for business hours or an AM's "
    "approval); off: leave it for the service watch")]
