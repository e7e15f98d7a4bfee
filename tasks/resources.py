"""The composition root: the database engine, the email transport and the reports' place, built from the settings
at run time.

Everything that runs Cadence gets its resources here, in its own process: the CLI and the report server
(cadence/), and the Prefect tasks flows call, which may run in a Dask worker where nothing built elsewhere
can be handed to them. Pure cores never come here: their callers pass them a session, a zone or a name.
"""

from __future__ import annotations

from sqlalchemy import Engine

from models.db import current_revision, head_revision, make_engine, upgrade
from tasks.errors import CadenceError
from tasks.reports.output import ReportPlace
from tasks.settings import get_settings
from tasks.transports import EmailTransport, FileOutboxTransport, SendGridTransport

_engines: dict[str, Engine] = {}


def configured_engine() -> Engine:
    """The engine for the configured database, one per URL per process."""
    url = get_settings().db_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def reset() -> None:
    """Forget cached settings and dispose engines (tests change the environment between cases)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    get_settings.cache_clear()


def ready_engine() -> Engine:
    """The configured engine, its schema created if the database is empty; refuses an old schema."""
    engine = configured_engine()
    current, head = current_revision(engine), head_revision()
    if current is None:
        upgrade(engine)
    elif current != head:
        raise CadenceError(f"the database is at schema {current}, Cadence needs {head}: run `cadence db upgrade`")
    return engine


def configured_transport() -> EmailTransport:
    """SendGrid when an API key is configured (read now, at run time), else the .eml file outbox."""
    settings = get_settings()
    if settings.sendgrid_api_key is not None and settings.sendgrid_api_key.get_secret_value():
        return SendGridTransport(settings.sendgrid_api_key, settings.sendgrid_base_url, settings.sender_email,
                                 settings.sender_name)
    return FileOutboxTransport(settings.outbox_path, settings.sender_email, settings.sender_name)


def configured_report_place() -> ReportPlace:
    """Where browsers reach the rendered reports: the report server's address (CADENCE_REPORTS_URL) and folder."""
    settings = get_settings()
    return ReportPlace(settings.reports_base_url, settings.reports_path)
