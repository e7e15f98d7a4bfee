"""The drop folder: exports placed under <inbox>/<account external id>/ are imported and moved to done/ or failed/."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tasks.errors import CadenceError
from tasks.resources import configured_engine

DONE, FAILED = "done", "failed"
REPORT_SUFFIXES = (".report.json", ".report.md")


@dataclass(frozen=True)
class InboxFile:
    """One file waiting in an inbox: the fsspec URL of its folder root, the account folder and the file name."""

    root: str
    account: str
    name: str

    @property
    def path(self) -> str:
        return str(PurePosixPath(_fs(self.root)[1]) / self.account / self.name)


@dataclass
class InboxResult:
    """What became of one file: done or failed, where it went, and the import's figures or the reason."""

    account: str
    name: str
    outcome: str
    moved_to: str
    report: dict[str, Any]
    reason: str = ""


def _fs(url: str) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    return url_to_fs(url)


def waiting_files(roots: list[str]) -> list[InboxFile]:
    """Files directly inside each root's account folders, oldest name first; done/, failed/ and reports skipped."""
    files: list[InboxFile] = []
    for root in roots:
        fs, base = _fs(root)
        if not fs.exists(base):
            continue
        for folder in sorted(fs.ls(base, detail=True), key=lambda e: e["name"]):
            if folder["type"] != "directory":
                continue
            account = PurePosixPath(folder["name"]).name
            for entry in sorted(fs.ls(folder["name"], detail=True), key=lambda e: e["name"]):
                name = PurePosixPath(entry["name"]).name
                if entry["type"] == "file" and not name.startswith(".") and not name.endswith(REPORT_SUFFIXES):
                    files.append(InboxFile(root=root, account=account, name=name))
    return files


def report_dict(report: Any) -> dict[str, Any]:
    """An ImportReport as JSON-safe values."""
    return json.loads(json.dumps(dataclasses.asdict(report), default=str))


def report_markdown(result: InboxResult) -> str:
    """The report written next to the moved file, for whoever opens the folder."""
    lines = [f"# {result.name} → account {result.account}: {result.outcome}", ""]
    if result.reason:
        lines += [f"**Why:** {result.reason}", ""]
    report = result.report
    if report:
        lines += [
            f"- read as: {report.get('source') or '—'}",
            f"- rows in {report['rows_in']} = {report['loaded']} loaded + {report['quarantined']} quarantined "
            f"+ {report['duplicates']} duplicates",
            f"- batch: {report.get('batch_id')}" + (" (already imported)" if report.get("already_imported") else ""),
        ]
        if report.get("summed_over"):
            lines.append(f"- rows summed per campaign and day over: {', '.join(report['summed_over'])}")
        for reason, rows in (report.get("reasons") or {}).items():
            lines.append(f"- quarantined: {reason} ({rows})")
    return "\n".join(lines) + "\n"


def import_waiting_file(engine: Engine, item: InboxFile, today: dt.date | None = None) -> InboxResult:
    """Import one inbox file into the account its folder names, then move it and write its report beside it."""
    from models.enums import Platform
    from tasks.ingest.write import find_account, import_file

    fs, _ = _fs(item.root)
    report: dict[str, Any] = {}
    reason = ""
    try:
        with Session(engine) as session:
            platform = find_account(session, item.account, "generic").platform
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / item.name
            local.write_bytes(fs.cat_file(item.path))
            result = import_file(engine, local, platform=Platform(platform).value, account=item.account,
                                 today=today)
        report = report_dict(result)
        reason = result.nothing_loaded or ""
    except CadenceError as exc:
        reason = str(exc)
    outcome = FAILED if reason else DONE
    moved_to = _move(fs, item, outcome)
    done = InboxResult(account=item.account, name=item.name, outcome=outcome, moved_to=moved_to, report=report,
                       reason=reason)
    fs.pipe_file(moved_to + ".report.json", json.dumps(dataclasses.asdict(done), ensure_ascii=False,
                                                      indent=2).encode())
    fs.pipe_file(moved_to + ".report.md", report_markdown(done).encode())
    return done


def _move(fs: Any, item: InboxFile, outcome: str) -> str:
    """Move the file into done/ or failed/ of its account folder; a different file of the same name keeps both."""
    folder = str(PurePosixPath(item.path).parent / outcome)
    fs.makedirs(folder, exist_ok=True)
    target = f"{folder}/{item.name}"
    if fs.exists(target) and fs.cat_file(target) != fs.cat_file(item.path):
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        stem, dot, suffix = item.name.rpartition(".")
        target = f"{folder}/{stem or suffix}-{stamp}{dot}{suffix if stem else ''}"
    fs.mv(item.path, target)
    return target


def inbox_markdown(results: list[InboxResult]) -> str:
    """The run's artifact: one line per file with its outcome and figures."""
    if not results:
        return "# Inbox\n\nNo files were waiting.\n"
    lines = ["# Inbox", "", "| account | file | outcome | loaded | quarantined | why |", "|---|---|---|---|---|---|"]
    for r in results:
        why = r.reason.replace("|", "\\|")[:200]
        lines.append(f"| {r.account} | {r.name} | {r.outcome} | {r.report.get('loaded', '')} "
                     f"| {r.report.get('quarantined', '')} | {why} |")
    done = sum(r.outcome == DONE for r in results)
    lines += ["", f"{done} of {len(results)} files imported; the rest are in failed/ with their reports."]
    return "\n".join(lines) + "\n"


@task(name="list-inbox", cache_policy=NO_CACHE)
def list_inbox(roots: list[str]) -> list[InboxFile]:
    """The files waiting in every configured inbox."""
    return waiting_files(roots)


@task(name="import-inbox-file", cache_policy=NO_CACHE)
def import_inbox_file(item: InboxFile) -> InboxResult:
    """Import one waiting file with the configured database."""
    return import_waiting_file(configured_engine(), item)


@task(name="publish-inbox-artifact", cache_policy=NO_CACHE)
def inbox_totals(results: list[InboxResult]) -> dict[str, Any]:
    """The flow's return: how many files, how many imported, and which failed (account/file)."""
    return {"files": len(results), "done": sum(r.outcome == DONE for r in results),
            "failed": [f"{r.account}/{r.name}" for r in results if r.outcome != DONE]}


def publish_inbox_artifact(results: list[InboxResult]) -> None:
    """The run's summary under a stable key."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(inbox_markdown(results), key="inbox", description="Files imported from the drop folder")
