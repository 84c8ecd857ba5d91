"""Retention: the retention cleaner deletes the document files of cases decided longer ago than
KYC_DOCUMENT_RETENTION_DAYS (really: the encrypted file is gone); the case, its decision and its log stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.db import session_scope, utcnow
from backend.kyc import review
from backend.kyc.models import KycCase, KycDocument, KycSubmission
from backend.kyc.storage import get_storage
from backend.operations.retention import clean_old_rows
from backend.workflow.transitions import history
from tests.factories import make_user
from tests.kyc.support import case_of, reviewer, stored_files, submit


def test_retention_deletes_the_files_of_decided_cases_and_keeps_the_decision() -> None:
    old, recent, pending = make_user(), make_user(), make_user()
    for consumer in (old, recent, pending):
        submit(consumer, document_number=f"X{consumer.user_id:06d}")
    kim = reviewer()
    for consumer in (old, recent):
        review.claim(kim, case_of(consumer).id)  # type: ignore[arg-type]
        review.approve(kim, case_of(consumer).id)  # type: ignore[arg-type]
    with session_scope() as session:  # decided 31 days ago (the default retention is 30)
        session.get(KycCase, case_of(old).id).decided_at = utcnow() - timedelta(days=31)  # type: ignore[union-attr]
    with session_scope() as session:
        keys = session.execute(select(KycDocument.storage_key).join(
            KycSubmission, KycSubmission.id == KycDocument.submission_id).where(
            KycSubmission.case_id == case_of(old).id)).scalars().all()
    old_paths = [get_storage().blobs.path_for(key) for key in keys]  # type: ignore[attr-defined]
    old_keys = [p.name for p in old_paths]
    assert len(old_paths) == 3 and all(p.exists() for p in old_paths) and len(stored_files()) == 9

    clean_old_rows()

    assert not any(p.exists() for p in old_paths)
    assert len(stored_files()) == 6 and not {p.name for p in stored_files()} & set(old_keys)
    case = case_of(old)
    assert case.documents_deleted_at is not None and case.state.value == "approved" and case.valid_until
    detail = review.get_case(kim, case.id)  # type: ignore[arg-type]
    assert all(d.url == "" and d.deleted_at and d.sha256 for s in detail.submissions for d in s.documents)
    assert detail.submissions[0].document_number == f"X{old.user_id:06d}"  # the decision's data stays
    assert any(h.action == "documents_deleted" and "retention" in h.why for h in detail.history)
    assert [h.trigger for h in history(reviewer(), "kyc_case", case.id)] == ["start_review", "approve"]  # type: ignore[arg-type]
    assert case_of(recent).documents_deleted_at is None and case_of(pending).documents_deleted_at is None


def test_uploads_staged_but_never_submitted_are_deleted_after_a_day() -> None:
    from backend.kyc import service
    from tests.kyc.support import jpeg

    staged = service.stage_document(make_user(), "front", jpeg())
    assert len(stored_files()) == 1
    clean_old_rows(now=utcnow() + timedelta(hours=25))
    assert stored_files() == []
    with session_scope() as session:
        assert session.get(KycDocument, staged.id).deleted_at is not None  # type: ignore[union-attr]


def test_files_of_a_case_left_waiting_for_changes_are_deleted_after_the_retention_period() -> None:
    from backend.kyc import service

    waiting, queued = make_user(), make_user()
    for consumer in (waiting, queued):
        submit(consumer, document_number=f"W{consumer.user_id:06d}")
    kim = reviewer()
    review.claim(kim, case_of(waiting).id)  # type: ignore[arg-type]
    review.request_changes(kim, case_of(waiting).id, "The photo of the back is blurred.")  # type: ignore[arg-type]
    assert len(stored_files()) == 6

    clean_old_rows(now=utcnow() + timedelta(days=29))  # the default retention is 30 days
    assert len(stored_files()) == 6 and case_of(waiting).documents_deleted_at is None

    clean_old_rows(now=utcnow() + timedelta(days=31))  # the person never came back
    case = case_of(waiting)
    assert case.documents_deleted_at is not None and case.state.value == "needs_more_info"
    assert len(stored_files()) == 3 and case_of(queued).documents_deleted_at is None  # the queue's wait is no idling
    detail = review.get_case(kim, case.id)  # type: ignore[arg-type]
    assert all(d.url == "" and d.deleted_at for s in detail.submissions for d in s.documents)
    assert any(h.action == "documents_deleted" and "changes requested" in h.why for h in detail.history)
    assert service.my_status(waiting).can_resubmit

    # Coming back later, the person sends new files; those are kept until the decision's own retention.
    submit(waiting, document_number=f"W{waiting.user_id:06d}")
    assert case_of(waiting).documents_deleted_at is None and len(stored_files()) == 6
    review.claim(kim, case.id)  # type: ignore[arg-type]
    review.approve(kim, case.id)  # type: ignore[arg-type]
    clean_old_rows(now=utcnow() + timedelta(days=31))
    assert case_of(waiting).documents_deleted_at is not None and len(stored_files()) == 3
