"""Consumer checkout services: the campaign page's sale phase (no sale before the collection contract is deployed),
quote, start_checkout (reserve supply, then open the payment session), open_payment (the pay link: the full TTL
starts), the public order page and a consumer's own orders, paged.

start_checkout counts the attempt against the checkout rate limits, then checks and reserves in ONE transaction
(buyer and campaign locked, per-wallet cap and unpaid-reservation caps counted, supply taken atomically), commits,
and only then calls the payment provider: no network call inside a transaction. The reservation is held only
ORDER_UNPAID_HOLD_SECONDS until the buyer follows the order's pay link (open_payment), and ORDER_TTL_SECONDS from
then: a script that creates orders and never pays holds nothing for long.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlmodel import Session

from backend.auth.acl import Actor, signed_in
from backend.auth.client_ip import client_network
from backend.auth.service import normalize_email, user_for_email
from backend.campaigns.models import Campaign, CampaignStatus, SalePhase
from backend.campaigns.service import PublicCampaign, get_public_campaign
from backend.db import session_scope, utcnow
from backend.errors import NotFound, ValidationFailed
from backend.fx.service import PriceUnavailable, get_rate
from backend.kyc.gates import require_kyc_for_purchase
from backend.money import CURRENCY_EXPONENTS, format_amount, to_decimal
from backend.orders import limits, minting
from backend.orders.accounts import mask_email
from backend.orders.errors import NotOnSale, PaymentUnavailable, SoldOut, WalletCapReached
from backend.orders.fulfilment import MINT_FAILED_REASON
from backend.orders.locks import lock_buyer, lock_campaign, lock_order, release_supply, reserve_supply
from backend.orders.models import PAYABLE, Order
from backend.pagination import Page, check_page
from backend.payments.factory import get_provider
from backend.payments.provider import CheckoutSession, LineItem, PaymentProviderError, SessionRequest
from backend.settings import get_settings
from backend.urls import campaign_page, order_url, pay_url
from backend.validation import check_address
from backend.workflow.machines import OrderState
from backend.workflow.transitions import transition

log = logging.getLogger(__name__)

CRYPTO_PLACES = Decimal("1e-8")
SYSTEM = "system"
# A sale phase of checkout's own (not a SalePhase: the campaign row alone cannot tell): the sale is open, but the
# collection contract is not deployed on the campaign's chain yet, so a paid order could never be minted.
NOT_DEPLOYED = "not_deployed"
NOT_DEPLOYED_MESSAGE = "This collection is not on sale yet."


# -- what a buyer can buy -----------------------------------------------------------------------------------------

def _deployed_contract(session: Session, campaign: Campaign) -> str | None:
    return minting.deployed_contract(session, campaign.id, campaign.chain)  # type: ignore[arg-type]


def sale_phase(session: Session, campaign: Campaign, now: datetime | None = None) -> str:
    """The phase a buyer sees: the campaign's own (a SalePhase value), except that an open sale whose contract is
    not deployed yet is NOT_DEPLOYED. Checkout takes orders only in SalePhase.ON_SALE."""
    phase = campaign.sale_phase(now)
    if phase is SalePhase.ON_SALE and _deployed_contract(session, campaign) is None:
        return NOT_DEPLOYED
    return phase.value


@dataclass(frozen=True)
class CampaignForSale:
    """The public campaign page: the campaign in its brand's colours and the phase checkout acts on."""

    public: PublicCampaign
    phase: str  # a SalePhase value or NOT_DEPLOYED


def get_campaign_for_sale(slug: str) -> CampaignForSale:
    """The public campaign page's data; drafts and unknown slugs are NotFound."""
    public = get_public_campaign(slug)
    with session_scope() as session:
        return CampaignForSale(public, sale_phase(session, public.campaign))


# -- quote ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CryptoQuote:
    asset: str
    amount: Decimal  # what the fiat price is worth in `asset`, 8 places
    rate: Decimal  # price of one `asset` in the campaign currency
    fetched_at: datetime
    source: str  # "binance" or "static"


