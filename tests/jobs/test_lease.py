"""Leases: one holder per job at any time, across real runner processes; a killed holder is taken over.

Runner processes share two CPUs with the rest of the suite, so nothing here depends on how fast they run:
the tests wait for conditions with deadlines, compare database times, and keep leases long next to the
time a run and a renewal take (a lease that lapses only because a loaded machine was slow would show as a
spurious overlap or takeover).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select

from backend.db import is_postgresql, session_scope, utcnow
from backend.operations.models import JobRun, RunOutcome, SchedulerHeartbeat
from jobs import lease
from jobs.runner import run_once

RUNNER = Path(__file__).with_name("lease_runner.py")
UNTIL_STOPPED = 0  # lease_runner duration: run until SIGTERM


def _runs(job: str = "lease_probe") -> list[JobRun]:
    with session_scope() as session:
        return list(session.execute(select(JobRun).where(JobRun.job_name == job)
                                    .order_by(JobRun.started_at)).scalars())


def _spawn(duration: float, work: float, every: float, lease_s: float) -> subprocess.Popen[bytes]:
    # DATABASE_URL and the rest come from the environment the test session set up.
    return subprocess.Popen([sys.executable, str(RUNNER), str(duration), str(work), str(every), str(lease_s)],
                            env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _runners_started() -> int:
    """Runners that are up (each beats once before its scheduler starts, after installing its SIGTERM handler)."""
    with session_scope() as session:
        return len(session.execute(select(SchedulerHeartbeat.runner_id)).all())


def _wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def _stop(runner: subprocess.Popen[bytes]) -> tuple[int, str]:
    """SIGTERM: the runner finishes its run in progress and exits 0. Returns (exit code, stderr)."""
    runner.send_signal(signal.SIGTERM)
    try:
        _, err = runner.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        runner.kill()
        _, err = runner.communicate()
    return runner.returncode, err.decode()[-2000:]


def test_second_holder_is_refused_until_the_lease_expires() -> None:
    ttl = 2.0  # the three calls below must fit in one lease, even on a loaded machine
    first = lease.try_acquire("job_a", "runner-1", ttl)
    refused = lease.try_acquire("job_a", "runner-2", ttl)
    extended = lease.try_acquire("job_a", "runner-1", ttl)  # the holder may extend
    assert first is not None and refused is None and extended is not None
    taken: list[object] = []
    assert _wait_for(lambda: taken.append(lease.try_acquire("job_a", "runner-2", ttl)) or taken[-1] is not None,
                     timeout=30)
    assert len(taken) > 1  # refused at first...
    assert taken[-1] >= extended + timedelta(seconds=ttl)  # ...and taken only once the extended lease ran out


def test_run_is_recorded_with_outcome_items_and_error() -> None:
    assert run_once("job_ok", lambda ctx: 7, holder="r1", lease_s=5).items == 7

    def boom(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("token=abc123secret failed")

    result = run_once("job_bad", boom, holder="r1", lease_s=5)
    assert result.outcome is RunOutcome.ERROR
    [ok] = _runs("job_ok")
    [bad] = _runs("job_bad")
    assert (ok.outcome, ok.items, ok.finished_at is not None) == (RunOutcome.OK, 7, True)
    assert bad.outcome is RunOutcome.ERROR and "abc123secret" not in bad.error
    assert lease.try_acquire("job_ok", "r2", 5) is not None  # released after the run


def test_concurrent_runner_processes_never_overlap_runs_of_one_job() -> None:
    processes = 4 if is_postgresql() else 2
    # Ticks every 0.5 s (each up to 0.25 s late at random), runs of 0.05 s; the 10 s lease is far longer than a
    # run, so it only changes hands when released, and runs may only follow one another. The gap between a run
    # and the holder's next tick is what lets another runner in: when a loaded machine made runs as long as the
    # tick, the holder's overdue tick re-took the lease at once. The jitter is what keeps the runners from ticking
    # in a fixed phase: without it, two runners started within a run's length of each other ran as one (CI: 359
    # runs in 180 s, all by the runner whose tick came first).
    runners = [_spawn(UNTIL_STOPPED, work=0.05, every=0.5, lease_s=10) for _ in range(processes)]
    try:
        moved = _wait_for(lambda: len(runs := _runs()) >= 10 and len({r.holder for r in runs}) >= 2
                          and _runners_started() == processes, timeout=180, poll=0.2)
    finally:
        stopped = [_stop(p) for p in runners]
    runs = _runs()
    assert moved, f"{len(runs)} runs by {len({r.holder for r in runs})} runners; {stopped}"
    assert [code for code, _ in stopped] == [0] * processes, [err[-600:] for _, err in stopped]
    assert all(r.outcome is RunOutcome.OK and r.finished_at is not None for r in runs)
    for earlier, later in pairwise(runs):
        assert later.started_at >= earlier.finished_at, f"overlap: {earlier} / {later}"


def test_killed_holder_is_taken_over_after_its_lease_expires() -> None:
    lease_s = 3.0  # renewed every second: two renewals may be late before a live holder could lose it
    holder = _spawn(UNTIL_STOPPED, work=600, every=0.1, lease_s=lease_s)
    successor = None
    stopped = (0, "")
    try:
        assert _wait_for(lambda: bool(_runs()), timeout=60), "the first runner never started its run"
        [first] = _runs()
        assert first.outcome is RunOutcome.RUNNING
        successor = _spawn(UNTIL_STOPPED, work=0.1, every=0.1, lease_s=lease_s)
        # Well past one lease length, with the successor trying every tick: the live holder's heartbeat keeps
        # the job.
        time.sleep(2 * lease_s)
        assert [r.holder for r in _runs()] == [first.holder]
        killed_at = utcnow()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        taken_over = _wait_for(lambda: any(r.holder != first.holder for r in _runs()), timeout=60)
    finally:
        holder.kill()
        holder.wait()
        if successor is not None:
            stopped = _stop(successor)
    assert taken_over, f"nobody took over the job; successor: {stopped}"
    assert stopped[0] == 0, stopped
    runs = _runs()
    dead = next(r for r in runs if r.holder == first.holder)
    later = [r for r in runs if r.holder != first.holder]
    assert dead.outcome is RunOutcome.ABANDONED
    # The successor waited for the lease to lapse: the dead holder's lease (its run is closed at the lease's
    # expiry) was still running when it was killed, and the successor's run started after it expired.
    assert dead.finished_at is not None and dead.finished_at > killed_at
    assert later[0].started_at >= dead.finished_at
