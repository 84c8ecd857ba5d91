"""Custodial wallets: deterministic per user, distinct between users, and a withdrawal really moves the token."""

from __future__ import annotations

import pytest
from eth_account import Account

from backend.chain.keys import custodial_account, custodial_address
from backend.chain.mints import list_tokens
from backend.chain.models import TxState
from backend.errors import NotFound
from tests.chain.helpers import (
    ChainUnderTest,
    People,
    add_mints,
    all_settled,
    deploy_campaign,
    new_address,
    queue_custodial_withdrawal,
    requests_by_key,
    transactions,
)

MNEMONIC = "test test test test test test test test test test test junk"


def test_custodial_address_is_deterministic_and_differs_per_user() -> None:
    assert custodial_address(7) == custodial_address(7)
    assert len({custodial_address(n) for n in range(1, 20)}) == 19


def test_a_mnemonic_seed_follows_the_standard_path(configure) -> None:  # type: ignore[no-untyped-def]
    configure(CUSTODY_SEED=MNEMONIC)
    Account.enable_unaudited_hdwallet_features()
    assert custodial_address(3) == Account.from_mnemonic(MNEMONIC, account_path="m/44'/60'/0'/0/3").address
    assert MNEMONIC not in repr(custodial_account(3)) and "junk" not in repr(__import__("backend.settings",
                                                                                          fromlist=["x"]).get_settings())


def test_withdrawal_moves_the_token_to_the_users_own_wallet(chain: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(chain, people)
    custodial = custodial_address(people.consumer.user_id)
    add_mints(campaign.id, [("order:1", custodial, 2)])
    chain.run_passes(all_settled)
    token_id = requests_by_key()["order:1"].token_ids[1]
    own_wallet = new_address(chain.w3)
    with pytest.raises(NotFound):  # not someone else's token
        queue_custodial_withdrawal(people.brand_admin, campaign.id, token_id, own_wallet)
    tx = queue_custodial_withdrawal(people.consumer, campaign.id, token_id, own_wallet)
    assert queue_custodial_withdrawal(people.consumer, campaign.id, token_id, own_wallet).id == tx.id
    chain.run_passes(lambda: all(t.state is TxState.CONFIRMED for t in transactions()))
    collection = chain.collection(address)
    assert collection.functions.ownerOf(token_id).call() == own_wallet
    assert collection.functions.ownerOf(token_id - 1).call() == custodial
    owners = {t.token_id: t.owner for t in list_tokens(people.brand_admin, campaign.id).items}
    assert owners[token_id] == own_wallet
    with pytest.raises(NotFound):  # it is no longer in the custodial wallet
        queue_custodial_withdrawal(people.consumer, campaign.id, token_id, new_address(chain.w3))


def test_platform_signer_from_an_encrypted_keystore(configure, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from eth_keyfile import create_keyfile_json

    from backend.chain.keys import platform_address

    account = Account.create()
    keyfile = tmp_path / "signer.json"
    keyfile.write_text(json.dumps(create_keyfile_json(bytes(account.key), b"pw-123", iterations=2)))
    configure(SIGNER_KEYSTORE=str(keyfile), SIGNER_KEYSTORE_PASSWORD="pw-123")
    assert platform_address() == account.address
    configure(SIGNER_KEYSTORE_PASSWORD="wrong")
    with pytest.raises(ValueError):
        platform_address()
