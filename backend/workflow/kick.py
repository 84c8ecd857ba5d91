"""The web process's fast path to the relay: `kick()` after a commit, `wait_for_kick()` for tests and shutdown.

The web process does not drain the outbox itself: relaying there costs the acknowledgements both the GIL and
the SQLite lock, while the `outbox_relay` daemon in its own process uses the other core (the figures, from
bench/webhooks.py, are in the README's "Measurements behind the code"). A kick only wakes one coalescing
thread per process, which waits until the kicks stop for KICK_QUIET_S (a burst of requests coalesces), but no
longer than KICK_MAX_DELAY_S after the first unserved kick, then runs one KICK_SLICE_S slice of bounded
passes, and rests so that it relays at most KICK_DUTY of the time: an isolated payment is applied within about
KICK_QUIET_S, while a burst is left to the daemon until it ends (a kick on every commit had the web process
relaying nearly all the time under load). The daemon stays the guarantee: a kick that fails or never runs
only means the event waits for the next `outbox_relay` tick.
"""

from __future__ import annotations

import logging
import threading
import time

from backend.workflow.outbox import relay

log = logging.getLogger(__name__)

# Run once no kick came for this long. Longer than the gaps between the webhook intake's group commits under a
# burst, so a burst is left to the outbox_relay daemon: a kicked pass in the web process holds SQLite's write lock
# (and this process's write gate) for its whole pass, stretched by the GIL it shares with the requests, and every
# acknowledgement waiting for the intake's commit waits with it (the p99s that chose these values: README,
# "Measurements behind the code").
KICK_QUIET_S = 0.05
KICK_MAX_DELAY_S = 2.0  # ... but no later than this after the first kick it serves (a backlog the daemon is slow on)
KICK_SLICE_S = 0.02  # one run's relaying, then back to waiting: a web process never relays for long
KICK_DUTY = 0.1  # at most this share of the time: after a run of T seconds the next starts T*(1/DUTY-1) later

_kick_cond = threading.Condition()
_kick_thread: threading.Thread | None = None
_kick_first: float | None = None  # first kick not yet served (None: nothing to do)
_kick_last = 0.0
_kick_rest_until = 0.0
_kick_running = False


def kick() -> None:
    """Ask for relaying soon (call after commit). Cheap: it only wakes this process's one kick thread, which
    coalesces kicks and relays in short slices (see the module docstring). The daemon stays the guarantee:
    a kick that fails or never runs only means the event waits for the next `outbox_relay` tick."""
    global _kick_thread, _kick_first, _kick_last
    now = time.monotonic()
    with _kick_cond:
        _kick_last = now
        if _kick_first is None:
            _kick_first = now
        if _kick_thread is None or not _kick_thread.is_alive():  # first kick, or after a fork
            _kick_thread = threading.Thread(target=_kick_loop, name="outbox-kick", daemon=True)
            _kick_thread.start()
        else:
            _kick_cond.notify_all()


def _kick_loop() -> None:
    global _kick_first, _kick_running, _kick_rest_until
    while True:
        with _kick_cond:
            while _kick_first is None:
                _kick_cond.wait()
            while True:
                now = time.monotonic()
                due = max(_kick_rest_until, min(_kick_last + KICK_QUIET_S, _kick_first + KICK_MAX_DELAY_S))
                if now >= due:
                    break
                _kick_cond.wait(due - now)
            _kick_first, _kick_running = None, True
        more = False
        began = time.monotonic()
        try:
            stop = began + KICK_SLICE_S
            more = relay(max_batches=5, keep_going=lambda stop=stop: time.monotonic() < stop).more
        except Exception:
            log.exception("outbox kick failed; the outbox_relay daemon will deliver")
        with _kick_cond:
            ended = time.monotonic()
            _kick_rest_until = ended + (ended - began) * (1 / KICK_DUTY - 1)
            _kick_running = False
            if more and _kick_first is None:  # a backlog: another slice after the next quiet moment
                _kick_first = time.monotonic()
            _kick_cond.notify_all()


def wait_for_kick(timeout: float = 10.0) -> None:
    """Block until kicked relaying has finished and no kick waits (tests, and graceful shutdown)."""
    deadline = time.monotonic() + timeout
    with _kick_cond:
        while _kick_first is not None or _kick_running:
            if _kick_thread is None or not _kick_thread.is_alive():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            _kick_cond.wait(left)


