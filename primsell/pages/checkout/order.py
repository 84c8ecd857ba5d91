"""/orders/[public_id]: the buyer's order, live: payment -> minting (transaction link) -> minted (token ids, wallet,
links), or what went wrong (payment failed, expired, refunded) with a way back. Stripe's return URLs land here."""

import reflex as rx

from primsell import routes
from primsell.pages.registry import checkout_page
from primsell.state.checkout.order import POLL_MAX_S, CheckoutOrderState

STATUS_COLORS = {
    "created": "gray", "awaiting_payment": "amber", "payment_failed": "red", "paid": "blue", "minting": "blue",
    "minted": "green", "fulfilled": "green", "expired": "gray", "refund_pending": "amber", "refunded": "gray",
    "disputed": "red",
}
STEP_ICONS = {"done": ("check", "green"), "current": ("hourglass", "blue"), "failed": ("x", "red"),
              "upcoming": ("circle", "gray")}


def not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("receipt", size=40, color=rx.color("gray", 9)),
            rx.heading("We couldn't find that order", size="6", id="order-not-found"),
            rx.text("Check the link in your confirmation email: order links are long and easy to cut short.",
                    color_scheme="gray", align="center"),
            rx.link("Go to the Primsell home page", href=routes.HOME),
            align="center",
            spacing="3",
            max_width="460px",
        ),
        min_height="50vh",
    )


def status_badge() -> rx.Component:
    cases = [
        (k, rx.badge(CheckoutOrderState.status_label, color_scheme=c, variant="solid", size="3"))
        for k, c in STATUS_COLORS.items()
    ]
    return rx.box(
        rx.match(CheckoutOrderState.status, *cases, rx.badge(CheckoutOrderState.status_label, size="3")),
        id="order-status",
    )


def _marker(status: rx.Var) -> rx.Component:
    cases = [
        (key, rx.center(rx.icon(icon, size=14, color="white"), width="26px", height="26px", border_radius="50%",
                        background=rx.color(color, 9) if key != "upcoming" else rx.color("gray", 6)))
        for key, (icon, color) in STEP_ICONS.items()
    ]
    return rx.match(status, *cases, rx.box(width="26px", height="26px"))


def _step_detail(step: rx.Var) -> rx.Component:
    """What each step adds once reached: the mint transaction under Minting, the tokens under In your wallet."""
    return rx.match(
        step["key"],
        (
            "paid",
            rx.cond(
                CheckoutOrderState.paid_at != "",
                rx.text("Paid ", CheckoutOrderState.paid_at, size="1", color_scheme="gray"),
            ),
        ),
        ("minting", rx.cond(CheckoutOrderState.tx_hash != "", tx_link())),
        ("delivered", rx.cond(CheckoutOrderState.tokens.length() > 0, tokens_list())),
        (
            "refunded",
            rx.cond(CheckoutOrderState.refund_reason != "", rx.text(CheckoutOrderState.refund_reason, size="2")),
        ),
        (
            "refund_pending",
            rx.cond(CheckoutOrderState.refund_reason != "", rx.text(CheckoutOrderState.refund_reason, size="2")),
        ),
        rx.fragment(),
    )


def _step(step: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            _marker(step["status"]),
            rx.vstack(
                rx.text(step["label"], size="3",
                        weight=rx.cond(step["status"] == "upcoming", "regular", "bold"),
                        color=rx.cond(step["status"] == "upcoming", rx.color("gray", 10), rx.color("gray", 12))),
                _step_detail(step),
                spacing="1",
                align="start",
            ),
            align="start",
            spacing="3",
        ),
        data_testid="order-step",
        data_status=step["status"],
        data_step=step["key"],
        style={"listStyle": "none", "paddingBottom": "1em"},
    )


def steps() -> rx.Component:
    return rx.el.ol(
        rx.foreach(CheckoutOrderState.steps, _step), style={"margin": "0", "padding": "0"}, aria_label="Order progress"
    )


