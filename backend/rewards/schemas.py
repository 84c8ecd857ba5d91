"""What a caller may send to define or change a reward; shared by the HTTP API and the admin form.

One model holds every field of both kinds; `_consistent` checks the combination (a perk has no payout fields, a
payout names its mode, amount or share, currency and period). Amounts are integers in base units, sent as decimal
strings or integers (JSON numbers lose precision above 2**53).
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from backend.campaigns.schemas import AwareDatetime, Url
from backend.rewards.models import PayoutMode, PayoutPeriod, PerkChannel, RewardKind, UsePeriod
from backend.validation import check_address, field_error

MAX_TOKEN_ID = 2**63 - 1  # token ids are stored as BIGINT
MAX_RANGES = 50
MAX_LOCATIONS = 50
MAX_USES_PER_PERIOD = 1000
MAX_AMOUNT = 2**256 - 1

# Fields that are the reward's rules: frozen once the reward is in use (only presentation and ending remain).
PRESENTATION_FIELDS = frozenset({"title", "description", "image_url"})


def _check_ranges(value: list[Any]) -> list[list[int]]:
    """[[first, last], ...] inclusive, sorted and merged-checked: overlapping ranges are refused (say what you mean)."""
    if len(value) > MAX_RANGES:
        raise ValueError(f"at most {MAX_RANGES} ranges")
    ranges: list[list[int]] = []
    for item in value:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ValueError("each range is [first token id, last token id]")
        first, last = item
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (first, last)):
            raise ValueError("token ids are whole numbers")
        if not 0 <= first <= last <= MAX_TOKEN_ID:
            raise ValueError("each range needs 0 <= first <= last")
        ranges.append([first, last])
    ranges.sort()
    for (_, previous_last), (first, _) in pairwise(ranges):
        if first <= previous_last:
            raise ValueError("ranges must not overlap")
    return ranges


def _check_locations(value: list[Any]) -> list[str]:
    if len(value) > MAX_LOCATIONS:
        raise ValueError(f"at most {MAX_LOCATIONS} locations")
    names: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError("each location is a non-empty name")
        name = " ".join(item.split())
        if len(name) > 120:
            raise ValueError("location names are at most 120 characters")
        if name.lower() in {n.lower() for n in names}:
            raise ValueError(f"{name!r} is listed twice")
        names.append(name)
    return names


def _parse_amount(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _check_currency_address(value: str) -> str:
    return "" if value.strip() == "" else check_address(value)


TokenRange = Annotated[list[int], Field(min_length=2, max_length=2, description="[first token id, last token id]")]
TokenRanges = Annotated[list[TokenRange], Field(max_length=MAX_RANGES), AfterValidator(_check_ranges)]
Locations = Annotated[list[Annotated[str, Field(max_length=120)]], Field(max_length=MAX_LOCATIONS),
                      AfterValidator(_check_locations)]
# Base units, which can pass 2**53: a decimal string (an integer is accepted too). 77 digits stay below 2**256.
Amount = Annotated[int, BeforeValidator(_parse_amount), Field(ge=1, le=MAX_AMOUNT), WithJsonSchema({
    "type": "string", "pattern": "^[1-9][0-9]{0,76}$",
    "description": "Base units of the currency, as a decimal string (an integer is accepted too)."})]
CurrencyAddress = Annotated[str, AfterValidator(_check_currency_address)]


class RewardFields(BaseModel):
    """A whole reward definition (create, and the merged result of an update)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: RewardKind
    title: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    image_url: Url = ""
    starts_at: AwareDatetime = None
    ends_at: AwareDatetime = None
    token_ranges: TokenRanges = Field(default_factory=list, description="[] = every token; else [[first, last], ...]")
    requires_kyc: bool = False
    channel: PerkChannel = PerkChannel.IN_STORE
    use_period: UsePeriod = UsePeriod.EVER
    uses_per_period: int = Field(1, ge=1, le=MAX_USES_PER_PERIOD)
    locations: Locations = Field(default_factory=list)
    payout_mode: PayoutMode | None = None
    amount_per_token: Amount | None = None
    currency_address: CurrencyAddress | None = None
    currency_decimals: int | None = Field(None, ge=0, le=36)
    currency_symbol: str | None = Field(None, min_length=1, max_length=12)
    royalty_share_bps: int | None = Field(None, ge=1, le=10_000)
    payout_period: PayoutPeriod | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        name = type(self).__name__
        if self.starts_at is not None and self.ends_at is not None and self.ends_at <= self.starts_at:
            raise field_error(name, "ends_at", "must be after starts_at", self.ends_at)
        if self.kind is RewardKind.PERK:
            payout_fields = [f for f in PAYOUT_FIELDS if getattr(self, f) is not None]
            if payout_fields:
                raise field_error(name, payout_fields[0], "is for payouts only", getattr(self, payout_fields[0]))
            if self.channel is PerkChannel.ONLINE and self.locations:
                raise field_error(name, "locations", "an online perk is not redeemed at a location", self.locations)
            return self
        if self.payout_mode is None:
            raise field_error(name, "payout_mode", "is required for a payout", None)
        if self.payout_period is None:
            raise field_error(name, "payout_period", "is required for a payout", None)
        if self.locations:
            raise field_error(name, "locations", "payouts are paid on chain, not at a location", self.locations)
        if self.payout_mode is PayoutMode.FIXED_PER_TOKEN:
            if self.amount_per_token is None:
                raise field_error(name, "amount_per_token", "is required for a fixed amount per token", None)
            if self.royalty_share_bps is not None:
                raise field_error(name, "royalty_share_bps", "is for a royalty share only", self.royalty_share_bps)
        else:
            if self.royalty_share_bps is None:
                raise field_error(name, "royalty_share_bps", "is required for a royalty share", None)
            if self.amount_per_token is not None:
                raise field_error(name, "amount_per_token", "is for a fixed amount only", self.amount_per_token)
        if self.currency_address is None:
            raise field_error(name, "currency_address", 'is required ("" for the chain\'s own coin)', None)
        if self.currency_address and self.currency_decimals is None:
            raise field_error(name, "currency_decimals", "is required for an ERC-20 token", None)
        if self.currency_address and not self.currency_symbol:
            raise field_error(name, "currency_symbol", "is required for an ERC-20 token", None)
        return self


PAYOUT_FIELDS = ("payout_mode", "amount_per_token", "currency_address", "currency_decimals", "currency_symbol",
                 "royalty_share_bps", "payout_period")


class RewardUpdate(BaseModel):
    """A partial change: only the fields sent change (the kind never does). The merged reward is checked whole."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    image_url: Url | None = None
    starts_at: AwareDatetime = None
    ends_at: AwareDatetime = None
    token_ranges: TokenRanges | None = None
    requires_kyc: bool | None = None
    channel: PerkChannel | None = None
    use_period: UsePeriod | None = None
    uses_per_period: int | None = Field(None, ge=1, le=MAX_USES_PER_PERIOD)
    locations: Locations | None = None
    payout_mode: PayoutMode | None = None
    amount_per_token: Amount | None = None
    currency_address: CurrencyAddress | None = None
    currency_decimals: int | None = Field(None, ge=0, le=36)
    currency_symbol: str | None = Field(None, min_length=1, max_length=12)
    royalty_share_bps: int | None = Field(None, ge=1, le=10_000)
    payout_period: PayoutPeriod | None = None


def comparable(value: Any) -> Any:
    """A field's value in the form kept in the change history (JSON: datetimes as ISO text, big ints as text)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value
