"""The transaction manager: every transaction is a row before it is sent; nonces come from a locked row per
(chain, signer); the signed bytes are stored before broadcasting; stuck transactions are replaced with higher
fees at the same nonce; receipts are counted to N confirmations and a vanished receipt (reorg) goes back to sent.

`monitor_pass(chain)` is the one place that signs and sends. Network calls happen between database
transactions, never inside one; every database step re-checks the row's `version`, so any number of
monitors may run at once: the loser of a race changes nothing and the same signed bytes are sent at most
again (which nodes ignore), never a different transaction for the same idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import func, update
from sqlmodel import Session, col, select
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound

from backend.chain.client import chain_id, fund_from_dev_account, get_web3, is_transient
from backend.chain.config import chain_config
from backend.chain.keys import PLATFORM, platform_address, signer_account, signer_address
from backend.chain.models import (
    AttemptStatus,
    ChainTransaction,
    SignerNonce,
    TxAttempt,
    TxPurpose,
    TxState,
)
from backend.db import is_postgresql, session_scope, utcnow
from backend.errors import Conflict
from backend.faults import crash_point
from backend.monitoring.errors import record_error
from backend.monitoring.scrub import scrub_text
from backend.settings import get_settings
from backend.workflow.machine import IllegalTransition
from backend.workflow.sql import db_now, insert_ignore
from backend.workflow.transitions import ConcurrentTransition, transition
from contracts.artifacts import load_artifact
from contracts.errors import decode_revert

log = logging.getLogger(__name__)

ACTOR = "daemon:tx_monitor"
GAS_MARGIN_PERCENT = 20  # over the estimate: state can move a little between estimation and mining
DEV_FUND_WEI = 1000 * 10**18
CUSTODY_GAS_CAP = 300_000  # a token transfer; the top-up covers this at the fees we pay

# fn(session, tx, receipt or None): the business step of a finished transaction, run in the same database
# transaction that marks it confirmed / reverted / failed. The table purpose -> step is
# backend.chain.finish_hooks.FINISH_HOOKS, handed to `monitor_pass` by its caller.
FinishHook = Callable[[Session, ChainTransaction, Any], None]
FinishHooks = Mapping[TxPurpose, FinishHook]


@lru_cache(maxsize=1)
def revert_abis() -> list[Any]:
    """ABIs a revert of ours is decoded against."""
    return [load_artifact("PrimsellCollection")["abi"], load_artifact("RewardVault")["abi"]]


# -- enqueueing ---------------------------------------------------------------------------------------------------

def enqueue(
    session: Session,
    *,
    purpose: TxPurpose,
    key: str,
    chain: str,
    to: str | None,
    data: str | bytes = "0x",
    value_wei: int = 0,
    signer: str = PLATFORM,
    campaign_id: int | None = None,
    meta: dict[str, Any] | None = None,
    after_tx_id: int | None = None,
) -> ChainTransaction:
    """Queue a transaction in the caller's database transaction; the same `key` returns the existing row."""
    existing = session.exec(select(ChainTransaction).where(ChainTransaction.idempotency_key == key)).first()
    if existing is not None:
        if existing.purpose is not purpose:
            raise Conflict(f"idempotency key {key!r} is already used by a {existing.purpose} transaction")
        return existing
    if not isinstance(value_wei, int) or value_wei < 0:
        raise ValueError("value_wei must be a non-negative int")
    chain_config(chain)  # an unknown chain fails here, not in the daemon
    tx = ChainTransaction(
        purpose=purpose,
        idempotency_key=key,
        chain=chain,
        signer=signer,
        from_address=signer_address(signer),
        to_address=to_checksum_address(to) if to else None,
        data=data if isinstance(data, str) else "0x" + bytes(data).hex(),
        value_wei=value_wei,
        campaign_id=campaign_id,
        meta=meta or {},
        after_tx_id=after_tx_id,
    )
    session.add(tx)
    session.flush()
    return tx


# -- the monitor pass ---------------------------------------------------------------------------------------------