@dataclass(frozen=True)
class Quote:
    campaign_id: int
    campaign_slug: str
    campaign_name: str
    quantity: int
    unit_price_minor: int
    amount_minor: int
    currency: str
    amount_display: str
    sale_phase: str
    supply_left: int
    per_wallet_cap: int
    crypto: CryptoQuote | None
    # Why there is no crypto equivalent (shown in place of it); the fiat quote is valid regardless.
    crypto_unavailable: str = ""


def _public_campaign(session: Session, slug: str) -> Campaign:
    campaign = session.execute(select(Campaign).where(Campaign.slug == slug.strip().lower())).scalars().first()
    if campaign is None or campaign.status is CampaignStatus.DRAFT:
        raise NotFound("This campaign does not exist.")
    return campaign


def _check_quantity(quantity: int, campaign: Campaign) -> int:
    """1..ORDER_MAX_QUANTITY is the rule of every order (ValidationFailed); a campaign's per-wallet cap below that
    is the campaign's (WalletCapReached, a conflict with its settings, as when the wallet's earlier orders count)."""
    limit = get_settings().order_max_quantity
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= limit:
        raise ValidationFailed("Choose a different quantity.", fields={"quantity": f"must be between 1 and {limit}"})
    if campaign.per_wallet_cap and quantity > campaign.per_wallet_cap:
        raise WalletCapReached(f"Each wallet may hold at most {campaign.per_wallet_cap} from this campaign.",
                               fields={"quantity": f"must be between 1 and {campaign.per_wallet_cap}"})
    return quantity


def crypto_equivalent(amount_minor: int, currency: str) -> tuple[CryptoQuote | None, str]:
    """The amount in the configured crypto asset, or (None, why not). Never raises for a missing price."""
    asset = get_settings().order_quote_asset.upper()
    try:
        rate = get_rate(asset, currency)
    except PriceUnavailable as exc:
        return None, exc.message
    if rate.value <= 0:
        return None, f"The {asset}/{currency} price is not usable right now."
    amount = (to_decimal(amount_minor, currency) / rate.value).quantize(CRYPTO_PLACES, rounding=ROUND_HALF_UP)
    return CryptoQuote(asset, amount, rate.value, rate.fetched_at, rate.source), ""


def quote(campaign_slug: str, quantity: int) -> Quote:
    """Price of `quantity` tokens in the campaign currency (minor units) plus its crypto equivalent."""
    with session_scope() as session:
        campaign = _public_campaign(session, campaign_slug)
        phase = sale_phase(session, campaign)
    quantity = _check_quantity(quantity, campaign)
    amount = campaign.price_minor * quantity
    crypto, why = crypto_equivalent(amount, campaign.currency)
    return Quote(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        campaign_slug=campaign.slug,
        campaign_name=campaign.name,
        quantity=quantity,
        unit_price_minor=campaign.price_minor,
        amount_minor=amount,
        currency=campaign.currency,
        amount_display=format_amount(amount, campaign.currency),
        sale_phase=phase,
        supply_left=campaign.supply_left,
        per_wallet_cap=campaign.per_wallet_cap,
        crypto=crypto,
        crypto_unavailable=why,
    )


# -- checkout ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckoutStarted:
    public_id: str
    payment_url: str
    order_url: str
    amount_minor: int
    currency: str
    expires_at: datetime


def _consumer_user_id(email: str) -> int:
    """The account an order belongs to: the existing user with this email, or a new consumer (no password:
    they set one later, from the order page, to see their orders and custodial tokens)."""
    with session_scope() as session:
        return int(user_for_email(session, email).id)  # type: ignore[arg-type]


def _not_on_sale_error(phase: str) -> Exception:
    if phase == SalePhase.SOLD_OUT:
        return SoldOut("Sold out: every token of this campaign is taken.")
    messages = {
        SalePhase.NOT_STARTED: "The sale has not started yet.",
        SalePhase.PAUSED: "The sale is paused. Try again later.",
        SalePhase.ENDED: "The sale has ended.",
        SalePhase.NOT_PUBLISHED: "This campaign is not on sale.",
        NOT_DEPLOYED: NOT_DEPLOYED_MESSAGE,
    }
    return NotOnSale(messages.get(phase, "This campaign is not on sale."))


