"""import_mapping: an account's saved export header → field mapping, reused by later imports

Revision ID: 0009_import_mapping
Revises: 0008_finding_ack
Create Date: 2026-11-28

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_import_mapping"
down_revision: str | Sequence[str] | None = "0008_finding_ack"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("header", sa.String(length=300), nullable=False, comment="as the export writes it; compared normalised"),
        sa.Column("field", sa.String(length=40), nullable=False, comment="a canonical field, 'segment' or 'ignore'"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["ad_account.id"], name=op.f("fk_import_mapping_account_id_ad_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mapping")),
        sa.UniqueConstraint("account_id", "header", name=op.f("uq_import_mapping_account_id_header")),
    )
    with op.batch_alter_table("import_mapping", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_mapping_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_mapping", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_mapping_account_id"))
    op.drop_table("import_mapping")
