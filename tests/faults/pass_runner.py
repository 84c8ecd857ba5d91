"""One process running the mint dispatcher's and the transaction monitor's passes back to back, as the daemons do,
without their leases (what two runners do when a lease lapses under a slow holder), until every mint request is
settled and every transaction final. tests/chain/test_faults.py's two-dispatcher test, as a process.

Usage: python pass_runner.py GO_FILE TIMEOUT_S. Prints "ready" once imported, starts when GO_FILE exists (so two of
them start together), prints "done <passes> <dispatched> <signed> <confirmed>" and exits 0; 3 on an RPC error, 4
at the timeout.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backend.chain.finish_hooks import FINISH_HOOKS
from backend.chain.mints import dispatch_pass
from backend.chain.models import TxState
from backend.chain.txmanager import monitor_pass
from tests.chain.helpers import CHAIN, all_settled, transactions


def main() -> int:
    go, timeout = Path(sys.argv[1]), float(sys.argv[2])
    print("ready", flush=True)
    deadline = time.monotonic() + timeout
    while not go.exists():
        if time.monotonic() > deadline:
            return 4
        time.sleep(0.01)
    passes = dispatched = signed = confirmed = 0
    while time.monotonic() < deadline:
        passes += 1
        dispatched += dispatch_pass(max_requests=3, batch_size=3)
        result = monitor_pass(CHAIN, hooks=FINISH_HOOKS)
        if result.rpc_error:
            print(f"rpc error: {result.rpc_error}", flush=True)
            return 3
        signed, confirmed = signed + result.signed, confirmed + result.confirmed
        if all_settled() and all(t.state is TxState.CONFIRMED for t in transactions()):
            print(f"done {passes} {dispatched} {signed} {confirmed}", flush=True)
            return 0
    return 4


if __name__ == "__main__":
    sys.exit(main())
