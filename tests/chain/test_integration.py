"""Deploy and mint end to end through the daemons' service passes, on the in-process EVM and on anvil."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.chain.deployments import deployment_status, request_deploy, retry_deploy
from backend.chain.keys import platform_address
from backend.chain.mints import list_tokens, minted_count
from backend.chain.models import MintStatus, TxState
from backend.db import session_scope
from backend.errors import Conflict
from backend.settings import get_settings
from backend.workflow.models import OutboxEvent
from tests.chain.helpers import (
    ChainUnderTest,
    People,
    add_mints,
    all_settled,
    deploy_campaign,
    new_address,
    requests_by_key,
    transactions,
)
from tests.factories import make_campaign


def topics() -> list[str]:
    with session_scope() as session:
        return [e.topic for e in session.exec(select(OutboxEvent).order_by(OutboxEvent.id))]  # type: ignore[arg-type]


def test_deploy_puts_a_real_collection_at_the_stored_address(chain: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(chain, people, supply_cap=50, royalty_bps=750)
    assert len(chain.w3.eth.get_code(address)) > 0
    collection = chain.collection(address)
    assert collection.functions.maxSupply().call() == 50
    receiver, amount = collection.functions.royaltyInfo(1, 10_000).call()
    assert (receiver, amount) == (campaign.royalty_receiver, 750)
    assert collection.functions.hasRole(collection.functions.MINTER_ROLE().call(), platform_address()).call()
    status = deployment_status(people.brand_admin, campaign.id)
    assert [h.to_state for h in status.history] == ["deploy_requested", "deploying", "deployed"]
    assert status.tx_hash and status.tx_hash.startswith("0x")
    assert "contract.deploy_requested" in topics() and "contract.deployed" in topics()
    with pytest.raises(Conflict):
        request_deploy(people.brand_admin, campaign.id)


def test_mint_requests_end_up_owned_by_their_addresses(chain: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(chain, people)
    alice, bob, carol = (new_address(chain.w3) for _ in range(3))
    add_mints(campaign.id, [("order:1", alice, 1), ("order:2", bob, 2), ("order:3", carol, 1), ("order:4", alice, 1)])
    chain.run_passes(all_settled)
    collection = chain.collection(address)
    requests = requests_by_key()
    assert all(r.status is MintStatus.MINTED for r in requests.values())
    owners = {"order:1": alice, "order:2": bob, "order:3": carol, "order:4": alice}
    seen: list[int] = []
    for key, request in requests.items():
        assert len(request.token_ids) == request.quantity
        for token_id in request.token_ids:
            assert collection.functions.ownerOf(token_id).call() == owners[key]
        seen += request.token_ids
    assert sorted(seen) == [1, 2, 3, 4, 5]
    assert collection.functions.totalMinted().call() == 5
    assert collection.functions.tokenURI(2).call() == f"{get_settings().public_url}/api/metadata/{campaign.slug}/2"
    assert minted_count(people.brand_admin, campaign.id).minted == 5
    page = list_tokens(people.brand_admin, campaign.id, limit=10)
    assert page.total == 5 and [t.token_id for t in page.items] == [1, 2, 3, 4, 5]
    assert all(t.tx_hash for t in page.items)
    assert topics().count("mint.completed") == 4
    # Another round of passes changes nothing: no second mint.
    chain.run_passes(lambda: True)
    assert collection.functions.totalMinted().call() == 5


def test_request_mint_is_idempotent(chain: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(chain, people)
    wallet = new_address(chain.w3)
    add_mints(campaign.id, [("order:7", wallet, 2)])
    add_mints(campaign.id, [("order:7", wallet, 2)])
    with pytest.raises(Conflict):
        add_mints(campaign.id, [("order:7", wallet, 3)])
    chain.run_passes(all_settled)
    add_mints(campaign.id, [("order:7", wallet, 2)])  # a late duplicate after minting
    chain.run_passes(lambda: True)
    assert len(requests_by_key()) == 1
    assert chain.collection(address).functions.balanceOf(wallet).call() == 2


def test_revert_is_recorded_with_its_error_name_and_not_retried(chain: ChainUnderTest, people: People) -> None:
    campaign, address = deploy_campaign(chain, people, supply_cap=3)
    add_mints(campaign.id, [("order:big", new_address(chain.w3), 5)])
    chain.run_passes(all_settled)
    request = requests_by_key()["order:big"]
    assert request.status is MintStatus.FAILED
    assert request.error == "CollectionSoldOut"
    mint_txs = [t for t in transactions() if t.purpose.value == "mint_batch"]
    assert len(mint_txs) == 1 and mint_txs[0].state is TxState.REVERTED and mint_txs[0].error == "CollectionSoldOut"
    chain.run_passes(lambda: True)
    chain.run_passes(lambda: True)
    assert len([t for t in transactions() if t.purpose.value == "mint_batch"]) == 1
    assert chain.collection(address).functions.totalMinted().call() == 0
    assert "mint.failed" in topics()


def test_failed_deploy_shows_the_reason_and_can_be_retried(chain: ChainUnderTest, people: People) -> None:
    campaign = make_campaign(people.brand, deployed=False, royalty_receiver="0x" + "0" * 40)  # the contract refuses it
    request_deploy(people.brand_admin, campaign.id)
    chain.run_passes(lambda: deployment_status(people.brand_admin, campaign.id).state == "failed")
    status = deployment_status(people.brand_admin, campaign.id)
    assert status.error == "ERC2981InvalidDefaultRoyaltyReceiver" and status.contract_address is None
    assert "contract.deploy_failed" in topics()
    from backend.campaigns.models import Campaign

    with session_scope() as session:
        session.get(Campaign, campaign.id).royalty_receiver = new_address(chain.w3)  # type: ignore[union-attr]
    retry_deploy(people.brand_admin, campaign.id)
    chain.run_passes(lambda: deployment_status(people.brand_admin, campaign.id).state == "deployed")
    address = deployment_status(people.brand_admin, campaign.id).contract_address
    assert chain.collection(address).functions.maxSupply().call() == 100
