"""error_log.brand_id: the brand a failure is about (NULL: platform level), so brand admins see only their own

Revision ID: 5e9c2a7b41d3
Revises: 0384446d3b91
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e9c2a7b41d3'
down_revision: str | None = '0384446d3b91'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('error_log', sa.Column('brand_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_error_log_brand_id'), 'error_log', ['brand_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_error_log_brand_id'), table_name='error_log')
    with op.batch_alter_table('error_log') as batch_op:
        batch_op.drop_column('brand_id')
