"""Outbox subscribers of the order workflow: the one table of who reacts to which event.

payment.event_received -> apply the stored Stripe-format event to its order
order.paid             -> request the mint (exactly once) and move the order to minting; email the receipt
mint.completed         -> minted (token ids, tx hash) -> fulfilled
mint.failed            -> refund_pending, supply released, refund queued
"""

from __future__ import annotations

import importlib

from sqlmodel import Session

from backend.db import utcnow
from backend.orders import emails, fulfilment
from backend.orders.models import Order
from backend.payments.models import PaymentEvent
from backend.workflow.outbox import Event, processed_once, subscriber


def warm_up() -> None:
    """Called by the outbox when it loads the subscribers: the mint adapter imports backend.chain (web3: about
    a second) on first use; done here, that import does not run inside the first relay transaction, which
    would hold SQLite's write lock, and every webhook acknowledgement, for that long."""
    importlib.import_module("backend.chain.service")


@subscriber("payment.event_received", name="orders.apply_payment_event")
def apply_payment_event(session: Session, event: Event) -> None:
    if not processed_once(session, event):
        return
    stored = session.get(PaymentEvent, event.payload.get("payment_event_id"))
    if stored is None:
        return
    stored.outcome = fulfilment.handle_payment_event(session, stored)[:500]
    stored.processed_at = utcnow()
    session.add(stored)


# The subscriber keeps its first name: outbox deliveries store it.
@subscriber("order.paid", name="orders.request_mint")
def mint_paid_order(session: Session, event: Event) -> None:
    if not processed_once(session, event):
        return
    order_id = event.payload.get("order_id")
    if isinstance(order_id, int):
        fulfilment.request_mint_for_paid_order(session, order_id)


@subscriber("order.paid", name="orders.email_receipt")
def email_receipt(session: Session, event: Event) -> None:
    if not processed_once(session, event) or event.payload.get("resumed"):
        return
    order = session.get(Order, event.payload.get("order_id"))
    if order is not None:
        emails.queue_receipt(session, order)


@subscriber("mint.completed", name="orders.mint_completed")
def mint_completed(session: Session, event: Event) -> None:
    if not processed_once(session, event):
        return
    fulfilment.apply_mint_completed(session, event.payload)


@subscriber("mint.failed", name="orders.mint_failed")
def mint_failed(session: Session, event: Event) -> None:
    if not processed_once(session, event):
        return
    fulfilment.apply_mint_failed(session, event.payload)
