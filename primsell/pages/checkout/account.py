"""/account/login, /account/set-password and /account: a consumer signs in (the shared form and cookie), or asks for
a link to choose a password and uses it, and sees their orders and the collectibles held for them, each
withdrawable to their own wallet (with their password, unless its payment was disputed or refunded)."""

from typing import Any

import reflex as rx

from primsell import routes
from primsell.components.forms import field_error, form_error, submit_button, text_field
from primsell.components.layout import page_loading
from primsell.components.sign_in import sign_in_form
from primsell.pages.checkout.order import STATUS_COLORS
from primsell.pages.registry import checkout_public_page
from primsell.state.checkout.account import CheckoutAccountOrdersState, CheckoutAccountState
from primsell.state.checkout.password_link import CheckoutPasswordLinkState
from primsell.state.sign_in import AuthSignInState

WITHDRAWAL_BADGES = {
    "held": ("Held for you", "gray"), "queued": ("Withdrawal queued", "amber"), "sent": ("Sent, confirming", "blue"),
    "confirmed": ("Withdrawn", "green"), "failed": ("Withdrawal failed", "red"),
}


@checkout_public_page(route=routes.ACCOUNT_LOGIN, title="Sign in to your account", on_load=AuthSignInState.reset_form)
def account_login() -> rx.Component:
    return rx.vstack(
        sign_in_form("account", "Sign in to your account", "See your orders and the collectibles we hold for you."),
        link_request_card(),
        align="center",
        width="100%",
    )


def link_request_card() -> rx.Component:
    """Bought without choosing a password, or forgot it: a link goes to the address of the orders."""
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("No password yet, or forgot it?", size="3", as_="h2"),
                rx.text(
                    "Enter the email address of your orders: we send it a link to choose a password.",
                    size="2",
                    color_scheme="gray",
                ),
                text_field(
                    "Email",
                    "link_email",
                    CheckoutPasswordLinkState.request_errors,
                    type="email",
                    placeholder="you@example.com",
                    auto_complete="email",
                ),
                rx.cond(
                    CheckoutPasswordLinkState.request_message != "",
                    rx.callout.root(
                        rx.callout.icon(rx.icon("mail_check")),
                        rx.callout.text(CheckoutPasswordLinkState.request_message),
                        rx.cond(
                            CheckoutPasswordLinkState.mailbox_url != "",
                            rx.link(
                                "Development: open the local mailbox",
                                href=CheckoutPasswordLinkState.mailbox_url,
                                is_external=True,
                                size="2",
                            ),
                        ),
                        color_scheme="green",
                        width="100%",
                        id="link-sent",
                        role="status",
                    ),
                ),
                submit_button(
                    "Email me a link",
                    CheckoutPasswordLinkState.requesting,
                    "Sending…",
                    variant="soft",
                    id="link-submit",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=CheckoutPasswordLinkState.request_link,
            reset_on_submit=False,
            no_validate=True,
        ),
        width="100%",
        max_width="400px",
        margin_bottom="3em",
    )


