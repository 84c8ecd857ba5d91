"""KYC tables: a case (one verification of one person, moved by the kyc_case machine), its submissions (what the
consumer gave, once per (re)submission), their documents (encrypted files in the document storage), the case's
audit log (document views, claims, flags), uploads staged by the web form before it submits, and the external
provider's webhook deliveries.

The queue reads kyc_case alone: the fields it filters, sorts and searches on are copied onto the case from its
latest submission (name, country, document number) and from the user (email).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime, enum_type, utcnow
from backend.workflow.machines import KycState
from backend.workflow.models import BigId


class DocumentType(StrEnum):
    PASSPORT = "passport"
    ID_CARD = "id_card"
    DRIVING_LICENCE = "driving_licence"


class DocumentKind(StrEnum):
    FRONT = "front"
    BACK = "back"  # ID cards and driving licences only
    SELFIE = "selfie"


# The cases waiting for a reviewer. Written out literally, in the queue's query and in its partial index alike: a
# planner uses a partial index only when the query's condition is the index's own (bound parameters are not).
OPEN_QUEUE_SQL = "state IN ('submitted', 'in_review', 'rejection_pending')"


class KycCase(SQLModel, table=True):
    __tablename__ = "kyc_case"
    __state_machine__ = "kyc_case"
    __table_args__ = (
        # The queue's first page (open cases, oldest first) is an ordered walk of this small index; counting it too.
        Index("ix_kyc_case_open_queue", "queued_at", "id", postgresql_where=text(OPEN_QUEUE_SQL),
              sqlite_where=text(OPEN_QUEUE_SQL)),
        # Any other status filter, oldest first.
        Index("ix_kyc_case_state_queued", "state", "queued_at", "id"),
        Index("ix_kyc_case_user", "user_id", "id"),
        Index("ix_kyc_case_country_state", "country", "state", "queued_at"),
        Index("ix_kyc_case_document_number", "document_number_norm"),
        # Retention: decided cases whose files are not deleted yet.
        Index("ix_kyc_case_retention", "decided_at", postgresql_where=text("documents_deleted_at IS NULL"),
              sqlite_where=text("documents_deleted_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False))
    state: KycState = Field(default=KycState.SUBMITTED, sa_column=Column(enum_type(KycState), nullable=False))
    version: int = 0
    # Copied from the user and the latest submission, for the queue (filters, search) without joins.
    email: str = Field(max_length=254)
    legal_name: str = Field(max_length=200)
    country: str = Field(max_length=2)
    document_number_norm: str = Field(max_length=64)
    # Automatic flags, comma-separated and sorted ("duplicate_document,..."); "" when none.
    flags: str = Field(default="", max_length=200)
    # When the case (re)entered the queue: the queue is oldest first by this, and its age is measured from it.
    queued_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # The reviewer holding the case, and when the claim lapses (renewed by the holder's activity).
    claimed_by: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("app_user.id",
                                                                                       ondelete="SET NULL")))
    claimed_by_email: str = Field(default="", max_length=254)
    claim_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Decisions. changes_requested is shown to the consumer; reject_note is internal.
    changes_requested: str = Field(default="", max_length=1000)
    reject_reason: str = Field(default="", max_length=40)
    reject_note: str = Field(default="", max_length=1000)
    rejection_proposed_by: int | None = Field(default=None)
    rejection_proposed_by_email: str = Field(default="", max_length=254)
    decided_by: str = Field(default="", max_length=80)  # "user:<id>", "provider:sumsub" or "system:checks"
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    valid_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Retention: when the document files were deleted (the case, its data and its log stay).
    documents_deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # External provider: its applicant id and the creation time (ms) of the newest review applied.
    provider: str = Field(default="manual", max_length=20)
    provider_applicant_id: str = Field(default="", max_length=80, index=True)
    provider_reviewed_ms: int = Field(default=0, sa_column=Column(BigId, nullable=False, default=0))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    @property
    def flag_list(self) -> list[str]:
        return [f for f in self.flags.split(",") if f]


class KycSubmission(SQLModel, table=True):
    """What the consumer gave, once per submission of the case (a resubmission adds one)."""

    __tablename__ = "kyc_submission"
    __table_args__ = (UniqueConstraint("case_id", "number", name="uq_kyc_submission_case_number"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("kyc_case.id", ondelete="CASCADE"), nullable=False,
                                          index=True))
    number: int = 1
    legal_name: str = Field(max_length=200)
    date_of_birth: date = Field(sa_column=Column(Date, nullable=False))
    country: str = Field(max_length=2)
    region: str = Field(default="", max_length=6)  # ISO 3166-2 code, e.g. "UA-43"
    address: str = Field(sa_column=Column(Text, nullable=False))
    document_type: DocumentType = Field(sa_column=Column(enum_type(DocumentType), nullable=False))
    document_number: str = Field(max_length=64)
    consent_text: str = Field(sa_column=Column(Text, nullable=False))
    consent_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ip: str = Field(default="", max_length=64)
    submitted_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class KycDocument(SQLModel, table=True):
    """One stored file. Staged uploads (web form) have no submission yet; the file is gone once deleted_at is set,
    but the row keeps what it was (kind, type, size, hash)."""

    __tablename__ = "kyc_document"
    __table_args__ = (
        Index("ix_kyc_document_staged", "user_id", "created_at", postgresql_where=text("submission_id IS NULL"),
              sqlite_where=text("submission_id IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("kyc_submission.id", ondelete="CASCADE"), index=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False))
    kind: DocumentKind = Field(sa_column=Column(enum_type(DocumentKind), nullable=False))
    content_type: str = Field(max_length=40)
    size_bytes: int
    width: int = 0
    height: int = 0
    sha256: str = Field(max_length=64)  # of the stored (cleaned) file, before encryption
    storage_key: str = Field(max_length=80, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class KycAuditEntry(SQLModel, table=True):
    """Who did what to a case besides its state changes (those are state_transition rows): document views,
    claim renewals, flags, file deletion."""

    __tablename__ = "kyc_audit"
    __table_args__ = (Index("ix_kyc_audit_case", "case_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("kyc_case.id", ondelete="CASCADE"), nullable=False))
    actor: str = Field(max_length=80)
    action: str = Field(max_length=40)  # "document_viewed", "flagged", "documents_deleted", ...
    detail: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class KycProviderEvent(SQLModel, table=True):
    """One webhook delivery of the external provider, stored once (a redelivery of the same body is a duplicate)."""

    __tablename__ = "kyc_provider_event"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    provider: str = Field(max_length=20)
    body_sha256: str = Field(max_length=64, unique=True)
    event_type: str = Field(max_length=60)
    applicant_id: str = Field(default="", max_length=80)
    created_at_ms: int = Field(default=0, sa_column=Column(BigId, nullable=False, default=0))
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outcome: str = Field(default="", max_length=200)
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
