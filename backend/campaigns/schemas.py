"""What a caller may send to create or change a campaign; shared by the HTTP API and the admin UI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from backend.money import SUPPORTED_CURRENCIES
from backend.validation import (
    OPTIONAL_ADDRESS_PATTERN,
    OPTIONAL_COLOR_PATTERN,
    SLUG_PATTERN,
    URL_PATTERN,
    ZERO_ADDRESS_PATTERN,
    check_address,
    check_color,
    check_slug,
    check_url,
    field_error,
    padded_pattern,
)

MAX_SUPPLY = 1_000_000
MAX_PRICE_MINOR = 100_000_000  # 1,000,000.00 in a 2-decimal currency

# json_schema_extra: the API's document states the rule each validator checks (backend.validation's patterns).
Slug = Annotated[str, Field(json_schema_extra={"pattern": SLUG_PATTERN}), AfterValidator(check_slug)]
OptionalColor = Annotated[str, Field(json_schema_extra={"pattern": OPTIONAL_COLOR_PATTERN}),
                          AfterValidator(lambda v: check_color(v, allow_empty=True))]
Url = Annotated[str, Field(max_length=500, json_schema_extra={"pattern": URL_PATTERN}), AfterValidator(check_url)]
OptionalAddress = Annotated[
    str,
    Field(json_schema_extra={"pattern": OPTIONAL_ADDRESS_PATTERN, "not": {"pattern": ZERO_ADDRESS_PATTERN}}),
    AfterValidator(lambda v: check_address(v, allow_empty=True)),
]


def _check_currency(value: str) -> str:
    value = value.strip().upper()
    if value not in SUPPORTED_CURRENCIES:
        raise ValueError(f"must be one of {', '.join(SUPPORTED_CURRENCIES)}")
    return value


def _check_aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("must include a timezone (e.g. 2026-12-01T10:00:00Z)")
    return value


# Any letter case, padded: what _check_currency accepts.
CURRENCY_PATTERN = padded_pattern("|".join(
    "".join(f"[{c.upper()}{c.lower()}]" for c in code) for code in SUPPORTED_CURRENCIES))


def _not_a_number(value: object) -> object:
    # pydantic would read a number as seconds since 1970; the API documents (and the forms send) ISO-8601 text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be a date and time like 2026-12-01T10:00:00Z")
    return value


Currency = Annotated[str, Field(json_schema_extra={"pattern": CURRENCY_PATTERN}), AfterValidator(_check_currency)]
KycRequirement = Literal["none", "every_buyer", "above_amount"]
AwareDatetime = Annotated[datetime | None, BeforeValidator(_not_a_number), AfterValidator(_check_aware)]


class _CampaignFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=False)

    def _check_consistency(self) -> Self:
        starts, ends = getattr(self, "sale_starts_at", None), getattr(self, "sale_ends_at", None)
        if starts is not None and ends is not None and ends <= starts:
            raise field_error(type(self).__name__, "sale_ends_at", "must be after sale_starts_at", ends)
        return self


class CampaignCreate(_CampaignFields):
    slug: Slug
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=5000)
    image_url: Url = ""
    price_minor: int = Field(ge=0, le=MAX_PRICE_MINOR)
    currency: Currency = "USD"
    supply_cap: int = Field(ge=1, le=MAX_SUPPLY)
    per_wallet_cap: int = Field(0, ge=0, le=MAX_SUPPLY)
    sale_starts_at: AwareDatetime = None
    sale_ends_at: AwareDatetime = None
    royalty_bps: int = Field(0, ge=0, le=10_000)
    royalty_receiver: OptionalAddress = ""
    primary_color: OptionalColor = ""
    accent_color: OptionalColor = ""
    logo_url: Url = ""
    # Identity checks for buyers: none, every buyer, or a buyer whose total for the campaign passes the threshold.
    kyc_requirement: KycRequirement = "none"
    kyc_threshold_minor: int = Field(0, ge=0, le=MAX_PRICE_MINOR * 1000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kyc_requirement == "above_amount" and self.kyc_threshold_minor <= 0:
            raise field_error("CampaignCreate", "kyc_threshold_minor", "must be above 0 when KYC is asked above an "
                              "amount", self.kyc_threshold_minor)
        if self.royalty_bps > 0 and not self.royalty_receiver:
            raise field_error("CampaignCreate", "royalty_receiver", "is required when royalty_bps is above 0",
                              self.royalty_receiver)
        if self.per_wallet_cap > self.supply_cap:
            raise field_error("CampaignCreate", "per_wallet_cap", "cannot exceed supply_cap", self.per_wallet_cap)
        return self._check_consistency()


class CampaignUpdate(_CampaignFields):
    """A partial update: only the fields sent are changed."""

    slug: Slug | None = None
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=5000)
    image_url: Url | None = None
    price_minor: int | None = Field(None, ge=0, le=MAX_PRICE_MINOR)
    currency: Currency | None = None
    supply_cap: int | None = Field(None, ge=1, le=MAX_SUPPLY)
    per_wallet_cap: int | None = Field(None, ge=0, le=MAX_SUPPLY)
    sale_starts_at: AwareDatetime = None
    sale_ends_at: AwareDatetime = None
    royalty_bps: int | None = Field(None, ge=0, le=10_000)
    royalty_receiver: OptionalAddress | None = None
    primary_color: OptionalColor | None = None
    accent_color: OptionalColor | None = None
    logo_url: Url | None = None
    kyc_requirement: KycRequirement | None = None
    kyc_threshold_minor: int | None = Field(None, ge=0, le=MAX_PRICE_MINOR * 1000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        return self._check_consistency()