def start_checkout(campaign_slug: str, quantity: int, email: str, wallet_address: str | None,
                   ip: str, *, actor: Actor | None = None) -> CheckoutStarted:
    """Create an order holding `quantity` tokens and open its payment session; returns where to pay.

    `wallet_address=None` means "keep it for me": the tokens go to a custodial wallet of the account tied to
    `email` (created if absent). `ip` is the client's address (limits count its network: client_network).
    `actor` is whoever is signed in (None for a guest): a campaign that asks for KYC takes the order only from the
    signed-in, verified owner of `email`. Raises SoldOut, WalletCapReached, NotOnSale, KycRequired,
    ValidationFailed, CheckoutRateLimited (429: too many attempts from this network or email; `retry_after_s`),
    ReservationLimitReached (409: too many unpaid orders for the email or the network, or more than the network's
    share of the campaign's supply), or PaymentUnavailable (then nothing was charged and the reservation is already
    released). `payment_url` is the pay link (pay_url).

    The steps: check the request (refusing early, before any account is made), reserve (one transaction: the order
    row holding the supply), open the payment session (the provider call, after the commit), record it.
    """
    request = _check_request(campaign_slug, quantity, email, wallet_address, ip)
    now = utcnow()
    reserved = _reserve(request, actor, now)
    provider_name, payment = _open_payment_session(reserved, now)
    _record_payment_session(reserved.order.id, provider_name, payment)  # type: ignore[arg-type]
    order = reserved.order
    return CheckoutStarted(order.public_id, pay_url(order.public_id), order_url(order.public_id), order.amount_minor,
                           order.currency, order.expires_at)


@dataclass(frozen=True)
class _CheckoutRequest:
    """A checkout request that passed the early checks, with the buyer's account."""

    campaign_id: int
    quantity: int
    email: str
    wallet: str
    custodial: bool
    user_id: int
    ip: str
    network: str
    amount: int
    crypto: CryptoQuote | None


def _check_request(campaign_slug: str, quantity: int, email: str, wallet_address: str | None,
                   ip: str) -> _CheckoutRequest:
    """Validate the request and refuse early what will be refused (no account is created for it); then the account
    of the email. The checks under the locks in _reserve are the ones that count."""
    email = normalize_email(email)
    custodial = wallet_address is None or wallet_address.strip() == ""
    if custodial:
        wallet = ""
    else:
        try:
            wallet = check_address(wallet_address or "")
        except ValueError as exc:
            raise ValidationFailed("Check the wallet address.", fields={"wallet_address": str(exc)}) from exc
    with session_scope() as session:
        campaign = _public_campaign(session, campaign_slug)
        phase = sale_phase(session, campaign)
    if phase != SalePhase.ON_SALE:
        raise _not_on_sale_error(phase)
    quantity = _check_quantity(quantity, campaign)
    network = client_network(ip)
    # Count the attempt, then refuse early what the caps refuse. (Too few left is SoldOut's to say, in _reserve.)
    limits.limit_checkout_rate(network, email, campaign.id)  # type: ignore[arg-type]
    if quantity <= campaign.supply_left:
        with session_scope() as session:
            limits.check_unpaid_caps(session, campaign, email, network, quantity)
    amount = campaign.price_minor * quantity
    crypto, _ = crypto_equivalent(amount, campaign.currency)
    # Every order belongs to the account of its email (created without a password if new), so the buyer can
    # later find it under "My orders" whichever way the NFT went.
    user_id = _consumer_user_id(email)
    if custodial:
        wallet = minting.custodial_address(user_id)
    return _CheckoutRequest(campaign.id, quantity, email, wallet, custodial, user_id, ip,  # type: ignore[arg-type]
                            network, amount, crypto)


