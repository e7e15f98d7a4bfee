"""The demo agency: write a generated agency into Cadence's database, and describe what was planted in it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from cadence.demo.metrics import MetricChunk, metric_chunks, monthly_budgets
from cadence.demo.plan import AgencyPlan, plan_agency
from models import (
    AdAccount,
    Base,
    Campaign,
    Client,
    ClientRequest,
    Contact,
    DailyMetric,
    DisplayName,
    Interaction,
    KeyDate,
    OptimisationNote,
    Staff,
)
from tasks.errors import CadenceError

Progress = Callable[[str, int, int], None]
MANIFEST_NAME = "demo-manifest.json"
EPOCH = dt.date(1970, 1, 1)  # Arrow's date32 counts days from it
METRIC_COLUMNS = ("campaign_id", "day", "impressions", "clicks", "spend", "conversions", "conversion_value")
# The metric columns' types as numbers (a pandas frame's, before it becomes an Arrow table); `day` stays dates.
METRIC_TYPES = {"campaign_id": "int64", "impressions": "int64", "clicks": "int64", "spend": "float64",
                "conversions": "float64", "conversion_value": "float64"}


@dataclass(frozen=True)
class DemoSummary:
    """What a generation produced: its inputs, its row counts, and the problems planted for the sweep to find."""

    seed: int
    as_of: dt.date
    first_day: dt.date
    last_day: dt.date
    counts: dict[str, int]
    problems: list[dict[str, Any]]
    service_cases: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("as_of", "first_day", "last_day"):
            data[key] = data[key].isoformat()
        return data


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def held_clients(engine: Engine) -> int:
    """How many clients the database holds."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Client.__table__)) or 0)


def clear_agency(conn: Connection) -> None:
    """Delete every row of Cadence's own tables, children first, inside the caller's transaction."""
    tables = list(reversed(Base.metadata.sorted_tables))
    if conn.dialect.name == "postgresql":
        # TRUNCATE is transactional on PostgreSQL, far faster than DELETE, and restarts ids like a fresh database.
        conn.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY CASCADE"))
        return
    for table in tables:
        conn.execute(table.delete())


def generate_agency(
    engine: Engine,
    *,
    as_of: dt.date,
    seed: int = 7,
    clients: int = 40,
    days: int = 400,
    campaigns_per_client: int | None = None,
    inject_problems: bool = True,
    progress: Progress | None = None,
    replace: bool = False,
) -> DemoSummary:
    """Generate the demo agency into an empty database in one transaction; `replace` deletes what is there first."""
    report = progress or _quiet
    with engine.begin() as conn:
        held = int(conn.scalar(select(func.count()).select_from(Client.__table__)) or 0)
        if held and not replace:
            raise CadenceError(
                f"the database already holds {held} clients: pass replace=True "
                "(`cadence demo --fresh`) to delete all Cadence data first"
            )
        plan = plan_agency(
            seed=seed,
            as_of=as_of,
            clients=clients,
            days=days,
            campaigns_per_client=campaigns_per_client,
            inject_problems=inject_problems,
        )
        if replace:
            clear_agency(conn)
        ids = _write_agency(conn, plan, report)
        metric_rows, month_to_date = _write_metrics(conn, plan, ids["campaign"], report)
        conn.execute(
            update(Client.__table__)
            .where(Client.__table__.c.id == bindparam("client_id"))
            .values(monthly_budget=bindparam("budget")),
            [
                {"client_id": int(ids["client"][i]), "budget": budget}
                for i, budget in enumerate(monthly_budgets(plan, month_to_date))
            ],
        )
        _write_service_record(conn, plan, ids, report)
    return DemoSummary(
        seed=seed,
        as_of=as_of,
        first_day=plan.first_day,
        last_day=plan.last_day,
        counts={
            "staff": len(plan.staff),
            "clients": len(plan.clients),
            "contacts": len(plan.contacts),
            "accounts": len(plan.accounts),
            "campaigns": len(plan.campaigns),
            "metric_rows": metric_rows,
            "key_dates": len(plan.key_dates),
            "notes": len(plan.notes),
            "interactions": len(plan.interactions),
            "requests": len(plan.requests),
        },
        problems=[dict(p) for p in plan.problems],
        service_cases=[dict(c) for c in plan.service_cases],
    )


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...] = ()) -> np.ndarray:
    """Insert rows; with `key` (a natural key), return their new ids in the order of `rows`."""
    if rows and conn.dialect.name == "postgresql" and set(table.c.keys()) - set(rows[0]) <= {"id"}:
        _copy_dicts(conn, table, rows)
    elif rows:
        # Plain executemany: psycopg re-parses every long INSERT..RETURNING batch, three times slower here.
        conn.execute(insert(table), rows)
    if not key:
        return np.zeros(0, dtype=np.int64)
    stored = {tuple(r[1:]): r[0] for r in conn.execute(select(table.c.id, *(table.c[k] for k in key)))}
    return np.array([stored[tuple(r[k] for k in key)] for r in rows], dtype=np.int64)


