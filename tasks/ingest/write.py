"""The database edge: one import in one transaction (import_file, import_bytes), accounts and saved mappings."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, DailyMetric, ImportBatch, ImportMapping, QuarantinedRow
from models.enums import Platform
from tasks.clock import today_in
from tasks.errors import CadenceError
from tasks.ingest.cells import RawTable, _raw_values, date_trouble
from tasks.ingest.map import ColumnMap, check_platform, normalise_header
from tasks.ingest.validate import daily_records, parse_export, plan_writes, summed_over
from tasks.mappings import INTEGER_METRICS, METRICS

MAX_CAMPAIGN_NAME = 300

EXAMPLES = 10


@dataclass(frozen=True)
class QuarantineExample:
    """One quarantined row: where it is in the file, why, and its cells."""

    row: int
    reason: str
    raw: dict[str, Any]


@dataclass
class ImportReport:
    """What one import did: rows_in = loaded + quarantined + duplicates, and loaded = inserted + updated."""

    file_name: str
    platform: str
    account: str
    rows_in: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    duplicates: int = 0
    campaigns_created: int = 0
    already_imported: bool = False
    batch_id: int | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    summed_over: list[str] = field(default_factory=list)
    source: str = ""
    examples: list[QuarantineExample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    unread: list[str] = field(default_factory=list)
    nothing_loaded: str | None = None

    @property
    def reconciles(self) -> bool:
        return (self.rows_in == self.loaded + self.quarantined + self.duplicates
                and self.loaded == self.inserted + self.updated)


def import_file(
    engine: Engine,
    path: str | Path,
    *,
    platform: str,
    account: str,
    known_campaigns_only: bool = False,
    today: dt.date | None = None,
    mapping: dict[str, str] | None = None,
    year: int | None = None,
    date_format: str | None = None,
    rates: dict[str, Decimal] | None = None,
) -> ImportReport:
    """Import one export into one account: every row loaded, quarantined with a reason, or counted a duplicate.

    `mapping` ({header: field}) goes over the account's saved mapping; `year` and `date_format` read dates the
    usual forms do not; `rates` convert money named in another currency. A report with `nothing_loaded` set
    loaded nothing, and says why."""
    path = Path(path)
    return import_bytes(engine, _read_bytes(path), path.name, platform=platform, account=account,
                        known_campaigns_only=known_campaigns_only, today=today, mapping=mapping, year=year,
                        date_format=date_format, rates=rates)


def import_bytes(
    engine: Engine,
    data: bytes,
    name: str,
    *,
    platform: str,
    account: str,
    known_campaigns_only: bool = False,
    today: dt.date | None = None,
    account_platform: str | None = None,
    mapping: dict[str, str] | None = None,
    year: int | None = None,
    date_format: str | None = None,
    rates: dict[str, Decimal] | None = None,
    use_saved_mapping: bool = True,
) -> ImportReport:
    """Import an export's bytes, named `name`, into one account (a file, or a platform pull serialised as one).

    `account_platform` finds the account on that platform when the headers are read as another (a pull's generic
    export); the batch is recorded under the account's platform then. `use_saved_mapping=False` reads the headers
    as they are: a pull's canonical export must not be remapped by what an AM saved for the account's files. The
    other options are import_file's."""
    platform = check_platform(platform)
    digest = hashlib.sha256(data).hexdigest()
    with Session(engine) as session:
        found = find_account(session, account, account_platform or platform)
        previous = session.scalars(select(ImportBatch).where(
            ImportBatch.account_id == found.id, ImportBatch.file_sha256 == digest)).one_or_none()
        if previous is not None and (previous.loaded or previous.duplicates):
            return _previous_report(session, previous, account)
        account_id, zone, account_platform = found.id, found.time_zone, found.platform.value
        currency = found.currency
        saved = saved_mapping(session, found.id) if use_saved_mapping else {}
    today = today or today_in(zone)
    if date_format is not None and "%" not in date_format:
        raise CadenceError(f"--date-format {date_format!r} has no % codes: write it as for strftime, e.g. %d.%m.%Y")

    parsed = parse_export(data, name, platform=platform, account=account, account_platform=account_platform,
                          currency=currency, saved=saved, mapping=mapping, today=today, year=year,
                          date_format=date_format, rates=rates)
    raw, columns, good, quarantine = parsed.raw, parsed.columns, parsed.good, parsed.quarantine
    report = ImportReport(file_name=name, platform=platform, account=account, rows_in=len(parsed.frame),
                          source=raw.source, notes=parsed.notes,
                          columns={raw.header[i]: f for f, i in columns.fields.items()},
                          unread=list(columns.extras))
    try:
        with Session(engine) as session, session.begin():
            if previous is not None:
                # That import loaded nothing: this one, with other options or mapping, takes its place if it loads.
                session.delete(session.get(ImportBatch, previous.id))
                session.flush()
            batch = ImportBatch(account_id=account_id, platform=Platform(account_platform or platform),
                                file_name=name[:500],
                                file_sha256=digest, rows_in=len(parsed.frame), loaded=0, inserted=0, updated=0,
                                quarantined=0, duplicates=0)
            session.add(batch)
            session.flush()
            good, unknown, created = _resolve_campaigns(session, account_id, good, known_campaigns_only)
            quarantine = pd.concat([quarantine, unknown]).sort_index()
            records = daily_records(good)
            plan = plan_writes(records, _stored_metrics(session, records), columns.metrics)
            _write_metrics(session, plan, columns.metrics, batch.id)
            _write_quarantine(session, batch.id, raw, quarantine)

            rows_by_action = plan.groupby("action")["rows"].sum()
            report.inserted = int(rows_by_action.get("insert", 0))
            report.updated = int(rows_by_action.get("update", 0))
            report.loaded = report.inserted + report.updated
            report.duplicates = int(good["duplicate"].sum() + rows_by_action.get("same", 0))
            report.quarantined = len(quarantine)
            report.campaigns_created = created
            report.batch_id = batch.id
            for counter in ("loaded", "inserted", "updated", "quarantined", "duplicates", "campaigns_created"):
                setattr(batch, counter, getattr(report, counter))
            if previous is not None and report.loaded == 0 and report.duplicates == 0:
                raise _LoadsNothingAgain
    except _LoadsNothingAgain:
        report.reasons = dict(Counter(quarantine["reason"]).most_common())
        with Session(engine) as session:
            prior = _previous_report(session, session.get(ImportBatch, previous.id), account)  # type: ignore[union-attr]
        prior.nothing_loaded = _main_reason(raw, columns, report)
        return prior
    except IntegrityError:
        with Session(engine) as session:
            racer = session.scalars(select(ImportBatch.id).where(
                ImportBatch.account_id == account_id, ImportBatch.file_sha256 == digest)).first()
        if racer is None:
            raise
        raise CadenceError(f"{name} was imported into {account} as batch {racer} by another run "
                           "at the same time") from None
    report.reasons = dict(Counter(quarantine["reason"]).most_common())
    report.examples = [QuarantineExample(int(n), r, _raw_values(raw, n))
                       for n, r in quarantine["reason"].head(EXAMPLES).items()]
    report.summed_over = summed_over(good, list(columns.segments))
    if not good.empty:
        report.first_day, report.last_day = good["day"].min().date(), good["day"].max().date()
    if report.loaded == 0 and report.duplicates == 0:
        report.nothing_loaded = _main_reason(raw, columns, report)
    return report