@dataclass(frozen=True)
class _Reserved:
    """The order row holding its supply (committed), and what the payment page shows of the campaign."""

    order: Order
    campaign_name: str
    campaign_description: str
    image_url: str


def _reserve(request: _CheckoutRequest, actor: Actor | None, now: datetime) -> _Reserved:
    """One transaction: check under the locks (buyer and campaign: the wallet count, the unpaid caps and the
    reservation see one consistent state), then take the supply and write the order."""
    settings = get_settings()
    with session_scope() as session:
        lock_buyer(session, request.email, request.network)
        campaign = lock_campaign(session, request.campaign_id)
        if campaign is None:
            raise NotFound("This campaign does not exist.")
        phase = sale_phase(session, campaign, now)
        if phase != SalePhase.ON_SALE:
            raise _not_on_sale_error(phase)
        _check_wallet_cap(session, campaign, request.wallet, request.quantity)
        # Identity checks the campaign asks for: no order (so no payment) before an approval.
        require_kyc_for_purchase(session, campaign, request.user_id, request.amount,
                                 actor.user_id if actor else None, next_path=campaign_page(campaign.slug))
        # Do: take the supply atomically (too few left: SoldOut), then check the buyer's unpaid caps (counted
        # before this order exists; a refusal rolls the reservation back), then write the order.
        if not reserve_supply(session, campaign.id, request.quantity):  # type: ignore[arg-type]
            session.refresh(campaign)
            left = campaign.supply_left
            raise SoldOut("Sold out: every token of this campaign is taken." if left == 0
                          else f"Only {left} left: choose a smaller quantity.", fields={"quantity": f"at most {left}"})
        limits.check_unpaid_caps(session, campaign, request.email, request.network, request.quantity)
        crypto = request.crypto
        order = Order(
            public_id=secrets.token_hex(16),
            brand_id=campaign.brand_id,
            campaign_id=campaign.id,  # type: ignore[arg-type]
            user_id=request.user_id,
            email=request.email,
            wallet_address=request.wallet,
            custodial=request.custodial,
            quantity=request.quantity,
            unit_price_minor=campaign.price_minor,
            amount_minor=request.amount,
            currency=campaign.currency,
            crypto_asset=crypto.asset if crypto else "",
            crypto_amount=crypto.amount if crypto else None,
            fx_rate=crypto.rate if crypto else None,
            fx_source=crypto.source if crypto else "",
            fx_fetched_at=crypto.fetched_at if crypto else None,
            holds_supply=True,
            ip=request.ip[:64],
            client_network=request.network,
            # The short hold: the full TTL starts only when the buyer opens the payment page (open_payment).
            expires_at=now + timedelta(seconds=min(settings.order_unpaid_hold_s, settings.order_ttl_s)),
            created_at=now,
            updated_at=now,
        )
        session.add(order)
        session.flush()
        return _Reserved(order, campaign.name, campaign.description, campaign.image_url)


def _check_wallet_cap(session: Session, campaign: Campaign, wallet: str, quantity: int) -> None:
    """Refuse more than the campaign's per-wallet cap, counting what the wallet bought or holds reserved."""
    if not campaign.per_wallet_cap:
        return
    held = session.execute(
        select(func.coalesce(func.sum(Order.quantity), 0)).where(
            Order.campaign_id == campaign.id, Order.wallet_address == wallet,
            Order.holds_supply.is_(True),  # type: ignore[attr-defined]
        )
    ).scalar_one()
    if held + quantity > campaign.per_wallet_cap:
        left = max(0, campaign.per_wallet_cap - held)
        raise WalletCapReached(
            f"Each wallet may hold at most {campaign.per_wallet_cap} from this campaign; this wallet "
            f"already has {held} bought or reserved, so you can add {left}.",
            fields={"quantity": f"at most {left}"},
        )


