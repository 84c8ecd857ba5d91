"""The dispatcher's hand-written airdrop call data is byte for byte what web3's contract encoder produces."""

from __future__ import annotations

import pytest
from eth_account import Account

from backend.chain.common import collection_contract
from backend.chain.mints import airdrop_calldata


@pytest.mark.parametrize("count", [1, 3, 4, 250])
def test_airdrop_calldata_matches_web3s_encoder(count: int) -> None:
    recipients = [Account.create().address for _ in range(count)]
    recipients[0:1] = [recipients[0]] * min(2, count)  # a repeated address receives several tokens
    assert airdrop_calldata(recipients) == collection_contract().encode_abi("airdrop", args=[recipients])


def test_minted_token_ids_read_from_topics_match_web3s_event_decoder(chain, people) -> None:  # type: ignore[no-untyped-def]
    """On a real receipt of each backend: a mint batch of 1, 3 and 5 recipients (owners stored one by one, and as a
    recipient list from 4), and a repeated recipient."""
    from sqlmodel import select
    from web3.logs import DISCARD

    from backend.chain.mints import minted_token_ids
    from backend.chain.models import ChainTransaction, TxPurpose
    from backend.db import session_scope
    from tests.chain.helpers import add_mints, all_settled, deploy_campaign

    campaign, address = deploy_campaign(chain, people)
    alice, bob = Account.create().address, Account.create().address
    add_mints(campaign.id, [("a", alice, 1), ("b", bob, 3), ("c", alice, 1)])
    chain.run_passes(all_settled)
    with session_scope() as session:
        batches = session.exec(select(ChainTransaction).where(ChainTransaction.purpose == TxPurpose.MINT_BATCH)).all()
    assert batches
    for tx in batches:
        receipt = chain.w3.eth.get_transaction_receipt(tx.mined_hash)
        events = chain.collection(address).events.Transfer().process_receipt(receipt, errors=DISCARD)
        expected = sorted(((e["args"]["to"].lower(), int(e["args"]["tokenId"])) for e in events
                           if int(e["args"]["from"], 16) == 0), key=lambda m: m[1])
        assert minted_token_ids(tx, receipt) == expected and expected
