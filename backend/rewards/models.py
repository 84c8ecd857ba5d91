"""Rewards of a campaign: what a token carries (perks redeemed off chain, payouts paid on chain), every change to
their definition, every redemption and every redemption attempt, and the single-use nonces of wallet sign-ins.

A reward is defined by a brand admin and is either ACTIVE or ENDED (the `reward` state machine). Once it is in use
(`first_used_at`: a perk redeemed once, a payout allocated once) its rules cannot change, only its presentation
(title, description, image); it can always be ended. Every change writes a `reward_change` row.

Perks: one row in `reward_redemption` per use, unique on (reward, token, period, use number), so two counters
redeeming at the same instant cannot both take the same use whatever they read first; a QR code's nonce (`jti`) is
unique too, so a code redeems once. Every attempt, accepted or refused, is a `reward_attempt` row.

Payouts: the columns of the definition live here (amount per token in base units and its currency, or a share of
royalties in basis points, and the period); computing and paying them is the payout distributor's
(backend/rewards/payouts.py): the brand's `reward_vault` per chain, one `reward_period` row per (reward, period
index) with its snapshot block and amount, one `reward_allocation` per (reward, period, holder) (unique: a holder is
allocated once per period whatever runs twice), and `reward_claim`, the vault's claim and push-payout events as read
back from the chain.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from backend.chain.models import Wei
from backend.db import UTCDateTime, enum_type, utcnow
from backend.workflow.machines import PeriodState, RewardState, VaultState
from backend.workflow.models import BigId


class RewardKind(StrEnum):
    PERK = "perk"  # redeemed off chain: by QR code at a counter, or online after a wallet proof
    PAYOUT = "payout"  # paid on chain through the brand's RewardVault


class PerkChannel(StrEnum):
    IN_STORE = "in_store"  # staff scan the holder's QR code at a location
    ONLINE = "online"  # the holder redeems on the redeem page and gets a redemption code for the brand's shop


class UsePeriod(StrEnum):
    """How often one token may use a perk: `uses_per_period` times per period, or in all (EVER)."""

    EVER = "ever"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class PayoutMode(StrEnum):
    FIXED_PER_TOKEN = "fixed_per_token"  # `amount_per_token` base units of the currency to each token's holder
    ROYALTY_SHARE = "royalty_share"  # `royalty_share_bps` of the royalties the collection received in the period


class PayoutPeriod(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


# A payout in the chain's own coin has no token address.
NATIVE_CURRENCY = ""


class Reward(SQLModel, table=True):
    __tablename__ = "reward"
    __state_machine__ = "reward"
    __table_args__ = (
        CheckConstraint("uses_per_period >= 1", name="ck_reward_uses_pos"),
        CheckConstraint("ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="ck_reward_window"),
        CheckConstraint("royalty_share_bps IS NULL OR (royalty_share_bps >= 1 AND royalty_share_bps <= 10000)",
                        name="ck_reward_royalty_share_bps"),
        CheckConstraint("currency_decimals IS NULL OR (currency_decimals >= 0 AND currency_decimals <= 36)",
                        name="ck_reward_currency_decimals"),
        Index("ix_reward_campaign_state", "campaign_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False))
    # The campaign's brand, kept here so that every read checks the ACL without a join.
    brand_id: int = Field(sa_column=Column(Integer, ForeignKey("brand.id", ondelete="CASCADE"), nullable=False,
                                           index=True))
    kind: RewardKind = Field(sa_type=enum_type(RewardKind))
    title: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    image_url: str = Field(default="", max_length=500)
    # Validity window; None = from the start / without end.
    starts_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    ends_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Which tokens qualify: [] = every token, else inclusive [first, last] token id ranges, sorted, not overlapping.
    token_ranges: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    requires_kyc: bool = False

    # -- perks ------------------------------------------------------------------------------------------------------
    channel: PerkChannel = Field(default=PerkChannel.IN_STORE, sa_type=enum_type(PerkChannel))
    use_period: UsePeriod = Field(default=UsePeriod.EVER, sa_type=enum_type(UsePeriod))
    uses_per_period: int = 1
    # Where staff redeem it (names shown to staff and in the statistics); [] = anywhere.
    locations: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))

    # -- payouts (the distributor's logic; the definition is checked here) -----------------------------------------
    payout_mode: PayoutMode | None = Field(default=None, sa_type=enum_type(PayoutMode), nullable=True)
    amount_per_token: int | None = Field(default=None, sa_column=Column(Wei, nullable=True))  # base units
    currency_address: str | None = Field(default=None, max_length=42)  # NATIVE_CURRENCY or an ERC-20 (checksummed)
    currency_decimals: int | None = None
    currency_symbol: str | None = Field(default=None, max_length=12)
    royalty_share_bps: int | None = None
    payout_period: PayoutPeriod | None = Field(default=None, sa_type=enum_type(PayoutPeriod), nullable=True)

    state: RewardState = Field(default=RewardState.ACTIVE, sa_type=enum_type(RewardState), index=True)
    version: int = 1
    # Set by the first redemption (perk) or allocation (payout): from then on the rules are frozen.
    first_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    @property
    def in_use(self) -> bool:
        return self.first_used_at is not None

    def qualifies(self, token_id: int) -> bool:
        return not self.token_ranges or any(first <= token_id <= last for first, last in self.token_ranges)

    def window_state(self, now: datetime) -> str:
        """"not_started", "over" or "open" (the validity window only; ENDED is the state's)."""
        if self.starts_at is not None and now < self.starts_at:
            return "not_started"
        if self.ends_at is not None and now >= self.ends_at:
            return "over"
        return "open"


class RewardChange(SQLModel, table=True):
    """One change to a reward's definition: who, when, what (each changed field: [before, after])."""

    __tablename__ = "reward_change"
    __table_args__ = (Index("ix_reward_change_reward", "reward_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    reward_id: int = Field(sa_column=Column(Integer, ForeignKey("reward.id", ondelete="CASCADE"), nullable=False))
    action: str = Field(max_length=20)  # "defined", "updated", "ended"
    actor: str = Field(max_length=80)  # "user:<id>" or "daemon:<name>"
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class RedemptionChannel(StrEnum):
    QR = "qr"  # staff scanned (or typed) the holder's code
    ONLINE = "online"  # the holder redeemed an online perk after proving they hold the token


class RewardRedemption(SQLModel, table=True):
    """One use of a perk by one token. The unique constraint is the whole concurrency story: a use is taken by
    inserting its row, never by reading a count and then writing."""

    __tablename__ = "reward_redemption"
    __table_args__ = (
        UniqueConstraint("reward_id", "token_id", "period_key", "use_no", name="uq_reward_redemption_use"),
        UniqueConstraint("code_nonce", name="uq_reward_redemption_code"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    reward_id: int = Field(sa_column=Column(Integer, ForeignKey("reward.id", ondelete="CASCADE"), nullable=False))
    token_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    period_key: str = Field(max_length=16)  # "ever", "2026-12-05", "2026-W49", "2026-12" (UTC)
    use_no: int  # 1..uses_per_period within the period
    holder: str = Field(max_length=42)  # the token's owner when it was redeemed (checksummed)
    channel: RedemptionChannel = Field(sa_type=enum_type(RedemptionChannel))
    code_nonce: str | None = Field(default=None, max_length=32)  # the QR code's nonce: one redemption per code
    # The counter's own id for the confirm that took this use: the same confirm sent again (a retry after a lost
    # answer, a double click) by the same staff member gets this use back instead of "already redeemed".
    request_id: str | None = Field(default=None, max_length=64)
    staff_user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    location: str = Field(default="", max_length=120)
    # Online perks: what the holder gives the brand's shop (the brand sees it on the reward's page).
    redemption_code: str | None = Field(default=None, max_length=32, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class AttemptOutcome(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"


class RewardAttempt(SQLModel, table=True):
    """Every redemption attempt, accepted or refused: who scanned, where, when, what, and why it was refused.
    `reward_id`/`brand_id` are NULL for a code that names no reward we know (forged or garbled)."""

    __tablename__ = "reward_attempt"
    __table_args__ = (
        Index("ix_reward_attempt_reward_time", "reward_id", "created_at"),
        Index("ix_reward_attempt_brand_time", "brand_id", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    reward_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("reward.id", ondelete="CASCADE"),
                                                                 nullable=True))
    brand_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("brand.id", ondelete="CASCADE"),
                                                                nullable=True))
    token_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    channel: RedemptionChannel = Field(sa_type=enum_type(RedemptionChannel))
    staff_user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    # The brand the scanning staff member worked for (a foreign-brand code is logged under the scanner's brand too).
    scanner_brand_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("brand.id",
                                                                                            ondelete="CASCADE"),
                                                                        nullable=True, index=True))
    location: str = Field(default="", max_length=120)
    outcome: AttemptOutcome = Field(sa_type=enum_type(AttemptOutcome))
    reason: str = Field(default="", max_length=32)  # a RefusalReason value; "" when accepted
    message: str = Field(default="", max_length=300)  # what staff were told
    redemption_id: int | None = Field(default=None, sa_column=Column(BigId, ForeignKey("reward_redemption.id",
                                                                                       ondelete="SET NULL"),
                                                                     nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class SiweNonce(SQLModel, table=True):
    """A nonce the server handed out for one Sign-In with Ethereum message: used at most once, before it expires."""

    __tablename__ = "siwe_nonce"

    nonce: str = Field(sa_column=Column(String(32), primary_key=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    address: str | None = Field(default=None, max_length=42)  # who signed in with it


# -- payouts on chain -------------------------------------------------------------------------------------------------

class RewardVaultRow(SQLModel, table=True):
    """A brand's RewardVault contract on one chain: requested on first use (a payout defined, a fund, a due period),
    deployed by the contract deployer through the transaction manager; the finish hook stores its address."""

    __tablename__ = "reward_vault"
    __state_machine__ = "reward_vault"
    __table_args__ = (UniqueConstraint("brand_id", "chain", name="uq_reward_vault_brand_chain"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(sa_column=Column(Integer, ForeignKey("brand.id", ondelete="CASCADE"), nullable=False))
    chain: str = Field(max_length=32)
    state: VaultState = Field(default=VaultState.REQUESTED, sa_type=enum_type(VaultState), index=True)
    version: int = 0
    attempt: int = 0  # deploy transactions queued so far (a retry gets a new idempotency key)
    tx_id: int | None = Field(default=None, sa_column=Column(BigId, ForeignKey("chain_tx.id"), nullable=True))
    address: str | None = Field(default=None, max_length=42)  # checksummed, once deployed
    deploy_block: int | None = Field(default=None, sa_type=BigInteger)
    # Claim events are read from here on (every block before it is read): RewardClaimed / RewardPaidOut.
    claims_next_block: int = Field(default=0, sa_type=BigInteger)
    error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class RewardPeriod(SQLModel, table=True):
    """One period of a payout reward: [starts_at, ends_at), its holder snapshot block and the amount allocated for
    it (the sum of its allocations, exactly). Moved by the `reward_period` machine."""

    __tablename__ = "reward_period"
    __state_machine__ = "reward_period"
    __table_args__ = (
        UniqueConstraint("reward_id", "period_index", name="uq_reward_period_index"),
        Index("ix_reward_period_state", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reward_id: int = Field(sa_column=Column(Integer, ForeignKey("reward.id", ondelete="CASCADE"), nullable=False))
    brand_id: int = Field(sa_column=Column(Integer, ForeignKey("brand.id", ondelete="CASCADE"), nullable=False,
                                           index=True))
    vault_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("reward_vault.id"),
                                                                nullable=True))
    period_index: int  # 0 = the first period from the reward's start
    starts_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    state: PeriodState = Field(default=PeriodState.DUE, sa_type=enum_type(PeriodState))
    version: int = 0
    snapshot_block: int | None = Field(default=None, sa_type=BigInteger)  # holders at the end of this block
    currency_address: str = Field(default="", max_length=42)  # "" = the chain's own coin
    amount: int = Field(default=0, sa_column=Column(Wei, nullable=False))  # base units, = sum of allocations
    holders: int = 0
    tokens: int = 0
    batches: int = 0
    retries: int = 0
    error: str = Field(default="", max_length=500)  # why it waits (vault not deployed or funded) or failed
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class RewardPeriodSale(SQLModel, table=True):
    """A sale whose royalty a royalty-share payout counted, and in which period: once per (reward, sale). A period
    counts the confirmed sales since the reward's start that no earlier period counted, so a sale the ledger confirms
    after its own period was allocated is paid in the next one, never twice and never dropped."""

    __tablename__ = "reward_period_sale"

    reward_id: int = Field(sa_column=Column(Integer, ForeignKey("reward.id", ondelete="CASCADE"), primary_key=True))
    sale_id: int = Field(sa_column=Column(BigId, ForeignKey("sale.id", ondelete="CASCADE"), primary_key=True))
    period_id: int = Field(sa_column=Column(Integer, ForeignKey("reward_period.id", ondelete="CASCADE"),
                                            nullable=False, index=True))
    royalty_paid: int = Field(sa_column=Column(Wei, nullable=False))  # base units, as counted


class RewardAllocation(SQLModel, table=True):
    """One holder's share of one period: allocated in the vault by batch `batch` (its transaction `tx_id`). Unique per
    (reward, period, holder): a second runner or a restart cannot write a second share."""

    __tablename__ = "reward_allocation"
    __table_args__ = (
        UniqueConstraint("reward_id", "period_id", "holder", name="uq_reward_allocation_holder"),
        Index("ix_reward_allocation_period_batch", "period_id", "batch"),
        Index("ix_reward_allocation_holder", "holder", "currency_address"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    reward_id: int = Field(sa_column=Column(Integer, ForeignKey("reward.id", ondelete="CASCADE"), nullable=False))
    period_id: int = Field(sa_column=Column(Integer, ForeignKey("reward_period.id", ondelete="CASCADE"),
                                            nullable=False))
    vault_id: int = Field(sa_column=Column(Integer, ForeignKey("reward_vault.id"), nullable=False))
    holder: str = Field(max_length=42)  # checksummed; a custodial holder's custodial address
    account_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")  # custodial holder
    currency_address: str = Field(default="", max_length=42)
    tokens: int  # qualifying tokens held at the snapshot
    amount: int = Field(sa_column=Column(Wei, nullable=False))  # base units
    batch: int
    tx_id: int | None = Field(default=None, sa_column=Column(BigId, ForeignKey("chain_tx.id"), nullable=True,
                                                             index=True))
    # Where its RewardAllocated log is (set when the batch is confirmed): a claim after it pays it.
    allocated_block: int | None = Field(default=None, sa_type=BigInteger)
    allocated_log_index: int | None = None
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    claim_id: int | None = Field(default=None, sa_column=Column(BigId, ForeignKey("reward_claim.id"), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class ClaimKind(StrEnum):
    CLAIMED = "claimed"  # the holder called claim()
    PAID_OUT = "paid_out"  # the platform pushed it (payout())


class RewardClaim(SQLModel, table=True):
    """A RewardClaimed or RewardPaidOut event of a brand's vault, read back from the confirmed chain: it paid every
    allocation of that holder and currency made before it."""

    __tablename__ = "reward_claim"
    __table_args__ = (
        UniqueConstraint("vault_id", "tx_hash", "log_index", name="uq_reward_claim_log"),
        Index("ix_reward_claim_holder", "holder", "currency_address"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    vault_id: int = Field(sa_column=Column(Integer, ForeignKey("reward_vault.id", ondelete="CASCADE"),
                                           nullable=False))
    kind: ClaimKind = Field(sa_type=enum_type(ClaimKind))
    holder: str = Field(max_length=42)
    currency_address: str = Field(default="", max_length=42)
    amount: int = Field(sa_column=Column(Wei, nullable=False))
    block_number: int = Field(sa_type=BigInteger)
    log_index: int
    tx_hash: str = Field(max_length=66)
    # The block the log was read from: a reorg that replaces it deletes the row (`reward.claim_reverted`), and the
    # claim, if mined again, is read again from its new block.
    block_hash: str = Field(default="", max_length=66, sa_column_kwargs={"server_default": ""})
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class RewardClaimBlock(SQLModel, table=True):
    """Hashes of recent blocks the claim reader passed for a vault (the end of each block range read): when the newest
    no longer matches the chain, the vault's claims above the newest one that does are rewound (backend.chain.forks).
    Pruned to the newest few per vault."""

    __tablename__ = "reward_claim_block"

    vault_id: int = Field(sa_column=Column(Integer, ForeignKey("reward_vault.id", ondelete="CASCADE"),
                                           primary_key=True, autoincrement=False))
    block_number: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    block_hash: str = Field(max_length=66)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
