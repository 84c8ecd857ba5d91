"""Chain tables: transactions (one row per business transaction, signed attempts beside it), per-signer
nonces, contract deployments, mint requests and the tokens they minted; and what the chain indexer reads back
(token transfers and owners of our collections, its checkpoints and recent block hashes, Seaport deployments)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint, types
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime, enum_type, utcnow
from backend.workflow.machine import Machine
from backend.workflow.machines import ContractState
from backend.workflow.models import BigId


class Wei(types.TypeDecorator[int]):
    """An unbounded non-negative integer (wei) stored as decimal text: exact on SQLite and PostgreSQL."""

    impl = String(80)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError("wei amounts are non-negative ints")
        return str(value)

    def process_result_value(self, value: str | None, dialect: Any) -> int | None:
        return None if value is None else int(value)


class TxPurpose(StrEnum):
    DEPLOY = "deploy"
    MINT_BATCH = "mint_batch"
    TRANSFER = "transfer"  # a custodial token withdrawal
    GAS_TOPUP = "gas_topup"  # the platform pays a custodial wallet's gas
    REWARD_PAYOUT = "reward_payout"


class TxState(StrEnum):
    QUEUED = "queued"  # a row; maybe signed (raw_tx set) but not known to be broadcast
    SENT = "sent"  # broadcast; waiting for a receipt
    MINED = "mined"  # has a receipt, not yet enough confirmations
    CONFIRMED = "confirmed"
    REVERTED = "reverted"  # the EVM reverted it (at estimation, or on chain after confirmations)
    FAILED = "failed"  # never sent: it could not be signed or what it waited for failed


Q = TxState
CHAIN_TX = Machine(
    "chain_tx",
    TxState,
    initial=Q.QUEUED,
    final=[Q.CONFIRMED, Q.REVERTED, Q.FAILED],
    transitions={
        (Q.QUEUED, "broadcast"): Q.SENT,
        (Q.QUEUED, "revert"): Q.REVERTED,  # gas estimation reverted: decoded, never sent, never retried
        (Q.QUEUED, "fail"): Q.FAILED,
        (Q.SENT, "mine"): Q.MINED,
        # The nonce was consumed by a transaction that is not ours (and none of our attempts has a receipt):
        # none of the signed attempts can ever be mined, so signing again with a fresh nonce is safe.
        (Q.SENT, "requeue"): Q.QUEUED,
        (Q.MINED, "confirm"): Q.CONFIRMED,
        (Q.MINED, "revert"): Q.REVERTED,
        (Q.MINED, "reorg"): Q.SENT,  # the receipt disappeared
    },
)


class AttemptStatus(StrEnum):
    SIGNED = "signed"  # stored, maybe broadcast
    MINED = "mined"  # this attempt's hash is the one in the chain
    REPLACED = "replaced"  # another attempt at the same nonce won
    DROPPED = "dropped"  # its nonce went to a foreign transaction


class ChainTransaction(SQLModel, table=True):
    """One business transaction. The signed bytes are stored before they are broadcast, so a crash is
    recovered by broadcasting the same bytes again; `idempotency_key` makes the business step happen once."""

    __tablename__ = "chain_tx"
    __state_machine__: ClassVar[Machine] = CHAIN_TX
    __table_args__ = (
        Index("ix_chain_tx_state_chain", "state", "chain"),
        Index("ix_chain_tx_signer_nonce", "chain", "from_address", "nonce"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    purpose: TxPurpose = Field(sa_type=enum_type(TxPurpose), index=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    chain: str = Field(max_length=32)
    # Who signs: "platform" or "custody:<user_id>". The key itself is derived when signing, never stored.
    signer: str = Field(max_length=64)
    from_address: str = Field(max_length=42)
    to_address: str | None = Field(default=None, max_length=42)  # None: contract creation
    data: str = Field(default="0x", sa_column=Column(Text, nullable=False))
    value_wei: int = Field(default=0, sa_column=Column(Wei, nullable=False))
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True, ondelete="SET NULL")
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Not signed until this one is confirmed (a custodial transfer waits for its gas top-up).
    after_tx_id: int | None = Field(default=None, sa_column=Column(BigId, ForeignKey("chain_tx.id"), nullable=True))
    nonce: int | None = Field(default=None, sa_type=BigInteger)
    gas_limit: int | None = Field(default=None, sa_type=BigInteger)
    max_fee_per_gas: int | None = Field(default=None, sa_column=Column(Wei, nullable=True))
    max_priority_fee_per_gas: int | None = Field(default=None, sa_column=Column(Wei, nullable=True))
    raw_tx: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    tx_hash: str | None = Field(default=None, max_length=66, index=True)  # the latest signed attempt
    state: TxState = Field(default=TxState.QUEUED, sa_type=enum_type(TxState))
    version: int = 0
    error: str = Field(default="", max_length=500)  # decoded custom-error name for reverts, else a reason
    attempts: int = 0  # broadcast attempts that failed (drives the backoff)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))  # of the latest attempt
    mined_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = Field(default=None, max_length=66)
    receipt_status: int | None = None
    gas_used: int | None = Field(default=None, sa_type=BigInteger)
    contract_address: str | None = Field(default=None, max_length=42)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    @property
    def status(self) -> TxState:
        return self.state

    def __repr__(self) -> str:  # short: raw bytes and calldata are noise in logs
        return f"<ChainTransaction {self.id} {self.purpose} {self.state} nonce={self.nonce} hash={self.tx_hash}>"


class TxAttempt(SQLModel, table=True):
    """Every signed version of a transaction (the original and its fee-bumped replacements)."""

    __tablename__ = "chain_tx_attempt"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    tx_id: int = Field(sa_column=Column(BigId, ForeignKey("chain_tx.id", ondelete="CASCADE"), nullable=False,
                                        index=True))
    tx_hash: str = Field(max_length=66, unique=True)
    nonce: int = Field(sa_type=BigInteger)
    max_fee_per_gas: int = Field(sa_column=Column(Wei, nullable=False))
    max_priority_fee_per_gas: int = Field(sa_column=Column(Wei, nullable=False))
    raw_tx: str = Field(sa_column=Column(Text, nullable=False))
    status: AttemptStatus = Field(default=AttemptStatus.SIGNED, sa_type=enum_type(AttemptStatus))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class SignerNonce(SQLModel, table=True):
    """The next nonce to hand out per (chain, signer address); allocated under this row's lock."""

    __tablename__ = "signer_nonce"

    chain: str = Field(max_length=32, primary_key=True)
    address: str = Field(max_length=42, primary_key=True)
    next_nonce: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class ContractDeployment(SQLModel, table=True):
    """A campaign's collection contract on one chain, moved by the `contract` machine."""

    __tablename__ = "contract_deployment"
    __state_machine__: ClassVar[str] = "contract"
    __table_args__ = (UniqueConstraint("campaign_id", "chain", name="uq_contract_deployment_campaign_chain"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    chain: str = Field(max_length=32)
    state: ContractState = Field(default=ContractState.DRAFT, sa_type=enum_type(ContractState), index=True)
    version: int = 0
    attempt: int = 0  # how many deploy transactions were queued (each retry gets a new idempotency key)
    tx_id: int | None = Field(default=None, sa_column=Column(BigId, ForeignKey("chain_tx.id"), nullable=True))
    contract_address: str | None = Field(default=None, max_length=42)
    deploy_block: int | None = Field(default=None, sa_type=BigInteger)  # the block of the confirmed deploy receipt
    error: str = Field(default="", max_length=500)
    requested_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class MintStatus(StrEnum):
    PENDING = "pending"  # waiting for the dispatcher
    SUBMITTED = "submitted"  # part of a batch transaction
    MINTED = "minted"  # its transaction is confirmed; token_ids known
    FAILED = "failed"  # its transaction reverted or failed (error says why); not retried blindly


class MintRequest(SQLModel, table=True):
    __tablename__ = "mint_request"
    __table_args__ = (Index("ix_mint_request_status_campaign", "status", "campaign_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    key: str = Field(max_length=200, unique=True)  # business idempotency key, e.g. "order:<id>"
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    to_address: str = Field(max_length=42)
    quantity: int
    status: MintStatus = Field(default=MintStatus.PENDING, sa_type=enum_type(MintStatus))
    tx_id: int | None = Field(default=None, sa_column=Column(BigId, ForeignKey("chain_tx.id"), nullable=True,
                                                             index=True))
    token_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class MintedToken(SQLModel, table=True):
    """One minted token: who got it, by which request and transaction; `owner` follows withdrawals."""

    __tablename__ = "minted_token"

    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign.id", ondelete="CASCADE"),
                                              primary_key=True))
    token_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    owner: str = Field(max_length=42)
    mint_request_id: int = Field(sa_column=Column(BigId, ForeignKey("mint_request.id", ondelete="CASCADE"),
                                                  nullable=False, index=True))
    tx_id: int = Field(sa_column=Column(BigId, ForeignKey("chain_tx.id"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


# -- what the chain indexer reads back -----------------------------------------------------------------------------

class TokenTransfer(SQLModel, table=True):
    """Every ERC-721 `Transfer` log of our collections (mints included: `from_address` is the zero address), on the
    canonical chain as the indexer last saw it. The history behind `token_owner`: the holders at a past block are the
    `to_address` of each token's last transfer at or before it. Rows of blocks a reorg dropped are deleted."""

    __tablename__ = "token_transfer"
    __table_args__ = (
        UniqueConstraint("chain_id", "block_number", "log_index", name="uq_token_transfer_log"),
        Index("ix_token_transfer_token", "chain_id", "collection", "token_id", "block_number", "log_index"),
        Index("ix_token_transfer_campaign_block", "campaign_id", "block_number"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    chain_id: int = Field(sa_type=BigInteger)
    collection: str = Field(max_length=42)  # checksummed
    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False))
    token_id: int = Field(sa_type=BigInteger)  # our collections' ids are 1 .. 2^32-1
    from_address: str = Field(max_length=42)
    to_address: str = Field(max_length=42)
    block_number: int = Field(sa_type=BigInteger)
    log_index: int
    tx_hash: str = Field(max_length=66)
    block_hash: str = Field(max_length=66)


class TokenOwner(SQLModel, table=True):
    """Who owns each token of our collections now (as of the indexer's checkpoint), and by which transfer.
    Read by custody ("who owns token X") and rewards ("which tokens does A hold", with `token_transfer` for holders at
    a past block); see backend.chain.holders."""

    __tablename__ = "token_owner"
    __table_args__ = (
        Index("ix_token_owner_owner", "chain_id", "collection", "owner"),
        Index("ix_token_owner_campaign_owner", "campaign_id", "owner"),
    )

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    collection: str = Field(sa_column=Column(String(42), primary_key=True))
    token_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False))
    owner: str = Field(max_length=42)  # checksummed
    block_number: int = Field(sa_type=BigInteger)  # of the last transfer
    log_index: int
    tx_hash: str = Field(max_length=66)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class IndexerCheckpoint(SQLModel, table=True):
    """How far the chain indexer has read one collection: every block before `next_block` is indexed (transfers,
    owners and Seaport sales). Starts at the collection's deploy block; a reorg moves it back."""

    __tablename__ = "indexer_checkpoint"

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    collection: str = Field(sa_column=Column(String(42), primary_key=True))
    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False))
    deploy_block: int = Field(sa_type=BigInteger)
    next_block: int = Field(sa_type=BigInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class IndexedBlock(SQLModel, table=True):
    """Hashes of recent blocks the indexer read (the end of each block range): when one no longer matches the chain,
    the indexer rewinds to the newest one that still does. Pruned to the newest few."""

    __tablename__ = "indexed_block"

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    block_number: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    block_hash: str = Field(max_length=66)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class SeaportDeployment(SQLModel, table=True):
    """A Seaport contract recorded for a chain (the local one the demo deploys; public ones come from
    SEAPORT_ADDRESSES): the indexer reads `OrderFulfilled` events of these and of the configured addresses."""

    __tablename__ = "seaport_deployment"

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    address: str = Field(sa_column=Column(String(42), primary_key=True))  # checksummed
    conduit_controller: str = Field(max_length=42)
    deploy_block: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
