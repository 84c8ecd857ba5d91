"""Sales ingest throughput: N sale events in both marketplace formats (OpenSea v2 asset events and Rarible SELL
activities; 40% of them the same sale seen by the other marketplace, 2% Rarible withdrawing a sale) go through
normalise (the real parsers) -> dedupe -> store (`record_reports`) on a fresh database, page by page as the pollers
deliver them.

Usage: python bench/sales_ingest.py [-n 50000] [--database-url URL] [--page 1000]
Default database: a temp SQLite file. A PostgreSQL URL names the server: a scratch database
`primsell_bench_sales_<pid>` is created there, migrated, and dropped at the end.
Last line: events_per_s=<n> rows=<n> duplicate_rows=<n> lost=<n>
The line before it has the CPU seconds of this process and events per CPU-second (the figures to compare on a
shared machine, where wall time depends on the other work); on PostgreSQL also the server backends' CPU seconds
when the server runs on this machine (from /proc), and events per CPU-second counting both.
(rows: sale rows stored; duplicate_rows: rows beyond one per sale; lost: sales sent but not stored, or not in the
state they should be.)
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import drop_scratch_database, use_scratch_database

SCRATCH_DB = f"primsell_bench_sales_{os.getpid()}"
CHAIN_ID = 31337
COLLECTION = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"


def server_cpu_seconds(engine: Any) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the bench's database, when the server runs on this
    machine (read from /proc); empty on SQLite or when they cannot be read."""
    from sqlalchemy import text

    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        found: dict[int, float] = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return found


def _address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def _opensea(sale: dict[str, Any]) -> dict[str, Any]:
    ts = int(sale["at"].timestamp())
    return {
        "event_type": "sale", "order_hash": sale["order_hash"], "chain": "ethereum", "protocol_address": "",
        "closing_date": ts, "quantity": 1, "seller": sale["seller"], "buyer": sale["buyer"], "transaction": sale["tx"],
        "event_timestamp": ts,
        "nft": {"identifier": str(sale["token"]), "collection": "bench", "contract": COLLECTION.lower(),
                "token_standard": "erc721", "name": f"#{sale['token']}"},
        "payment": {"quantity": str(sale["wei"]), "decimals": 18,
                    "token_address": WETH if sale["weth"] else "0x0000000000000000000000000000000000000000",
                    "symbol": "WETH" if sale["weth"] else "ETH"},
    }


def _rarible(sale: dict[str, Any], reverted: bool = False) -> dict[str, Any]:
    whole, frac = divmod(sale["wei"], 10**18)
    value = f"{whole}.{frac:018d}".rstrip("0").rstrip(".")
    payment = {"@type": "ERC20", "contract": f"ETHEREUM:{WETH}"} if sale["weth"] else \
        {"@type": "ETH", "blockchain": "ETHEREUM"}
    return {
        "@type": "SELL", "type": "SELL", "id": f"ETHEREUM:{sale['n']:024x}", "date": sale["at"].strftime(
            "%Y-%m-%dT%H:%M:%SZ"), "reverted": reverted, "source": sale["rarible_source"],
        "transactionHash": sale["tx"], "blockchainInfo": {"blockNumber": 15_000_000 + sale["n"], "logIndex": 1},
        "nft": {"type": {"@type": "ERC721", "contract": f"ETHEREUM:{COLLECTION.lower()}",
                         "tokenId": str(sale["token"])}, "value": "1"},
        "payment": {"type": payment, "value": value}, "price": value,
        "buyer": f"ETHEREUM:{sale['buyer']}", "seller": f"ETHEREUM:{sale['seller']}",
    }


