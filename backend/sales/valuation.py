"""A sale's value in USD and EUR at the time of the sale, with the rate used (backend.fx: Binance's price of that
minute, or the static table). Network calls happen here, before the ledger's transaction, once per
(asset, minute) of a batch."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from backend.fx.binance import BinanceClient, BinanceThrottled
from backend.fx.service import PriceUnavailable, Rate, rates_at
from backend.settings import get_settings

log = logging.getLogger(__name__)

# What a payment currency is worth: wrapped coins are the coin.
ASSET_OF_SYMBOL = {
    "ETH": "ETH", "WETH": "ETH",
    "POL": "POL", "MATIC": "POL", "WPOL": "POL", "WMATIC": "POL",
    "USDC": "USDC", "USDC.E": "USDC",
}


MAX_CENTS = 2**63 - 1  # the value columns are BIGINT
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Valuation:
    usd_cents: int
    eur_cents: int
    rate_usd: Decimal
    rate_eur: Decimal
    source: str


def asset_of(symbol: str) -> str | None:
    return ASSET_OF_SYMBOL.get(symbol.strip().upper())


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def to_cents(amount: int, decimals: int, rate: Decimal) -> int:
    """amount base units * rate, in cents, rounded half up: exact Decimal arithmetic, never float."""
    with localcontext() as ctx:
        ctx.prec = 100
        value = Decimal(amount) * rate * 100 / (Decimal(10) ** decimals)
        return int(value.to_integral_value(rounding=ROUND_HALF_UP))


class Valuer:
    """Prices (asset, minute) pairs for a batch; remembers what it could not price so it asks once.

    After Binance throttles, the rest of the batch goes unvalued (value NULL) rather than waiting: the ledger
    never blocks on prices, and `backend.sales.ledger.revalue_missing` (run by the pollers) fills them in later."""

    def __init__(self, client: BinanceClient | None = None) -> None:
        self.client = client
        self.rates: dict[tuple[str, datetime], tuple[Rate, Rate] | None] = {}
        self.throttled = False
        self.errors: list[str] = []
        self.static = get_settings().fx_mode == "static"  # one rate per asset, whatever the minute

    def prepare(self, pairs: Iterable[tuple[str, datetime]]) -> None:
        for symbol, at in pairs:
            key = self._key(symbol, at)
            if key in self.rates:
                continue
            asset = asset_of(symbol)
            if asset is None or self.throttled:
                self.rates[key] = None
                continue
            try:
                self.rates[key] = rates_at(asset, key[1], self.client)
            except BinanceThrottled as exc:
                self.throttled = True
                self.rates[key] = None
                self.errors.append(str(exc))
            except PriceUnavailable as exc:
                self.rates[key] = None
                if len(self.errors) < 10:
                    self.errors.append(exc.message)

    def _key(self, symbol: str, at: datetime) -> tuple[str, datetime]:
        return (asset_of(symbol) or symbol, _EPOCH if self.static else minute_of(at))

    def value(self, symbol: str, at: datetime, amount: int, decimals: int) -> Valuation | None:
        key = self._key(symbol, at)
        if key not in self.rates:
            self.prepare([(symbol, at)])
        rates = self.rates.get(key)
        if rates is None:
            return None
        usd, eur = rates
        usd_cents, eur_cents = to_cents(amount, decimals, usd.value), to_cents(amount, decimals, eur.value)
        if max(usd_cents, eur_cents) > MAX_CENTS:
            return None  # no real sale is worth this much: a token's own unit, not money; leave it unvalued
        return Valuation(usd_cents, eur_cents, usd.value, eur.value, usd.source)
