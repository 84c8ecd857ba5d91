"""Contract deployments: `request_deploy`/`retry_deploy` for the admin, the deployer's pass that queues the
deploy transaction, and the finish hook that stores the contract address (the `contract` machine)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select
from web3 import Web3

from backend.auth.acl import Actor, Permission
from backend.auth.ratelimit import get_rate_limiter
from backend.campaigns.access import load_campaign
from backend.campaigns.models import Campaign
from backend.chain.common import COLLECTION
from backend.chain.config import chain_config
from backend.chain.errors import DeployRateLimited
from backend.chain.keys import platform_address
from backend.chain.models import ChainTransaction, ContractDeployment, TxPurpose
from backend.chain.txmanager import enqueue
from backend.db import session_scope
from backend.errors import Conflict, RateLimited
from backend.settings import get_settings
from backend.urls import API_METADATA, absolute
from backend.workflow.machines import ContractState
from backend.workflow.outbox import emit
from backend.workflow.sql import claim_batch
from backend.workflow.transitions import HistoryEntry, history, transition
from contracts.artifacts import load_artifact

DEPLOYER = "daemon:contract_deployer"


def _deployment(session: Session, campaign: Campaign, *, lock: bool = False) -> ContractDeployment | None:
    query = select(ContractDeployment).where(ContractDeployment.campaign_id == campaign.id,
                                             ContractDeployment.chain == campaign.chain)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()


def base_uri(campaign: Campaign) -> str:
    """The collection's base URI: our metadata endpoint (`tokenURI(id)` = base + id)."""
    return absolute(f"{API_METADATA}/{campaign.slug}/")


def token_symbol(campaign: Campaign) -> str:
    letters = re.sub(r"[^A-Za-z0-9]", "", campaign.slug).upper()
    return (letters or "PRIM")[:10]


def _count_deploy(campaign: Campaign) -> None:
    """Count one deploy (or retry) against the campaign's brand: every deploy is a contract paid by the platform's
    signer, and drafts may be deployed and deleted, so a brand could otherwise have it deploy without end. Counted only
    for a request that passed every other check; the transaction rolls back when it is refused."""
    rule = get_settings().deploy_rate_per_brand
    try:
        get_rate_limiter().hit(rule, f"deploy:brand:{campaign.brand_id}")
    except RateLimited as exc:
        raise DeployRateLimited(exc.retry_after_s, rule) from exc


def request_deploy(actor: Actor, campaign_id: int) -> ContractDeployment:
    """Ask for the campaign's collection to be deployed on its chain (draft -> deploy_requested)."""
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_WRITE)
        chain_config(campaign.chain)
        deployment = _deployment(session, campaign, lock=True)
        if deployment is None:
            deployment = ContractDeployment(campaign_id=campaign.id, chain=campaign.chain)  # type: ignore[arg-type]
            session.add(deployment)
            session.flush()
        if deployment.state is ContractState.FAILED:
            raise Conflict("The last deployment failed: retry it instead.")
        if deployment.state is not ContractState.DRAFT:
            raise Conflict(f"The contract is already {deployment.state.value.replace('_', ' ')}.")
        _count_deploy(campaign)
        deployment.requested_by = actor.user_id
        transition(session, deployment, "request_deploy", actor=f"user:{actor.user_id}")
        emit(session, "contract.deploy_requested",
             {"deployment_id": deployment.id, "campaign_id": campaign.id, "chain": campaign.chain},
             entity=("contract", deployment.id))
        return deployment


def retry_deploy(actor: Actor, campaign_id: int) -> ContractDeployment:
    """After a failure: queue a new deploy transaction (failed -> deploy_requested)."""
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_WRITE)
        deployment = _deployment(session, campaign, lock=True)
        if deployment is None or deployment.state is not ContractState.FAILED:
            raise Conflict("Only a failed deployment can be retried.")
        _count_deploy(campaign)
        transition(session, deployment, "retry", actor=f"user:{actor.user_id}", reason=deployment.error)
        deployment.error = ""
        emit(session, "contract.deploy_requested",
             {"deployment_id": deployment.id, "campaign_id": campaign.id, "chain": campaign.chain, "retry": True},
             entity=("contract", deployment.id))
        return deployment


