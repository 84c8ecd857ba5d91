"""Funding a brand's vault from the admin's own wallet: who may ask for the transactions, which amounts, and that the
calldata is the vault's fundEth / the token's approve then the vault's fundToken (nothing is queued or stored: the
wallet sends it). The chain path: tests/chain/test_reward_payouts.py; the page: tests/state/test_admin_payouts.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select
from web3 import Web3

from backend.auth.acl import Role
from backend.brands.models import Brand
from backend.chain.models import ChainTransaction
from backend.db import session_scope
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.rewards import payouts
from backend.rewards import service as rewards
from backend.rewards.models import RewardVaultRow
from backend.rewards.vault import vault_contract
from backend.workflow.machines import VaultState
from contracts.artifacts import load_artifact
from tests.factories import make_brand, make_campaign, make_user

CHAIN_ID = 31337
VAULT = Web3.to_checksum_address("0x" + "5a" * 20)
TOKEN = Web3.to_checksum_address("0x" + "7c" * 20)


@pytest.fixture(autouse=True)
def _chain_id(configure):  # type: ignore[no-untyped-def]
    configure(CHAIN_ID=CHAIN_ID)  # no node to ask


def _payout(currency: str = "", *, deployed: bool = True) -> tuple[Any, int, Brand]:
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    fields = {"currency_address": currency}
    if currency:
        fields |= {"currency_decimals": 6, "currency_symbol": "USDC"}
    reward = rewards.define_reward(admin, make_campaign(brand).id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token", "amount_per_token": "1000",
        "payout_period": "week", **fields})
    if deployed:
        with session_scope() as session:
            vault = session.exec(select(RewardVaultRow).where(RewardVaultRow.brand_id == brand.id)).one()
            vault.state, vault.address = VaultState.DEPLOYED, VAULT
    return admin, reward.id, brand  # type: ignore[return-value]


def _decode(step: payouts.WalletTx, abi: list) -> tuple[str, dict]:  # type: ignore[type-arg]
    function, args = Web3().eth.contract(abi=abi).decode_function_input(step.data)
    return function.fn_name, dict(args)


def test_a_brand_admin_gets_the_vaults_fund_eth_with_the_amount_as_value_and_nothing_is_queued() -> None:
    admin, reward_id, _ = _payout()
    funding = payouts.wallet_funding(admin, reward_id, 3 * 10**15)  # type: ignore[arg-type]
    assert (funding.chain_id, funding.vault_address, funding.currency_address, funding.amount) == (
        CHAIN_ID, VAULT, "", 3 * 10**15)
    [step] = funding.steps
    assert (step.action, step.to, step.value) == ("fund", VAULT, 3 * 10**15)
    assert _decode(step, vault_contract().abi) == ("fundEth", {})
    with session_scope() as session:
        assert session.exec(select(ChainTransaction)).all() == []


def test_an_erc20_payout_is_the_tokens_exact_approve_then_the_vaults_fund_token() -> None:
    admin, reward_id, _ = _payout(TOKEN)
    funding = payouts.wallet_funding(admin, reward_id, 2_500_000)  # type: ignore[arg-type]
    approve, fund = funding.steps
    assert (approve.action, approve.to, approve.value) == ("approve", TOKEN, 0)
    assert _decode(approve, load_artifact("TestToken")["abi"]) == ("approve", {"spender": VAULT, "value": 2_500_000})
    assert (fund.action, fund.to, fund.value) == ("fund", VAULT, 0)
    assert _decode(fund, vault_contract().abi) == ("fundToken", {"token": TOKEN, "amount": 2_500_000})


def test_a_platform_admin_may_too_but_brand_staff_may_not_and_another_brands_admin_finds_nothing() -> None:
    admin, reward_id, brand = _payout()
    assert payouts.wallet_funding(make_user(Role.PLATFORM_ADMIN), reward_id, 1).steps  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        payouts.wallet_funding(make_user(Role.BRAND_STAFF, brand), reward_id, 1)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        payouts.wallet_funding(make_user(Role.BRAND_ADMIN, make_brand()), reward_id, 1)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        payouts.wallet_funding(admin, reward_id + 1000, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [0, -1, True, 2**256, 1.5, "1"])
def test_an_amount_that_is_not_a_positive_uint256_is_refused(amount: object) -> None:
    admin, reward_id, _ = _payout()
    with pytest.raises(ValidationFailed):
        payouts.wallet_funding(admin, reward_id, amount)  # type: ignore[arg-type]


def test_the_largest_uint256_is_accepted() -> None:
    admin, reward_id, _ = _payout()
    assert payouts.wallet_funding(admin, reward_id, 2**256 - 1).steps[0].value == 2**256 - 1  # type: ignore[arg-type]


def test_a_vault_not_deployed_yet_is_a_conflict_and_is_not_requested_again() -> None:
    admin, reward_id, _ = _payout(deployed=False)
    with session_scope() as session:
        before = [(v.id, v.state) for v in session.exec(select(RewardVaultRow)).all()]
    with pytest.raises(Conflict) as refused:
        payouts.wallet_funding(admin, reward_id, 10)  # type: ignore[arg-type]
    assert refused.value.status == 409 and "not deployed" in refused.value.message
    with session_scope() as session:
        assert [(v.id, v.state) for v in session.exec(select(RewardVaultRow)).all()] == before
