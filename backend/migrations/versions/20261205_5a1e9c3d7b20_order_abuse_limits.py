"""shop_order gains client_network (what the per-IP unpaid-reservation caps count) and payment_opened_at (when the
buyer first followed the pay link: the short unpaid hold became the full TTL then)

Revision ID: 5a1e9c3d7b20
Revises: 5e7b2c9d41af
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db

revision: str = '5a1e9c3d7b20'
down_revision: str | None = '5e7b2c9d41af'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_network', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('payment_opened_at', backend.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.alter_column('client_network', server_default=None)
        batch_op.create_index('ix_shop_order_network_campaign', ['client_network', 'campaign_id', 'holds_supply'],
                              unique=False)
    # Orders holding supply today count against their address from now on (an IPv6 buyer's own address, not its
    # /64: close enough for reservations that expire within the hour).
    op.execute("UPDATE shop_order SET client_network = ip WHERE holds_supply")


def downgrade() -> None:
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_index('ix_shop_order_network_campaign')
        batch_op.drop_column('payment_opened_at')
        batch_op.drop_column('client_network')
