"""workflow engine: state-transition history, outbox, deliveries, job leases and runs, error log, fx rates

Revision ID: faefd1b44d90
Revises: 95407c136f68
Create Date: 2026-11-25 03:15:57.841886
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db
import backend.fx.models

revision: str = 'faefd1b44d90'
down_revision: str | None = '95407c136f68'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('error_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('exc_type', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_seen', backend.db.UTCDateTime(), nullable=False),
    sa.Column('last_seen', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fingerprint')
    )
    with op.batch_alter_table('error_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_error_log_last_seen'), ['last_seen'], unique=False)

    op.create_table('fx_provider_state',
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('not_before', backend.db.UTCDateTime(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('used_weight', sa.Integer(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('provider')
    )
    op.create_table('fx_rate',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('base', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('quote', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('value', backend.fx.models.ExactDecimal(), nullable=False),
    sa.Column('fetched_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fx_rate', schema=None) as batch_op:
        batch_op.create_index('ix_fx_rate_pair_fetched', ['base', 'quote', 'fetched_at'], unique=False)

    op.create_table('job_lease',
    sa.Column('job_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('expires_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('heartbeat_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('acquired_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('schedule', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('next_run_at', backend.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('job_name')
    )
    op.create_table('job_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('job_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('started_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.Enum('running', 'ok', 'error', 'lease_lost', 'abandoned', name='runoutcome', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index('ix_job_run_job_started', ['job_name', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_run_started_at'), ['started_at'], unique=False)

    op.create_table('outbox_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_event_topic'), ['topic'], unique=False)

    op.create_table('outbox_delivery',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subscriber', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('entity_key', sqlmodel.sql.sqltypes.AutoString(length=110), nullable=True),
    sa.Column('status', sa.Enum('pending', 'delivered', 'dead', name='deliverystatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', backend.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['outbox_event.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'subscriber', name='uq_outbox_delivery_event_subscriber')
    )
    with op.batch_alter_table('outbox_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_delivery_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_outbox_delivery_pending', ['id', 'next_attempt_at'], unique=False,
                              postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_outbox_delivery_pending_entity', ['subscriber', 'entity_key', 'id'], unique=False,
                              postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_outbox_delivery_status', ['status'], unique=False)

    op.create_table('processed_event',
    sa.Column('subscriber', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('subscriber', 'event_id')
    )
    op.create_table('scheduler_heartbeat',
    sa.Column('runner_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('hostname', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('beat_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('runner_id')
    )
    with op.batch_alter_table('scheduler_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduler_heartbeat_beat_at'), ['beat_at'], unique=False)

    op.create_table('state_transition',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('state_transition', schema=None) as batch_op:
        batch_op.create_index('ix_state_transition_entity', ['entity_type', 'entity_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('state_transition', schema=None) as batch_op:
        batch_op.drop_index('ix_state_transition_entity')

    op.drop_table('state_transition')
    with op.batch_alter_table('scheduler_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduler_heartbeat_beat_at'))

    op.drop_table('scheduler_heartbeat')
    op.drop_table('processed_event')
    with op.batch_alter_table('outbox_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_delivery_status')
        batch_op.drop_index('ix_outbox_delivery_pending_entity')
        batch_op.drop_index('ix_outbox_delivery_pending')
        batch_op.drop_index(batch_op.f('ix_outbox_delivery_event_id'))

    op.drop_table('outbox_delivery')
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_event_topic'))

    op.drop_table('outbox_event')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_run_started_at'))
        batch_op.drop_index('ix_job_run_job_started')

    op.drop_table('job_run')
    op.drop_table('job_lease')
    with op.batch_alter_table('fx_rate', schema=None) as batch_op:
        batch_op.drop_index('ix_fx_rate_pair_fetched')

    op.drop_table('fx_rate')
    op.drop_table('fx_provider_state')
    with op.batch_alter_table('error_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_error_log_last_seen'))

    op.drop_table('error_log')
