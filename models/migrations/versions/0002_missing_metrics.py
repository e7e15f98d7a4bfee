"""daily metrics may be missing: a blank export cell is stored as NULL, not 0

Revision ID: 0002_missing_metrics
Revises: 0001
Create Date: 2026-11-28

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_missing_metrics"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("impressions", sa.BigInteger()), ("clicks", sa.BigInteger()),
           ("spend", sa.Numeric(precision=18, scale=2)), ("conversions", sa.Numeric(precision=14, scale=2)),
           ("conversion_value", sa.Numeric(precision=18, scale=2)))


def _set_nullable(nullable: bool) -> None:
    # SQLite rebuilds the table: keep it clustered by (campaign, day) as 0001 made it.
    with op.batch_alter_table("daily_metric", table_kwargs={"sqlite_with_rowid": False}) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=nullable)


def upgrade() -> None:
    _set_nullable(True)


def downgrade() -> None:
    metric = sa.table("daily_metric", *(sa.column(name) for name, _ in COLUMNS))
    for name, _ in COLUMNS:
        op.execute(sa.update(metric).where(metric.c[name].is_(None)).values({name: 0}))
    _set_nullable(False)
