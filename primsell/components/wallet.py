"""The "Connect wallet" button: asks the visitor's browser wallet for its address (primsell/state/wallet.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx


def connect_wallet_button(on_click: Any, busy: rx.Var, **props: Any) -> rx.Component:
    return rx.button(
        rx.cond(busy, rx.spinner(size="1"), rx.icon("plug-zap", size=14)),
        rx.cond(busy, "Waiting for your wallet…", "Connect wallet"),
        on_click=on_click,
        disabled=busy,
        type="button",
        variant="soft",
        size="2",
        **props,
    )
