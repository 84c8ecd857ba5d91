"""Binance's public ticker API behind a small client; `httpx.Client` is injected so tests can use MockTransport.

GET /api/v3/ticker/price?symbol=ETHUSDT -> {"symbol": "ETHUSDT", "price": "2500.00000000"} (a string: Decimal).
GET /api/v3/klines?symbol=ETHUSDT&interval=1m&startTime=<ms>&limit=1 -> [[open_time_ms, "open", "high", "low",
"close", ...]]: the price of a past minute (its close).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import httpx

WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
DEFAULT_RETRY_AFTER_S = 60
# A minute without trades has no kline: Binance answers with the next one. Nearer than this still prices it.
KLINE_MAX_GAP_MS = 15 * 60 * 1000


class BinanceError(Exception):
    """The request failed or the answer is unusable; the message says how."""


class BinanceThrottled(BinanceError):
    """429 (rate limited) or 418 (IP banned): do not call again before `retry_after_s`."""

    def __init__(self, status: int, retry_after_s: int) -> None:
        kind = "banned (418)" if status == 418 else "rate limited (429)"
        super().__init__(f"Binance {kind}; retry after {retry_after_s} s")
        self.status, self.retry_after_s = status, retry_after_s


@dataclass(frozen=True)
class Ticker:
    symbol: str
    price: Decimal
    used_weight: int | None


def _used_weight(response: httpx.Response) -> int | None:
    try:
        return int(response.headers[WEIGHT_HEADER])
    except (KeyError, ValueError):
        return None


def _retry_after(response: httpx.Response) -> int:
    try:
        return max(1, int(float(response.headers["Retry-After"])))
    except (KeyError, ValueError):
        return DEFAULT_RETRY_AFTER_S


class BinanceClient:
    source = "binance"

    def __init__(self, http: httpx.Client | None = None, *, base_url: str | None = None,
                 timeout_s: float | None = None) -> None:
        from backend.settings import get_settings

        settings = get_settings()
        self.base_url = (base_url or settings.binance_base_url).rstrip("/")
        self.http = http or httpx.Client(timeout=timeout_s or settings.binance_timeout_s)
        self.last_used_weight: int | None = None

    def ticker_price(self, symbol: str) -> Ticker:
        try:
            response = self.http.get(f"{self.base_url}/api/v3/ticker/price", params={"symbol": symbol})
        except httpx.HTTPError as exc:
            raise BinanceError(f"Binance unreachable for {symbol}: {type(exc).__name__}") from exc
        weight = _used_weight(response)
        if weight is not None:
            self.last_used_weight = weight
        if response.status_code in (418, 429):
            raise BinanceThrottled(response.status_code, _retry_after(response))
        try:
            body = response.json()
        except ValueError as exc:
            raise BinanceError(f"Binance sent malformed JSON for {symbol} (HTTP {response.status_code})") from exc
        if response.status_code != 200:
            detail = body.get("msg", "") if isinstance(body, dict) else ""
            code = body.get("code", "") if isinstance(body, dict) else ""
            raise BinanceError(f"Binance refused {symbol}: HTTP {response.status_code} {code} {detail}".strip())
        if not isinstance(body, dict) or body.get("symbol") != symbol or not isinstance(body.get("price"), str):
            raise BinanceError(f"Binance answer for {symbol} has no usable price")
        try:
            price = Decimal(body["price"])
        except InvalidOperation as exc:
            raise BinanceError(f"Binance price for {symbol} is not a number") from exc
        if not price.is_finite() or price <= 0:
            raise BinanceError(f"Binance price for {symbol} is not positive")
        return Ticker(symbol, price, weight)

    def minute_close(self, symbol: str, minute: datetime) -> Decimal | None:
        """The close price of `symbol` in the minute starting at `minute` (UTC), None if Binance has no trade
        near it (before the pair was listed)."""
        start_ms = int(minute.astimezone(UTC).replace(second=0, microsecond=0).timestamp()) * 1000
        try:
            response = self.http.get(f"{self.base_url}/api/v3/klines",
                                     params={"symbol": symbol, "interval": "1m", "startTime": start_ms, "limit": 1})
        except httpx.HTTPError as exc:
            raise BinanceError(f"Binance unreachable for {symbol} klines: {type(exc).__name__}") from exc
        weight = _used_weight(response)
        if weight is not None:
            self.last_used_weight = weight
        if response.status_code in (418, 429):
            raise BinanceThrottled(response.status_code, _retry_after(response))
        try:
            body = response.json()
        except ValueError as exc:
            raise BinanceError(
                f"Binance sent malformed JSON for {symbol} klines (HTTP {response.status_code})") from exc
        if response.status_code != 200:
            detail = body.get("msg", "") if isinstance(body, dict) else ""
            raise BinanceError(f"Binance refused {symbol} klines: HTTP {response.status_code} {detail}".strip())
        if not isinstance(body, list):
            raise BinanceError(f"Binance klines answer for {symbol} is not a list")
        if not body:
            return None
        kline = body[0]
        try:
            open_ms, close = int(kline[0]), Decimal(str(kline[4]))
        except (TypeError, ValueError, IndexError, InvalidOperation) as exc:
            raise BinanceError(f"Binance kline for {symbol} has no usable close price") from exc
        if not close.is_finite() or close <= 0:
            raise BinanceError(f"Binance close price for {symbol} is not positive")
        if not 0 <= open_ms - start_ms <= KLINE_MAX_GAP_MS:
            return None
        return close
