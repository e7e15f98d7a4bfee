"""Reports per detail level: a summary and a campaign-level variant of one report are two rows.

Revision ID: 0006_layout
Revises: 0005_audience
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_layout"
down_revision = "0005_audience"
branch_labels = None
depends_on = None

DETAIL = sa.Enum("summary", "campaign", name="report_detail", native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", DETAIL, nullable=False, server_default="summary"))
        batch_op.drop_constraint("uq_report_client_id_kind_period_language", type_="unique")
        batch_op.create_unique_constraint("uq_report_client_id_kind_period_language_detail",
                                          ["client_id", "kind", "period", "language", "detail"])


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint("uq_report_client_id_kind_period_language_detail", type_="unique")
        batch_op.create_unique_constraint("uq_report_client_id_kind_period_language",
                                          ["client_id", "kind", "period", "language"])
        batch_op.drop_column("detail")
