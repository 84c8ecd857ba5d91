"""OpenSea API v2 as a sales source: the client, the parser of its sale events, and `OpenSeaSource`.

GET {OPENSEA_API_URL}/api/v2/chain/{chain}/contract/{address} -> {"collection": "<slug>", ...} (once per contract)
GET {OPENSEA_API_URL}/api/v2/events/collection/{slug}?event_type=sale&after=&before=&limit=&next= ->
{"asset_events": [...], "next": "<cursor>"}, newest first, `after` and `before` in unix seconds, header X-API-KEY.
`payment.quantity` is a string of base units with `payment.decimals`; `order_hash` and `protocol_address` may be
""; `chain` may be another chain ("matic"); unknown event types are skipped. See docs: FORMATS.md 1.1 and 1.3.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.db import utcnow
from backend.monitoring.errors import record_error
from backend.sales.cursors import Walk, hold_source, load_walk, save_walk
from backend.sales.normalise import MAX_QUANTITY, BadReport, checksum_address, optional_hash, tx_hash
from backend.sales.reports import CollectionRef, FetchResult, SaleReport
from backend.sales.throttle import (
    MalformedEvent,
    MarketplaceClient,
    MarketplaceError,
    RequestRefused,
    ServerError,
    Throttled,
)
from backend.settings import get_settings

log = logging.getLogger(__name__)

NAME = "opensea"
MAX_LIMIT = 100
_DIGITS = re.compile(r"^[0-9]{1,80}$")


class OpenSeaClient(MarketplaceClient):
    """The two reads the poller needs, throttled by the source's token bucket. `http` is injectable."""

    label = "OpenSea"

    def __init__(self, http: httpx.Client | None = None) -> None:
        settings = get_settings()
        super().__init__(NAME, settings.opensea_api_url, settings.opensea_api_key, settings.opensea_reads_per_minute,
                         http)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._request("GET", path, params=params)

    def contract_slug(self, chain: str, address: str) -> str | None:
        """The collection slug of a contract, None while OpenSea has not indexed it."""
        body = self._get(f"/api/v2/chain/{chain}/contract/{address}")
        slug = body.get("collection") if isinstance(body, dict) else None
        return slug if isinstance(slug, str) and slug else None

    def sale_events(self, slug: str, *, after: datetime | None = None, before: datetime | None = None,
                    limit: int = MAX_LIMIT, cursor: str | None = None) -> tuple[list[Any], str | None]:
        params: dict[str, Any] = {"event_type": "sale", "limit": min(MAX_LIMIT, max(1, limit))}
        if after is not None:
            params["after"] = int(after.timestamp())
        if before is not None:
            params["before"] = int(before.timestamp())
        if cursor:
            params["next"] = cursor
        body = self._get(f"/api/v2/events/collection/{slug}", params)
        if not isinstance(body, dict) or not isinstance(body.get("asset_events"), list):
            raise ServerError("OpenSea events answer has no asset_events list")
        next_cursor = body.get("next")
        return body["asset_events"], next_cursor if isinstance(next_cursor, str) and next_cursor else None


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise MalformedEvent(f"{name} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    raise MalformedEvent(f"{name} is not an integer: {str(value)[:40]!r}")


def _field(mapping: Any, name: str) -> Any:
    if not isinstance(mapping, dict) or mapping.get(name) is None:
        raise MalformedEvent(f"missing {name}")
    return mapping[name]


def parse_event(event: Any, collection: CollectionRef, chain_name: str) -> SaleReport | None:
    """A SaleReport for one of OpenSea's asset events; None for events that are not this collection's sales on
    this chain (other event types, other chains, other contracts); MalformedEvent for an unusable sale, whatever
    is wrong with it (one bad event must never stop the page)."""
    try:
        return _parse_event(event, collection, chain_name)
    except MalformedEvent:
        raise
    except Exception as exc:  # any other shape problem is a malformed event too (re-raised as one)
        raise MalformedEvent(f"unusable event ({type(exc).__name__}: {str(exc)[:100]})") from exc


def _parse_event(event: Any, collection: CollectionRef, chain_name: str) -> SaleReport | None:
    if not isinstance(event, dict):
        raise MalformedEvent("event is not an object")
    if event.get("event_type") != "sale":
        return None
    if event.get("chain") != chain_name:
        return None
    nft = _field(event, "nft")
    contract = _field(nft, "contract")
    if not isinstance(contract, str) or contract.lower() != collection.contract_address.lower():
        return None
    payment = _field(event, "payment")
    try:
        quantity_text = payment.get("quantity") if isinstance(payment, dict) else None
        if not isinstance(quantity_text, str) or not _DIGITS.match(quantity_text):
            raise MalformedEvent(f"payment.quantity is not a string of base units: {str(quantity_text)[:40]!r}")
        decimals = _int(_field(payment, "decimals"), "payment.decimals")
        timestamp = _int(event.get("event_timestamp", event.get("closing_date")), "event_timestamp")
        order_hash = event.get("order_hash") or ""
        quantity = _int(event.get("quantity", 1), "quantity")
        if quantity > MAX_QUANTITY:
            raise MalformedEvent(f"quantity {str(quantity)[:40]} is more than the ledger stores ({MAX_QUANTITY})")
        return SaleReport(
            source=NAME, chain_id=collection.chain_id, tx_hash=tx_hash(str(_field(event, "transaction"))),
            collection=checksum_address(contract), token_id=_int(_field(nft, "identifier"), "nft.identifier"),
            quantity=max(1, quantity), price=int(quantity_text),
            currency_address=checksum_address(str(_field(payment, "token_address"))),
            currency_symbol=str(_field(payment, "symbol"))[:16], currency_decimals=decimals, marketplace=NAME,
            seller=checksum_address(str(_field(event, "seller"))), buyer=checksum_address(str(_field(event, "buyer"))),
            sold_at=datetime.fromtimestamp(timestamp, UTC), external_id=optional_hash(order_hash) or "",
        )
    except BadReport as exc:
        raise MalformedEvent(str(exc)) from exc
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedEvent(f"unusable value: {exc}") from exc


class OpenSeaSource:
    """`SalesSource` over OpenSea's collection events, walking each collection's feed with a kept cursor."""

    name = NAME

    def __init__(self, client: OpenSeaClient | None = None, *, chain_name: str | None = None,
                 now: Callable[[], datetime] = utcnow) -> None:
        settings = get_settings()
        self.client = client or OpenSeaClient()
        self.chain_name = chain_name or settings.marketplace_chain_name
        self.lookback_s = settings.sales_lookback_s
        self.page_size = min(MAX_LIMIT, settings.sales_page_size)
        self.now = now

    def fetch(self, collection: CollectionRef, budget: int) -> FetchResult:
        now = self.now()
        walk = load_walk(NAME, collection.contract_address, newest_first=True)
        result = FetchResult(done=False)
        if walk.not_before is not None and walk.not_before > now:
            result.errors.append(f"OpenSea asked us to wait until {walk.not_before:%H:%M:%S} UTC")
            return result
        walk.error = ""
        walk.source_ref = walk.source_ref or collection.opensea_slug
        try:
            if walk.source_ref is None:
                walk.source_ref = self.client.contract_slug(self.chain_name, collection.contract_address)
                if walk.source_ref is None:
                    walk.error = "OpenSea does not know this contract yet"
                    result.errors.append(walk.error)
                    result.commit = lambda: save_walk(walk, now)
                    return result
            try:
                self._walk(walk, collection, budget, result)
            except RequestRefused:
                # A slug OpenSea no longer knows (collections get renamed) or a cursor it no longer takes: ask the
                # contract's slug again and, if it changed, walk the new one from the start of the look-back.
                slug = self.client.contract_slug(self.chain_name, collection.contract_address)
                if slug is None or slug == walk.source_ref:
                    raise
                result.errors.append(f"OpenSea collection {walk.source_ref!r} is now {slug!r}")
                walk.source_ref, walk.cursor, walk.failures = slug, None, 0
                self._walk(walk, collection, budget, result)
        except Throttled as exc:
            walk.error = str(exc)
            result.errors.append(str(exc))
            hold_source(NAME, now + timedelta(seconds=exc.retry_after_s), str(exc))
        except MarketplaceError as exc:
            walk.error = str(exc)
            if walk.before is not None or walk.cursor is not None:
                # A cursor refused under the same slug (OpenSea's cursors go stale) counts towards giving the walk up,
                # as a failing one does: kept for ever it would be asked again every run and nothing new read. Any
                # failure of the older part counts, a refused or failing first page too: new sales wait behind it.
                result.done = walk.fail_cursor(f"{exc} on a cursor" if walk.cursor is not None else str(exc))
            result.errors.append(walk.error)
        result.commit = lambda: save_walk(walk, now)
        return result

    def _walk(self, walk: Walk, collection: CollectionRef, budget: int, result: FetchResult) -> None:
        walk.start(self.lookback_s)
        last_page_full = True
        pages = 0
        while pages < budget:
            try:
                events, next_cursor = self.client.sale_events(walk.source_ref or "", after=walk.after,
                                                              before=walk.before, limit=self.page_size,
                                                              cursor=walk.cursor)
            except ServerError as exc:
                if walk.cursor is None:
                    raise
                if not last_page_full:
                    # OpenSea hands out a cursor after its last page that can answer 500: the walk is over.
                    walk.finish()
                    result.done = True
                    result.errors.append(f"{exc} on the cursor after a short page: taken as the end of the feed")
                    return
                result.done = walk.fail_cursor(f"{exc} on a cursor")  # kept for the next run, a few times
                result.errors.append(walk.error)
                return
            pages += 1
            walk.failures = 0
            last_page_full = len(events) >= self.page_size
            for event in events:
                try:
                    report = parse_event(event, collection, self.chain_name)
                except MalformedEvent as exc:
                    _log_malformed(collection, event, exc)
                    result.errors.append(f"malformed OpenSea event skipped: {exc}")
                    continue
                if report is not None:
                    walk.see(report.sold_at)
                    result.reports.append(report)
                elif (passed := _event_time(event)) is not None:
                    walk.passed(passed)  # another contract's sale under a shared slug: the walk is past it all the same
            walk.cursor = next_cursor
            if not next_cursor or not events:
                walk.finish()
                result.done = True
                return


def _event_time(event: Any) -> datetime | None:
    """When an event that is not ours happened, if it says so plainly; None otherwise (it then moves no bound)."""
    value = event.get("event_timestamp") if isinstance(event, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _log_malformed(collection: CollectionRef, event: Any, exc: Exception) -> None:
    ident = event.get("transaction") or event.get("order_hash") if isinstance(event, dict) else None
    record_error(f"sales:{NAME}", exc, {"campaign_id": collection.campaign_id, "event": str(ident)[:80]})
