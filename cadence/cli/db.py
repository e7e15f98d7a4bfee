"""`cadence db`: create or migrate the database."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from models.db import current_revision, head_revision, upgrade
from tasks.resources import configured_engine
from tasks.settings import get_settings

app = typer.Typer(help="Create or migrate Cadence's database.", no_args_is_help=True)
out = Console(highlight=False)


def _where() -> str:
    return make_url(get_settings().db_url).render_as_string(hide_password=True)


@app.command("upgrade")
def upgrade_command(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Create the database, or migrate it to the newest schema."""
    engine = configured_engine()
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    state = "already at" if before == after else f"migrated {before or 'empty'} ->"
    out.print(f"database {_where()}: {state} {after}")


@app.command("current")
def current_command() -> None:
    """Show the database's schema revision and the newest one."""
    out.print(f"database {_where()}: at {current_revision(configured_engine()) or 'empty'}, newest {head_revision()}")
