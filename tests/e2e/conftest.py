"""The e2e harness: the Reflex app in production mode on a free port against the test database, and Chromium.

Each test gets a fresh browser context; its console errors are collected and must stay empty.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 300  # the first production build installs the frontend packages


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(base_url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}; see {log}:\n{log.read_text()[-3000:]}")
        try:
            health = httpx.get(f"{base_url}/api/health", timeout=2)
            page = httpx.get(f"{base_url}/", timeout=5)
            if health.status_code == 200 and page.status_code == 200 and "<html" in page.text.lower():
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the app did not come up within {STARTUP_TIMEOUT_S} s; see {log}")


@pytest.fixture(scope="session")
def app_url(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `reflex run --env prod --single-port` against the test database; stop its process group after."""
    from backend.toolchain import toolchain_env

    port = _free_port()
    env = toolchain_env()
    env.update(
        DATABASE_URL=migrated_database,
        PRIMSELL_PUBLIC_URL=f"http://127.0.0.1:{port}",
        PRIMSELL_SURFACES="admin,checkout,redeem,kyc",
        # The browser journeys sign the same demo users in several times a minute.
        RATE_LIMIT_LOGIN_PER_ACCOUNT="100/minute",
        RATE_LIMIT_LOGIN_PER_IP="200/minute",
    )
    env.pop("REDIS_URL", None)
    log = tmp_path_factory.mktemp("app") / "reflex.log"
    command = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port",
               "--frontend-port", str(port), "--backend-port", str(port), "--loglevel", "warning"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process, log)
        yield base_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A page plus everything it printed to the console as an error."""

    page: object
    base_url: str
    console_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)  # type: ignore[attr-defined]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    def assert_no_console_errors(self) -> None:
        assert self.console_errors == [], f"console errors: {self.console_errors}"


@pytest.fixture
def demo_data() -> None:
    """The root conftest empties every table after each test, so each journey seeds again (idempotent)."""
    from backend.demo import seed_demo

    seed_demo()


@pytest.fixture
def tab(app_url: str, browser: object, demo_data: None) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    context.set_default_timeout(20_000)
    page = context.new_page()
    tab = Tab(page=page, base_url=app_url)
    page.on("console", lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: tab.console_errors.append(f"page error: {exc}"))
    yield tab
    context.close()
