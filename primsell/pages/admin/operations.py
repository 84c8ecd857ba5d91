"""/admin/operations: daemons, scheduler heartbeat, outbox backlog, dead letters (retry), the error log and an
entity-history lookup; refreshed every few seconds while open."""

import reflex as rx

from primsell import routes
from primsell.components.dialogs import confirm_dialog
from primsell.components.layout import no_access
from primsell.components.table import Column, data_table
from primsell.components.timeline import state_label, timeline
from primsell.pages.registry import admin_page
from primsell.state.admin.operations import (
    ENTITY_TYPES,
    REFRESH,
    AdminOperationsHistoryState,
    AdminOperationsState,
)
from primsell.state.session import SessionState

OUTCOME_COLORS = {"ok": "green", "error": "red", "running": "blue", "lease_lost": "amber", "abandoned": "orange"}
OUTCOME_LABELS = {
    "ok": "OK", "error": "Error", "running": "Running", "lease_lost": "Lease lost", "abandoned": "Abandoned",
}
ENTITY_LABELS = {"order": "Order", "contract": "Contract", "reward": "Reward", "kyc_case": "KYC case"}

ERROR_COLUMNS = [
    Column("source", "Source"),
    Column("message", "Error"),
    Column("count", "Count"),
    Column("first_seen", "First seen"),
    Column("last_seen", "Last seen"),
]


def _header(*labels: str) -> rx.Component:
    return rx.table.header(rx.table.row(*[rx.table.column_header_cell(label) for label in labels]))


def _message_row(columns: int, content: rx.Component, test_id: str) -> rx.Component:
    return rx.table.row(rx.table.cell(rx.center(content, padding="1.5em", width="100%"), col_span=columns),
                        data_testid=test_id)


def _muted(value: rx.Var, fallback: str = "—") -> rx.Component:
    return rx.cond(value != "", rx.text(value, size="2"), rx.text(fallback, size="2", color_scheme="gray"))


def outcome_badge(outcome: rx.Var) -> rx.Component:
    cases = [(k, rx.badge(OUTCOME_LABELS[k], color_scheme=c, variant="soft")) for k, c in OUTCOME_COLORS.items()]
    return rx.match(outcome, *cases, ("", rx.badge("Never run", color_scheme="gray", variant="soft")),
                    rx.badge(outcome, color_scheme="gray", variant="soft"))


def _section(title: str, *children: rx.Component, **props) -> rx.Component:
    return rx.vstack(rx.heading(title, size="4", as_="h2"), *children, spacing="3", width="100%", **props)


# -- daemons -------------------------------------------------------------------------------------------------------

def _daemon_row(d: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(d["name"], weight="medium", size="2")),
        rx.table.cell(rx.text(d["schedule"], size="2")),
        rx.table.cell(rx.cond(d["holder"] != "", rx.code(d["holder"], size="1"),
                              rx.text("idle", size="2", color_scheme="gray"))),
        rx.table.cell(_muted(d["last_run"])),
        rx.table.cell(_muted(d["duration"])),
        rx.table.cell(outcome_badge(d["outcome"])),
        rx.table.cell(_muted(d["items"])),
        rx.table.cell(rx.cond(d["error"] != "", rx.text(d["error"], size="1", color_scheme="red", title=d["error"]),
                              rx.text("—", size="2", color_scheme="gray"))),
        rx.table.cell(_muted(d["next_run"])),
        data_testid="daemon-row",
    )


def daemons_table() -> rx.Component:
    labels = ("Daemon", "Schedule", "Lease holder", "Last run", "Duration", "Outcome", "Items", "Last error",
              "Next run")
    return rx.table.root(
        _header(*labels),
        rx.table.body(
            rx.cond(
                AdminOperationsState.daemons.length() == 0,
                _message_row(len(labels), rx.text("No daemon has registered yet: start the scheduler.",
                                                  color_scheme="gray"), "daemons-empty"),
                rx.foreach(AdminOperationsState.daemons, _daemon_row),
            )
        ),
        variant="surface",
        size="1",
        width="100%",
    )


# -- health cards --------------------------------------------------------------------------------------------------

def _stat(label: str, value: rx.Var, test_id: str) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color_scheme="gray"),
                     rx.text(value, size="5", weight="bold", data_testid=test_id), spacing="0")


