"""`python -m jobs`: the runner process gives the CPU to the web process first (JOBS_NICE)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from backend.db import session_scope
from backend.operations.models import SchedulerHeartbeat


def _runner_niceness(jobs_nice: str) -> int:
    """Start a real runner with JOBS_NICE, read its niceness once it is up, stop it."""
    env = {**os.environ, "JOBS_NICE": jobs_nice}
    runner = subprocess.Popen([sys.executable, "-m", "jobs", "--only", "retention_cleaner", "--every", "300",
                               "--duration", "60"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            with session_scope() as session:
                if session.execute(select(SchedulerHeartbeat.runner_id)).first():
                    break
            assert runner.poll() is None, runner.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the runner did not start"
            time.sleep(0.1)
        return os.getpriority(os.PRIO_PROCESS, runner.pid)
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=30)


@pytest.mark.slow
def test_the_runner_lowers_its_own_cpu_priority() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert _runner_niceness("7") == max(own, 7)


@pytest.mark.slow
def test_jobs_nice_zero_leaves_the_runner_as_started() -> None:
    assert _runner_niceness("0") == os.getpriority(os.PRIO_PROCESS, 0)
