"""RewardVault on the in-process EVM: funding, allocation, claims, push payouts, reentrancy."""

from __future__ import annotations

import pytest
from web3 import Web3

from contracts.errors import decode_revert

ETH = "0x" + "00" * 20
ETHER = 10**18
PLATFORM_ROLE = Web3.keccak(text="PLATFORM_ROLE")


@pytest.fixture(scope="session")
def vault(chain):
    return chain.deploy("RewardVault", chain.accounts.admin, chain.accounts.platform)


@pytest.fixture(scope="session")
def token(chain):
    return chain.deploy("TestToken")


def fund_token(chain, vault, token, funder, amount):
    chain.tx(token.functions.mint(funder, amount), funder)
    chain.tx(token.functions.approve(vault.address, amount), funder)
    return chain.tx(vault.functions.fundToken(token.address, amount), funder)


def test_brand_funds_with_eth_and_with_a_token(chain, vault, token, accounts):
    a, f = accounts, vault.functions
    receipt = chain.tx(f.fundEth(), a.admin, value=3 * ETHER)
    funded = chain.events(vault, receipt, "RewardFunded")[0].args
    assert (funded.token, funded.funder, funded.amount) == (ETH, a.admin, 3 * ETHER)
    receipt = chain.send_eth(a.bob, vault.address, ETHER)  # a plain transfer counts as funding too
    assert chain.events(vault, receipt, "RewardFunded")[0].args.amount == ETHER

    receipt = fund_token(chain, vault, token, a.carol, 500)
    funded = chain.events(vault, receipt, "RewardFunded")[0].args
    assert (funded.token, funded.funder, funded.amount) == (token.address, a.carol, 500)

    assert f.unallocated(ETH).call() == 4 * ETHER
    assert f.unallocated(token.address).call() == 500
    assert chain.w3.eth.get_balance(vault.address) == 4 * ETHER
    assert chain.expect_revert(f.fundEth(), a.admin, vault.abi).name == "VaultZeroAmount"
    assert chain.expect_revert(f.fundToken(ETH, 5), a.admin, vault.abi).name == "VaultNotAToken"


def test_allocations_to_many_holders_are_claimed_exactly(chain, vault, token, accounts):
    a, f = accounts, vault.functions
    fund_token(chain, vault, token, a.admin, 10_000)
    holders = [a.alice, a.bob, a.carol, a.dave, a.erin]
    amounts = [1, 250, 1_000, 3_333, 5_000]
    receipt = chain.tx(f.allocate(token.address, holders, amounts), a.platform)
    allocated = chain.events(vault, receipt, "RewardAllocated")
    assert [(e.args.token, e.args.holder, e.args.amount) for e in allocated] == [
        (token.address, h, n) for h, n in zip(holders, amounts, strict=True)
    ]
    assert f.outstanding(token.address).call() == sum(amounts)
    assert f.unallocated(token.address).call() == 10_000 - sum(amounts)

    for holder, amount in zip(holders, amounts, strict=True):
        assert f.allocationOf(token.address, holder).call() == amount
        receipt = chain.tx(f.claim(token.address), holder)
        claimed = chain.events(vault, receipt, "RewardClaimed")[0].args
        assert (claimed.token, claimed.holder, claimed.amount) == (token.address, holder, amount)
        assert token.functions.balanceOf(holder).call() == amount
    assert sum(token.functions.balanceOf(h).call() for h in holders) == sum(amounts)
    assert f.outstanding(token.address).call() == 0
    assert token.functions.balanceOf(vault.address).call() == 10_000 - sum(amounts)


