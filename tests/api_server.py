"""The HTTP API served over a real socket: granian (the ASGI server Reflex runs) serving `create_api` in its own
process on a free 127.0.0.1 port, against this test run's database, for tests whose client must be a real HTTP
client (webhook deliveries, schemathesis, a vendor's callbacks)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from backend.chain.anvil import free_port

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60


@contextmanager
def api_server(env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve the API with this process's environment plus `env`; yields its base URL once it answers its health
    check, and stops it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--workers", "1", "--log-level", "warning", "--no-access-log", "backend.api.app:create_api"],
        cwd=ROOT, env=dict(os.environ) | (env or {}), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"granian did not start: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
