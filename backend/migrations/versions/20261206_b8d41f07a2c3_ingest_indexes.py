"""ingest indexes (issue 12's sales ingest bench): drop two indexes that a unique index already covers

- outbox_delivery: ix_outbox_delivery_event_id duplicated the leading column of uq_outbox_delivery_event_subscriber
  (event_id, subscriber), which serves the same look-ups and the foreign key's cascade.
- sale: uq_sale_key now leads with tx_hash (tx_hash, chain_id, collection, token_id, log_index_key), so it serves
  the ledger's look-up by transaction hash and ix_sale_tx_hash goes. Same columns, same uniqueness.
Each insert maintained both; the ingest writes a delivery per new sale.

Revision ID: b8d41f07a2c3
Revises: 8d2f4b6a1c3e
Create Date: 2026-12-06 03:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'b8d41f07a2c3'
down_revision: str | None = '8d2f4b6a1c3e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_delivery_event_id'))
    with op.batch_alter_table('sale', schema=None) as batch_op:
        batch_op.drop_index('ix_sale_tx_hash')
        batch_op.drop_constraint('uq_sale_key', type_='unique')
        batch_op.create_unique_constraint(
            'uq_sale_key', ['tx_hash', 'chain_id', 'collection', 'token_id', 'log_index_key'])


def downgrade() -> None:
    with op.batch_alter_table('sale', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sale_key', type_='unique')
        batch_op.create_unique_constraint(
            'uq_sale_key', ['chain_id', 'tx_hash', 'collection', 'token_id', 'log_index_key'])
        batch_op.create_index('ix_sale_tx_hash', ['tx_hash'], unique=False)
    with op.batch_alter_table('outbox_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_delivery_event_id'), ['event_id'], unique=False)
