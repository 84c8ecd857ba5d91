"""The public campaign page /c/[campaign_slug]: the campaign (CheckoutCampaignState, which also sets the brand's
colours: checkout.theme) and the buy box (CheckoutBuyState: quantity, quote, where the NFT goes, pay)."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal

import reflex as rx

from backend.auth.service import actor_for_web_session
from backend.errors import DomainError, NotFound, ValidationFailed
from backend.kyc.errors import KycRequired
from backend.money import money_text
from backend.orders.errors import (
    CheckoutRateLimited,
    NotOnSale,
    PaymentUnavailable,
    ReservationLimitReached,
    SoldOut,
    WalletCapReached,
)
from backend.orders.service import (
    NOT_DEPLOYED_MESSAGE,
    CryptoQuote,
    Quote,
    get_campaign_for_sale,
    quote,
    start_checkout,
)
from backend.payments.factory import provider_name
from backend.settings import get_settings
from backend.validation import SLUG_RE, check_address
from primsell.format import utc_datetime
from primsell.state.checkout.theme import set_theme
from primsell.state.session import client_ip, session_cookie
from primsell.state.wallet import CONNECT_WALLET_SCRIPT, connected_address

# CheckoutBuyState.wallet_mode values.
OWN_WALLET, CUSTODIAL = "wallet", "custodial"
# The buy box's error kinds, each shown with its own icon and colour.
ERROR_KINDS = {SoldOut: "sold_out", WalletCapReached: "wallet_cap", NotOnSale: "not_on_sale",
               PaymentUnavailable: "payment_unavailable", CheckoutRateLimited: "rate_limited",
               ReservationLimitReached: "reservation_limit", KycRequired: "kyc"}
# The backend's field names -> the form's input names.
_FIELD_NAMES = {"wallet": "wallet_address"}
# A failure that is not the buyer's to fix (a bug, the database gone): nothing was charged, because payment only
# happens on the payment page, after start_checkout has returned.
UNEXPECTED_ERROR = "Something went wrong on our side; you were not charged. Please try again."

log = logging.getLogger(__name__)


def _slug_from_url(state: rx.State) -> str:
    return state.router.url.path.rstrip("/").rsplit("/", 1)[-1].lower()


class CheckoutCampaignState(rx.State):
    loaded: bool = False
    not_found: bool = False
    campaign_slug_shown: str = ""
    name: str = ""
    description: str = ""
    image_url: str = ""
    price: str = ""
    supply_left: int = 0
    supply_cap: int = 0
    per_wallet_cap: int = 0
    phase: str = ""
    starts_at: str = ""
    ends_at: str = ""
    kyc_note: str = ""  # the campaign asks buyers to verify their identity (KYC): when

    async def _show(self, slug: str) -> None:
        try:
            if not SLUG_RE.match(slug):
                raise NotFound("No such campaign.")
            sale = await asyncio.to_thread(get_campaign_for_sale, slug)
        except NotFound:
            self.not_found, self.loaded = True, True
            await set_theme(self, None)
            return
        public = sale.public
        await set_theme(self, public)
        c = public.campaign
        self.not_found = False
        self.campaign_slug_shown = c.slug
        self.name, self.description, self.image_url = c.name, c.description, c.image_url
        self.price = money_text(c.price_minor, c.currency)
        self.supply_left, self.supply_cap, self.per_wallet_cap = c.supply_left, c.supply_cap, c.per_wallet_cap
        self.phase = sale.phase
        self.starts_at, self.ends_at = utc_datetime(c.sale_starts_at), utc_datetime(c.sale_ends_at)
        self.kyc_note = {
            "every_buyer": "Buyers verify their identity (KYC) before they pay.",
            "above_amount": f"Buyers whose orders total more than {money_text(c.kyc_threshold_minor, c.currency)} "
                            "verify their identity (KYC) before they pay.",
        }.get(c.kyc_requirement, "")
        self.loaded = True

    @rx.event
    async def load_campaign(self):
        self.loaded = False
        await self._show(_slug_from_url(self))

    @rx.var
    def phase_message(self) -> str:
        return {
            "on_sale": "On sale now" + (f" — ends {self.ends_at}" if self.ends_at else ""),
            "not_started": "Not on sale yet — opens " + (self.starts_at or "soon"),
            "sold_out": "Sold out — every token has been claimed",
            "ended": "This sale has ended",
            "paused": "Sale paused — check back soon",
            "not_deployed": NOT_DEPLOYED_MESSAGE + " Check back soon.",
        }.get(self.phase, "")


# -- the buy box ----------------------------------------------------------------------------------------------------

def crypto_text(amount: Decimal, asset: str) -> str:
    """0.00833333 ETH; trailing zeros dropped, never in exponent form."""
    text = format(amount.normalize(), "f")
    return f"{text} {asset}"


def rate_text(crypto: CryptoQuote, currency: str) -> str:
    return f"1 {crypto.asset} = {crypto.rate:,.2f} {currency}"


def max_quantity(q: Quote) -> int:
    """What the quantity picker offers: per-wallet cap, supply left and the order limit, whichever is lowest."""
    limit = get_settings().order_max_quantity
    if q.per_wallet_cap:
        limit = min(limit, q.per_wallet_cap)
    return max(1, min(limit, q.supply_left))


class CheckoutBuyState(rx.State):
    """The buy box. Email and wallet address are read from the submitted form, never kept in page state."""

    slug: str = ""
    quantity: int = 1
    max_quantity: int = 1
    amount_display: str = ""
    crypto_amount: str = ""
    crypto_rate: str = ""
    crypto_time: str = ""
    crypto_static: bool = False
    crypto_unavailable: str = ""
    quoting: bool = False
    quoted: bool = False
    wallet_mode: str = OWN_WALLET
    field_errors: dict[str, str] = {}
    form_error: str = ""
    error_kind: str = ""
    paying: bool = False
    kyc_verify_url: str = ""  # where a buyer the campaign's KYC rule stopped goes to verify (and comes back)
    sandbox: bool = False
    connecting_wallet: bool = False
    wallet_connected: bool = False  # the address input holds what the browser wallet answered
    _connected_address: str = ""
    # Where the browser goes to pay; set once the order exists.
    _payment_url: str = ""

    def _show_quote(self, q: Quote) -> None:
        self.quantity = q.quantity
        self.amount_display = q.amount_display
        self.max_quantity = max_quantity(q)
        if q.crypto is not None:
            self.crypto_amount = crypto_text(q.crypto.amount, q.crypto.asset)
            self.crypto_rate = rate_text(q.crypto, q.currency)
            self.crypto_time = utc_datetime(q.crypto.fetched_at)
            self.crypto_static = q.crypto.source == "static"
            self.crypto_unavailable = ""
        else:
            self.crypto_amount = self.crypto_rate = self.crypto_time = ""
            self.crypto_static = False
            self.crypto_unavailable = q.crypto_unavailable or "No exchange rate is available right now."
        self.quoted = True

    async def _quote(self, quantity: int) -> None:
        try:
            q = await asyncio.to_thread(quote, self.slug, quantity)
        except DomainError as exc:
            self.field_errors = {**self.field_errors, "quantity": exc.message}
            return
        self._show_quote(q)

    @rx.event
    async def load_quote(self):
        """on_load of the campaign page: the price of one token and its crypto equivalent."""
        self.slug = _slug_from_url(self)
        self.quantity, self.max_quantity, self.quoted = 1, 1, False
        self.field_errors, self.form_error, self.error_kind = {}, "", ""
        self.paying, self._payment_url, self.wallet_mode = False, "", OWN_WALLET
        self.connecting_wallet = self.wallet_connected = False
        self._connected_address = ""
        self.sandbox = provider_name() == "sandbox"
        if not SLUG_RE.match(self.slug):
            return
        try:
            q = await asyncio.to_thread(quote, self.slug, 1)
        except DomainError:
            return  # not public (the campaign state shows not-found) or not buyable: no buy box
        self._show_quote(q)

    @rx.event
    async def change_quantity(self, delta: int):
        wanted = max(1, min(self.max_quantity, self.quantity + int(delta)))
        if wanted == self.quantity:
            return
        self.quantity, self.quoting = wanted, True
        self.field_errors = {k: v for k, v in self.field_errors.items() if k != "quantity"}
        if self.error_kind in ("wallet_cap", "reservation_limit"):
            self.form_error, self.error_kind = "", ""
        yield
        await self._quote(wanted)
        self.quoting = False

    @rx.event
    def set_wallet_mode(self, mode: str):
        self.wallet_mode = CUSTODIAL if mode == CUSTODIAL else OWN_WALLET
        self.field_errors = {k: v for k, v in self.field_errors.items() if k != "wallet_address"}

    @rx.event
    def connect_wallet(self):
        """Ask the browser wallet for its account; `use_connected_wallet` hears the answer."""
        if self.connecting_wallet:
            return None
        self.connecting_wallet = True
        return rx.call_script(CONNECT_WALLET_SCRIPT, callback=CheckoutBuyState.use_connected_wallet)

    @rx.event
    def use_connected_wallet(self, result: dict):
        """Fill the address input with the wallet's (checksummed) account, or say why there is none."""
        self.connecting_wallet = False
        errors = {k: v for k, v in self.field_errors.items() if k != "wallet_address"}
        try:
            address = connected_address(result)
        except ValueError as exc:
            self.field_errors = {**errors, "wallet_address": str(exc)}
            return None
        self.field_errors, self.wallet_connected, self._connected_address = errors, True, address
        return rx.set_value("wallet_address", address)

    @rx.event
    def check_wallet_address(self, value: str):
        """on_blur of the address input: the checksum is checked before the buyer presses Pay."""
        errors = {k: v for k, v in self.field_errors.items() if k != "wallet_address"}
        self.wallet_connected = bool(self._connected_address) and value.strip() == self._connected_address
        if value.strip():
            try:
                check_address(value)
            except ValueError as exc:
                errors["wallet_address"] = f"This address {exc}."
        self.field_errors = errors

    @rx.event
    def clear_field_error(self, name: str):
        if name in self.field_errors:
            self.field_errors = {k: v for k, v in self.field_errors.items() if k != name}

    def _local_errors(self, email: str, wallet: str | None) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = "Enter your email: the receipt and your order link go there."
        if wallet is not None:
            if not wallet:
                errors["wallet_address"] = "Paste your wallet address, or choose “Keep it for me”."
            else:
                try:
                    check_address(wallet)
                except ValueError as exc:
                    errors["wallet_address"] = f"This address {exc}."
        return errors

    @rx.event
    async def submit_checkout(self, form: dict):
        """Create the order (supply reserved), then leave for the payment page with a full navigation."""
        if self.paying:
            return
        email = str(form.get("email", "")).strip()
        wallet = None if self.wallet_mode == CUSTODIAL else str(form.get("wallet_address", "")).strip()
        self.form_error, self.error_kind = "", ""
        errors = self._local_errors(email, wallet)
        self.field_errors = errors
        if errors:
            self.form_error = "Please fix the highlighted fields."
            return
        self.paying = True
        yield
        self.kyc_verify_url = ""
        try:
            # Whoever is signed in now: a campaign that asks for KYC sells only to its verified account holder.
            # (Read per event from the cookie: guests are welcome here, so no SessionState sign-in redirect.)
            actor = await asyncio.to_thread(actor_for_web_session, session_cookie(self.router.headers.cookie))
            started = await asyncio.to_thread(start_checkout, self.slug, self.quantity, email, wallet,
                                              client_ip(self), actor=actor)
        except ValidationFailed as exc:
            self.paying = False
            self.field_errors = {_FIELD_NAMES.get(k, k): v for k, v in exc.fields.items()}
            self.form_error = exc.message
            return
        except DomainError as exc:
            self.paying = False
            self.form_error = exc.message
            self.error_kind = next((kind for cls, kind in ERROR_KINDS.items() if isinstance(exc, cls)), "error")
            if isinstance(exc, WalletCapReached | ReservationLimitReached) and "quantity" in exc.fields:
                self.field_errors = {"quantity": exc.fields["quantity"]}
            if isinstance(exc, KycRequired):
                self.kyc_verify_url = exc.verify_path
            return
        except Exception:
            # Without this the spinner would turn forever and Pay stay disabled (`paying` is never reset).
            log.exception("checkout on campaign %r failed unexpectedly", self.slug)
            self.paying = False
            self.form_error, self.error_kind = UNEXPECTED_ERROR, "error"
            return
        self._payment_url = started.payment_url
        # Keep `paying`: the spinner stays until the browser has left for the payment page.
        yield rx.call_script(f"window.location.assign({json.dumps(started.payment_url)})")
