"""A vertical timeline of an entity's state transitions (from -> to, trigger, who, why, when), with an empty state.

Order, contract, reward and KYC pages show their history with it; `timeline_rows` turns the backend's
`transitions.history()` entries into the display-ready rows `timeline(entries)` renders.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import reflex as rx

from backend.workflow.machines import MACHINES
from primsell.format import utc_datetime

# Every state of every machine gets a colour: where a workflow is going well, waiting, or has gone wrong.
_GOOD = {"paid", "minted", "fulfilled", "deployed", "claimable", "redeemed", "approved"}
_BAD = {"payment_failed", "failed", "rejected", "disputed", "revoked", "expired"}
_WAITING = {"awaiting_payment", "deploy_requested", "needs_more_info", "refund_pending", "submitted", "allocated"}
_BUSY = {"minting", "deploying", "redeeming", "in_review"}


def _color(state: str) -> str:
    if state in _GOOD:
        return "green"
    if state in _BAD:
        return "red"
    if state in _WAITING:
        return "amber"
    if state in _BUSY:
        return "blue"
    return "gray"


STATE_COLORS: dict[str, str] = {
    s.value: _color(s.value) for machine in MACHINES.values() for s in machine.states
}


def state_label(state: str) -> str:
    return state.replace("_", " ").capitalize()


def timeline_rows(entries: Iterable[Any]) -> list[dict[str, str]]:
    """HistoryEntry-shaped items (from_state, to_state, trigger, actor, reason, at) -> rows for `timeline`."""
    return [
        {
            "from": e.from_state,
            "to": e.to_state,
            "trigger": e.trigger,
            "actor": e.actor,
            "reason": e.reason,
            "at": utc_datetime(e.at, seconds=True),
        }
        for e in entries
    ]


def state_badge(state: rx.Var) -> rx.Component:
    cases = [
        (value, rx.badge(state_label(value), color_scheme=color, variant="soft"))
        for value, color in sorted(STATE_COLORS.items())
    ]
    return rx.match(state, *cases, rx.badge(state, color_scheme="gray", variant="soft"))


def _entry(entry: rx.Var) -> rx.Component:
    marker = rx.box(
        rx.box(width="10px", height="10px", border_radius="50%", background=rx.color("accent", 9), margin_top="6px"),
        rx.box(width="2px", flex="1", background=rx.color("gray", 5), margin_top="4px"),
        display="flex",
        flex_direction="column",
        align_items="center",
        align_self="stretch",
        min_width="12px",
    )
    body = rx.vstack(
        rx.hstack(
            state_badge(entry["from"]),
            rx.icon("arrow-right", size=14, color=rx.color("gray", 10), aria_label="to"),
            state_badge(entry["to"]),
            rx.code(entry["trigger"], size="1", variant="ghost"),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        rx.text(
            "by ", rx.text.strong(entry["actor"]), " · ", entry["at"],
            size="1",
            color_scheme="gray",
        ),
        rx.cond(entry["reason"] != "", rx.text(entry["reason"], size="2")),
        spacing="1",
        padding_bottom="1em",
        align="start",
    )
    return rx.el.li(
        rx.hstack(marker, body, spacing="3", align="start"),
        data_testid="timeline-entry",
    )


def timeline(entries: rx.Var, *, empty_message: str = "No state changes recorded yet.") -> rx.Component:
    """Oldest first, as `history()` returns them."""
    return rx.cond(
        entries.length() == 0,
        rx.text(empty_message, color_scheme="gray", size="2", data_testid="timeline-empty"),
        rx.el.ol(
            rx.foreach(entries, _entry),
            style={"listStyle": "none", "margin": "0", "padding": "0", "width": "100%"},
            aria_label="State history",
        ),
    )
