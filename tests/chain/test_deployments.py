"""Deploy requests (`backend/chain/deployments.py`) without a chain: each is a contract paid by the platform's signer,
so a brand may ask for only so many (RATE_LIMIT_DEPLOYS_PER_BRAND), retries included."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.auth.acl import Role
from backend.campaigns.models import CampaignStatus
from backend.chain.deployments import request_deploy, retry_deploy
from backend.chain.errors import DeployRateLimited
from backend.chain.models import ContractDeployment
from backend.db import session_scope
from backend.errors import Conflict
from backend.workflow.machines import ContractState
from tests.factories import make_brand, make_campaign, make_user


def _deployment_state(campaign_id: int) -> ContractState | None:
    with session_scope() as session:
        return session.exec(select(ContractDeployment.state).where(
            ContractDeployment.campaign_id == campaign_id)).first()


def test_a_brand_asking_for_more_deploys_than_its_limit_is_refused_until_the_window_passes(configure) -> None:
    configure(RATE_LIMIT_DEPLOYS_PER_BRAND="2/day")
    brand, other_brand = make_brand(), make_brand()
    admin, other_admin = make_user(Role.BRAND_ADMIN, brand), make_user(Role.BRAND_ADMIN, other_brand)
    first, second, third = (make_campaign(brand, status=CampaignStatus.DRAFT, deployed=False) for _ in range(3))
    request_deploy(admin, first.id)  # type: ignore[arg-type]  # a draft may be deployed (a product decision)
    with pytest.raises(Conflict):
        request_deploy(admin, first.id)  # type: ignore[arg-type]  # refused for another reason: not counted
    request_deploy(admin, second.id)  # type: ignore[arg-type]
    with pytest.raises(DeployRateLimited) as caught:
        request_deploy(admin, third.id)  # type: ignore[arg-type]
    assert caught.value.status == 429 and caught.value.retry_after_s > 3600
    assert "as many contract deployments as it may (2 per day)" in caught.value.message
    assert _deployment_state(third.id) is None  # nothing requested
    request_deploy(other_admin, make_campaign(other_brand, deployed=False).id)  # type: ignore[arg-type]


def test_a_retried_deploy_counts_against_the_brands_limit(configure) -> None:
    configure(RATE_LIMIT_DEPLOYS_PER_BRAND="1/day")
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    campaign = make_campaign(brand, deployed=False)
    with session_scope() as session:
        session.add(ContractDeployment(campaign_id=campaign.id, chain=campaign.chain, state=ContractState.FAILED,
                                       error="out of gas"))
    retry_deploy(admin, campaign.id)  # type: ignore[arg-type]
    other = make_campaign(brand, deployed=False)
    with pytest.raises(DeployRateLimited):
        request_deploy(admin, other.id)  # type: ignore[arg-type]
    assert _deployment_state(campaign.id) is ContractState.DEPLOY_REQUESTED
