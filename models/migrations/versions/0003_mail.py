"""email craft: contact name parts, honorific and explained terms; test clients

Revision ID: 0003_mail
Revises: 0002_missing_metrics
Create Date: 2026-11-28

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_mail"
down_revision: str | Sequence[str] | None = "0002_missing_metrics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('family_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('patronymic', sa.String(length=100), nullable=True,
                                      comment='Russian formal address: name + patronymic'))
        batch_op.add_column(sa.Column('honorific', sa.Enum('ms', 'mr', 'dr', name='contact_honorific',
                                                           native_enum=False, create_constraint=True, length=32),
                                      nullable=True))
        batch_op.add_column(sa.Column('glossary_sent', JSON, nullable=False, server_default=sa.text("'[]'"),
                                      comment='terms already explained to this contact'))
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_test', sa.Boolean(), nullable=False, server_default=sa.false(),
                                      comment='a test or internal client: swept, never written to'))


def downgrade() -> None:
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('is_test')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('glossary_sent')
        batch_op.drop_column('honorific')
        batch_op.drop_column('patronymic')
        batch_op.drop_column('family_name')
        batch_op.drop_column('given_name')
