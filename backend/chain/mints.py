"""Mint requests: `queue_mint` inside the caller's transaction, the dispatcher's pass that groups pending
requests per campaign into bounded airdrop transactions, and the finish hook that reads each request's token
ids from the Transfer events of the confirmed transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_utils import function_abi_to_4byte_selector, is_address, keccak, to_checksum_address
from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from backend.auth.acl import Actor, Permission
from backend.campaigns.access import load_campaign
from backend.campaigns.models import Campaign
from backend.chain.common import COLLECTION, ZERO_ADDRESS
from backend.chain.config import chain_config
from backend.chain.models import ChainTransaction, ContractDeployment, MintedToken, MintRequest, MintStatus, TxPurpose
from backend.chain.txmanager import enqueue
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.faults import crash_point
from backend.pagination import Page, check_page
from backend.settings import get_settings
from backend.workflow.machines import ContractState
from backend.workflow.outbox import NewEvent, emit_many
from backend.workflow.sql import claim_batch, insert_ignore
from contracts.artifacts import load_artifact

MAX_QUANTITY = 1000  # the contract's MAX_BATCH_SIZE


def queue_mint(session: Session, key: str, campaign_id: int, to_address: str, quantity: int) -> bool:
    """Ask for `quantity` tokens of the campaign for `to_address`, in the caller's transaction; True if this call
    created the request.

    Idempotent: the same `key` (e.g. "order-<id>" for an order) again changes nothing (False); a different request
    under the same key is refused. The dispatcher mints it once the campaign's contract is deployed.
    """
    if not key or len(key) > 200:
        raise ValidationFailed("Bad mint key.", fields={"key": "1 to 200 characters"})
    if not is_address(to_address) or to_checksum_address(to_address) == ZERO_ADDRESS:
        raise ValidationFailed("Bad address.", fields={"to_address": "must be an Ethereum address"})
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed("Bad quantity.", fields={"quantity": f"must be between 1 and {MAX_QUANTITY}"})
    to_address = to_checksum_address(to_address)
    if session.get(Campaign, campaign_id) is None:
        raise NotFound("Campaign not found.")
    now = utcnow()
    if insert_ignore(session, MintRequest.__table__, {
        "key": key, "campaign_id": campaign_id, "to_address": to_address, "quantity": quantity,
        "status": MintStatus.PENDING, "token_ids": [], "error": "", "created_at": now, "updated_at": now,
    }, ["key"]):
        return True
    existing = session.execute(select(MintRequest.campaign_id, MintRequest.to_address, MintRequest.quantity)
                               .where(MintRequest.key == key)).one()
    if tuple(existing) != (campaign_id, to_address, quantity):
        raise Conflict(f"mint key {key!r} was already used for a different mint")
    return False


def dispatch_pass(max_requests: int | None = None, batch_size: int | None = None) -> int:
    """Group up to `max_requests` pending requests (of deployed campaigns) per campaign into airdrop transactions
    of at most `batch_size` tokens; returns how many requests were submitted."""
    settings = get_settings()
    limit = max_requests or settings.mint_dispatch_max_requests
    tokens_per_tx = min(batch_size or settings.mint_batch_size, MAX_QUANTITY)
    with session_scope() as session:
        query = (
            select(MintRequest.id, MintRequest.campaign_id, MintRequest.to_address, MintRequest.quantity,
                   ContractDeployment.contract_address, ContractDeployment.chain)
            .join(Campaign, Campaign.id == MintRequest.campaign_id)
            .join(ContractDeployment, (ContractDeployment.campaign_id == MintRequest.campaign_id)
                  & (ContractDeployment.chain == Campaign.chain))
            .where(MintRequest.status == MintStatus.PENDING, ContractDeployment.state == ContractState.DEPLOYED)
            .order_by(col(MintRequest.id))
        )
        rows = claim_batch(session, query, limit, of=MintRequest)
        groups: dict[tuple[int, str, str], list[Any]] = defaultdict(list)
        for row in rows:
            groups[(row[1], row[4], row[5])].append(row)
        submitted: list[dict[str, Any]] = []
        now = utcnow()
        for (campaign_id, contract, chain), requests in groups.items():
            for chunk in _chunks(requests, tokens_per_tx):
                recipients = [r[2] for r in chunk for _ in range(r[3])]
                data = airdrop_calldata(recipients)
                tx = enqueue(
                    session, purpose=TxPurpose.MINT_BATCH, chain=chain, to=contract, data=data,
                    key=f"mint_batch:{campaign_id}:{chunk[0][0]}-{chunk[-1][0]}:{len(chunk)}",
                    campaign_id=campaign_id, meta={"requests": [r[0] for r in chunk]},
                )
                submitted += [{"b_id": r[0], "b_tx": tx.id} for r in chunk]
        if submitted:
            mint_requests = MintRequest.__table__
            session.connection().execute(
                update(mint_requests).where(mint_requests.c.id == bindparam("b_id"),
                                            mint_requests.c.status == MintStatus.PENDING)
                .values(status=MintStatus.SUBMITTED, tx_id=bindparam("b_tx"), updated_at=now),
                submitted,
            )
    if submitted:
        crash_point("mint.dispatched")  # committed: the requests are in queued transactions
    return len(submitted)


@lru_cache(maxsize=1)
def _airdrop_selector() -> bytes:
    abi = next(f for f in load_artifact(COLLECTION)["abi"] if f.get("type") == "function" and f["name"] == "airdrop")
    return function_abi_to_4byte_selector(abi)


def airdrop_calldata(recipients: list[str]) -> str:
    """`airdrop(address[] recipients)` call data. The ABI of one dynamic address array is simple enough to write out
    (selector, offset 0x20, length, each address left-padded to 32 bytes), and it runs inside the dispatcher's
    transaction: web3's contract encoder re-validates every checksum, and eth-abi's encoder is still costly, with
    the SQLite write lock held all along (the figures: the README's "Measurements behind the code"). The recipients
    were checked and checksummed when their mint was requested; tests compare this with web3's encoding."""
    words = [(32).to_bytes(32, "big"), len(recipients).to_bytes(32, "big")]
    words += [bytes(12) + bytes.fromhex(address[2:]) for address in recipients]
    return "0x" + (_airdrop_selector() + b"".join(words)).hex()


def _chunks(requests: list[Any], tokens_per_tx: int) -> list[list[Any]]:
    chunks: list[list[Any]] = [[]]
    tokens = 0
    for request in requests:
        if chunks[-1] and tokens + request[3] > tokens_per_tx:
            chunks.append([])
            tokens = 0
        chunks[-1].append(request)
        tokens += request[3]
    return [c for c in chunks if c]


TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
ZERO_TOPIC = "0x" + "00" * 32


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def minted_token_ids(tx: ChainTransaction, receipt: Any) -> list[tuple[str, int]]:
    """(to, token id) of every mint in `receipt` by the collection at `tx.to_address`, by token id; `to` in lower
    case. ERC-721's Transfer has all three arguments indexed, so a mint is read straight from its topics: web3's
    event decoder (checksums and formatters) costs seconds for a batch, inside the finishing transaction (README,
    "Measurements behind the code"; tests compare this with web3's decoder)."""
    contract = tx.to_address.lower() if tx.to_address else ""
    mints = []
    for entry in receipt["logs"]:
        topics = [_hex(t) for t in entry["topics"]]
        if (len(topics) == 4 and topics[0] == TRANSFER_TOPIC and topics[1] == ZERO_TOPIC
                and str(entry["address"]).lower() == contract):
            mints.append(("0x" + topics[2][-40:], int(topics[3], 16)))
    return sorted(mints, key=lambda m: m[1])


def mint_batch_finished(session: Session, tx: ChainTransaction, receipt: Any) -> None:
    """A batch's transaction is final: each of its requests is minted (its token ids read from the receipt) or failed,
    with one outbox event each. Runs in the transaction that finishes `tx` (on SQLite, under the write lock every
    webhook acknowledgement waits for): rows and events are written in a few Core statements, not per request."""
    requests = list(session.execute(
        select(MintRequest.id, MintRequest.key, MintRequest.campaign_id, MintRequest.to_address, MintRequest.quantity)
        .where(MintRequest.tx_id == tx.id, MintRequest.status == MintStatus.SUBMITTED)
        .order_by(col(MintRequest.id))).all())
    if not requests:
        return
    now = utcnow()
    mint_requests = MintRequest.__table__
    if tx.state.value != "confirmed":
        error = tx.error or tx.state.value
        session.connection().execute(
            update(mint_requests).where(mint_requests.c.tx_id == tx.id, mint_requests.c.status == MintStatus.SUBMITTED)
            .values(status=MintStatus.FAILED, error=error[:500], updated_at=now))
        emit_many(session, [NewEvent(
            "mint.failed", {"mint_request_id": r.id, "key": r.key, "campaign_id": r.campaign_id, "error": error,
                            "tx_hash": tx.tx_hash},
            entity=("mint_request", r.id), key=f"mint.failed:{r.id}:{tx.id}") for r in requests])
        return
    # The airdrop lists recipients in request order and gives recipients[i] the id first + i.
    mints = minted_token_ids(tx, receipt)
    order = {rid: i for i, rid in enumerate(tx.meta.get("requests", []))}
    requests.sort(key=lambda r: order.get(r.id, r.id))
    expected = sum(r.quantity for r in requests)
    if len(mints) != expected:
        raise RuntimeError(f"tx {tx.id}: {len(mints)} Transfer events for {expected} requested tokens")
    updates, tokens, events, cursor = [], [], [], 0
    for r in requests:
        mine = mints[cursor:cursor + r.quantity]
        cursor += r.quantity
        if any(to != r.to_address.lower() for to, _ in mine):
            raise RuntimeError(f"tx {tx.id}: Transfer events do not match mint request {r.id}")
        ids = [token_id for _, token_id in mine]
        updates.append({"b_id": r.id, "b_ids": ids})
        tokens += [{"campaign_id": r.campaign_id, "token_id": i, "owner": r.to_address, "mint_request_id": r.id,
                    "tx_id": tx.id, "created_at": now} for i in ids]
        events.append(NewEvent(
            "mint.completed", {"mint_request_id": r.id, "key": r.key, "campaign_id": r.campaign_id,
                               "to_address": r.to_address, "token_ids": ids, "tx_hash": tx.tx_hash},
            entity=("mint_request", r.id), key=f"mint.completed:{r.id}"))
    session.connection().execute(
        update(mint_requests).where(mint_requests.c.id == bindparam("b_id"))
        .values(status=MintStatus.MINTED, token_ids=bindparam("b_ids"), updated_at=now), updates)
    session.connection().execute(MintedToken.__table__.insert(), tokens)
    emit_many(session, events)


# -- queries ------------------------------------------------------------------------------------------------------

def mint_tx_hash(session: Session, key: str) -> str | None:
    """The hash of the transaction carrying mint request `key` once it is signed (its latest attempt, which a
    fee replacement changes), else None: the buyer can follow a mint before it is confirmed."""
    return session.execute(
        select(ChainTransaction.tx_hash).join(MintRequest, col(MintRequest.tx_id) == ChainTransaction.id)
        .where(MintRequest.key == key)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class MintedCount:
    minted: int
    pending: int  # requested tokens not minted yet (pending or submitted)
    supply_cap: int


def minted_count(actor: Actor, campaign_id: int) -> MintedCount:
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_READ)
        minted = session.exec(select(func.count()).select_from(MintedToken)
                              .where(MintedToken.campaign_id == campaign_id)).one()
        pending = session.exec(select(func.coalesce(func.sum(MintRequest.quantity), 0)).where(
            MintRequest.campaign_id == campaign_id,
            col(MintRequest.status).in_([MintStatus.PENDING, MintStatus.SUBMITTED]))).one()
        return MintedCount(int(minted), int(pending), campaign.supply_cap)


@dataclass(frozen=True)
class TokenRow:
    token_id: int
    owner: str
    tx_hash: str | None
    tx_url: str | None
    mint_request_key: str


def list_tokens(actor: Actor, campaign_id: int, limit: int = 20, offset: int = 0) -> Page[TokenRow]:
    """The campaign's minted tokens by id: owner (as minted, or after a withdrawal) and the mint transaction."""
    limit, offset = check_page(limit, offset)
    with session_scope() as session:
        campaign = load_campaign(session, actor, campaign_id, Permission.CAMPAIGN_READ)
        config = chain_config(campaign.chain)
        total = session.exec(select(func.count()).select_from(MintedToken)
                             .where(MintedToken.campaign_id == campaign_id)).one()
        rows = session.exec(
            select(MintedToken.token_id, MintedToken.owner, ChainTransaction.tx_hash, MintRequest.key)
            .join(ChainTransaction, ChainTransaction.id == MintedToken.tx_id)
            .join(MintRequest, MintRequest.id == MintedToken.mint_request_id)
            .where(MintedToken.campaign_id == campaign_id)
            .order_by(col(MintedToken.token_id)).limit(limit).offset(offset)
        ).all()
        items = [TokenRow(t, o, h, config.tx_url(h), k) for t, o, h, k in rows]
        return Page(items, int(total), limit, offset)
