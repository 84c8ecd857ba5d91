"""The consumer's own account: the account checkout created for the order's email (its first password is chosen
through a link sent to that address), the tokens the platform holds for them, and withdrawing one to their own
wallet.

Why a link by email: the order link alone proves only that someone placed an order with an address, not that
they own it. Whoever holds a paid order's page may ask for the link; only the address's mailbox receives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from backend.auth.acl import Actor, signed_in
from backend.auth.links import send_password_link
from backend.auth.models import User
from backend.auth.service import confirm_password
from backend.campaigns.models import Campaign
from backend.chain.custody import queue_withdrawal, withdrawal_for
from backend.chain.deployments import deployed_contract
from backend.chain.keys import custodial_address
from backend.chain.models import ChainTransaction, MintedToken, TxState
from backend.db import session_scope
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.kyc.gates import KycPurpose, require_kyc
from backend.orders.locks import lock_order
from backend.orders.models import Order
from backend.orders.refunds import refund_in_flight, refunded_total
from backend.urls import ACCOUNT
from backend.validation import check_address
from backend.workflow.machines import OrderState

ALREADY_CLAIMED = "This account already has a password: sign in instead."
# Orders whose buyer has paid: only these let the link set a password (see the module docstring).
CLAIMABLE_STATES = frozenset({OrderState.PAID, OrderState.MINTING, OrderState.MINTED, OrderState.FULFILLED})

# Orders whose tokens may leave custody: paid, minted, and the money kept. A disputed or refunded payment (or one
# with a refund made or on its way) keeps its tokens with us: else the buyer could end up with the money and the NFT.
WITHDRAWABLE_STATES = frozenset({OrderState.MINTED, OrderState.FULFILLED})
DISPUTED_HOLD = "The payment for this collectible is disputed: it stays with us until the dispute is settled."
REFUNDED_HOLD = "The payment for this collectible was refunded (or a refund is on its way): it cannot be withdrawn."
NOT_YET_HOLD = "This collectible cannot be withdrawn until its order is paid and minted."

# Withdrawal status shown to the consumer, from the transfer transaction's state.
WITHDRAWAL_STATUS = {
    TxState.QUEUED: "queued", TxState.SENT: "sent", TxState.MINED: "sent", TxState.CONFIRMED: "confirmed",
    TxState.REVERTED: "failed", TxState.FAILED: "failed",
}


def _order_by_public_id(session: Session, public_id: str) -> Order:
    public_id = (public_id or "").strip().lower()
    if not (8 <= len(public_id) <= 32) or not all(c in "0123456789abcdef" for c in public_id):
        raise NotFound("This order does not exist.")
    order = session.execute(select(Order).where(Order.public_id == public_id)).scalars().first()
    if order is None:
        raise NotFound("This order does not exist.")
    return order


def _claimable_user(session: Session, order: Order) -> User | None:
    if order.user_id is None or order.state not in CLAIMABLE_STATES:
        return None
    return session.get(User, order.user_id)


def can_claim_account(public_id: str) -> bool:
    """Should the order page offer "Create your account"? (a paid order whose account has no password)"""
    with session_scope() as session:
        try:
            order = _order_by_public_id(session, public_id)
        except NotFound:
            return False
        user = _claimable_user(session, order)
        return user is not None and user.is_active and user.password_hash is None


def send_account_link(public_id: str) -> str:
    """Email the "choose your password" link to the address of a paid order whose account has none yet; returns
    that address masked for the page ("c•••@example.com"). Asking again within a minute sends nothing more.

    Raises NotFound (no such order, or nothing to create yet) or Conflict (the account already has a password).
    """
    with session_scope() as session:
        order = _order_by_public_id(session, public_id)
        user = _claimable_user(session, order)
        if user is None or not user.is_active:
            raise NotFound("There is no account to create for this order yet.")
        if user.password_hash is not None:
            raise Conflict(ALREADY_CLAIMED)
        send_password_link(session, user, first=True)
        return mask_email(user.email)


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}•••@{domain}" if domain else "your email address"


# -- custodial tokens ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CustodialToken:
    campaign_id: int
    campaign_name: str
    campaign_slug: str
    token_id: int
    order_public_id: str
    custodial_address: str
    withdrawal_status: str  # "held" | "queued" | "sent" | "confirmed" | "failed"
    withdrawn_to: str = ""
    withdrawal_tx_hash: str = ""
    withdrawal_blocked: str = ""  # why the token must stay with us ("" when it may be withdrawn)


def _custodial_orders(session: Session, user_id: int, campaign_id: int | None = None) -> list[tuple[Order, Campaign]]:
    query = (select(Order, Campaign).join(Campaign, Campaign.id == Order.campaign_id)
             .where(Order.user_id == user_id, Order.custodial.is_(True))  # type: ignore[attr-defined]
             .order_by(Order.created_at.desc(), Order.id.desc()))  # type: ignore[attr-defined,union-attr]
    if campaign_id is not None:
        query = query.where(Order.campaign_id == campaign_id)
    return [(o, c) for o, c in session.execute(query).all()]


def withdrawal_hold(session: Session, order: Order) -> str:
    """Why the order's tokens must stay in custody, or "" when they may leave (see WITHDRAWABLE_STATES)."""
    if order.state is OrderState.DISPUTED:
        return DISPUTED_HOLD
    if order.state in (OrderState.REFUND_PENDING, OrderState.REFUNDED):
        return REFUNDED_HOLD
    if order.state not in WITHDRAWABLE_STATES:
        return NOT_YET_HOLD
    if (order.refunded_minor > 0 or refunded_total(session, order.payment_intent_id) > 0
            or refund_in_flight(session, order) is not None):  # a partial refund, or one asked for
        return REFUNDED_HOLD
    return ""


