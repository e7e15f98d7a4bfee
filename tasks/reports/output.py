"""Reports to files: HTML through the one Jinja environment, PDF through WeasyPrint, page counts checked."""

from __future__ import annotations

import atexit
import base64
import hashlib
import multiprocessing
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tasks.render import TEMPLATES, render_in
from tasks.settings import LOGO_TYPES

if TYPE_CHECKING:  # WeasyPrint is imported when a PDF is made; it ships no types, so this is Any to mypy
    from weasyprint.document import Document

_UNSAFE = re.compile(r"[^a-z0-9-]+")
_UNSAFE_PERIOD = re.compile(r"[^0-9A-Za-z.-]+")
# Below this share of a used last page, the compact form is tried to save the page.
LOW_FILL = 0.25


class PageLimitExceeded(RuntimeError):
    """A report came out longer than its kind allows, even in its compact form."""


def _cleaned(value: str) -> str:
    return _UNSAFE.sub("-", value.lower()).strip("-")[:80].strip("-")


def safe_name(value: str, fallback: str) -> str:
    """A file-name part made of [a-z0-9-] only: no separators, no dots, never empty (the fallback is cleaned too)."""
    return _cleaned(value) or _cleaned(fallback) or "unnamed"


def report_paths(root: Path, kind: str, period: str, slug: str, language: str, fallback: str,
                 detail: str = "summary") -> tuple[Path, Path]:
    """root/kind/period/slug.language[.campaign].{html,pdf}, guaranteed to stay under root."""
    # Capped like the other parts: a folder name over 255 bytes cannot be created at all.
    period_part = _UNSAFE_PERIOD.sub("-", period)[:80].strip(".") or "period"
    folder = (root / safe_name(kind, "report") / period_part).resolve()
    base = folder / f"{safe_name(slug, fallback)}.{safe_name(language, 'en')}"
    if detail != "summary":
        base = base.with_name(f"{base.name}.{safe_name(detail, 'detail')}")
    paths = base.with_suffix(base.suffix + ".html"), base.with_suffix(base.suffix + ".pdf")
    if not all(path.parent == folder and folder.is_relative_to(root.resolve()) for path in paths):
        raise ValueError(f"report path {base} escapes the reports folder {root}")
    return paths


def report_url(base_url: str, root: Path, path: str | Path) -> str | None:
    """A browser's link to a rendered file: the report server's base URL and the file's place under root."""
    try:
        relative = Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return None  # written under another reports folder: this server cannot serve it
    return f"{base_url.rstrip('/')}/{quote(relative.as_posix())}"


@dataclass(frozen=True)
class ReportPlace:
    """Where browsers reach the rendered reports: the report server's base URL and the folder it serves."""

    base_url: str
    root: Path

    def link(self, path: str | Path | None) -> str | None:
        """A rendered file's address in a browser; None for no file or one outside the folder."""
        return report_url(self.base_url, self.root, path) if path else None


DEFAULT_BRAND = {"name": "Cadence", "colour": "#4c72b0", "logo": None}


def branding(name: str, colour: str, logo_path: Path | None) -> dict[str, str | None]:
    """The agency's name, colour and logo (as a data URI) for report headers and charts."""
    logo = None
    if logo_path is not None:
        try:
            data = Path(logo_path).read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read the logo {logo_path}: {exc.strerror}") from None
        logo = f"data:{LOGO_TYPES[Path(logo_path).suffix.lower()]};base64," + base64.b64encode(data).decode("ascii")
    return {"name": name, "colour": colour, "logo": logo}


@dataclass(frozen=True)
class RenderJob:
    """One report to render: a template, its language, its plain-value context and where the files go."""

    key: tuple[Any, ...]
    template: str
    language: str
    context: Any  # a ClientReport for client-facing templates, a plain dict for internal ones
    html_path: str
    pdf_path: str | None
    max_pages: int | None = None
    charts: str | None = None
    detail: str = "summary"
    brand: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_BRAND))


