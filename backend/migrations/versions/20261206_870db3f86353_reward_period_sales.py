"""reward period sales (issue 13): which period of a royalty-share payout counted each sale, once per reward, so a
sale the ledger confirms after its period was allocated is paid in the next one

Revision ID: 870db3f86353
Revises: b8d41f07a2c3
Create Date: 2026-12-06 07:25:17.062573
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.chain.models

revision: str = '870db3f86353'
down_revision: str | None = 'b8d41f07a2c3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reward_period_sale',
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('sale_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('royalty_paid', backend.chain.models.Wei(length=80), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['reward_period.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sale_id'], ['sale.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('reward_id', 'sale_id')
    )
    with op.batch_alter_table('reward_period_sale', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_period_sale_period_id'), ['period_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reward_period_sale', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_period_sale_period_id'))

    op.drop_table('reward_period_sale')
