"""Rarible's multichain API as a sales source: the client, the parser of its SELL activities, and `RaribleSource`.

POST {RARIBLE_API_URL}/v0.1/activities/search with {"size", "cursor", "filter": {"blockchains", "types": ["SELL"],
"collections": ["ETHEREUM:0x..."], "from"}, "sort": "EARLIEST"}, header X-API-KEY -> {"activities": [...],
"cursor": "..."}. Amounts are decimal strings already scaled (converted with Decimal and the currency's decimals,
never float); addresses carry a "BLOCKCHAIN:" prefix; `source` names the marketplace (OPEN_SEA, BLUR, ...): the
feed carries other marketplaces' sales too; a row can come twice; `reverted: true` withdraws a sale. See docs:
FORMATS.md 1.2 and 1.3.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from typing import Any

import httpx

from backend.db import utcnow
from backend.monitoring.errors import record_error
from backend.sales.currencies import ETHEREUM, KNOWN_TOKENS, POLYGON, native_coin
from backend.sales.cursors import Walk, hold_source, load_walk, save_walk
from backend.sales.normalise import MAX_BIGINT, MAX_QUANTITY, BadReport, checksum_address, tx_hash
from backend.sales.reports import NATIVE_CURRENCY, CollectionRef, FetchResult, SaleReport
from backend.sales.throttle import (
    MalformedEvent,
    MarketplaceClient,
    MarketplaceError,
    ServerError,
    Throttled,
)
from backend.settings import get_settings

log = logging.getLogger(__name__)

NAME = "rarible"
MAX_SIZE = 1000
SALE_TYPES = ("SELL", "ACCEPT_BID")  # a listing bought, an offer accepted: both are sales
MARKETPLACES = {"OPEN_SEA": "opensea", "CRYPTO_PUNKS": "cryptopunks", "LOOKSRARE": "looksrare"}
# Rarible's blockchains as chain ids, to look their currencies up in `backend.sales.currencies`.
CHAIN_IDS = {"ETHEREUM": ETHEREUM, "POLYGON": POLYGON}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")


class RaribleClient(MarketplaceClient):
    """The activity search, throttled by the source's token bucket. `http` is injectable."""

    label = "Rarible"

    def __init__(self, http: httpx.Client | None = None) -> None:
        settings = get_settings()
        super().__init__(NAME, settings.rarible_api_url, settings.rarible_api_key, settings.rarible_reads_per_minute,
                         http)

    def search(self, body: dict[str, Any]) -> tuple[list[Any], str | None]:
        payload = self._request("POST", "/v0.1/activities/search", json=body)
        if not isinstance(payload, dict) or not isinstance(payload.get("activities"), list):
            raise ServerError("Rarible answer has no activities list")
        cursor = payload.get("cursor")
        return payload["activities"], cursor if isinstance(cursor, str) and cursor else None


def _unprefixed(value: Any, blockchain: str, name: str) -> str:
    if not isinstance(value, str) or ":" not in value:
        raise MalformedEvent(f"{name} is not a {blockchain}:0x... address")
    prefix, _, rest = value.partition(":")
    if prefix != blockchain:
        raise MalformedEvent(f"{name} is on {prefix[:20]}, not {blockchain}")
    try:
        return checksum_address(rest)
    except BadReport as exc:
        raise MalformedEvent(f"{name}: {exc}") from exc


def _date(value: Any) -> datetime:
    if not isinstance(value, str) or not _DATE.match(value):
        raise MalformedEvent(f"date is not ISO 8601: {str(value)[:40]!r}")
    text = value.replace("Z", "+00:00")
    if "." in text:  # Python 3.11 takes at most 6 fractional digits
        head, _, tail = text.partition(".")
        digits = re.match(r"\d+", tail).group(0)  # type: ignore[union-attr]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits):]}"
    return datetime.fromisoformat(text).astimezone(UTC)