def _open_payment_session(reserved: _Reserved, now: datetime) -> tuple[str, CheckoutSession]:
    """The network step, after the commit (the reservation is durable whatever the provider does): the provider's
    payment session; (provider name, session). When the provider refuses, the reservation is released and the
    buyer told nothing was charged (PaymentUnavailable)."""
    settings = get_settings()
    order = reserved.order
    provider = get_provider()
    page = order_url(order.public_id)
    request = SessionRequest(
        order_id=order.id,  # type: ignore[arg-type]
        order_public_id=order.public_id,
        line_items=[LineItem(reserved.campaign_name, order.unit_price_minor, order.currency, order.quantity,
                             reserved.campaign_description[:300], reserved.image_url)],
        success_url=f"{page}?paid=1",
        cancel_url=f"{page}?cancelled=1",
        customer_email=order.email,
        # Open for as long as the order can live (the hold, then the full TTL from the last moment the page can
        # be opened; Stripe keeps a session open for at least 30 minutes): the order_expirer closes it earlier.
        expires_at=now + timedelta(seconds=max(settings.order_unpaid_hold_s + settings.order_ttl_s, 1800) + 60),
        idempotency_key=f"checkout-session-{order.public_id}",
    )
    try:
        return provider.name, provider.create_session(request)
    except PaymentProviderError as exc:
        log.warning("payment session for order %s failed: %s", order.id, exc)
        with session_scope() as session:
            locked = lock_order(session, order_id=order.id)
            if locked is not None and locked.state is OrderState.CREATED:
                release_supply(session, locked)
                locked.failure_reason = "The payment could not be started."
                transition(session, locked, "expire", actor=SYSTEM, reason=f"payment session failed: {exc.message}")
        raise PaymentUnavailable(
            f"We could not start the payment, and nothing was charged. {exc.message}") from exc


def _record_payment_session(order_id: int, provider_name: str, payment: CheckoutSession) -> None:
    """Keep the session on the order (its pay link redirects there) and move it to awaiting_payment."""
    with session_scope() as session:
        locked = lock_order(session, order_id=order_id)
        assert locked is not None
        locked.payment_provider = provider_name
        locked.payment_session_id = payment.id
        locked.payment_url = payment.url
        session.add(locked)
        session.flush()
        if locked.state is OrderState.CREATED:
            transition(session, locked, "request_payment", actor=SYSTEM, reason=f"{provider_name} session {payment.id}")


def open_payment(public_id: str) -> str:
    """The buyer follows the order's pay link: where to send them. While the order can be paid (within its hold or
    TTL), the provider's payment page; the first time, the order's full TTL starts now (ORDER_TTL_SECONDS, in place
    of the short unpaid hold; never shortened, and never extended again). Otherwise the order page, which says why
    (paid, expired, or the hold lapsed before the payment page was opened). Unknown ids are NotFound."""
    public_id = _check_public_id(public_id)
    now = utcnow()
    with session_scope() as session:
        order = lock_order(session, public_id=public_id)
        if order is None:
            raise NotFound("This order does not exist.")
        if not _can_pay(order, now):
            return order_url(order.public_id)
        if order.payment_opened_at is None:
            order.payment_opened_at = now
            order.expires_at = max(order.expires_at, now + timedelta(seconds=get_settings().order_ttl_s))
            order.updated_at = now
            session.add(order)
        return order.payment_url


def _can_pay(order: Order, now: datetime) -> bool:
    return order.state in PAYABLE and bool(order.payment_url) and order.expires_at > now


# -- the order page -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    key: str
    label: str
    status: str  # "done" | "current" | "upcoming" | "failed"


