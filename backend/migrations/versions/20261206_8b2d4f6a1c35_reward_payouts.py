"""reward payouts (issue 13, M14): reward_vault, reward_period, reward_allocation, reward_claim

Revision ID: 8b2d4f6a1c35
Revises: 3f6a1c9e2b77
Create Date: 2026-12-06 02:34:21.816497
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.chain.models
import backend.db

revision: str = '8b2d4f6a1c35'
down_revision: str | None = '3f6a1c9e2b77'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reward_vault',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('state', sa.Enum('requested', 'deploying', 'deployed', 'failed', name='vaultstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('tx_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
    sa.Column('deploy_block', sa.BigInteger(), nullable=True),
    sa.Column('claims_next_block', sa.BigInteger(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tx_id'], ['chain_tx.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('brand_id', 'chain', name='uq_reward_vault_brand_chain')
    )
    with op.batch_alter_table('reward_vault', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_vault_state'), ['state'], unique=False)

    op.create_table('reward_claim',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('vault_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('claimed', 'paid_out', name='claimkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('currency_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('amount', backend.chain.models.Wei(length=80), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['vault_id'], ['reward_vault.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vault_id', 'tx_hash', 'log_index', name='uq_reward_claim_log')
    )
    with op.batch_alter_table('reward_claim', schema=None) as batch_op:
        batch_op.create_index('ix_reward_claim_holder', ['holder', 'currency_address'], unique=False)

    op.create_table('reward_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('vault_id', sa.Integer(), nullable=True),
    sa.Column('period_index', sa.Integer(), nullable=False),
    sa.Column('starts_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('ends_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('state', sa.Enum('due', 'allocating', 'allocated', 'failed', 'empty', name='periodstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot_block', sa.BigInteger(), nullable=True),
    sa.Column('currency_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('amount', backend.chain.models.Wei(length=80), nullable=False),
    sa.Column('holders', sa.Integer(), nullable=False),
    sa.Column('tokens', sa.Integer(), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vault_id'], ['reward_vault.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reward_id', 'period_index', name='uq_reward_period_index')
    )
    with op.batch_alter_table('reward_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_period_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index('ix_reward_period_state', ['state', 'id'], unique=False)

    op.create_table('reward_allocation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('vault_id', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('currency_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('tokens', sa.Integer(), nullable=False),
    sa.Column('amount', backend.chain.models.Wei(length=80), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('tx_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('allocated_block', sa.BigInteger(), nullable=True),
    sa.Column('allocated_log_index', sa.Integer(), nullable=True),
    sa.Column('claimed_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['claim_id'], ['reward_claim.id'], ),
    sa.ForeignKeyConstraint(['period_id'], ['reward_period.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tx_id'], ['chain_tx.id'], ),
    sa.ForeignKeyConstraint(['vault_id'], ['reward_vault.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reward_id', 'period_id', 'holder', name='uq_reward_allocation_holder')
    )
    with op.batch_alter_table('reward_allocation', schema=None) as batch_op:
        batch_op.create_index('ix_reward_allocation_holder', ['holder', 'currency_address'], unique=False)
        batch_op.create_index('ix_reward_allocation_period_batch', ['period_id', 'batch'], unique=False)
        batch_op.create_index(batch_op.f('ix_reward_allocation_tx_id'), ['tx_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reward_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_allocation_tx_id'))
        batch_op.drop_index('ix_reward_allocation_period_batch')
        batch_op.drop_index('ix_reward_allocation_holder')

    op.drop_table('reward_allocation')
    with op.batch_alter_table('reward_period', schema=None) as batch_op:
        batch_op.drop_index('ix_reward_period_state')
        batch_op.drop_index(batch_op.f('ix_reward_period_brand_id'))

    op.drop_table('reward_period')
    with op.batch_alter_table('reward_claim', schema=None) as batch_op:
        batch_op.drop_index('ix_reward_claim_holder')

    op.drop_table('reward_claim')
    with op.batch_alter_table('reward_vault', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_vault_state'))

    op.drop_table('reward_vault')
