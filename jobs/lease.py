"""DB-row leases: at most one holder per job at any time, across processes and machines.

Acquire is one guarded UPDATE (free, expired, or already mine) checked by rowcount; the row is created
first with INSERT ... ON CONFLICT DO NOTHING. Times come from the database clock on PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session

from backend.db import session_scope
from backend.operations.models import JobLease, JobRun, RunOutcome
from backend.workflow.sql import db_now, insert_ignore

log = logging.getLogger(__name__)


def ensure_lease_rows(session: Session, jobs: dict[str, str]) -> None:
    """Create missing lease rows (job -> schedule text) and refresh the schedule shown to operators."""
    for name, schedule in jobs.items():
        insert_ignore(session, JobLease.__table__, {"job_name": name, "schedule": schedule}, ["job_name"])
        session.execute(update(JobLease).where(JobLease.job_name == name, JobLease.schedule != schedule)
                        .values(schedule=schedule))


def try_acquire(job_name: str, holder: str, ttl_s: float) -> datetime | None:
    """Take (or extend) the lease; returns the database time of acquisition, or None if someone holds it."""
    with session_scope() as session:
        insert_ignore(session, JobLease.__table__, {"job_name": job_name, "schedule": ""}, ["job_name"])
        now = db_now(session)
        previous = session.get(JobLease, job_name)
        prior_holder, prior_expiry = (previous.holder, previous.expires_at) if previous else (None, None)
        taken = session.execute(
            update(JobLease)
            .where(JobLease.job_name == job_name,
                   or_(JobLease.holder.is_(None), JobLease.expires_at < now, JobLease.holder == holder))  # type: ignore[union-attr]
            .values(holder=holder, expires_at=now + timedelta(seconds=ttl_s), heartbeat_at=now, acquired_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if taken != 1:
            return None
        if prior_holder and prior_holder != holder:
            # The previous holder died mid-run: close its run so the timeline shows what happened.
            session.execute(
                update(JobRun)
                .where(JobRun.job_name == job_name, JobRun.holder == prior_holder,
                       JobRun.outcome == RunOutcome.RUNNING)
                .values(outcome=RunOutcome.ABANDONED, finished_at=prior_expiry or now,
                        error="holder stopped renewing its lease")
                .execution_options(synchronize_session=False)
            )
        return now


def renew(job_name: str, holder: str, ttl_s: float) -> bool:
    with session_scope() as session:
        now = db_now(session)
        return session.execute(
            update(JobLease)
            .where(JobLease.job_name == job_name, JobLease.holder == holder, JobLease.expires_at >= now)
            .values(expires_at=now + timedelta(seconds=ttl_s), heartbeat_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount == 1  # type: ignore[attr-defined]


def release(session: Session, job_name: str, holder: str, next_run_at: datetime | None = None) -> None:
    values: dict[str, object] = {"holder": None, "expires_at": None}
    if next_run_at is not None:
        values["next_run_at"] = next_run_at
    session.execute(update(JobLease).where(JobLease.job_name == job_name, JobLease.holder == holder)
                    .values(**values).execution_options(synchronize_session=False))


class Heartbeat:
    """Renews a lease every ttl/3 while a run goes on; `lost` is set if a renewal fails."""

    def __init__(self, job_name: str, holder: str, ttl_s: float) -> None:
        self.job_name, self.holder, self.ttl_s = job_name, holder, ttl_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_name}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(self.ttl_s)

    def _run(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                ok = renew(self.job_name, self.holder, self.ttl_s)
            except Exception:  # a failed renewal is treated as a lost lease
                log.exception("lease renewal of %s failed", self.job_name)
                ok = False
            if not ok:
                self.lost.set()
                return