def make_pages(events: int, page: int, seed: int = 12) -> tuple[list[tuple[str, list[dict[str, Any]]]], int, int]:
    """Pages of raw events in arrival order, the number of distinct sales, and how many end reverted."""
    rng = random.Random(seed)
    reverted = events * 2 // 100
    duplicates = events * 40 // 100
    unique = events - duplicates - reverted
    start = datetime(2026, 11, 1, tzinfo=UTC)
    wallets = [_address(rng) for _ in range(2000)]
    sales: list[dict[str, Any]] = []
    for n in range(unique):
        opensea_first = n % 2 == 0
        sales.append({
            "n": n, "tx": "0x" + rng.randbytes(32).hex(), "token": n + 1, "wei": rng.randrange(10**15, 5 * 10**19),
            "weth": rng.random() < 0.2, "seller": rng.choice(wallets), "buyer": rng.choice(wallets),
            "at": start + timedelta(seconds=n * 7), "order_hash": "" if rng.random() < 0.3 else
            "0x" + rng.randbytes(32).hex(), "opensea_first": opensea_first,
            "rarible_source": "OPEN_SEA" if opensea_first else rng.choice(["RARIBLE", "BLUR", "LOOKSRARE"]),
        })
    first = [("opensea" if s["opensea_first"] else "rarible", s) for s in sales]
    # The other marketplace's copy of `duplicates` sales, and Rarible withdrawing `reverted` of its own sales.
    seconds = [("rarible" if s["opensea_first"] else "opensea", s) for s in rng.sample(sales, duplicates)]
    twice = {id(s) for _, s in seconds}
    rarible_only = [s for s in sales if not s["opensea_first"] and id(s) not in twice]
    withdrawn = rng.sample(rarible_only, reverted)
    # Arrival: each feed in its own order, the copies a little later than the originals, the withdrawals last;
    # the two feeds' pages interleave.
    stream = [(s["n"], src, s, False) for src, s in first]
    stream += [(s["n"] + rng.randrange(0, 5 * page), src, s, False) for src, s in seconds]
    stream += [(unique + 10 * page, "rarible", s, True) for s in withdrawn]
    stream.sort(key=lambda item: item[0])
    feeds: dict[str, list[dict[str, Any]]] = {"opensea": [], "rarible": []}
    for _, src, s, rev in stream:
        feeds[src].append(_opensea(s) if src == "opensea" else _rarible(s, rev))
    split = {src: [raw[i:i + page] for i in range(0, len(raw), page)] for src, raw in feeds.items()}
    ordered: list[tuple[str, list[dict[str, Any]]]] = []
    for i in range(max(len(p) for p in split.values())):
        ordered.extend((src, pages[i]) for src, pages in split.items() if i < len(pages))
    return ordered, unique, reverted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--events", type=int, default=50000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--page", type=int, default=1000, help="events per poller page (one record_reports call)")
    args = parser.parse_args()

    url = use_scratch_database(args.database_url, SCRATCH_DB, FX_MODE="static")
    from sqlalchemy import func, select

    from backend import db
    from backend.brands.models import Brand
    from backend.campaigns.models import Campaign
    from backend.chain.models import ContractDeployment
    from backend.sales.ledger import record_reports
    from backend.sales.models import Sale, SaleSource, SaleStatus
    from backend.sales.opensea import parse_event
    from backend.sales.rarible import parse_activity
    from backend.sales.reports import CollectionRef
    from backend.workflow import outbox
    from backend.workflow.machines import ContractState

    backend = db.get_engine().dialect.name
    outbox.load_subscribers()
    with db.session_scope() as session:
        brand = Brand(slug="bench", name="Bench")
        session.add(brand)
        session.flush()
        campaign = Campaign(brand_id=brand.id, slug="bench", name="Bench", price_minor=1000, supply_cap=10**6)
        session.add(campaign)
        session.flush()
        session.add(ContractDeployment(campaign_id=campaign.id, chain="local", state=ContractState.DEPLOYED,
                                       contract_address=COLLECTION))
        ref = CollectionRef(campaign_id=campaign.id, brand_id=brand.id, chain_id=CHAIN_ID, contract_address=COLLECTION)

    pages, unique, reverted = make_pages(args.events, args.page)
    sent = sum(len(p) for _, p in pages)
    # The 50,000 raw events sit in memory here all at once (a poller holds one page): without the freeze, every full
    # collection during the run walks them, a cost of the bench's set-up rather than of the ingest (~1 s of CPU).
    gc.collect()
    gc.freeze()
    parsers = {"opensea": lambda e: parse_event(e, ref, "ethereum"),
               "rarible": lambda e: parse_activity(e, ref, "ETHEREUM")}
    inserted = merged = skipped = reverted_seen = 0
    server_before = server_cpu_seconds(db.get_engine())
    started, cpu_started = time.perf_counter(), time.process_time()
    for source, page in pages:
        parse = parsers[source]
        reports = [r for r in (parse(e) for e in page) if r is not None]
        result = record_reports(reports)
        inserted += result.inserted
        merged += result.merged
        skipped += result.skipped
        reverted_seen += result.reverted
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server_after = server_cpu_seconds(db.get_engine())
    server_cpu = sum(seconds - server_before.get(pid, 0.0) for pid, seconds in server_after.items())

    with db.session_scope() as session:
        rows = session.execute(select(func.count()).select_from(Sale)).scalar_one()
        keys = session.execute(select(func.count()).select_from(
            select(Sale.chain_id, Sale.tx_hash, Sale.collection, Sale.token_id).distinct().subquery())).scalar_one()
        withdrawn = session.execute(select(func.count()).select_from(Sale)
                                    .where(Sale.status == SaleStatus.REVERTED)).scalar_one()
        sources = session.execute(select(func.count()).select_from(SaleSource)).scalar_one()
    duplicate_rows = rows - keys
    lost = max(0, unique - keys) + abs(withdrawn - reverted)
    server = (f"server_cpu_seconds={server_cpu:.2f} "
              f"events_per_cpu_s_with_server={sent / max(cpu + server_cpu, 1e-6):.0f} " if server_after else "")
    print(f"events={sent} sales={unique} seconds={elapsed:.2f} cpu_seconds={cpu:.2f} "
          f"events_per_cpu_s={sent / max(cpu, 1e-6):.0f} {server}inserted={inserted} merged={merged} skipped={skipped} "
          f"reverted={withdrawn}/{reverted} sale_sources={sources} page={args.page} backend={backend}")
    db.set_engine(None)
    drop_scratch_database(url, SCRATCH_DB)
    print(f"events_per_s={sent / elapsed:.0f} rows={rows} duplicate_rows={duplicate_rows} lost={lost}")
    return 0 if duplicate_rows == 0 and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
