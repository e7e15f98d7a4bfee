"""review gate: message_review, and the awaiting_approval and rejected message states

Revision ID: 0004_gate
Revises: 0003_mail
Create Date: 2026-11-28

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_gate"
down_revision: str | Sequence[str] | None = "0003_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = ('queued', 'held', 'sending', 'sent', 'failed', 'dead', 'uncertain', 'manual')
NEW_STATES = OLD_STATES + ('awaiting_approval', 'rejected')


def _states(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbound_message_message_status'), type_='check')
        batch_op.create_check_constraint('message_status', _states(NEW_STATES))
    op.create_table('message_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('approve', 'reject', 'edit', name='review_action', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbound_message.id'], name=op.f('fk_message_review_message_id_outbound_message'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_message_review_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_review'))
    )
    with op.batch_alter_table('message_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_review_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_review_message_id'))
    op.drop_table('message_review')
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbound_message_message_status'), type_='check')
        batch_op.create_check_constraint('message_status', _states(OLD_STATES))