@checkout_public_page(
    route=routes.ACCOUNT_SET_PASSWORD, title="Choose your password", on_load=CheckoutPasswordLinkState.load_link
)
def set_password() -> rx.Component:
    return rx.center(
        rx.card(
            rx.cond(
                ~CheckoutPasswordLinkState.loaded,
                page_loading(),
                rx.cond(
                    CheckoutPasswordLinkState.link_valid,
                    rx.form(
                        rx.vstack(
                            rx.heading("Choose your password", size="6"),
                            rx.text(
                                "For ",
                                rx.text.strong(CheckoutPasswordLinkState.email),
                                ". You will be signed in right after.",
                                size="2",
                                color_scheme="gray",
                            ),
                            form_error(CheckoutPasswordLinkState.form_error),
                            text_field(
                                "Password",
                                "password",
                                CheckoutPasswordLinkState.field_errors,
                                type="password",
                                auto_complete="new-password",
                                hint="At least 12 characters, mixing letters with digits or symbols.",
                            ),
                            text_field(
                                "Confirm password",
                                "password_confirm",
                                CheckoutPasswordLinkState.field_errors,
                                type="password",
                                auto_complete="new-password",
                            ),
                            submit_button(
                                "Save and sign in",
                                CheckoutPasswordLinkState.saving,
                                "Saving…",
                                width="100%",
                                size="3",
                                id="set-password-submit",
                            ),
                            spacing="4",
                            width="100%",
                        ),
                        on_submit=CheckoutPasswordLinkState.submit_password,
                        reset_on_submit=False,
                        no_validate=True,
                    ),
                    rx.vstack(
                        rx.heading("This link cannot be used", size="5"),
                        rx.callout(
                            CheckoutPasswordLinkState.link_problem,
                            icon="triangle_alert",
                            color_scheme="amber",
                            width="100%",
                            id="link-problem",
                        ),
                        rx.link("Sign in, or ask for a new link", href=routes.ACCOUNT_LOGIN),
                        spacing="3",
                        width="100%",
                    ),
                ),
            ),
            width="100%",
            max_width="420px",
            padding="2em",
        ),
        padding="3em 1em",
        width="100%",
    )


def _order_badge(status: rx.Var, label: rx.Var) -> rx.Component:
    cases = [(k, rx.badge(label, color_scheme=c, variant="soft")) for k, c in STATUS_COLORS.items()]
    return rx.match(status, *cases, rx.badge(label, variant="soft"))


def _order_row(order: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(order["campaign_name"], href=order["url"])),
        rx.table.cell(order["quantity"]),
        rx.table.cell(order["amount"]),
        rx.table.cell(_order_badge(order["status"], order["status_label"])),
        rx.table.cell(rx.text(order["placed"], size="1", color_scheme="gray")),
        data_testid="account-order",
        data_public_id=order["public_id"],
    )


def orders_pager() -> rx.Component:
    """How many orders in all, which page this is, and the way to the others (newest first)."""
    return rx.hstack(
        rx.text(
            CheckoutAccountOrdersState.total,
            rx.cond(CheckoutAccountOrdersState.total == 1, " order", " orders"),
            size="2",
            color_scheme="gray",
            id="orders-total",
        ),
        rx.spacer(),
        rx.cond(
            CheckoutAccountOrdersState.page_count > 1,
            rx.hstack(
                rx.button(
                    rx.icon("chevron-left", size=14),
                    "Previous",
                    size="1",
                    variant="soft",
                    on_click=CheckoutAccountOrdersState.previous_page,
                    disabled=~CheckoutAccountOrdersState.has_previous,
                    id="orders-previous",
                ),
                rx.text(
                    "Page ",
                    CheckoutAccountOrdersState.page,
                    " of ",
                    CheckoutAccountOrdersState.page_count,
                    size="2",
                    id="orders-page",
                ),
                rx.button(
                    "Next",
                    rx.icon("chevron-right", size=14),
                    size="1",
                    variant="soft",
                    on_click=CheckoutAccountOrdersState.next_page,
                    disabled=~CheckoutAccountOrdersState.has_next,
                    id="orders-next",
                ),
                align="center",
                spacing="2",
            ),
        ),
        width="100%",
        align="center",
    )