def tx_link() -> rx.Component:
    label = rx.code(CheckoutOrderState.tx_hash, size="1", variant="ghost", style={"wordBreak": "break-all"})
    return rx.cond(
        CheckoutOrderState.explorer_url != "",
        rx.link(
            rx.hstack(rx.text("Transaction", size="1"), rx.icon("external-link", size=12), align="center", spacing="1"),
            href=CheckoutOrderState.explorer_url,
            is_external=True,
            id="mint-tx",
            title=CheckoutOrderState.tx_hash,
        ),
        rx.vstack(rx.text("Transaction", size="1", color_scheme="gray"), label, spacing="0", id="mint-tx"),
    )


def wallet_code(**props) -> rx.Component:
    """The wallet address, linked to the chain's explorer when it has one."""
    code = rx.code(
        CheckoutOrderState.wallet_address, size="1", variant="ghost", style={"wordBreak": "break-all"}, **props
    )
    return rx.cond(
        CheckoutOrderState.wallet_url != "",
        rx.link(
            code, href=CheckoutOrderState.wallet_url, is_external=True, title="This wallet on the blockchain explorer"
        ),
        code,
    )


def _token(token: rx.Var) -> rx.Component:
    badge = rx.badge(rx.icon("gem", size=12), "#", token["id"], variant="surface", size="2", data_testid="token-id")
    return rx.hstack(
        rx.cond(token["explorer"] != "",
                rx.link(badge, href=token["explorer"], is_external=True, data_testid="token-explorer",
                        title="The collection on the blockchain explorer"),
                badge),
        rx.link("metadata", href=token["metadata"], is_external=True, size="1", data_testid="token-metadata"),
        spacing="1",
        align="center",
    )


def tokens_list() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.foreach(CheckoutOrderState.tokens, _token), spacing="3", wrap="wrap", id="token-ids"),
        rx.text("Sent to ", wallet_code(), rx.cond(CheckoutOrderState.custodial, " (kept for you)", ""), size="1",
                color_scheme="gray"),
        spacing="1",
        align="start",
    )


