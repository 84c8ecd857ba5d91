"""/admin/orders/[order]: one order in one place - its facts, the whole timeline (transitions with who, payment
events, refunds, the mint) and, when allowed, a refund with a reason behind a confirmation."""

import reflex as rx

from primsell import routes
from primsell.components.timeline import state_badge
from primsell.pages.registry import admin_page
from primsell.state.admin.order_detail import REASON_MAX, AdminOrderDetailState

KIND_ICONS = {"created": ("shopping-cart", "gray"), "state": ("git-commit-horizontal", "violet"),
              "payment_event": ("credit-card", "blue"), "refund": ("undo-2", "amber"), "mint": ("gem", "green")}
KIND_LABELS = {"created": "Order", "state": "Transition", "payment_event": "Payment event", "refund": "Refund",
               "mint": "Chain"}


def _back() -> rx.Component:
    return rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Orders"), align="center", spacing="1"),
                   href=routes.ADMIN_ORDERS, size="2")


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def _mono(value: rx.Var, **props) -> rx.Component:
    return rx.cond(value != "", rx.code(value, size="1", variant="ghost", style={"wordBreak": "break-all"}, **props),
                   rx.text("—", color_scheme="gray", size="2"))


def facts() -> rx.Component:
    return rx.grid(
        rx.card(
            rx.vstack(
                rx.heading("Order", size="3", as_="h2"),
                rx.data_list.root(
                    _fact(
                        "Campaign",
                        rx.link(AdminOrderDetailState.campaign_name, href=AdminOrderDetailState.campaign_url),
                    ),
                    _fact(
                        "Buyer",
                        rx.hstack(
                            rx.text(AdminOrderDetailState.email, size="2"),
                            rx.cond(
                                AdminOrderDetailState.buyer_verified,
                                rx.badge("Identity verified", color_scheme="green", variant="soft"),
                                rx.badge("Identity not verified", color_scheme="gray", variant="soft"),
                            ),
                            spacing="2",
                            id="buyer-kyc",
                        ),
                    ),
                    _fact(
                        "Wallet",
                        rx.vstack(
                            _mono(AdminOrderDetailState.wallet_address, id="detail-wallet"),
                            rx.cond(AdminOrderDetailState.custodial, rx.badge("custodial", variant="soft")),
                            spacing="1",
                        ),
                    ),
                    _fact("Quantity", rx.text(AdminOrderDetailState.quantity, size="2")),
                    _fact("Amount", rx.text(AdminOrderDetailState.amount, size="2")),
                    _fact("Placed", rx.text(AdminOrderDetailState.created_at, size="2")),
                    _fact(
                        "Public page",
                        rx.link(
                            AdminOrderDetailState.public_id,
                            href=AdminOrderDetailState.order_page_url,
                            is_external=True,
                            size="2",
                        ),
                    ),
                    size="2",
                ),
                spacing="3",
            ),
        ),
        rx.card(
            rx.vstack(
                rx.heading("Payment and mint", size="3", as_="h2"),
                rx.data_list.root(
                    _fact(
                        "Provider",
                        rx.text(
                            rx.cond(
                                AdminOrderDetailState.payment_provider != "",
                                AdminOrderDetailState.payment_provider,
                                "—",
                            ),
                            size="2",
                        ),
                    ),
                    _fact("Session", _mono(AdminOrderDetailState.payment_session_id)),
                    _fact("Payment intent", _mono(AdminOrderDetailState.payment_intent_id)),
                    _fact(
                        "Paid",
                        rx.text(
                            rx.cond(
                                AdminOrderDetailState.paid_at != "",
                                AdminOrderDetailState.paid_amount + " on " + AdminOrderDetailState.paid_at,
                                "Not paid",
                            ),
                            size="2",
                        ),
                    ),
                    _fact(
                        "Refunded",
                        rx.text(
                            rx.cond(AdminOrderDetailState.refunded != "", AdminOrderDetailState.refunded, "—"), size="2"
                        ),
                    ),
                    _fact("Mint transaction", _mono(AdminOrderDetailState.tx_hash, id="detail-tx")),
                    _fact(
                        "Tokens",
                        rx.cond(
                            AdminOrderDetailState.token_ids.length() > 0,
                            rx.hstack(
                                rx.foreach(
                                    AdminOrderDetailState.token_ids, lambda t: rx.badge("#", t, variant="surface")
                                ),
                                spacing="1",
                                wrap="wrap",
                                id="detail-tokens",
                            ),
                            rx.text("—", color_scheme="gray", size="2"),
                        ),
                    ),
                    size="2",
                ),
                spacing="3",
            ),
        ),
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="4",
        width="100%",
    )


def _marker(kind: rx.Var) -> rx.Component:
    cases = [(k, rx.center(rx.icon(icon, size=12, color="white"), width="22px", height="22px", border_radius="50%",
                           background=rx.color(color, 9)))
             for k, (icon, color) in KIND_ICONS.items()]
    return rx.box(
        rx.match(kind, *cases,
                 rx.box(width="22px", height="22px", border_radius="50%", background=rx.color("gray", 8))),
        rx.box(width="2px", flex="1", background=rx.color("gray", 5), margin_top="4px"),
        display="flex", flex_direction="column", align_items="center", align_self="stretch", min_width="22px",
    )