def constructor_data(campaign: Campaign) -> str:
    artifact = load_artifact(COLLECTION)
    signer = platform_address()
    factory = Web3().eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receiver = campaign.royalty_receiver or signer
    return factory.constructor(
        campaign.name, token_symbol(campaign), campaign.supply_cap, signer, signer, receiver,
        campaign.royalty_bps, base_uri(campaign),
    ).data_in_transaction


def deploy_pass(batch_size: int | None = None) -> int:
    """Queue a deploy transaction for up to `batch_size` requested deployments (deploy_requested -> deploying)."""
    batch = batch_size or get_settings().deploy_batch_size
    with session_scope() as session:
        rows = [row[0] for row in claim_batch(
            session,
            select(ContractDeployment).where(ContractDeployment.state == ContractState.DEPLOY_REQUESTED)
            .order_by(col(ContractDeployment.id)),
            batch,
        )]
        for deployment in rows:
            campaign = session.get(Campaign, deployment.campaign_id)
            assert campaign is not None
            deployment.attempt += 1
            tx = enqueue(
                session, purpose=TxPurpose.DEPLOY, key=f"deploy:{deployment.id}:{deployment.attempt}",
                chain=deployment.chain, to=None, data=constructor_data(campaign), campaign_id=campaign.id,
                meta={"deployment_id": deployment.id},
            )
            deployment.tx_id = tx.id
            transition(session, deployment, "start_deploy", actor=DEPLOYER, reason=f"transaction {tx.id}")
        return len(rows)


def deploy_finished(session: Session, tx: ChainTransaction, receipt: Any) -> None:
    deployment = session.get(ContractDeployment, tx.meta.get("deployment_id"))
    if deployment is None or deployment.tx_id != tx.id or deployment.state is not ContractState.DEPLOYING:
        return
    payload = {"deployment_id": deployment.id, "campaign_id": deployment.campaign_id, "chain": deployment.chain,
               "tx_hash": tx.tx_hash}
    if tx.state.value == "confirmed" and tx.contract_address:
        deployment.contract_address = tx.contract_address
        deployment.deploy_block = tx.block_number  # where the chain indexer starts reading the collection
        transition(session, deployment, "confirm_deploy", actor=DEPLOYER, reason=tx.contract_address)
        emit(session, "contract.deployed",
             payload | {"contract_address": tx.contract_address, "deploy_block": tx.block_number},
             entity=("contract", deployment.id), key=f"contract.deployed:{deployment.id}")
    else:
        deployment.error = tx.error or tx.state.value
        transition(session, deployment, "fail_deploy", actor=DEPLOYER, reason=deployment.error)
        emit(session, "contract.deploy_failed", payload | {"error": deployment.error},
             entity=("contract", deployment.id), key=f"contract.deploy_failed:{deployment.id}:{tx.id}")


def deployed_contract(session: Session, campaign_id: int, chain: str) -> str | None:
    row = session.exec(select(ContractDeployment.contract_address).where(
        ContractDeployment.campaign_id == campaign_id, ContractDeployment.chain == chain,
        ContractDeployment.state == ContractState.DEPLOYED)).first()
    return row


@dataclass(frozen=True)
class DeploymentStatus:
    campaign_id: int
    chain: str
    state: str  # "draft" when nothing was requested yet
    tx_hash: str | None
    tx_url: str | None  # explorer link (None without an explorer)
    contract_address: str | None
    contract_url: str | None
    error: str
    history: list[HistoryEntry]


def deployment_status(actor: Actor, campaign_id: int) -> DeploymentStatus:
    """What the campaign page shows about its contract."""
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_READ)
        config = chain_config(campaign.chain)
        deployment = _deployment(session, campaign)
        if deployment is None:
            return DeploymentStatus(campaign_id, campaign.chain, ContractState.DRAFT.value, None, None, None, None,
                                    "", [])
        tx = session.get(ChainTransaction, deployment.tx_id) if deployment.tx_id else None
        tx_hash = tx.tx_hash if tx else None
        return DeploymentStatus(
            campaign_id=campaign_id, chain=campaign.chain, state=deployment.state.value, tx_hash=tx_hash,
            tx_url=config.tx_url(tx_hash), contract_address=deployment.contract_address,
            contract_url=config.address_url(deployment.contract_address),
            error=deployment.error or (tx.error if tx else ""),
            history=history(actor, "contract", deployment.id, session=session),  # type: ignore[arg-type]
        )