def test_eth_claims_pay_the_allocation_to_the_wei(chain, vault, accounts):
    a, f, w3 = accounts, vault.functions, chain.w3
    chain.tx(f.fundEth(), a.admin, value=2 * ETHER)
    chain.tx(f.allocate(ETH, [a.alice, a.bob], [ETHER // 3, ETHER + 7]), a.platform)
    for holder, amount in ((a.alice, ETHER // 3), (a.bob, ETHER + 7)):
        before = w3.eth.get_balance(holder)
        receipt = chain.tx(f.claim(ETH), holder)
        assert w3.eth.get_balance(holder) == before + amount - chain.fee(receipt)
    assert w3.eth.get_balance(vault.address) == 2 * ETHER - ETHER // 3 - ETHER - 7
    assert f.unallocated(ETH).call() == w3.eth.get_balance(vault.address)


def test_a_repeated_holder_gets_the_sum(chain, vault, token, accounts):
    a, f = accounts, vault.functions
    fund_token(chain, vault, token, a.admin, 100)
    chain.tx(f.allocate(token.address, [a.alice, a.bob, a.alice], [10, 20, 30]), a.platform)
    chain.tx(f.allocate(token.address, [a.alice], [5]), a.platform)
    assert f.allocationOf(token.address, a.alice).call() == 45
    chain.tx(f.claim(token.address), a.alice)
    assert token.functions.balanceOf(a.alice).call() == 45


def test_cannot_allocate_more_than_the_unallocated_balance(chain, vault, token, accounts):
    a, f, abi = accounts, vault.functions, vault.abi
    fund_token(chain, vault, token, a.admin, 100)
    err = chain.expect_revert(f.allocate(token.address, [a.alice, a.bob], [60, 41]), a.platform, abi)
    assert (err.name, err.args) == (
        "VaultInsufficientUnallocated",
        {"token": token.address, "requested": 101, "available": 100},
    )
    chain.tx(f.allocate(token.address, [a.alice], [60]), a.platform)
    err = chain.expect_revert(f.allocate(token.address, [a.bob], [41]), a.platform, abi)
    assert err.args == {"token": token.address, "requested": 41, "available": 40}
    # Claims do not free anything: what was allocated stays spoken for until paid.
    chain.tx(f.claim(token.address), a.alice)
    assert chain.expect_revert(f.allocate(token.address, [a.bob], [41]), a.platform, abi).name == (
        "VaultInsufficientUnallocated"
    )
    assert chain.expect_revert(f.allocate(ETH, [a.bob], [1]), a.platform, abi).args["available"] == 0
    chain.tx(f.allocate(token.address, [a.bob], [40]), a.platform)
    assert f.unallocated(token.address).call() == 0


def test_allocate_rejects_malformed_batches(chain, vault, accounts):
    a, f, abi = accounts, vault.functions, vault.abi
    chain.tx(f.fundEth(), a.admin, value=ETHER)
    err = chain.expect_revert(f.allocate(ETH, [a.alice, a.bob], [1]), a.platform, abi)
    assert (err.name, err.args) == ("VaultInvalidBatch", {"holders": 2, "amounts": 1})
    assert chain.expect_revert(f.allocate(ETH, [], []), a.platform, abi).name == "VaultInvalidBatch"
    assert chain.expect_revert(f.allocate(ETH, [ETH], [1]), a.platform, abi).name == "VaultZeroHolder"
    assert chain.expect_revert(f.allocate(ETH, [a.alice], [0]), a.platform, abi).name == "VaultZeroAmount"
    assert f.outstanding(ETH).call() == 0


def test_only_the_platform_allocates_and_pushes_payouts(chain, vault, accounts):
    a, f, abi = accounts, vault.functions, vault.abi
    chain.tx(f.fundEth(), a.admin, value=ETHER)
    for sender in (a.admin, a.alice):
        err = chain.expect_revert(f.allocate(ETH, [a.alice], [1]), sender, abi)
        assert err.name == "AccessControlUnauthorizedAccount"
        assert err.args == {"account": sender, "neededRole": PLATFORM_ROLE}
    chain.tx(f.allocate(ETH, [a.alice], [1]), a.platform)
    assert chain.expect_revert(f.payout(ETH, a.alice), a.alice, abi).name == "AccessControlUnauthorizedAccount"
    assert chain.expect_revert(f.withdrawUnallocated(ETH, a.alice, 1), a.platform, abi).name == (
        "AccessControlUnauthorizedAccount"
    )


def test_a_second_claim_gets_nothing(chain, vault, token, accounts):
    a, f = accounts, vault.functions
    fund_token(chain, vault, token, a.admin, 100)
    chain.tx(f.allocate(token.address, [a.alice], [70]), a.platform)
    chain.tx(f.claim(token.address), a.alice)
    err = chain.expect_revert(f.claim(token.address), a.alice, vault.abi)
    assert (err.name, err.args) == ("VaultNothingToClaim", {"token": token.address, "holder": a.alice})
    assert token.functions.balanceOf(a.alice).call() == 70
    assert chain.expect_revert(f.claim(token.address), a.bob, vault.abi).name == "VaultNothingToClaim"


def test_platform_pushes_a_payout_which_cannot_then_be_claimed_again(chain, vault, token, accounts):
    a, f = accounts, vault.functions
    fund_token(chain, vault, token, a.admin, 100)
    chain.tx(f.allocate(token.address, [a.alice, a.bob], [30, 40]), a.platform)
    receipt = chain.tx(f.payout(token.address, a.alice), a.platform)
    paid = chain.events(vault, receipt, "RewardPaidOut")[0].args
    assert (paid.token, paid.holder, paid.amount, paid.operator) == (token.address, a.alice, 30, a.platform)
    assert token.functions.balanceOf(a.alice).call() == 30
    assert chain.expect_revert(f.claim(token.address), a.alice, vault.abi).name == "VaultNothingToClaim"
    assert chain.expect_revert(f.payout(token.address, a.alice), a.platform, vault.abi).name == "VaultNothingToClaim"
    assert f.allocationOf(token.address, a.bob).call() == 40


def test_a_payout_the_holder_refuses_is_rolled_back(chain, vault, collection, accounts):
    a, f = accounts, vault.functions
    chain.tx(f.fundEth(), a.admin, value=ETHER)
    refuser = collection.address  # a contract with no way to receive ETH
    chain.tx(f.allocate(ETH, [refuser], [123]), a.platform)
    err = chain.expect_revert(f.payout(ETH, refuser), a.platform, vault.abi)
    assert (err.name, err.args) == ("VaultEthTransferFailed", {"to": refuser, "amount": 123})
    assert f.allocationOf(ETH, refuser).call() == 123
    assert f.outstanding(ETH).call() == 123


def test_reentrant_claim_is_refused_and_the_attacker_is_paid_once(chain, vault, accounts):
    a, f, w3 = accounts, vault.functions, chain.w3
    attacker = chain.deploy("ReentrantClaimer", vault.address)
    chain.tx(f.fundEth(), a.admin, value=10 * ETHER)
    chain.tx(f.allocate(ETH, [attacker.address, a.alice], [ETHER, 2 * ETHER]), a.platform)

    receipt = chain.tx(attacker.functions.attack(), a.stranger)

    assert w3.eth.get_balance(attacker.address) == ETHER
    assert attacker.functions.reentryAttempts().call() == 1
    assert attacker.functions.reentrySucceeded().call() is False
    reason = attacker.functions.lastReentryError().call()
    assert decode_revert(bytes(reason), vault.abi).name == "ReentrancyGuardReentrantCall"
    assert [e.args.amount for e in chain.events(vault, receipt, "RewardClaimed")] == [ETHER]
    assert f.allocationOf(ETH, attacker.address).call() == 0
    assert chain.expect_revert(attacker.functions.attack(), a.stranger, vault.abi).name == "VaultNothingToClaim"
    # Everyone else's money is intact.
    assert w3.eth.get_balance(vault.address) == 9 * ETHER
    assert f.outstanding(ETH).call() == 2 * ETHER
    chain.tx(f.claim(ETH), a.alice)
    assert w3.eth.get_balance(vault.address) == 7 * ETHER


def test_admin_withdraws_only_what_is_unallocated(chain, vault, token, accounts):
    a, f, abi = accounts, vault.functions, vault.abi
    fund_token(chain, vault, token, a.admin, 100)
    chain.tx(f.allocate(token.address, [a.alice], [70]), a.platform)
    err = chain.expect_revert(f.withdrawUnallocated(token.address, a.dave, 31), a.admin, abi)
    assert err.args == {"token": token.address, "requested": 31, "available": 30}
    receipt = chain.tx(f.withdrawUnallocated(token.address, a.dave, 30), a.admin)
    withdrawn = chain.events(vault, receipt, "RewardWithdrawn")[0].args
    assert (withdrawn.token, withdrawn.to, withdrawn.amount) == (token.address, a.dave, 30)
    assert token.functions.balanceOf(a.dave).call() == 30
    chain.tx(f.claim(token.address), a.alice)
    assert token.functions.balanceOf(a.alice).call() == 70
