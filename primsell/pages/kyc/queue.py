"""/kyc: the queue of identity checks waiting for review."""

import reflex as rx

from primsell import routes
from primsell.components.layout import kyc_shell
from primsell.components.table import Column, data_table
from primsell.pages.registry import surface_page
from primsell.state.kyc.queue import KycQueueState as S

kyc_page = surface_page("kyc", kyc_shell, signed_in=True)

COLUMNS = [
    Column("created_at", "Submitted", sortable=True),
    Column("subject", "Person"),
    Column("brand", "Brand"),
    Column("status", "Status"),
]


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(*[rx.table.cell(row[c.key]) for c in COLUMNS])


@kyc_page(route=routes.KYC, title="Review queue", on_load=S.load_queue)
def queue() -> rx.Component:
    return rx.vstack(
        rx.heading("Review queue", size="6"),
        rx.text("Identity checks are reviewed oldest first.", color_scheme="gray", size="2"),
        data_table(S, COLUMNS, _row, empty_message="No identity checks waiting for review", searchable=False),
        spacing="4",
        width="100%",
    )