def _copy_dicts(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY of rows that name every column but `id` (no column default is left to fill in).

    Each value goes through its column type's own bind processing (enums to their stored strings, JSON wrapped), as
    an INSERT would send it: measured 7x faster than executemany for the campaigns.
    """
    columns = [c for c in table.c if c.name != "id"]
    processors = [c.type.bind_processor(conn.dialect) for c in columns]
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table.name} ({', '.join(c.name for c in columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([value if process is None or value is None else process(value)
                            for value, process in zip((row[c.name] for c in columns), processors, strict=True)])


def _columns(row: dict[str, Any], table: Table) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k in table.c}


def _ref(ids: np.ndarray, key: int | None) -> int | None:
    return None if key is None else int(ids[key])


def _write_agency(conn: Connection, plan: AgencyPlan, report: Progress) -> dict[str, np.ndarray]:
    staff_table, steps = Staff.__table__, 5
    staff_ids = np.zeros(len(plan.staff), dtype=np.int64)
    # Managers first, so each row's manager already has an id.
    for level in (
        lambda s: s["manager_key"] is None,
        lambda s: s["manager_key"] is not None and plan.staff[s["manager_key"]]["manager_key"] is None,
        lambda s: s["manager_key"] is not None and plan.staff[s["manager_key"]]["manager_key"] is not None,
    ):
        members = [s for s in plan.staff if level(s)]
        staff_ids[[s["key"] for s in members]] = _insert(
            conn,
            staff_table,
            [{**_columns(s, staff_table), "manager_id": _ref(staff_ids, s["manager_key"])} for s in members],
            key=("email",),
        )
    report("agency", 1, steps)
    table = Client.__table__
    client_ids = _insert(
        conn,
        table,
        [
            {
                **_columns(c, table),
                "owner_am_id": _ref(staff_ids, c["owner_am_key"]),
                "team_lead_id": _ref(staff_ids, c["team_lead_key"]),
                "director_id": _ref(staff_ids, c["director_key"]),
                "settings": {},
            }
            for c in plan.clients
        ],
        key=("slug",),
    )
    report("agency", 2, steps)
    table = Contact.__table__
    contact_ids = _insert(
        conn,
        table,
        [{**_columns(c, table), "client_id": _ref(client_ids, c["client_key"])} for c in plan.contacts],
        key=("client_id", "email"),
    )
    report("agency", 3, steps)
    table = AdAccount.__table__
    account_ids = _insert(
        conn,
        table,
        [{**_columns(a, table), "client_id": _ref(client_ids, a["client_key"])} for a in plan.accounts],
        key=("platform", "external_id"),
    )
    report("agency", 4, steps)
    table = Campaign.__table__
    campaign_ids = _insert(
        conn,
        table,
        [{**_columns(c, table), "account_id": _ref(account_ids, c["account_key"])} for c in plan.campaigns],
        key=("account_id", "external_id"),
    )
    report("agency", 5, steps)
    return {
        "staff": staff_ids,
        "client": client_ids,
        "contact": contact_ids,
        "account": account_ids,
        "campaign": campaign_ids,
    }


def _write_metrics(
    conn: Connection, plan: AgencyPlan, campaign_ids: np.ndarray, report: Progress
) -> tuple[int, np.ndarray]:
    """Insert every metric row a chunk at a time; returns the row count and each client's month-to-date spend."""
    postgres = conn.dialect.name == "postgresql"
    first_day = np.int32((plan.first_day - EPOCH).days)
    month_to_date = np.zeros(len(plan.clients))
    written, total = 0, len(plan.campaigns)
    report("metrics", 0, total)
    # On PostgreSQL the campaign foreign key is checked once for the whole table, not per COPY row (measured 13 µs a
    # row instead of 24), and the primary key and the index by day are built once at the end, sorted, rather than kept
    # up row by row (1.3 µs a row instead of 3 for the key). All are put back, the constraint validated, in the same
    # transaction, with the memory for a sort of millions of rows.
    table = DailyMetric.__table__
    constraints = [fk for fk in table.foreign_key_constraints if fk.referred_table is Campaign.__table__]
    constraints.append(table.primary_key)
    indexes = list(table.indexes)
    if postgres:
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        for constraint in constraints:
            conn.execute(DropConstraint(constraint))
        for index in indexes:
            conn.execute(DropIndex(index))

    def tables() -> Iterator[pa.Table]:
        nonlocal written, month_to_date
        for chunk in metric_chunks(plan):
            yield _metric_table(chunk, campaign_ids, first_day)
            written += len(chunk)
            month_to_date += chunk.month_to_date
            report("metrics", chunk.campaigns_done, total)

    insert_metric_rows(conn, tables())
    if postgres:
        for constraint in reversed(constraints):
            conn.execute(AddConstraint(constraint))
        for index in indexes:
            conn.execute(CreateIndex(index))
        # Planner statistics for the bulk just written (autovacuum would take its time): the sweep's first read
        # otherwise plans on an empty table's guesses.
        conn.exec_driver_sql("ANALYZE daily_metric, campaign, ad_account, client")
    return written, month_to_date


def _metric_table(chunk: MetricChunk, campaign_ids: np.ndarray, first_day: np.int32) -> pa.Table:
    return pa.table(
        {
            "campaign_id": campaign_ids[chunk.campaign],
            "day": pa.array((first_day + chunk.day).astype(np.int32), pa.date32()),
            "impressions": chunk.impressions,
            "clicks": chunk.clicks,
            "spend": chunk.spend,
            "conversions": chunk.conversions,
            "conversion_value": chunk.conversion_value,
        }
    )


def insert_metric_rows(conn: Connection, tables: Iterable[pa.Table]) -> None:
    """Metric rows (tables with METRIC_COLUMNS, days as dates) in the caller's transaction.

    PostgreSQL: one COPY for all the tables, each written as CSV by Arrow and sent from a queue by psycopg's own
    thread, so the next table is made while the server parses this one. SQLite: executemany below SQLAlchemy's
    per-row bind processing (1.9x faster, measured), with the ISO dates and floats it would have stored itself.
    """
    if conn.dialect.name == "postgresql":
        _copy_csv(conn, tables)
        return
    for table in tables:
        columns = [table.column(c) for c in METRIC_COLUMNS]
        columns[1] = columns[1].cast(pa.string())
        # Identifiers from the model, values bound: no data is formatted into the statement.
        conn.exec_driver_sql(
            f"INSERT INTO {DailyMetric.__tablename__} ({', '.join(METRIC_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in METRIC_COLUMNS)})",
            list(zip(*(c.to_pylist() for c in columns), strict=True)),
        )


def _copy_csv(conn: Connection, tables: Iterable[pa.Table]) -> None:
    """One PostgreSQL COPY of Arrow tables inside the caller's transaction (header-less CSV; empty means NULL)."""
    from psycopg.copy import QueuedLibpqWriter  # the PostgreSQL driver, there when the database is PostgreSQL

    options = pa_csv.WriteOptions(include_header=False)
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {DailyMetric.__tablename__} ({', '.join(METRIC_COLUMNS)}) FROM STDIN (FORMAT csv)",
                             writer=QueuedLibpqWriter(cursor)) as copy:
        for table in tables:
            buffer = pa.BufferOutputStream()
            pa_csv.write_csv(table.select(list(METRIC_COLUMNS)), buffer, options)
            copy.write(buffer.getvalue())