def _callouts() -> rx.Component:
    retry = rx.button(
        rx.cond(CheckoutOrderState.leaving, rx.spinner(size="1"), rx.icon("credit-card", size=14)),
        "Try the payment again",
        on_click=CheckoutOrderState.retry_payment,
        disabled=CheckoutOrderState.leaving,
        id="retry-payment",
        size="2",
    )
    back = rx.link(rx.button(rx.icon("arrow-left", size=14), "Back to the campaign", variant="soft", size="2"),
                   href=CheckoutOrderState.campaign_url, id="back-to-campaign")
    return rx.vstack(
        rx.cond(
            CheckoutOrderState.cancelled
            & (CheckoutOrderState.status == "awaiting_payment")
            & CheckoutOrderState.payable,
            rx.callout(
                rx.vstack(
                    rx.text(
                        rx.text.strong("Payment cancelled. "),
                        "Nothing was charged; your tokens stay reserved until ",
                        CheckoutOrderState.expires_at,
                        ".",
                        as_="span",
                    ),
                    rx.hstack(retry, back, spacing="2", wrap="wrap"),
                    spacing="2",
                ),
                icon="circle-x",
                color_scheme="amber",
                width="100%",
                id="payment-cancelled",
            ),
        ),
        rx.cond(
            CheckoutOrderState.status == "payment_failed",
            rx.callout(
                rx.vstack(
                    rx.text(
                        rx.text.strong("Your payment did not go through. "),
                        rx.cond(
                            CheckoutOrderState.failure_reason != "",
                            CheckoutOrderState.failure_reason,
                            "The card was declined.",
                        ),
                        " Nothing was charged.",
                        as_="span",
                    ),
                    rx.hstack(rx.cond(CheckoutOrderState.payable, retry), back, spacing="2", wrap="wrap"),
                    spacing="2",
                ),
                icon="triangle_alert",
                color_scheme="red",
                width="100%",
                id="payment-failed",
            ),
        ),
        rx.cond(
            CheckoutOrderState.status == "expired",
            rx.callout(
                rx.vstack(
                    rx.text(CheckoutOrderState.status_message, " ", CheckoutOrderState.failure_reason),
                    back,
                    spacing="2",
                ),
                icon="clock",
                color_scheme="gray",
                width="100%",
                id="order-expired",
            ),
        ),
        rx.cond(
            (CheckoutOrderState.status == "awaiting_payment") & CheckoutOrderState.returned_paid,
            rx.callout(
                "Payment submitted: we are confirming it with the payment provider. This takes a few seconds.",
                icon="loader",
                color_scheme="blue",
                width="100%",
                id="payment-confirming",
            ),
        ),
        rx.cond(
            (CheckoutOrderState.status == "awaiting_payment")
            & ~CheckoutOrderState.cancelled
            & ~CheckoutOrderState.returned_paid
            & CheckoutOrderState.payable,
            rx.callout(
                rx.vstack(
                    rx.text("Waiting for your payment. If you closed the payment page, open it again."),
                    retry,
                    spacing="2",
                ),
                icon="hourglass",
                color_scheme="blue",
                width="100%",
            ),
        ),
        rx.cond(
            (CheckoutOrderState.status == "refunded") | (CheckoutOrderState.status == "refund_pending"),
            rx.callout(
                rx.text(
                    CheckoutOrderState.status_message,
                    rx.cond(
                        CheckoutOrderState.refunded != "",
                        rx.text(" Refunded: ", CheckoutOrderState.refunded, as_="span"),
                    ),
                    rx.cond(
                        CheckoutOrderState.refund_reason != "",
                        rx.text(" Reason: ", CheckoutOrderState.refund_reason, as_="span"),
                    ),
                    as_="span",
                ),
                icon="undo-2",
                color_scheme="amber",
                width="100%",
                id="order-refunded",
            ),
        ),
        rx.cond(
            (CheckoutOrderState.status == "minted") | (CheckoutOrderState.status == "fulfilled"),
            rx.callout(
                rx.text(CheckoutOrderState.status_message, " Token ids are listed below."),
                icon="party-popper",
                color_scheme="green",
                width="100%",
                id="order-minted",
            ),
        ),
        width="100%",
        spacing="3",
    )


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def summary() -> rx.Component:
    return rx.card(
        rx.data_list.root(
            _fact("Campaign", rx.link(CheckoutOrderState.campaign_name, href=CheckoutOrderState.campaign_url)),
            _fact("Quantity", rx.text(CheckoutOrderState.quantity)),
            _fact(
                "Total",
                rx.vstack(
                    rx.text(CheckoutOrderState.amount_display, weight="bold", id="order-total"),
                    rx.cond(
                        CheckoutOrderState.crypto != "",
                        rx.text("≈ ", CheckoutOrderState.crypto, size="1", color_scheme="gray"),
                    ),
                    rx.cond(
                        CheckoutOrderState.crypto_note != "",
                        rx.text(CheckoutOrderState.crypto_note, size="1", color_scheme="gray"),
                    ),
                    spacing="0",
                ),
            ),
            _fact(
                "NFT goes to",
                rx.cond(
                    CheckoutOrderState.custodial,
                    rx.text("Kept for you (custodial wallet of ", CheckoutOrderState.email, ")", size="2"),
                    wallet_code(id="order-wallet"),
                ),
            ),
            _fact("Email", rx.text(CheckoutOrderState.email, size="2")),
            _fact("Placed", rx.text(CheckoutOrderState.created_at, size="2")),
            orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
            size="2",
        ),
        width="100%",
    )


