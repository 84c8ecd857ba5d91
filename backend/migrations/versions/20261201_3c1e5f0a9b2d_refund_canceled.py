"""payment_refund.status gains `canceled`: a queued refund that was never sent because nothing was left to refund
(a dispute or a refund at the provider returned the money first)

Revision ID: 3c1e5f0a9b2d
Revises: b74a4afcbefa
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3c1e5f0a9b2d'
down_revision: str | None = 'b74a4afcbefa'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ('pending', 'submitting', 'submitted', 'succeeded', 'failed')
NEW = OLD + ('canceled',)


def _status(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name='refundstatus', native_enum=False, create_constraint=True, length=32)


def _replace_check(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('refundstatus', 'payment_refund', type_='check')
        listed = ", ".join(f"'{v}'" for v in new)
        op.create_check_constraint('refundstatus', 'payment_refund', f"status IN ({listed})")
        return
    # SQLite cannot alter a CHECK constraint: batch mode copies the table with the new column type.
    with op.batch_alter_table('payment_refund', recreate='always') as batch_op:
        batch_op.alter_column('status', existing_type=_status(old), type_=_status(new), existing_nullable=False)


def upgrade() -> None:
    _replace_check(OLD, NEW)


def downgrade() -> None:
    op.execute("UPDATE payment_refund SET status = 'failed' WHERE status = 'canceled'")
    _replace_check(NEW, OLD)
