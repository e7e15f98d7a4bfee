"""Finding what a command names: a client by its slug, or one line saying which slugs come closest."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client
from tasks.errors import CadenceError
from tasks.forms import unknown_slug_message


def client_by_slug(session: Session, slug: str) -> Client:
    """The client with this slug; a wrong one is a CadenceError naming the nearest slugs."""
    client = session.scalars(select(Client).where(Client.slug == slug)).one_or_none()
    if client is None:
        raise CadenceError(unknown_slug_message(slug, session.scalars(select(Client.slug))))
    return client
