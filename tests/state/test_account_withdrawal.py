"""The withdrawal dialog's confirm step (primsell/state/checkout/account.py), driven without a browser: the password
comes with the form's submit and goes to the service with the tab's IP; a wrong one shows on the password field and
keeps the dialog on the confirm step; no var of the tab's state (sent to the browser or kept server-side) holds it."""

from __future__ import annotations

from typing import Any

import pytest

from backend.auth.service import WRONG_PASSWORD
from primsell.state.checkout import account
from primsell.state.checkout.account import CheckoutAccountState
from tests.factories import PASSWORD, make_user
from tests.state.harness import Tab, web_cookie

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
TYPED = "typed-in-the-dialog-77"


def _confirm_step(email: str) -> Tab:
    tab = Tab(web_cookie(email), "/account")
    state = tab.state(CheckoutAccountState)
    state.withdraw_key, state.withdraw_token_id, state.withdraw_address = "1:7", "7", WALLET
    state.dialog_open, state.dialog_step = True, "confirm"
    return tab


def test_a_wrong_password_shows_on_its_field_and_is_kept_nowhere() -> None:
    consumer = make_user(email="holder@example.com")
    tab = _confirm_step(consumer.email)
    tab.run(CheckoutAccountState.confirm_withdrawal, {"password": TYPED})
    state = tab.state(CheckoutAccountState)
    assert state.field_errors == {"password": WRONG_PASSWORD}
    assert (state.dialog_open, state.dialog_step, state.withdrawing) == (True, "confirm", False)
    assert TYPED not in tab.everything_held()


def test_the_typed_password_and_the_tabs_ip_go_to_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = make_user(email="holder@example.com")
    asked: dict[str, Any] = {}

    def withdraw_token(actor, campaign_id, token_id, to_address, *, password, ip):  # type: ignore[no-untyped-def]
        asked.update(user_id=actor.user_id, token=(campaign_id, token_id), password=password, ip=ip)
        return account.CustodialToken(campaign_id, "Aurora", "aurora", token_id, "ab" * 16, WALLET, "queued",
                                      withdrawn_to=to_address)

    monkeypatch.setattr(account, "withdraw_token", withdraw_token)
    tab = _confirm_step(consumer.email)
    tab.state(CheckoutAccountState).tokens = [{"key": "1:7", "status": "held"}]
    tab.run(CheckoutAccountState.confirm_withdrawal, {"password": PASSWORD})
    assert asked == {"user_id": consumer.user_id, "token": (1, 7), "password": PASSWORD, "ip": tab.ip}
    state = tab.state(CheckoutAccountState)
    assert state.dialog_open is False and state.tokens[0]["status"] == "queued"
    assert PASSWORD not in tab.everything_held()
