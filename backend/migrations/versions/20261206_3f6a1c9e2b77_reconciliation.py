"""reconciliation (issue 15): reconciliation_run, reconciliation_total, reconciliation_exception

Revision ID: 3f6a1c9e2b77
Revises: ec79eeb46d8d
Create Date: 2026-12-05 19:02:31.093409
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db

revision: str = '3f6a1c9e2b77'
down_revision: str | None = 'ec79eeb46d8d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reconciliation_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.Enum('nightly', 'manual', 'cli', name='runtrigger', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('since', backend.db.UTCDateTime(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sa.Enum('running', 'clean', 'exceptions', 'failed', name='runstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('orders_checked', sa.Integer(), nullable=False),
    sa.Column('exception_count', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('started_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', backend.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reconciliation_run', schema=None) as batch_op:
        batch_op.create_index('ix_reconciliation_run_brand_started', ['brand_id', 'started_at'], unique=False)

    op.create_table('reconciliation_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('paid_not_minted', 'minted_twice', 'refunded_and_minted', 'amount_mismatch', 'wrong_recipient', 'orphan_transfer', 'orphan_charge', 'supply_mismatch', name='exceptionkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['reconciliation_run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reconciliation_exception', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_exception_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconciliation_exception_run_id'), ['run_id'], unique=False)

    op.create_table('reconciliation_total',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('money_in_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('net_minor', sa.BigInteger(), nullable=False),
    sa.Column('orders_paid_minor', sa.BigInteger(), nullable=False),
    sa.Column('orders_refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('orders_paid', sa.Integer(), nullable=False),
    sa.Column('orders_minted', sa.Integer(), nullable=False),
    sa.Column('orders_refunded', sa.Integer(), nullable=False),
    sa.Column('orders_in_flight', sa.Integer(), nullable=False),
    sa.Column('oldest_in_flight_s', sa.Integer(), nullable=True),
    sa.Column('tokens_sold', sa.Integer(), nullable=False),
    sa.Column('tokens_minted', sa.Integer(), nullable=False),
    sa.Column('tokens_on_chain', sa.Integer(), nullable=False),
    sa.Column('collections_supply', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['reconciliation_run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reconciliation_total', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_total_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconciliation_total_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reconciliation_total', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_total_run_id'))
        batch_op.drop_index(batch_op.f('ix_reconciliation_total_brand_id'))

    op.drop_table('reconciliation_total')
    with op.batch_alter_table('reconciliation_exception', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_exception_run_id'))
        batch_op.drop_index(batch_op.f('ix_reconciliation_exception_brand_id'))

    op.drop_table('reconciliation_exception')
    with op.batch_alter_table('reconciliation_run', schema=None) as batch_op:
        batch_op.drop_index('ix_reconciliation_run_brand_started')

    op.drop_table('reconciliation_run')