def orders_section() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("My orders", size="5", as_="h2"),
            rx.cond(CheckoutAccountOrdersState.load_error != "",
                    rx.callout(CheckoutAccountOrdersState.load_error, color_scheme="red", icon="triangle_alert")),
            rx.cond(
                CheckoutAccountOrdersState.loading & (CheckoutAccountOrdersState.rows.length() == 0),
                rx.spinner(),
                rx.cond(
                    CheckoutAccountOrdersState.rows.length() == 0,
                    rx.vstack(rx.text("You have no orders yet.", id="orders-empty"),
                              rx.text("When you buy a collectible with this email, it shows up here.",
                                      size="2", color_scheme="gray"), spacing="1"),
                    rx.vstack(
                        rx.table.root(
                            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                           ("Campaign", "Qty", "Total", "Status", "Placed")])),
                            rx.table.body(rx.foreach(CheckoutAccountOrdersState.rows, _order_row)),
                            width="100%",
                            id="orders-table",
                        ),
                        orders_pager(),
                        spacing="2",
                        width="100%",
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _withdrawal_badge(status: rx.Var) -> rx.Component:
    cases = [(k, rx.badge(label, color_scheme=c, variant="soft")) for k, (label, c) in WITHDRAWAL_BADGES.items()]
    return rx.box(rx.match(status, *cases, rx.badge(status)), data_testid="withdrawal-status", data_status=status)


def _withdraw_action(token: rx.Var, icon: str, label: str, testid: str, **props: Any) -> rx.Component:
    """The button that opens the withdrawal dialog, or why the token stays with us instead (its payment disputed or
    refunded: the service refuses those withdrawals anyway, this says so before anyone tries)."""
    return rx.cond(
        token["blocked"] != "",
        rx.text(token["blocked"], size="1", color_scheme="gray", data_testid="withdrawal-held-back"),
        rx.button(rx.icon(icon, size=14), label, size="1", variant="soft", data_testid=testid,
                  on_click=CheckoutAccountState.open_withdrawal(token["key"], token["token_id"]), **props),
    )


def _token_row(token: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(token["campaign_name"], href=token["order_url"])),
        rx.table.cell(rx.badge(rx.icon("gem", size=12), "#", token["token_id"], variant="surface")),
        rx.table.cell(_withdrawal_badge(token["status"])),
        rx.table.cell(
            rx.match(
                token["status"],
                ("held", _withdraw_action(token, "wallet", "Withdraw to my wallet", "withdraw-button")),
                # A failed attempt moved nothing: the token is still held, and a new attempt can go (to any address).
                (
                    "failed",
                    _withdraw_action(token, "rotate-ccw", "Try again", "retry-withdrawal-button", color_scheme="red"),
                ),
                rx.cond(
                    token["withdrawn_to"] != "",
                    rx.text(
                        "To ",
                        rx.code(token["withdrawn_to"], size="1", variant="ghost"),
                        size="1",
                        style={"wordBreak": "break-all"},
                    ),
                ),
            )
        ),
        data_testid="held-token",
        data_token_id=token["token_id"],
    )


