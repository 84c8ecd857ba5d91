"""Status badges: a campaign's status and its sale phase, each with a fixed colour."""

from __future__ import annotations

import reflex as rx

STATUS_COLORS = {"draft": "gray", "published": "green", "paused": "amber", "archived": "brown"}
STATUS_LABELS = {"draft": "Draft", "published": "Published", "paused": "Paused", "archived": "Archived"}
PHASE_COLORS = {
    "not_published": "gray",
    "not_started": "blue",
    "on_sale": "green",
    "paused": "amber",
    "sold_out": "purple",
    "ended": "gray",
}
PHASE_LABELS = {
    "not_published": "Not published",
    "not_started": "Not started",
    "on_sale": "On sale",
    "paused": "Paused",
    "sold_out": "Sold out",
    "ended": "Ended",
}


def _badge(value: rx.Var, colors: dict[str, str], labels: dict[str, str]) -> rx.Component:
    cases = [(key, rx.badge(labels[key], color_scheme=colors[key], variant="soft")) for key in colors]
    return rx.match(value, *cases, rx.badge(value, color_scheme="gray", variant="soft"))


def status_badge(status: rx.Var) -> rx.Component:
    return _badge(status, STATUS_COLORS, STATUS_LABELS)


def phase_badge(phase: rx.Var) -> rx.Component:
    return _badge(phase, PHASE_COLORS, PHASE_LABELS)
