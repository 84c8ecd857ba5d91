"""PrimsellCollection on the in-process EVM: minting, supply cap, roles, pause, royalties, metadata, transfers."""

from __future__ import annotations

import random

import pytest
from eth_tester.exceptions import TransactionFailed
from web3 import Web3

from contracts.artifacts import load_artifact
from contracts.errors import decode_revert

ZERO = "0x" + "00" * 20
MINTER_ROLE = Web3.keccak(text="MINTER_ROLE")
ADMIN_ROLE = b"\x00" * 32


def wallets(n: int, salt: str = "w") -> list[str]:
    """Deterministic fresh addresses that have never held anything."""
    return [Web3.to_checksum_address(Web3.keccak(text=f"{salt}-{i}")[-20:]) for i in range(n)]


def test_new_collection_reports_its_configuration(collection, accounts):
    f = collection.functions
    assert (f.name().call(), f.symbol().call()) == ("Spring Drop", "SPRING")
    assert (f.maxSupply().call(), f.totalMinted().call(), f.totalSupply().call()) == (10_000, 0, 0)
    assert f.paused().call() is False
    assert f.hasRole(ADMIN_ROLE, accounts.admin).call()
    assert f.hasRole(MINTER_ROLE, accounts.minter).call()
    assert not f.hasRole(MINTER_ROLE, accounts.admin).call()
    assert f.royaltyInfo(1, 10_000).call() == [accounts.royalty, 500]
    assert f.baseURI().call() == "ipfs://cid/"


@pytest.mark.parametrize(
    "interface_id, supported",
    [
        ("0x01ffc9a7", True),  # ERC-165
        ("0x80ac58cd", True),  # ERC-721
        ("0x5b5e139f", True),  # ERC-721 Metadata
        ("0x2a55205a", True),  # ERC-2981
        ("0x49064906", True),  # ERC-4906
        ("0x7965db0b", True),  # AccessControl
        ("0x780e9d63", False),  # ERC-721 Enumerable
        ("0xffffffff", False),
    ],
)
def test_supports_the_interfaces_marketplaces_probe(collection, interface_id, supported):
    assert collection.functions.supportsInterface(bytes.fromhex(interface_id[2:])).call() is supported


def test_constructor_rejects_an_unusable_configuration(chain, accounts):
    a, artifact = accounts, load_artifact("PrimsellCollection")
    factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    cases = [
        ((0, a.admin, a.minter, a.royalty, 500), "CollectionInvalidMaxSupply"),
        ((2**32, a.admin, a.minter, a.royalty, 500), "CollectionInvalidMaxSupply"),
        ((10, ZERO, a.minter, a.royalty, 500), "CollectionZeroAddress"),
        ((10, a.admin, ZERO, a.royalty, 500), "CollectionZeroAddress"),
        ((10, a.admin, a.minter, ZERO, 500), "ERC2981InvalidDefaultRoyaltyReceiver"),
        ((10, a.admin, a.minter, a.royalty, 10_001), "ERC2981InvalidDefaultRoyalty"),
    ]
    for (max_supply, admin, minter, receiver, bps), error in cases:
        call = factory.constructor("X", "X", max_supply, admin, minter, receiver, bps, "")
        assert chain.expect_revert(call, a.admin, artifact["abi"]).name == error
    largest = chain.deploy_collection(max_supply=2**32 - 1)
    assert largest.functions.maxSupply().call() == 2**32 - 1