class _LoadsNothingAgain(Exception):
    """A file whose earlier import loaded nothing loads nothing again: that import stands, nothing is written."""


def _main_reason(raw: RawTable, columns: ColumnMap, report: ImportReport) -> str:
    """Why an import loaded nothing, in one sentence naming what to change."""
    if report.rows_in == 0:
        return "the file has a header but no data rows"
    reason, rows = next(iter(report.reasons.items()))
    if reason == "bad date":
        position = columns.fields["day"]
        month = None if columns.month_column is None else raw.header[columns.month_column]
        trouble = date_trouble(raw.rows[position], raw.header[position], month)
        if trouble:
            return trouble
    if reason == "unknown campaign":
        return (f"none of the file's campaigns is in account {report.account} and --known-campaigns-only "
                "keeps new ones out")
    return f"every row was quarantined; the commonest reason is {reason!r} ({rows} of {report.rows_in} rows)"


def saved_mapping(session: Session, account_id: int) -> dict[str, str]:
    """The account's saved header → field mapping."""
    rows = session.execute(select(ImportMapping.header, ImportMapping.field)
                           .where(ImportMapping.account_id == account_id).order_by(ImportMapping.id)).all()
    return dict(rows)


def save_mapping(session: Session, account_id: int, mapping: dict[str, str]) -> None:
    """Add or change the account's saved mapping; "HEADER=" (no field) forgets a header."""
    existing = {normalise_header(m.header): m for m in session.scalars(
        select(ImportMapping).where(ImportMapping.account_id == account_id))}
    for header, role in mapping.items():
        row = existing.get(normalise_header(header))
        if not role:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(ImportMapping(account_id=account_id, header=header[:300], field=role))
        else:
            row.header, row.field, row.updated_at = header[:300], role, dt.datetime.now(dt.timezone.utc)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing, unreadable or empty file is a CadenceError."""
    if not path.exists():
        raise CadenceError(f"no such file: {path}")
    if path.is_dir():
        raise CadenceError(f"{path} is a folder, not an export file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CadenceError(f"cannot read {path}: {exc.strerror}") from None
    if not data.strip():
        raise CadenceError(f"{path.name} is empty")
    return data


def find_account(session: Session, external_id: str, platform: str) -> AdAccount:
    """The account with this external id on this platform (any platform for generic, if only one has it)."""
    query = select(AdAccount).where(AdAccount.external_id == external_id)
    if platform != "generic":
        query = query.where(AdAccount.platform == Platform(platform))
    found = session.scalars(query).all()
    if len(found) == 1:
        return found[0]
    if found:
        platforms = ", ".join(sorted(a.platform.value for a in found))
        raise CadenceError(f"account {external_id!r} exists on {platforms}: pass --platform to say which")
    elsewhere = session.scalars(select(AdAccount.platform).where(AdAccount.external_id == external_id)).all()
    hint = f" (there is one on {', '.join(p.value for p in elsewhere)})" if elsewhere else ""
    what = "account" if platform == "generic" else f"{platform} account"
    raise CadenceError(f"no {what} {external_id!r}{hint}: `cadence account list` shows the accounts")


def _previous_report(session: Session, batch: ImportBatch, account: str) -> ImportReport:
    """The report of the batch these same bytes were imported as; nothing is written."""
    reasons = Counter(session.scalars(select(QuarantinedRow.reason).where(QuarantinedRow.batch_id == batch.id)))
    examples = session.scalars(select(QuarantinedRow).where(QuarantinedRow.batch_id == batch.id)
                               .order_by(QuarantinedRow.row_number).limit(EXAMPLES)).all()
    return ImportReport(
        file_name=batch.file_name, platform=batch.platform.value, account=account, rows_in=batch.rows_in,
        loaded=batch.loaded, inserted=batch.inserted, updated=batch.updated, quarantined=batch.quarantined,
        duplicates=batch.duplicates, campaigns_created=batch.campaigns_created, already_imported=True,
        batch_id=batch.id, reasons=dict(reasons.most_common()),
        examples=[QuarantineExample(q.row_number, q.reason, q.raw) for q in examples],
    )


def _resolve_campaigns(
    session: Session, account_id: int, good: pd.DataFrame, known_only: bool
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Give rows their campaign's primary key, creating missing campaigns (or quarantining their rows)."""
    existing = session.execute(select(Campaign.id, Campaign.external_id, Campaign.name)
                               .where(Campaign.account_id == account_id)).all()
    by_key = {ext: pk for pk, ext, _ in existing}
    by_name: dict[str, list[int]] = {}
    for pk, _, name in existing:
        by_name.setdefault(re.sub(r"\s+", " ", name.strip()).casefold(), []).append(pk)

    keys = good.drop_duplicates("campaign_key").set_index("campaign_key")
    names = good[good["campaign_name"].ne("")].groupby("campaign_key")["campaign_name"].first()
    resolved: dict[str, int] = {}
    ambiguous: set[str] = set()
    missing: list[str] = []
    for key, row in keys.iterrows():
        pk = by_key.get(key)
        if pk is None and row["from_name"]:
            matches = by_name.get(row["campaign_name"].casefold(), [])
            if len(matches) == 1:
                pk = matches[0]
            elif matches:
                ambiguous.add(key)
                continue
        if pk is not None:
            resolved[key] = pk
        else:
            missing.append(key)

    created = 0
    if missing and not known_only:
        first_day = good.groupby("campaign_key")["day"].min()
        session.execute(insert(Campaign), [
            {"account_id": account_id, "external_id": key,
             "name": str(names.get(key, key))[:MAX_CAMPAIGN_NAME],
             "created_on": first_day[key].date()}
            for key in missing
        ])
        created = len(missing)
        for chunk in _chunks(missing):
            resolved.update(session.execute(select(Campaign.external_id, Campaign.id).where(
                Campaign.account_id == account_id, Campaign.external_id.in_(chunk))).tuples().all())

    reason = good["campaign_key"].map(lambda k: "ambiguous campaign name" if k in ambiguous
                                      else None if k in resolved else "unknown campaign")
    unknown = pd.DataFrame({"reason": reason[reason.notna()]})
    good = good[reason.isna()].copy()
    good["campaign_pk"] = good["campaign_key"].map(resolved).astype("int64")
    return good, unknown, created


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    """`items` in slices small enough for an IN (...) list on any database."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _stored_metrics(session: Session, records: pd.DataFrame) -> pd.DataFrame:
    """The stored daily metrics of the records' campaigns over the records' days, in whole units and hundredths."""
    rows: list[tuple[Any, ...]] = []
    if not records.empty:
        low, high = records["day"].min().date(), records["day"].max().date()
        for chunk in _chunks(sorted(records["campaign_pk"].unique().tolist())):
            rows += session.execute(
                select(DailyMetric.campaign_id, DailyMetric.day, *(getattr(DailyMetric, m) for m in METRICS))
                .where(DailyMetric.campaign_id.in_(chunk), DailyMetric.day.between(low, high))
            ).tuples().all()
    stored = pd.DataFrame(rows, columns=["campaign_pk", "day", *METRICS])
    stored["campaign_pk"] = stored["campaign_pk"].astype("int64")
    stored["day"] = pd.to_datetime(stored["day"])
    for metric in METRICS:
        if metric in INTEGER_METRICS:
            stored[metric] = stored[metric].astype("Int64")
        else:
            stored[metric] = pd.Series([None if v is None else int((Decimal(v) * 100).to_integral_value())
                                        for v in stored[metric]], index=stored.index, dtype="Int64")
    return stored


def _db_rows(records: pd.DataFrame, metrics: list[str], batch_id: int, prefix: str = "") -> list[dict[str, Any]]:
    """Records as bind parameters: counts as int, hundredths back to exact Decimals."""
    columns: dict[str, list[Any]] = {
        "campaign_id": records["campaign_pk"].astype(int).tolist(),
        "day": [d.date() for d in records["day"]],
    }
    for metric in metrics:
        values = [None if pd.isna(v) else int(v) for v in records[metric]]
        columns[metric] = values if metric in INTEGER_METRICS else [
            None if v is None else Decimal(v).scaleb(-2) for v in values]
    names = list(columns)
    return [{**{prefix + n: v for n, v in zip(names, row)}, prefix + "import_batch_id": batch_id}
            for row in zip(*columns.values())]


def _write_metrics(session: Session, plan: pd.DataFrame, present: list[str], batch_id: int) -> None:
    """Insert the new daily records and update the changed ones (only the file's own metrics), set-based."""
    table = DailyMetric.__table__
    inserts = plan[plan["action"].eq("insert")]
    updates = plan[plan["action"].eq("update")]
    # Core executemany rather than ORM bulk: the ORM layer costs more than the database does here.
    if not inserts.empty:
        session.execute(table.insert(), _db_rows(inserts, list(METRICS), batch_id))
    if not updates.empty:
        statement = (
            table.update()
            .where(table.c.campaign_id == bindparam("b_campaign_id"), table.c.day == bindparam("b_day"))
            .values({name: bindparam(f"b_{name}") for name in [*present, "import_batch_id"]})
        )
        session.execute(statement, _db_rows(updates, present, batch_id, prefix="b_"))


def _write_quarantine(session: Session, batch_id: int, raw: RawTable, quarantine: pd.DataFrame) -> None:
    """Store each quarantined row with its line number, reason and cells as they were in the file."""
    if quarantine.empty:
        return
    session.execute(insert(QuarantinedRow), [
        {"batch_id": batch_id, "row_number": int(number), "reason": reason, "raw": _raw_values(raw, number)}
        for number, reason in quarantine["reason"].items()
    ])
