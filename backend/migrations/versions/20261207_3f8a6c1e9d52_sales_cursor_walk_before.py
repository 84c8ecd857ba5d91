"""sales_cursor.walk_before and walk_low: a newest-first walk (OpenSea) given up on a failing cursor no longer moves
the high-water mark past the older history it left unread; that part is walked next, bounded above by walk_before
(the oldest event the given-up walk saw, kept in walk_low while it ran)

Revision ID: 3f8a6c1e9d52
Revises: 5e1c9a7d2b40
Create Date: 2026-12-07 06:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = '3f8a6c1e9d52'
down_revision: str | None = '5e1c9a7d2b40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sales_cursor') as batch_op:
        batch_op.add_column(sa.Column('walk_before', backend.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('walk_low', backend.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sales_cursor') as batch_op:
        batch_op.drop_column('walk_low')
        batch_op.drop_column('walk_before')
