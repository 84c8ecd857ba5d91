"""The e2e harness: an anvil node, the Reflex app in production mode on a free port against the test database
and that node, the job runner for the tests that need daemons, and Chromium.

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
EXPECT_TIMEOUT_MS = 20_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 300  # the first production build installs the frontend packages
RUNNER_STARTUP_TIMEOUT_S = 60
# What the chain journeys need: deploys, mints and the transactions behind them, the outbox relay that tells the
# rest of the workflow, and the email sender (mail stays in the development mailbox). (The FX refresher would call
# the internet; the retention cleaner and the order expirer have nothing to do here.)
RUNNER_DAEMONS = ("contract_deployer", "mint_dispatcher", "tx_monitor", "outbox_relay", "email_sender")


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


def _stop_group(process: subprocess.Popen, timeout_s: float = 20) -> None:
    """SIGTERM the process group (the app's Node/bun children, the runner's threads finish their pass), then KILL."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[object]:
    """A local chain for the whole run; the app and the job runner reach it as the "local" chain."""
    from backend.chain.anvil import start_anvil

    node = start_anvil()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def app_port() -> int:
    return _free_port()


@pytest.fixture(scope="session")
def app_env(migrated_database: str, anvil_node: object, app_port: int) -> dict[str, str]:
    """The environment the app and the job runner share: the same database, data dir (so the same generated
    signer key) and chain."""
    from backend.toolchain import toolchain_env

    env = toolchain_env()
    env.update(
        DATABASE_URL=migrated_database,
        PRIMSELL_PUBLIC_URL=f"http://127.0.0.1:{app_port}",
        PRIMSELL_SURFACES="admin,checkout,redeem,kyc",
        CHAIN_KEY="local",
        CHAIN_RPC_URL=anvil_node.url,  # type: ignore[attr-defined]
        # Every browser signs in from 127.0.0.1: the journeys' few deliberate wrong passwords must not add up.
        RATE_LIMIT_LOGIN_PER_IP="200/minute",
        # ... and buy from 127.0.0.1, all of them through this one app process. (The unpaid share of a campaign's
        # supply per IP keeps its default: test_checkout's journey of that limit relies on it.)
        RATE_LIMIT_CHECKOUT_PER_IP="1000/minute",
        RATE_LIMIT_CHECKOUT_PER_EMAIL="1000/minute",
        RATE_LIMIT_CHECKOUT_PER_CAMPAIGN_IP="1000/minute",
        RATE_LIMIT_PUBLIC_PER_IP="1000/minute",
        RATE_LIMIT_DEPLOYS_PER_BRAND="1000/day",  # the journeys deploy many campaigns of one brand
        ORDER_MAX_UNPAID_PER_IP="1000",
        ORDER_MAX_UNPAID_PER_EMAIL="1000",
    )
    env.pop("REDIS_URL", None)
    return env


@pytest.fixture(scope="session")
def app_url(app_env: dict[str, str], app_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `reflex run --env prod --single-port` against the test database; stop its process group after."""
    port = app_port
    env = app_env
    log = tmp_path_factory.mktemp("app") / "reflex.log"
    command = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port",
               "--frontend-port", str(port), "--backend-port", str(port), "--loglevel", "warning"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process, log)
        yield base_url
    finally:
        _stop_group(process)


@pytest.fixture
def job_runner(app_env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """`python -m jobs` with one-second intervals, on the app's database and chain, for one test.

    Per test, not per session: every test ends by emptying all tables, which must not race a live runner, and
    the Operations journeys assert on a database no other runner writes to. The runner is stopped (its process
    group) before the tables are emptied: `clean_state` is set up first, so it is torn down last.
    """
    log = tmp_path / "jobs.log"
    command = [sys.executable, "-m", "jobs", "--every", "1", "--lease-seconds", "15",
               "--only", ",".join(RUNNER_DAEMONS)]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=app_env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + RUNNER_STARTUP_TIMEOUT_S
        while "started:" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the job runner did not start; see {log}:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield log
    finally:
        _stop_group(process)


@pytest.fixture(scope="package")
def playwright() -> Iterator[object]:
    """The one Playwright of the run (a second sync_playwright in the same thread refuses to start). Package-scoped:
    while it runs, Playwright's sync API keeps an event loop marked running in the main thread, so it must stop
    when the browser tests are done, or every later test calling asyncio.run() fails."""
    from playwright.sync_api import expect, sync_playwright

    # Assertions that wait for a server round trip (argon2 on sign-in, a relay pass, a chain confirmation) must
    # hold on a shared 2-core CI machine: expect() has its own 5 s default, separate from the context's action
    # timeout below, so both are raised to 20 s. A passing assertion returns as soon as it holds.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright) -> Iterator[object]:  # type: ignore[no-untyped-def]
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
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    tab = Tab(page=page, base_url=app_url)
    page.on("console", lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: tab.console_errors.append(f"page error: {exc}"))
    yield tab
    # Leave the app before closing: components unmount, so their polling loops (started on mount, which a
    # plain disconnect does not cancel) stop before the tables are emptied under them.
    try:
        page.goto("about:blank")
        page.wait_for_timeout(300)
    finally:
        context.close()
