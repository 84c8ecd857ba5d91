"""The payment currencies Primsell knows, by (chain id, address): each chain's native coin and an allow-list of
ERC-20 tokens, with what each is worth (the FX asset it is priced as, or None). The one home of that list: the
valuation, the Rarible parser (decimals) and the chain indexer (symbols) all read it.

A token's symbol is chosen by whoever deployed it (anyone can deploy an ERC-20 called "WETH"), so nothing here is
looked up by symbol: a currency that is neither the native coin nor listed below is never priced."""

from __future__ import annotations

from dataclasses import dataclass

from backend.sales.reports import NATIVE_CURRENCY

ETHEREUM, POLYGON = 1, 137


@dataclass(frozen=True, slots=True)
class Currency:
    symbol: str
    decimals: int
    asset: str | None  # what backend.fx prices it as (wrapped coins are the coin); None: known, but not priced


# Chain id -> its native coin; every other chain (test networks, local nodes) pays in ETH.
NATIVE_COINS: dict[int, Currency] = {
    POLYGON: Currency("POL", 18, "POL"),
    80002: Currency("POL", 18, "POL"),  # Polygon Amoy
}
DEFAULT_NATIVE = Currency("ETH", 18, "ETH")

# (chain id, lowercase address) -> the ERC-20. Mainnet addresses, so only on their own chain: on a local node or a
# test network whatever sits at those addresses is worth nothing.
KNOWN_TOKENS: dict[tuple[int, str], Currency] = {
    (ETHEREUM, "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"): Currency("WETH", 18, "ETH"),
    (ETHEREUM, "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"): Currency("USDC", 6, "USDC"),
    (ETHEREUM, "0x0000000000a39bb272e79075ade125fd351887ac"): Currency("BETH", 18, None),  # Blur's bidding pool
    (POLYGON, "0x7ceb23fd6bc0add59e62ac25578270cff1b9f619"): Currency("WETH", 18, "ETH"),
    (POLYGON, "0x3c499c542cef5e3811e1192ce70d8cc03d5c3359"): Currency("USDC", 6, "USDC"),
    (POLYGON, "0x2791bca1f2de4661ed88a30c99a7a9449aa84174"): Currency("USDC.E", 6, "USDC"),
}


def is_native(address: str | None) -> bool:
    return not address or address.lower() == NATIVE_CURRENCY


def native_coin(chain_id: int) -> Currency:
    return NATIVE_COINS.get(chain_id, DEFAULT_NATIVE)


def currency_of(chain_id: int, address: str | None) -> Currency | None:
    """The native coin (zero address or none) or a listed token on that chain; None for any other token."""
    if is_native(address):
        return native_coin(chain_id)
    return KNOWN_TOKENS.get((chain_id, address.lower()))  # type: ignore[union-attr]