@dataclass
class MonitorResult:
    signed: int = 0
    sent: int = 0
    rebroadcast: int = 0
    replaced: int = 0
    mined: int = 0
    confirmed: int = 0
    reverted: int = 0
    failed: int = 0
    reorged: int = 0
    rpc_error: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        return (self.signed + self.sent + self.rebroadcast + self.replaced + self.mined + self.confirmed
                + self.reverted + self.failed + self.reorged)

    @property
    def finished(self) -> int:
        return self.confirmed + self.reverted + self.failed


def monitor_pass(chain: str, batch_size: int | None = None, *, hooks: FinishHooks) -> MonitorResult:
    """One bounded pass: sign queued transactions, broadcast signed ones, follow sent ones to N confirmations.
    `hooks` says what a finished transaction of each purpose does (backend.chain.finish_hooks.FINISH_HOOKS).

    An RPC outage ends the pass early (`rpc_error`); the next pass continues where this one stopped.
    """
    batch = batch_size or get_settings().tx_batch_size
    result = MonitorResult()
    if pending_count(chain) == 0:
        return result  # nothing in flight: do not touch the node (it may not even be running)
    w3 = get_web3(chain)
    try:
        _dev_funding(chain, w3)
        _sign_queued(chain, w3, batch, result, hooks)
        _broadcast_signed(chain, w3, batch, result)
        _track(chain, w3, batch, result, hooks)
    except Exception as exc:
        if not is_transient(exc):
            raise
        result.rpc_error = scrub_text(f"{type(exc).__name__}: {exc}", 300)  # an RPC URL may carry an API key
        log.warning("chain %s unreachable, will retry: %s", chain, result.rpc_error)
    return result


def _dev_funding(chain: str, w3: Web3) -> None:
    if chain_config(chain).dev_funding:
        address = platform_address()
        if w3.eth.get_balance(address) < get_settings().signer_low_balance_wei:
            fund_from_dev_account(w3, address, DEV_FUND_WEI)


def _backoff(attempts: int) -> timedelta:
    s = get_settings()
    return timedelta(seconds=min(s.tx_backoff_max_s, s.tx_backoff_base_s * (2 ** max(0, attempts - 1))))


def _load(session: Session, tx_id: int, version: int) -> ChainTransaction | None:
    """The row if nobody changed it since we read `version` (else another monitor got there first)."""
    query = select(ChainTransaction).where(ChainTransaction.id == tx_id)
    if is_postgresql():
        query = query.with_for_update()
    tx = session.exec(query).first()
    return tx if tx is not None and tx.version == version else None


def _bump_version(tx: ChainTransaction) -> None:
    tx.version += 1
    tx.updated_at = utcnow()


def _record_failure(tx_id: int, version: int, message: str) -> None:
    """A broadcast or estimation that failed for a reason other than a revert: retry later with backoff."""
    with session_scope() as s:
        tx = _load(s, tx_id, version)
        if tx is None:
            return
        tx.attempts += 1
        tx.error = message[:500]
        tx.next_attempt_at = db_now(s) + _backoff(tx.attempts)
        _bump_version(tx)


def _finish(session: Session, tx: ChainTransaction, trigger: str, receipt: Any, hooks: FinishHooks,
            reason: str = "") -> None:
    transition(session, tx, trigger, actor=ACTOR, reason=reason)
    tx.finished_at = utcnow()
    if reason:
        tx.error = reason[:500]
    hook = hooks.get(tx.purpose)
    if hook is not None:
        hook(session, tx, receipt)


class FeeCapReached(RuntimeError):
    """A stuck transaction's replacement would have to offer more than TX_MAX_*_PER_GAS_WEI."""


FEE_CAP_REACHED = "fee cap reached"  # prefix of `error` while a transaction waits at the ceiling (alerted once)


def _base_fee(w3: Web3) -> int:
    return int(w3.eth.get_block("latest").get("baseFeePerGas") or 0)


