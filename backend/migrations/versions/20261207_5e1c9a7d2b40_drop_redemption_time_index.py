"""drop ix_reward_redemption_reward_time (issue 13): the counter's lookup of a token's uses must read through
uq_reward_redemption_use (reward, token, period, use). With statistics that lag a fast-growing table, PostgreSQL's
generic plan took the (reward, created_at) index instead and read every redemption of the reward on every scan
(bench/redeem.py: about 7,000 index entries per redemption at 20,000 tokens). The stats page that index served reads
all of a reward's redemptions in its other queries anyway, through the unique constraint's (reward_id, ...) prefix.

Revision ID: 5e1c9a7d2b40
Revises: 28d0107acdc5
Create Date: 2026-12-07 00:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '5e1c9a7d2b40'
down_revision: str | None = '28d0107acdc5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reward_redemption', schema=None) as batch_op:
        batch_op.drop_index('ix_reward_redemption_reward_time')


def downgrade() -> None:
    with op.batch_alter_table('reward_redemption', schema=None) as batch_op:
        batch_op.create_index('ix_reward_redemption_reward_time', ['reward_id', 'created_at'], unique=False)