def tokens_section() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("My collectibles held for me", size="5", as_="h2"),
            rx.text(
                'Bought with "Keep it for me": we hold them in a wallet tied to your account until you '
                "withdraw them to a wallet of your own.",
                size="2",
                color_scheme="gray",
            ),
            rx.cond(
                ~CheckoutAccountState.tokens_loaded,
                rx.spinner(),
                rx.cond(
                    CheckoutAccountState.tokens.length() == 0,
                    rx.text("We are not holding any collectibles for you.", id="tokens-empty"),
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(*[rx.table.column_header_cell(h) for h in ("Campaign", "Token", "Status", "")])
                        ),
                        rx.table.body(rx.foreach(CheckoutAccountState.tokens, _token_row)),
                        width="100%",
                        id="tokens-table",
                    ),
                ),
            ),
            rx.cond(
                CheckoutAccountState.polling,
                rx.text(
                    "Withdrawal status updates by itself every few seconds.",
                    size="1",
                    color_scheme="gray",
                    id="withdrawal-live",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def withdrawal_dialog() -> rx.Component:
    address_step = rx.vstack(
        rx.dialog.description(
            "Paste the address of a wallet you control. Transfers on the blockchain cannot be "
            "undone, so check it carefully.",
            size="2",
        ),
        rx.el.label(rx.text("Wallet address", size="2", weight="medium"), html_for="to_address"),
        rx.input(
            id="to_address",
            name="to_address",
            value=CheckoutAccountState.withdraw_address,
            placeholder="0x…",
            on_change=CheckoutAccountState.set_withdraw_address,
            on_blur=CheckoutAccountState.check_withdraw_address,
            width="100%",
            color_scheme=rx.cond(CheckoutAccountState.field_errors.contains("to_address"), "red", "gray"),
            aria_invalid=rx.cond(CheckoutAccountState.field_errors.contains("to_address"), "true", "false"),
        ),
        field_error(CheckoutAccountState.field_errors, "to_address"),
        rx.hstack(
            rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
            rx.button("Continue", on_click=CheckoutAccountState.continue_withdrawal, id="withdraw-continue"),
            justify="end",
            spacing="3",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )
    # A form, so that the password goes to the handler with the submit and no state var ever holds it.
    confirm_step = rx.form(
        rx.vstack(
            rx.text("Send token #", CheckoutAccountState.withdraw_token_id, " to", size="2"),
            rx.code(
                CheckoutAccountState.withdraw_address, id="withdraw-confirm-address", style={"wordBreak": "break-all"}
            ),
            rx.text(
                "Once sent it leaves our custody for good: only that wallet can move it afterwards.",
                size="2",
                color_scheme="gray",
            ),
            text_field(
                "Your password",
                "password",
                CheckoutAccountState.field_errors,
                type="password",
                auto_complete="current-password",
                hint="To confirm it is you: a withdrawal cannot be undone.",
            ),
            rx.hstack(
                rx.button(
                    "Back",
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=CheckoutAccountState.back_to_address,
                    disabled=CheckoutAccountState.withdrawing,
                ),
                rx.button(
                    rx.cond(CheckoutAccountState.withdrawing, rx.spinner(size="1"), rx.icon("send", size=14)),
                    "Withdraw",
                    type="submit",
                    disabled=CheckoutAccountState.withdrawing,
                    id="withdraw-confirm",
                ),
                justify="end",
                spacing="3",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=CheckoutAccountState.confirm_withdrawal,
        reset_on_submit=False,
        no_validate=True,
        width="100%",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.cond(
                    CheckoutAccountState.dialog_step == "confirm", "Confirm the withdrawal", "Withdraw to my wallet"
                )
            ),
            form_error(CheckoutAccountState.form_error),
            rx.cond(CheckoutAccountState.dialog_step == "confirm", confirm_step, address_step),
            max_width="480px",
            id="withdraw-dialog",
        ),
        open=CheckoutAccountState.dialog_open,
        on_open_change=CheckoutAccountState.set_dialog_open,
    )


@checkout_public_page(route=routes.ACCOUNT, title="My account", on_load=CheckoutAccountState.load_account)
def account() -> rx.Component:
    return rx.cond(
        ~CheckoutAccountState.signed_in,
        page_loading(),
        rx.center(
            rx.vstack(
                rx.hstack(
                    rx.vstack(
                        rx.heading("My account", size="7"),
                        rx.text(
                            "Signed in as ", rx.text.strong(CheckoutAccountState.email, id="account-email"), size="2"
                        ),
                        spacing="1",
                    ),
                    rx.spacer(),
                    rx.link(
                        rx.button(rx.icon("id-card", size=14), "Identity verification", variant="soft"),
                        href=routes.KYC_VERIFY,
                        id="identity-link",
                    ),
                    rx.button(
                        rx.icon("log-out", size=14),
                        "Sign out",
                        variant="soft",
                        on_click=CheckoutAccountState.sign_out,
                        id="sign-out",
                    ),
                    width="100%",
                    align="center",
                ),
                orders_section(),
                tokens_section(),
                withdrawal_dialog(),
                spacing="4",
                width="100%",
                max_width="1000px",
                padding="2em 1em",
            ),
            on_unmount=CheckoutAccountState.stop_polling,
            width="100%",
        ),
    )
