"""Factories for test data: real rows through the real models and services, with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from backend.auth.acl import Actor, Role
from backend.auth.models import Membership
from backend.auth.service import create_user, load_actor
from backend.brands.models import Brand
from backend.campaigns.models import Campaign, CampaignStatus
from backend.chain.models import ContractDeployment
from backend.db import session_scope, utcnow
from backend.workflow.machines import ContractState

PASSWORD = "correct-horse-battery-9"
_seq = itertools.count(1)


def make_brand(**overrides: Any) -> Brand:
    n = next(_seq)
    with session_scope() as session:
        brand = Brand(**({"slug": f"brand-{n}", "name": f"Brand {n}"} | overrides))
        session.add(brand)
        session.flush()
        return brand


def make_user(role: Role = Role.CONSUMER, brand: Brand | None = None, *, email: str | None = None,
              password: str = PASSWORD) -> Actor:
    """A user with one membership (none for a consumer); returns their Actor."""
    email = email or f"user{next(_seq)}@example.com"
    with session_scope() as session:
        user = create_user(session, email, password)
        if role is not Role.CONSUMER:
            session.add(Membership(user_id=user.id, brand_id=brand.id if brand else None, role=role))  # type: ignore[arg-type]
        session.flush()
        return load_actor(session, user)


def campaign_fields(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    now = utcnow()
    return {
        "slug": f"campaign-{n}",
        "name": f"Campaign {n}",
        "description": "A test campaign",
        "price_minor": 2500,
        "currency": "USD",
        "supply_cap": 100,
        "per_wallet_cap": 5,
        "sale_starts_at": now - timedelta(days=1),
        "sale_ends_at": now + timedelta(days=30),
        "royalty_bps": 500,
        "royalty_receiver": "0x8ba1f109551bD432803012645Ac136ddd64DBA72",
    } | overrides


def make_campaign(brand: Brand, *, status: CampaignStatus = CampaignStatus.PUBLISHED, deployed: bool | None = None,
                  **overrides: Any) -> Campaign:
    """A campaign; unless a draft (or `deployed=False`) its collection contract is recorded as deployed, so it can
    be bought without a chain. Tests that deploy through a chain (tests.chain.helpers.deploy_campaign) pass
    `deployed=False`: the deployer would find the contract deployed already."""
    with session_scope() as session:
        campaign = Campaign(brand_id=brand.id, status=status, **campaign_fields(**overrides))  # type: ignore[arg-type]
        session.add(campaign)
        session.flush()
    if deployed is None:
        deployed = status is not CampaignStatus.DRAFT
    if deployed:
        record_deployed_contract(campaign)
    return campaign


def record_deployed_contract(campaign: Campaign, address: str | None = None) -> str:
    """Record the campaign's collection as deployed on its chain, as the deployer would once its transaction
    confirmed, but with no chain: for tests that buy and fake the mint. Returns the (made-up) contract address."""
    address = address or "0x" + f"c0ffee{campaign.id:034x}"
    with session_scope() as session:
        session.add(ContractDeployment(campaign_id=campaign.id, chain=campaign.chain,  # type: ignore[arg-type]
                                       state=ContractState.DEPLOYED, contract_address=address))
    return address


def make_allocated_payout(admin: Any, campaign: Campaign, holders: list[str], amount_per_token: int) -> int:
    """A fixed-per-token payout reward of `campaign` whose vault is recorded as deployed (no chain) and whose first
    period allocated `amount_per_token` to each of `holders` (one token each), unclaimed. Returns the reward id."""
    from sqlmodel import select

    from backend.rewards import service as rewards
    from backend.rewards.models import RewardAllocation, RewardPeriod, RewardVaultRow
    from backend.workflow.machines import PeriodState, VaultState

    reward = rewards.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token",
        "amount_per_token": str(amount_per_token), "currency_address": "", "payout_period": "week"})
    now = utcnow()
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow).where(RewardVaultRow.brand_id == campaign.brand_id)).one()
        vault.state, vault.address = VaultState.DEPLOYED, "0x" + "5a" * 20
        period = RewardPeriod(reward_id=reward.id, brand_id=campaign.brand_id, vault_id=vault.id,  # type: ignore[arg-type]
                              period_index=0, starts_at=now - timedelta(days=8), ends_at=now - timedelta(days=1),
                              state=PeriodState.ALLOCATED, amount=amount_per_token * len(holders),
                              holders=len(holders), tokens=len(holders))
        session.add(period)
        session.flush()
        for n, holder in enumerate(holders):
            session.add(RewardAllocation(reward_id=reward.id, period_id=period.id, vault_id=vault.id,  # type: ignore[arg-type]
                                         holder=holder, tokens=1, amount=amount_per_token, batch=0, allocated_block=9,
                                         allocated_log_index=n))
    return reward.id  # type: ignore[return-value]
