"""Picks the real or embedded edges from the settings: the database engine and the email transport."""

from __future__ import annotations

from sqlalchemy import Engine

from cadence.settings import get_settings
from models.db import current_revision, head_revision, make_engine, upgrade
from tasks.errors import CadenceError
from tasks.transports import EmailTransport, FileOutboxTransport, SendGridTransport

_engines: dict[str, Engine] = {}


def get_engine() -> Engine:
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
    engine = get_engine()
    current, head = current_revision(engine), head_revision()
    if current is None:
        upgrade(engine)
    elif current != head:
        raise CadenceError(f"the database is at schema {current}, Cadence needs {head}: run `cadence db upgrade`")
    return engine


def get_transport() -> EmailTransport:
    """SendGrid when an API key is configured (read now, at run time), else the .eml file outbox."""
    settings = get_settings()
    if settings.sendgrid_api_key is not None and settings.sendgrid_api_key.get_secret_value():
        return SendGridTransport(settings.sendgrid_api_key, settings.sendgrid_base_url, settings.sender_email,
                                 settings.sender_name)
    return FileOutboxTransport(settings.outbox_path, settings.sender_email, settings.sender_name)