def _fees(w3: Web3, previous: tuple[int, int] | None = None) -> tuple[int, int]:
    """(maxFeePerGas, maxPriorityFeePerGas) for the next block; with `previous`, at least +bump% on both.
    Never above TX_MAX_FEE_PER_GAS_WEI / TX_MAX_PRIORITY_FEE_PER_GAS_WEI, so a clamped result may not be a
    valid replacement of `previous`: callers check with `_outbids`."""
    settings = get_settings()
    base_fee = _base_fee(w3)
    priority = settings.tx_priority_fee_wei
    max_fee = 2 * base_fee + priority
    if previous is not None:
        bump = 100 + settings.tx_fee_bump_percent
        old_max, old_priority = previous
        priority = max(priority, -(-old_priority * bump // 100), old_priority + 1)
        max_fee = max(2 * base_fee + priority, -(-old_max * bump // 100), old_max + 1)
    max_fee = min(max_fee, settings.tx_max_fee_per_gas_wei)
    priority = min(priority, settings.tx_max_priority_fee_per_gas_wei, max_fee)  # a tip above the max fee is invalid
    return max_fee, priority


def _outbids(fees: tuple[int, int], previous: tuple[int, int]) -> bool:
    """Whether `fees` raise both of `previous` by the bump nodes require of a replacement at the same nonce."""
    bump = 100 + get_settings().tx_fee_bump_percent
    return all(new * 100 >= old * bump and new > old for new, old in zip(fees, previous, strict=True))


def _alert_fee_cap(s: Session, row: ChainTransaction, message: str) -> None:
    """Tell the operators once (the row's `error` remembers it) that a transaction waits at the fee ceiling."""
    if row.error.startswith(FEE_CAP_REACHED):
        return
    row.error = f"{FEE_CAP_REACHED}: {message}"[:500]
    _bump_version(row)
    log.warning("tx %s: %s", row.id, row.error)
    record_error(ACTOR, FeeCapReached(f"tx {row.id}: {message}"),
                 {"tx_id": row.id, "campaign_id": row.campaign_id}, session=s)


def _sign(account: LocalAccount, tx: ChainTransaction, chain_id_: int, nonce: int, gas: int,
          fees: tuple[int, int]) -> tuple[str, str]:
    fields: dict[str, Any] = {
        "type": 2,
        "chainId": chain_id_,
        "nonce": nonce,
        "gas": gas,
        "maxFeePerGas": fees[0],
        "maxPriorityFeePerGas": fees[1],
        "value": tx.value_wei,
        "data": tx.data,
    }
    if tx.to_address:
        fields["to"] = tx.to_address
    signed = account.sign_transaction(fields)
    return "0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex()


# -- step 1: sign -------------------------------------------------------------------------------------------------

def _sign_queued(chain: str, w3: Web3, batch: int, result: MonitorResult, hooks: FinishHooks) -> None:
    with session_scope() as s:
        now = db_now(s)
        rows = list(s.exec(
            select(ChainTransaction)
            .where(ChainTransaction.chain == chain, ChainTransaction.state == TxState.QUEUED,
                   col(ChainTransaction.raw_tx).is_(None), ChainTransaction.next_attempt_at <= now)
            .order_by(col(ChainTransaction.id)).limit(batch)
        ).all())
        dependency_ids = {tx.after_tx_id for tx in rows if tx.after_tx_id is not None}
        dependencies = {
            d.id: d.state for d in s.exec(select(ChainTransaction).where(col(ChainTransaction.id).in_(dependency_ids)))
        } if dependency_ids else {}
    if not rows:
        return
    plans: list[tuple[ChainTransaction, int]] = []
    for tx in rows:
        if tx.after_tx_id is not None:
            dep = dependencies.get(tx.after_tx_id)
            if dep in (TxState.REVERTED, TxState.FAILED):
                _fail_queued(tx, f"transaction {tx.after_tx_id} it waited for {dep}", result, hooks)
                continue
            if dep is not TxState.CONFIRMED:
                continue
        call: dict[str, Any] = {"from": tx.from_address, "data": tx.data, "value": tx.value_wei}
        if tx.to_address:
            call["to"] = tx.to_address
        if tx.signer != PLATFORM:
            # A custodial wallet holds only its gas top-up; some nodes price an uncapped estimate at the block
            # gas limit and refuse it for lack of funds.
            call["gas"] = CUSTODY_GAS_CAP
        try:
            estimate = int(w3.eth.estimate_gas(call))  # type: ignore[arg-type]
        except Exception as exc:
            if is_transient(exc):
                raise
            lowered = str(exc).lower()
            if tx.signer != PLATFORM and ("afford" in lowered or "insufficient funds" in lowered):
                # py-evm prices its estimate at the block gas limit, which a top-up never covers: a token
                # transfer fits the cap (a revert would still be recorded, decoded by replaying the call).
                plans.append((tx, CUSTODY_GAS_CAP))
                continue
            name = _revert_name(exc)
            if name is not None:
                _revert_queued(tx, name, result, hooks)
            else:
                _record_failure(tx.id, tx.version, f"estimate failed: {type(exc).__name__}: {exc}")  # type: ignore[arg-type]
                result.errors.append(f"tx {tx.id}: {exc}")
            continue
        gas = estimate + estimate * GAS_MARGIN_PERCENT // 100
        limit = int(w3.eth.get_block("latest")["gasLimit"])
        if tx.signer != PLATFORM:
            limit = min(limit, CUSTODY_GAS_CAP)  # py-evm's search overshoots when the balance is small
        plans.append((tx, min(gas, limit)))
    if not plans:
        return
    fees = _fees(w3)
    chain_id_ = chain_id(chain)
    # Floors from the node: a nonce used outside this database (or lost) is skipped, never reused.
    floors = {addr: int(w3.eth.get_transaction_count(addr, "pending"))
              for addr in sorted({tx.from_address for tx, _ in plans})}
    with session_scope() as s:
        counters = _lock_nonces(s, chain, floors)
        for planned, gas in plans:
            tx = _load(s, planned.id, planned.version)  # type: ignore[arg-type]
            if tx is None or tx.state is not TxState.QUEUED or tx.raw_tx is not None:
                continue
            counter = counters[tx.from_address]
            nonce = counter.next_nonce
            counter.next_nonce = nonce + 1
            counter.updated_at = utcnow()
            raw, tx_hash = _sign(signer_account(tx.signer), tx, chain_id_, nonce, gas, fees)
            tx.nonce, tx.gas_limit = nonce, gas
            tx.max_fee_per_gas, tx.max_priority_fee_per_gas = fees
            tx.raw_tx, tx.tx_hash = raw, tx_hash
            _bump_version(tx)
            s.add(TxAttempt(tx_id=tx.id, tx_hash=tx_hash, nonce=nonce, max_fee_per_gas=fees[0],  # type: ignore[arg-type]
                            max_priority_fee_per_gas=fees[1], raw_tx=raw))
            result.signed += 1


def _lock_nonces(s: Session, chain: str, floors: dict[str, int]) -> dict[str, SignerNonce]:
    """Lock the nonce rows of these signers (in address order, from one place) and lift them to the floors."""
    counters: dict[str, SignerNonce] = {}
    for address in sorted(floors):
        insert_ignore(s, SignerNonce.__table__, {"chain": chain, "address": address, "next_nonce": floors[address],
                                                 "updated_at": utcnow()}, ["chain", "address"])
        query = select(SignerNonce).where(SignerNonce.chain == chain, SignerNonce.address == address)
        if is_postgresql():
            query = query.with_for_update()
        row = s.exec(query.execution_options(populate_existing=True)).one()
        if row.next_nonce < floors[address]:
            log.info("nonce of %s on %s resynchronised from the chain: %s -> %s", address, chain,
                     row.next_nonce, floors[address])
            row.next_nonce = floors[address]
        counters[address] = row
    return counters


def _revert_name(exc: BaseException) -> str | None:
    """The decoded error name if `exc` is an EVM revert (either backend's shape), else None."""
    try:
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # pragma: no cover - eth-tester is a test dependency of web3[tester]
        TransactionFailed = ContractLogicError  # type: ignore[misc,assignment]
    text = str(exc).lower()
    if not isinstance(exc, (ContractLogicError, TransactionFailed)) and "revert" not in text:
        return None
    decoded = decode_revert(exc, revert_abis())
    return decoded.name or (f"reverted ({decoded.selector})" if decoded.selector else "reverted")


def _revert_queued(tx: ChainTransaction, name: str, result: MonitorResult, hooks: FinishHooks) -> None:
    with session_scope() as s:
        row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
        if row is None or row.state is not TxState.QUEUED:
            return
        _finish(s, row, "revert", None, hooks, name)
        result.reverted += 1


def _fail_queued(tx: ChainTransaction, reason: str, result: MonitorResult, hooks: FinishHooks) -> None:
    with session_scope() as s:
        row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
        if row is None or row.state is not TxState.QUEUED:
            return
        _finish(s, row, "fail", None, hooks, reason)
        result.failed += 1


# -- step 2: broadcast --------------------------------------------------------------------------------------------

SENT, KNOWN, NONCE_USED, REJECTED = "sent", "known", "nonce_used", "rejected"


def _known(w3: Web3, tx_hash: str) -> bool:
    try:
        w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        return True
    except TransactionNotFound:
        return False


def _send_raw(w3: Web3, raw: str, tx_hash: str) -> tuple[str, str]:
    """Broadcast stored bytes. Sending the same bytes twice is harmless: nodes answer "already known"."""
    try:
        w3.eth.send_raw_transaction(HexBytes(raw))
        return SENT, ""
    except Exception as exc:
        if is_transient(exc):
            raise
        message = str(exc)
        lowered = message.lower()
        if "already known" in lowered or "known transaction" in lowered or _known(w3, tx_hash):
            return KNOWN, message
        if "nonce too low" in lowered or "nonce is too low" in lowered or ("nonce" in lowered and "low" in lowered):
            return NONCE_USED, message
        return REJECTED, message


def _our_receipt(w3: Web3, hashes: list[str]) -> Any:
    for tx_hash in hashes:
        try:
            return w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            continue
    return None


def _hashes(tx_ids: list[int]) -> dict[int, list[str]]:
    """Every signed attempt's hash per transaction, newest first."""
    if not tx_ids:
        return {}
    out: dict[int, list[str]] = {}
    with session_scope() as s:
        for attempt in s.exec(select(TxAttempt).where(col(TxAttempt.tx_id).in_(tx_ids))
                              .order_by(col(TxAttempt.id).desc())):
            out.setdefault(attempt.tx_id, []).append(attempt.tx_hash)
    return out


def _broadcast_signed(chain: str, w3: Web3, batch: int, result: MonitorResult) -> None:
    with session_scope() as s:
        now = db_now(s)
        rows = list(s.exec(
            select(ChainTransaction)
            .where(ChainTransaction.chain == chain, ChainTransaction.state == TxState.QUEUED,
                   col(ChainTransaction.raw_tx).is_not(None), ChainTransaction.next_attempt_at <= now)
            .order_by(col(ChainTransaction.from_address), col(ChainTransaction.nonce)).limit(batch)
        ).all())
    for tx in rows:
        assert tx.raw_tx is not None and tx.tx_hash is not None
        crash_point("tx.signed")  # signed and stored, not broadcast
        outcome, message = _send_raw(w3, tx.raw_tx, tx.tx_hash)
        crash_point("tx.broadcast")  # on the node, not recorded as sent
        if outcome == NONCE_USED:
            # Perhaps one of OUR attempts was already mined (a crash after broadcasting): then it is sent.
            if _our_receipt(w3, _hashes([tx.id]).get(tx.id, [])) is not None:  # type: ignore[index,arg-type]
                outcome = KNOWN
            else:
                _drop_nonce(chain, w3, tx, TxState.QUEUED, result)
                continue
        if outcome == REJECTED:
            if not _reprice_rejected(chain, w3, tx, message):
                _record_failure(tx.id, tx.version, f"broadcast rejected: {message}")  # type: ignore[arg-type]
            result.errors.append(f"tx {tx.id}: {message}")
            continue
        with session_scope() as s:
            row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
            if row is None or row.state is not TxState.QUEUED:
                continue
            transition(s, row, "broadcast", actor=ACTOR, reason=row.tx_hash or "")
            row.sent_at = db_now(s)
            row.error = ""
            result.sent += 1


def _reprice_rejected(chain: str, w3: Web3, tx: ChainTransaction, message: str) -> bool:
    """A signed, unsent transaction the node refuses because its max fee is below the base fee (which rose while
    it waited) would be refused forever: sign it again at the same nonce with fees for the current base fee.

    Signing again at the SAME nonce is safe even if the old bytes did reach some pool (a broadcast before a crash,
    since dropped): one nonce can be mined once, and every attempt's hash is stored (TxAttempt) before it is
    broadcast, so whichever wins is found. The new fees are a proper replacement of the old ones (`_fees` with
    `previous`) so a pool still holding the old bytes accepts them. Never a new nonce here (see `_drop_nonce`).
    Returns whether the row was handled (re-signed, or alerted at the fee ceiling with a backoff)."""
    assert tx.nonce is not None and tx.gas_limit is not None
    old = (int(tx.max_fee_per_gas or 0), int(tx.max_priority_fee_per_gas or 0))
    base_fee = _base_fee(w3)
    if "base fee" not in message.lower() and old[0] >= base_fee:
        return False  # refused for another reason (funds, a limit of the node): retry the same bytes with backoff
    fees = _fees(w3, old)
    if fees[0] < base_fee or not _outbids(fees, old):
        with session_scope() as s:  # retry with backoff; the stored bytes stay (the base fee may fall again)
            row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
            if row is not None and row.state is TxState.QUEUED:
                _alert_fee_cap(s, row, f"base fee {base_fee} wei: re-pricing it would exceed the fee ceiling")
                row.attempts += 1
                row.next_attempt_at = db_now(s) + _backoff(row.attempts)
                _bump_version(row)
        return True
    raw, tx_hash = _sign(signer_account(tx.signer), tx, chain_id(chain), tx.nonce, tx.gas_limit, fees)
    with session_scope() as s:  # stored before it is broadcast (by the next pass), as at the first signing
        row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
        if row is None or row.state is not TxState.QUEUED:
            return True
        row.raw_tx, row.tx_hash = raw, tx_hash
        row.max_fee_per_gas, row.max_priority_fee_per_gas = fees
        row.error = f"re-signed: broadcast rejected below the base fee: {message}"[:500]
        _bump_version(row)
        _add_attempt(s, row.id, tx_hash, tx.nonce, fees, raw)  # type: ignore[arg-type]
    log.info("tx %s re-signed at nonce %s with maxFeePerGas %s (base fee %s)", tx.id, tx.nonce, fees[0], base_fee)
    return True


def _add_attempt(s: Session, tx_id: int, tx_hash: str, nonce: int, fees: tuple[int, int], raw: str) -> None:
    """Record a signed attempt (once: the same fees sign the same bytes, e.g. when a rejected one is tried again)."""
    if s.exec(select(TxAttempt.id).where(TxAttempt.tx_hash == tx_hash)).first() is None:
        s.add(TxAttempt(tx_id=tx_id, tx_hash=tx_hash, nonce=nonce, max_fee_per_gas=fees[0],
                        max_priority_fee_per_gas=fees[1], raw_tx=raw))


def _drop_nonce(chain: str, w3: Web3, tx: ChainTransaction, state: TxState, result: MonitorResult) -> None:
    """The nonce went to a transaction that is not ours and none of our attempts has a receipt: none of them can
    ever be mined, so the row is signed again with a fresh nonce (the counter resyncs from the chain)."""
    latest_count = int(w3.eth.get_transaction_count(tx.from_address, "latest"))
    if tx.nonce is None or latest_count <= tx.nonce:
        return  # only in a pool, not yet mined: wait rather than risk two live transactions
    with session_scope() as s:
        row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
        if row is None or row.state is not state:
            return
        if state is TxState.SENT:
            transition(s, row, "requeue", actor=ACTOR, reason=f"nonce {row.nonce} used by another transaction")
        s.execute(update(TxAttempt).where(TxAttempt.tx_id == row.id).values(status=AttemptStatus.DROPPED))
        row.raw_tx = row.tx_hash = None
        row.nonce = None
        row.sent_at = None
        _bump_version(row)
        log.warning("tx %s lost nonce; it will be signed again", row.id)
        result.errors.append(f"tx {row.id}: nonce used by another transaction; re-signing")


# -- step 3: follow sent and mined transactions ------------------------------------------------------------------

def _track(chain: str, w3: Web3, batch: int, result: MonitorResult, hooks: FinishHooks) -> None:
    with session_scope() as s:
        rows = list(s.exec(
            select(ChainTransaction)
            .where(ChainTransaction.chain == chain,
                   col(ChainTransaction.state).in_([TxState.SENT, TxState.MINED]))
            .order_by(col(ChainTransaction.id)).limit(batch)
        ).all())
    if not rows:
        return
    all_hashes = _hashes([tx.id for tx in rows])  # type: ignore[misc]
    needed = chain_config(chain).confirmations
    latest = int(w3.eth.block_number)
    replace_after = timedelta(seconds=get_settings().tx_replace_after_s)
    for tx in rows:
        hashes = all_hashes.get(tx.id, [])  # type: ignore[arg-type]
        if tx.mined_hash in hashes:  # the mined one first
            hashes = [tx.mined_hash, *[h for h in hashes if h != tx.mined_hash]]
        receipt = _our_receipt(w3, hashes)
        if tx.state is TxState.MINED:
            if receipt is None or "0x" + bytes(receipt["blockHash"]).hex() != tx.block_hash:
                _reorg(tx, result)
                continue
        elif receipt is None:
            now = utcnow()
            due = now - (tx.sent_at or tx.updated_at) >= replace_after and tx.next_attempt_at <= now
            if due and _replace(chain, w3, tx, result):
                continue
            if tx.tx_hash and not _known(w3, tx.tx_hash):
                _rebroadcast(chain, w3, tx, hashes, result)
            continue
        confirmations = latest - int(receipt["blockNumber"]) + 1
        reason = ""
        crash_point("tx.confirm")  # a receipt seen, not recorded
        if confirmations >= needed and int(receipt["status"]) == 0:
            reason = _replay_revert(w3, tx, receipt)
        with session_scope() as s:
            row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
            if row is None:
                continue
            try:
                if row.state is TxState.SENT:
                    _mark_mined(s, row, receipt)
                    result.mined += 1
                if confirmations >= needed:
                    if int(receipt["status"]) == 1:
                        _finish(s, row, "confirm", receipt, hooks)
                        result.confirmed += 1
                    else:
                        _finish(s, row, "revert", receipt, hooks, reason)
                        result.reverted += 1
            except (ConcurrentTransition, IllegalTransition):
                s.rollback()
                continue


def _mark_mined(s: Session, tx: ChainTransaction, receipt: Any) -> None:
    mined_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    transition(s, tx, "mine", actor=ACTOR, reason=f"block {receipt['blockNumber']}")
    tx.mined_hash = tx.tx_hash = mined_hash
    tx.block_number = int(receipt["blockNumber"])
    tx.block_hash = "0x" + bytes(receipt["blockHash"]).hex()
    tx.receipt_status = int(receipt["status"])
    tx.gas_used = int(receipt["gasUsed"])
    if receipt.get("contractAddress"):
        tx.contract_address = to_checksum_address(receipt["contractAddress"])
    s.execute(update(TxAttempt).where(TxAttempt.tx_id == tx.id, TxAttempt.tx_hash == mined_hash)
              .values(status=AttemptStatus.MINED))
    s.execute(update(TxAttempt).where(TxAttempt.tx_id == tx.id, TxAttempt.tx_hash != mined_hash,
                                      TxAttempt.status != AttemptStatus.DROPPED)
              .values(status=AttemptStatus.REPLACED))


def _reorg(tx: ChainTransaction, result: MonitorResult) -> None:
    with session_scope() as s:
        row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
        if row is None or row.state is not TxState.MINED:
            return
        transition(s, row, "reorg", actor=ACTOR, reason=f"receipt in block {row.block_number} disappeared")
        s.execute(update(TxAttempt).where(TxAttempt.tx_id == row.id, TxAttempt.status != AttemptStatus.DROPPED)
                  .values(status=AttemptStatus.SIGNED))
        row.mined_hash = row.block_hash = None
        row.block_number = row.receipt_status = row.gas_used = None
        row.contract_address = None
        row.sent_at = utcnow()
        result.reorged += 1
        log.warning("tx %s: receipt disappeared (reorg); back to sent", row.id)


def _rebroadcast(chain: str, w3: Web3, tx: ChainTransaction, hashes: list[str], result: MonitorResult) -> None:
    """The node does not know our latest attempt (dropped from its pool, a node restart, a reorg): send the
    same stored bytes again."""
    assert tx.raw_tx is not None and tx.tx_hash is not None
    outcome, message = _send_raw(w3, tx.raw_tx, tx.tx_hash)
    if outcome == NONCE_USED and _our_receipt(w3, hashes) is None:
        _drop_nonce(chain, w3, tx, TxState.SENT, result)
    elif outcome in (SENT, KNOWN):
        result.rebroadcast += 1
    elif outcome == REJECTED:
        result.errors.append(f"tx {tx.id}: rebroadcast rejected: {message}")


def _replace(chain: str, w3: Web3, tx: ChainTransaction, result: MonitorResult) -> bool:
    """Not mined in time: the same transaction at the same nonce with fees raised by at least the bump, counted
    from the last attempt the node ACCEPTED (the row's fees and bytes).

    The new attempt is stored (TxAttempt) before it is broadcast, so its receipt is found whatever happens next
    (a crash after the broadcast included); it becomes the row's current attempt, with a new `sent_at`, only once
    the node takes it. A refused replacement (no funds, underpriced) is tried again after a backoff from the same
    base, never bumped from. Returns False when the bump would exceed the fee ceiling: nothing is signed, the
    current attempt keeps waiting, and the operators are told once."""
    assert tx.nonce is not None and tx.gas_limit is not None
    current = (int(tx.max_fee_per_gas or 0), int(tx.max_priority_fee_per_gas or 0))
    fees = _fees(w3, current)
    if not _outbids(fees, current):
        with session_scope() as s:
            row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
            if row is not None and row.state is TxState.SENT:
                _alert_fee_cap(s, row, f"stuck at maxFeePerGas {current[0]} / maxPriorityFeePerGas {current[1]} wei;"
                                       " a replacement would exceed TX_MAX_FEE_PER_GAS_WEI or"
                                       " TX_MAX_PRIORITY_FEE_PER_GAS_WEI")
        return False
    raw, tx_hash = _sign(signer_account(tx.signer), tx, chain_id(chain), tx.nonce, tx.gas_limit, fees)
    with session_scope() as s:  # the attempt is stored BEFORE it is broadcast
        row = _load(s, tx.id, tx.version)  # type: ignore[arg-type]
        if row is None or row.state is not TxState.SENT:
            return True
        _add_attempt(s, row.id, tx_hash, tx.nonce, fees, raw)  # type: ignore[arg-type]
        _bump_version(row)
        version = row.version
    outcome, message = _send_raw(w3, raw, tx_hash)
    log.info("tx %s replaced at nonce %s with maxFeePerGas %s (%s)", tx.id, tx.nonce, fees[0], outcome)
    with session_scope() as s:
        row = _load(s, tx.id, version)  # type: ignore[arg-type]
        if row is None or row.state is not TxState.SENT:
            return True
        if outcome in (SENT, KNOWN):
            row.raw_tx, row.tx_hash = raw, tx_hash
            row.max_fee_per_gas, row.max_priority_fee_per_gas = fees
            row.sent_at = db_now(s)
            row.error = ""
            result.replaced += 1
        elif outcome == REJECTED:  # e.g. "insufficient funds": the accepted attempt stays the current one
            row.attempts += 1
            row.error = f"replacement rejected: {message}"[:500]
            row.next_attempt_at = db_now(s) + _backoff(row.attempts)
            result.errors.append(f"tx {tx.id}: replacement rejected: {message}")
        # NONCE_USED: the nonce was mined meanwhile (perhaps by our current attempt): the next pass looks for it.
        _bump_version(row)
    return True


def _replay_revert(w3: Web3, tx: ChainTransaction, receipt: Any) -> str:
    """Receipts carry no revert data: replay the call on the parent block's state to decode the error name."""
    call: dict[str, Any] = {"from": tx.from_address, "data": tx.data, "value": tx.value_wei, "gas": tx.gas_limit}
    if tx.to_address:
        call["to"] = tx.to_address
    try:
        w3.eth.call(call, block_identifier=max(0, int(receipt["blockNumber"]) - 1))  # type: ignore[arg-type]
    except Exception as exc:
        if is_transient(exc):
            raise
        return _revert_name(exc) or "reverted"
    return "reverted"


# -- queries for the admin ---------------------------------------------------------------------------------------

def pending_count(chain: str | None = None) -> int:
    with session_scope() as s:
        query = select(func.count()).select_from(ChainTransaction).where(
            col(ChainTransaction.state).in_([TxState.QUEUED, TxState.SENT, TxState.MINED]))
        if chain:
            query = query.where(ChainTransaction.chain == chain)
        return int(s.exec(query).one())