def _write_service_record(conn: Connection, plan: AgencyPlan, ids: dict[str, np.ndarray], report: Progress) -> None:
    # Each table with its planned rows and, per foreign key, (id array, the plan's key column).
    parts = [
        (KeyDate, plan.key_dates, {"client_id": ("client", "client_key")}),
        (DisplayName, plan.display_names, {"client_id": ("client", "client_key")}),
        (OptimisationNote, plan.notes, {"client_id": ("client", "client_key"), "account_id": ("account", "account_key"),
                                        "campaign_id": ("campaign", "campaign_key"),
                                        "author_id": ("staff", "author_key")}),
        (Interaction, plan.interactions, {"client_id": ("client", "client_key"),
                                          "contact_id": ("contact", "contact_key"),
                                          "staff_id": ("staff", "staff_key")}),
        (ClientRequest, plan.requests, {"client_id": ("client", "client_key"),
                                        "contact_id": ("contact", "contact_key")}),
    ]
    for done, (model, planned, refs) in enumerate(parts, start=1):
        table = model.__table__
        _insert(conn, table, [
            {**_columns(row, table), **{col: _ref(ids[kind], row[key]) for col, (kind, key) in refs.items()}}
            for row in planned
        ])
        report("service record", done, len(parts))


def manifest_path(home: Path) -> Path:
    return home / MANIFEST_NAME


def write_manifest(path: Path, body: dict[str, Any]) -> None:
    """Record what was generated where other tools and tests can read it (a summary's dict plus its inputs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at `path`, or None when there is none or it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