@dataclass(frozen=True)
class OrderView:
    """Everything the consumer's order page shows; no internal ids, IPs or provider secrets."""

    public_id: str
    status: str
    status_label: str
    status_message: str
    steps: list[Step]
    campaign_slug: str
    campaign_name: str
    quantity: int
    unit_price_minor: int
    amount_minor: int
    currency: str
    amount_display: str
    crypto_asset: str
    crypto_amount: Decimal | None
    fx_rate: Decimal | None
    fx_source: str
    fx_fetched_at: datetime | None
    wallet_address: str
    custodial: bool
    email: str  # masked (a•••@example.com) on the public order page and API; in full in the owner's own list
    payment_url: str  # the pay link (pay_url), only while the buyer can still pay
    tx_hash: str
    explorer_url: str
    token_ids: list[str] = field(default_factory=list)
    # The chain's explorer, when it has one: the wallet the tokens went to, and the collection they belong to
    # (the explorer's page of the collection contract: ChainConfig has no per-token link yet).
    wallet_url: str = ""
    collection_url: str = ""
    refund_reason: str = ""
    failure_reason: str = ""
    refunded_minor: int = 0
    created_at: datetime | None = None
    paid_at: datetime | None = None
    minted_at: datetime | None = None
    expires_at: datetime | None = None


STATUS_TEXT: dict[OrderState, tuple[str, str]] = {
    OrderState.CREATED: ("Preparing payment", "We are setting up your payment."),
    OrderState.AWAITING_PAYMENT: ("Waiting for payment", "Complete the payment to get your NFT."),
    OrderState.PAYMENT_FAILED: ("Payment failed", "Your payment did not go through. You can try another card."),
    OrderState.PAID: ("Paid", "Payment received. Your NFT is queued for minting."),
    OrderState.MINTING: ("Minting", "Payment received. Your NFT is being minted."),
    OrderState.MINTED: ("Minted", "Your NFT is minted."),
    OrderState.FULFILLED: ("Delivered", "Your NFT is in your wallet."),
    OrderState.EXPIRED: ("Expired", "This order expired before it was paid. Nothing was charged."),
    OrderState.REFUND_PENDING: ("Refund in progress", "Your payment is being refunded in full."),
    OrderState.REFUNDED: ("Refunded", "Your payment was refunded."),
    OrderState.DISPUTED: ("Disputed", "The payment is disputed with your bank."),
}

_STEP_ORDER = ("placed", "paid", "minting", "delivered")
_STEP_LABELS = {"placed": "Order placed", "paid": "Payment", "minting": "Minting", "delivered": "In your wallet"}


def _steps(order: Order) -> list[Step]:
    state = order.state
    progress = {
        OrderState.CREATED: 1, OrderState.AWAITING_PAYMENT: 1, OrderState.PAYMENT_FAILED: 1,
        OrderState.PAID: 2, OrderState.MINTING: 2, OrderState.MINTED: 3, OrderState.FULFILLED: 4,
    }
    if state in progress:
        reached = progress[state]
        steps = []
        for index, key in enumerate(_STEP_ORDER):
            if index < reached:
                status = "done"
            elif index == reached:
                status = "failed" if state is OrderState.PAYMENT_FAILED else "current"
            else:
                status = "upcoming"
            steps.append(Step(key, _STEP_LABELS[key], status))
        return steps
    # Off the happy path: show what was reached, then the outcome.
    steps = [Step("placed", _STEP_LABELS["placed"], "done")]
    if order.paid_at is not None:
        steps.append(Step("paid", _STEP_LABELS["paid"], "done"))
    if order.minted_at is not None:
        steps.append(Step("minting", _STEP_LABELS["minting"], "done"))
    label = STATUS_TEXT[state][0]
    outcome_status = "current" if state in (OrderState.REFUND_PENDING, OrderState.DISPUTED) else "done"
    if state is OrderState.EXPIRED and order.paid_at is None:
        outcome_status = "failed"
    steps.append(Step(state.value, label, outcome_status))
    return steps


# Orders refunded before fulfilment wrote the plain reason (fulfilment.MINT_FAILED_REASON) carry the chain's error
# in Order.refund_reason ("We could not mint your NFT (<error>), so ..."); the buyer reads them without it (the
# admin timeline keeps the cause).
MINT_FAILED_PREFIX = "We could not mint your NFT"


def refund_reason_for_buyer(reason: str) -> str:
    """The refund reason in plain language: a failed mint's technical cause is not the buyer's business."""
    return MINT_FAILED_REASON if reason.startswith(MINT_FAILED_PREFIX) else reason


