"""platform_connection; ad_account.connection_id, sync_problem, sync_problem_since: the morning pull's logins

Revision ID: 0010_platform_sync
Revises: 0009_import_mapping
Create Date: 2026-11-28

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_platform_sync"
down_revision: str | Sequence[str] | None = "0009_import_mapping"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORMS = ("generic", "google_ads", "meta", "yandex_direct", "vk", "ocean_engine")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "platform_connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.Enum(*PLATFORMS, name="connection_platform", native_enum=False,
                                      create_constraint=True, length=32), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("secrets", JSON, nullable=False, comment="secret names, never values"),
        sa.Column("options", JSON, nullable=False, comment="login_customer_id, agency login, ..."),
        sa.Column("problem", sa.Text(), nullable=True,
                  comment="why the last pull could not log in, until reconnected"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_connection")),
        sa.UniqueConstraint("platform", "label", name=op.f("uq_platform_connection_platform_label")),
    )
    with op.batch_alter_table("ad_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connection_id", sa.Integer(), nullable=True,
                                      comment="the platform login its metrics are pulled with; NULL: imported from files"))
        batch_op.add_column(sa.Column("sync_problem", sa.String(length=300), nullable=True,
                                      comment="why the morning pull got nothing"))
        batch_op.add_column(sa.Column("sync_problem_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_ad_account_connection_id"), ["connection_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_ad_account_connection_id_platform_connection"),
                                    "platform_connection", ["connection_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("ad_account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ad_account_connection_id_platform_connection"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_ad_account_connection_id"))
        batch_op.drop_column("sync_problem_since")
        batch_op.drop_column("sync_problem")
        batch_op.drop_column("connection_id")
    op.drop_table("platform_connection")
