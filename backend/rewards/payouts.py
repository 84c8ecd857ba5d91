"""Payouts on chain (issue 13, M14): the `reward_distributor`'s work and what the admin, the API and holders read.

For each active payout, every period whose end has passed becomes a `reward_period` row (DUE, with a
`reward.period_due` event). Allocating a period is three steps, no network call inside a database transaction:
  1. read: the holders at the snapshot block (the chain indexer's confirmed checkpoint) from the token-owner history,
     the qualifying tokens each holds, and the amount (amount per token x tokens, or the share in basis points of
     the royalties of the sales the ledger confirmed up to the period's end that no earlier period counted: a sale
     confirmed late is paid in the next period), split by tokens held;
  2. network: the vault's unallocated balance must cover it (else the period waits, saying why);
  3. write, in ONE transaction: every holder's share (largest remainder, summing exactly to the amount), one
     `reward_allocation` row each (unique per reward, period, holder), one `allocate` transaction per batch of
     holders queued through the transaction manager with the key `reward-allocate:<reward>:<period>:<batch>`, and the
     period's `allocate` transition (guarded by its version). A second runner loses the transition and writes
     nothing; a crash before the commit leaves nothing; after it, the transaction manager sends each stored
     transaction once (its signed bytes are stored before they are broadcast, a reorg sends the same bytes again).
The finish hook of each batch records where its RewardAllocated logs are; when the last batch is confirmed the period
is ALLOCATED (`reward.allocated`). A reverted batch fails the period; `retry_period` queues new transactions for the
failed batches only (`...:<batch>:attempt-<n>`: the reverted one allocated nothing).

Claims: the vault's RewardClaimed / RewardPaidOut logs are read back from the confirmed chain (`sync_claims`) into
`reward_claim` rows (`reward.claimed`); a claim pays every allocation of that holder and currency logged before it
(an allocation whose batch is confirmed only after its claim was read is marked by the batch's finish step).
A reorg that drops a claim's block deletes the claim and unclaims its allocations (`reward.claim_reverted`); mined
again, it is read again.
"""

from __future__ import annotations

import calendar
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.auth.acl import Actor, Permission, require, signed_in
from backend.campaigns.models import Campaign
from backend.chain.client import chain_id as node_chain_id
from backend.chain.client import get_web3, is_transient, node_unavailable
from backend.chain.config import chain_config, chains
from backend.chain.forks import find_fork, forget_after, keep_hash, kept_hashes
from backend.chain.holders import campaign_collection, indexed_through, owners_at
from backend.chain.keys import custodial_address
from backend.chain.models import ChainTransaction, TxPurpose, TxState
from backend.chain.reader import ChainReader
from backend.chain.txmanager import enqueue
from backend.db import session_scope, utcnow
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.monitoring.scrub import scrub_text
from backend.orders.models import Order
from backend.pagination import Page
from backend.rewards.holdings import Holder
from backend.rewards.models import (
    ClaimKind,
    PayoutMode,
    PayoutPeriod,
    Reward,
    RewardAllocation,
    RewardClaim,
    RewardClaimBlock,
    RewardKind,
    RewardPeriod,
    RewardPeriodSale,
    RewardVaultRow,
)
from backend.rewards.service import mark_in_use
from backend.rewards.shares import largest_remainder
from backend.rewards.vault import (
    ZERO_ADDRESS,
    VaultBalances,
    erc20_approve_data,
    read_balances,
    request_vault,
    token_arg,
    vault_contract,
)
from backend.sales.models import Sale, SaleStatus
from backend.settings import get_settings
from backend.workflow.machines import PeriodState, RewardState, VaultState
from backend.workflow.models import OutboxEvent
from backend.workflow.outbox import emit
from backend.workflow.sql import insert_ignore
from backend.workflow.transitions import ConcurrentTransition, transition

log = logging.getLogger(__name__)

DISTRIBUTOR = "daemon:reward_distributor"
FINAL_TX = (TxState.CONFIRMED, TxState.REVERTED, TxState.FAILED)


# -- periods ---------------------------------------------------------------------------------------------------------

def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def period_bounds(reward: Reward, index: int) -> tuple[datetime, datetime]:
    """[start, end) of the reward's period `index`, counted from its start (or its definition when it has none):
    7 days, or calendar months (a month from Jan 31 ends on the last day of February)."""
    anchor = reward.starts_at or reward.created_at
    if reward.payout_period is PayoutPeriod.WEEK:
        return anchor + timedelta(days=7 * index), anchor + timedelta(days=7 * (index + 1))
    months = 3 if reward.payout_period is PayoutPeriod.QUARTER else 1
    return _add_months(anchor, months * index), _add_months(anchor, months * (index + 1))


def _payout_rewards(session: Session) -> list[Reward]:
    return list(session.exec(select(Reward).where(
        Reward.kind == RewardKind.PAYOUT, Reward.state == RewardState.ACTIVE).order_by(col(Reward.id))).all())


