"""backend.faults.crash_point: a no-op unless PRIMSELL_FAULT_POINT names the point; then SIGKILL at its n-th pass."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from backend.faults import ENV
from tests.faults.support import ROOT

SCRIPT = ("from backend.faults import crash_point\n"
          "for i in range(3):\n"
          "    crash_point('relay.pass'); print('relay', i, flush=True)\n"
          "    crash_point('tx.signed'); print('signed', i, flush=True)\n")


def _run(spec: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV} | ({ENV: spec} if spec is not None else {})
    return subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_without_the_variable_or_at_another_point_nothing_happens() -> None:
    for spec in (None, "", "webhook.stored"):
        done = _run(spec)
        assert done.returncode == 0 and done.stdout.count("\n") == 6, (spec, done.stderr)


def test_the_named_point_kills_the_process_at_its_nth_pass() -> None:
    first = _run("tx.signed")
    assert first.returncode == -signal.SIGKILL
    assert first.stdout.split("\n")[:-1] == ["relay 0"]
    assert first.stderr.strip() == "fault point tx.signed reached: SIGKILL"
    second = _run("tx.signed@2")
    assert second.returncode == -signal.SIGKILL
    assert second.stdout.split("\n")[:-1] == ["relay 0", "signed 0", "relay 1"]
