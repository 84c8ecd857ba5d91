"""FX rates against a fake Binance behind httpx.MockTransport (the real httpx client and our real client code)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from backend.db import session_scope, utcnow
from backend.fx.binance import BinanceClient
from backend.fx.models import FxProviderState
from backend.fx.service import FxRefreshError, PriceUnavailable, get_rate, refresh_rates

PRICES = {"ETHUSDT": "2500.00000000", "POLUSDT": "0.25000000", "USDCUSDT": "1.00010000", "EURUSDT": "1.08000000"}


class FakeBinance:
    """Answers like data-api.binance.vision; `override` maps a symbol to a canned response or an exception."""

    def __init__(self, weight: int = 10) -> None:
        self.calls: list[str] = []
        self.override: dict[str, object] = {}
        self.weight = weight

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v3/ticker/price"
        symbol = request.url.params["symbol"]
        self.calls.append(symbol)
        self.weight += 2
        headers = {"X-MBX-USED-WEIGHT-1M": str(self.weight)}
        special = self.override.get(symbol)
        if isinstance(special, Exception):
            raise special
        if isinstance(special, httpx.Response):
            special.headers.update(headers)
            return special
        if symbol not in PRICES:
            return httpx.Response(400, json={"code": -1121, "msg": "Invalid symbol."}, headers=headers)
        return httpx.Response(200, json={"symbol": symbol, "price": PRICES[symbol]}, headers=headers)

    def client(self) -> BinanceClient:
        return BinanceClient(httpx.Client(transport=httpx.MockTransport(self)), base_url="https://binance.test")


@pytest.fixture
def binance_mode(configure) -> None:  # type: ignore[no-untyped-def]
    configure(FX_MODE="binance", FX_MAX_AGE_SECONDS=300)


def test_rates_are_fetched_stored_and_served_as_decimal(binance_mode) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBinance()
    assert refresh_rates(fake.client()) == 6
    eth_usd = get_rate("ETH", "USD")
    assert eth_usd.value == Decimal("2500") and isinstance(eth_usd.value, Decimal)
    assert eth_usd.source == "binance"
    assert get_rate("eth", "eur").value == (Decimal("2500") / Decimal("1.08")).quantize(Decimal("1e-18"))
    assert get_rate("MATIC", "USD").value == Decimal("0.25")  # MATIC is POL since 2024


def test_stale_rate_is_refused_not_served(binance_mode) -> None:  # type: ignore[no-untyped-def]
    refresh_rates(FakeBinance().client(), now=utcnow() - timedelta(seconds=301))
    with pytest.raises(PriceUnavailable, match="out of date"):
        get_rate("ETH", "USD")


def test_no_rate_at_all_is_refused(binance_mode) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PriceUnavailable):
        get_rate("ETH", "USD")


def test_invalid_symbol_fails_the_run_but_keeps_the_other_rates(binance_mode) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBinance()
    fake.override["POLUSDT"] = httpx.Response(400, json={"code": -1121, "msg": "Invalid symbol."})
    with pytest.raises(FxRefreshError, match="Invalid symbol"):
        refresh_rates(fake.client())
    assert get_rate("ETH", "USD").value == Decimal("2500")
    with pytest.raises(PriceUnavailable):
        get_rate("POL", "USD")


@pytest.mark.parametrize("status", [429, 418])
def test_throttled_response_stops_calls_until_retry_after(binance_mode, status) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBinance()
    fake.override["ETHUSDT"] = httpx.Response(status, headers={"Retry-After": "120"})
    now = utcnow()
    with pytest.raises(FxRefreshError):
        refresh_rates(fake.client(), now=now)
    assert fake.calls == ["EURUSDT", "ETHUSDT"]  # stopped at the throttle, did not try POL or USDC
    with session_scope() as session:
        state = session.get(FxProviderState, "binance")
        assert state.not_before == now + timedelta(seconds=120)
    fake.override.clear()
    assert refresh_rates(fake.client(), now=now + timedelta(seconds=60)) == 0  # still waiting: no call
    assert len(fake.calls) == 2
    assert refresh_rates(fake.client(), now=now + timedelta(seconds=121)) == 6


def test_backs_off_near_the_weight_limit(binance_mode, configure) -> None:  # type: ignore[no-untyped-def]
    configure(BINANCE_WEIGHT_LIMIT_1M=100)
    fake = FakeBinance(weight=78)  # next answer reports 80 = 80 % of the budget
    now = utcnow()
    refresh_rates(fake.client(), now=now)
    assert fake.calls == ["EURUSDT"]
    assert refresh_rates(fake.client(), now=now) == 0
    assert fake.calls == ["EURUSDT"]


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (httpx.ConnectError("refused"), "unreachable"),
        (httpx.Response(200, content=b"{not json"), "malformed JSON"),
        (httpx.Response(200, content=json.dumps({"symbol": "ETHUSDT", "price": "abc"}).encode()), "not a number"),
        (httpx.Response(200, json={"symbol": "ETHUSDT", "price": 2500.5}), "no usable price"),
    ],
)
def test_unusable_answers_never_become_a_price(binance_mode, problem, message) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBinance()
    fake.override["ETHUSDT"] = problem
    with pytest.raises(FxRefreshError, match=message):
        refresh_rates(fake.client())
    with pytest.raises(PriceUnavailable):
        get_rate("ETH", "USD")
    assert get_rate("USDC", "USD").value == Decimal("1.0001")


def test_static_mode_serves_configured_rates_marked_static(configure) -> None:  # type: ignore[no-untyped-def]
    configure(FX_MODE="static", FX_STATIC_RATES="ETH/USD=3000.5,ETH/EUR=2800")
    rate = get_rate("ETH", "USD")
    assert (rate.value, rate.source) == (Decimal("3000.5"), "static")
    with pytest.raises(PriceUnavailable):
        get_rate("POL", "USD")
    assert refresh_rates(FakeBinance().client()) == 0
