"""Money: integer minor units plus an ISO 4217 currency. Parsing and formatting go through Decimal, never float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Minor-unit exponents of the currencies a campaign may be priced in.
CURRENCY_EXPONENTS = {"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "JPY": 0}
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CHF": "CHF ", "JPY": "¥"}
SUPPORTED_CURRENCIES = tuple(CURRENCY_EXPONENTS)

# Commas are accepted only as thousands separators ("1,234.56"); "12,50" is refused rather than read as 1250.
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_amount(text: str, currency: str) -> int:
    """'25.5' USD -> 2550. Raises ValueError for anything that is not an exact, non-negative amount."""
    if currency not in CURRENCY_EXPONENTS:
        raise ValueError(f"currency must be one of {', '.join(SUPPORTED_CURRENCIES)}")
    exponent = CURRENCY_EXPONENTS[currency]
    text = text.strip()
    if "," in text:
        if not _GROUPED.match(text):
            raise ValueError("is not a number (use a dot for decimals, e.g. 12.50)")
        text = text.replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("is not a number") from exc
    if not value.is_finite() or value < 0:
        raise ValueError("must be zero or more")
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"has more than {exponent} decimal places")
    return int(scaled)


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-CURRENCY_EXPONENTS[currency])


def money_text(amount_minor: int, currency: str) -> str:
    """An amount for people ($25.00). A currency Primsell does not price in (only a provider's report could carry
    one) is shown as its minor units and code."""
    currency = (currency or "").upper()
    return format_amount(amount_minor, currency) if currency in CURRENCY_EXPONENTS else f"{amount_minor} {currency}"


def format_amount(amount_minor: int, currency: str) -> str:
    exponent = CURRENCY_EXPONENTS[currency]
    value = to_decimal(amount_minor, currency).quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)
    return f"{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{value:,}"
