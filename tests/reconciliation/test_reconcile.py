"""Reconciliation on a real chain (anvil) and the sandbox's records: a clean shop reports zero exceptions and totals
that tie; each kind of inconsistency, seeded on purpose (a second mint sent straight to the contract, a mint to a
stranger, a refund recorded at the provider beside a mint, an amount the provider and the order disagree on, a
charge with no order, a paid order never minted, tokens minted to another address), is found with its reason."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from backend.db import session_scope, utcnow
from backend.monitoring.models import ErrorLogEntry
from backend.orders.models import Order
from backend.payments.models import SandboxSession
from backend.payments.sandbox import SandboxProvider
from backend.reconciliation.models import (
    ExceptionKind,
    ReconciliationException,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
)
from backend.reconciliation.service import run_reconciliation
from backend.workflow.machines import OrderState
from tests.chain.helpers import ChainUnderTest, People, new_address
from tests.reconciliation.support import age_payment, open_shop


def _count(model, *where) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_a_clean_shop_reports_zero_exceptions_and_totals_that_tie(client, anvil: ChainUnderTest, people: People,
                                                                  configure) -> None:  # type: ignore[no-untyped-def]
    shop = open_shop(anvil, people, configure)
    minted = [shop.buy(2), shop.buy(1)]
    refunded = shop.buy(1)
    refunded = shop.refund_before_mint(refunded)
    shop.mint_all()
    in_flight = shop.buy(3)  # paid a moment ago; its mint is not sent yet

    summary = run_reconciliation(trigger=RunTrigger.CLI)

    assert summary.status is RunStatus.CLEAN and summary.findings == []
    assert refunded.state is OrderState.REFUNDED
    assert (summary.orders_checked, summary.minted, summary.refunded) == (4, 2, 1)
    assert [(f.order_id, f.why) for f in summary.in_flight] == [(in_flight.id, "mint in flight")]
    [usd] = summary.by_currency().values()
    price = shop.campaign.price_minor
    assert usd.money_in_minor == usd.orders_paid_minor == 7 * price
    assert usd.refunded_minor == usd.orders_refunded_minor == price
    assert usd.net_minor == 6 * price
    # Sold to orders that keep their tokens: 3 minted (rows and chain agree) and 3 in flight.
    assert (usd.tokens_sold, usd.tokens_minted, usd.tokens_on_chain, usd.collections_supply) == (6, 3, 3, 3)
    assert all(o.id for o in minted)
    with session_scope() as session:
        run = session.get(ReconciliationRun, summary.run_id)
        assert run.status is RunStatus.CLEAN and run.finished_at is not None and run.exception_count == 0
    assert _count(ErrorLogEntry) == 0  # nothing to alert about


def test_every_seeded_inconsistency_is_found_with_its_reason(client, anvil: ChainUnderTest, people: People,
                                                             configure) -> None:  # type: ignore[no-untyped-def]
    shop = open_shop(anvil, people, configure)
    configure(RECONCILE_MINT_GRACE_HOURS=2)
    fine = shop.buy(1)
    twice = shop.buy(1)
    refunded_and_minted = shop.buy(2)
    mismatch = shop.buy(1)
    moved = shop.buy(1)
    stuck = shop.buy(1)
    with session_scope() as session:  # the stuck order's mint never goes out
        from backend.chain.models import MintRequest, MintStatus
        session.execute(update(MintRequest).where(MintRequest.key == f"order-{stuck.id}")
                        .values(status=MintStatus.FAILED))
    shop.mint_all()
    stranger = new_address(anvil.w3)
    fresh = shop.buy(1)  # paid just now, not minted yet: in flight, not an exception

    shop.direct_mint(twice.wallet_address)  # a second mint for a buyer, straight to the contract
    shop.direct_mint(stranger)  # a mint that no order accounts for
    SandboxProvider().refund(refunded_and_minted.payment_intent_id, 500, idempotency_key="dashboard-refund-1")
    with session_scope() as session:
        # The order's paid amount disagrees with what the provider charged.
        session.execute(update(Order).where(Order.id == mismatch.id).values(paid_amount_minor=1))
        # Its tokens went to another address than the order's.
        session.execute(update(Order).where(Order.id == moved.id).values(wallet_address=new_address(anvil.w3)))
        # A payment at the provider that no order was paid by.
        session.add(SandboxSession(
            id="cs_sandbox_orphan", idempotency_key="orphan-1", order_id=987654, client_reference_id="nobody",
            metadata_={}, line_items=[], amount_total=4200, currency="usd", status="complete",
            payment_status="paid", payment_intent_id="pi_sandbox_orphan", expires_at=utcnow() + timedelta(hours=1)))
    age_payment(stuck, hours=5)  # paid five hours ago, past the two-hour grace

    summary = run_reconciliation(trigger=RunTrigger.NIGHTLY)

    found = {(f.kind, f.order_id) for f in summary.findings}
    assert found >= {
        (ExceptionKind.MINTED_TWICE, twice.id),
        (ExceptionKind.REFUNDED_AND_MINTED, refunded_and_minted.id),
        (ExceptionKind.AMOUNT_MISMATCH, mismatch.id),
        (ExceptionKind.WRONG_RECIPIENT, moved.id),
        (ExceptionKind.PAID_NOT_MINTED, stuck.id),
        (ExceptionKind.ORPHAN_TRANSFER, None),
        (ExceptionKind.ORPHAN_CHARGE, None),
    }
    assert len(summary.findings) == 7, summary.findings  # one each, nothing about the fine or the fresh order
    assert fine.id not in {f.order_id for f in summary.findings}
    assert [f.order_id for f in summary.in_flight] == [fresh.id]
    reasons = {f.kind: f.reason for f in summary.findings}
    assert "2 tokens on chain for an order of 1" in reasons[ExceptionKind.MINTED_TWICE]
    assert "Refunded $5.00 and 2 token(s) minted on chain" in reasons[ExceptionKind.REFUNDED_AND_MINTED]
    assert "the order says $0.01 was paid" in reasons[ExceptionKind.AMOUNT_MISMATCH]
    assert "no token on chain" in reasons[ExceptionKind.PAID_NOT_MINTED]
    assert stranger.lower() in reasons[ExceptionKind.ORPHAN_TRANSFER]
    assert "cs_sandbox_orphan ($42.00) has no order" in reasons[ExceptionKind.ORPHAN_CHARGE]
    # Stored with the run; an alert per brand and kind went to the error log (and Sentry when configured).
    assert _count(ReconciliationException, ReconciliationException.run_id == summary.run_id) == 7
    with session_scope() as session:
        assert session.get(ReconciliationRun, summary.run_id).status is RunStatus.EXCEPTIONS
        sources = session.execute(select(ErrorLogEntry.source, ErrorLogEntry.brand_id)).all()
    assert len(sources) == 7 and {s for s, _ in sources} == {"reconciliation"}
    assert sum(1 for _, brand in sources if brand == people.brand.id) == 6  # the orphan charge has no brand


def test_a_brand_run_sees_only_its_own_orders(client, anvil: ChainUnderTest, people: People,
                                             configure) -> None:  # type: ignore[no-untyped-def]
    shop = open_shop(anvil, people, configure)
    shop.buy(1)
    shop.mint_all()
    with session_scope() as session:
        session.add(SandboxSession(
            id="cs_sandbox_orphan2", idempotency_key="orphan-2", order_id=1, client_reference_id="x", metadata_={},
            line_items=[], amount_total=100, currency="usd", status="complete", payment_status="paid",
            payment_intent_id="pi_sandbox_orphan2", expires_at=utcnow() + timedelta(hours=1)))
    brand_run = run_reconciliation(trigger=RunTrigger.MANUAL, brand_id=people.brand.id)
    assert brand_run.status is RunStatus.CLEAN and brand_run.orders_checked == 1  # the orphan is not the brand's
    platform_run = run_reconciliation(trigger=RunTrigger.MANUAL)
    assert [f.kind for f in platform_run.findings] == [ExceptionKind.ORPHAN_CHARGE]


def test_an_unreachable_chain_fails_the_run_and_logs_it(client, anvil: ChainUnderTest, people: People,
                                                        configure) -> None:  # type: ignore[no-untyped-def]
    shop = open_shop(anvil, people, configure)
    shop.buy(1)
    anvil.node.stop()  # type: ignore[union-attr]
    with pytest.raises(Exception):  # noqa: B017  (whatever the HTTP client raises: the run must not pass)
        run_reconciliation(trigger=RunTrigger.NIGHTLY)
    with session_scope() as session:
        run = session.execute(select(ReconciliationRun)).scalars().one()
        assert run.status is RunStatus.FAILED and run.error and run.finished_at is not None
    assert _count(ErrorLogEntry, ErrorLogEntry.source == "reconciliation") == 1


def _never_minted(order: Order) -> None:
    """Its mint request fails for good with nothing said about it: no mint, no refund."""
    from backend.chain.models import MintRequest, MintStatus

    with session_scope() as session:
        session.execute(update(MintRequest).where(MintRequest.key == f"order-{order.id}")
                        .values(status=MintStatus.FAILED))


def test_a_token_minted_before_the_order_was_paid_does_not_count_as_its_mint(client, anvil: ChainUnderTest,
                                                                            people: People, configure) -> None:  # type: ignore[no-untyped-def]
    shop = open_shop(anvil, people, configure)
    configure(RECONCILE_CLOCK_SKEW_SECONDS=0)  # anvil's clock is ours
    wallet = new_address(anvil.w3)
    shop.direct_mint(wallet)  # an admin mintTo, outside any order
    time.sleep(1.1)  # block times are whole seconds: the payment comes in a later second than that block
    order = shop.buy(1, wallet=wallet)
    _never_minted(order)
    configure(RECONCILE_MINT_GRACE_HOURS=0.0001)  # 0.36 s: the order is overdue by the time the run looks
    time.sleep(0.5)

    summary = run_reconciliation(trigger=RunTrigger.NIGHTLY)

    assert len(summary.findings) == 2, summary.findings
    assert {(f.kind, f.order_id) for f in summary.findings} == {(ExceptionKind.PAID_NOT_MINTED, order.id),
                                                                (ExceptionKind.ORPHAN_TRANSFER, None)}
    [orphan] = [f for f in summary.findings if f.kind is ExceptionKind.ORPHAN_TRANSFER]
    assert orphan.details["to"] == wallet.lower()
    assert summary.minted == 0

    # Within the allowed clock skew, the same mint is taken as the order's (a block stamped a moment before our
    # paid_at): the order is minted and nothing is left over.
    configure(RECONCILE_CLOCK_SKEW_SECONDS=120)
    summary = run_reconciliation(trigger=RunTrigger.NIGHTLY)
    assert summary.findings == [] and summary.minted == 1


def test_a_refunded_order_is_not_credited_with_another_orders_token(client, anvil: ChainUnderTest, people: People,
                                                                     configure) -> None:  # type: ignore[no-untyped-def]
    shop = open_shop(anvil, people, configure)
    wallet = new_address(anvil.w3)
    refunded = shop.refund_before_mint(shop.buy(1, wallet=wallet))
    later = shop.buy(1, wallet=wallet)
    _never_minted(later)
    shop.direct_mint(wallet)  # the later order's token, minted by hand after it was paid (no mint request says so)

    summary = run_reconciliation(trigger=RunTrigger.NIGHTLY)

    assert refunded.state is OrderState.REFUNDED
    assert summary.findings == [] and summary.status is RunStatus.CLEAN
    assert (summary.orders_checked, summary.minted, summary.refunded) == (2, 1, 1)
