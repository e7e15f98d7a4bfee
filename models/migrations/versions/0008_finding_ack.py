"""finding.acknowledged_at, acknowledged_by, ack_note: who acknowledged a problem, when, and why

Revision ID: 0008_finding_ack
Revises: 0007_truth
Create Date: 2026-11-28

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_finding_ack"
down_revision: str | Sequence[str] | None = "0007_truth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("ack_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_column("ack_note")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
