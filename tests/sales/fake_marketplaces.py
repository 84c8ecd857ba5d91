"""Fake OpenSea (API v2) and Rarible (v0.1 activities) servers on 127.0.0.1: real sockets, the real formats
(FORMATS.md 1.1-1.3) and their quirks, for the real clients and pollers.

Quirks they can show: duplicates within and across the feeds, empty order hashes, WETH payments, other chains'
and other contracts' events in a feed, unknown event types, a malformed event, Rarible's `reverted` flip, a 429
with Retry-After (and X-RateLimit-* headers on every answer), OpenSea's cursor after the last page that
answers 500, and OpenSea cursors into a stretch of its history that answer 500."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "test-marketplace-key"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    at: float
    status: int = 0


Answer = tuple[int, Any, dict[str, str]]


@dataclass
class FakeMarketplace:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    throttles: int = 0  # answer the next this-many list requests with 429
    retry_after: str = "1"
    requests_left: int = 120

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: Any) -> Answer:
        raise NotImplementedError

    def limits(self) -> dict[str, str]:
        self.requests_left = max(0, self.requests_left - 1)
        return {"X-RateLimit-Limit": "120", "X-RateLimit-Window": "60s",
                "X-RateLimit-Remaining": str(self.requests_left)}

    def throttled(self) -> Answer | None:
        if self.throttles > 0:
            self.throttles -= 1
            return 429, {"detail": "Request was throttled."}, {"Retry-After": self.retry_after}
        return None

    def requests(self, path_part: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if path_part in s.path]


def _cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, sort_keys=True).encode()).decode()


def _uncursor(text: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(text.encode()))


# -- OpenSea ------------------------------------------------------------------------------------------------------

def opensea_sale(contract: str, token_id: int, tx_hash: str, at: datetime, quantity: str, *, seller: str,
                 buyer: str, symbol: str = "ETH", token_address: str = "0x0000000000000000000000000000000000000000",
                 order_hash: str = "", chain: str = "ethereum", slug: str = "primsell-test", protocol: str = "",
                 event_type: str = "sale") -> dict[str, Any]:
    """An asset event as OpenSea v2 sends it (addresses lowercase, identifier a string, quantity a string)."""
    ts = int(at.timestamp())
    return {
        "event_type": event_type, "order_hash": order_hash, "chain": chain, "protocol_address": protocol,
        "closing_date": ts, "nft": {
            "identifier": str(token_id), "collection": slug, "contract": contract.lower(),
            "token_standard": "erc721", "name": f"Pass #{token_id}", "description": "Loyalty pass",
            "image_url": "https://i.seadn.io/s/raw/files/abc.png", "display_image_url": None,
            "display_animation_url": None, "metadata_url": f"ipfs://bafy/{token_id}",
            "opensea_url": f"https://opensea.io/assets/{chain}/{contract.lower()}/{token_id}",
            "updated_at": at.strftime("%Y-%m-%dT%H:%M:%S.%f"), "is_disabled": False, "is_nsfw": False},
        "quantity": 1, "seller": seller.lower(), "buyer": buyer.lower(),
        "payment": {"quantity": quantity, "token_address": token_address.lower(), "decimals": 18, "symbol": symbol},
        "transaction": tx_hash, "event_timestamp": ts,
    }


@dataclass
class FakeOpenSea(FakeMarketplace):
    contracts: dict[tuple[str, str], str] = field(default_factory=dict)  # (chain, lowercase address) -> slug
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # slug -> asset events
    fail_last_cursor: bool = True  # hand out a cursor after the last page, and answer it with 500
    gone: set[str] = field(default_factory=set)  # slugs of renamed collections: their events answer 404
    broken_before: int | None = None  # unix seconds: a cursor whose page starts with an older event answers 500
    refuse_cursors: bool = False  # every cursor answers 400, as a stale one does

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: Any) -> Answer:
        if headers.get("x-api-key") != API_KEY:
            return 401, {"detail": "Invalid API key"}, {}
        parts = path.strip("/").split("/")
        if method == "GET" and parts[:3] == ["api", "v2", "chain"] and len(parts) == 6 and parts[4] == "contract":
            slug = self.contracts.get((parts[3], parts[5].lower()))
            if slug is None:
                return 404, {"errors": [f"Contract {parts[5]} not found"]}, self.limits()
            return 200, {"address": parts[5].lower(), "chain": parts[3], "collection": slug,
                         "contract_standard": "erc721", "name": "Primsell test"}, self.limits()
        if method == "GET" and parts[:4] == ["api", "v2", "events", "collection"] and len(parts) == 5:
            throttled = self.throttled()
            if throttled:
                return throttled
            return self._events(parts[4], query)
        return 404, {"errors": ["not found"]}, {}

    def _events(self, slug: str, query: dict[str, list[str]]) -> Answer:
        if slug in self.gone:
            return 404, {"errors": [f"Collection '{slug}' not found"]}, self.limits()
        if query.get("event_type") != ["sale"]:
            return 400, {"errors": ["this fake only serves event_type=sale"]}, self.limits()
        limit = int(query.get("limit", ["50"])[0])
        if not 1 <= limit <= 100:
            return 400, {"errors": ["limit must be between 1 and 100"]}, self.limits()
        after = int(query["after"][0]) if "after" in query else None
        before = int(query["before"][0]) if "before" in query else None
        offset = 0
        if "next" in query:
            cursor = _uncursor(query["next"][0])
            if cursor.get("last"):
                return 500, {"errors": ["Internal server error"]}, self.limits()
            offset = cursor["offset"]
            if self.refuse_cursors:
                return 400, {"errors": ["Invalid cursor"]}, self.limits()
        with self.lock:
            feed = sorted(self.events.get(slug, []), key=lambda e: -e["event_timestamp"])  # newest first
        feed = [e for e in feed if (after is None or e["event_timestamp"] >= after)
                and (before is None or e["event_timestamp"] <= before)]
        if ("next" in query and self.broken_before is not None and offset < len(feed)
                and feed[offset]["event_timestamp"] < self.broken_before):
            return 500, {"errors": ["Internal server error"]}, self.limits()
        page = feed[offset:offset + limit]
        more = offset + limit < len(feed)
        next_cursor = _cursor({"offset": offset + limit}) if more else (
            _cursor({"last": True}) if self.fail_last_cursor and page else None)
        return 200, {"asset_events": page, "next": next_cursor}, self.limits()


# -- Rarible ------------------------------------------------------------------------------------------------------

def rarible_sell(contract: str, token_id: int, tx_hash: str, at: datetime, price: str, *, seller: str, buyer: str,
                 activity_id: str, source: str = "RARIBLE", erc20: str | None = None, reverted: bool = False,
                 block: int = 15296250, blockchain: str = "ETHEREUM") -> dict[str, Any]:
    """A SELL activity as Rarible sends it: scaled decimal strings, BLOCKCHAIN:-prefixed addresses."""
    payment_type = {"@type": "ERC20", "contract": f"{blockchain}:{erc20.lower()}"} if erc20 else \
        {"@type": "ETH", "blockchain": blockchain}
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "@type": "SELL", "id": activity_id, "date": stamp, "lastUpdatedAt": stamp,
        "cursor": f"{int(at.timestamp() * 1000)}_{block}_{activity_id}", "reverted": reverted, "source": source,
        "transactionHash": tx_hash,
        "blockchainInfo": {"transactionHash": tx_hash, "blockHash": "0x" + "ab" * 32, "blockNumber": block,
                           "logIndex": 161},
        "nft": {"type": {"@type": "ERC721", "contract": f"{blockchain}:{contract.lower()}", "tokenId": str(token_id)},
                "value": "1"},
        "payment": {"type": payment_type, "value": price},
        "buyer": f"{blockchain}:{buyer.lower()}", "seller": f"{blockchain}:{seller.lower()}",
        "price": price, "priceUsd": "62.9453499597576724", "amountUsd": "62.9453499597576724", "type": "SELL",
    }


@dataclass
class FakeRarible(FakeMarketplace):
    activities: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: Any) -> Answer:
        if headers.get("x-api-key") != API_KEY:
            return 401, {"code": "UNAUTHORIZED", "message": "API key is missing or invalid"}, {}
        if method != "POST" or path != "/v0.1/activities/search":
            return 404, {"code": "NOT_FOUND", "message": "not found"}, {}
        throttled = self.throttled()
        if throttled:
            return throttled
        problem = self._check(body)
        if problem:
            return 400, {"code": "VALIDATION", "message": problem}, self.limits()
        filter_ = body["filter"]
        since = filter_.get("from")
        with self.lock:
            rows = [a for a in self.activities
                    if a["nft"]["type"]["contract"].split(":", 1)[0] in filter_["blockchains"]
                    and (a.get("type") in filter_["types"] or "type" not in a)
                    and (not filter_.get("collections") or a["nft"]["type"]["contract"].lower() in
                         [c.lower() for c in filter_["collections"]] or a.get("_leak"))
                    and (since is None or a["date"] >= since)]
        rows.sort(key=lambda a: a["date"], reverse=body.get("sort") == "LATEST")
        offset = _uncursor(body["cursor"])["offset"] if body.get("cursor") else 0
        size = body["size"]
        page = [{k: v for k, v in a.items() if k != "_leak"} for a in rows[offset:offset + size]]
        answer: dict[str, Any] = {"activities": page}
        if offset + size < len(rows):
            answer["cursor"] = _cursor({"offset": offset + size})
        return 200, answer, self.limits()

    @staticmethod
    def _check(body: Any) -> str:
        if not isinstance(body, dict):
            return "body must be an object"
        if not isinstance(body.get("size"), int) or not 1 <= body["size"] <= 1000:
            return "size is required (1-1000)"
        filter_ = body.get("filter")
        if not isinstance(filter_, dict) or not filter_.get("blockchains") or not filter_.get("types"):
            return "filter with blockchains and types is required"
        if body.get("sort", "LATEST") not in ("LATEST", "EARLIEST"):
            return "sort must be LATEST or EARLIEST"
        return ""


# -- serving ------------------------------------------------------------------------------------------------------

def _handler(fake: FakeMarketplace) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            pass

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            seen = Seen(self.command, split.path, parse_qs(split.query), body, time.monotonic())
            with fake.lock:
                fake.seen.append(seen)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer, extra = fake.handle(self.command, split.path, parse_qs(split.query), headers, body)
            seen.status = status
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    return Handler


@contextmanager
def serving(fake: FakeMarketplace) -> Iterator[FakeMarketplace]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-marketplace", daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def at(minutes_ago: float, now: datetime | None = None) -> datetime:
    from datetime import timedelta

    return ((now or datetime.now(UTC)) - timedelta(minutes=minutes_ago)).replace(microsecond=0)
