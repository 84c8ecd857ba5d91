"""Rewards (issue 13): reward definitions (perks and payouts), their change history, perk redemptions (one row per
use, unique per reward/token/period/use), every redemption attempt, and single-use SIWE nonces

Revision ID: ec79eeb46d8d
Revises: 7c3e9a1d5b20
Create Date: 2026-12-05 09:06:20.260107
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db

revision: str = 'ec79eeb46d8d'
down_revision: str | None = '7c3e9a1d5b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('siwe_nonce',
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
    sa.PrimaryKeyConstraint('nonce')
    )
    with op.batch_alter_table('siwe_nonce', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_siwe_nonce_expires_at'), ['expires_at'], unique=False)

    op.create_table('reward',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('perk', 'payout', name='rewardkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('image_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('starts_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('ends_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('token_ranges', sa.JSON(), nullable=False),
    sa.Column('requires_kyc', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.Enum('in_store', 'online', name='perkchannel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('use_period', sa.Enum('ever', 'day', 'week', 'month', name='useperiod', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('uses_per_period', sa.Integer(), nullable=False),
    sa.Column('locations', sa.JSON(), nullable=False),
    sa.Column('payout_mode', sa.Enum('fixed_per_token', 'royalty_share', name='payoutmode', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('amount_per_token', sa.String(length=80), nullable=True),
    sa.Column('currency_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
    sa.Column('currency_decimals', sa.Integer(), nullable=True),
    sa.Column('currency_symbol', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('royalty_share_bps', sa.Integer(), nullable=True),
    sa.Column('payout_period', sa.Enum('week', 'month', 'quarter', name='payoutperiod', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('state', sa.Enum('active', 'ended', name='rewardstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('first_used_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('currency_decimals IS NULL OR (currency_decimals >= 0 AND currency_decimals <= 36)', name='ck_reward_currency_decimals'),
    sa.CheckConstraint('ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at', name='ck_reward_window'),
    sa.CheckConstraint('royalty_share_bps IS NULL OR (royalty_share_bps >= 1 AND royalty_share_bps <= 10000)', name='ck_reward_royalty_share_bps'),
    sa.CheckConstraint('uses_per_period >= 1', name='ck_reward_uses_pos'),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index('ix_reward_campaign_state', ['campaign_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_reward_state'), ['state'], unique=False)

    op.create_table('reward_change',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reward_change', schema=None) as batch_op:
        batch_op.create_index('ix_reward_change_reward', ['reward_id', 'id'], unique=False)

    op.create_table('reward_redemption',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.BigInteger(), nullable=False),
    sa.Column('period_key', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('use_no', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('channel', sa.Enum('qr', 'online', name='redemptionchannel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('code_nonce', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('redemption_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_nonce', name='uq_reward_redemption_code'),
    sa.UniqueConstraint('redemption_code'),
    sa.UniqueConstraint('reward_id', 'token_id', 'period_key', 'use_no', name='uq_reward_redemption_use')
    )
    with op.batch_alter_table('reward_redemption', schema=None) as batch_op:
        batch_op.create_index('ix_reward_redemption_reward_time', ['reward_id', 'created_at'], unique=False)

    op.create_table('reward_attempt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=True),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('token_id', sa.BigInteger(), nullable=True),
    sa.Column('channel', sa.Enum('qr', 'online', name='redemptionchannel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('scanner_brand_id', sa.Integer(), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('outcome', sa.Enum('accepted', 'refused', name='attemptoutcome', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('redemption_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['redemption_id'], ['reward_redemption.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scanner_brand_id'], ['brand.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reward_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_reward_attempt_brand_time', ['brand_id', 'created_at'], unique=False)
        batch_op.create_index('ix_reward_attempt_reward_time', ['reward_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reward_attempt_scanner_brand_id'), ['scanner_brand_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reward_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_attempt_scanner_brand_id'))
        batch_op.drop_index('ix_reward_attempt_reward_time')
        batch_op.drop_index('ix_reward_attempt_brand_time')

    op.drop_table('reward_attempt')
    with op.batch_alter_table('reward_redemption', schema=None) as batch_op:
        batch_op.drop_index('ix_reward_redemption_reward_time')

    op.drop_table('reward_redemption')
    with op.batch_alter_table('reward_change', schema=None) as batch_op:
        batch_op.drop_index('ix_reward_change_reward')

    op.drop_table('reward_change')
    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_state'))
        batch_op.drop_index('ix_reward_campaign_state')
        batch_op.drop_index(batch_op.f('ix_reward_brand_id'))

    op.drop_table('reward')
    with op.batch_alter_table('siwe_nonce', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_siwe_nonce_expires_at'))

    op.drop_table('siwe_nonce')
