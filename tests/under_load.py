"""Run the suite (or part of it) several times in a row with CPU hogs beside it, as on a shared CI machine.

Usage: python tests/under_load.py [--hogs 1] [--runs 2] [--] [pytest arguments...]
       make test-under-load                       (the whole suite on SQLite, twice, one hog)
       make test-under-load DB=postgresql         (the same on PostgreSQL at PG_URL)

Each hog is a process spinning a busy loop (what `stress-ng --cpu 1` does, without installing it). The runs are
sequential and stop at the first failure; the exit status is pytest's. The last line says how many runs passed,
with the load average seen while they ran, so a report of "passed under load" carries its evidence.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time


def spin() -> None:
    """A hog: one core kept busy until it is terminated."""
    while True:
        pass


class LoadWatch:
    """The highest 1-minute load average seen, sampled every 5 s in a thread."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LoadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, os.getloadavg()[0])
            self._stop.wait(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=1, help="busy processes beside the suite (default 1)")
    parser.add_argument("--runs", type=int, default=2, help="runs in a row (default 2)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest (default: -q)")
    args = parser.parse_args(argv)
    if args.hogs < 0 or args.runs < 1:
        parser.error("--hogs must be >= 0 and --runs >= 1")
    pytest_args = [a for a in args.pytest_args if a != "--"] or ["-q"]

    hogs = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.hogs)]
    for hog in hogs:
        hog.start()
    passed = 0
    status = 0
    started = time.monotonic()
    try:
        with LoadWatch() as load:
            for run in range(1, args.runs + 1):
                print(f"# under load: run {run} of {args.runs} with {args.hogs} CPU hog(s): pytest "
                      f"{' '.join(pytest_args)}", flush=True)
                status = subprocess.call([sys.executable, "-m", "pytest", *pytest_args])
                if status != 0:
                    break
                passed += 1
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.join()
    minutes = (time.monotonic() - started) / 60
    print(f"runs_passed={passed} runs={args.runs} hogs={args.hogs} peak_load={load.peak:.1f} "
          f"minutes={minutes:.1f}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
