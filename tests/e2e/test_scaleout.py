"""The scale-out deployment of docs/DEPLOY.md on this machine: two web processes (Reflex in production mode on Redis)
behind a balancer, two job runners, one PostgreSQL, one Redis (bench/scaleout.py's Topology). A checkout goes through
web process 1; its order page is followed in a browser on web process 2 and then, its websocket moved, on web process
1; a webhook storm across both mints every paid order once; job_run shows every daemon run by one runner at a time."""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_DB

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(TEST_DB != "postgresql", reason="the scale-out topology runs on PostgreSQL only: several "
                       "processes on several machines cannot share SQLite (run with PRIMSELL_TEST_DB=postgresql)"),
]

REDIS_URL = "redis://127.0.0.1:6379/14"  # its own database: the rate-limit tests use 15
STORM_ORDERS = 30
TIMEOUT_S = 120


@pytest.fixture
def topology(database_url: str, tmp_path: Path) -> Iterator[object]:
    """The topology on a scratch database of the suite's server, with this process's settings switched to it for
    the test and restored after (the suite's own database is untouched)."""
    from backend import db
    from backend.auth.ratelimit import get_rate_limiter
    from backend.chain.client import reset_clients
    from backend.settings import get_settings
    from bench.scaleout import Topology

    saved = dict(os.environ)
    running = Topology(tmp=tmp_path, log=tmp_path / "children.log")
    try:
        running.start(database_url, REDIS_URL, web=2, runners=2)
        yield running
    finally:
        running.stop()
        if running.failed:
            print(f"the topology's output: {running.log}")
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        get_rate_limiter.cache_clear()
        reset_clients()
        db.set_engine(None)


def _wait_for(read, done, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what} within {TIMEOUT_S} s; last seen: {value}"
        time.sleep(0.5)


def test_two_web_processes_and_two_runners_sell_and_mint_each_paid_order_once(topology, browser) -> None:  # type: ignore[no-untyped-def]
    from eth_utils import to_checksum_address
    from playwright.sync_api import expect

    from bench.scaleout import daemon_runs, storm
    from bench.webhooks import create_campaign, wait_deployed

    web1, web2 = topology.web_urls
    campaign_id, slug, chain = create_campaign(STORM_ORDERS + 5)
    contract = wait_deployed(campaign_id, topology, TIMEOUT_S)

    # A checkout through web process 1 (the API a campaign page calls).
    wallet = to_checksum_address("0x" + os.urandom(20).hex())
    started = httpx.post(f"{web1}/api/v1/checkout", json={"campaign_slug": slug, "quantity": 2,
                                                          "email": "scale@example.com", "wallet_address": wallet},
                         timeout=30)
    assert started.status_code == 201, started.text
    order = started.json()
    public_id = order["public_id"]

    # The buyer's order page, served by web process 2 (the balancer sends it there), its websocket on web process 2.
    topology.balancer.send_to([topology.web_ports[1]])
    context = browser.new_context(base_url=topology.public_url)
    page = context.new_page()
    try:
        page.goto(f"/orders/{public_id}")
        expect(page.locator("#order-status")).to_have_text("Waiting for payment",
                                                           timeout=TIMEOUT_S * 1000)
        # Web process 2 leaves the rotation: its connections drop and the page's websocket lands on web process 1,
        # which knows the page's state from Redis.
        topology.balancer.send_to([topology.web_ports[0]])
        topology.balancer.drop_connections()

        # Pay on web process 1: the pay link, then the sandbox's pay form (whose webhook goes through the balancer).
        pay_link = httpx.get(f"{web1}/api/v1/checkout/orders/{public_id}/pay", timeout=30)
        assert pay_link.status_code == 303, pay_link.text
        sandbox_page = re.search(r"/api/sandbox/pay/([\w-]+)\?token=([\w-]+)", pay_link.headers["location"])
        assert sandbox_page, pay_link.headers["location"]
        paid = httpx.post(f"{web1}/api/sandbox/pay/{sandbox_page[1]}", data={"token": sandbox_page[2], "action": "pay"},
                          headers={"Origin": topology.public_url}, timeout=60)
        assert paid.status_code == 303, paid.text

        # Followed through web process 2's API, and on the page now served by web process 1's websocket.
        minted = _wait_for(lambda: httpx.get(f"{web2}/api/v1/checkout/orders/{public_id}", timeout=30).json(),
                           lambda view: view.get("status") == "fulfilled", "the order was not minted")
        assert len(minted["token_ids"]) == 2
        expect(page.locator("#order-status")).to_have_text(re.compile("Minted|Delivered"), timeout=TIMEOUT_S * 1000)
        expect(page.get_by_test_id("token-id")).to_have_count(2)
    finally:
        context.close()

    # The storm across both web processes, on the same campaign: every paid order minted once, none lost.
    args = argparse.Namespace(duplicates=0.3, concurrency=8, settle_timeout=TIMEOUT_S, runners_live=True)
    with ThreadPoolExecutor(max_workers=1) as thread:  # its asyncio loop away from Playwright's in this thread
        result = thread.submit(storm, topology.web_urls, (campaign_id, slug, chain, contract), STORM_ORDERS, args,
                               topology).result()
    assert result.settled, result.summary
    assert (result.duplicate_mints, result.lost, result.errors) == (0, 0, 0), result.summary

    runs = daemon_runs()
    assert runs.holders == 2, "both runners ran daemons"
    assert runs.overlaps == 0, "a daemon ran in two runners at once"
    topology.failed = False
