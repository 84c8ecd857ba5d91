"""chain: transactions and their signed attempts, signer nonces, contract deployments, mint requests, minted tokens

Revision ID: b74a4afcbefa
Revises: cb8a84627755
Create Date: 2026-11-25 03:42:43.578597
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db

revision: str = 'b74a4afcbefa'
down_revision: str | None = 'cb8a84627755'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signer_nonce',
    sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('next_nonce', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('chain', 'address')
    )
    op.create_table('chain_tx',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('purpose', sa.Enum('deploy', 'mint_batch', 'transfer', 'gas_topup', 'reward_payout', name='txpurpose', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('signer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('from_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('to_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('value_wei', sa.String(length=80), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('after_tx_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('nonce', sa.BigInteger(), nullable=True),
    sa.Column('gas_limit', sa.BigInteger(), nullable=True),
    sa.Column('max_fee_per_gas', sa.String(length=80), nullable=True),
    sa.Column('max_priority_fee_per_gas', sa.String(length=80), nullable=True),
    sa.Column('raw_tx', sa.Text(), nullable=True),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('state', sa.Enum('queued', 'sent', 'mined', 'confirmed', 'reverted', 'failed', name='txstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('sent_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('mined_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('block_number', sa.BigInteger(), nullable=True),
    sa.Column('block_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('receipt_status', sa.Integer(), nullable=True),
    sa.Column('gas_used', sa.BigInteger(), nullable=True),
    sa.Column('contract_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', backend.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['after_tx_id'], ['chain_tx.id'], ),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('chain_tx', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_tx_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chain_tx_purpose'), ['purpose'], unique=False)
        batch_op.create_index('ix_chain_tx_signer_nonce', ['chain', 'from_address', 'nonce'], unique=False)
        batch_op.create_index('ix_chain_tx_state_chain', ['state', 'chain'], unique=False)
        batch_op.create_index(batch_op.f('ix_chain_tx_tx_hash'), ['tx_hash'], unique=False)

    op.create_table('chain_tx_attempt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tx_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('nonce', sa.BigInteger(), nullable=False),
    sa.Column('max_fee_per_gas', sa.String(length=80), nullable=False),
    sa.Column('max_priority_fee_per_gas', sa.String(length=80), nullable=False),
    sa.Column('raw_tx', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('signed', 'mined', 'replaced', 'dropped', name='attemptstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tx_id'], ['chain_tx.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx_hash')
    )
    with op.batch_alter_table('chain_tx_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_tx_attempt_tx_id'), ['tx_id'], unique=False)

    op.create_table('contract_deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('state', sa.Enum('draft', 'deploy_requested', 'deploying', 'deployed', 'failed', name='contractstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('tx_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('contract_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tx_id'], ['chain_tx.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'chain', name='uq_contract_deployment_campaign_chain')
    )
    with op.batch_alter_table('contract_deployment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_deployment_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_deployment_state'), ['state'], unique=False)

    op.create_table('mint_request',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('to_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'submitted', 'minted', 'failed', name='mintstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('tx_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('token_ids', sa.JSON(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tx_id'], ['chain_tx.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('mint_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mint_request_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('ix_mint_request_status_campaign', ['status', 'campaign_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mint_request_tx_id'), ['tx_id'], unique=False)

    op.create_table('minted_token',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('mint_request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tx_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mint_request_id'], ['mint_request.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tx_id'], ['chain_tx.id'], ),
    sa.PrimaryKeyConstraint('campaign_id', 'token_id')
    )
    with op.batch_alter_table('minted_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_minted_token_mint_request_id'), ['mint_request_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('minted_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_minted_token_mint_request_id'))

    op.drop_table('minted_token')
    with op.batch_alter_table('mint_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mint_request_tx_id'))
        batch_op.drop_index('ix_mint_request_status_campaign')
        batch_op.drop_index(batch_op.f('ix_mint_request_campaign_id'))

    op.drop_table('mint_request')
    with op.batch_alter_table('contract_deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_deployment_state'))
        batch_op.drop_index(batch_op.f('ix_contract_deployment_campaign_id'))

    op.drop_table('contract_deployment')
    with op.batch_alter_table('chain_tx_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_tx_attempt_tx_id'))

    op.drop_table('chain_tx_attempt')
    with op.batch_alter_table('chain_tx', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_tx_tx_hash'))
        batch_op.drop_index('ix_chain_tx_state_chain')
        batch_op.drop_index('ix_chain_tx_signer_nonce')
        batch_op.drop_index(batch_op.f('ix_chain_tx_purpose'))
        batch_op.drop_index(batch_op.f('ix_chain_tx_campaign_id'))

    op.drop_table('chain_tx')
    op.drop_table('signer_nonce')
