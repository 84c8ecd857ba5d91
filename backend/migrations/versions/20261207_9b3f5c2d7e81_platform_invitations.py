"""invitation.brand_id NULL: an invitation to the platform's KYC review team (a platform admin invites reviewers by
email, as brand admins invite their members; a KYC reviewer within one brand could review nothing)

Revision ID: 9b3f5c2d7e81
Revises: 7d2e4b8a1c60
Create Date: 2026-12-07 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9b3f5c2d7e81'
down_revision: str | None = '7d2e4b8a1c60'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('invitation') as batch_op:
        batch_op.alter_column('brand_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM invitation WHERE brand_id IS NULL")
    # The platform team's pending reviewers: without their invitations they could never join.
    op.execute("DELETE FROM membership WHERE brand_id IS NULL AND accepted_at IS NULL AND role = 'kyc_reviewer'")
    with op.batch_alter_table('invitation') as batch_op:
        batch_op.alter_column('brand_id', existing_type=sa.Integer(), nullable=False)
