"""Locks and the supply counter, from one place, and the order they are taken in: a payment's lock, then its order,
then the campaign (release_supply, under the order's lock). Checkout locks the buyer (their email, then their network:
the unpaid-reservation caps span campaigns) and then the campaign; its order is new.
The reserve/release pair keeps campaign.sold_count equal to the quantities of the orders holding supply."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from backend.campaigns.models import Campaign
from backend.orders.models import Order
from backend.workflow.sql import dialect_name


def lock_campaign(session: Session, campaign_id: int) -> Campaign | None:
    """The campaign row, locked until commit (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already
    makes this transaction the only writer)."""
    stmt = select(Campaign).where(Campaign.id == campaign_id).execution_options(populate_existing=True)
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalars().first()


def lock_buyer(session: Session, email: str, network: str) -> None:
    """Serialise the checkouts of one email and of one network until commit, so that their unpaid-reservation caps
    (counted across campaigns) cannot be beaten by concurrent checkouts: transaction-scoped advisory locks on
    PostgreSQL, the email's first; SQLite's BEGIN IMMEDIATE already makes this transaction the only writer. Taken
    before the campaign's lock."""
    if dialect_name(session) == "postgresql":
        for key in (f"checkout-email:{email}", f"checkout-network:{network}"):
            session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def lock_order(session: Session, *, order_id: int | None = None, public_id: str | None = None,
               payment_intent: str | None = None, session_id: str | None = None) -> Order | None:
    """One order, freshly read and locked until commit, found by whichever reference the caller has."""
    stmt = select(Order).execution_options(populate_existing=True)
    if order_id is not None:
        stmt = stmt.where(Order.id == order_id)
    elif public_id is not None:
        stmt = stmt.where(Order.public_id == public_id)
    elif payment_intent is not None:
        stmt = stmt.where(Order.payment_intent_id == payment_intent)
    elif session_id is not None:
        stmt = stmt.where(Order.payment_session_id == session_id)
    else:
        raise ValueError("lock_order needs a reference")
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update()
    return session.execute(stmt.limit(1)).scalars().first()


def lock_payment(session: Session, payment_intent: str | None) -> None:
    """Serialise the handling of one payment's events until commit (a transaction-scoped advisory lock on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already makes this transaction the only writer). Taken before the order's
    row lock, by everything that applies a payment's outcome."""
    if payment_intent and dialect_name(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"payment:{payment_intent}"})


def reserve_supply(session: Session, campaign_id: int, quantity: int) -> bool:
    """Atomically take `quantity` from the campaign's remaining supply; False if not enough is left."""
    result = session.execute(
        text("UPDATE campaign SET sold_count = sold_count + :n WHERE id = :id AND sold_count + :n <= supply_cap"),
        {"n": quantity, "id": campaign_id},
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def release_supply(session: Session, order: Order) -> bool:
    """Give the order's quantity back to its campaign, once: the flag flip and the counter move together."""
    flipped = session.execute(
        update(Order).where(Order.id == order.id, Order.holds_supply.is_(True))  # type: ignore[attr-defined]
        .values(holds_supply=False).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if flipped != 1:
        return False
    session.execute(
        text("UPDATE campaign SET sold_count = sold_count - :n WHERE id = :id"),
        {"n": order.quantity, "id": order.campaign_id},
    )
    set_committed_value(order, "holds_supply", False)
    return True
