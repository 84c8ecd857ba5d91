"""KYC: cases, submissions, encrypted documents (their rows), the case audit log, provider webhook deliveries; campaign
KYC requirement (none / every buyer / above an amount per buyer)

Revision ID: 7c3e9a1d5b20
Revises: 198c77036ef1
Create Date: 2026-12-05 08:30:18.460260
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db

revision: str = '7c3e9a1d5b20'
down_revision: str | None = '198c77036ef1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_QUEUE = "state IN ('submitted', 'in_review', 'rejection_pending')"


def upgrade() -> None:
    op.create_table('kyc_provider_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('body_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('applicant_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('received_at', backend.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('body_sha256')
    )
    op.create_table('kyc_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('submitted', 'in_review', 'needs_more_info', 'rejection_pending', 'approved', 'rejected', 'withdrawn', name='kycstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('legal_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('document_number_norm', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('flags', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('queued_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('claimed_by', sa.Integer(), nullable=True),
    sa.Column('claimed_by_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('claim_expires_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('changes_requested', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('reject_reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('reject_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('rejection_proposed_by', sa.Integer(), nullable=True),
    sa.Column('rejection_proposed_by_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('decided_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('valid_until', backend.db.UTCDateTime(), nullable=True),
    sa.Column('documents_deleted_at', backend.db.UTCDateTime(), nullable=True),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('provider_applicant_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('provider_reviewed_ms', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claimed_by'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kyc_case', schema=None) as batch_op:
        batch_op.create_index('ix_kyc_case_country_state', ['country', 'state', 'queued_at'], unique=False)
        batch_op.create_index('ix_kyc_case_document_number', ['document_number_norm'], unique=False)
        batch_op.create_index(batch_op.f('ix_kyc_case_provider_applicant_id'), ['provider_applicant_id'], unique=False)
        batch_op.create_index('ix_kyc_case_retention', ['decided_at'], unique=False, postgresql_where=sa.text('documents_deleted_at IS NULL'), sqlite_where=sa.text('documents_deleted_at IS NULL'))
        batch_op.create_index('ix_kyc_case_state_queued', ['state', 'queued_at', 'id'], unique=False)
        batch_op.create_index('ix_kyc_case_open_queue', ['queued_at', 'id'], unique=False,
                              postgresql_where=sa.text(OPEN_QUEUE), sqlite_where=sa.text(OPEN_QUEUE))
        batch_op.create_index('ix_kyc_case_user', ['user_id', 'id'], unique=False)

    op.create_table('kyc_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['kyc_case.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kyc_audit', schema=None) as batch_op:
        batch_op.create_index('ix_kyc_audit_case', ['case_id', 'id'], unique=False)

    op.create_table('kyc_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('legal_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('document_type', sa.Enum('passport', 'id_card', 'driving_licence', name='documenttype', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('document_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('consent_text', sa.Text(), nullable=False),
    sa.Column('consent_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('submitted_at', backend.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['kyc_case.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'number', name='uq_kyc_submission_case_number')
    )
    with op.batch_alter_table('kyc_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kyc_submission_case_id'), ['case_id'], unique=False)

    op.create_table('kyc_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('front', 'back', 'selfie', name='documentkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', backend.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['submission_id'], ['kyc_submission.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('storage_key')
    )
    with op.batch_alter_table('kyc_document', schema=None) as batch_op:
        batch_op.create_index('ix_kyc_document_staged', ['user_id', 'created_at'], unique=False, postgresql_where=sa.text('submission_id IS NULL'), sqlite_where=sa.text('submission_id IS NULL'))
        batch_op.create_index(batch_op.f('ix_kyc_document_submission_id'), ['submission_id'], unique=False)

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kyc_requirement', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='none'))
        batch_op.add_column(sa.Column('kyc_threshold_minor', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('kyc_threshold_minor')
        batch_op.drop_column('kyc_requirement')

    with op.batch_alter_table('kyc_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kyc_document_submission_id'))
        batch_op.drop_index('ix_kyc_document_staged', postgresql_where=sa.text('submission_id IS NULL'), sqlite_where=sa.text('submission_id IS NULL'))

    op.drop_table('kyc_document')
    with op.batch_alter_table('kyc_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kyc_submission_case_id'))

    op.drop_table('kyc_submission')
    with op.batch_alter_table('kyc_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_kyc_audit_case')

    op.drop_table('kyc_audit')
    with op.batch_alter_table('kyc_case', schema=None) as batch_op:
        batch_op.drop_index('ix_kyc_case_user')
        batch_op.drop_index('ix_kyc_case_state_queued')
        batch_op.drop_index('ix_kyc_case_open_queue', postgresql_where=sa.text(OPEN_QUEUE),
                            sqlite_where=sa.text(OPEN_QUEUE))
        batch_op.drop_index('ix_kyc_case_retention', postgresql_where=sa.text('documents_deleted_at IS NULL'), sqlite_where=sa.text('documents_deleted_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_kyc_case_provider_applicant_id'))
        batch_op.drop_index('ix_kyc_case_document_number')
        batch_op.drop_index('ix_kyc_case_country_state')

    op.drop_table('kyc_case')
    op.drop_table('kyc_provider_event')