def heartbeat_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("heart-pulse", size=18),
                rx.text("Scheduler", weight="medium"),
                rx.cond(AdminOperationsState.heartbeat_healthy,
                        rx.badge("Healthy", color_scheme="green", variant="solid"),
                        rx.badge("Unhealthy", color_scheme="red", variant="solid")),
                align="center",
                spacing="2",
            ),
            rx.text(AdminOperationsState.heartbeat_text, size="2", color_scheme="gray"),
            spacing="2",
            id="scheduler-heartbeat",
        ),
        flex="1",
        min_width="280px",
    )


def backlog_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("inbox", size=18), rx.text("Outbox backlog", weight="medium"), align="center", spacing="2"
            ),
            rx.hstack(
                _stat("Pending", AdminOperationsState.backlog["pending"], "backlog-pending"),
                _stat("Due now", AdminOperationsState.backlog["due"], "backlog-due"),
                _stat("Dead", AdminOperationsState.backlog["dead"], "backlog-dead"),
                spacing="6",
            ),
            rx.cond(
                AdminOperationsState.backlog["oldest"] != "",
                rx.text("Oldest pending since ", AdminOperationsState.backlog["oldest"], size="1", color_scheme="gray"),
            ),
            spacing="2",
            id="outbox-backlog",
        ),
        flex="1",
        min_width="280px",
    )


# -- dead letters --------------------------------------------------------------------------------------------------

def _dead_letter_row(x: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(x["event_id"], size="2")),
        rx.table.cell(rx.code(x["topic"], size="1")),
        rx.table.cell(_muted(x["entity"])),
        rx.table.cell(rx.text(x["subscriber"], size="2")),
        rx.table.cell(rx.text(x["attempts"], size="2")),
        rx.table.cell(rx.text(x["error"], size="1", color_scheme="red", title=x["error"])),
        rx.table.cell(rx.text(x["created_at"], size="2")),
        rx.table.cell(
            confirm_dialog(
                rx.button(rx.icon("rotate-ccw", size=14), "Retry", size="1", variant="soft"),
                title="Retry this event?",
                description="Its dead deliveries go back in the queue with a fresh attempt budget, and the relay "
                            "runs them at once. Subscribers are idempotent, so a repeat changes nothing.",
                confirm_label="Retry",
                on_confirm=AdminOperationsState.retry(x["event_id"]),
                color_scheme="blue",
            )
        ),
        data_testid="dead-letter-row",
    )


def dead_letters_table() -> rx.Component:
    labels = ("Event", "Topic", "Entity", "Subscriber", "Attempts", "Last error", "Created", "")
    return rx.table.root(
        _header(*labels),
        rx.table.body(
            rx.cond(
                AdminOperationsState.dead_letters.length() == 0,
                _message_row(len(labels), rx.text("No dead letters", color_scheme="gray"), "dead-letters-empty"),
                rx.foreach(AdminOperationsState.dead_letters, _dead_letter_row),
            )
        ),
        variant="surface",
        size="1",
        width="100%",
    )


# -- error log -----------------------------------------------------------------------------------------------------

def _error_row(e: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(e["source"], size="1")),
        rx.table.cell(rx.vstack(rx.text(e["exc_type"], size="1", weight="medium"),
                                rx.text(e["message"], size="1", color_scheme="gray", title=e["message"]),
                                spacing="0")),
        rx.table.cell(rx.text(e["count"], size="2")),
        rx.table.cell(rx.text(e["first_seen"], size="2")),
        rx.table.cell(rx.text(e["last_seen"], size="2")),
        data_testid="error-row",
    )


# -- entity history ------------------------------------------------------------------------------------------------