def order_view(order: Order, campaign: Campaign, session: Session | None = None) -> OrderView:
    """What the buyer sees. With a session, a mint still in flight shows its transaction before it confirms, and
    minted tokens link to the collection on the chain's explorer."""
    label, message = STATUS_TEXT[order.state]
    tx_hash = order.mint_tx_hash
    if not tx_hash and session is not None and order.state is OrderState.MINTING and order.id is not None:
        tx_hash = minting.mint_tx_hash(session, order.id) or ""
    collection_url = ""
    if order.token_ids and session is not None:
        collection_url = minting.address_link(campaign.chain, _deployed_contract(session, campaign))
    return OrderView(
        public_id=order.public_id,
        status=order.state.value,
        status_label=label,
        status_message=message,
        steps=_steps(order),
        campaign_slug=campaign.slug,
        campaign_name=campaign.name,
        quantity=order.quantity,
        unit_price_minor=order.unit_price_minor,
        amount_minor=order.amount_minor,
        currency=order.currency,
        amount_display=format_amount(order.amount_minor, order.currency) if order.currency in CURRENCY_EXPONENTS
        else f"{order.amount_minor} {order.currency}",
        crypto_asset=order.crypto_asset,
        crypto_amount=order.crypto_amount,
        fx_rate=order.fx_rate,
        fx_source=order.fx_source,
        fx_fetched_at=order.fx_fetched_at,
        wallet_address=order.wallet_address,
        custodial=order.custodial,
        email=order.email,
        payment_url=pay_url(order.public_id) if _can_pay(order, utcnow()) else "",
        tx_hash=tx_hash,
        explorer_url=minting.tx_link(campaign.chain, tx_hash),
        token_ids=[str(t) for t in order.token_ids or []],
        wallet_url=minting.address_link(campaign.chain, order.wallet_address),
        collection_url=collection_url,
        refund_reason=refund_reason_for_buyer(order.refund_reason),
        failure_reason=order.failure_reason,
        refunded_minor=order.refunded_minor,
        created_at=order.created_at,
        paid_at=order.paid_at,
        minted_at=order.minted_at,
        expires_at=order.expires_at,
    )


def _check_public_id(public_id: str) -> str:
    public_id = (public_id or "").strip().lower()
    if not (8 <= len(public_id) <= 32) or not all(c in "0123456789abcdef" for c in public_id):
        raise NotFound("This order does not exist.")
    return public_id


def get_order_public(public_id: str) -> OrderView:
    """The order page by its unguessable link, with the email masked (the link may be forwarded or leak: it must
    not give away the buyer's address). Unknown ids and malformed ones are the same NotFound."""
    public_id = _check_public_id(public_id)
    with session_scope() as session:
        row = session.execute(
            select(Order, Campaign).join(Campaign, Campaign.id == Order.campaign_id).where(Order.public_id == public_id)
        ).first()
        if row is None:
            raise NotFound("This order does not exist.")
        view = order_view(row[0], row[1], session)
    return replace(view, email=mask_email(view.email))


def list_orders_for_user(actor: Actor | None, *, limit: int = 20, offset: int = 0) -> Page[OrderView]:
    """One page of the signed-in consumer's orders, newest first (every order placed with their account's email),
    with the total so the page can say how many there are."""
    actor = signed_in(actor)
    limit, offset = check_page(limit, offset)
    mine = Order.user_id == actor.user_id
    with session_scope() as session:
        total = session.execute(select(func.count()).select_from(Order).where(mine)).scalar_one()
        rows = session.execute(
            select(Order, Campaign).join(Campaign, Campaign.id == Order.campaign_id)
            .where(mine).order_by(Order.created_at.desc(), Order.id.desc())  # type: ignore[attr-defined,union-attr]
            .limit(limit).offset(offset)
        ).all()
        return Page([order_view(o, c, session) for o, c in rows], int(total), limit, offset)
