"""A daemon-runner process for the lease tests: the real scheduler, runner and lease, with one probe daemon
that sleeps for `work_s` per run. Usage: python lease_runner.py DURATION_S WORK_S EVERY_S LEASE_S

Runs for DURATION_S seconds (0: no limit), or until SIGTERM: then it finishes the run in progress and exits 0."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from jobs.registry import Daemon
from jobs.runner import RunContext, new_holder_id
from jobs.scheduler import StopSignal, build_scheduler


def main() -> int:
    duration, work_s, every_s, lease_s = (float(a) for a in sys.argv[1:5])
    stop = StopSignal()

    def probe(ctx: RunContext) -> int:
        time.sleep(work_s)
        return 1

    scheduler = build_scheduler([Daemon("lease_probe", probe, every_s, "test probe")],
                                holder=new_holder_id(), lease_s=lease_s, heartbeat_s=1,
                                jitter_fraction=0.5)
    scheduler.start()
    print("started", flush=True)
    stop.wait(duration if duration > 0 else None)
    scheduler.shutdown(wait=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
