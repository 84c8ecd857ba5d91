"""The job runner killed with SIGKILL at chosen points of pay -> mint (and of a refund), restarted each time: every
order ends minted once on the chain or refunded in full at the payment provider, none lost, no token twice.

Each trial adds a paid order (or, for the refund point, one paid after it expired), then starts a runner whose
backend.faults.crash_point kills it at the trial's point; the next trial's runner takes over (its leases wait for
the dead holder's to lapse: 2 s here). Trials are seeded (PRIMSELL_FAULT_SEED replays one) and spread evenly over
the points. The runners are forked by tests/faults/runner_zygote.py, which did the imports once: twenty cold starts
of Python would cost minutes on a loaded machine. The webhooks arrive through the app in this process, with its
in-process relaying switched off, so only the runners move the orders on. The verdict is counted from the chain
(Transfer logs from the zero address, ownerOf, totalSupply) and the sandbox provider's own payment and refund
records.
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
from pathlib import Path

from eth_utils import to_checksum_address
from sqlalchemy import select

from backend.chain.models import MintRequest
from backend.db import session_scope
from backend.orders import fulfilment, service
from backend.orders.locks import lock_order
from backend.orders.models import Order
from backend.workflow import kick
from backend.workflow.machines import OrderState
from tests.chain.helpers import ChainUnderTest, People, deploy_campaign, new_address
from tests.faults.support import Zygote, mints_on_chain, provider_payments, provider_refunds, total_supply, wait_for
from tests.payments.support import BUYER_LIMITS_OFF, completed_event, order_by_public, pay_sandbox_session, post_event

RUNNER_POINTS = ("relay.pass", "mint.dispatched", "tx.signed", "tx.broadcast", "tx.confirm", "refund.submit")
TRIALS = 20
RUNNER_ARGS = ["--only", "outbox_relay,order_expirer,mint_dispatcher,tx_monitor", "--every", "0.5",
               "--lease-seconds", "2"]
TRIAL_TIMEOUT_S = 90  # a runner's way to its point: a lease to wait for, then a few passes; generous for CI
SETTLE_TIMEOUT_S = 180
FINAL = (OrderState.FULFILLED, OrderState.REFUNDED)


def _plan(seed: int) -> list[str]:
    """TRIALS fault specs, each point as often as the others (within one), in a seeded order; the relay's
    point sometimes at its 2nd or 3rd pass."""
    rng = random.Random(seed)
    points = [RUNNER_POINTS[i % len(RUNNER_POINTS)] for i in range(TRIALS)]
    rng.shuffle(points)
    return [f"{p}@{rng.randint(1, 3)}" if p == "relay.pass" else p for p in points]


def _checkout(client, slug: str, wallet: str, quantity: int, n: int, *, expired: bool) -> Order:  # type: ignore[no-untyped-def]
    """A checkout paid on the sandbox, its completion accepted by the app (not relayed). `expired`: the order
    expired before the money arrived, so the money must go back."""
    started = service.start_checkout(slug, quantity, f"buyer{n}@example.com", wallet, "1.1.1.1")
    order = order_by_public(started.public_id)
    pay_sandbox_session(order)
    if expired:
        with session_scope() as session:
            locked = lock_order(session, order_id=order.id)
            assert fulfilment.expire_order(session, locked, "test: expired before paying", actor="test") == "expired"  # type: ignore[arg-type]
    assert post_event(client, completed_event(order)).status_code == 200
    return order


def test_runner_killed_at_each_point_of_pay_to_mint_ends_with_each_order_minted_once_or_refunded(
        client, chain_env: ChainUnderTest, people: People, configure, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = int(os.environ.get("PRIMSELL_FAULT_SEED", random.randrange(1 << 30)))
    print(f"fault seed {seed} (PRIMSELL_FAULT_SEED={seed} replays it)")
    rng = random.Random(seed + 1)
    configure(MINT_BATCH_SIZE=3, REFUND_SUBMIT_TIMEOUT_SECONDS=2, ORDER_TTL_SECONDS=3600,
              ORDER_UNPAID_HOLD_SECONDS=3600, **BUYER_LIMITS_OFF)
    campaign, contract = deploy_campaign(chain_env, people, supply_cap=200)
    monkeypatch.setattr(kick, "kick", lambda: None)  # the app only records; the runners do the rest
    log = tmp_path / "runner.log"
    zygote = Zygote(RUNNER_ARGS, log)
    orders: list[tuple[Order, bool]] = []  # (order, expired before paid)
    started = time.monotonic()
    try:
        for trial, fault in enumerate(_plan(seed)):
            expired = fault == "refund.submit"
            orders.append((_checkout(client, campaign.slug, new_address(chain_env.w3), rng.randint(1, 3), trial,
                                     expired=expired), expired))
            zygote.start(fault)
            code = zygote.wait_exit(TRIAL_TIMEOUT_S)
            point = fault.split("@")[0]
            assert code == -signal.SIGKILL, f"trial {trial} ({fault}): the runner exited with {code}"
            assert log.read_text().count(f"fault point {point} reached") >= \
                sum(1 for f in _plan(seed)[:trial + 1] if f.split("@")[0] == point), f"trial {trial}: not at {point}"
        killed_s = time.monotonic() - started
        zygote.start(None)  # the last runner, undisturbed

        def settled() -> bool:
            with session_scope() as session:
                states = session.execute(select(Order.state)).scalars().all()
            return len(states) == TRIALS and all(s in FINAL for s in states)

        wait_for(settled, SETTLE_TIMEOUT_S, "every order fulfilled or refunded", log)
        assert zygote.stop() == 0, log.read_text()[-4000:]
    finally:
        zygote.close()
    print(f"{TRIALS} kills in {killed_s:.0f} s, settled after {time.monotonic() - started:.0f} s")
    assert len(re.findall(r"fault point \S+ reached", log.read_text())) == TRIALS

    # Counted from the chain and the provider, order by order (each has its own wallet).
    on_chain = mints_on_chain(chain_env.w3, contract)
    refunds = provider_refunds()
    payments = provider_payments()
    all_tokens = [t for tokens in on_chain.values() for t in tokens]
    assert len(all_tokens) == len(set(all_tokens)) == total_supply(chain_env.w3, contract), "a token minted twice"
    collection = chain_env.collection(contract)
    for placed, expired in orders:
        order = order_by_public(placed.public_id)
        intent, paid, refunded_at_provider = payments[order.payment_session_id]  # type: ignore[index]
        assert paid == order.amount_minor, f"order {order.id}: the provider holds no payment of it"
        wallet = to_checksum_address(order.wallet_address)
        tokens = on_chain.get(wallet, [])
        if expired:
            assert order.state is OrderState.REFUNDED, (order.id, order.state)
            assert tokens == [], f"order {order.id} was refunded and minted"
            assert refunds[intent] == refunded_at_provider == paid, f"order {order.id}: refunded {refunds[intent]}"
        else:
            assert order.state is OrderState.FULFILLED, (order.id, order.state)
            assert sorted(tokens) == sorted(int(t) for t in order.token_ids), f"order {order.id}: {tokens}"
            assert len(tokens) == order.quantity, f"order {order.id}: {len(tokens)} tokens for {order.quantity}"
            assert all(collection.functions.ownerOf(t).call() == wallet for t in tokens)
            assert refunds[intent] == refunded_at_provider == 0, f"order {order.id} was minted and refunded"
    # Nothing minted to anyone else, no second mint request of any order.
    assert set(on_chain) <= {to_checksum_address(o.wallet_address) for o, _ in orders}
    with session_scope() as session:
        keys = session.execute(select(MintRequest.key)).scalars().all()
    assert len(keys) == len(set(keys)) == sum(1 for _, expired in orders if not expired)
