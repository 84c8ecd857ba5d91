"""Exchange rates: `get_rate(base, quote)` for callers, `refresh_rates()` for the fx_rate_refresher daemon.

USD prices come from the USDT pairs (ETHUSDT, POLUSDT, USDCUSDT: USDT is taken as 1 USD, the deepest books on
Binance). EUR prices are the USDT price divided by EURUSDT: one cross rate for every asset, because direct
EUR pairs are thin or missing (POL, USDC). MATIC is an alias of POL (renamed on Binance in 2024).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlmodel import Session

from backend.db import session_scope, utcnow
from backend.errors import DomainError
from backend.fx.binance import BinanceClient, BinanceError, BinanceThrottled
from backend.fx.models import FxProviderState, FxRate
from backend.settings import get_settings
from backend.workflow.sql import upsert

ASSETS = ("ETH", "POL", "USDC")
QUOTES = ("USD", "EUR")
ALIASES = {"MATIC": "POL"}
EUR_CROSS = "EURUSDT"
PROVIDER = "binance"
# Back off for the rest of the minute once this share of the 1-minute weight budget is used.
WEIGHT_BACKOFF_RATIO = Decimal("0.8")
STORE_PLACES = Decimal("1e-18")


class PriceUnavailable(DomainError):
    code = "price_unavailable"
    status = 503


class FxRefreshError(Exception):
    """Some rates could not be fetched this time; what was fetched is stored."""


@dataclass(frozen=True)
class Rate:
    base: str
    quote: str
    value: Decimal
    fetched_at: datetime
    source: str  # "binance" or "static" (the UI marks static rates as such)


def _norm(asset: str) -> str:
    asset = asset.strip().upper()
    return ALIASES.get(asset, asset)


def static_rates(table: str | None = None) -> dict[tuple[str, str], Decimal]:
    """Parse FX_STATIC_RATES ("ETH/USD=2500,ETH/EUR=2300,...")."""
    rates: dict[tuple[str, str], Decimal] = {}
    for item in (table if table is not None else get_settings().fx_static_rates).split(","):
        if not item.strip():
            continue
        try:
            pair, value = item.split("=")
            base, quote = pair.split("/")
            rates[(_norm(base), _norm(quote))] = Decimal(value.strip())
        except (ValueError, InvalidOperation) as exc:
            raise ValueError(f"FX_STATIC_RATES entry {item!r} is not BASE/QUOTE=number") from exc
    return rates


def get_rate(base: str, quote: str, *, max_age_s: float | None = None, now: datetime | None = None) -> Rate:
    """The latest rate no older than `max_age_s` (default FX_MAX_AGE_SECONDS), else PriceUnavailable."""
    settings = get_settings()
    base, quote = _norm(base), _norm(quote)
    now = now or utcnow()
    if settings.fx_mode == "static":
        value = static_rates().get((base, quote))
        if value is None:
            raise PriceUnavailable(f"No static {base}/{quote} rate is configured (FX_STATIC_RATES).")
        return Rate(base, quote, value, now, "static")
    max_age = timedelta(seconds=max_age_s if max_age_s is not None else settings.fx_max_age_s)
    with session_scope() as session:
        row = session.execute(
            select(FxRate).where(FxRate.base == base, FxRate.quote == quote)
            .order_by(FxRate.fetched_at.desc(), FxRate.id.desc()).limit(1)  # type: ignore[union-attr]
        ).scalars().first()
    if row is None:
        raise PriceUnavailable(f"No {base}/{quote} price is available yet.")
    if row.fetched_at < now - max_age:
        raise PriceUnavailable(
            f"The {base}/{quote} price is out of date (fetched {row.fetched_at:%Y-%m-%d %H:%M:%S} UTC); "
            "try again shortly."
        )
    return Rate(base, quote, row.value, row.fetched_at, row.source)


def _provider_state(session: Session) -> FxProviderState | None:
    return session.get(FxProviderState, PROVIDER)


def refresh_rates(client: BinanceClient | None = None, *, now: datetime | None = None) -> int:
    """Fetch and store the rates; returns how many were stored. Skips while Binance asked us to wait.

    The network calls happen outside any transaction; rates and throttle state are written afterwards.
    """
    settings = get_settings()
    if settings.fx_mode != "binance":
        return 0
    now = now or utcnow()
    with session_scope() as session:
        state = _provider_state(session)
        if state is not None and state.not_before is not None and state.not_before > now:
            return 0
    client = client or BinanceClient()
    prices: dict[str, Decimal] = {}
    not_before: datetime | None = None
    reason = ""
    errors: list[str] = []
    weight_cap = Decimal(settings.binance_weight_limit) * WEIGHT_BACKOFF_RATIO
    for symbol in (EUR_CROSS, *(f"{a}USDT" for a in ASSETS)):
        try:
            ticker = client.ticker_price(symbol)
        except BinanceThrottled as exc:
            not_before = now + timedelta(seconds=exc.retry_after_s)
            reason = str(exc)
            errors.append(reason)
            break
        except BinanceError as exc:
            errors.append(str(exc))
            continue
        prices[symbol] = ticker.price
        if ticker.used_weight is not None and ticker.used_weight >= weight_cap:
            # Near the 1-minute budget: stop now and wait for the next minute window.
            not_before = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            reason = f"used weight {ticker.used_weight} of {settings.binance_weight_limit} per minute"
            break
    rows: list[FxRate] = []
    eur = prices.get(EUR_CROSS)
    for asset in ASSETS:
        usd = prices.get(f"{asset}USDT")
        if usd is None:
            continue
        rows.append(FxRate(base=asset, quote="USD", value=usd.quantize(STORE_PLACES), fetched_at=now,
                           source=client.source))
        if eur is not None:
            rows.append(FxRate(base=asset, quote="EUR", value=(usd / eur).quantize(STORE_PLACES), fetched_at=now,
                               source=client.source))
    with session_scope() as session:
        session.add_all(rows)
        upsert(session, FxProviderState.__table__,
               {"provider": PROVIDER, "not_before": not_before, "reason": reason,
                "used_weight": client.last_used_weight or 0, "updated_at": now},
               ["provider"],
               {"not_before": not_before, "reason": reason, "used_weight": client.last_used_weight or 0,
                "updated_at": now})
    if errors:
        raise FxRefreshError(f"stored {len(rows)} rates; " + "; ".join(errors))
    return len(rows)


# -- prices of past minutes (sales are valued at the time of the sale) -------------------------------------------

_MINUTE_CACHE_SIZE = 20_000
_minute_cache: OrderedDict[tuple[str, datetime], Decimal | None] = OrderedDict()
_minute_cache_lock = threading.Lock()


def _cached_close(client: BinanceClient, symbol: str, minute: datetime) -> Decimal | None:
    key = (symbol, minute)
    with _minute_cache_lock:
        if key in _minute_cache:
            _minute_cache.move_to_end(key)
            return _minute_cache[key]
    value = client.minute_close(symbol, minute)
    with _minute_cache_lock:
        _minute_cache[key] = value
        while len(_minute_cache) > _MINUTE_CACHE_SIZE:
            _minute_cache.popitem(last=False)
    return value


def clear_minute_cache() -> None:
    with _minute_cache_lock:
        _minute_cache.clear()


def rates_at(base: str, at: datetime, client: BinanceClient | None = None) -> tuple[Rate, Rate]:
    """(base/USD, base/EUR) for the minute of `at`: Binance's close of that minute when FX_MODE=binance (EUR
    through EURUSDT of the same minute), else the static table. Cached per (symbol, minute) in the process.

    A network call: never call it inside a transaction. Raises PriceUnavailable (BinanceThrottled passes
    through, so a caller valuing a batch can stop asking)."""
    settings = get_settings()
    base = _norm(base)
    minute = at.replace(second=0, microsecond=0)
    if settings.fx_mode == "static":
        return get_rate(base, "USD", now=minute), get_rate(base, "EUR", now=minute)
    client = client or BinanceClient()
    try:
        usd = _cached_close(client, f"{base}USDT", minute)
        eur_usd = _cached_close(client, EUR_CROSS, minute)
    except BinanceThrottled:
        raise
    except BinanceError as exc:
        raise PriceUnavailable(f"No {base} price for {minute:%Y-%m-%d %H:%M} UTC: {exc}") from exc
    if usd is None or eur_usd is None:
        raise PriceUnavailable(f"Binance has no {base} price for {minute:%Y-%m-%d %H:%M} UTC.")
    return (Rate(base, "USD", usd, minute, client.source),
            Rate(base, "EUR", (usd / eur_usd).quantize(STORE_PLACES), minute, client.source))