def open_due_periods(now: datetime | None = None, limit: int | None = None) -> int:
    """Write a DUE row (and `reward.period_due`) for each period of an active payout whose end has passed; at most
    `limit` new rows. Also requests the brand's vault on that chain if it has none yet.

    The row's `snapshot_block` is the indexer's checkpoint now, when the period is found due (within a distributor run
    of its end): a period that then waits, for funds or for the vault, still pays who held its tokens when it ended,
    not whoever bought them meanwhile. (None while the indexer has not read the collection: taken at allocation.)"""
    now = now or utcnow()
    budget = limit or get_settings().reward_periods_per_run
    opened = 0
    with session_scope() as session:
        for reward in _payout_rewards(session):
            campaign = session.get(Campaign, reward.campaign_id)
            if campaign is None:
                continue
            vault = request_vault(session, reward.brand_id, campaign.chain)
            last = session.exec(select(func.max(RewardPeriod.period_index)).where(
                RewardPeriod.reward_id == reward.id)).one()
            index = 0 if last is None else int(last) + 1
            tracked = campaign_collection(session, campaign.id)
            snapshot_block = indexed_through(session, *tracked) if tracked else None
            while opened < budget:
                starts_at, ends_at = period_bounds(reward, index)
                if ends_at > now or (reward.ends_at is not None and starts_at >= reward.ends_at):
                    break
                inserted = insert_ignore(session, RewardPeriod.__table__, {  # type: ignore[attr-defined]
                    "reward_id": reward.id, "brand_id": reward.brand_id, "vault_id": vault.id,
                    "period_index": index, "starts_at": starts_at, "ends_at": ends_at,
                    "state": PeriodState.DUE.value, "version": 0, "currency_address": reward.currency_address or "",
                    "snapshot_block": snapshot_block,
                    "amount": 0, "holders": 0, "tokens": 0, "batches": 0, "retries": 0, "error": "",
                    "created_at": utcnow(), "updated_at": utcnow()}, ["reward_id", "period_index"])
                if inserted:
                    emit(session, "reward.period_due",
                         {"reward_id": reward.id, "brand_id": reward.brand_id, "period_index": index,
                          "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
                         entity=("reward", reward.id), key=f"reward.period_due:{reward.id}:{index}")
                    opened += 1
                index += 1
    return opened


# -- allocating one period -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Snapshot:
    period_id: int
    version: int
    reward_id: int
    chain: str
    vault_id: int
    vault_address: str
    currency_address: str
    block: int
    tokens: dict[str, int]  # holder -> qualifying tokens held at `block`
    amount: int
    sales: dict[int, int] = field(default_factory=dict)  # royalty share: {sale id: royalty paid} the amount counts


def _wait(period_id: int, reason: str) -> None:
    with session_scope() as session:
        session.execute(update(RewardPeriod).where(RewardPeriod.id == period_id)
                        .values(error=reason[:500], updated_at=utcnow()).execution_options(synchronize_session=False))


def _snapshot(period_id: int) -> Snapshot | str:
    """Step 1 (database only): the holders and the amount, or why the period must wait ("empty": the reward ended, so
    the period is closed unpaid)."""
    with session_scope() as session:
        period = session.get(RewardPeriod, period_id)
        if period is None or period.state is not PeriodState.DUE:
            return "not due"
        reward = session.get(Reward, period.reward_id)
        campaign = session.get(Campaign, reward.campaign_id) if reward else None
        if reward is None or campaign is None:
            return "the reward is gone"
        if reward.state is RewardState.ENDED:  # "nothing more is paid from now on" (end_reward): closed, unpaid
            transition(session, period, "close_empty", actor=DISTRIBUTOR,
                       reason="the reward ended before this period was paid", also={"error": ""})
            return "empty"
        vault = request_vault(session, reward.brand_id, campaign.chain)
        if vault.state is not VaultState.DEPLOYED or not vault.address:
            return f"Waiting for the brand's reward vault to be deployed ({vault.state.value})."
        tracked = campaign_collection(session, campaign.id)
        if tracked is None:
            return "Waiting for the chain indexer to follow the campaign's collection."
        chain_id, collection = tracked
        through = indexed_through(session, chain_id, collection)
        block = through if period.snapshot_block is None else period.snapshot_block
        if block is None:
            return "Waiting for the chain indexer to read the collection."
        if through is None or block > through:  # a reorg moved the indexer back below the period's snapshot
            return f"Waiting for the chain indexer to read block {block} again."
        owners = owners_at(session, chain_id, collection, block)
        tokens = dict(Counter(owner for token_id, owner in owners.items() if reward.qualifies(token_id)))
        sales: dict[int, int] = {}
        if reward.payout_mode is PayoutMode.ROYALTY_SHARE:
            total, sales = royalty_share_amount(session, reward, period) if tokens else (0, {})
        else:
            total = (reward.amount_per_token or 0) * sum(tokens.values())
        return Snapshot(period.id, period.version, reward.id, campaign.chain, vault.id, vault.address,  # type: ignore[arg-type]
                        reward.currency_address or "", block, tokens, total, sales)


def royalty_share_amount(session: Session, reward: Reward, period: RewardPeriod) -> tuple[int, dict[int, int]]:
    """`royalty_share_bps` of the royalties the collection received (floor), and {sale id: royalty paid} counted: the
    sales the ledger has confirmed with a known royalty paid, in the payout's currency, sold from the reward's start
    to the period's end, that no earlier period of this reward counted (`reward_period_sale`). A sale confirmed
    after its own period was allocated is counted by the next one; a sale reverted after it was counted stays paid."""
    currency = reward.currency_address or ZERO_ADDRESS
    counted = select(RewardPeriodSale.sale_id).where(RewardPeriodSale.reward_id == reward.id)
    rows = session.exec(select(Sale.id, Sale.royalty_paid).where(
        Sale.campaign_id == reward.campaign_id, Sale.status == SaleStatus.CONFIRMED,
        col(Sale.royalty_paid).is_not(None), Sale.currency_address == currency,
        Sale.sold_at >= period_bounds(reward, 0)[0], Sale.sold_at < period.ends_at,
        col(Sale.id).not_in(counted))).all()
    sales = {int(sale_id): int(paid) for sale_id, paid in rows}  # type: ignore[arg-type]
    return sum(sales.values()) * (reward.royalty_share_bps or 0) // 10_000, sales


def _in_flight(session: Session, vault_id: int, currency: str) -> int:
    """Allocated in rows whose transaction is not final yet: the vault's unallocated balance still counts it."""
    rows = session.exec(select(RewardAllocation.amount)
                        .join(ChainTransaction, ChainTransaction.id == RewardAllocation.tx_id)
                        .where(RewardAllocation.vault_id == vault_id, RewardAllocation.currency_address == currency,
                               col(ChainTransaction.state).not_in(FINAL_TX))).all()
    return sum(int(a) for a in rows)


def _custodial_accounts(session: Session, campaign_id: int, holders: Sequence[str]) -> dict[str, int]:
    """{custodial address: account id} for the holders that are custodial wallets of the campaign's buyers."""
    wanted = set(holders)
    found: dict[str, int] = {}
    user_ids = session.exec(select(Order.user_id).where(
        Order.campaign_id == campaign_id, col(Order.custodial).is_(True), col(Order.user_id).is_not(None),
    ).distinct()).all()
    for user_id in user_ids:
        address = custodial_address(int(user_id))  # type: ignore[arg-type]
        if address in wanted:
            found[address] = int(user_id)  # type: ignore[arg-type]
    return found


def _batches(holders: list[str]) -> list[list[str]]:
    size = get_settings().reward_allocation_batch_size
    return [holders[i:i + size] for i in range(0, len(holders), size)]


def allocate_period(period_id: int, *, after_enqueue: Callable[[], None] | None = None) -> str:
    """Snapshot, shares, allocation rows and batch transactions of one DUE period; returns what happened
    ("allocating", "empty", "lost" to another runner, or why it waits)."""
    snap = _snapshot(period_id)
    if isinstance(snap, str):
        if snap not in ("not due", "empty"):
            _wait(period_id, snap)
        return snap
    if snap.amount > 0:
        try:  # step 2: the vault must hold enough beyond what is allocated and in flight
            balances = read_balances(get_web3(snap.chain), snap.vault_address, snap.currency_address)
        except Exception as exc:
            if not is_transient(exc):
                raise
            return f"chain unreachable: {scrub_text(str(exc))}"  # shown to admins: no URL key
        with session_scope() as session:
            available = balances.unallocated - _in_flight(session, snap.vault_id, snap.currency_address)
        if available < snap.amount:
            reason = (f"The vault needs funding: this period allocates {snap.amount} base units, the vault has "
                      f"{max(available, 0)} unallocated.")
            _wait(period_id, reason)
            return reason
    try:
        with session_scope() as session:
            return _write_allocation(session, snap, after_enqueue)
    except (ConcurrentTransition, IntegrityError):  # another runner allocated it first (its key or its version)
        return "lost"


def _write_allocation(session: Session, snap: Snapshot, after_enqueue: Callable[[], None] | None) -> str:
    """Step 3, one transaction: rows, transactions and the transition together (or none of them)."""
    period = session.get(RewardPeriod, snap.period_id)
    reward = session.get(Reward, snap.reward_id)
    assert period is not None and reward is not None
    if period.state is not PeriodState.DUE or period.version != snap.version:
        raise ConcurrentTransition("the period moved meanwhile")
    if snap.amount > 0 and snap.sales:  # counted once per reward: a concurrent period counting one fails the insert
        session.execute(RewardPeriodSale.__table__.insert(), [  # type: ignore[attr-defined]
            {"reward_id": reward.id, "sale_id": sale_id, "period_id": period.id, "royalty_paid": paid}
            for sale_id, paid in sorted(snap.sales.items())])
    holders = sorted(snap.tokens)
    common = {"snapshot_block": snap.block, "holders": len(holders), "tokens": sum(snap.tokens.values()),
              "amount": snap.amount, "vault_id": snap.vault_id, "error": "",
              "currency_address": snap.currency_address}
    if snap.amount == 0:
        transition(session, period, "close_empty", actor=DISTRIBUTOR,
                   reason=f"no qualifying token at block {snap.block}", also=common)
        return "empty"
    shares = largest_remainder(snap.amount, snap.tokens)
    accounts = _custodial_accounts(session, reward.campaign_id, holders)
    vault = vault_contract()
    token = token_arg(snap.currency_address)
    batches = _batches([h for h in holders if shares[h] > 0])
    for number, batch in enumerate(batches):
        data = vault.encode_abi("allocate", args=[token, batch, [shares[h] for h in batch]])
        tx = enqueue(session, purpose=TxPurpose.REWARD_PAYOUT, key=f"reward-allocate:{reward.id}:{period.id}:{number}",
                     chain=snap.chain, to=snap.vault_address, data=data, campaign_id=reward.campaign_id,
                     meta={"action": "allocate", "period_id": period.id, "batch": number})
        session.execute(RewardAllocation.__table__.insert(), [  # type: ignore[attr-defined]
            {"reward_id": reward.id, "period_id": period.id, "vault_id": snap.vault_id, "holder": holder,
             "account_id": accounts.get(holder), "currency_address": snap.currency_address,
             "tokens": snap.tokens[holder], "amount": shares[holder], "batch": number, "tx_id": tx.id,
             "created_at": utcnow()} for holder in batch])
        if after_enqueue is not None:
            after_enqueue()  # tests: a crash after the transaction is queued, before the commit
    transition(session, period, "allocate", actor=DISTRIBUTOR,
               reason=f"{len(holders)} holders at block {snap.block}, {len(batches)} batch(es)",
               also=common | {"batches": len(batches)})
    mark_in_use(session, reward)
    return "allocating"


def retry_period(actor: Actor, period_id: int) -> RewardPeriod:
    """A FAILED period (a batch reverted, e.g. the vault was short): new transactions for the failed batches only."""
    actor = signed_in(actor)
    with session_scope() as session:
        period = session.get(RewardPeriod, period_id)
        if period is None or not actor.can(Permission.CAMPAIGN_READ, period.brand_id):
            raise NotFound("Period not found.")
        require(actor, Permission.CAMPAIGN_WRITE, period.brand_id)
        if period.state is not PeriodState.FAILED:
            raise Conflict("Only a failed period can be retried.")
        reward = session.get(Reward, period.reward_id)
        vault = session.get(RewardVaultRow, period.vault_id)
        assert reward is not None and vault is not None and vault.address
        failed = session.exec(select(RewardAllocation.batch, ChainTransaction.data).join(
            ChainTransaction, ChainTransaction.id == RewardAllocation.tx_id).where(
            RewardAllocation.period_id == period.id,
            col(ChainTransaction.state).in_([TxState.REVERTED, TxState.FAILED])).distinct()).all()
        attempt = period.retries + 2
        for number, data in failed:
            new = enqueue(session, purpose=TxPurpose.REWARD_PAYOUT,
                          key=f"reward-allocate:{reward.id}:{period.id}:{number}:attempt-{attempt}",
                          chain=vault.chain, to=vault.address, data=data, campaign_id=reward.campaign_id,
                          meta={"action": "allocate", "period_id": period.id, "batch": number})
            session.execute(update(RewardAllocation).where(RewardAllocation.period_id == period.id,
                                                           RewardAllocation.batch == number)
                            .values(tx_id=new.id).execution_options(synchronize_session=False))
        transition(session, period, "retry", actor=f"user:{actor.user_id}", reason=period.error,
                   also={"retries": period.retries + 1, "error": ""})
        return period


def allocation_finished(session: Session, tx: ChainTransaction, receipt: Any) -> None:
    """Finish step of a batch: record where each holder's RewardAllocated log is, and mark the allocation claimed by
    a claim the claim reader already read after that log (a holder may claim as soon as the batch is mined, and the
    reader may read it before this step runs); the period is ALLOCATED when every batch is confirmed
    (`reward.allocated`), FAILED when one reverted or failed."""
    period = session.get(RewardPeriod, tx.meta.get("period_id"))
    if period is None:
        return
    if tx.state is TxState.CONFIRMED and receipt is not None:
        events = vault_contract().events.RewardAllocated().process_receipt(receipt, errors=_discard())
        a = RewardAllocation
        for event in events:
            holder = to_checksum_address(event["args"]["holder"])
            block, log_index = int(event["blockNumber"]), int(event["logIndex"])
            mine = (a.period_id == period.id, a.tx_id == tx.id, a.holder == holder)
            session.execute(update(a).where(*mine).values(allocated_block=block, allocated_log_index=log_index)
                            .execution_options(synchronize_session=False))
            claim_id = _claim_after(session, period, holder, block, log_index)
            if claim_id is not None:
                session.execute(update(a).where(*mine, col(a.claimed_at).is_(None))
                                .values(claimed_at=utcnow(), claim_id=claim_id)
                                .execution_options(synchronize_session=False))
    if period.state is not PeriodState.ALLOCATING:
        return
    if tx.state is not TxState.CONFIRMED:
        transition(session, period, "fail", actor=DISTRIBUTOR, reason=f"batch {tx.meta.get('batch')}: {tx.error}",
                   also={"error": f"Batch {tx.meta.get('batch')} {tx.state.value}: {tx.error}"[:500]})
        return
    states = session.exec(select(ChainTransaction.state).join(
        RewardAllocation, RewardAllocation.tx_id == ChainTransaction.id).where(
        RewardAllocation.period_id == period.id).distinct()).all()
    if all(state is TxState.CONFIRMED for state in states):
        transition(session, period, "confirm", actor=DISTRIBUTOR, reason=f"{period.batches} batch(es) confirmed")
        emit(session, "reward.allocated",
             {"reward_id": period.reward_id, "period_id": period.id, "brand_id": period.brand_id,
              "amount": str(period.amount), "holders": period.holders, "snapshot_block": period.snapshot_block},
             entity=("reward", period.reward_id), key=f"reward.allocated:{period.id}")


def _claim_after(session: Session, period: RewardPeriod, holder: str, block: int, log_index: int) -> int | None:
    """The first claim already read of `holder` from the period's vault and currency logged after (block, log_index):
    the one that paid an allocation logged there (a claim pays everything allocated before it)."""
    c = RewardClaim
    return session.exec(select(c.id).where(
        c.vault_id == period.vault_id, c.holder == holder, c.currency_address == period.currency_address,
        or_(c.block_number > block, and_(c.block_number == block, c.log_index > log_index)))
        .order_by(col(c.block_number), col(c.log_index)).limit(1)).first()


def _discard() -> Any:
    from web3.logs import DISCARD

    return DISCARD


def payout_tx_finished(session: Session, tx: ChainTransaction, receipt: Any) -> None:
    """The `reward_payout` finish step: allocation batches move their period; funding and pushed payouts are their own
    outcome (the claim reader picks the pushed payout's event up)."""
    if tx.meta.get("action") == "allocate":
        allocation_finished(session, tx, receipt)


# -- claims read back from the chain -------------------------------------------------------------------------------

def sync_claims(chain: str, *, max_blocks: int | None = None) -> int:
    """Read RewardClaimed / RewardPaidOut logs of the chain's deployed vaults up to the confirmed head; returns the
    new claims. Each marks the allocations of its holder and currency logged before it as claimed.

    Reorgs, as the chain indexer handles them (backend.chain.forks): the hash of each range's last block is kept per
    vault (`reward_claim_block`); a pass first checks the newest against the chain and, when it changed, rewinds the
    vault's claims above the newest kept block the chain still has (`_rewind_claims`), then reads those blocks again.
    A range whose last block changes while it is read is dropped and read again by the next pass."""
    with session_scope() as session:
        vault_ids = list(session.exec(select(RewardVaultRow.id).where(
            RewardVaultRow.chain == chain, RewardVaultRow.state == VaultState.DEPLOYED)
            .order_by(col(RewardVaultRow.id))).all())
    if not vault_ids:
        return 0
    w3 = get_web3(chain)
    reader = ChainReader(w3)
    safe_head = int(w3.eth.block_number) - chain_config(chain).confirmations + 1
    span = max_blocks or get_settings().indexer_block_range
    contract = vault_contract(w3)
    topics = [[contract.events.RewardClaimed().topic, contract.events.RewardPaidOut().topic]]
    found = 0
    for vault_id in vault_ids:
        with session_scope() as session:
            vault = session.get(RewardVaultRow, vault_id)
            assert vault is not None
            session.expunge(vault)
            kept = kept_hashes(session, RewardClaimBlock.__table__, {"vault_id": vault_id})  # type: ignore[attr-defined]
        lo: int | None = vault.claims_next_block
        fork = find_fork(reader, kept)
        if fork is not None:
            lo = _rewind_claims(vault, fork)
        while lo is not None and lo <= safe_head:
            hi = min(lo + span - 1, safe_head)
            before = reader.headers([hi]).get(hi)
            if before is None:
                break
            logs = w3.eth.get_logs({"address": vault.address, "fromBlock": lo, "toBlock": hi,  # type: ignore[typeddict-item]
                                    "topics": topics})
            after = reader.headers([hi]).get(hi)
            if after is None or after[0] != before[0]:
                break  # the chain changed while the range was read: the next pass checks for a reorg
            recorded = _record_claims(vault, logs, lo, hi, before[0])
            if recorded is None:
                break  # another runner moved the cursor meanwhile
            found += recorded
            lo = hi + 1
    return found


def _fresh_key(session: Session, key: str) -> str:
    """`key`, or `key:<n>` when an event already has it: a claim whose block left the chain and came back (a reorg
    and its undoing) is claimed, reverted and claimed again, each its own event."""
    candidate, n = key, 0
    while session.exec(select(OutboxEvent.id).where(OutboxEvent.key == candidate)).first() is not None:
        n += 1
        candidate = f"{key}:{n}"
    return candidate


def _record_claims(vault: RewardVaultRow, logs: list[Any], lo: int, hi: int, hi_hash: str) -> int | None:
    """One range [lo, hi] read, in ONE transaction: the claims, the allocations they paid, their `reward.claimed`
    events, the vault's cursor and hi's hash. None (nothing written) when the cursor is no longer at `lo`."""
    contract = vault_contract()
    claimed_topic = bytes.fromhex(contract.events.RewardClaimed().topic.removeprefix("0x"))
    new = 0
    with session_scope() as session:
        moved = session.execute(update(RewardVaultRow).where(RewardVaultRow.id == vault.id,  # type: ignore[arg-type]
                                                             RewardVaultRow.claims_next_block == lo)
                                .values(claims_next_block=hi + 1).execution_options(synchronize_session=False))
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return None
        for entry in logs:
            is_claim = bytes(entry["topics"][0]) == claimed_topic
            kind = contract.events.RewardClaimed() if is_claim else contract.events.RewardPaidOut()
            event = kind.process_log(entry)
            args = event["args"]
            currency = "" if int(args["token"], 16) == 0 else to_checksum_address(args["token"])
            holder = to_checksum_address(args["holder"])
            row = {"vault_id": vault.id, "kind": (ClaimKind.CLAIMED if is_claim else ClaimKind.PAID_OUT).value,
                   "holder": holder, "currency_address": currency, "amount": int(args["amount"]),
                   "block_number": int(entry["blockNumber"]), "log_index": int(entry["logIndex"]),
                   "tx_hash": "0x" + bytes(entry["transactionHash"]).hex(),
                   "block_hash": "0x" + bytes(entry["blockHash"]).hex(), "created_at": utcnow()}
            if not insert_ignore(session, RewardClaim.__table__, row, ["vault_id", "tx_hash", "log_index"]):  # type: ignore[attr-defined]
                continue
            claim_id = session.exec(select(RewardClaim.id).where(
                RewardClaim.vault_id == vault.id, RewardClaim.tx_hash == row["tx_hash"],
                RewardClaim.log_index == row["log_index"])).one()
            a = RewardAllocation
            session.execute(update(a).where(
                a.vault_id == vault.id, a.holder == holder, a.currency_address == currency,
                col(a.claimed_at).is_(None), col(a.allocated_block).is_not(None),
                or_(a.allocated_block < row["block_number"],  # type: ignore[operator]
                    and_(a.allocated_block == row["block_number"], a.allocated_log_index < row["log_index"])))  # type: ignore[operator]
                .values(claimed_at=utcnow(), claim_id=claim_id).execution_options(synchronize_session=False))
            # The block hash is in the key: a claim mined again in another block after a reorg is a new event.
            emit(session, "reward.claimed",
                 {"vault_id": vault.id, "brand_id": vault.brand_id, "holder": holder, "currency_address": currency,
                  "amount": str(row["amount"]), "kind": row["kind"], "tx_hash": row["tx_hash"],
                  "block_number": row["block_number"], "block_hash": row["block_hash"]},
                 entity=("reward_vault", vault.id),
                 key=_fresh_key(session, f"reward.claimed:{vault.id}:{row['tx_hash']}:{row['log_index']}:"
                                         f"{row['block_hash']}"))
            new += 1
        keep_hash(session, RewardClaimBlock.__table__, {"vault_id": vault.id}, hi, hi_hash, utcnow())  # type: ignore[attr-defined]
    return new


def _rewind_claims(vault: RewardVaultRow, fork: int) -> int | None:
    """A reorg dropped the vault's blocks after `fork`: in ONE transaction, delete the claims read from them (their
    allocations are unclaimed again, each with a `reward.claim_reverted` event), forget their kept hashes and move
    the cursor back to fork + 1 (not before the vault's deploy block). Returns the new cursor; None when another
    runner moved the cursor meanwhile."""
    back_to = max(fork + 1, vault.deploy_block or 0)
    with session_scope() as session:
        moved = session.execute(update(RewardVaultRow).where(
            RewardVaultRow.id == vault.id, RewardVaultRow.claims_next_block == vault.claims_next_block)  # type: ignore[arg-type]
            .values(claims_next_block=min(back_to, vault.claims_next_block))
            .execution_options(synchronize_session=False))
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return None
        dropped = list(session.exec(select(RewardClaim).where(RewardClaim.vault_id == vault.id,
                                                             RewardClaim.block_number > fork)
                                    .order_by(col(RewardClaim.block_number), col(RewardClaim.log_index))).all())
        ids = [c.id for c in dropped]
        if ids:
            session.execute(update(RewardAllocation).where(col(RewardAllocation.claim_id).in_(ids))
                            .values(claimed_at=None, claim_id=None).execution_options(synchronize_session=False))
        for claim in dropped:
            emit(session, "reward.claim_reverted",
                 {"vault_id": vault.id, "brand_id": vault.brand_id, "holder": claim.holder,
                  "currency_address": claim.currency_address, "amount": str(claim.amount), "kind": claim.kind.value,
                  "tx_hash": claim.tx_hash, "block_number": claim.block_number, "block_hash": claim.block_hash,
                  "fork_block": fork},
                 entity=("reward_vault", vault.id),
                 key=_fresh_key(session, f"reward.claim_reverted:{vault.id}:{claim.tx_hash}:{claim.log_index}:"
                                         f"{claim.block_hash}"))
            session.delete(claim)
        forget_after(session, RewardClaimBlock.__table__, {"vault_id": vault.id}, fork)  # type: ignore[attr-defined]
    log.warning("reward vault %s: reorg, claims rewound to block %s (%s claims reverted)", vault.address, fork,
                len(dropped))
    return min(back_to, vault.claims_next_block)


# -- the daemon's pass -----------------------------------------------------------------------------------------------

@dataclass
class DistributorResult:
    opened: int = 0
    allocating: int = 0
    empty: int = 0
    waiting: list[str] | None = None
    claims: int = 0

    @property
    def items(self) -> int:
        return self.opened + self.allocating + self.empty + self.claims


def distributor_pass(now: datetime | None = None, *, keep_going: Callable[[], bool] | None = None) -> DistributorResult:
    """One bounded run of the `reward_distributor`: open due periods, allocate DUE ones, read claims."""
    result = DistributorResult(waiting=[])
    result.opened = open_due_periods(now)
    with session_scope() as session:
        due = list(session.exec(select(RewardPeriod.id).where(RewardPeriod.state == PeriodState.DUE)
                                .order_by(col(RewardPeriod.id)).limit(get_settings().reward_periods_per_run)).all())
    for period_id in due:
        outcome = allocate_period(period_id)  # type: ignore[arg-type]
        if outcome == "allocating":
            result.allocating += 1
        elif outcome == "empty":
            result.empty += 1
        elif outcome not in ("lost", "not due"):
            result.waiting.append(f"period {period_id}: {outcome}")  # type: ignore[union-attr]
        if keep_going is not None and not keep_going():
            break
    for chain in chains():
        try:
            result.claims += sync_claims(chain)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("reward distributor: chain %s unreachable: %s", chain, exc)
    return result


# -- what the admin, the API and holders read -----------------------------------------------------------------------

def _payout_reward(session: Session, actor: Actor, reward_id: int, permission: Permission = Permission.CAMPAIGN_READ,
                   *, perks_too: bool = False) -> Reward:
    """The payout reward `reward_id` as `actor` may see it (`permission` checked after): another brand's reward,
    and a perk unless `perks_too`, answer NotFound."""
    actor = signed_in(actor)
    reward = session.get(Reward, reward_id)
    if reward is None or not actor.can(Permission.CAMPAIGN_READ, reward.brand_id) or (
            reward.kind is not RewardKind.PAYOUT and not perks_too):
        raise NotFound("Reward not found.")
    require(actor, permission, reward.brand_id)
    return reward


@dataclass(frozen=True)
class PeriodView:
    id: int
    period_index: int
    starts_at: datetime
    ends_at: datetime
    state: str
    snapshot_block: int | None
    holders: int
    tokens: int
    amount: int
    claimed: int
    unclaimed: int  # allocated (confirmed), not yet claimed
    batches: int
    tx_hashes: list[str]
    error: str


def _period_views(session: Session, reward_id: int) -> list[PeriodView]:
    periods = list(session.exec(select(RewardPeriod).where(RewardPeriod.reward_id == reward_id)
                                .order_by(col(RewardPeriod.period_index).desc())).all())
    if not periods:
        return []
    a = RewardAllocation
    sums: dict[tuple[int, bool], int] = {}
    for period_id, claimed_at, allocated_block, amount in session.exec(select(
            a.period_id, a.claimed_at, a.allocated_block, a.amount).where(a.reward_id == reward_id)).all():
        if allocated_block is None:
            continue
        key = (period_id, claimed_at is not None)
        sums[key] = sums.get(key, 0) + int(amount)
    hashes: dict[int, list[str]] = {}
    for period_id, tx_hash in session.exec(select(a.period_id, ChainTransaction.tx_hash).join(
            ChainTransaction, ChainTransaction.id == a.tx_id).where(a.reward_id == reward_id).distinct()).all():
        if tx_hash:
            hashes.setdefault(period_id, []).append(tx_hash)
    return [PeriodView(p.id, p.period_index, p.starts_at, p.ends_at, p.state.value, p.snapshot_block,  # type: ignore[arg-type]
                       p.holders, p.tokens, p.amount, sums.get((p.id, True), 0), sums.get((p.id, False), 0),  # type: ignore[arg-type]
                       p.batches, sorted(hashes.get(p.id, [])), p.error)  # type: ignore[arg-type]
            for p in periods]


def list_periods(actor: Actor, reward_id: int) -> list[PeriodView]:
    """A payout's periods, newest first, with what was claimed of each (brand staff; another brand's: NotFound). A
    perk has none."""
    with session_scope() as session:
        reward = _payout_reward(session, actor, reward_id, perks_too=True)
        return _period_views(session, reward.id)  # type: ignore[arg-type]


def period_allocations(actor: Actor, period_id: int, *, offset: int = 0, limit: int = 50) -> Page[RewardAllocation]:
    """One period's allocations by holder, paged."""
    limit = max(1, min(limit, 200))
    with session_scope() as session:
        period = session.get(RewardPeriod, period_id)
        if period is None:
            raise NotFound("Period not found.")
        _payout_reward(session, actor, period.reward_id)
        total = session.exec(select(func.count()).select_from(RewardAllocation)
                             .where(RewardAllocation.period_id == period_id)).one()
        items = list(session.exec(select(RewardAllocation).where(RewardAllocation.period_id == period_id)
                                  .order_by(col(RewardAllocation.holder)).offset(max(0, offset)).limit(limit)).all())
        return Page(items=items, total=int(total), offset=max(0, offset), limit=limit)


@dataclass(frozen=True)
class PayoutOverview:
    reward_id: int
    chain: str
    vault_state: str  # "none" before the vault is requested
    vault_address: str | None
    vault_url: str | None
    vault_error: str
    currency_address: str
    balances: VaultBalances | None  # None: not deployed, or the node did not answer
    periods: list[PeriodView]


def payout_overview(actor: Actor, reward_id: int) -> PayoutOverview:
    """The admin's payouts panel: the vault (address, balance, outstanding, unallocated) and every period."""
    with session_scope() as session:
        reward = _payout_reward(session, actor, reward_id)
        campaign = session.get(Campaign, reward.campaign_id)
        assert campaign is not None
        vault = session.exec(select(RewardVaultRow).where(RewardVaultRow.brand_id == reward.brand_id,
                                                          RewardVaultRow.chain == campaign.chain)).first()
        periods = _period_views(session, reward.id)  # type: ignore[arg-type]
    balances = None
    if vault is not None and vault.address:
        try:
            balances = read_balances(get_web3(campaign.chain), vault.address, reward.currency_address)
        except Exception as exc:  # noqa: BLE001 - the panel shows "unknown" rather than failing
            log.warning("vault %s balances unavailable: %s", vault.address, exc)
    config = chain_config(campaign.chain)
    return PayoutOverview(reward.id, campaign.chain, vault.state.value if vault else "none",  # type: ignore[arg-type]
                          vault.address if vault else None, config.address_url(vault.address if vault else None),
                          vault.error if vault else "", reward.currency_address or "", balances, periods)


MAX_UINT256 = 2**256 - 1


def _check_amount(amount_wei: int) -> None:
    if not isinstance(amount_wei, int) or isinstance(amount_wei, bool) or not 0 < amount_wei <= MAX_UINT256:
        raise ValidationFailed("Bad amount.", fields={"amount": "must be a positive whole number of base units"})


def _vault_of(session: Session, actor: Actor, reward_id: int) -> tuple[Reward, Campaign, RewardVaultRow | None]:
    """The payout reward (campaign write checked: see _payout_reward), its campaign, and the brand's vault on the
    campaign's chain if one was ever requested (None: not requested, nothing is requested here)."""
    reward = _payout_reward(session, actor, reward_id, Permission.CAMPAIGN_WRITE)
    campaign = session.get(Campaign, reward.campaign_id)
    assert campaign is not None
    vault = session.exec(select(RewardVaultRow).where(RewardVaultRow.brand_id == reward.brand_id,
                                                      RewardVaultRow.chain == campaign.chain)).first()
    return reward, campaign, vault


def fund_vault(actor: Actor, reward_id: int, amount_wei: int, request_key: str) -> ChainTransaction:
    """Send `amount_wei` base units of the payout's currency from the platform signer to the brand's vault, through the
    transaction manager; the same `request_key` funds once (reused for another amount: Conflict). The vault must be
    deployed (it is requested here). The chain's coin goes with `fundEth`; an ERC-20 with `fundToken`, after the
    signer's one-time unlimited approval of the vault for that token (queued here once, the funding waits for it).

    Platform admins only (`PLATFORM_WALLET_SPEND`): the signer's balance is the platform's and every brand's deposits
    at once, with no per-brand account of it, so a brand admin may not move it (another brand's reward: NotFound)."""
    _check_amount(amount_wei)
    if not request_key or len(request_key) > 64:
        raise ValidationFailed("Bad request key.", fields={"request_key": "1-64 characters"})
    return _once_more_if_raced(lambda: _fund(actor, reward_id, amount_wei, request_key))


def _once_more_if_raced(queue: Callable[[], Any]) -> Any:
    """Run `queue` (one database transaction that queues keyed transactions); if a concurrent request committed the
    same idempotency key first (PostgreSQL: a unique violation), once more, which then finds that row."""
    try:
        return queue()
    except IntegrityError:
        return queue()


def _fund(actor: Actor, reward_id: int, amount_wei: int, request_key: str) -> ChainTransaction:
    with session_scope() as session:
        reward = _payout_reward(session, actor, reward_id)
        if not actor.can(Permission.PLATFORM_WALLET_SPEND, reward.brand_id):
            raise Forbidden("Only a platform admin can fund a reward vault: the funds come from the platform's wallet.")
        campaign = session.get(Campaign, reward.campaign_id)
        assert campaign is not None
        vault = request_vault(session, reward.brand_id, campaign.chain)
        if vault.state is not VaultState.DEPLOYED or not vault.address:
            raise Conflict(f"The brand's reward vault is not deployed yet ({vault.state.value}): try again shortly.")
        key = f"reward-fund:{vault.id}:{request_key}"
        meta = {"action": "fund", "vault_id": vault.id, "by": f"user:{actor.user_id}", "amount": str(amount_wei)}
        if not reward.currency_address:
            data, value, after = vault_contract().encode_abi("fundEth", args=[]), amount_wei, None
        else:
            token = token_arg(reward.currency_address)
            data, value = vault_contract().encode_abi("fundToken", args=[token, amount_wei]), 0
            meta["token"] = token
            after = _token_approval(session, vault, token, reward.campaign_id).id
        tx = enqueue(session, purpose=TxPurpose.REWARD_PAYOUT, key=key, chain=vault.chain, to=vault.address,
                     data=data, value_wei=value, campaign_id=reward.campaign_id, meta=meta, after_tx_id=after)
        if (tx.data, tx.value_wei) != (data, value):  # the key's earlier transaction (this one rolls back)
            raise Conflict("This request key was already used to fund another amount or currency: use a new one.")
        return tx


@dataclass(frozen=True)
class WalletTx:
    """One transaction for the admin's own browser wallet to send (nothing is signed or stored by the platform)."""

    action: str  # "approve" (the ERC-20 token's, for the vault) or "fund" (the vault's fundEth / fundToken)
    to: str
    data: str
    value: int  # wei sent along (the chain's coin only)


@dataclass(frozen=True)
class WalletFunding:
    chain: str
    chain_id: int  # the wallet must be on this chain
    vault_address: str
    currency_address: str  # "" = the chain's coin
    amount: int  # base units
    steps: tuple[WalletTx, ...]  # in order: the coin is one `fundEth`; an ERC-20 is `approve` then `fundToken`


def wallet_funding(actor: Actor, reward_id: int, amount_wei: int) -> WalletFunding:
    """The transactions with which a campaign's admin funds the brand's vault from their OWN wallet: `fundEth` with
    `amount_wei` for the chain's coin; for an ERC-20, the token's `approve(vault, amount_wei)` (exact: the wallet's
    owner approves one funding at a time) then `fundToken(token, amount_wei)`, which pulls from the sender. Anyone may
    call both on the vault, and the money is the sender's own, so campaign write (`CAMPAIGN_WRITE`) is enough, unlike
    `fund_vault`. Nothing is recorded: the vault's balance is read from the chain. The vault must be deployed
    (Conflict; it is not requested here); another brand's reward: NotFound."""
    _check_amount(amount_wei)
    with session_scope() as session:
        reward, campaign, vault = _vault_of(session, actor, reward_id)
        if vault is None or vault.state is not VaultState.DEPLOYED or not vault.address:
            state = vault.state.value if vault else "not requested"
            raise Conflict(f"The brand's reward vault is not deployed yet ({state}): try again shortly.")
        chain, address, currency = campaign.chain, to_checksum_address(vault.address), reward.currency_address or ""
    contract = vault_contract()
    if not currency:
        steps: tuple[WalletTx, ...] = (WalletTx("fund", address, contract.encode_abi("fundEth", args=[]), amount_wei),)
    else:
        token = token_arg(currency)
        steps = (WalletTx("approve", token, erc20_approve_data(address, amount_wei), 0),
                 WalletTx("fund", address, contract.encode_abi("fundToken", args=[token, amount_wei]), 0))
    try:
        wanted_chain = node_chain_id(chain)
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise node_unavailable() from exc
    return WalletFunding(chain, wanted_chain, address, currency, amount_wei, steps)


def _token_approval(session: Session, vault: RewardVaultRow, token: str, campaign_id: int) -> ChainTransaction:
    """The platform signer's approval of the vault for `token`: unlimited, so it is sent once per (vault, token) and
    never raced by a second funding (an exact `approve` per funding would overwrite the other's allowance). The vault
    only ever pulls from `msg.sender` (`fundToken`), so nobody but the signer itself can spend it. A new attempt
    only when every earlier one reverted or failed."""
    prefix = f"reward-approve:{vault.id}:{token}"
    earlier = list(session.exec(select(ChainTransaction).where(
        col(ChainTransaction.idempotency_key).startswith(prefix)).order_by(col(ChainTransaction.id))).all())
    for tx in earlier:
        if tx.state not in (TxState.REVERTED, TxState.FAILED):
            return tx
    return enqueue(session, purpose=TxPurpose.REWARD_PAYOUT, key=f"{prefix}:{len(earlier)}", chain=vault.chain,
                   to=token, data=erc20_approve_data(vault.address, MAX_UINT256),  # type: ignore[arg-type]
                   campaign_id=campaign_id, meta={"action": "approve", "vault_id": vault.id, "token": token})


def retry_vault_deployment(actor: Actor, reward_id: int) -> RewardVaultRow:
    """The brand's vault deployment failed: request it again (the contract deployer queues a new transaction)."""
    with session_scope() as session:
        _, _, vault = _vault_of(session, actor, reward_id)
        if vault is None or vault.state is not VaultState.FAILED:
            raise Conflict("Only a failed vault deployment can be retried.")
        transition(session, vault, "retry", actor=f"user:{actor.user_id}", reason=vault.error, also={"error": ""})
        return vault


def _unclaimed(reward_id: int) -> list[Any]:
    """The reward's allocations confirmed on chain and not claimed yet (where-clauses)."""
    a = RewardAllocation
    return [a.reward_id == reward_id, col(a.claimed_at).is_(None), col(a.allocated_block).is_not(None)]


def _outstanding_query(reward_id: int, holders: Sequence[str] | None = None, after: str = "") -> Any:
    """The holders of the reward's allocations confirmed on chain and not claimed yet (in address order, after
    `after`)."""
    a = RewardAllocation
    query = select(a.holder).where(*_unclaimed(reward_id), a.holder > after).group_by(a.holder)  # type: ignore[operator]
    return query if holders is None else query.where(col(a.holder).in_(list(holders)))


def _outstanding(session: Session, reward_id: int, holders: Sequence[str] | None = None, *, after: str = "",
                 limit: int | None = None) -> list[tuple[str, int, int, int]]:
    """(holder, amount, vault id, newest allocation id) of the reward's allocations confirmed on chain and not claimed
    yet, by holder (in address order, after `after`). Summed here, not in SQL: SQLite sums these wide integers as
    floats."""
    query = _outstanding_query(reward_id, holders, after).order_by(RewardAllocation.holder)
    wanted = list(session.exec(query if limit is None else query.limit(limit)).all())
    if not wanted:
        return []
    a = RewardAllocation
    totals: dict[str, tuple[int, int, int]] = {}
    for allocation_id, holder, amount, vault_id in session.exec(select(a.id, a.holder, a.amount, a.vault_id).where(
            *_unclaimed(reward_id), col(a.holder).in_(wanted))).all():
        total, _, newest = totals.get(holder, (0, vault_id, 0))
        totals[holder] = (total + int(amount), vault_id, max(newest, int(allocation_id)))  # type: ignore[arg-type]
    return [(str(h), totals[h][0], int(totals[h][1]), totals[h][2]) for h in wanted]


def _push(session: Session, reward: Reward, vault: RewardVaultRow, holder: str, amount: int, newest: int,
          request: str = "") -> ChainTransaction:
    """The vault's `payout` of `holder`, keyed by what it pays: (reward, holder, the newest of the holder's unclaimed
    allocations). Asking again, from one button or both, from a second tab or after a restart, finds the same
    transaction while it is queued, pending, or confirmed but not yet read by the claim reader. Once the claim reader
    has read it, its allocations are claimed: a later period's allocation is newer, so a new key, even for the same
    amount. A payout that reverted or failed is asked again as a new attempt (`...:attempt-<n>`), which is then the
    one every later ask finds. `request` is stored with a new one (so the caller can tell a transaction it queued from
    one that was there, even if another request committed it a moment ago)."""
    base = f"reward-push:{reward.id}:{holder}:alloc-{newest}"
    attempt = 1
    while True:
        key = base if attempt == 1 else f"{base}:attempt-{attempt}"
        earlier = session.exec(select(ChainTransaction).where(ChainTransaction.idempotency_key == key)).first()
        if earlier is None:
            break
        if earlier.state not in (TxState.REVERTED, TxState.FAILED):
            return earlier
        attempt += 1
    data = vault_contract().encode_abi("payout", args=[token_arg(reward.currency_address), holder])
    return enqueue(session, purpose=TxPurpose.REWARD_PAYOUT, key=key, chain=vault.chain, to=vault.address, data=data,
                   campaign_id=reward.campaign_id,
                   meta={"action": "payout", "vault_id": vault.id, "holder": holder, "amount": str(amount),
                         "allocation": newest, "attempt": attempt, "request": request})


def push_payout(actor: Actor, reward_id: int, holder: str) -> ChainTransaction:
    """Pay `holder` everything allocated to them in the reward's currency (`payout`), for holders who never claim,
    e.g. custodial wallets. Asking again before the claim reader saw it is the same transaction."""
    try:
        holder = to_checksum_address(holder)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Bad holder address.", fields={"holder": "must be a 0x-prefixed 20-byte address"}
                               ) from exc
    return _once_more_if_raced(lambda: _push_one(actor, reward_id, holder))


