"""unreachable attempts (issue 15, faults): outbound_email and payment_refund count the attempts that found the
SMTP server or the payment provider unreachable, which do not spend EMAIL_MAX_ATTEMPTS / REFUND_MAX_ATTEMPTS

Revision ID: 8d2f4b6a1c3e
Revises: 8b2d4f6a1c35
Create Date: 2026-12-06 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '8d2f4b6a1c3e'
down_revision: str | None = '8b2d4f6a1c35'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_email') as batch_op:
        batch_op.add_column(sa.Column('unreachable_attempts', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('payment_refund') as batch_op:
        batch_op.add_column(sa.Column('unreachable_attempts', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('payment_refund') as batch_op:
        batch_op.drop_column('unreachable_attempts')
    with op.batch_alter_table('outbound_email') as batch_op:
        batch_op.drop_column('unreachable_attempts')
