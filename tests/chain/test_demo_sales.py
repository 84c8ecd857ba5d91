"""The demo's real Seaport sales (what `make run` seeds on anvil), found by the indexer; idempotent."""

from __future__ import annotations

import time

from backend.chain.indexer import index_pass
from backend.demo import seed_demo, seed_demo_sales
from backend.sales.models import SaleStatus
from backend.sales.royalties import calculate_pass
from backend.workflow.outbox import relay
from tests.chain.helpers import CHAIN, ChainUnderTest
from tests.chain.market import sales

FINNEY = 10**15


def test_demo_sales_are_real_fills_the_indexer_finds_once(chain: ChainUnderTest) -> None:
    seed_demo()
    started = time.perf_counter()
    first = seed_demo_sales(chain.w3)
    print(f"demo sales seeded in {time.perf_counter() - started:.1f} s on {chain.kind}")
    assert first.made == 4 and first.seaport and first.skipped == ""
    assert index_pass(CHAIN).sales == 4
    relay()
    assert calculate_pass(CHAIN).computed == 4

    found = sorted(sales(), key=lambda s: s.block_number)  # type: ignore[arg-type, return-value]
    assert all(s.status is SaleStatus.CONFIRMED for s in found)
    assert [(s.price, s.currency_symbol, s.marketplace) for s in found] == [
        (50 * FINNEY, "ETH", "opensea"), (80 * FINNEY, "ETH", "opensea"), (120 * FINNEY, "ETH", "seaport"),
        (150 * 10**18, "TEST", "opensea")]
    assert [s.royalty_owed for s in found] == [50 * FINNEY // 20, 80 * FINNEY // 20, 120 * FINNEY // 20,
                                              150 * 10**18 // 20]
    assert [s.royalty_paid for s in found] == [50 * FINNEY // 20, 0, 120 * FINNEY // 20, 150 * 10**18 // 20]
    assert len({s.seller for s in found} | {s.buyer for s in found}) == 4  # between the four demo wallets

    again = seed_demo_sales(chain.w3)
    assert (again.made, again.seaport) == (0, first.seaport)
    assert index_pass(CHAIN).sales == 0 and len(sales()) == 4