def _push_one(actor: Actor, reward_id: int, holder: str) -> ChainTransaction:
    with session_scope() as session:
        reward = _payout_reward(session, actor, reward_id, Permission.CAMPAIGN_WRITE)
        pending = _outstanding(session, reward.id, [holder])  # type: ignore[arg-type]
        if not pending:
            raise Conflict("Nothing is allocated to this holder and unclaimed.")
        [(_, amount, vault_id, newest)] = pending
        vault = session.get(RewardVaultRow, vault_id)
        assert vault is not None
        return _push(session, reward, vault, holder, amount, newest)


@dataclass(frozen=True)
class PushBatch:
    holders: int  # holders with something outstanding in this batch
    queued: int  # new payout transactions queued by this batch
    already: int  # holders whose payout was already queued (same key): not pushed again
    next_after: str | None  # the last holder of the batch, to continue after; None when done
    remaining: int  # holders with something outstanding from this batch on (for progress)


def push_payouts_batch(actor: Actor, reward_id: int, *, after: str = "", batch_size: int | None = None) -> PushBatch:
    """One batch of "Push all": the vault's `payout` for up to REWARD_PUSH_BATCH_SIZE holders (in address order,
    after `after`) with an unclaimed allocation of the reward, in ONE database transaction. The actor is checked
    again for every batch (a role taken away stops the run)."""
    size = batch_size or get_settings().reward_push_batch_size
    return _once_more_if_raced(lambda: _push_batch(actor, reward_id, after, size))


