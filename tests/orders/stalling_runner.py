"""`python -m jobs` (the real runner, same arguments) with one stop planted for the crash tests.

The order.paid subscriber does its real work (the mint request row, the order moved to minting), then, before
the relay's transaction commits, this process prints `STALLED order=<id>` and waits to be killed: the test
SIGKILLs it there, which is exactly "the runner died between paid and minting".
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backend.orders import fulfilment
from jobs.__main__ import main

_request_mint = fulfilment.request_mint_for_paid_order


def _request_mint_then_stall(session, order_id):  # type: ignore[no-untyped-def]
    outcome = _request_mint(session, order_id)
    session.flush()  # the work is in the transaction, not committed
    print(f"STALLED order={order_id} outcome={outcome}", flush=True)
    threading.Event().wait()  # until SIGKILL
    return outcome


fulfilment.request_mint_for_paid_order = _request_mint_then_stall

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
