"""The dispatcher's hand-written airdrop call data is byte for byte what web3's contract encoder produces."""

from __future__ import annotations

import pytest
from eth_account import Account

from backend.chain.mints import _collection, airdrop_calldata


@pytest.mark.parametrize("count", [1, 3, 4, 250])
def test_airdrop_calldata_matches_web3s_encoder(count: int) -> None:
    recipients = [Account.create().address for _ in range(count)]
    recipients[0:1] = [recipients[0]] * min(2, count)  # a repeated address receives several tokens
    assert airdrop_calldata(recipients) == _collection().encode_abi("airdrop", args=[recipients])
