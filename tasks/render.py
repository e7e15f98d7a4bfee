"""The one Jinja2 environment every message and report is rendered with."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tasks import i18n

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
    i18n.install(env)
    return env


def render(name: str, **context: object) -> str:
    """Render one template as one text: terms get their plain-words explanation once per text."""
    i18n.forget_terms()
    return environment().get_template(name).render(**context)


def render_in(locale_language: str, name: str, **context: object) -> str:
    """Render `name` translated into `locale_language`, numbers and dates in its locale."""
    with i18n.use(locale_language):
        return i18n.tidy(locale_language, render(name, **context))


def markdown_line(text: object) -> str:
    """Text on one line for a markdown list item or table row (a line break would end it); empty reads "—"."""
    return " ".join(str(text).split()) if text not in (None, "") else "—"


def markdown_cell(text: object, width: int | None = None) -> str:
    """Text for one markdown table cell: on one line, no column breaks, cut to `width` with an ellipsis."""
    cell = markdown_line(text).replace("|", "\\|")
    return cell if width is None or len(cell) <= width else cell[: width - 1] + "…"