def to_base_units(value: Any, decimals: int, name: str) -> int:
    """A scaled decimal string ("0.037") in base units (37000000000000000): exact, or MalformedEvent."""
    if not isinstance(value, str) or not re.match(r"^[0-9]{1,40}(\.[0-9]{1,40})?$", value):
        raise MalformedEvent(f"{name} is not a decimal string: {str(value)[:40]!r}")
    with localcontext() as ctx:  # the default 28 digits would round a long amount, and the rounded one is integral
        ctx.prec = 100  # 40 + 40 digits of the pattern, scaled: always exact
        ctx.traps[Inexact] = True
        try:
            scaled = Decimal(value).scaleb(decimals)
        except (InvalidOperation, Inexact) as exc:
            raise MalformedEvent(f"{name} is not a number that fits") from exc
        if scaled != scaled.to_integral_value():
            raise MalformedEvent(f"{name} {value} has more than {decimals} decimals")
        return int(scaled)


def _currency(payment: Any, blockchain: str) -> tuple[str, str, int]:
    kind = payment.get("type") if isinstance(payment, dict) else None
    if not isinstance(kind, dict):
        raise MalformedEvent("missing payment.type")
    at_type = kind.get("@type")
    if at_type == "ERC20":
        address = _unprefixed(kind.get("contract"), blockchain, "payment contract")
        known = KNOWN_TOKENS.get((CHAIN_IDS.get(blockchain, 0), address.lower()))
        if known is None:
            raise MalformedEvent(f"payment in an ERC-20 of unknown decimals ({address})")
        return address, known.symbol, known.decimals
    if at_type in ("ETH", "NATIVE") or (at_type and at_type == kind.get("blockchain")):
        coin = native_coin(CHAIN_IDS.get(blockchain, ETHEREUM))
        return NATIVE_CURRENCY, coin.symbol, coin.decimals
    raise MalformedEvent(f"unknown payment type {str(at_type)[:20]!r}")


def parse_activity(activity: Any, collection: CollectionRef, blockchain: str) -> SaleReport | None:
    """A SaleReport for one of Rarible's activities; None for what is not this collection's sale on this chain;
    MalformedEvent for an unusable sale, whatever is wrong with it (one bad activity never stops the page)."""
    try:
        return _parse_activity(activity, collection, blockchain)
    except MalformedEvent:
        raise
    except Exception as exc:  # any other shape problem is a malformed activity too (re-raised as one)
        raise MalformedEvent(f"unusable activity ({type(exc).__name__}: {str(exc)[:100]})") from exc


def _parse_activity(activity: Any, collection: CollectionRef, blockchain: str) -> SaleReport | None:
    if not isinstance(activity, dict):
        raise MalformedEvent("activity is not an object")
    kind = activity.get("type") or activity.get("@type")
    if kind not in SALE_TYPES:
        return None
    nft = activity.get("nft")
    nft_type = nft.get("type") if isinstance(nft, dict) else None
    if not isinstance(nft_type, dict):
        raise MalformedEvent("missing nft.type")
    contract_ref = nft_type.get("contract")
    if not isinstance(contract_ref, str) or not contract_ref.startswith(f"{blockchain}:"):
        return None  # another blockchain's sale
    contract = _unprefixed(contract_ref, blockchain, "nft contract")
    if contract.lower() != collection.contract_address.lower():
        return None  # another collection's sale
    token_text = nft_type.get("tokenId")
    if not isinstance(token_text, str) or not token_text.isdigit():
        raise MalformedEvent(f"nft tokenId is not an integer: {str(token_text)[:40]!r}")
    quantity_text = str(nft.get("value", "1"))
    if not quantity_text.isdigit() or int(quantity_text) == 0:
        raise MalformedEvent(f"nft value is not a positive integer: {quantity_text[:40]!r}")
    if int(quantity_text) > MAX_QUANTITY:
        raise MalformedEvent(f"nft value {quantity_text[:40]} is more than the ledger stores ({MAX_QUANTITY})")
    payment = activity.get("payment")
    currency_address, symbol, decimals = _currency(payment, blockchain)
    # payment.value is what the buyer paid in all (price is per unit for several ERC-1155 tokens).
    amount = payment.get("value") if isinstance(payment, dict) and payment.get("value") is not None \
        else activity.get("price")
    info = activity.get("blockchainInfo") if isinstance(activity.get("blockchainInfo"), dict) else {}
    tx_text = activity.get("transactionHash") or info.get("transactionHash")
    block = info.get("blockNumber")
    if isinstance(block, int) and not isinstance(block, bool) and block > MAX_BIGINT:
        raise MalformedEvent(f"blockchainInfo.blockNumber {str(block)[:40]} is more than the ledger stores")
    source = str(activity.get("source") or "RARIBLE")
    try:
        return SaleReport(
            source=NAME, chain_id=collection.chain_id, tx_hash=tx_hash(str(tx_text)), collection=contract,
            token_id=int(token_text), quantity=int(quantity_text),
            price=to_base_units(amount, decimals, "payment value"), currency_address=currency_address,
            currency_symbol=symbol, currency_decimals=decimals,
            marketplace=MARKETPLACES.get(source, source.lower().replace("_", ""))[:32],
            seller=_unprefixed(activity.get("seller"), blockchain, "seller"),
            buyer=_unprefixed(activity.get("buyer"), blockchain, "buyer"),
            sold_at=_date(activity.get("date")),
            block_number=block if isinstance(block, int) and not isinstance(block, bool) and block >= 0 else None,
            external_id=str(activity.get("id") or "")[:200], reverted=activity.get("reverted") is True,
        )
    except BadReport as exc:
        raise MalformedEvent(str(exc)) from exc


