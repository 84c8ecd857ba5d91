"""What the fault tests share: runner processes started (and killed) cheaply, waiting with deadlines, and the
counts that decide a test, read from the chain and the payment provider's own records rather than our rows."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import select

from backend.db import session_scope
from backend.payments.models import SandboxRefund, SandboxSession
from contracts.artifacts import load_artifact

ROOT = Path(__file__).resolve().parents[2]
ZYGOTE = Path(__file__).with_name("runner_zygote.py")
ZERO = "0x0000000000000000000000000000000000000000"


def wait_for(condition: Callable[[], bool], timeout: float, what: str, log: Path | None = None,
             poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = f"; log:\n{log.read_text()[-4000:]}" if log is not None and log.exists() else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")
        time.sleep(poll)


class Zygote:
    """tests/faults/runner_zygote.py: real `python -m jobs` runners forked one after the other from one process
    that did the imports once. `start(fault)` forks a runner (with PRIMSELL_FAULT_POINT=fault, or none) and returns
    its pid; `wait_exit` returns its exit code (-9: SIGKILL). `close()` kills the whole process group."""

    def __init__(self, runner_args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.process = subprocess.Popen([sys.executable, str(ZYGOTE), str(log), *runner_args], cwd=ROOT,
                                        env=env or os.environ.copy(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        self.current: int | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put("")  # end of output: the zygote died

    def _next(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no '{prefix}' from the runner zygote within {timeout:.0f} s; log:\n"
                                     f"{self.log.read_text()[-4000:] if self.log.exists() else ''}") from None
            if line.startswith(prefix):
                return line
            if line == "":
                raise AssertionError(f"the runner zygote died (code {self.process.poll()})")

    def start(self, fault: str | None = None, timeout: float = 120) -> int:
        assert self.current is None, "one runner at a time"
        assert self.process.stdin is not None
        self.process.stdin.write((fault or "-") + "\n")
        self.process.stdin.flush()
        self.current = int(self._next("started ", timeout).split()[1])
        return self.current

    def wait_exit(self, timeout: float) -> int:
        line = self._next("exited ", timeout)
        self.current = None
        return int(line.split()[2])

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM the running runner (it finishes its runs and exits 0); SIGKILL if it does not end in time."""
        assert self.current is not None
        pid = self.current
        # Not before it has installed its SIGTERM handler (it logs "runner <host>:<pid>:<id> started" after): a
        # runner signalled while still setting up ends with -15, which is not the clean stop this asserts.
        wait_for(lambda: re.search(rf"runner \S+:{pid}:\S+ started: ", self.log.read_text()) is not None, timeout,
                 f"runner {pid} to start", self.log)
        os.kill(pid, signal.SIGTERM)
        try:
            return self.wait_exit(timeout)
        except AssertionError:
            os.kill(pid, signal.SIGKILL)
            raise

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)


def mints_on_chain(w3: Any, contract: str) -> dict[str, list[int]]:
    """Wallet -> token ids minted to it, from the collection's Transfer logs from the zero address."""
    collection = w3.eth.contract(address=to_checksum_address(contract), abi=load_artifact("PrimsellCollection")["abi"])
    out: dict[str, list[int]] = defaultdict(list)
    for log in collection.events.Transfer().get_logs(from_block=0, to_block="latest", argument_filters={"from": ZERO}):
        out[to_checksum_address(log["args"]["to"])].append(int(log["args"]["tokenId"]))
    return out


def total_supply(w3: Any, contract: str) -> int:
    collection = w3.eth.contract(address=to_checksum_address(contract), abi=load_artifact("PrimsellCollection")["abi"])
    return int(collection.functions.totalSupply().call())


def provider_refunds() -> Counter[str]:
    """Payment intent -> amount refunded, from the sandbox provider's own refund records."""
    refunded: Counter[str] = Counter()
    with session_scope() as session:
        for intent, amount in session.execute(select(SandboxRefund.payment_intent_id, SandboxRefund.amount)):
            refunded[intent] += amount
    return refunded


def provider_payments() -> dict[str, tuple[str, int, int]]:
    """Sandbox session id -> (payment intent, amount paid, amount refunded), from the provider's records."""
    with session_scope() as session:
        return {row.id: (row.payment_intent_id, row.amount_total if row.payment_status == "paid" else 0,
                         row.amount_refunded) for row in session.execute(select(SandboxSession)).scalars()}


def serve_api(log: Path, env: dict[str, str] | None = None, port: int | None = None,
              timeout: float = 120) -> tuple[subprocess.Popen[bytes], str]:
    """The API (create_api: webhook, checkout and sandbox routes) served by granian, the ASGI server Reflex runs, in
    its own process on 127.0.0.1 (a free port unless given), on this process's settings unless `env` is given;
    returns once it answers its health check."""
    import httpx

    from backend.chain.anvil import free_port

    port = port or free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port",
             str(port), "--workers", "1", "--log-level", "warning", "--no-access-log", "backend.api.app:create_api"],
            cwd=ROOT, env=env or os.environ.copy(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"granian exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                return httpx.get(f"{url}/api/health", timeout=5).status_code in (200, 503)
            except httpx.HTTPError:
                return False

        wait_for(up, timeout, "the API to answer", log, poll=0.2)
    except BaseException:
        kill_group(process)
        raise
    return process, url


def kill_group(process: subprocess.Popen[Any]) -> None:
    """SIGKILL a process started in its own session, with anything it started (granian's worker)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
