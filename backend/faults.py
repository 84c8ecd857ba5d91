"""Fault injection for the crash tests (tests/faults/): `crash_point(name)` kills this process with SIGKILL when the
environment variable PRIMSELL_FAULT_POINT names that point; everywhere else it does nothing.

PRIMSELL_FAULT_POINT is `name` (die the first time the point is reached) or `name@n` (die the n-th time, counted in
this process). The process writes one line to stderr first ("fault point NAME reached: SIGKILL"), so a test can tell
a planned death from any other. Unset (production, and every other test), a call costs one environment lookup.

The points, where the pipeline pay -> mint can lose or repeat work if a process dies there:

| point            | process | where |
|------------------|---------|-------|
| webhook.stored   | web     | a group of webhook deliveries committed, not yet acknowledged |
| relay.pass       | runner  | a relay pass ran its subscribers and wrote the outcomes, before its commit |
| mint.dispatched  | runner  | mint requests batched into queued airdrop transactions and committed |
| tx.signed        | runner  | a transaction signed and stored, before its broadcast |
| tx.broadcast     | runner  | a transaction broadcast, before "sent" is recorded |
| tx.confirm       | runner  | a receipt read, before "mined"/"confirmed" is recorded |
| refund.submit    | runner  | a refund accepted by the payment provider, before its outcome is recorded |
"""

from __future__ import annotations

import os
import signal
import sys
import threading

ENV = "PRIMSELL_FAULT_POINT"
POINTS = ("webhook.stored", "relay.pass", "mint.dispatched", "tx.signed", "tx.broadcast", "tx.confirm",
          "refund.submit")

_hits: dict[str, int] = {}
_lock = threading.Lock()


def crash_point(name: str) -> None:
    """SIGKILL this process here if PRIMSELL_FAULT_POINT asks for it (see the module docstring); else nothing."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    point, _, nth = spec.partition("@")
    if point != name:
        return
    with _lock:
        _hits[name] = hit = _hits.get(name, 0) + 1
    if hit != (int(nth) if nth.isdigit() else 1):
        return
    sys.stderr.write(f"fault point {name} reached: SIGKILL\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
