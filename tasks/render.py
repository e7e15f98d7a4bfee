"""The one Jinja2 environment every message and report is rendered with."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache
def environment() -> Environment:
    """Autoescaped for .html templates, strict about undefined names, loaded from templates/."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["money"] = lambda value, currency="": f"{value:,.2f} {currency}".strip()
    return env


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
