"""The campaign page's buy box (primsell/state/checkout/campaign.py), driven without a browser: whatever
start_checkout raises, the buyer gets Pay back and a message, never a spinner that turns forever; over the checkout
abuse limits, a message that says why and when to come back."""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from backend.orders.errors import NotOnSale
from primsell.state.checkout import campaign
from primsell.state.checkout.campaign import UNEXPECTED_ERROR, CheckoutBuyState
from tests.factories import make_brand, make_campaign

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
    def failing_checkout(*args: object, **kwargs: object) -> None:  # kwargs: actor= (who is signed in)
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


def _buy_box_for(slug: str, quantity: int = 1) -> CheckoutBuyState:
    state = CheckoutBuyState(_reflex_internal_init=True)  # type: ignore[call-arg]
    state.slug, state.quoted, state.quantity, state.max_quantity = slug, True, quantity, 10
    return state


def test_a_buyer_over_the_checkout_limits_reads_why_and_when_to_come_back(configure) -> None:
    """The real start_checkout, from a page whose client address is one network's: its limits are the API's."""
    configure(RATE_LIMIT_CHECKOUT_PER_IP="2/hour", ORDER_MAX_UNPAID_PER_IP=1000)
    slug = make_campaign(make_brand(), supply_cap=10).slug  # a fifth: 2
    first = _buy_box_for(slug, quantity=2)
    _submit(first, {"email": "first@example.com", "wallet_address": WALLET})
    assert first.form_error == "" and first.paying  # on its way to the payment page

    capped = _buy_box_for(slug)
    _submit(capped, {"email": "second@example.com", "wallet_address": WALLET.lower()})
    assert capped.paying is False and capped.error_kind == "reservation_limit"
    assert capped.form_error.startswith("To keep this sale fair, one network may reserve at most 2 of the 10 tokens")
    assert "wait until they expire (by " in capped.form_error

    limited = _buy_box_for(slug)
    _submit(limited, {"email": "third@example.com", "wallet_address": WALLET})
    assert limited.paying is False and limited.error_kind == "rate_limited"
    assert re.fullmatch(r"Too many orders from your network in a short time\. Try again in \d+ minutes\.",
                        limited.form_error)


def test_a_campaign_asking_for_kyc_sends_the_buyer_to_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.kyc.errors import KycRequired

    refusal = KycRequired("Verify your identity to continue.", purpose="purchase", status_now="none",
                          verify_path="/kyc/verify?next=%2Fc%2Faurora-founders")
    state = _buy_box(monkeypatch, refusal)
    assert state.paying is False and state.error_kind == "kyc"
    assert state.kyc_verify_url == "/kyc/verify?next=%2Fc%2Faurora-founders"
