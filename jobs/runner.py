"""Run one daemon once: take the lease, record a job_run, renew while running, report to Sentry, release."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update

from backend.db import session_scope
from backend.monitoring import sentry
from backend.monitoring.errors import record_error
from backend.monitoring.scrub import scrub_text
from backend.operations.models import JobRun, RunOutcome
from backend.workflow.sql import db_now
from jobs import lease

log = logging.getLogger(__name__)


def new_holder_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RunContext:
    """Handed to a daemon: its name, and whether it still holds its lease (check between batches)."""

    job_name: str
    holder: str
    heartbeat: lease.Heartbeat

    def keep_going(self) -> bool:
        return not self.heartbeat.lost.is_set()


@dataclass(frozen=True)
class RunResult:
    ran: bool
    outcome: RunOutcome | None = None
    items: int = 0
    error: str = ""


def run_once(job_name: str, work: Callable[[RunContext], int], *, holder: str, lease_s: float,
             every_s: float | None = None) -> RunResult:
    """Run `work` if this holder gets the lease; otherwise do nothing (another runner has it)."""
    if lease.try_acquire(job_name, holder, lease_s) is None:
        return RunResult(ran=False)
    with session_scope() as session:
        run = JobRun(job_name=job_name, holder=holder, started_at=db_now(session))
        session.add(run)
    outcome, items, error = RunOutcome.OK, 0, ""
    monitor_config = {"schedule": {"type": "interval", "value": max(1, int(every_s)), "unit": "second"}} \
        if every_s else None
    with lease.Heartbeat(job_name, holder, lease_s) as beat:
        try:
            with sentry.cron_checkin(job_name, monitor_config):
                items = int(work(RunContext(job_name, holder, beat)) or 0)
        except Exception as exc:  # recorded on the run and in the error log; the runner lives on
            outcome, error = RunOutcome.ERROR, scrub_text(f"{type(exc).__name__}: {exc}")
            record_error(f"daemon:{job_name}", exc, {"holder": holder})
            log.exception("daemon %s failed", job_name)
        if beat.lost.is_set() and outcome is RunOutcome.OK:
            outcome = RunOutcome.LEASE_LOST
    with session_scope() as session:
        now = db_now(session)
        session.execute(
            update(JobRun).where(JobRun.id == run.id)  # type: ignore[arg-type]
            .values(finished_at=now, outcome=outcome, items=items, error=error)
            .execution_options(synchronize_session=False)
        )
        lease.release(session, job_name, holder, now + timedelta(seconds=every_s) if every_s else None)
    return RunResult(True, outcome, items, error)
