"""What the buyer receives by email about an order: the receipt with the order's link, once it is paid. Queued
in the subscriber's transaction (backend.orders.subscribers), delivered by the email_sender daemon."""

from __future__ import annotations

from sqlmodel import Session

from backend.auth.models import User
from backend.campaigns.models import Campaign
from backend.money import money_text
from backend.notifications.service import queue_email
from backend.orders.models import Order
from backend.orders.refunds import paid_amount
from backend.orders.service import order_url


def queue_receipt(session: Session, order: Order) -> bool:
    """The receipt of a paid order (once per order, whatever redeliveries)."""
    campaign = session.get(Campaign, order.campaign_id)
    name = campaign.name if campaign else "your NFT"
    paid = paid_amount(order)
    amount = money_text(paid, order.paid_currency or order.currency)
    where = ("We keep it for you: you can withdraw it to your own wallet from your account at any time."
             if order.custodial else f"It goes to your wallet {order.wallet_address}.")
    user = session.get(User, order.user_id) if order.user_id is not None else None
    account = ("\n\nTo find all your orders later, create your account from the order page (we will email you a "
               "link to choose your password)." if user is not None and user.password_hash is None else "")
    body = (f"Hello,\n\nThank you for your order: {order.quantity} x {name}, {amount} paid.\n\n"
            f"Your NFT is being minted now. {where}\n\nFollow your order here:\n{order_url(order.public_id)}"
            f"{account}\n\nPrimsell")
    return queue_email(session, key=f"order_paid:{order.id}", kind="order_paid", to=order.email,
                       subject=f"Your order of {name}", body=body, user_id=order.user_id)
