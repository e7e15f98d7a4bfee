"""Checks a deployment form's input against the database before a flow writes anything; one clear line if wrong."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client
from tasks.errors import CadenceError
from tasks.forms import unknown_slug_message
from tasks.resources import configured_engine


@task(name="check-client-slug", cache_policy=NO_CACHE)
def check_client_slug(slug: str) -> int:
    """The client's id; a slug nobody has fails the run at once (no retry can help) with the nearest ones."""
    with Session(configured_engine()) as s:
        client_id = s.scalar(select(Client.id).where(Client.slug == slug))
        if client_id is None:
            raise CadenceError(unknown_slug_message(slug, list(s.scalars(select(Client.slug)))))
    return client_id