def _entry(entry: rx.Var) -> rx.Component:
    headline = rx.cond(
        entry["kind"] == "state",
        rx.hstack(state_badge(entry["from"]), rx.icon("arrow-right", size=14, color=rx.color("gray", 10),
                                                      aria_label="to"),
                  state_badge(entry["to"]), align="center", spacing="2", wrap="wrap"),
        rx.hstack(rx.text(entry["title"], weight="medium", size="2"),
                  rx.badge(rx.match(entry["kind"], *KIND_LABELS.items(), entry["kind"]), variant="outline",
                           color_scheme="gray", size="1"),
                  align="center", spacing="2", wrap="wrap"),
    )
    return rx.el.li(
        rx.hstack(
            _marker(entry["kind"]),
            rx.vstack(
                headline,
                rx.text("by ", rx.text.strong(rx.cond(entry["actor"] != "", entry["actor"], "system")), " · ",
                        entry["at"], size="1", color_scheme="gray"),
                rx.cond(entry["detail"] != "", rx.text(entry["detail"], size="2", style={"wordBreak": "break-word"})),
                spacing="1",
                padding_bottom="1em",
                align="start",
            ),
            spacing="3",
            align="start",
        ),
        data_testid="timeline-entry",
        data_kind=entry["kind"],
    )


def order_timeline() -> rx.Component:
    """The timeline component's look (state badges, who, when) over every kind of entry, oldest first."""
    return rx.card(
        rx.vstack(
            rx.heading("Timeline", size="3", as_="h2"),
            rx.cond(
                AdminOrderDetailState.entries.length() == 0,
                rx.text("Nothing recorded yet.", color_scheme="gray", size="2", data_testid="timeline-empty"),
                rx.el.ol(rx.foreach(AdminOrderDetailState.entries, _entry),
                         style={"listStyle": "none", "margin": "0", "padding": "0", "width": "100%"},
                         aria_label="Order history", id="order-timeline"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def refund_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(rx.icon("undo-2", size=14), "Refund", color_scheme="red", variant="soft", id="refund-button"),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Refund this order in full?"),
            rx.alert_dialog.description(
                rx.text(
                    "The buyer gets ",
                    rx.text.strong(AdminOrderDetailState.amount),
                    " back. Tokens already minted stay in their wallet. This cannot be undone.",
                    as_="span",
                ),
            ),
            rx.vstack(
                rx.el.label(rx.text("Reason (the buyer sees it)", size="2", weight="medium"), html_for="refund-reason"),
                rx.text_area(
                    value=AdminOrderDetailState.refund_text,
                    on_change=AdminOrderDetailState.set_refund_text,
                    id="refund-reason",
                    rows="3",
                    max_length=REASON_MAX,
                    placeholder="e.g. The buyer asked to cancel",
                    color_scheme=rx.cond(AdminOrderDetailState.refund_error != "", "red", "gray"),
                    aria_invalid=rx.cond(AdminOrderDetailState.refund_error != "", "true", "false"),
                    width="100%",
                ),
                rx.cond(
                    AdminOrderDetailState.refund_error != "",
                    rx.text(AdminOrderDetailState.refund_error, color_scheme="red", size="1", id="refund-error"),
                ),
                spacing="1",
                width="100%",
                margin_top="1em",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button("Cancel", variant="soft", color_scheme="gray", disabled=AdminOrderDetailState.refunding)
                ),
                # Not an alert_dialog.action: the dialog stays open to show a missing reason or a refusal.
                rx.button(
                    rx.cond(AdminOrderDetailState.refunding, rx.spinner(size="1"), rx.fragment()),
                    "Refund",
                    color_scheme="red",
                    on_click=AdminOrderDetailState.refund,
                    disabled=AdminOrderDetailState.refunding,
                    id="confirm-refund",
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
            max_width="460px",
        ),
        open=AdminOrderDetailState.refund_open,
        on_open_change=AdminOrderDetailState.set_refund_open,
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text("Order ", AdminOrderDetailState.order_id, size="2", color_scheme="gray"),
            rx.heading(AdminOrderDetailState.campaign_name, size="6", id="order-heading"),
            spacing="1",
        ),
        rx.box(state_badge(AdminOrderDetailState.status), id="detail-status"),
        rx.spacer(),
        rx.cond(AdminOrderDetailState.can_refund, refund_dialog()),
        rx.cond(
            AdminOrderDetailState.can_retry_refund,
            rx.button(
                rx.cond(AdminOrderDetailState.retrying_refund, rx.spinner(size="1"), rx.icon("rotate-ccw", size=14)),
                "Send the refund again",
                color_scheme="red",
                variant="soft",
                on_click=AdminOrderDetailState.retry_refund,
                disabled=AdminOrderDetailState.retrying_refund,
                id="retry-refund-button",
            ),
        ),
        width="100%",
        align="center",
        spacing="3",
    )


def _content() -> rx.Component:
    return rx.vstack(
        _header(),
        rx.cond(
            AdminOrderDetailState.failure_reason != "",
            rx.callout(
                AdminOrderDetailState.failure_reason,
                icon="triangle_alert",
                color_scheme="red",
                width="100%",
                id="detail-failure",
            ),
        ),
        rx.cond(
            AdminOrderDetailState.refund_reason != "",
            rx.callout(
                rx.text("Refund reason: ", AdminOrderDetailState.refund_reason),
                icon="undo-2",
                color_scheme="amber",
                width="100%",
                id="detail-refund-reason",
            ),
        ),
        facts(),
        order_timeline(),
        spacing="4",
        width="100%",
    )


@admin_page(route=routes.ADMIN_ORDER, title="Order", on_load=AdminOrderDetailState.load_order)
def order_detail() -> rx.Component:
    return rx.vstack(
        _back(),
        rx.cond(
            ~AdminOrderDetailState.loaded,
            rx.hstack(rx.spinner(), rx.text("Loading…"), data_testid="order-loading"),
            rx.cond(
                AdminOrderDetailState.not_found,
                rx.callout("This order does not exist or belongs to another brand.", icon="circle-alert",
                           color_scheme="red", id="order-not-found"),
                _content(),
            ),
        ),
        spacing="4",
        width="100%",
    )