def test_mint_to_assigns_consecutive_ids_from_one(chain, collection, accounts):
    f, a = collection.functions, accounts
    receipt = chain.tx(f.mintTo(a.alice, 1), a.minter)
    transfers = chain.events(collection, receipt, "Transfer")
    assert [(e.args["from"], e.args.to, e.args.tokenId) for e in transfers] == [(ZERO, a.alice, 1)]

    receipt = chain.tx(f.mintTo(a.bob, 3), a.minter)
    assert [e.args.tokenId for e in chain.events(collection, receipt, "Transfer")] == [2, 3, 4]
    assert [f.ownerOf(i).call() for i in range(1, 5)] == [a.alice, a.bob, a.bob, a.bob]
    assert (f.balanceOf(a.alice).call(), f.balanceOf(a.bob).call()) == (1, 3)
    assert f.totalMinted().call() == 4
    for missing in (0, 5, 2**256 - 1):
        assert chain.expect_revert(f.approve(a.bob, missing), a.alice, collection.abi).name == "ERC721NonexistentToken"
        with pytest.raises(TransactionFailed):
            f.ownerOf(missing).call()


@pytest.mark.parametrize("count", [1, 3, 4, 50])
def test_airdrop_gives_each_distinct_wallet_its_own_token(chain, collection, accounts, count):
    f = collection.functions
    chain.tx(f.mintTo(accounts.carol, 2), accounts.minter)  # ids 1-2 taken, so the airdrop starts at 3
    recipients = wallets(count, salt=f"drop{count}")
    receipt = chain.tx(f.airdrop(recipients), accounts.minter)

    transfers = chain.events(collection, receipt, "Transfer")
    assert [(e.args["from"], e.args.to, e.args.tokenId) for e in transfers] == [
        (ZERO, r, 3 + i) for i, r in enumerate(recipients)
    ]
    assert [f.ownerOf(3 + i).call() for i in range(count)] == recipients
    assert all(f.balanceOf(r).call() == 1 for r in recipients)
    assert f.ownerOf(2).call() == accounts.carol
    assert f.totalMinted().call() == 2 + count


def test_airdrop_listing_a_wallet_twice_gives_it_two_tokens(chain, collection, accounts):
    a, f = accounts, collection.functions
    recipients = [a.alice, a.bob, a.alice, a.carol, a.dave, a.alice]
    chain.tx(f.airdrop(recipients), a.minter)
    assert [f.ownerOf(i).call() for i in range(1, 7)] == recipients
    assert f.balanceOf(a.alice).call() == 3
    # Each of them can move what it received.
    chain.tx(f.transferFrom(a.alice, a.erin, 6), a.alice)
    chain.tx(f.transferFrom(a.dave, a.erin, 5), a.dave)
    assert (f.balanceOf(a.alice).call(), f.balanceOf(a.dave).call(), f.balanceOf(a.erin).call()) == (2, 0, 2)


def test_mint_rejects_empty_oversized_and_zero_address_requests(chain, collection, accounts):
    f, m, abi = collection.functions, accounts.minter, collection.abi
    assert chain.expect_revert(f.mintTo(accounts.alice, 0), m, abi).name == "CollectionZeroQuantity"
    assert chain.expect_revert(f.airdrop([]), m, abi).name == "CollectionZeroQuantity"
    too_many = chain.expect_revert(f.mintTo(accounts.alice, 1001), m, abi)
    assert (too_many.name, too_many.args) == ("CollectionBatchTooLarge", {"requested": 1001, "limit": 1000})
    assert chain.expect_revert(f.mintTo(ZERO, 1), m, abi).name == "ERC721InvalidReceiver"
    assert chain.expect_revert(f.airdrop([accounts.alice, ZERO]), m, abi).name == "ERC721InvalidReceiver"
    assert chain.expect_revert(f.airdrop([*wallets(5)[:4], ZERO]), m, abi).name == "ERC721InvalidReceiver"
    assert f.totalMinted().call() == 0


