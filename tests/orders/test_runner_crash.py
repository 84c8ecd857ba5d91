"""A real `python -m jobs` runner killed with SIGKILL while paid orders go through minting, then restarted:
every order is minted exactly once, on a real chain (anvil).

The webhooks arrive through the app (in this process, with its in-process relaying switched off), so only the
runner subprocess moves the orders on. Runners use a 3 s lease, so a successor takes over soon after a kill.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from backend.chain.models import ChainTransaction, MintRequest, MintStatus
from backend.db import session_scope
from backend.orders import service
from backend.orders.models import Order
from backend.workflow import kick
from backend.workflow.machines import OrderState
from tests.chain.conftest import anvil, chain_env, configure, people  # noqa: F401  (fixtures)
from tests.chain.helpers import ChainUnderTest, People, deploy_campaign, new_address
from tests.payments.support import (
    BUYER_LIMITS_OFF,
    completed_event,
    count,
    order_by_public,
    pay_sandbox_session,
    post_event,
)

ROOT = Path(__file__).resolve().parents[2]
STALLING_RUNNER = Path(__file__).with_name("stalling_runner.py")
RUNNER_ARGS = ["--only", "outbox_relay,mint_dispatcher,tx_monitor", "--every", "0.3", "--lease-seconds", "3"]
SETTLE_TIMEOUT_S = 120  # runners start in ~2 s and wait up to a lease for a dead holder's jobs


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command + RUNNER_ARGS, cwd=ROOT, env=os.environ.copy(), stdout=out,
                                stderr=subprocess.STDOUT)


def _kill(runner: subprocess.Popen[bytes]) -> None:
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=30)


def _terminate(runner: subprocess.Popen[bytes]) -> int:
    if runner.poll() is None:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            _kill(runner)
    return runner.returncode


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; runner log:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


def _paid_orders(client, campaign_slug: str, wallets: list[str], quantities: list[int]) -> list[Order]:  # type: ignore[no-untyped-def]
    """Checkouts paid on the sandbox, with their completion webhooks accepted by the app (not yet relayed)."""
    orders = []
    for n, (wallet, quantity) in enumerate(zip(wallets, quantities, strict=True)):
        started = service.start_checkout(campaign_slug, quantity, f"buyer{n}@example.com", wallet, "1.1.1.1")
        order = order_by_public(started.public_id)
        pay_sandbox_session(order)
        assert post_event(client, completed_event(order)).status_code == 200
        orders.append(order)
    return orders


def _states(orders: list[Order]) -> list[OrderState]:
    return [order_by_public(o.public_id).state for o in orders]


def _assert_minted_once(chain: ChainUnderTest, contract: str, orders: list[Order]) -> None:
    """Each order fulfilled by exactly one mint request and one transaction; the chain agrees, token by token."""
    collection = chain.collection(contract)
    seen: set[int] = set()
    for placed in orders:
        order = order_by_public(placed.public_id)
        assert order.state is OrderState.FULFILLED, order.state
        token_ids = [int(t) for t in order.token_ids]
        assert len(token_ids) == order.quantity and not seen & set(token_ids)
        seen |= set(token_ids)
        assert all(collection.functions.ownerOf(t).call() == order.wallet_address for t in token_ids)
        assert collection.functions.balanceOf(order.wallet_address).call() == order.quantity
        with session_scope() as session:
            [request] = session.execute(select(MintRequest).where(MintRequest.key == order.mint_key)).scalars().all()
            assert (request.status, request.token_ids) == (MintStatus.MINTED, token_ids)
    # Nothing else was minted: no second airdrop of any order survived a crash.
    assert collection.functions.totalSupply().call() == sum(o.quantity for o in orders) == len(seen)
    assert count(MintRequest) == len(orders)


def test_runner_killed_between_paid_and_minting_mints_once_after_restart(
        client, chain_env: ChainUnderTest, people: People, monkeypatch, tmp_path: Path) -> None:  # noqa: F811
    campaign, contract = deploy_campaign(chain_env, people, supply_cap=10)
    monkeypatch.setattr(kick, "kick", lambda: None)  # the app only records; the runner does the rest
    [order] = _paid_orders(client, campaign.slug, [new_address(chain_env.w3)], [2])
    log = tmp_path / "runner.log"

    stalling = _start([sys.executable, str(STALLING_RUNNER)], log)
    try:
        _wait_for(lambda: "STALLED order=" in log.read_text(), SETTLE_TIMEOUT_S, "the order.paid subscriber", log)
        # The runner dies inside the transaction that moves the order to minting. (No reads here: on SQLite
        # every transaction starts by taking the write lock, which the stalled runner holds.)
        _kill(stalling)
    finally:
        if stalling.poll() is None:
            _kill(stalling)
    assert stalling.returncode == -signal.SIGKILL
    # Paid was committed; the move to minting and its mint request died with the runner.
    assert order_by_public(order.public_id).state is OrderState.PAID
    assert count(MintRequest) == 0 and chain_env.collection(contract).functions.totalSupply().call() == 0

    runner = _start([sys.executable, "-m", "jobs"], log)  # the restart: the plain runner
    try:
        _wait_for(lambda: _states([order]) == [OrderState.FULFILLED], SETTLE_TIMEOUT_S, "the order to be fulfilled",
                  log)
    finally:
        code = _terminate(runner)
    assert code == 0, log.read_text()[-4000:]
    _assert_minted_once(chain_env, contract, [order])


def test_runner_killed_again_and_again_while_orders_mint_mints_each_once(
        client, chain_env: ChainUnderTest, people: People, configure, monkeypatch, tmp_path: Path) -> None:  # noqa: F811
    """SIGKILL the runner each time it makes progress (after a random short delay), wherever it is: relaying,
    broadcasting, confirming. Seeded, so a failure replays with the printed seed."""
    seed = int(os.environ.get("PRIMSELL_CRASH_SEED", random.randrange(1 << 30)))
    print(f"crash seed {seed}")
    rng = random.Random(seed)
    configure(MINT_BATCH_SIZE=3, **BUYER_LIMITS_OFF)  # several airdrop transactions: more places to die in
    campaign, contract = deploy_campaign(chain_env, people, supply_cap=30)
    monkeypatch.setattr(kick, "kick", lambda: None)
    quantities = [rng.randint(1, 3) for _ in range(6)]
    orders = _paid_orders(client, campaign.slug, [new_address(chain_env.w3) for _ in quantities], quantities)
    log = tmp_path / "runner.log"

    def progress() -> tuple[object, ...]:
        with session_scope() as session:
            txs = session.execute(select(ChainTransaction.state, ChainTransaction.tx_hash)).all()
        return (tuple(_states(orders)), count(MintRequest),
                tuple(sorted(f"{state.value}:{tx_hash}" for state, tx_hash in txs)))

    def all_fulfilled() -> bool:
        return all(s is OrderState.FULFILLED for s in _states(orders))

    kills = 0
    while kills < 6 and not all_fulfilled():
        before = progress()
        runner = _start([sys.executable, "-m", "jobs"], log)
        try:
            _wait_for(lambda before=before: progress() != before, SETTLE_TIMEOUT_S, "progress", log)
            time.sleep(rng.uniform(0, 0.25))
        finally:
            _kill(runner)
        kills += 1
        states, requests, txs = progress()
        print(f"kill {kills}: orders {[s.value for s in states]}, {requests} mint requests, transactions {txs}")
    starts = log.read_text().count(" started: ")
    runner = _start([sys.executable, "-m", "jobs"], log)  # and a last, undisturbed one
    try:
        _wait_for(lambda: log.read_text().count(" started: ") > starts and all_fulfilled(), SETTLE_TIMEOUT_S,
                  "every order to be fulfilled", log)
    finally:
        code = _terminate(runner)
    assert kills >= 2 and code == 0, (kills, log.read_text()[-4000:])
    _assert_minted_once(chain_env, contract, orders)
