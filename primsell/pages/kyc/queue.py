"""/kyc: the queue of identity checks, oldest first, with filters, search and paging."""

import reflex as rx

from backend.kyc.countries import countries
from backend.kyc.review import FLAGS
from backend.workflow.machines import KycState
from primsell import routes
from primsell.components.table import Column, data_table
from primsell.pages.registry import kyc_page
from primsell.state.kyc.queue import KycQueueState
from primsell.state.session import SessionState

COLUMNS = [
    Column("id", "Case"),
    Column("person", "Person"),
    Column("country", "Country"),
    Column("state", "Status"),
    Column("flags", "Flags"),
    Column("age", "Waiting"),
    Column("held_by", "Held by"),
]
STATUS_OPTIONS = [("open", "Open (waiting, in review, rejection to confirm)"), ("all", "All")] + [
    (s.value, s.value.replace("_", " ").capitalize()) for s in KycState]
SLA_COLORS = {"green": "green", "amber": "amber", "red": "red"}


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link("#", row["id"], href=row["url"], data_testid="case-link")),
        rx.table.cell(rx.vstack(rx.text(row["person"], size="2"), rx.text(row["email"], size="1", color_scheme="gray"),
                                spacing="0")),
        rx.table.cell(row["country"]),
        rx.table.cell(rx.badge(row["state_label"], variant="soft")),
        rx.table.cell(rx.cond(row["flags"] != "", rx.badge(row["flags"], color_scheme="red", variant="soft"))),
        rx.table.cell(rx.cond(row["sla"] != "",
                              rx.match(row["sla"], *[(k, rx.badge(row["age"], color_scheme=c, data_testid="sla"))
                                                     for k, c in SLA_COLORS.items()], rx.text(row["age"])),
                              rx.text(row["age"], size="2", color_scheme="gray"))),
        rx.table.cell(row["held_by"]),
        data_testid="case-row",
    )


def _filter(label: str, name: str, options: list[tuple[str, str]], value: rx.Var, on_change) -> rx.Component:  # type: ignore[no-untyped-def]
    return rx.el.select(*[rx.el.option(text, value=code) for code, text in options], value=value,
                        on_change=on_change, id=name, aria_label=label, class_name="native-select")


@kyc_page(route=routes.KYC, title="Review queue", on_load=KycQueueState.load_queue)
def queue() -> rx.Component:
    toolbar = rx.hstack(
        _filter(
            "Status", "status-filter", STATUS_OPTIONS, KycQueueState.status_filter, KycQueueState.set_status_filter
        ),
        _filter(
            "Country",
            "country-filter",
            [("", "Every country"), *countries()],
            KycQueueState.country_filter,
            KycQueueState.set_country_filter,
        ),
        _filter(
            "Flag",
            "flag-filter",
            [("", "Any flags"), *FLAGS.items()],
            KycQueueState.flag_filter,
            KycQueueState.set_flag_filter,
        ),
        spacing="2",
    )
    return rx.vstack(
        rx.hstack(rx.heading("Review queue", size="6"), rx.spacer(),
                  rx.cond(SessionState.is_platform_admin, rx.link("KYC team", href=routes.KYC_TEAM, size="2")),
                  align="center", width="100%"),
        rx.text("Identity checks are reviewed oldest first. Open a case to claim it.", color_scheme="gray", size="2"),
        data_table(KycQueueState, COLUMNS, _row, empty_message="No identity checks waiting for review",
                   search_placeholder="Case, email, name or document number", toolbar=toolbar),
        spacing="4",
        width="100%",
    )