def test_supply_cap_reverts_with_collection_sold_out(chain, accounts):
    small = chain.deploy_collection(max_supply=5)
    f, m = small.functions, accounts.minter
    chain.tx(f.mintTo(accounts.alice, 3), m)

    over = chain.expect_revert(f.mintTo(accounts.bob, 3), m, small.abi)
    assert (over.name, over.args) == ("CollectionSoldOut", {"requested": 3, "remaining": 2})
    over = chain.expect_revert(f.airdrop(wallets(4)), m, small.abi)
    assert (over.name, over.args) == ("CollectionSoldOut", {"requested": 4, "remaining": 2})

    chain.tx(f.airdrop(wallets(2)), m)
    assert f.totalMinted().call() == 5
    over = chain.expect_revert(f.mintTo(accounts.bob, 1), m, small.abi)
    assert (over.name, over.args) == ("CollectionSoldOut", {"requested": 1, "remaining": 0})
    assert f.balanceOf(accounts.bob).call() == 0


def test_only_the_minter_role_can_mint(chain, collection, accounts):
    f, a = collection.functions, accounts
    for sender in (a.admin, a.alice):
        for call in (f.mintTo(sender, 1), f.airdrop([a.bob])):
            err = chain.expect_revert(call, sender, collection.abi)
            assert (err.name, err.args) == (
                "AccessControlUnauthorizedAccount",
                {"account": sender, "neededRole": MINTER_ROLE},
            )
    # The admin can hand the role to another key, and take it back.
    chain.tx(f.grantRole(MINTER_ROLE, a.carol), a.admin)
    chain.tx(f.mintTo(a.carol, 2), a.carol)
    chain.tx(f.revokeRole(MINTER_ROLE, a.carol), a.admin)
    assert chain.expect_revert(f.mintTo(a.carol, 1), a.carol, collection.abi).name == "AccessControlUnauthorizedAccount"
    assert f.totalMinted().call() == 2


def test_only_the_admin_can_change_royalty_base_uri_pause_or_roles(chain, collection, accounts):
    f, a = collection.functions, accounts
    calls = [
        f.setDefaultRoyalty(a.alice, 100),
        f.setBaseURI("https://evil/"),
        f.pause(),
        f.unpause(),
        f.grantRole(MINTER_ROLE, a.alice),
    ]
    for sender in (a.minter, a.alice):
        for call in calls:
            err = chain.expect_revert(call, sender, collection.abi)
            assert err.name == "AccessControlUnauthorizedAccount"
            assert err.args["neededRole"] == ADMIN_ROLE
    assert f.royaltyInfo(1, 10_000).call() == [a.royalty, 500]
    assert f.baseURI().call() == "ipfs://cid/"
    assert f.paused().call() is False


def test_pause_blocks_minting_and_transfers_until_unpaused(chain, collection, accounts):
    f, a, abi = collection.functions, accounts, collection.abi
    chain.tx(f.mintTo(a.alice, 3), a.minter)
    receipt = chain.tx(f.pause(), a.admin)
    assert chain.events(collection, receipt, "Paused")[0].args.account == a.admin
    assert f.paused().call() is True

    blocked = [
        (f.mintTo(a.bob, 1), a.minter),
        (f.airdrop(wallets(5)), a.minter),
        (f.transferFrom(a.alice, a.bob, 1), a.alice),
        (f.safeTransferFrom(a.alice, a.bob, 2), a.alice),
    ]
    for call, sender in blocked:
        assert chain.expect_revert(call, sender, abi).name == "CollectionPaused"
    assert chain.expect_revert(f.pause(), a.admin, abi).name == "CollectionPaused"
    chain.tx(f.approve(a.bob, 3), a.alice)  # approvals are not transfers

    receipt = chain.tx(f.unpause(), a.admin)
    assert chain.events(collection, receipt, "Unpaused")[0].args.account == a.admin
    assert chain.expect_revert(f.unpause(), a.admin, abi).name == "CollectionNotPaused"
    chain.tx(f.transferFrom(a.alice, a.bob, 1), a.alice)
    chain.tx(f.transferFrom(a.alice, a.carol, 3), a.bob)  # the approval given while paused
    chain.tx(f.mintTo(a.bob, 1), a.minter)
    assert [f.ownerOf(i).call() for i in range(1, 5)] == [a.bob, a.alice, a.carol, a.bob]