class RaribleSource:
    """`SalesSource` over Rarible's SELL activities of a collection, oldest first from the kept high-water mark."""

    name = NAME

    def __init__(self, client: RaribleClient | None = None, *, blockchain: str | None = None,
                 now: Callable[[], datetime] = utcnow) -> None:
        settings = get_settings()
        self.client = client or RaribleClient()
        self.blockchain = blockchain or settings.rarible_blockchain
        self.lookback_s = settings.sales_lookback_s
        self.page_size = settings.sales_page_size
        self.now = now

    def _body(self, walk: Walk, collection: CollectionRef) -> dict[str, Any]:
        filter_: dict[str, Any] = {"blockchains": [self.blockchain], "types": ["SELL"],
                                   "collections": [f"{self.blockchain}:{collection.contract_address}"]}
        if walk.after is not None:
            filter_["from"] = walk.after.strftime("%Y-%m-%dT%H:%M:%SZ")
        body: dict[str, Any] = {"size": min(MAX_SIZE, self.page_size), "filter": filter_, "sort": "EARLIEST"}
        if walk.cursor:
            body["cursor"] = walk.cursor
        return body

    def fetch(self, collection: CollectionRef, budget: int) -> FetchResult:
        now = self.now()
        walk = load_walk(NAME, collection.contract_address)
        result = FetchResult(done=False)
        if walk.not_before is not None and walk.not_before > now:
            result.errors.append(f"Rarible asked us to wait until {walk.not_before:%H:%M:%S} UTC")
            return result
        walk.error = ""
        walk.start(self.lookback_s)
        try:
            self._walk(walk, collection, budget, result)
        except Throttled as exc:
            walk.error = str(exc)
            result.errors.append(str(exc))
            hold_source(NAME, now + timedelta(seconds=exc.retry_after_s), str(exc))
        except MarketplaceError as exc:
            walk.error = str(exc)
            result.errors.append(str(exc))
        result.commit = lambda: save_walk(walk, now)
        return result

    def _walk(self, walk: Walk, collection: CollectionRef, budget: int, result: FetchResult) -> None:
        pages = 0
        while pages < budget:
            try:
                activities, next_cursor = self.client.search(self._body(walk, collection))
            except ServerError as exc:
                if walk.cursor is None:
                    raise
                result.done = walk.fail_cursor(f"{exc} on a cursor")
                result.errors.append(walk.error)
                return
            pages += 1
            walk.failures = 0
            for activity in activities:
                try:
                    report = parse_activity(activity, collection, self.blockchain)
                except MalformedEvent as exc:
                    ident = activity.get("id") if isinstance(activity, dict) else None
                    record_error(f"sales:{NAME}", exc, {"campaign_id": collection.campaign_id,
                                                        "activity": str(ident)[:80]})
                    result.errors.append(f"malformed Rarible activity skipped: {exc}")
                    continue
                if report is not None:
                    walk.see(report.sold_at)
                    result.reports.append(report)
            walk.cursor = next_cursor
            if not next_cursor or not activities:
                walk.finish()
                result.done = True
                return
