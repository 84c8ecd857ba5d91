"""Build the APScheduler 3.11 scheduler that runs the daemons, one in-memory job store per process.

Several runners may run at once (even on several machines against one PostgreSQL): the DB-row lease decides
which of them actually runs a daemon on each tick.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete

from backend.db import session_scope, utcnow
from backend.operations.models import SchedulerHeartbeat
from backend.workflow.sql import db_now, upsert
from jobs import lease
from jobs.runner import run_once

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
# Each tick fires up to this share of the daemon's interval late (at most JITTER_MAX_S), at random. Without it,
# runners started together tick in a fixed phase: the one whose tick always comes first takes every run of a
# daemon and the others never do, so the work never spreads (and a test of hand-overs waits forever).
JITTER_FRACTION = 0.1
JITTER_MAX_S = 30.0


class StopSignal:
    """SIGTERM or SIGINT asks the runner to stop. Install it before the scheduler starts; `wait` returns once
    a signal came (or after `timeout` seconds).

    The handler only sets an attribute and the main thread polls it. The obvious `threading.Event` fails here
    in two ways: an `Event.wait()` without timeout is not woken when the kernel delivers the signal to one of
    the scheduler's threads (the Python handler only runs when the main thread next executes bytecode), and
    `Event.set()` inside a handler can deadlock on the Event's own lock if the signal lands while the main
    thread holds it. Both showed up as runners that ignored SIGTERM under load.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: int | None = None
        for sig in self.SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        self.received = signum

    def wait(self, timeout: float | None = None, poll_s: float = 0.2) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.received is None and (deadline is None or time.monotonic() < deadline):
            time.sleep(poll_s if deadline is None else max(0.0, min(poll_s, deadline - time.monotonic())))


def beat(runner_id: str, started_at: Any) -> None:
    """Say "this runner is alive" (the health endpoint reads the newest beat)."""
    with session_scope() as session:
        now = db_now(session)
        upsert(session, SchedulerHeartbeat.__table__,
               {"runner_id": runner_id, "hostname": socket.gethostname()[:120], "pid": os.getpid(),
                "started_at": started_at, "beat_at": now},
               ["runner_id"], {"beat_at": now})


def forget(runner_id: str) -> None:
    with session_scope() as session:
        session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.runner_id == runner_id))  # type: ignore[arg-type]


def build_scheduler(daemons: Iterable[Any], *, holder: str, lease_s: float, heartbeat_s: float,
                    every_override_s: float | None = None,
                    jitter_fraction: float = JITTER_FRACTION) -> BackgroundScheduler:
    """One APScheduler job per daemon (plus the heartbeat), all starting now, each tick jittered."""
    daemons = list(daemons)
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    with session_scope() as session:
        lease.ensure_lease_rows(session, {d.name: d.schedule for d in daemons})
    started_at = utcnow()
    beat(holder, started_at)
    scheduler.add_job(beat, IntervalTrigger(seconds=heartbeat_s), args=[holder, started_at],
                      id="scheduler_heartbeat", name="scheduler_heartbeat")
    for daemon in daemons:
        every = every_override_s or daemon.every_s
        scheduler.add_job(
            partial(run_once, daemon.name, daemon.run, holder=holder, lease_s=lease_s, every_s=every),
            IntervalTrigger(seconds=every, jitter=min(every * jitter_fraction, JITTER_MAX_S) or None),
            id=daemon.name, name=daemon.name,
            next_run_time=utcnow() + timedelta(milliseconds=50),
        )
    return scheduler