ROYALTY_PRICES = [0, 1, 2, 9_999, 10_000, 10_001, 19_999, 10**18 + 1, 2**96, 2**255 - 1, 2**255, 2**256 - 1]


@pytest.mark.parametrize("bps", [0, 1, 250, 500, 9_999, 10_000])
def test_royalty_info_matches_integer_math_at_rounding_edges(chain, collection, accounts, bps):
    f, a = collection.functions, accounts
    receipt = chain.tx(f.setDefaultRoyalty(a.carol, bps), a.admin)
    event = chain.events(collection, receipt, "DefaultRoyaltyUpdated")[0].args
    assert (event.receiver, event.feeBasisPoints) == (a.carol, bps)
    for price in ROYALTY_PRICES:
        # Same answer for minted and unminted ids: the royalty is collection-wide.
        for token_id in (1, 7_777):
            assert f.royaltyInfo(token_id, price).call() == [a.carol, price * bps // 10_000], price


def test_royalty_cannot_exceed_the_price_or_go_to_nobody(chain, collection, accounts):
    f, a, abi = collection.functions, accounts, collection.abi
    err = chain.expect_revert(f.setDefaultRoyalty(a.carol, 10_001), a.admin, abi)
    assert (err.name, err.args) == ("ERC2981InvalidDefaultRoyalty", {"numerator": 10_001, "denominator": 10_000})
    err = chain.expect_revert(f.setDefaultRoyalty(ZERO, 100), a.admin, abi)
    assert err.name == "ERC2981InvalidDefaultRoyaltyReceiver"
    assert f.royaltyInfo(1, 10_000).call() == [a.royalty, 500]


def test_token_uri_is_the_base_uri_followed_by_the_id(chain, collection, accounts):
    f, a = collection.functions, accounts
    chain.tx(f.mintTo(a.alice, 12), a.minter)
    assert f.tokenURI(1).call() == "ipfs://cid/1"
    assert f.tokenURI(12).call() == "ipfs://cid/12"

    receipt = chain.tx(f.setBaseURI("https://meta.primsell.test/c/7/"), a.admin)
    assert chain.events(collection, receipt, "BaseURIUpdated")[0].args.baseURI == "https://meta.primsell.test/c/7/"
    refresh = chain.events(collection, receipt, "BatchMetadataUpdate")[0].args
    assert (refresh._fromTokenId, refresh._toTokenId) == (1, 2**256 - 1)
    assert f.tokenURI(10).call() == "https://meta.primsell.test/c/7/10"

    chain.tx(f.setBaseURI(""), a.admin)
    assert f.tokenURI(10).call() == ""
    with pytest.raises(TransactionFailed):
        f.tokenURI(13).call()


def test_transfers_move_lazy_batch_tokens_and_balances(chain, collection, accounts):
    f, a, abi = collection.functions, accounts, collection.abi
    chain.tx(f.mintTo(a.alice, 100), a.minter)
    chain.tx(f.airdrop([a.bob, a.carol, a.dave, a.erin]), a.minter)  # ids 101-104

    receipt = chain.tx(f.transferFrom(a.alice, a.bob, 50), a.alice)
    event = chain.events(collection, receipt, "Transfer")[0].args
    assert (event["from"], event.to, event.tokenId) == (a.alice, a.bob, 50)
    assert (f.ownerOf(49).call(), f.ownerOf(50).call(), f.ownerOf(51).call()) == (a.alice, a.bob, a.alice)
    assert (f.balanceOf(a.alice).call(), f.balanceOf(a.bob).call()) == (99, 2)

    chain.tx(f.safeTransferFrom(a.alice, a.carol, 100), a.alice)  # the last id of the batch
    chain.tx(f.safeTransferFrom(a.carol, a.alice, 102, b"gift"), a.carol)  # an airdropped id
    assert (f.ownerOf(99).call(), f.ownerOf(100).call(), f.ownerOf(101).call(), f.ownerOf(102).call()) == (
        a.alice, a.carol, a.bob, a.alice,
    )

    # Wrong owner, non-approved caller, zero receiver: the state does not move.
    err = chain.expect_revert(f.transferFrom(a.bob, a.carol, 1), a.bob, abi)
    assert (err.name, err.args) == ("ERC721IncorrectOwner", {"sender": a.bob, "tokenId": 1, "owner": a.alice})
    err = chain.expect_revert(f.transferFrom(a.alice, a.carol, 1), a.bob, abi)
    assert (err.name, err.args) == ("ERC721InsufficientApproval", {"operator": a.bob, "tokenId": 1})
    assert chain.expect_revert(f.transferFrom(a.alice, ZERO, 1), a.alice, abi).name == "ERC721InvalidReceiver"
    assert chain.expect_revert(f.transferFrom(a.alice, a.bob, 105), a.alice, abi).name == "ERC721NonexistentToken"
    assert f.ownerOf(1).call() == a.alice


def test_approved_address_can_transfer_once_and_the_approval_is_cleared(chain, collection, accounts):
    f, a, abi = collection.functions, accounts, collection.abi
    chain.tx(f.mintTo(a.alice, 10), a.minter)
    assert chain.expect_revert(f.approve(a.bob, 3), a.bob, abi).name == "ERC721InvalidApprover"
    receipt = chain.tx(f.approve(a.bob, 3), a.alice)
    approval = chain.events(collection, receipt, "Approval")[0].args
    assert (approval.owner, approval.approved, approval.tokenId) == (a.alice, a.bob, 3)
    assert (f.getApproved(3).call(), f.getApproved(4).call(), f.ownerOf(3).call()) == (a.bob, ZERO, a.alice)
    assert chain.expect_revert(f.transferFrom(a.alice, a.bob, 4), a.bob, abi).name == "ERC721InsufficientApproval"

    chain.tx(f.transferFrom(a.alice, a.carol, 3), a.bob)
    assert (f.ownerOf(3).call(), f.getApproved(3).call()) == (a.carol, ZERO)
    assert chain.expect_revert(f.transferFrom(a.carol, a.bob, 3), a.bob, abi).name == "ERC721InsufficientApproval"

    # Clearing an approval with the zero address works too.
    chain.tx(f.approve(a.bob, 5), a.alice)
    chain.tx(f.approve(ZERO, 5), a.alice)
    assert f.getApproved(5).call() == ZERO
    assert chain.expect_revert(f.transferFrom(a.alice, a.bob, 5), a.bob, abi).name == "ERC721InsufficientApproval"


def test_operator_can_move_and_approve_every_token_of_the_owner(chain, collection, accounts):
    f, a, abi = collection.functions, accounts, collection.abi
    chain.tx(f.mintTo(a.alice, 5), a.minter)
    assert chain.expect_revert(f.setApprovalForAll(ZERO, True), a.alice, abi).name == "ERC721InvalidOperator"
    receipt = chain.tx(f.setApprovalForAll(a.dave, True), a.alice)
    assert chain.events(collection, receipt, "ApprovalForAll")[0].args.approved is True
    assert f.isApprovedForAll(a.alice, a.dave).call()

    chain.tx(f.transferFrom(a.alice, a.bob, 2), a.dave)
    chain.tx(f.approve(a.erin, 4), a.dave)
    chain.tx(f.transferFrom(a.alice, a.erin, 4), a.erin)
    chain.tx(f.setApprovalForAll(a.dave, False), a.alice)
    assert chain.expect_revert(f.transferFrom(a.alice, a.bob, 5), a.dave, abi).name == "ERC721InsufficientApproval"
    assert [f.ownerOf(i).call() for i in range(1, 6)] == [a.alice, a.bob, a.alice, a.erin, a.alice]


def test_safe_transfer_to_a_contract_without_the_receiver_hook_reverts(chain, collection, accounts):
    f, a = collection.functions, accounts
    not_a_receiver = chain.deploy("RewardVault", a.admin, a.platform)
    chain.tx(f.mintTo(a.alice, 2), a.minter)
    err = chain.expect_revert(f.safeTransferFrom(a.alice, not_a_receiver.address, 1), a.alice, collection.abi)
    assert (err.name, err.args) == ("ERC721InvalidReceiver", {"receiver": not_a_receiver.address})
    chain.tx(f.transferFrom(a.alice, not_a_receiver.address, 2), a.alice)  # the unsafe variant does not ask
    assert (f.ownerOf(1).call(), f.ownerOf(2).call()) == (a.alice, not_a_receiver.address)


def test_tokens_minted_long_ago_stay_transferable_by_their_minter(chain, collection, accounts):
    """A wallet minted to many times keeps only its 4 latest mint ranges in its balance slot; older ones
    move to a bitmap. Its oldest never-moved tokens must still be provably its own."""
    f, a = collection.functions, accounts
    chain.tx(f.mintTo(a.alice, 40), a.minter)  # ids 1-40
    chain.tx(f.airdrop([a.bob, a.alice, a.carol, a.dave]), a.minter)  # alice gets 42
    for i in range(6):  # 6 more separate mints to alice: both ranges above spill
        chain.tx(f.mintTo(a.erin, 1), a.minter)
        chain.tx(f.mintTo(a.alice, 1 + i % 2), a.minter)
    assert f.balanceOf(a.alice).call() == 41 + 9
    assert (f.ownerOf(1).call(), f.ownerOf(40).call(), f.ownerOf(42).call()) == (a.alice, a.alice, a.alice)
    for token_id in (1, 20, 40, 42):
        chain.tx(f.transferFrom(a.alice, a.bob, token_id), a.alice)
        assert f.ownerOf(token_id).call() == a.bob
    err = chain.expect_revert(f.transferFrom(a.alice, a.bob, 41), a.alice, collection.abi)
    assert (err.name, err.args["owner"]) == ("ERC721IncorrectOwner", a.bob)
    assert f.balanceOf(a.bob).call() == 5


def test_a_wallet_cannot_move_never_moved_tokens_minted_next_to_its_own(chain, collection, accounts):
    """Ownership of a never-moved token is proven from the minter's own mint ranges: the ids just
    before and just after a wallet's range belong to someone else."""
    f, a, abi = collection.functions, accounts, collection.abi
    chain.tx(f.mintTo(a.bob, 1), a.minter)  # 1
    chain.tx(f.mintTo(a.alice, 3), a.minter)  # 2-4
    chain.tx(f.airdrop([a.carol, a.alice, a.dave, a.bob]), a.minter)  # 5-8: alice gets 6
    chain.tx(f.mintTo(a.erin, 2), a.minter)  # 9-10
    for token_id, owner in ((1, a.bob), (5, a.carol), (7, a.dave), (8, a.bob), (9, a.erin)):
        err = chain.expect_revert(f.transferFrom(a.alice, a.alice, token_id), a.alice, abi)
        assert (err.name, err.args["owner"]) == ("ERC721IncorrectOwner", owner), token_id
    for token_id in (2, 4, 6):
        chain.tx(f.transferFrom(a.alice, a.stranger, token_id), a.alice)
    assert [f.ownerOf(i).call() for i in range(1, 11)] == [
        a.bob, a.stranger, a.alice, a.stranger, a.carol, a.stranger, a.dave, a.bob, a.erin, a.erin,
    ]


def test_a_wallet_that_sold_everything_can_be_minted_to_again(chain, collection, accounts):
    f, a = collection.functions, accounts
    chain.tx(f.airdrop([a.alice, a.bob, a.carol, a.dave]), a.minter)  # alice: id 1
    chain.tx(f.transferFrom(a.alice, a.bob, 1), a.alice)
    assert f.balanceOf(a.alice).call() == 0
    chain.tx(f.mintTo(a.alice, 3), a.minter)  # ids 5-7
    assert f.balanceOf(a.alice).call() == 3
    chain.tx(f.transferFrom(a.alice, a.carol, 6), a.alice)
    chain.tx(f.transferFrom(a.bob, a.alice, 1), a.bob)
    assert [f.ownerOf(i).call() for i in (1, 5, 6, 7)] == [a.alice, a.alice, a.carol, a.alice]
    assert f.balanceOf(a.alice).call() == 3


def test_balance_of_the_zero_address_is_refused(chain, collection):
    with pytest.raises(TransactionFailed):
        collection.functions.balanceOf(ZERO).call()


@pytest.mark.slow
def test_ownership_matches_a_model_through_random_mints_and_transfers(chain, accounts):
    """A seeded random walk over mints, airdrops, approvals and transfers, checked against plain Python.

    It crosses every storage path: single mints, batch heads, recipient lists, the recent mint ranges of
    `_holders`, their spill into `_olderMints` (wallets minted to many times), and slots cleared at zero.
    """
    collection = chain.deploy_collection(max_supply=2_000)
    f, abi = collection.functions, collection.abi
    people = [accounts.alice, accounts.bob, accounts.carol, accounts.dave, accounts.erin, accounts.stranger]
    rng = random.Random(20240611)
    owners: dict[int, str] = {}
    minted_to: dict[int, str] = {}

    def mint(to_list: list[str]) -> None:
        start = len(owners) + 1
        for i, to in enumerate(to_list):
            owners[start + i] = to
            minted_to[start + i] = to

    for step in range(90):
        action = rng.random()
        if action < 0.25:
            to, qty = rng.choice(people), rng.choice([1, 1, 2, 3, 7, 30])
            chain.tx(f.mintTo(to, qty), accounts.minter)
            mint([to] * qty)
        elif action < 0.4:
            batch = [rng.choice(people) for _ in range(rng.choice([1, 2, 3, 4, 6, 12]))]
            chain.tx(f.airdrop(batch), accounts.minter)
            mint(batch)
        elif owners:
            token_id = rng.choice(list(owners))
            owner = owners[token_id]
            to = rng.choice(people)
            if rng.random() < 0.15:  # a wrong `from` must be refused whatever the storage path
                liar = rng.choice([p for p in people if p != owner])
                err = chain.expect_revert(f.transferFrom(liar, to, token_id), liar, abi)
                assert (err.name, err.args.get("owner")) == ("ERC721IncorrectOwner", owner), step
                continue
            if rng.random() < 0.2:  # via a one-off approval
                spender = rng.choice([p for p in people if p != owner])
                chain.tx(f.approve(spender, token_id), owner)
                chain.tx(f.transferFrom(owner, to, token_id), spender)
            else:
                chain.tx(f.transferFrom(owner, to, token_id), owner)
            owners[token_id] = to

    assert f.totalMinted().call() == len(owners)
    assert [f.ownerOf(t).call() for t in sorted(owners)] == [owners[t] for t in sorted(owners)]
    for person in people:
        assert f.balanceOf(person).call() == sum(1 for o in owners.values() if o == person)
    # Nobody else can move a token, least of all the wallets minted the neighbouring ids.
    for token_id, owner in owners.items():
        suspects = {minted_to.get(token_id - 1), minted_to.get(token_id + 1), minted_to[token_id]}
        for liar in suspects - {None, owner}:
            with pytest.raises(TransactionFailed) as info:
                f.transferFrom(liar, liar, token_id).call({"from": liar})
            assert decode_revert(info.value, abi).args["owner"] == owner, token_id
    # Every never-moved or moved token can still be moved by its owner.
    for token_id in rng.sample(sorted(owners), 10):
        chain.tx(f.transferFrom(owners[token_id], accounts.platform, token_id), owners[token_id])
        assert f.ownerOf(token_id).call() == accounts.platform
