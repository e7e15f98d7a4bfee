"""key date visibility and per-language display names

Revision ID: 0005_audience
Revises: 0004_gate
Create Date: 2026-11-28

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_audience"
down_revision: str | Sequence[str] | None = "0004_gate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRIVATE_KINDS = ('birthday', 'anniversary', 'renewal', 'financing')


def upgrade() -> None:
    """Add key_date.visibility (private kinds private, the rest shareable) and the display_name table."""
    with op.batch_alter_table('key_date', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visibility', sa.Enum('private', 'shareable', name='key_date_visibility', native_enum=False, create_constraint=True, length=32), nullable=True))
    key_date = sa.table('key_date', sa.column('kind', sa.String()), sa.column('visibility', sa.String()))
    op.execute(key_date.update().values(visibility='shareable'))
    op.execute(key_date.update().where(key_date.c.kind.in_(PRIVATE_KINDS)).values(visibility='private'))
    with op.batch_alter_table('key_date', schema=None) as batch_op:
        batch_op.alter_column('visibility', existing_type=sa.String(length=32), nullable=False)

    op.create_table('display_name',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=90), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('initiative', 'key_date', name='label_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('language', sa.Enum('en', 'zh', 'ru', name='display_name_language', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_display_name_client_id_client'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_display_name')),
    sa.UniqueConstraint('scope', 'kind', 'key', 'language', name=op.f('uq_display_name_scope_kind_key_language'))
    )
    with op.batch_alter_table('display_name', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_display_name_client_id'), ['client_id'], unique=False)


def downgrade() -> None:
    """Drop the display names and the visibility column."""
    with op.batch_alter_table('display_name', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_display_name_client_id'))
    op.drop_table('display_name')
    with op.batch_alter_table('key_date', schema=None) as batch_op:
        batch_op.drop_column('visibility')
