"""The admin Operations page's service: daemons (schedule, lease, runs), outbox backlog and dead letters with
retry, the error log, and the scheduler heartbeat the health check reports.

Platform admins see everything. A brand admin sees the platform's health (daemons without their error texts,
queue sizes, the heartbeat) and, of the errors and dead letters, only those about their own brands; retrying
another brand's dead letter is "not found" (backend/workflow/ownership.py says which brand owns what)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from backend.auth.acl import Actor, Permission
from backend.db import session_scope, utcnow
from backend.errors import Forbidden, NotAuthenticated
from backend.monitoring.errors import error_page
from backend.monitoring.models import ErrorLogEntry
from backend.operations.models import JobLease, JobRun, SchedulerHeartbeat
from backend.settings import get_settings
from backend.workflow import kick, outbox, outbox_admin


def can_read_operations(actor: Actor) -> bool:
    """Platform admins, and brand admins of any brand (OPERATIONS_READ): the page shows platform-wide daemons."""
    return actor.can(Permission.OPERATIONS_READ) or any(
        actor.can(Permission.OPERATIONS_READ, b) for b in actor.brand_ids
    )


def _require_operations(actor: Actor | None) -> Actor:
    if actor is None:
        raise NotAuthenticated("Sign in to continue.")
    if can_read_operations(actor):
        return actor
    raise Forbidden("You do not have permission to do that.")


def visible_brands(actor: Actor) -> list[int] | None:
    """None: every brand and the platform's own rows (platform-wide grant); else the brands whose rows it may see."""
    if actor.can(Permission.OPERATIONS_READ):
        return None
    return [b for b in actor.brand_ids if actor.can(Permission.OPERATIONS_READ, b)]


@dataclass(frozen=True)
class DaemonView:
    name: str
    schedule: str
    lease_holder: str | None  # None when no run is going on
    lease_expires_at: datetime | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_duration_s: float | None
    last_outcome: str | None
    last_items: int | None
    last_error: str
    next_run_at: datetime | None


@dataclass(frozen=True)
class ErrorView:
    id: int
    source: str
    exc_type: str
    message: str
    context: dict
    count: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Heartbeat:
    healthy: bool
    runners: int  # runners that beat recently
    last_beat_at: datetime | None
    age_s: float | None


@dataclass(frozen=True)
class Overview:
    daemons: list[DaemonView]
    backlog: outbox_admin.Backlog
    dead_letters: list[outbox_admin.DeadLetter]
    subscriptions: dict[str, list[str]]
    errors: list[ErrorView]
    errors_total: int
    scheduler: Heartbeat


def _daemons(session: Session, *, with_errors: bool = True) -> list[DaemonView]:
    leases = session.execute(select(JobLease).order_by(JobLease.job_name)).scalars().all()
    latest = (
        select(JobRun.job_name, func.max(JobRun.id).label("id")).group_by(JobRun.job_name).subquery()
    )
    runs = {r.job_name: r for r in session.execute(
        select(JobRun).join(latest, JobRun.id == latest.c.id)).scalars()}  # type: ignore[arg-type]
    now = utcnow()
    views = []
    for lease in leases:
        run = runs.get(lease.job_name)
        held = lease.holder is not None and lease.expires_at is not None and lease.expires_at >= now
        duration = ((run.finished_at - run.started_at).total_seconds()
                    if run is not None and run.finished_at is not None else None)
        views.append(DaemonView(
            name=lease.job_name, schedule=lease.schedule,
            lease_holder=lease.holder if held else None, lease_expires_at=lease.expires_at if held else None,
            last_started_at=run.started_at if run else None, last_finished_at=run.finished_at if run else None,
            last_duration_s=duration, last_outcome=run.outcome.value if run else None,
            last_items=run.items if run else None,
            # A daemon's error can be about any brand's rows: its text is for platform admins.
            last_error=(run.error if run else "") if with_errors else "",
            next_run_at=lease.next_run_at,
        ))
    return views


def _heartbeat(session: Session) -> Heartbeat:
    settings = get_settings()
    fresh_after = utcnow() - timedelta(seconds=max(3 * settings.scheduler_heartbeat_s, 15))
    last, fresh = session.execute(
        select(func.max(SchedulerHeartbeat.beat_at),
               func.count().filter(SchedulerHeartbeat.beat_at >= fresh_after))
    ).one()
    if last is not None and last.tzinfo is None:  # aggregate results bypass the column type on SQLite
        last = datetime.fromisoformat(str(last)).replace(tzinfo=utcnow().tzinfo)
    age = (utcnow() - last).total_seconds() if last else None
    return Heartbeat(healthy=bool(fresh), runners=int(fresh), last_beat_at=last, age_s=age)


def _error_view(e: ErrorLogEntry) -> ErrorView:
    return ErrorView(e.id or 0, e.source, e.exc_type, e.message, e.context, e.count, e.first_seen, e.last_seen)


def overview(actor: Actor | None, *, errors_limit: int = 50, errors_offset: int = 0,
             dead_limit: int = 50) -> Overview:
    actor = _require_operations(actor)
    brands = visible_brands(actor)
    with session_scope() as session:
        errors, total = error_page(limit=errors_limit, offset=errors_offset, session=session, brand_ids=brands)
        backlog = outbox_admin.backlog(session)
        if brands is not None:  # the dead count matches the list below it
            backlog = replace(backlog, dead=outbox_admin.dead_count(session, brands))
        return Overview(
            daemons=_daemons(session, with_errors=brands is None),
            backlog=backlog,
            dead_letters=outbox_admin.dead_letters(session, limit=dead_limit, brand_ids=brands),
            subscriptions=outbox.subscriptions(),
            errors=[_error_view(e) for e in errors],
            errors_total=total,
            scheduler=_heartbeat(session),
        )


def error_log(actor: Actor | None, *, limit: int = 50, offset: int = 0) -> tuple[list[ErrorView], int]:
    actor = _require_operations(actor)
    rows, total = error_page(limit=limit, offset=offset, brand_ids=visible_brands(actor))
    return [_error_view(e) for e in rows], total


def retry_dead_letter(actor: Actor | None, event_id: int) -> int:
    """Re-queue an event's dead deliveries; returns how many. The relay is kicked so it happens now."""
    actor = _require_operations(actor)
    with session_scope() as session:
        count = outbox_admin.retry_dead(session, event_id, brand_ids=visible_brands(actor))
    kick.kick()
    return count


def scheduler_heartbeat() -> Heartbeat:
    """For /api/health: is at least one daemon runner alive (beat within 3 heartbeat intervals)?"""
    with session_scope() as session:
        return _heartbeat(session)
