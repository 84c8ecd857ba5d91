"""Start and stop the npm-installed anvil binary on a free 127.0.0.1 port (for `make run`, tests and the bench)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from backend.toolchain import ANVIL


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_answers(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=0.5) as response:
            return "result" in json.loads(response.read())
    except OSError:
        return False


@dataclass
class AnvilNode:
    """A running anvil; `stop()` ends it, `start()` starts it again on the same port (a fresh chain unless
    `state_path` is set, in which case anvil dumps its state on exit and reloads it on start)."""

    port: int
    chain_id: int = 31337
    block_time: float | None = None
    extra_args: Sequence[str] = ()
    state_path: Path | None = None
    binary: Path = ANVIL
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> AnvilNode:
        if not self.binary.exists():
            raise RuntimeError(f"anvil is missing at {self.binary}: run `npm ci` (or `make`)")
        args = [str(self.binary), "--host", "127.0.0.1", "--port", str(self.port),
                "--chain-id", str(self.chain_id), "--silent"]
        if self.block_time:
            args += ["--block-time", str(self.block_time)]
        if self.state_path is not None:
            # With the historical states too: the royalty calculator asks royaltyInfo AT each sale's block, which a
            # reloaded anvil otherwise refuses for blocks before the restart ("BlockOutOfRangeError").
            args += ["--state", str(self.state_path), "--preserve-historical-states"]
        args += list(self.extra_args)
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"anvil exited with code {self.process.returncode} on port {self.port}")
            if node_answers(self.url):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"anvil did not answer on {self.url} within {timeout_s} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # SIGTERM lets anvil dump --state before it exits
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def start_anvil(port: int | None = None, **options: object) -> AnvilNode:
    """Start anvil on `port` (default: a free one) and wait until it answers JSON-RPC."""
    return AnvilNode(port=port or free_port(), **options).start()  # type: ignore[arg-type]


@contextmanager
def running_anvil(port: int | None = None, **options: object) -> Iterator[AnvilNode]:
    node = start_anvil(port, **options)
    try:
        yield node
    finally:
        node.stop()
