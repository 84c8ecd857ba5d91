"""`python -m jobs`: run the daemon runner (all registered daemons, or `--only a,b`), until SIGTERM/SIGINT.

`--once` runs each selected daemon a single time (if its lease is free) and exits; `--duration` stops the
runner after that many seconds (tests, smoke checks).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from backend.monitoring.log_scrub import install_log_scrubbing
from backend.settings import get_settings


def lower_priority(niceness: int) -> int:
    """Raise this process's niceness to `niceness` (never lower it: only root may); returns the niceness now."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    return os.nice(niceness - current) if niceness > current else current


# Daemons that sign custodial withdrawals: a runner with one of them needs CUSTODY_SEED.
SIGNS_CUSTODY = frozenset({"tx_monitor"})


def check_signing_keys(daemons: list) -> None:  # type: ignore[type-arg]
    """The runner holds CUSTODY_SEED (the web process does not): a runner that signs needs it, and any seed it has
    must be the one behind CUSTODY_XPUB, or tokens would be held at addresses it has no key for."""
    from backend.chain.keys import check_custody_keys

    settings = get_settings()
    if SIGNS_CUSTODY & {d.name for d in daemons} or settings.custody_seed is not None:
        check_custody_keys(settings)


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_log_scrubbing()  # an RPC URL's key in a daemon's error must not reach the runner's log
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # stripe-python logs each request and Stripe's error messages at INFO; those can quote customer data.
    logging.getLogger("stripe").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs", description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated daemon names (default: all)")
    parser.add_argument("--once", action="store_true", help="run each selected daemon once, then exit")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--every", type=float, default=None, help="override every daemon's interval (seconds)")
    parser.add_argument("--lease-seconds", type=float, default=None, help="lease length (default JOB_LEASE_SECONDS)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    setup_logging()

    if args.database_url:
        from backend import db

        db.set_engine(db.build_engine(args.database_url))
    from backend.monitoring.sentry import init_sentry
    from jobs.registry import BY_NAME, DAEMONS
    from jobs.runner import new_holder_id, run_once
    from jobs.scheduler import StopSignal, build_scheduler, forget

    settings = get_settings()
    lower_priority(settings.jobs_nice)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown daemon(s): {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    daemons = [BY_NAME[n] for n in names] if names else list(DAEMONS)
    check_signing_keys(daemons)
    lease_s = args.lease_seconds or settings.job_lease_s
    holder = new_holder_id()
    init_sentry()

    if args.once:
        failed = False
        for daemon in daemons:
            result = run_once(daemon.name, daemon.run, holder=holder, lease_s=lease_s, every_s=daemon.every_s)
            print(f"{daemon.name}: {'ran' if result.ran else 'lease held elsewhere'}"
                  + (f", {result.outcome.value}, {result.items} items" if result.ran and result.outcome else ""))
            failed |= result.ran and result.outcome is not None and result.outcome.value == "error"
        return 1 if failed else 0

    stop = StopSignal()
    scheduler = build_scheduler(daemons, holder=holder, lease_s=lease_s,
                                heartbeat_s=settings.scheduler_heartbeat_s, every_override_s=args.every)
    scheduler.start()
    logging.getLogger("jobs").info("runner %s started: %s", holder, ", ".join(d.name for d in daemons))
    stop.wait(args.duration)
    scheduler.shutdown(wait=True)
    forget(holder)
    return 0


def _main() -> int:
    from backend.settings import ConfigurationError

    try:
        return main()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_main())
