"""Outages under a running job runner process: the chain node stopped and restarted with its state while mints are
pending (transactions wait, then resume; nothing sent twice); PostgreSQL's connections killed with
pg_terminate_backend while the web process takes a webhook burst and the runner mints (both reconnect; nothing
lost). The SMTP server and Stripe being unreachable for longer than their attempt budgets: tests/notifications/
test_email.py and tests/orders/test_upkeep.py (the "outage" tests).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from web3 import Web3

from backend.chain.anvil import AnvilNode, free_port
from backend.chain.client import set_web3
from backend.chain.models import MintRequest, TxState
from backend.db import session_scope
from backend.orders.models import Order
from backend.payments.models import PaymentEvent
from backend.workflow.machines import OrderState
from bench.webhooks import completion_bodies, make_orders, post_all
from tests.chain.helpers import (
    CHAIN,
    ChainUnderTest,
    People,
    add_mints,
    all_settled,
    assert_each_minted_once,
    deploy_campaign,
    mint_txs,
    new_address,
    transactions,
)
from tests.conftest import TEST_DB
from tests.faults.support import Zygote, kill_group, mints_on_chain, serve_api, total_supply, wait_for
from tests.payments.support import BUYER_LIMITS_OFF

TIMEOUT_S = 180
MINTERS = ["--only", "mint_dispatcher,tx_monitor", "--every", "0.5", "--lease-seconds", "5"]


@pytest.fixture
def restartable_chain(configure, tmp_path: Path) -> Iterator[ChainUnderTest]:  # type: ignore[no-untyped-def]
    """anvil on a fixed free port that keeps its state across a stop and start (--state), as the "local" chain of
    this process and of the runner processes."""
    node = AnvilNode(port=free_port(), state_path=tmp_path / "anvil-state.json").start()
    chain = ChainUnderTest("anvil", Web3(Web3.HTTPProvider(node.url, exception_retry_configuration=None)), node)
    set_web3(CHAIN, chain.w3)
    configure(CHAIN_KEY="local", CHAIN_RPC_URL=node.url)
    try:
        yield chain
    finally:
        set_web3(CHAIN, None)
        node.stop()


def _nonces_contiguous() -> None:
    nonces = sorted(t.nonce for t in transactions())  # type: ignore[type-var]
    assert nonces == list(range(len(nonces))), f"nonces reused or skipped: {nonces}"


def test_chain_node_down_while_mints_are_pending_then_back_with_its_state_mints_each_once(
        restartable_chain: ChainUnderTest, people: People, tmp_path: Path) -> None:
    chain, node = restartable_chain, restartable_chain.node
    assert node is not None
    campaign, contract = deploy_campaign(chain, people)
    first = [new_address(chain.w3) for _ in range(3)]
    add_mints(campaign.id, [(f"order:{i}", w, 1) for i, w in enumerate(first)])
    log = tmp_path / "runner.log"
    zygote = Zygote(MINTERS, log)
    try:
        zygote.start()
        wait_for(all_settled, TIMEOUT_S, "the first mints", log)
        node.stop()  # anvil dumps its state and goes away
        later = [new_address(chain.w3) for _ in range(4)]
        add_mints(campaign.id, [(f"order:{i + 3}", w, 1) for i, w in enumerate(later)])
        # The runner dispatches them and keeps finding the node unreachable: they wait, nothing fails.
        wait_for(lambda: log.read_text().count("unreachable, will retry") >= 3, TIMEOUT_S,
                 "the runner to retry against the stopped node", log)
        assert not all_settled()
        assert all(t.state in (TxState.QUEUED, TxState.CONFIRMED) for t in transactions()), \
            [(t.id, t.state) for t in transactions()]
        node.start()  # same port, state reloaded
        wait_for(lambda: all_settled() and all(t.state is TxState.CONFIRMED for t in transactions()), TIMEOUT_S,
                 "the pending mints after the node came back", log)
        assert zygote.stop() == 0, log.read_text()[-4000:]
    finally:
        zygote.close()
    wallets = first + later
    assert_each_minted_once(chain, contract, {f"order:{i}": (w, 1) for i, w in enumerate(wallets)})
    assert {w: len(t) for w, t in mints_on_chain(chain.w3, contract).items()} == {w: 1 for w in wallets}
    assert total_supply(chain.w3, contract) == len(wallets)
    _nonces_contiguous()
    signer = transactions()[0].from_address
    assert chain.w3.eth.get_transaction_count(signer) == len(transactions())  # type: ignore[arg-type]
    assert len(mint_txs()) >= 2


@pytest.mark.skipif(TEST_DB != "postgresql", reason="pg_terminate_backend: PostgreSQL only")
def test_postgresql_connections_killed_mid_run_the_web_process_and_runner_reconnect_and_lose_nothing(
        restartable_chain: ChainUnderTest, people: People, configure, database_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chain = restartable_chain
    configure(**BUYER_LIMITS_OFF, ORDER_TTL_SECONDS=3600, ORDER_UNPAID_HOLD_SECONDS=3600)
    campaign, contract = deploy_campaign(chain, people, supply_cap=100)
    orders = make_orders(campaign.slug, 30)
    bodies = completion_bodies(orders)
    log = tmp_path / "processes.log"
    zygote = Zygote(["--only", "outbox_relay,mint_dispatcher,tx_monitor", "--every", "0.5", "--lease-seconds", "5"],
                    log)
    web = None
    database = database_url.rsplit("/", 1)[-1]
    admin = create_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    stop = threading.Event()
    killed: list[int] = []

    def killer() -> None:  # every connection to the test database but this killer's, twice a second
        with admin.connect() as conn:
            while not stop.wait(0.5):
                killed.append(len(conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db "
                    "AND pid <> pg_backend_pid()"), {"db": database}).all()))

    try:
        zygote.start()
        web, url = serve_api(log)
        thread = threading.Thread(target=killer)
        thread.start()
        try:
            statuses: list[int] = []
            for i in range(0, len(orders), 5):  # in small bursts, the killer firing between and during them
                statuses += asyncio.run(post_all(url, [bodies[o.id] for o in orders[i:i + 5]], 4))[1]
                time.sleep(0.3)
            time.sleep(2)
        finally:
            stop.set()
            thread.join(30)
        assert sum(killed) > 0
        acknowledged = {o.id for o, s in zip(orders, statuses, strict=True) if s == 200}
        print(f"{sum(killed)} connections killed; {len(acknowledged)} of {len(orders)} deliveries acknowledged")
        # What was not acknowledged, the provider sends again (until it is).
        for _ in range(10):
            left = [o for o in orders if o.id not in acknowledged]
            if not left:
                break
            again = asyncio.run(post_all(url, [bodies[o.id] for o in left], 4))[1]
            acknowledged |= {o.id for o, s in zip(left, again, strict=True) if s == 200}
        assert len(acknowledged) == len(orders)

        def fulfilled() -> bool:
            with session_scope() as session:
                states = session.execute(select(Order.state)).scalars().all()
            return len(states) == len(orders) and all(s is OrderState.FULFILLED for s in states)

        wait_for(fulfilled, TIMEOUT_S, "every order fulfilled", log)
        assert zygote.stop() == 0, log.read_text()[-4000:]
    finally:
        stop.set()
        zygote.close()
        if web is not None:
            kill_group(web)
        admin.dispose()
    with session_scope() as session:
        assert session.execute(select(func.count()).select_from(PaymentEvent)).scalar_one() == len(orders)
        assert session.execute(select(func.count()).select_from(MintRequest)).scalar_one() == len(orders)
    on_chain = mints_on_chain(chain.w3, contract)
    assert sorted(len(t) for t in on_chain.values()) == [1] * len(orders)
    assert total_supply(chain.w3, contract) == len(orders)
    _nonces_contiguous()
