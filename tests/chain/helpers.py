"""Small steps the chain tests share: deploy a campaign's collection through the services, mint to addresses."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from backend.chain.deployments import deployment_status, request_deploy
from backend.chain.mints import request_mint
from backend.chain.models import ChainTransaction, MintRequest, MintStatus
from backend.db import session_scope
from tests.chain.conftest import ChainUnderTest, People
from tests.factories import make_campaign


def deploy_campaign(chain: ChainUnderTest, people: People, **campaign_fields: Any) -> tuple[Any, str]:
    campaign = make_campaign(people.brand, deployed=False, **campaign_fields)
    request_deploy(people.brand_admin, campaign.id)
    chain.run_passes(lambda: deployment_status(people.brand_admin, campaign.id).state in ("deployed", "failed"))
    status = deployment_status(people.brand_admin, campaign.id)
    assert status.state == "deployed", status
    return campaign, status.contract_address  # type: ignore[return-value]


def add_mints(campaign_id: int, wanted: list[tuple[str, str, int]]) -> None:
    with session_scope() as session:
        for key, to, quantity in wanted:
            request_mint(session, key, campaign_id, to, quantity)


def requests_by_key() -> dict[str, MintRequest]:
    with session_scope() as session:
        return {r.key: r for r in session.exec(select(MintRequest))}


def all_settled() -> bool:
    with session_scope() as session:
        return session.exec(select(MintRequest).where(MintRequest.status.in_(  # type: ignore[attr-defined]
            [MintStatus.PENDING, MintStatus.SUBMITTED]))).first() is None


def transactions() -> list[ChainTransaction]:
    with session_scope() as session:
        return list(session.exec(select(ChainTransaction).order_by(ChainTransaction.id)))  # type: ignore[arg-type]
