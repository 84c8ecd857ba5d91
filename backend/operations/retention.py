"""Retention: delete delivered outbox events, finished job runs, stale error-log rows and old emails past their age
limit, Sign-In with Ethereum nonces a day after they expired, and the identity-document files of decided KYC cases,
of cases left waiting for changes, and of uploads never submitted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session

from backend.auth.siwe import purge_expired_nonces
from backend.db import session_scope, utcnow
from backend.kyc.documents import purge_decided_documents, purge_idle_documents, purge_staged_uploads
from backend.monitoring.errors import purge_errors
from backend.notifications.service import purge_emails
from backend.operations.models import JobRun, RunOutcome
from backend.settings import get_settings
from backend.workflow.outbox_admin import purge_delivered


def purge_job_runs(session: Session, older_than: timedelta, limit: int, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - older_than
    ids = session.execute(
        select(JobRun.id).where(JobRun.started_at < cutoff, JobRun.outcome != RunOutcome.RUNNING)
        .order_by(JobRun.id).limit(limit)  # type: ignore[arg-type]
    ).scalars().all()
    if ids:
        session.execute(delete(JobRun).where(JobRun.id.in_(ids)))  # type: ignore[union-attr]
    return len(ids)


SIWE_NONCE_KEPT = timedelta(days=1)  # after it expired: long enough to look into a sign-in complaint


def clean_old_rows(*, batch_size: int | None = None, max_batches: int = 50, now: datetime | None = None,
                   keep_going: Callable[[], bool] = lambda: True) -> int:
    """Delete in transactions of at most `batch_size` rows per table, so writers are never blocked for long."""
    settings = get_settings()
    batch_size = batch_size or settings.retention_batch_size
    purges = [
        (purge_delivered, timedelta(days=settings.outbox_retention_days)),
        (purge_job_runs, timedelta(days=settings.job_run_retention_days)),
        (purge_errors, timedelta(days=settings.error_log_retention_days)),
        (purge_emails, timedelta(days=settings.email_retention_days)),
        (purge_decided_documents, timedelta(days=settings.kyc_document_retention_days)),
        (purge_idle_documents, timedelta(days=settings.kyc_document_retention_days)),
        (purge_staged_uploads, timedelta(seconds=settings.kyc_staged_upload_ttl_s)),
        (purge_expired_nonces, SIWE_NONCE_KEPT),
    ]
    total = 0
    for purge, age in purges:
        for _ in range(max_batches):
            with session_scope() as session:
                deleted = purge(session, age, batch_size, now)
            total += deleted
            if deleted < batch_size or not keep_going():
                break
    return total
