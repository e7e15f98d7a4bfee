"""key_date.rule: a yearly date's rule (fixed:MM-DD, black_friday, spring_festival, ...)

Revision ID: 0007_truth
Revises: 0006_layout
Create Date: 2026-11-28

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_truth"
down_revision: str | Sequence[str] | None = "0006_layout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("key_date", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule", sa.String(length=40), nullable=True,
                                      comment="how it recurs: fixed:MM-DD or black_friday, spring_festival, ..."))


def downgrade() -> None:
    with op.batch_alter_table("key_date", schema=None) as batch_op:
        batch_op.drop_column("rule")
