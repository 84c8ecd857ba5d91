"""sales ledger: sale (one row per secondary sale, whatever reported it), sale_source, sale_reversal (append-only),
sales_cursor (the marketplace pollers' position per source and collection)

Revision ID: 262e951cf0df
Revises: 5a1e9c3d7b20
Create Date: 2026-12-05 08:11:28.666641
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db
import backend.fx.models

revision: str = '262e951cf0df'
down_revision: str | None = '5a1e9c3d7b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sales_cursor',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('collection', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('source_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('walk_after', backend.db.UTCDateTime(), nullable=True),
    sa.Column('walk_high', backend.db.UTCDateTime(), nullable=True),
    sa.Column('cursor_failures', sa.Integer(), nullable=False),
    sa.Column('last_event_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('last_run_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('not_before', backend.db.UTCDateTime(), nullable=True),
    sa.Column('events_seen', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'collection', name='uq_sales_cursor_source_collection')
    )
    op.create_table('sale',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('collection', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('token_id', sa.String(length=80), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=True),
    sa.Column('log_index_key', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', sa.String(length=80), nullable=False),
    sa.Column('currency_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('currency_symbol', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('currency_decimals', sa.Integer(), nullable=False),
    sa.Column('marketplace', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('seller', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('buyer', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('sold_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=True),
    sa.Column('block_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('order_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('status', sa.Enum('confirmed', 'unverified', 'reverted', name='salestatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('value_usd_cents', sa.BigInteger(), nullable=True),
    sa.Column('value_eur_cents', sa.BigInteger(), nullable=True),
    sa.Column('fx_rate_usd', backend.fx.models.ExactDecimal(precision=38, scale=18), nullable=True),
    sa.Column('fx_rate_eur', backend.fx.models.ExactDecimal(precision=38, scale=18), nullable=True),
    sa.Column('fx_source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('royalty_receiver', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
    sa.Column('royalty_owed', sa.String(length=80), nullable=True),
    sa.Column('royalty_paid', sa.String(length=80), nullable=True),
    sa.Column('royalty_bps_mismatch', sa.Boolean(), nullable=False),
    sa.Column('fees', sa.JSON(), nullable=False),
    sa.Column('royalty_computed_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('next_check_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chain_id', 'tx_hash', 'collection', 'token_id', 'log_index_key', name='uq_sale_key')
    )
    with op.batch_alter_table('sale', schema=None) as batch_op:
        batch_op.create_index('ix_sale_brand_sold', ['brand_id', 'sold_at'], unique=False)
        batch_op.create_index('ix_sale_campaign_sold', ['campaign_id', 'sold_at'], unique=False)
        batch_op.create_index('ix_sale_next_check', ['next_check_at'], unique=False)
        batch_op.create_index('ix_sale_tx_hash', ['tx_hash'], unique=False)

    op.create_table('sale_reversal',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sale_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('reversed_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('restored_at', backend.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['sale_id'], ['sale.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sale_reversal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sale_reversal_sale_id'), ['sale_id'], unique=False)

    op.create_table('sale_source',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sale_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('first_seen_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('reverted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['sale_id'], ['sale.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sale_id', 'source', name='uq_sale_source_sale_source')
    )


def downgrade() -> None:
    op.drop_table('sale_source')
    with op.batch_alter_table('sale_reversal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_reversal_sale_id'))

    op.drop_table('sale_reversal')
    with op.batch_alter_table('sale', schema=None) as batch_op:
        batch_op.drop_index('ix_sale_tx_hash')
        batch_op.drop_index('ix_sale_next_check')
        batch_op.drop_index('ix_sale_campaign_sold')
        batch_op.drop_index('ix_sale_brand_sold')

    op.drop_table('sale')
    op.drop_table('sales_cursor')
