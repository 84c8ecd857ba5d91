"""/account/login and /account: a consumer signs in (the shared form and cookie) and sees their orders and the
collectibles held for them, each withdrawable to their own wallet."""

import reflex as rx

from primsell import routes
from primsell.components.forms import field_error, form_error
from primsell.components.layout import page_loading, public_shell
from primsell.components.sign_in import sign_in_form
from primsell.pages.checkout.order import STATUS_COLORS
from primsell.pages.registry import surface_page
from primsell.state.checkout.account import CheckoutAccountState as A
from primsell.state.sign_in import AuthSignInState

account_page = surface_page("checkout", public_shell)

WITHDRAWAL_BADGES = {
    "held": ("Held for you", "gray"), "queued": ("Withdrawal queued", "amber"), "sent": ("Sent, confirming", "blue"),
    "confirmed": ("Withdrawn", "green"), "failed": ("Withdrawal failed", "red"),
}


@account_page(route=routes.ACCOUNT_LOGIN, title="Sign in to your account", on_load=AuthSignInState.reset_form)
def account_login() -> rx.Component:
    return sign_in_form("account", "Sign in to your account", "See your orders and the collectibles we hold for you.")


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
        rx.text(A.orders_total, rx.cond(A.orders_total == 1, " order", " orders"), size="2", color_scheme="gray",
                id="orders-total"),
        rx.spacer(),
        rx.cond(
            A.orders_page_count > 1,
            rx.hstack(
                rx.button(rx.icon("chevron-left", size=14), "Previous", size="1", variant="soft",
                          on_click=A.previous_orders_page, disabled=~A.orders_has_previous, id="orders-previous"),
                rx.text("Page ", A.orders_page, " of ", A.orders_page_count, size="2", id="orders-page"),
                rx.button("Next", rx.icon("chevron-right", size=14), size="1", variant="soft",
                          on_click=A.next_orders_page, disabled=~A.orders_has_next, id="orders-next"),
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
            rx.cond(
                ~A.orders_loaded,
                rx.spinner(),
                rx.cond(
                    A.orders.length() == 0,
                    rx.vstack(rx.text("You have no orders yet.", id="orders-empty"),
                              rx.text("When you buy a collectible with this email, it shows up here.",
                                      size="2", color_scheme="gray"), spacing="1"),
                    rx.vstack(
                        rx.table.root(
                            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                           ("Campaign", "Qty", "Total", "Status", "Placed")])),
                            rx.table.body(rx.foreach(A.orders, _order_row)),
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


def _token_row(token: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(token["campaign_name"], href=token["order_url"])),
        rx.table.cell(rx.badge(rx.icon("gem", size=12), "#", token["token_id"], variant="surface")),
        rx.table.cell(_withdrawal_badge(token["status"])),
        rx.table.cell(rx.cond(
            token["status"] == "held",
            rx.button(rx.icon("wallet", size=14), "Withdraw to my wallet", size="1", variant="soft",
                      on_click=A.open_withdrawal(token["key"], token["token_id"]), data_testid="withdraw-button"),
            rx.cond(token["withdrawn_to"] != "",
                    rx.text("To ", rx.code(token["withdrawn_to"], size="1", variant="ghost"), size="1",
                            style={"wordBreak": "break-all"})),
        )),
        data_testid="held-token",
        data_token_id=token["token_id"],
    )


def tokens_section() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("My collectibles held for me", size="5", as_="h2"),
            rx.text("Bought with \"Keep it for me\": we hold them in a wallet tied to your account until you "
                    "withdraw them to a wallet of your own.", size="2", color_scheme="gray"),
            rx.cond(
                ~A.tokens_loaded,
                rx.spinner(),
                rx.cond(
                    A.tokens.length() == 0,
                    rx.text("We are not holding any collectibles for you.", id="tokens-empty"),
                    rx.table.root(
                        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                       ("Campaign", "Token", "Status", "")])),
                        rx.table.body(rx.foreach(A.tokens, _token_row)),
                        width="100%",
                        id="tokens-table",
                    ),
                ),
            ),
            rx.cond(A.watching, rx.text("Withdrawal status updates by itself every few seconds.", size="1",
                                        color_scheme="gray", id="withdrawal-live")),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def withdrawal_dialog() -> rx.Component:
    address_step = rx.vstack(
        rx.dialog.description("Paste the address of a wallet you control. Transfers on the blockchain cannot be "
                              "undone, so check it carefully.", size="2"),
        rx.el.label(rx.text("Wallet address", size="2", weight="medium"), html_for="to_address"),
        rx.input(id="to_address", name="to_address", value=A.withdraw_address, placeholder="0x…",
                 on_change=A.set_withdraw_address, on_blur=A.check_withdraw_address, width="100%",
                 color_scheme=rx.cond(A.field_errors.contains("to_address"), "red", "gray"),
                 aria_invalid=rx.cond(A.field_errors.contains("to_address"), "true", "false")),
        field_error(A.field_errors, "to_address"),
        rx.hstack(
            rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
            rx.button("Continue", on_click=A.continue_withdrawal, id="withdraw-continue"),
            justify="end", spacing="3", width="100%",
        ),
        spacing="2", width="100%",
    )
    confirm_step = rx.vstack(
        rx.text("Send token #", A.withdraw_token_id, " to", size="2"),
        rx.code(A.withdraw_address, id="withdraw-confirm-address", style={"wordBreak": "break-all"}),
        rx.text("Once sent it leaves our custody for good: only that wallet can move it afterwards.", size="2",
                color_scheme="gray"),
        rx.hstack(
            rx.button("Back", variant="soft", color_scheme="gray", on_click=A.back_to_address,
                      disabled=A.withdrawing),
            rx.button(rx.cond(A.withdrawing, rx.spinner(size="1"), rx.icon("send", size=14)), "Withdraw",
                      on_click=A.confirm_withdrawal, disabled=A.withdrawing, id="withdraw-confirm"),
            justify="end", spacing="3", width="100%",
        ),
        spacing="2", width="100%",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(A.dialog_step == "confirm", "Confirm the withdrawal", "Withdraw to my wallet")),
            form_error(A.form_error),
            rx.cond(A.dialog_step == "confirm", confirm_step, address_step),
            max_width="480px",
            id="withdraw-dialog",
        ),
        open=A.dialog_open,
        on_open_change=A.set_dialog_open,
    )


@account_page(route=routes.ACCOUNT, title="My account", on_load=A.load_account)
def account() -> rx.Component:
    return rx.cond(
        ~A.signed_in,
        page_loading(),
        rx.center(
            rx.vstack(
                rx.hstack(
                    rx.vstack(rx.heading("My account", size="7"),
                              rx.text("Signed in as ", rx.text.strong(A.email, id="account-email"), size="2"),
                              spacing="1"),
                    rx.spacer(),
                    rx.button(rx.icon("log-out", size=14), "Sign out", variant="soft", on_click=A.sign_out,
                              id="sign-out"),
                    width="100%", align="center",
                ),
                orders_section(),
                tokens_section(),
                withdrawal_dialog(),
                spacing="4",
                width="100%",
                max_width="1000px",
                padding="2em 1em",
            ),
            on_unmount=A.stop_watching,
            width="100%",
        ),
    )
