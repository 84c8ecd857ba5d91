"""Reading a browser wallet's answer (primsell/state/wallet.py): the account checksummed, or what to tell the buyer."""

from __future__ import annotations

import pytest

from primsell.state import wallet

ADDRESS = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def test_the_wallets_account_comes_back_checksummed() -> None:
    assert wallet.connected_address({"address": ADDRESS.lower()}) == ADDRESS


@pytest.mark.parametrize(("answer", "message"), [
    ({"error": "no_wallet"}, wallet.NO_WALLET),
    ({"error": "no_account"}, wallet.NO_ACCOUNT),
    ({"error": "failed", "code": 4001}, wallet.REJECTED),
    ({"error": "failed", "code": -32002}, wallet.PENDING),
    ({"error": "failed", "code": None}, wallet.FAILED),
    ({"address": 42}, wallet.FAILED),
    ("0x123", wallet.FAILED),
    (None, wallet.FAILED),
])
def test_every_other_answer_says_what_to_do(answer: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        wallet.connected_address(answer)
    assert str(caught.value) == message


def test_a_malformed_address_from_a_wallet_is_refused() -> None:
    with pytest.raises(ValueError, match="Your wallet answered with an address that is not a valid address"):
        wallet.connected_address({"address": "0x1234"})
