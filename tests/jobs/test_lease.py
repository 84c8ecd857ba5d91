"""Leases: one holder per job at any time, across real runner processes; a killed holder is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from backend.db import is_postgresql, session_scope
from backend.operations.models import JobRun, RunOutcome
from jobs import lease
from jobs.runner import run_once

RUNNER = Path(__file__).with_name("lease_runner.py")


def _runs(job: str = "lease_probe") -> list[JobRun]:
    with session_scope() as session:
        return list(session.execute(select(JobRun).where(JobRun.job_name == job)
                                    .order_by(JobRun.started_at)).scalars())


def _spawn(duration: float, work: float, every: float, lease_s: float) -> subprocess.Popen[bytes]:
    # DATABASE_URL and the rest come from the environment the test session set up.
    return subprocess.Popen([sys.executable, str(RUNNER), str(duration), str(work), str(every), str(lease_s)],
                            env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_second_holder_is_refused_until_the_lease_expires() -> None:
    assert lease.try_acquire("job_a", "runner-1", 0.5) is not None
    assert lease.try_acquire("job_a", "runner-2", 0.5) is None
    assert lease.try_acquire("job_a", "runner-1", 0.5) is not None  # the holder may extend
    time.sleep(0.7)
    assert lease.try_acquire("job_a", "runner-2", 0.5) is not None


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
    runners = [_spawn(duration=6, work=0.15, every=0.1, lease_s=2) for _ in range(processes)]
    for p in runners:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()[-2000:]
    runs = _runs()
    assert len(runs) >= 10
    assert all(r.outcome is RunOutcome.OK and r.finished_at is not None for r in runs)
    for earlier, later in zip(runs, runs[1:]):
        assert later.started_at >= earlier.finished_at, f"overlap: {earlier} / {later}"
    assert len({r.holder for r in runs}) >= 2  # the job moved between runners, it was not one runner's


def test_killed_holder_is_taken_over_after_its_lease_expires() -> None:
    holder = _spawn(duration=60, work=30, every=0.1, lease_s=2)
    deadline = time.monotonic() + 20
    while not _runs() and time.monotonic() < deadline:
        time.sleep(0.1)
    [first] = _runs()
    assert first.outcome is RunOutcome.RUNNING
    successor = _spawn(duration=60, work=0.1, every=0.1, lease_s=2)
    time.sleep(4)  # well past one lease length: the live holder's heartbeat keeps the job
    assert [r.holder for r in _runs()] == [first.holder]
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    killed_at = time.monotonic()
    while time.monotonic() < killed_at + 15 and not any(r.holder != first.holder for r in _runs()):
        time.sleep(0.1)
    taken_over_after = time.monotonic() - killed_at
    successor.send_signal(signal.SIGTERM)
    successor.kill()
    successor.wait()
    runs = _runs()
    dead = next(r for r in runs if r.holder == first.holder)
    later = [r for r in runs if r.holder != first.holder]
    assert later, "nobody took over the job"
    assert dead.outcome is RunOutcome.ABANDONED
    assert 0.5 < taken_over_after < 6  # waited for the lease (2 s, renewed every 0.67 s) to lapse
    assert later[0].started_at >= dead.finished_at
