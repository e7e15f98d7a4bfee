"""Picks the real or embedded edges from the settings: the database engine, for now."""

from __future__ import annotations

from sqlalchemy import Engine

from cadence.settings import get_settings
from models.db import current_revision, head_revision, make_engine, upgrade
from tasks.errors import CadenceError

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
