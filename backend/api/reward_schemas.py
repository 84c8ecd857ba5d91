"""Request and response models of the rewards API (definitions, the holder's perks, QR codes, redemption, SIWE).
Amounts in base units are decimal strings in responses (JSON numbers lose precision above 2**53)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from backend.chain.models import ChainTransaction, TxState
from backend.rewards.models import PayoutMode, PayoutPeriod, PerkChannel, Reward, RewardKind, UsePeriod
from backend.workflow.machines import RewardState


class RewardOut(BaseModel):
    id: int
    campaign_id: int
    brand_id: int
    kind: RewardKind
    title: str
    description: str
    image_url: str
    starts_at: datetime | None
    ends_at: datetime | None
    token_ranges: list[list[int]] = Field(description="[] = every token; else inclusive [first, last] ranges")
    requires_kyc: bool
    channel: PerkChannel
    use_period: UsePeriod
    uses_per_period: int
    locations: list[str]
    payout_mode: PayoutMode | None
    amount_per_token: str | None = Field(description="Base units of the currency, as a decimal string.")
    currency_address: str | None = Field(description='"" = the chain\'s own coin; else the ERC-20 address')
    currency_decimals: int | None
    currency_symbol: str | None
    royalty_share_bps: int | None
    payout_period: PayoutPeriod | None
    state: RewardState
    in_use: bool = Field(description="Redeemed or allocated at least once: the rules can no longer change.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, reward: Reward) -> RewardOut:
        own = {name: getattr(reward, name) for name in cls.model_fields if name not in ("amount_per_token", "in_use")}
        amount = reward.amount_per_token
        return cls.model_validate(own | {"amount_per_token": None if amount is None else str(amount),
                                         "in_use": reward.in_use})


class RewardList(BaseModel):
    items: list[RewardOut]


class RewardEndRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field("", max_length=500)


class RewardChangeOut(BaseModel):
    id: int
    action: str
    actor: str
    changes: dict[str, list[object]]
    reason: str
    created_at: datetime


class RewardChangeList(BaseModel):
    items: list[RewardChangeOut]


# --- the holder's perks and codes ------------------------------------------------------------------------------

class HolderPerkOut(BaseModel):
    reward_id: int
    campaign_id: int
    campaign_name: str
    token_id: int
    holder: str
    title: str
    description: str
    image_url: str
    channel: PerkChannel
    use_period: UsePeriod
    uses_per_period: int
    uses_left: int = Field(description="Uses left in the current period (UTC).")
    ends_at: datetime | None
    locations: list[str]
    requires_kyc: bool
    blocked: str = Field(description='Why it cannot be used now although held (e.g. identity check), else "".')


class HolderPerkList(BaseModel):
    items: list[HolderPerkOut]


class PerkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward_id: int = Field(ge=1, le=2**31 - 1)
    token_id: int = Field(ge=0, le=2**53 - 1, description="at most 2**53 - 1: exact in every JSON reader")


class QrCodeOut(BaseModel):
    code: str = Field(description="The signed code the QR image carries (staff may type it instead).")
    expires_at: datetime
    image: str = Field(description="The QR code as an SVG data URL.")
    reward_id: int
    token_id: int
    holder: str


class OnlineRedemptionOut(BaseModel):
    redemption_code: str = Field(description="Give this code to the brand's shop.")
    reward_id: int
    token_id: int
    redeemed_at: datetime
    uses_left: int


class RedeemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=300, pattern=r"\S")  # not only spaces (they are stripped)
    location: str = Field("", max_length=120)
    confirm: StrictBool = Field(True, description="false: only check the code and show what it is for.")
    request_id: str | None = Field(
        None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="The counter's own id for this confirm (8-64 of A-Z a-z 0-9 _ -). Send the same id again when "
                    "the answer was lost: the same staff member gets the use it took back (`redeemed`), not "
                    "`already_redeemed`. A new confirm needs a new id.")


class ScanOut(BaseModel):
    status: Literal["valid", "redeemed", "refused"]
    reason: str = Field(description="Why it was refused: invalid, expired, foreign_brand, ended, invalid_time, "
                                    "location, not_qualifying, not_holder, already_redeemed, kyc_required")
    message: str
    reward_id: int | None
    reward_title: str
    reward_description: str
    reward_image_url: str
    campaign_name: str
    token_id: int | None
    token_image_url: str
    holder: str
    uses_left: int | None
    uses_per_period: int | None
    use_period: str
    locations: list[str]
    location: str
    redemption_id: int | None
    at: datetime | None


# --- Sign-In with Ethereum ---------------------------------------------------------------------------------------

class SiweNonceOut(BaseModel):
    nonce: str
    expires_at: datetime
    domain: str
    uri: str
    chain_id: int
    statement: str
    message: str | None = Field(None, description="The whole message to sign, when `address` was given.")


class SiweVerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=4096)
    signature: str = Field(min_length=2, max_length=8194, pattern=r"^0x[0-9a-fA-F]*$")


class SiweVerifyOut(BaseModel):
    address: str
    wallet_proof: str = Field(description="Send as the X-Wallet-Proof header to /api/v1/rewards/mine and /qr.")
    expires_in: int


# -- payouts -----------------------------------------------------------------------------------------------------------

class PeriodOut(BaseModel):
    id: int
    period_index: int = Field(description="0 = the first period from the reward's start")
    starts_at: datetime
    ends_at: datetime
    state: Literal["due", "allocating", "allocated", "failed", "empty"]
    snapshot_block: int | None = Field(description="Holders at the end of this block")
    holders: int
    tokens: int
    amount: str = Field(description="Base units allocated for the period (the sum of its allocations), decimal string")
    claimed: str = Field(description="Base units of it claimed or paid out")
    unclaimed: str = Field(description="Base units allocated on chain and not yet claimed")
    tx_hashes: list[str]
    error: str = Field(description="Why the period waits (vault not deployed or funded) or failed")

    @classmethod
    def of(cls, view: object) -> PeriodOut:
        fields = {name: getattr(view, name) for name in cls.model_fields}
        return cls.model_validate(fields | {k: str(fields[k]) for k in ("amount", "claimed", "unclaimed")})


class PeriodList(BaseModel):
    items: list[PeriodOut]


class ClaimableOut(BaseModel):
    chain: str
    vault_address: str = Field(description="Call claim(token) on this RewardVault from the holder's wallet")
    holder: str
    custodial: bool = Field(description="The holder is the signed-in account's custodial wallet (the platform pays "
                                        "it out; no wallet call needed)")
    currency_address: str = Field(description='"" = the chain\'s own coin (token argument: the zero address)')
    amount: str = Field(description="Base units claimable, decimal string")


class ClaimableList(BaseModel):
    items: list[ClaimableOut]


# -- payout admin actions ------------------------------------------------------------------------------------------

AMOUNT_PATTERN = r"^[1-9][0-9]{0,76}$"  # 1 .. 10**77 - 1: every value fits in a uint256 (~1.16 * 10**77)
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"


class FundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The pattern is in the document (and checked here with a message that says what is wrong).
    amount: str = Field(max_length=77, json_schema_extra={"pattern": AMOUNT_PATTERN},
                        description="Base units of the payout's currency (wei for the chain's coin) as a decimal "
                                    'string, e.g. "500000000000000000" for 0.5 of an 18-decimal currency.')

    @field_validator("amount")
    @classmethod
    def _whole_positive(cls, value: str) -> str:
        if value.startswith("-") and value[1:].isdigit():
            raise ValueError("must be positive")
        if not value.isascii() or not value.isdigit():
            raise ValueError("must be a whole number of base units written as a decimal string, e.g. \"1000\"")
        if int(value) == 0:
            raise ValueError("must be positive")
        if value.startswith("0"):
            raise ValueError("write it without leading zeros")
        return value

    def base_units(self) -> int:
        return int(self.amount)


class PushRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holder: str = Field(pattern=ADDRESS_PATTERN, description="The holder's address (any letter case).")


class EmptyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PayoutTxOut(BaseModel):
    id: int = Field(description="The transaction manager's row; the same id for the same request")
    action: Literal["fund", "payout"]
    state: TxState
    chain: str
    to_address: str | None
    value: str = Field(description="Wei sent with it (funding in the chain's coin), decimal string")
    token: str = Field(description='The ERC-20 funded, "" for the chain\'s coin or a payout')
    holder: str = Field(description='The holder paid out, "" for a funding')
    amount: str = Field(description="Base units funded, or outstanding for the holder when queued, decimal string")
    waits_for_tx_id: int | None = Field(description="An ERC-20 funding waits for the vault's approval (sent once)")
    tx_hash: str | None
    created_at: datetime

    @classmethod
    def of(cls, tx: ChainTransaction) -> PayoutTxOut:
        meta = tx.meta or {}
        return cls(id=tx.id, action="payout" if meta.get("action") == "payout" else "fund",  # type: ignore[arg-type]
                   state=tx.state, chain=tx.chain, to_address=tx.to_address, value=str(tx.value_wei),
                   token=str(meta.get("token", "")), holder=str(meta.get("holder", "")),
                   amount=str(meta.get("amount", tx.value_wei)), waits_for_tx_id=tx.after_tx_id, tx_hash=tx.tx_hash,
                   created_at=tx.created_at)


class PushAllOut(BaseModel):
    holders: int = Field(description="Holders with an unclaimed allocation of the reward")
    queued: int = Field(description="Payouts queued by this request")
    already_queued: int = Field(description="Holders whose payout of the same amount was queued before (not again)")


class PeriodRetryOut(BaseModel):
    id: int
    reward_id: int
    period_index: int
    state: Literal["due", "allocating", "allocated", "failed", "empty"]
    retries: int
