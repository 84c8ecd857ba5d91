"""/admin/reconciliation: the last reconciliation run, totals that tie (money in, refunded, net; tokens sold, minted,
on chain), its exceptions linked to the order timeline, and "Run now" with the run's progress."""

import reflex as rx

from primsell import routes
from primsell.components.layout import no_access
from primsell.components.table import Column, data_table
from primsell.pages.registry import admin_page
from primsell.state.admin.reconciliation import AdminReconciliationState

STATUS_COLORS = {"clean": "green", "exceptions": "red", "failed": "orange", "running": "blue"}
STATUS_LABELS = {"clean": "Clean", "exceptions": "Exceptions", "failed": "Failed", "running": "Running"}

EXCEPTION_COLUMNS = [
    Column("kind", "Exception"),
    Column("reason", "Reason"),
    Column("order", "Order"),
    Column("campaign", "Campaign"),
]


def status_badge(status: rx.Var) -> rx.Component:
    cases = [(k, rx.badge(STATUS_LABELS[k], color_scheme=c, variant="soft", size="2"))
             for k, c in STATUS_COLORS.items()]
    return rx.match(status, *cases, rx.badge(status, color_scheme="gray", variant="soft"))


def _fact(label: str, value: rx.Var, test_id: str) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color_scheme="gray"),
                     rx.text(value, size="2", weight="medium", data_testid=test_id), spacing="0")


def last_run_card() -> rx.Component:
    run = AdminReconciliationState.last_run
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("scale", size=18), rx.text("Last run", weight="medium"), status_badge(run["status"]),
                      rx.text("#", run["id"], size="1", color_scheme="gray"), align="center", spacing="2"),
            rx.flex(
                _fact("Started", run["started_at"], "run-started"),
                _fact("Finished", run["finished_at"], "run-finished"),
                _fact("Covers", run["scope"], "run-scope"),
                _fact("Paid since", run["since"], "run-since"),
                _fact("Orders checked", run["orders"], "run-orders"),
                _fact("Payments from", run["provider"], "run-provider"),
                _fact("Started by", run["trigger"], "run-trigger"),
                gap="1.5em",
                wrap="wrap",
            ),
            rx.cond(run["error"] != "",
                    rx.callout(run["error"], icon="triangle_alert", color_scheme="orange", size="1", width="100%")),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="last-run",
    )


def _totals_row(t: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(t["currency"], weight="medium")),
        rx.table.cell(rx.vstack(rx.text(t["money_in"], size="2"),
                                rx.text("orders: ", t["orders_paid"], size="1", color_scheme="gray"), spacing="0")),
        rx.table.cell(rx.vstack(rx.text(t["refunded"], size="2"),
                                rx.text("orders: ", t["orders_refunded"], size="1", color_scheme="gray"),
                                spacing="0")),
        rx.table.cell(rx.text(t["net"], size="2", weight="medium")),
        rx.table.cell(rx.text(t["tokens_sold"], " / ", t["tokens_minted"], " / ", t["tokens_on_chain"], size="2"),
                      title="sold / minted (our rows) / on chain"),
        rx.table.cell(rx.text(t["supply"], size="2")),
        rx.table.cell(rx.text(t["minted"], " minted · ", t["refunded_orders"], " refunded · ", t["in_flight"],
                              " in flight", size="2"),
                      rx.cond(t["oldest"] != "", rx.text("oldest in flight: ", t["oldest"], size="1",
                                                         color_scheme="gray"))),
        rx.table.cell(rx.cond(t["ties"] == "yes", rx.badge("Ties", color_scheme="green", variant="soft"),
                              rx.badge("Does not tie", color_scheme="red", variant="soft"))),
        data_testid="totals-row",
    )


def totals_table() -> rx.Component:
    labels = ("Currency", "Money in", "Refunded", "Net", "Tokens sold / minted / on chain", "totalSupply",
              "Orders", "")
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(label) for label in labels])),
        rx.table.body(rx.foreach(AdminReconciliationState.totals, _totals_row)),
        variant="surface",
        size="1",
        width="100%",
    )


def _exception_row(e: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.badge(e["kind_label"], color_scheme="red", variant="soft")),
        rx.table.cell(rx.text(e["reason"], size="2")),
        rx.table.cell(rx.cond(e["order_url"] != "",
                              rx.link(rx.hstack(rx.text("Order ", e["order"]), rx.icon("arrow-up-right", size=12),
                                                align="center", spacing="1"), href=e["order_url"], size="2"),
                              rx.text("—", size="2", color_scheme="gray"))),
        rx.table.cell(rx.cond(e["campaign"] != "", rx.text(e["campaign"], size="2"),
                              rx.text("—", size="2", color_scheme="gray"))),
        data_testid="exception-row",
    )


def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.heading("Reconciliation", size="6"),
            rx.text(
                "Every paid order minted exactly once or refunded, checked against the payment provider and "
                "the chain. Runs nightly.",
                color_scheme="gray",
                size="2",
            ),
            spacing="1",
        ),
        rx.spacer(),
        rx.vstack(
            rx.button(
                rx.cond(AdminReconciliationState.running, rx.spinner(size="1"), rx.icon("play", size=14)),
                rx.cond(AdminReconciliationState.running, "Running…", "Run now"),
                on_click=AdminReconciliationState.run_now,
                disabled=AdminReconciliationState.running,
                id="run-now",
            ),
            rx.cond(
                AdminReconciliationState.progress != "",
                rx.text(AdminReconciliationState.progress, size="1", color_scheme="gray", id="run-progress"),
            ),
            align="end",
            spacing="1",
        ),
        width="100%",
        align="center",
    )


def _empty() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon("scale", size=32, color=rx.color("gray", 9)),
            rx.heading("No reconciliation has run yet", size="4"),
            rx.text("The nightly run will report here. Run one now to check today's orders.", color_scheme="gray",
                    size="2"),
            align="center",
            spacing="2",
            padding="2em",
        ),
        width="100%",
        id="reconciliation-empty",
    )


def _report() -> rx.Component:
    return rx.vstack(
        last_run_card(),
        rx.cond(AdminReconciliationState.totals.length() > 0,
                rx.vstack(rx.heading("Totals", size="4", as_="h2"), totals_table(), spacing="3", width="100%")),
        rx.heading("Exceptions", size="4", as_="h2"),
        data_table(AdminReconciliationState, EXCEPTION_COLUMNS, _exception_row, searchable=False,
                   empty_message="No exceptions: every paid order is minted, refunded or in flight."),
        spacing="4",
        width="100%",
    )


def _content() -> rx.Component:
    return rx.vstack(
        _toolbar(),
        rx.cond(
            AdminReconciliationState.load_error != "",
            rx.callout(AdminReconciliationState.load_error, color_scheme="red", icon="triangle_alert", width="100%"),
        ),
        rx.cond(AdminReconciliationState.last_run.length() == 0, _empty(), _report()),
        spacing="5",
        width="100%",
    )


@admin_page(
    route=routes.ADMIN_RECONCILIATION, title="Reconciliation", on_load=AdminReconciliationState.load_reconciliation
)
def reconciliation() -> rx.Component:
    return rx.box(
        rx.cond(
            AdminReconciliationState.forbidden,
            no_access("reconciliation report"),
            rx.cond(
                AdminReconciliationState.loaded,
                _content(),
                rx.center(rx.hstack(rx.spinner(), rx.text("Loading…"), align="center"), min_height="40vh",
                          width="100%", data_testid="reconciliation-loading"),
            ),
        ),
        width="100%",
    )
