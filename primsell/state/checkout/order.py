"""The consumer's order page /orders/[public_id]: the order's progress, re-read while it is open and still moving
(payment -> minting -> minted, or refunded), without reloading the page: after 1 s, then ever less often while
nothing changes (up to every 10 s), quickly again after a change, and no more once the order is settled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace

import reflex as rx

from backend.errors import Conflict, DomainError, NotFound
from backend.money import money_text
from backend.notifications.service import dev_mailbox_url
from backend.orders.accounts import CLAIMABLE_STATES, can_claim_account, send_account_link
from backend.orders.service import OrderView, get_order_public
from primsell import routes
from primsell.format import utc_datetime
from primsell.state.checkout.campaign import crypto_text
from primsell.state.checkout.theme import CheckoutThemeState
from primsell.state.polling import CHANGED, SAME, STOP, PollingMixin, Schedule, poll

# The polling back-off: the first re-read after POLL_FIRST_S, each next one twice as late while the order shows no
# change, at most POLL_MAX_S apart; a change brings it back to POLL_FIRST_S (the next step usually follows soon).
POLL_FIRST_S = 1.0
POLL_MAX_S = 10.0
# A tab left open stops polling after an hour; a reload starts it again.
WATCH_FOR_S = 3600.0
ORDER_POLLING = Schedule(every_s=POLL_FIRST_S, max_s=POLL_MAX_S, for_s=WATCH_FOR_S)
next_poll_delay = ORDER_POLLING.next_delay
# Where an order stops moving by itself: nothing more to watch for.
SETTLED = frozenset({"minted", "fulfilled", "expired", "refunded"})


async def follow_order(shown: OrderView, read: Callable[[], Awaitable[OrderView | None]],
                       show: Callable[[OrderView], Awaitable[bool]], *,
                       sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                       watch_for_s: float = WATCH_FOR_S) -> None:
    """Re-read the order (`read`: None means stop) on the back-off schedule and `show` each reading (False: the page
    is gone, stop), until it is settled or `watch_for_s` has passed. `shown` is what the page shows already."""
    if shown.status in SETTLED:
        return

    async def step() -> str:
        nonlocal shown
        view = await read()
        if view is None or not await show(view):
            return STOP
        changed, shown = view != shown, view
        if view.status in SETTLED:
            return STOP
        return CHANGED if changed else SAME

    await poll(replace(ORDER_POLLING, for_s=watch_for_s), step, sleep=sleep)


def _public_id_from_url(state: rx.State) -> str:
    return state.router.url.path.rstrip("/").rsplit("/", 1)[-1]


class CheckoutOrderState(PollingMixin, rx.State):
    loaded: bool = False
    not_found: bool = False
    public_id: str = ""
    status: str = ""
    status_label: str = ""
    status_message: str = ""
    steps: list[dict[str, str]] = []
    campaign_slug: str = ""
    campaign_name: str = ""
    campaign_url: str = ""
    quantity: int = 0
    amount_display: str = ""
    crypto: str = ""
    crypto_note: str = ""
    wallet_address: str = ""
    custodial: bool = False
    email: str = ""  # masked
    payable: bool = False
    tx_hash: str = ""
    explorer_url: str = ""
    wallet_url: str = ""  # the wallet on the chain's explorer ("" without an explorer)
    # Each token: id, metadata (our JSON), explorer (the collection on the chain's explorer, "" without one).
    tokens: list[dict[str, str]] = []
    failure_reason: str = ""
    refund_reason: str = ""
    refunded: str = ""
    created_at: str = ""
    paid_at: str = ""
    minted_at: str = ""
    expires_at: str = ""
    # The buyer came back from the payment page: ?cancelled=1 or ?paid=1.
    cancelled: bool = False
    returned_paid: bool = False
    leaving: bool = False
    _payment_url: str = ""
    _shown: OrderView | None = None  # the last reading shown, which the back-off compares the next one with
    # "Create your account": a paid custodial order whose account has no password yet.
    can_claim: bool = False
    claim_error: str = ""
    claiming: bool = False
    claim_sent_to: str = ""  # masked address the link went to
    mailbox_url: str = ""  # development only: where that email can be read
    _claim_checked: bool = False

    @rx.var
    def settled(self) -> bool:
        return self.status in SETTLED

    def _show(self, view: OrderView) -> None:
        self.status, self.status_label, self.status_message = view.status, view.status_label, view.status_message
        self.steps = [{"key": s.key, "label": s.label, "status": s.status} for s in view.steps]
        self.campaign_slug, self.campaign_name = view.campaign_slug, view.campaign_name
        self.campaign_url = routes.campaign_page(view.campaign_slug)
        self.quantity, self.amount_display = view.quantity, view.amount_display
        if view.crypto_amount is not None and view.crypto_asset:
            self.crypto = crypto_text(view.crypto_amount, view.crypto_asset)
            rate = f"1 {view.crypto_asset} = {view.fx_rate:,.2f} {view.currency}" if view.fx_rate else ""
            source = "demo rate" if view.fx_source == "static" else "live rate"
            self.crypto_note = " · ".join(x for x in (rate, source, utc_datetime(view.fx_fetched_at)) if x)
        else:
            self.crypto, self.crypto_note = "", ""
        self.wallet_address, self.custodial = view.wallet_address, view.custodial
        self.email = view.email  # masked by get_order_public
        self._payment_url = view.payment_url
        self.payable = bool(view.payment_url)
        self.tx_hash, self.explorer_url = view.tx_hash, view.explorer_url
        self.wallet_url = view.wallet_url
        self.tokens = [{"id": t, "metadata": routes.token_metadata(view.campaign_slug, t),
                        "explorer": view.collection_url} for t in view.token_ids]
        self.failure_reason, self.refund_reason = view.failure_reason, view.refund_reason
        self.refunded = money_text(view.refunded_minor, view.currency) if view.refunded_minor else ""
        self.created_at, self.paid_at = utc_datetime(view.created_at), utc_datetime(view.paid_at)
        self.minted_at, self.expires_at = utc_datetime(view.minted_at), utc_datetime(view.expires_at)

    @rx.event
    async def load_order(self):
        """on_load: read the order, theme the page in its campaign's colours, then watch it while it moves."""
        self.loaded, self.not_found, self.leaving = False, False, False
        self.public_id = _public_id_from_url(self)
        query = self.router.url.query_parameters
        self.cancelled, self.returned_paid = query.get("cancelled") == "1", query.get("paid") == "1"
        try:
            view = await asyncio.to_thread(get_order_public, self.public_id)
        except NotFound:
            self.not_found, self.loaded = True, True
            self.steps, self.tokens, self._payment_url, self.payable = [], [], "", False
            return None
        self._show(view)
        self.loaded = True
        self.can_claim, self.claim_error, self.claiming, self.claim_sent_to = False, "", False, ""
        self._claim_checked = False
        events = [CheckoutThemeState.load_theme(view.campaign_slug)]
        if self._claim_due(view):
            events.append(CheckoutOrderState.check_claim)
        self._shown = view
        if view.status not in SETTLED:
            events.append(CheckoutOrderState.watch_order)
        return events

    def _poll_here(self) -> bool:
        return self.router.url.path.rstrip("/") == routes.order_page(self.public_id)

    @rx.event(background=True, supersedes=True)
    async def watch_order(self):
        """Re-read the order on the back-off schedule (follow_order) until it settles (minted, expired, refunded) or
        the buyer leaves (PollingMixin). The read runs outside the state lock."""
        async with self._polling() as generation:
            async with self:
                public_id, shown = self.public_id, self._shown

            def still_here() -> bool:
                return self._still_polling(generation) and public_id == self.public_id

            async def read() -> OrderView | None:
                async with self:
                    if not still_here():
                        return None
                try:
                    return await asyncio.to_thread(get_order_public, public_id)
                except NotFound:
                    return None

            async def show(view: OrderView) -> bool:
                async with self:
                    if not still_here():
                        return False
                    self._show(view)
                    self._shown = view
                    claim_due = self._claim_due(view)
                    if claim_due:
                        self._claim_checked = True
                if claim_due:
                    claimable = await asyncio.to_thread(can_claim_account, public_id)
                    async with self:
                        self.can_claim = claimable
                return True

            if shown is not None:
                await follow_order(shown, read, show)

    @rx.event
    def retry_payment(self):
        """Back to the payment page (full navigation) while the order can still be paid."""
        if not self._payment_url or self.leaving:
            return None
        self.leaving = True
        return rx.call_script(f"window.location.assign({json.dumps(self._payment_url)})")

    # -- "Create your account" (paid orders whose account has no password yet) -----------------------------------

    def _claim_due(self, view: OrderView) -> bool:
        return not self._claim_checked and view.status in {s.value for s in CLAIMABLE_STATES}

    @rx.event
    async def check_claim(self):
        self._claim_checked = True
        self.can_claim = await asyncio.to_thread(can_claim_account, self.public_id)

    @rx.event
    async def send_account_link(self):
        """Email the "choose your password" link to the order's address (the order link alone is no proof that the
        address is the buyer's): the page says where it went."""
        if self.claiming:
            return
        self.claiming, self.claim_error = True, ""
        yield
        try:
            self.claim_sent_to = await asyncio.to_thread(send_account_link, self.public_id)
            self.mailbox_url = await asyncio.to_thread(dev_mailbox_url)
        except Conflict as exc:
            self.claim_error, self.can_claim = exc.message, False
        except DomainError as exc:
            self.claim_error = exc.message
        finally:
            self.claiming = False
