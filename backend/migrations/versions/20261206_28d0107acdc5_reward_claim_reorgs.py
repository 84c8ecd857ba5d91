"""reward claim reorgs (issue 13): the block hash of each claim read from a vault, and the hashes of the blocks the
claim reader passed per vault (reward_claim_block), so a reorg rewinds the claims of the dropped blocks

Revision ID: 28d0107acdc5
Revises: 870db3f86353
Create Date: 2026-12-06 19:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db

revision: str = '28d0107acdc5'
down_revision: str | None = '870db3f86353'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reward_claim_block',
    sa.Column('vault_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('block_number', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('block_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['vault_id'], ['reward_vault.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('vault_id', 'block_number')
    )
    # Claims read before this revision have no hash (''): the reader keeps hashes from its next range on.
    with op.batch_alter_table('reward_claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('block_hash', sqlmodel.sql.sqltypes.AutoString(length=66), server_default='',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('reward_claim', schema=None) as batch_op:
        batch_op.drop_column('block_hash')

    op.drop_table('reward_claim_block')
