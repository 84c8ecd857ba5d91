"""Invitations bound to their membership and invitee (pending memberships grant nothing until accepted), and web
sessions that remember when they were last used (idle timeout)

Revision ID: 5e7b2c9d41af
Revises: 5e9c2a7b41d3
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = '5e7b2c9d41af'
down_revision: str | None = '5e9c2a7b41d3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepted_at', backend.db.UTCDateTime(), nullable=True))
    op.execute("UPDATE membership SET accepted_at = created_at")
    # A membership whose invitation was never accepted stays pending: the admin resends it from the members page.
    op.execute(
        "UPDATE membership SET accepted_at = NULL WHERE brand_id IS NOT NULL AND EXISTS ("
        " SELECT 1 FROM invitation JOIN app_user ON app_user.email = invitation.email"
        " WHERE invitation.brand_id = membership.brand_id AND app_user.id = membership.user_id"
        " AND invitation.accepted_at IS NULL)"
    )
    # Links of unbound invitations (an opaque token that let whoever held it set the password) die here.
    op.execute("DELETE FROM invitation WHERE accepted_at IS NULL")

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('membership_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sent_at', backend.db.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_invitation_user_id'), ['user_id'], unique=False)
        batch_op.create_unique_constraint('uq_invitation_membership_id', ['membership_id'])
        batch_op.create_foreign_key('fk_invitation_user_id_app_user', 'app_user', ['user_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key('fk_invitation_membership_id_membership', 'membership', ['membership_id'],
                                    ['id'], ondelete='CASCADE')
    op.execute("UPDATE invitation SET user_id = (SELECT id FROM app_user WHERE app_user.email = invitation.email)")

    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', backend.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invitation_membership_id_membership', type_='foreignkey')
        batch_op.drop_constraint('fk_invitation_user_id_app_user', type_='foreignkey')
        batch_op.drop_constraint('uq_invitation_membership_id', type_='unique')
        batch_op.drop_index(batch_op.f('ix_invitation_user_id'))
        batch_op.drop_column('sent_at')
        batch_op.drop_column('membership_id')
        batch_op.drop_column('user_id')
    # Pending memberships granted their role before invitations were bound to them.
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('accepted_at')