def _withdrawal(session: Session, campaign: Campaign, token_id: int) -> ChainTransaction | None:
    contract = deployed_contract(session, campaign.id, campaign.chain)  # type: ignore[arg-type]
    return withdrawal_for(session, campaign.chain, contract, token_id) if contract else None


def list_custodial_tokens(actor: Actor | None) -> list[CustodialToken]:
    """The tokens minted to the signed-in consumer's custodial wallet, each with its withdrawal status."""
    actor = signed_in(actor)
    custodial = custodial_address(actor.user_id)
    tokens: list[CustodialToken] = []
    with session_scope() as session:
        for order, campaign in _custodial_orders(session, actor.user_id):
            hold = withdrawal_hold(session, order)
            for raw_id in order.token_ids or []:
                token_id = int(raw_id)
                minted = session.get(MintedToken, (campaign.id, token_id))
                tx = _withdrawal(session, campaign, token_id)
                if tx is not None and tx.meta.get("from") == custodial:
                    status = WITHDRAWAL_STATUS[tx.state]
                    to, tx_hash = str(tx.meta.get("to", "")), tx.mined_hash or tx.tx_hash or ""
                elif minted is not None and minted.owner != custodial:
                    status, to, tx_hash = "confirmed", minted.owner, ""  # moved by other means
                else:
                    status, to, tx_hash = "held", "", ""
                tokens.append(CustodialToken(
                    campaign_id=campaign.id,  # type: ignore[arg-type]
                    campaign_name=campaign.name, campaign_slug=campaign.slug, token_id=token_id,
                    order_public_id=order.public_id, custodial_address=custodial,
                    withdrawal_status=status, withdrawn_to=to, withdrawal_tx_hash=tx_hash,
                    withdrawal_blocked=hold if status in ("held", "failed") else "",
                ))
    return tokens


def withdraw_token(actor: Actor | None, campaign_id: int, token_id: int, to_address: str, *, password: str,
                   ip: str) -> CustodialToken:
    """Ask for the token to move from the consumer's custodial wallet to `to_address` (once; asking twice is the
    same withdrawal). The only way a token leaves custody, so every check is here:

    - the owner's current password, again (`confirm_password`: a session alone may be a stolen cookie or a
      computer left signed in; sign-in's throttle counts wrong ones, from `ip`);
    - only tokens of the actor's own custodial orders (others' look like missing ones: NotFound);
    - the order's payment was kept (WITHDRAWABLE_STATES, no refund made or on its way; else Conflict with why),
      read under the order's row lock in the withdrawal's own transaction, so a dispute or refund committed
      meanwhile either waits for the withdrawal or is seen by it;
    - an order that cost more than KYC_WITHDRAWAL_THRESHOLD_MINOR in all needs an approved identity check
      (KycRequired): the order's whole amount, as one order of many tokens each under it is still that much."""
    actor = signed_in(actor)
    try:
        address = check_address(to_address)
    except ValueError as exc:
        raise ValidationFailed("Check the wallet address.", fields={"to_address": str(exc)}) from exc
    confirm_password(actor, password, ip=ip)
    with session_scope() as session:
        owner_id = next((o.id for o, _ in _custodial_orders(session, actor.user_id, campaign_id)
                         if any(int(t) == token_id for t in o.token_ids or [])), None)
        order = lock_order(session, order_id=owner_id) if owner_id is not None else None
        if order is None:
            raise NotFound("Token not found in your custodial wallet.")
        hold = withdrawal_hold(session, order)
        if hold:
            raise Conflict(hold)
        require_kyc(actor.user_id, KycPurpose.WITHDRAWAL, amount_minor=order.amount_minor, next_path=ACCOUNT,
                    session=session)
        queue_withdrawal(session, actor.user_id, campaign_id, token_id, address)
    return next(t for t in list_custodial_tokens(actor) if t.campaign_id == campaign_id and t.token_id == token_id)
