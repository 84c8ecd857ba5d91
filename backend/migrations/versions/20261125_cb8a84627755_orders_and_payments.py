"""orders and payments: shop_order, payment_event (one row per Stripe event id), payment_refund, and the
sandbox provider's sessions and refunds (issue 5)

Revision ID: cb8a84627755
Revises: faefd1b44d90
Create Date: 2026-11-25 03:39:31.631003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db
import backend.fx.models

revision: str = 'cb8a84627755'
down_revision: str | None = 'faefd1b44d90'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payment_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('received_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('processed_at', backend.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('payment_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_event_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_event_payment_intent_id'), ['payment_intent_id'], unique=False)

    op.create_table('sandbox_refund',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('sandbox_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sandbox_refund_payment_intent_id'), ['payment_intent_id'], unique=False)

    op.create_table('sandbox_session',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('client_reference_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('line_items', sa.JSON(), nullable=False),
    sa.Column('amount_total', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('payment_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('success_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('cancel_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('amount_refunded', sa.Integer(), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    op.create_table('shop_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('wallet_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('custodial', sa.Boolean(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_minor', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('crypto_asset', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('crypto_amount', backend.fx.models.ExactDecimal(), nullable=True),
    sa.Column('fx_rate', backend.fx.models.ExactDecimal(), nullable=True),
    sa.Column('fx_source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('fx_fetched_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('state', sa.Enum('created', 'awaiting_payment', 'paid', 'minting', 'minted', 'fulfilled', 'expired', 'payment_failed', 'refund_pending', 'refunded', 'disputed', name='orderstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('holds_supply', sa.Boolean(), nullable=False),
    sa.Column('payment_provider', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('payment_session_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('payment_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('paid_amount_minor', sa.Integer(), nullable=True),
    sa.Column('paid_currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('paid_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('mint_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('mint_requested_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('mint_tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('token_ids', sa.JSON(), nullable=False),
    sa.Column('minted_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('failure_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('refund_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('refunded_minor', sa.Integer(), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('amount_minor >= 0', name='ck_shop_order_amount_nonneg'),
    sa.CheckConstraint('quantity > 0', name='ck_shop_order_quantity_pos'),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mint_key'),
    sa.UniqueConstraint('payment_session_id')
    )
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.create_index('ix_shop_order_brand_created', ['brand_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('ix_shop_order_campaign_wallet', ['campaign_id', 'wallet_address', 'holds_supply'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_mint_tx_hash'), ['mint_tx_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_payment_intent_id'), ['payment_intent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_public_id'), ['public_id'], unique=True)
        batch_op.create_index('ix_shop_order_state_expires', ['state', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_wallet_address'), ['wallet_address'], unique=False)

    op.create_table('payment_refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sa.Enum('pending', 'submitting', 'submitted', 'succeeded', 'failed', name='refundstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('provider_refund_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('payment_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_refund_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_refund_payment_intent_id'), ['payment_intent_id'], unique=False)
        batch_op.create_index('ix_payment_refund_status_next', ['status', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment_refund', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_refund_status_next')
        batch_op.drop_index(batch_op.f('ix_payment_refund_payment_intent_id'))
        batch_op.drop_index(batch_op.f('ix_payment_refund_order_id'))

    op.drop_table('payment_refund')
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_order_wallet_address'))
        batch_op.drop_index(batch_op.f('ix_shop_order_user_id'))
        batch_op.drop_index('ix_shop_order_state_expires')
        batch_op.drop_index(batch_op.f('ix_shop_order_public_id'))
        batch_op.drop_index(batch_op.f('ix_shop_order_payment_intent_id'))
        batch_op.drop_index(batch_op.f('ix_shop_order_mint_tx_hash'))
        batch_op.drop_index(batch_op.f('ix_shop_order_email'))
        batch_op.drop_index('ix_shop_order_campaign_wallet')
        batch_op.drop_index(batch_op.f('ix_shop_order_campaign_id'))
        batch_op.drop_index('ix_shop_order_brand_created')

    op.drop_table('shop_order')
    op.drop_table('sandbox_session')
    with op.batch_alter_table('sandbox_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sandbox_refund_payment_intent_id'))

    op.drop_table('sandbox_refund')
    with op.batch_alter_table('payment_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_event_payment_intent_id'))
        batch_op.drop_index(batch_op.f('ix_payment_event_order_id'))

    op.drop_table('payment_event')