def claim_panel() -> rx.Component:
    """Paid orders whose account has no password yet: a link to choose one is emailed to the order's address."""
    return rx.card(
        rx.vstack(
            rx.heading(
                rx.cond(
                    CheckoutOrderState.custodial,
                    "Create your account to see your orders and withdraw later",
                    "Create your account to find your orders later",
                ),
                size="4",
                as_="h2",
            ),
            rx.cond(
                CheckoutOrderState.custodial,
                rx.text(
                    "Your collectible is kept for you under ",
                    CheckoutOrderState.email,
                    ". We email you a link to choose a "
                    "password, so you can sign in later, see your orders and move it to a wallet of your own.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.text(
                    "Your orders are saved under ",
                    CheckoutOrderState.email,
                    ". We email you a link to choose a password, so "
                    "you can sign in later and see them all in one place.",
                    size="2",
                    color_scheme="gray",
                ),
            ),
            rx.cond(
                CheckoutOrderState.claim_error != "",
                rx.callout(
                    CheckoutOrderState.claim_error,
                    icon="triangle_alert",
                    color_scheme="red",
                    role="alert",
                    width="100%",
                    id="claim-error",
                ),
            ),
            rx.cond(
                CheckoutOrderState.claim_sent_to != "",
                rx.callout.root(
                    rx.callout.icon(rx.icon("mail_check")),
                    rx.callout.text(
                        "We sent a link to ",
                        rx.text.strong(CheckoutOrderState.claim_sent_to),
                        ". Open it to choose your password; it works once, for an hour.",
                    ),
                    rx.cond(
                        CheckoutOrderState.mailbox_url != "",
                        rx.link(
                            "Development: open the local mailbox",
                            href=CheckoutOrderState.mailbox_url,
                            is_external=True,
                            size="2",
                            id="dev-mailbox-link",
                        ),
                    ),
                    color_scheme="green",
                    width="100%",
                    id="claim-sent",
                    role="status",
                ),
            ),
            rx.button(
                rx.cond(CheckoutOrderState.claiming, rx.spinner(size="1"), rx.icon("mail", size=16)),
                rx.cond(CheckoutOrderState.claim_sent_to != "", "Send the link again", "Email me a link"),
                on_click=CheckoutOrderState.send_account_link,
                disabled=CheckoutOrderState.claiming,
                id="claim-submit",
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
        width="100%",
        id="claim-panel",
    )


def order_view() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.text("Your order", size="2", color_scheme="gray"),
                rx.heading(CheckoutOrderState.campaign_name, size="7"),
                spacing="1",
            ),
            rx.spacer(),
            status_badge(),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        rx.text(CheckoutOrderState.status_message, size="3", id="order-message"),
        _callouts(),
        rx.cond(CheckoutOrderState.can_claim, claim_panel()),
        rx.flex(
            rx.card(rx.vstack(rx.heading("Progress", size="4", as_="h2"), steps(), spacing="3", width="100%"),
                    flex="1", min_width="280px"),
            rx.box(summary(), flex="1", min_width="280px"),
            gap="1em",
            wrap="wrap",
            width="100%",
            align="start",
        ),
        rx.text(
            rx.cond(CheckoutOrderState.polling, f"This page updates by itself (at least every {POLL_MAX_S:.0f} s).",
                    rx.cond(CheckoutOrderState.settled, "", "Updates paused: reload the page to check again.")),
            " Keep the link to come back later.",
            size="1", color_scheme="gray", id="order-live",
        ),
        spacing="4",
        width="100%",
    )


@checkout_page(route=routes.ORDER_PAGE, title="Your order", on_load=CheckoutOrderState.load_order)
def order_page() -> rx.Component:
    return rx.box(
        rx.cond(
            ~CheckoutOrderState.loaded,
            rx.center(rx.spinner(size="3"), min_height="50vh"),
            rx.cond(CheckoutOrderState.not_found, not_found(), order_view()),
        ),
        on_unmount=CheckoutOrderState.stop_polling,
        width="100%",
    )
