"""/account: the signed-in consumer's orders and the tokens held for them, with withdrawals to their own wallet
(address checked inline, confirmed in a dialog with the account's password, then its status re-read every ~2 s until
it settles). The password comes with the confirm form's submit and goes straight to the service: no var holds it.

Any signed-in user may use /account (it shows their own orders only): every handler asks
`current_actor(self, "account")`, which admits any signed-in person.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.auth.service import end_web_session
from backend.errors import DomainError, NotAuthenticated
from backend.orders.accounts import CustodialToken, list_custodial_tokens, withdraw_token
from backend.orders.service import list_orders_for_user
from backend.validation import check_address
from primsell import routes
from primsell.format import utc_datetime
from primsell.state.polling import SAME, STOP, PollingMixin, Schedule
from primsell.state.session import (
    FOLLOW_SIGN_OUTS_SCRIPT,
    client_ip,
    current_actor,
    forget_tab,
    session_cookie,
    sign_out_script,
)
from primsell.state.table import PagedTableMixin

ORDERS_PER_PAGE = 10
# A withdrawal's status is re-read every 2 s while one is queued or sent, for half an hour at most.
WITHDRAWALS = Schedule(every_s=2, for_s=1800)
MOVING = frozenset({"queued", "sent"})
SURFACE = "account"


def to_sign_in():  # type: ignore[no-untyped-def]
    return rx.redirect(routes.login_with_next(SURFACE, routes.ACCOUNT))


def _token_row(t: CustodialToken) -> dict[str, str]:
    return {
        "key": f"{t.campaign_id}:{t.token_id}",
        "campaign_name": t.campaign_name,
        "token_id": str(t.token_id),
        "status": t.withdrawal_status,
        "withdrawn_to": t.withdrawn_to,
        "blocked": t.withdrawal_blocked,
        "order_url": routes.order_page(t.order_public_id),
    }


class CheckoutAccountState(PollingMixin, rx.State):
    signed_in: bool = False
    email: str = ""
    tokens_loaded: bool = False
    tokens: list[dict[str, str]] = []

    # The withdrawal dialog: "address" step, then "confirm" step.
    dialog_open: bool = False
    dialog_step: str = "address"
    withdraw_key: str = ""
    withdraw_token_id: str = ""
    withdraw_address: str = ""
    field_errors: dict[str, str] = {}
    form_error: str = ""
    withdrawing: bool = False

    @rx.var
    def has_moving_withdrawal(self) -> bool:
        return any(t["status"] in MOVING for t in self.tokens)

    @rx.event
    async def load_account(self):
        """on_load: resolve the session cookie (strangers go to /account/login), then read orders and tokens."""
        self.tokens_loaded = False
        actor = await current_actor(self, SURFACE)
        if actor is None:
            self.signed_in, self.email, self.tokens = False, "", []
            return to_sign_in()
        self.signed_in, self.email = True, actor.email
        return [rx.call_script(FOLLOW_SIGN_OUTS_SCRIPT), CheckoutAccountOrdersState.load_orders,
                CheckoutAccountState.load_tokens]

    @rx.event
    async def load_tokens(self):
        actor = await current_actor(self, SURFACE)
        if actor is None:
            return to_sign_in()
        try:
            tokens = await asyncio.to_thread(list_custodial_tokens, actor)
        except NotAuthenticated:
            return to_sign_in()
        self.tokens = [_token_row(t) for t in tokens]
        self.tokens_loaded = True
        return CheckoutAccountState.watch_withdrawals if self.has_moving_withdrawal else None

    # -- withdrawal dialog -----------------------------------------------------------------------------------------

    @rx.event
    def open_withdrawal(self, key: str, token_id: str):
        self.withdraw_key, self.withdraw_token_id = key, token_id
        self.withdraw_address, self.field_errors, self.form_error = "", {}, ""
        self.dialog_step, self.withdrawing, self.dialog_open = "address", False, True

    @rx.event
    def set_dialog_open(self, value: bool):
        if not self.withdrawing:
            self.dialog_open = value

    @rx.event
    def set_withdraw_address(self, value: str):
        self.withdraw_address = value
        if "to_address" in self.field_errors:
            self.check_withdraw_address()

    @rx.event
    def check_withdraw_address(self):
        """Inline (on blur and before continuing): 0x + 40 hex digits, and a valid EIP-55 checksum when mixed-case."""
        errors = {k: v for k, v in self.field_errors.items() if k != "to_address"}
        value = self.withdraw_address.strip()
        if not value:
            errors["to_address"] = "Enter your wallet address."
        else:
            try:
                check_address(value)
            except ValueError as exc:
                errors["to_address"] = f"This address {exc}."
        self.field_errors = errors

    @rx.event
    def continue_withdrawal(self):
        self.check_withdraw_address()
        if not self.field_errors:
            self.withdraw_address = check_address(self.withdraw_address)
            self.dialog_step = "confirm"

    @rx.event
    def back_to_address(self):
        self.dialog_step = "address"

    @rx.event
    async def confirm_withdrawal(self, form_data: dict):
        """The confirm step's form: the account's current password (read from the submit, never kept in a var)."""
        if self.withdrawing:
            return
        actor = await current_actor(self, SURFACE)
        if actor is None:
            yield to_sign_in()
            return
        campaign_id, _, token_id = self.withdraw_key.partition(":")
        if not campaign_id.isdigit() or not token_id.isdigit():
            return
        self.withdrawing, self.form_error = True, ""
        self.field_errors = {k: v for k, v in self.field_errors.items() if k != "password"}
        yield
        try:
            token = await asyncio.to_thread(withdraw_token, actor, int(campaign_id), int(token_id),
                                            self.withdraw_address, password=str(form_data.get("password") or ""),
                                            ip=client_ip(self))
        except DomainError as exc:
            self.withdrawing = False
            self.form_error = exc.message
            self.field_errors = dict(exc.fields)
            if "to_address" in exc.fields:
                self.dialog_step = "address"
            return
        row = _token_row(token)
        self.tokens = [row if t["key"] == row["key"] else t for t in self.tokens]
        self.withdrawing, self.dialog_open = False, False
        yield CheckoutAccountState.watch_withdrawals

    # -- re-reading the tokens while a withdrawal moves (PollingMixin) ----------------------------------------------

    def _poll_here(self) -> bool:
        return self.router.url.path.rstrip("/") == routes.ACCOUNT

    async def _poll_inputs(self):  # type: ignore[no-untyped-def]
        return await current_actor(self, SURFACE)

    async def _poll_read(self, actor) -> list[CustodialToken]:  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(list_custodial_tokens, actor)

    def _poll_show(self, actor, tokens: list[CustodialToken]) -> str:  # type: ignore[no-untyped-def]
        self.tokens = [_token_row(t) for t in tokens]
        return SAME if any(t.withdrawal_status in MOVING for t in tokens) else STOP

    @rx.event(background=True)
    async def watch_withdrawals(self):
        """Re-read the held tokens every ~2 s while a withdrawal is queued or sent and the page is open."""
        await self._poll(WITHDRAWALS)

    @rx.event
    async def sign_out(self):
        """Revoke the session server-side, let the API clear the HttpOnly cookie, then go to the sign-in page."""
        await asyncio.to_thread(end_web_session, session_cookie(self.router.headers.cookie))
        await forget_tab(self)  # this page and every other one of the tab (see primsell.state.session)
        self.signed_in, self.email, self.tokens = False, "", []
        return sign_out_script(routes.ACCOUNT_LOGIN)


class CheckoutAccountOrdersState(PagedTableMixin, rx.State):
    """"My orders": the consumer's orders, newest first, ORDERS_PER_PAGE a page (the table mixin pages them)."""

    page_size: int = ORDERS_PER_PAGE

    def _to_sign_in(self):  # type: ignore[no-untyped-def]
        return to_sign_in()

    async def _fetch(self) -> None:
        actor = await current_actor(self, SURFACE)
        if actor is None:
            self.rows, self.total = [], 0
            return
        try:
            page = await asyncio.to_thread(list_orders_for_user, actor, limit=self.page_size, offset=self.offset)
        except DomainError as exc:
            self.rows, self.total, self.load_error = [], 0, exc.message
            return
        self.total = page.total
        self.rows = [{
            "public_id": v.public_id, "campaign_name": v.campaign_name, "status": v.status,
            "status_label": v.status_label, "amount": v.amount_display, "quantity": str(v.quantity),
            "placed": utc_datetime(v.created_at), "url": routes.order_page(v.public_id),
        } for v in page.items]

    @rx.event
    async def load_orders(self):
        """The first page of the consumer's orders and how many there are in all."""
        self.page, self.loading = 1, True
        yield await self._refresh()
