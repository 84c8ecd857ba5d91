"""Rewards: admins define, change and end a campaign's rewards and act on payouts (fund the vault, push payouts,
retry a failed period); holders list their perks and get QR codes; staff redeem codes. Thin: parse -> service ->
serialize."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, status
from fastapi.security import HTTPAuthorizationCredentials

from backend.api.deps import (
    V1_DEPENDENCIES,
    ClientIp,
    CurrentActor,
    OptionalActor,
    bearer_actor,
    bearer_scheme,
)
from backend.api.reward_schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    ClaimableList,
    ClaimableOut,
    EmptyRequest,
    FundRequest,
    HolderPerkList,
    HolderPerkOut,
    OnlineRedemptionOut,
    PayoutTxOut,
    PeriodList,
    PeriodOut,
    PeriodRetryOut,
    PerkRequest,
    PushAllOut,
    PushRequest,
    QrCodeOut,
    RedeemRequest,
    RewardChangeList,
    RewardChangeOut,
    RewardEndRequest,
    RewardList,
    RewardOut,
    ScanOut,
)
from backend.api.schemas import MAX_ID
from backend.auth.acl import Actor
from backend.auth.siwe import proven_address
from backend.errors import NotAuthenticated
from backend.rewards import payouts, redemption, service
from backend.rewards.holdings import Holder, account_holder
from backend.rewards.qr import qr_svg_data_url
from backend.rewards.schemas import RewardFields, RewardUpdate
from backend.workflow.machines import RewardState

router = APIRouter(prefix="/api/v1", dependencies=V1_DEPENDENCIES, tags=["rewards"])

CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]
RewardId = Annotated[int, Path(ge=1, le=MAX_ID)]
PeriodId = Annotated[int, Path(ge=1, le=MAX_ID)]
IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", min_length=1, max_length=64, pattern=IDEMPOTENCY_KEY_PATTERN,
    description="Your key for this funding (e.g. a UUID): the same key funds once, however often it is sent.")]


@router.get("/campaigns/{campaign_id}/rewards", response_model=RewardList)
def list_rewards(campaign_id: CampaignId, actor: CurrentActor,
                 state: Annotated[RewardState | None, Query()] = None) -> RewardList:
    return RewardList(items=[RewardOut.of(r) for r in service.list_rewards(actor, campaign_id, state=state)])


@router.post("/campaigns/{campaign_id}/rewards", response_model=RewardOut, status_code=status.HTTP_201_CREATED)
def define_reward(campaign_id: CampaignId, body: RewardFields, actor: CurrentActor) -> RewardOut:
    return RewardOut.of(service.define_reward(actor, campaign_id, body.model_dump(exclude_unset=True)))


@router.get("/rewards/{reward_id:int}", response_model=RewardOut)
def get_reward(reward_id: RewardId, actor: CurrentActor) -> RewardOut:
    return RewardOut.of(service.get_reward(actor, reward_id))


@router.patch("/rewards/{reward_id:int}", response_model=RewardOut)
def update_reward(reward_id: RewardId, body: RewardUpdate, actor: CurrentActor) -> RewardOut:
    return RewardOut.of(service.update_reward(actor, reward_id, body.model_dump(exclude_unset=True)))


@router.post("/rewards/{reward_id}/end", response_model=RewardOut)
def end_reward(reward_id: RewardId, body: RewardEndRequest, actor: CurrentActor) -> RewardOut:
    return RewardOut.of(service.end_reward(actor, reward_id, body.reason))


@router.get("/rewards/{reward_id}/changes", response_model=RewardChangeList)
def reward_changes(reward_id: RewardId, actor: CurrentActor) -> RewardChangeList:
    return RewardChangeList(items=[RewardChangeOut.model_validate(c, from_attributes=True)
                                   for c in service.reward_changes(actor, reward_id)])


@router.get("/rewards/{reward_id}/periods", response_model=PeriodList)
def reward_periods(reward_id: RewardId, actor: CurrentActor) -> PeriodList:
    """A payout's periods, newest first: snapshot block, amount, claimed and unclaimed, transactions (a perk: none)."""
    return PeriodList(items=[PeriodOut.of(v) for v in payouts.list_periods(actor, reward_id)])


# --- payout admin actions (brand admins of the reward's brand; another brand's rows: 404) --------------------------
# Each queues transactions for the transaction manager and answers 202 with what was queued; the chain does the rest.

@router.post("/rewards/{reward_id}/fund", response_model=PayoutTxOut, status_code=status.HTTP_202_ACCEPTED)
def fund_reward_vault(reward_id: RewardId, body: FundRequest, actor: CurrentActor,
                      idempotency_key: IdempotencyKey) -> PayoutTxOut:
    """Send `amount` base units of the payout's currency from the platform signer to the brand's reward vault. An
    ERC-20 funding waits for the signer's one-time approval of the vault for that token (queued with the first
    funding). 409: the vault is not deployed yet, or the key was used for another amount."""
    return PayoutTxOut.of(payouts.fund_vault(actor, reward_id, body.base_units(), idempotency_key))


@router.post("/rewards/{reward_id}/push", response_model=PayoutTxOut, status_code=status.HTTP_202_ACCEPTED)
def push_reward_payout(reward_id: RewardId, body: PushRequest, actor: CurrentActor) -> PayoutTxOut:
    """Pay `holder` what the reward allocated to them and they have not claimed (for holders who never claim, e.g.
    custodial wallets). Asked again before it is paid: the same transaction. 409: nothing is outstanding."""
    return PayoutTxOut.of(payouts.push_payout(actor, reward_id, body.holder))