def _push_batch(actor: Actor, reward_id: int, after: str, size: int) -> PushBatch:
    with session_scope() as session:
        reward = _payout_reward(session, actor, reward_id, Permission.CAMPAIGN_WRITE)
        remaining = int(session.exec(select(func.count()).select_from(
            _outstanding_query(reward.id, after=after).subquery())).one())  # type: ignore[arg-type]
        rows = _outstanding(session, reward.id, after=after, limit=size)  # type: ignore[arg-type]
        vaults: dict[int, RewardVaultRow] = {}
        request = secrets.token_hex(8)
        queued = 0
        for holder, amount, vault_id, newest in rows:
            vault = vaults.get(vault_id) or session.get(RewardVaultRow, vault_id)
            assert vault is not None
            vaults[vault_id] = vault
            queued += _push(session, reward, vault, holder, amount, newest, request).meta.get("request") == request
        already = len(rows) - queued
        done = len(rows) < size
        return PushBatch(len(rows), queued, already, None if done or not rows else rows[-1][0], remaining)


@dataclass(frozen=True)
class PushAllResult:
    holders: int
    queued: int
    already: int


def push_all(actor: Actor, reward_id: int, *, batch_size: int | None = None,
             on_batch: Callable[[PushBatch], None] | None = None) -> PushAllResult:
    """ "Push all": every holder with an unclaimed allocation of the reward is paid out (`payout`), batch by batch.
    Pressed twice, or run again after a crash between batches, it queues nothing it queued before."""
    after, holders, queued, already = "", 0, 0, 0
    while True:
        batch = push_payouts_batch(actor, reward_id, after=after, batch_size=batch_size)
        holders, queued, already = holders + batch.holders, queued + batch.queued, already + batch.already
        if on_batch is not None:
            on_batch(batch)
        if batch.next_after is None:
            return PushAllResult(holders, queued, already)
        after = batch.next_after


@dataclass(frozen=True)
class Claimable:
    chain: str
    vault_address: str
    holder: str
    account_id: int | None
    currency_address: str  # "" = the chain's own coin
    amount: int  # allocated (confirmed) and not yet claimed


def claimable(holder: Holder) -> list[Claimable]:
    """What `holder`'s addresses can claim, per vault and currency (allocations confirmed on chain, no claim since)."""
    a = RewardAllocation
    with session_scope() as session:
        rows = session.exec(select(RewardVaultRow.chain, RewardVaultRow.address, a.holder, a.account_id,
                                   a.currency_address, a.amount)
                            .join(RewardVaultRow, RewardVaultRow.id == a.vault_id)
                            .where(col(a.holder).in_(list(holder.addresses)), col(a.claimed_at).is_(None),
                                   col(a.allocated_block).is_not(None))).all()
    totals: dict[tuple[str, str, str, str], tuple[int | None, int]] = {}
    for chain, address, who, account, currency, amount in rows:
        key = (chain, address, who, currency)
        previous = totals.get(key, (account, 0))
        totals[key] = (previous[0] or account, previous[1] + int(amount))
    return [Claimable(chain, address, who, account, currency, amount)
            for (chain, address, who, currency), (account, amount) in sorted(totals.items())]
