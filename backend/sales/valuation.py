"""A sale's value in USD and EUR at the time of the sale, with the rate used (backend.fx: Binance's price of that
minute, or the static table). Network calls happen here, before the ledger's transaction, once per
(asset, minute) of a batch. What a currency is priced as comes from its (chain id, address) in
`backend.sales.currencies`, never from its symbol (the token's deployer chooses that)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from backend.fx.binance import BinanceClient, BinanceThrottled
from backend.fx.service import PriceUnavailable, Rate, rates_at
from backend.sales.currencies import Currency, currency_of
from backend.settings import get_settings

log = logging.getLogger(__name__)

MAX_CENTS = 2**63 - 1  # the value columns are BIGINT
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Valuation:
    usd_cents: int
    eur_cents: int
    rate_usd: Decimal
    rate_eur: Decimal
    source: str


def priced(chain_id: int, currency_address: str | None) -> Currency | None:
    """The currency if it has a price (the chain's native coin or an allow-listed token); None: left unvalued."""
    currency = currency_of(chain_id, currency_address)
    return currency if currency is not None and currency.asset is not None else None


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

    def prepare(self, pairs: Iterable[tuple[int, str | None, datetime]]) -> None:
        """Look up the rates of (chain id, currency address, sold at) triples; unpriced currencies cost nothing."""
        for chain_id, address, at in pairs:
            currency = priced(chain_id, address)
            if currency is None:
                continue
            key = self._key(currency, at)
            if key in self.rates:
                continue
            if self.throttled:
                self.rates[key] = None
                continue
            try:
                self.rates[key] = rates_at(currency.asset, key[1], self.client)  # type: ignore[arg-type]
            except BinanceThrottled as exc:
                self.throttled = True
                self.rates[key] = None
                self.errors.append(str(exc))
            except PriceUnavailable as exc:
                self.rates[key] = None
                if len(self.errors) < 10:
                    self.errors.append(exc.message)

    def _key(self, currency: Currency, at: datetime) -> tuple[str, datetime]:
        return (currency.asset or "", _EPOCH if self.static else minute_of(at))

    def value(self, chain_id: int, currency_address: str | None, at: datetime, amount: int) -> Valuation | None:
        """`amount` base units of that currency in USD/EUR at `at`; None when it is not a priced currency (any token
        off the allow-list, whatever its symbol), when no price was found, or when the figure is absurd. The
        decimals are the allow-list's, not the report's."""
        currency = priced(chain_id, currency_address)
        if currency is None:
            return None
        key = self._key(currency, at)
        if key not in self.rates:
            self.prepare([(chain_id, currency_address, at)])
        rates = self.rates.get(key)
        if rates is None:
            return None
        usd, eur = rates
        decimals = currency.decimals
        usd_cents, eur_cents = to_cents(amount, decimals, usd.value), to_cents(amount, decimals, eur.value)
        if max(usd_cents, eur_cents) > MAX_CENTS:
            return None  # no real sale is worth this much: a token's own unit, not money; leave it unvalued
        return Valuation(usd_cents, eur_cents, usd.value, eur.value, usd.source)