@router.post("/rewards/{reward_id}/push-all", response_model=PushAllOut, status_code=status.HTTP_202_ACCEPTED)
def push_all_reward_payouts(reward_id: RewardId, body: EmptyRequest, actor: CurrentActor) -> PushAllOut:
    """Pay every holder with an unclaimed allocation of the reward, in batches of REWARD_PUSH_BATCH_SIZE; a holder
    whose payout of the same amount was queued before is not pushed again (pressed twice, or after a restart)."""
    result = payouts.push_all(actor, reward_id)
    return PushAllOut(holders=result.holders, queued=result.queued, already_queued=result.already)


@router.post("/reward-periods/{period_id}/retry", response_model=PeriodRetryOut,
             status_code=status.HTTP_202_ACCEPTED)
def retry_reward_period(period_id: PeriodId, body: EmptyRequest, actor: CurrentActor) -> PeriodRetryOut:
    """Send the failed allocation batches of a failed period again (new transactions for those batches only).
    409: the period has not failed."""
    period = payouts.retry_period(actor, period_id)
    return PeriodRetryOut.model_validate(period, from_attributes=True)


# --- holders and counters ------------------------------------------------------------------------------------------
# Included before `router`: GET /rewards/mine must not be read as /rewards/{reward_id}.

holder_router = APIRouter(prefix="/api/v1/rewards", dependencies=V1_DEPENDENCIES, tags=["rewards"])

WalletProof = Annotated[str | None, Header(alias="X-Wallet-Proof", max_length=300,
                                           description="A wallet proof from POST /api/v1/auth/siwe/verify.")]


def _holder(actor: Actor | None, proof: str | None) -> Holder:
    """The tokens of the signed-in account (custodial) and/or of the wallet the proof vouches for."""
    addresses: list[str] = []
    if actor is not None:
        addresses += account_holder(actor.user_id).addresses
    wallet = proof is not None and proof != ""
    if wallet:
        addresses.append(proven_address(proof))  # type: ignore[arg-type]
    if not addresses:
        raise NotAuthenticated("Sign in, or send a wallet proof (X-Wallet-Proof) from Sign-In with Ethereum.")
    return Holder(tuple(dict.fromkeys(addresses)), user_id=actor.user_id if actor else None, wallet=wallet)


@holder_router.get("/mine", response_model=HolderPerkList)
def my_perks(actor: OptionalActor, proof: WalletProof = None) -> HolderPerkList:
    perks = redemption.my_perks(_holder(actor, proof))
    return HolderPerkList(items=[HolderPerkOut.model_validate(p, from_attributes=True) for p in perks])


@holder_router.get("/claimable", response_model=ClaimableList)
def claimable(actor: OptionalActor, proof: WalletProof = None) -> ClaimableList:
    """What the signed-in account's custodial wallet and/or the proved wallet can claim from brands' reward vaults."""
    return ClaimableList(items=[
        ClaimableOut(chain=c.chain, vault_address=c.vault_address, holder=c.holder, custodial=c.account_id is not None,
                     currency_address=c.currency_address, amount=str(c.amount))
        for c in payouts.claimable(_holder(actor, proof))])


@holder_router.post("/qr", response_model=QrCodeOut, status_code=status.HTTP_201_CREATED)
def issue_qr(body: PerkRequest, ip: ClientIp, actor: OptionalActor, proof: WalletProof = None) -> QrCodeOut:
    redemption.limit_qr_codes(ip)
    issued = redemption.issue_code(_holder(actor, proof), body.reward_id, body.token_id)
    return QrCodeOut(code=issued.code, expires_at=issued.expires_at, image=qr_svg_data_url(issued.code),
                     reward_id=issued.reward_id, token_id=issued.token_id, holder=issued.holder)


@holder_router.post("/online", response_model=OnlineRedemptionOut, status_code=status.HTTP_201_CREATED)
def redeem_online(body: PerkRequest, ip: ClientIp, actor: OptionalActor,
                  proof: WalletProof = None) -> OnlineRedemptionOut:
    redemption.limit_online_redemptions(ip)
    done = redemption.redeem_online(_holder(actor, proof), body.reward_id, body.token_id)
    return OnlineRedemptionOut.model_validate(done, from_attributes=True)


@holder_router.post("/redeem", response_model=ScanOut)
async def redeem(body: RedeemRequest,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> ScanOut:
    """Staff: check (`confirm: false`) or redeem a holder's code. A refusal is a 200 with `status: "refused"` and
    the reason in plain words; every attempt is recorded. (Answered by backend.api.redeem_fast_path in front of the
    API; this route documents it and answers the same.)"""
    token = credentials.credentials if credentials is not None and credentials.credentials else None
    # The counters' busiest call: run on the counter's own few threads (sign-in check and redemption in one hop),
    # not on the shared pool, where dozens of threads contending for the GIL and SQLite's single writer cost more
    # than the work (bench/redeem.py).
    return await asyncio.get_running_loop().run_in_executor(_counter_pool(), redeem_now, token, body)


def redeem_now(token: str | None, body: RedeemRequest) -> ScanOut:
    """The bearer's actor as it is now, then the redemption: one worker-thread hop, one transaction (one connection
    check-out, one BEGIN and COMMIT) for both."""
    result = redemption.scan_as(lambda session: bearer_actor(token, session=session), body.code,
                                location=body.location, confirm=body.confirm, request_id=body.request_id)
    return ScanOut.model_validate(result, from_attributes=True)


@lru_cache(maxsize=1)
def _counter_pool() -> ThreadPoolExecutor:
    from backend.db import is_postgresql

    return ThreadPoolExecutor(max_workers=3 if is_postgresql() else 1, thread_name_prefix="reward-counter")
