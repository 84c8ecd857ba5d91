"""/admin/chain (platform admins): the platform signer's balance per chain with a low-balance warning, and every
chain transaction with status and purpose filters."""

import reflex as rx

from primsell import routes
from primsell.components.layout import no_access
from primsell.components.table import Column, data_table
from primsell.components.timeline import state_label
from primsell.pages.admin.campaign_chain import hash_link
from primsell.pages.registry import admin_page
from primsell.state.admin.chain import PURPOSES, STATUSES, AdminChainState

TX_COLORS = {"queued": "gray", "sent": "blue", "mined": "cyan", "confirmed": "green", "reverted": "red",
             "failed": "red"}
PURPOSE_LABELS = {"deploy": "Deploy", "mint_batch": "Mint batch", "transfer": "Withdrawal", "gas_topup": "Gas top-up",
                  "reward_payout": "Reward payout"}

TX_COLUMNS = [
    Column("id", "#"),
    Column("purpose", "Purpose"),
    Column("status", "Status"),
    Column("tx_hash", "Transaction"),
    Column("nonce", "Nonce"),
    Column("block", "Block"),
    Column("attempts", "Retries"),
    Column("error", "Error"),
    Column("created_at", "Created"),
]


def tx_status_badge(status: rx.Var) -> rx.Component:
    cases = [(k, rx.badge(state_label(k), color_scheme=c, variant="soft")) for k, c in TX_COLORS.items()]
    return rx.match(status, *cases, rx.badge(status, variant="soft"))


def _muted(value: rx.Var) -> rx.Component:
    return rx.cond(value != "", rx.text(value, size="2"), rx.text("—", size="2", color_scheme="gray"))


# -- balances ------------------------------------------------------------------------------------------------------

def _balance_card(b: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("wallet", size=18),
                rx.text("Platform signer", weight="medium"),
                rx.badge(b["chain"], variant="outline", color_scheme="gray"),
                align="center",
                spacing="2",
            ),
            rx.code(b["address"], size="1", variant="ghost"),
            rx.cond(
                b["error"] != "",
                rx.callout(rx.text("Balance unknown: ", b["error"], as_="span"), icon="wifi-off", color_scheme="amber",
                           size="1"),
                rx.hstack(
                    rx.text(b["balance"], size="6", weight="bold", data_testid="signer-balance"),
                    rx.text("ETH", size="3", color_scheme="gray"),
                    align="baseline",
                    spacing="2",
                ),
            ),
            rx.cond(
                b["low"] != "",
                rx.callout(
                    rx.text(rx.text.strong("Low balance. "), "Below the ", b["threshold"],
                            " ETH threshold: deploys and mints stop when gas runs out. Top up this address.",
                            as_="span"),
                    icon="triangle_alert", color_scheme="red", size="1", data_testid="low-balance-warning",
                ),
                rx.cond(b["error"] == "",
                        rx.text("Warning threshold: ", b["threshold"], " ETH", size="1", color_scheme="gray")),
            ),
            spacing="2",
        ),
        data_testid="balance-card",
        min_width="320px",
        flex="1",
    )


def balances() -> rx.Component:
    return rx.cond(
        AdminChainState.balances_loading,
        rx.card(rx.hstack(rx.spinner(), rx.text("Asking the node…", size="2"), align="center"), min_width="320px"),
        rx.cond(
            AdminChainState.balances_error != "",
            rx.callout(AdminChainState.balances_error, icon="triangle_alert", color_scheme="red"),
            rx.flex(rx.foreach(AdminChainState.balances, _balance_card), gap="1em", wrap="wrap", width="100%"),
        ),
    )


# -- transactions --------------------------------------------------------------------------------------------------

def _tx_row(t: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(t["id"], size="2")),
        rx.table.cell(rx.text(rx.match(t["purpose"], *PURPOSE_LABELS.items(), t["purpose"]), size="2")),
        rx.table.cell(tx_status_badge(t["status"])),
        rx.table.cell(rx.cond(t["tx_hash"] != "", hash_link(t["tx_hash"], t["tx_url"], t["tx_short"]),
                              rx.text("not signed yet", size="1", color_scheme="gray"))),
        rx.table.cell(_muted(t["nonce"])),
        rx.table.cell(_muted(t["block"])),
        rx.table.cell(rx.text(t["attempts"], size="2")),
        rx.table.cell(rx.cond(t["error"] != "", rx.text(t["error"], size="1", color_scheme="red", title=t["error"]),
                              rx.text("—", size="2", color_scheme="gray"))),
        rx.table.cell(rx.text(t["created_at"], size="1")),
        data_testid="tx-row",
    )


def _filter(label: str, value: rx.Var, on_change, options: list[tuple[str, str]], test_id: str) -> rx.Component:
    return rx.el.select(
        rx.el.option(label, value=""),
        *[rx.el.option(text, value=v) for v, text in options],
        value=value,
        on_change=on_change,
        aria_label=label,
        class_name="native-select",
        id=test_id,
    )


def _filters() -> rx.Component:
    return rx.hstack(
        _filter(
            "All statuses",
            AdminChainState.status_filter,
            AdminChainState.set_status_filter,
            [(s, state_label(s)) for s in STATUSES],
            "tx-status-filter",
        ),
        _filter(
            "All purposes",
            AdminChainState.purpose_filter,
            AdminChainState.set_purpose_filter,
            [(p, PURPOSE_LABELS.get(p, state_label(p))) for p in PURPOSES],
            "tx-purpose-filter",
        ),
        spacing="2",
    )


# -- page ----------------------------------------------------------------------------------------------------------

def _content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.heading("Chain", size="6"),
                rx.text("The platform signer and every transaction it sends.", color_scheme="gray", size="2"),
                spacing="1",
            ),
            rx.spacer(),
            rx.button(rx.icon("refresh-cw", size=14), "Refresh", on_click=AdminChainState.refresh, variant="soft"),
            width="100%",
            align="center",
        ),
        rx.heading("Signer balance", size="4", as_="h2"),
        balances(),
        rx.heading("Transactions", size="4", as_="h2"),
        data_table(AdminChainState, TX_COLUMNS, _tx_row, empty_message="No transactions match", searchable=False,
                   toolbar=_filters()),
        spacing="4",
        width="100%",
    )


@admin_page(route=routes.ADMIN_CHAIN, title="Chain", on_load=AdminChainState.load_chain)
def chain() -> rx.Component:
    return rx.cond(
        AdminChainState.forbidden,
        no_access("chain console"),
        rx.cond(
            AdminChainState.loaded,
            _content(),
            rx.center(rx.hstack(rx.spinner(), rx.text("Loading…"), align="center"), min_height="40vh", width="100%"),
        ),
    )