def history_panel() -> rx.Component:
    """Platform admins only: an id alone does not say which brand owns the entity (the state checks again)."""
    return rx.card(
        rx.vstack(
            rx.heading("Entity history", size="4", as_="h2"),
            rx.cond(
                SessionState.is_platform_admin,
                _history_lookup(),
                rx.text("Entity history lookup is limited to platform admins.", size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _history_lookup() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.el.select(
                    *[rx.el.option(ENTITY_LABELS.get(t, state_label(t)), value=t) for t in ENTITY_TYPES],
                    value=AdminOperationsHistoryState.entity_type,
                    on_change=AdminOperationsHistoryState.set_entity_type,
                    aria_label="Entity type",
                    id="history-entity-type",
                    name="entity_type",
                    class_name="native-select",
                ),
                rx.input(
                    value=AdminOperationsHistoryState.entity_id,
                    on_change=AdminOperationsHistoryState.set_entity_id,
                    placeholder="Id, e.g. 42",
                    aria_label="Entity id",
                    id="history-entity-id",
                    name="entity_id",
                    inputmode="numeric",
                    width="160px",
                    color_scheme=rx.cond(AdminOperationsHistoryState.id_error != "", "red", "gray"),
                    aria_invalid=rx.cond(AdminOperationsHistoryState.id_error != "", "true", "false"),
                ),
                rx.button(rx.icon("search", size=14), "Show history", type="submit"),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            on_submit=AdminOperationsHistoryState.look_up,
            reset_on_submit=False,
            no_validate=True,
        ),
        rx.cond(
            AdminOperationsHistoryState.id_error != "",
            rx.text(AdminOperationsHistoryState.id_error, color_scheme="red", size="1", id="history-id-error"),
        ),
        rx.cond(
            AdminOperationsHistoryState.lookup_error != "",
            rx.callout(AdminOperationsHistoryState.lookup_error, icon="lock", color_scheme="amber", size="1"),
        ),
        rx.cond(
            AdminOperationsHistoryState.looked_up != "",
            rx.vstack(
                rx.text("History of ", rx.text.strong(AdminOperationsHistoryState.looked_up), size="2"),
                timeline(
                    AdminOperationsHistoryState.entries, empty_message="No state changes recorded for this entity."
                ),
                spacing="3",
                width="100%",
                id="history-result",
            ),
        ),
        spacing="3",
        width="100%",
    )


# -- page ----------------------------------------------------------------------------------------------------------

def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.heading("Operations", size="6"),
            rx.text("Daemons, the outbox and errors across the platform.", color_scheme="gray", size="2"),
            spacing="1",
        ),
        rx.spacer(),
        rx.vstack(
            rx.button(
                rx.cond(AdminOperationsState.refreshing, rx.spinner(size="1"), rx.icon("refresh-cw", size=14)),
                "Refresh",
                on_click=AdminOperationsState.refresh,
                disabled=AdminOperationsState.refreshing,
                variant="soft",
            ),
            rx.text(
                rx.cond(
                    AdminOperationsState.polling,
                    f"Auto-refresh every {REFRESH.every_s} s · ",
                    "Auto-refresh paused · ",
                ),
                "updated ",
                AdminOperationsState.refreshed_at,
                size="1",
                color_scheme="gray",
                id="refreshed-at",
            ),
            align="end",
            spacing="1",
        ),
        width="100%",
        align="center",
    )


def _content() -> rx.Component:
    return rx.vstack(
        _toolbar(),
        rx.cond(
            AdminOperationsState.load_error != "",
            rx.callout(AdminOperationsState.load_error, color_scheme="red", icon="triangle_alert", width="100%"),
        ),
        rx.flex(heartbeat_card(), backlog_card(), gap="1em", width="100%", wrap="wrap"),
        _section("Daemons", daemons_table()),
        _section("Dead letters", dead_letters_table()),
        _section(
            "Error log",
            data_table(
                AdminOperationsState, ERROR_COLUMNS, _error_row, empty_message="No errors recorded", searchable=False
            ),
        ),
        history_panel(),
        spacing="5",
        width="100%",
    )


@admin_page(route=routes.ADMIN_OPERATIONS, title="Operations", on_load=AdminOperationsState.load_operations)
def operations() -> rx.Component:
    return rx.box(
        rx.cond(
            AdminOperationsState.forbidden,
            no_access("operations console"),
            rx.cond(
                AdminOperationsState.loaded,
                _content(),
                rx.center(rx.hstack(rx.spinner(), rx.text("Loading…"), align="center"), min_height="40vh",
                          width="100%", data_testid="operations-loading"),
            ),
        ),
        on_unmount=AdminOperationsState.stop_polling,
        width="100%",
    )
