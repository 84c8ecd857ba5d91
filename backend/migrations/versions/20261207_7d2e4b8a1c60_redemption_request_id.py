"""reward_redemption.request_id: the counter's own id for the confirm that took a use, so that the same confirm sent
again (a retry after a lost answer, a double click) gets that use back instead of "already redeemed"

Revision ID: 7d2e4b8a1c60
Revises: 3f8a6c1e9d52
Create Date: 2026-12-07 13:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '7d2e4b8a1c60'
down_revision: str | None = '3f8a6c1e9d52'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reward_redemption') as batch_op:
        batch_op.add_column(sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reward_redemption') as batch_op:
        batch_op.drop_column('request_id')
