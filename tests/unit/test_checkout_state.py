"""The campaign page's buy box (primsell/state/checkout/campaign.py), driven without a browser: whatever
start_checkout raises, the buyer gets Pay back and a message, never a spinner that turns forever."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from backend.orders.errors import NotOnSale
from primsell.state.checkout import campaign
from primsell.state.checkout.campaign import UNEXPECTED_ERROR, CheckoutBuyState

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def _submit(state: CheckoutBuyState, form: dict[str, Any]) -> None:
    async def run() -> None:
        async for _ in CheckoutBuyState.submit_checkout.fn(state, form):  # type: ignore[attr-defined]
            pass

    # In a thread of its own: the browser tests' (session-wide) Playwright keeps an event loop running in the main
    # thread, where asyncio.run() refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


def _buy_box(monkeypatch: pytest.MonkeyPatch, error: Exception) -> CheckoutBuyState:
    def failing_checkout(*args: object) -> None:
        raise error

    monkeypatch.setattr(campaign, "start_checkout", failing_checkout)
    state = CheckoutBuyState(_reflex_internal_init=True)  # type: ignore[call-arg]
    state.slug, state.quoted = "aurora-founders", True
    _submit(state, {"email": "buyer@example.com", "wallet_address": WALLET})
    return state


def test_an_unexpected_error_gives_pay_back_with_a_generic_message(monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger=campaign.__name__):
        state = _buy_box(monkeypatch, RuntimeError("connection to the database lost"))
    assert state.paying is False
    assert state.form_error == UNEXPECTED_ERROR == ("Something went wrong on our side; you were not charged. "
                                                    "Please try again.")
    assert "connection to the database lost" not in state.form_error  # the cause goes to the log only
    assert any(r.exc_info and "connection to the database lost" in str(r.exc_info[1]) for r in caplog.records)


def test_a_refusal_the_buyer_can_act_on_is_shown_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    state = _buy_box(monkeypatch, NotOnSale("This collection is not on sale yet."))
    assert state.paying is False
    assert (state.form_error, state.error_kind) == ("This collection is not on sale yet.", "not_on_sale")