@dataclass(frozen=True)
class Rendered:
    key: tuple[Any, ...]
    html_path: str
    pdf_path: str | None
    pages: int | None
    sha256: str
    compact: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def render_html(job: RenderJob, compact: bool = False) -> str:
    from tasks.reports import (
        content,  # charts are drawn where the HTML is rendered, in the worker
    )
    from tasks.reports.client_view import CLIENT_TEMPLATES, ClientReport, Labels, client_report

    view = job.context
    if job.template in CLIENT_TEMPLATES and not isinstance(view, ClientReport):
        view = client_report(view, job.language, Labels())  # a client template only ever sees a client view
    values = view.values if isinstance(view, ClientReport) else view
    context = {**values, **content.names(values, job.language), "language": job.language,
               "detail": job.detail, "brand": job.brand}
    context["charts"] = content.draw_charts(job.charts, job.language, context) if job.charts else {}
    return render_in(job.language, job.template, **context, compact=compact)


def last_page_fill(document: Document) -> float:
    """How much of the last page's height its content uses, from 0 to 1."""
    page = document.pages[-1]._page_box
    root = page.children[0]
    return min(1.0, root.margin_height() / page.height) if page.height else 1.0


def pdf_document(html: str) -> Document:
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES / "report")).render()


def render_job(job: RenderJob) -> Rendered:
    """Render the HTML (with charts) and, when asked, the PDF; a PDF over its page limit is retried compact."""
    import time

    started = time.perf_counter()
    html = render_html(job)
    timings = {"html_s": time.perf_counter() - started}
    pages, compact = None, False
    if job.pdf_path:
        document = pdf_document(html)
        if job.max_pages and len(document.pages) > job.max_pages:
            compact = True
            html = render_html(job, compact=True)
            document = pdf_document(html)
            if len(document.pages) > job.max_pages:
                raise PageLimitExceeded(f"{job.key}: {len(document.pages)} pages, at most {job.max_pages} allowed")
        elif len(document.pages) > 1 and last_page_fill(document) < LOW_FILL:
            # A last page with a few lines on it: the compact form (smaller charts, fewer rows) may save it.
            tighter_html = render_html(job, compact=True)
            tighter = pdf_document(tighter_html)
            if len(tighter.pages) < len(document.pages):
                compact, html, document = True, tighter_html, tighter
        pages = len(document.pages)
        _atomic_write(Path(job.pdf_path), document.write_pdf())
        timings["pdf_s"] = time.perf_counter() - started - timings["html_s"]
    data = html.encode()
    _atomic_write(Path(job.html_path), data)
    return Rendered(job.key, job.html_path, job.pdf_path, pages, hashlib.sha256(data).hexdigest(), compact, timings)


def _warm() -> None:
    """Load WeasyPrint and the fonts once per worker, not once per report."""
    pdf_document("<p>warm 中文 русский</p>")


# Warm render workers by size, kept for the life of the process (a worker process renders many chunks).
_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    pool = _POOLS.get(workers)
    if pool is None:
        # spawn, not fork: the parent runs Prefect's threads, and forking a threaded process can deadlock.
        pool = _POOLS[workers] = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=_warm)
        atexit.register(pool.shutdown, cancel_futures=True)
    return pool


def shutdown_pools() -> None:
    """Stop the warm render workers now, instead of when the process exits."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def render_all(jobs: Sequence[RenderJob], workers: int | None = None,
               on_error: Callable[[RenderJob, BaseException], None] | None = None) -> list[Rendered]:
    """Render every job; PDFs go to a process pool on all cores when there are several."""
    workers = default_workers() if workers is None else workers
    with_pdf = sum(1 for j in jobs if j.pdf_path)
    if workers <= 1 or with_pdf < 2:
        results = []
        for job in jobs:
            try:
                results.append(render_job(job))
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(job, exc)
        return results
    pool = _pool(workers)
    futures = [(job, pool.submit(render_job, job)) for job in jobs]
    results = []
    for job, future in futures:
        try:
            results.append(future.result())
        except Exception as exc:
            if isinstance(exc, BrokenProcessPool):
                _POOLS.pop(workers, None)  # a dead worker breaks the pool for good: the next chunk gets a new one
            if on_error is None:
                raise
            on_error(job, exc)
    return results
