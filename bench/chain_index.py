"""Chain indexer throughput: a collection with --transfers Transfer logs, --fills of them Seaport sales, on anvil;
then the indexer reads it all from the deploy block (as the `chain_indexer` daemon would after a restart).

Starts anvil and (unless --database-url is given) a fresh migrated SQLite database in a temp directory. The collection
is deployed through the contract deployer; tokens are airdropped by the platform signer (the setup is not timed);
sellers list their tokens (EIP-712-signed Seaport 1.6 orders, some paying the royalty and the OpenSea fee, some not)
and buyers fulfil them. Timed: `index_pass` from nothing to the head (Transfer logs -> token_transfer/token_owner,
OrderFulfilled -> royaltyInfo at each sale's block -> the sales ledger). `missed` counts fills of the chain the ledger
does not hold with their exact (tx hash, log index), price and royalty paid. Last line:
`logs_per_s=<n> sales=<n> missed=<n>`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=20_000, help="Transfer logs in all (mints and sales)")
    parser.add_argument("--fills", type=int, default=1_000, help="Seaport sales among them")
    parser.add_argument("--sellers", type=int, default=50, help="wallets that list (tokens are split among them)")
    parser.add_argument("--fills-per-block", type=int, default=100, help="Seaport fills mined together in one block")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite database in a temp dir")
    args = parser.parse_args()
    if not 0 < args.fills <= args.transfers // 2:
        raise SystemExit("--fills must be between 1 and half of --transfers")

    tmp = Path(tempfile.mkdtemp(prefix="primsell-bench-"))
    os.environ.update(
        PRIMSELL_ENV="development", PRIMSELL_DATA_DIR=str(tmp),
        DATABASE_URL=args.database_url or f"sqlite:///{tmp / 'bench.db'}", CHAIN_CONFIRMATIONS="1",
        INDEXER_MAX_RANGES_PER_RUN="1000",
    )
    from eth_account import Account
    from sqlalchemy import func, select
    from web3 import Web3

    from backend import db
    from backend.auth.acl import Role
    from backend.chain.anvil import running_anvil
    from backend.chain.client import fund_from_dev_account, set_web3
    from backend.chain.deployments import deploy_pass, deployment_status, request_deploy
    from backend.chain.finish_hooks import FINISH_HOOKS
    from backend.chain.indexer import index_pass, record_seaport
    from backend.chain.keys import platform_account
    from backend.chain.models import TokenOwner
    from backend.chain.seaport import ORDER_FULFILLED_TOPIC
    from backend.chain.txmanager import monitor_pass
    from backend.migrate import upgrade
    from backend.sales.models import Sale
    from backend.settings import get_settings
    from contracts import seaport
    from tests.factories import make_brand, make_campaign, make_user

    get_settings.cache_clear()
    db.set_engine(None)
    upgrade()
    eth = 10**18
    opensea = Web3.to_checksum_address("0x0000a26b00c1f0df003000390027140000faa719")
    with running_anvil(extra_args=["--gas-limit", "60000000"]) as node:
        w3 = Web3(Web3.HTTPProvider(node.url, exception_retry_configuration=None))
        set_web3("local", w3)
        setup_started = time.perf_counter()
        brand = make_brand()
        admin = make_user(Role.BRAND_ADMIN, brand)
        royalty = Account.create().address
        campaign = make_campaign(brand, supply_cap=args.transfers, royalty_bps=500, royalty_receiver=royalty,
                                 deployed=False)
        request_deploy(admin, campaign.id)
        while (status := deployment_status(admin, campaign.id)).state not in ("deployed", "failed"):
            deploy_pass()
            monitor_pass("local", hooks=FINISH_HOOKS)
        if status.state != "deployed":
            raise SystemExit(f"deploy failed: {status.error}")
        collection = w3.eth.contract(address=status.contract_address, abi=seaport.load_artifact(
            "PrimsellCollection")["abi"])

        fee = 10 * 10**9
        chain_id = int(w3.eth.chain_id)
        deployer = seaport.Wallet(w3, Account.create(), max_fee_per_gas=fee)
        fund_from_dev_account(w3, deployer.address, 10 * eth)
        market = seaport.deploy_seaport(w3, deployer)
        record_seaport(int(w3.eth.chain_id), market.seaport, market.conduit_controller, market.block_number)

        # Mints: the sellers' tokens first (one block of consecutive ids each), then the rest to fresh addresses.
        minter = seaport.Wallet(w3, platform_account(), max_fee_per_gas=fee)
        fund_from_dev_account(w3, minter.address, 100 * eth)
        sellers = [seaport.Wallet(w3, Account.create(), max_fee_per_gas=fee) for _ in range(args.sellers)]
        buyers = [seaport.Wallet(w3, Account.create(), max_fee_per_gas=fee) for _ in range(args.sellers)]
        for wallet in sellers + buyers:
            fund_from_dev_account(w3, wallet.address, 1000 * eth)
        mints = args.transfers - args.fills
        owners = [sellers[i % len(sellers)].address for i in range(args.fills)]
        owners += [Account.create().address for _ in range(mints - args.fills)]
        for start in range(0, len(owners), 1000):
            minter.call(collection.functions.airdrop(owners[start:start + 1000]), gas=50_000_000, wait=False)
        for wallet in sellers:
            wallet.call(collection.functions.setApprovalForAll(market.seaport, True), gas=100_000)

        # Fills: token i (ids start at 1) is sold by its seller; a third pay fee and royalty, a third only the fee.
        # Up to --fills-per-block go in one block (anvil seals a block per transaction otherwise, slow once the state
        # is this large: README, "Measurements behind the code"), as on a busy public chain.
        node_rpc = w3.provider.make_request
        node_rpc("evm_setAutomine", [False])  # type: ignore[arg-type]
        hashes = []
        for i in range(args.fills):
            if i and i % args.fills_per_block == 0:
                node_rpc("evm_mine", [])  # type: ignore[arg-type]
            token_id, seller, buyer = i + 1, sellers[i % len(sellers)], buyers[i % len(buyers)]
            price = eth // 100 * (1 + i % 50)
            payouts = [[(opensea, price // 40), (royalty, price // 20)], [(opensea, price // 40)], []][i % 3]
            order = seaport.listing(seller.address, collection.address, token_id, price, payouts, salt=i)
            order = seaport.sign_order(order, seller.account, chain_id=chain_id,
                                       seaport=market.seaport, counter=0)
            hashes.append(seaport.fulfil(w3, market.seaport, order, buyer, wait=False, gas=400_000))
        node_rpc("evm_mine", [])  # type: ignore[arg-type]
        node_rpc("evm_setAutomine", [True])  # type: ignore[arg-type]
        expected: dict[tuple[str, int], tuple[int, int]] = {}
        for i, tx_hash in enumerate(hashes):
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
            if receipt["status"] != 1:
                raise SystemExit(f"fill {i} reverted")
            [log_index] = [int(log["logIndex"]) for log in receipt["logs"]
                           if "0x" + bytes(log["topics"][0]).hex() == ORDER_FULFILLED_TOPIC]
            price = eth // 100 * (1 + i % 50)
            expected[("0x" + bytes(tx_hash).hex(), log_index)] = (price, price // 20 if i % 3 == 0 else 0)
        head = w3.eth.block_number
        print(f"anvil {node.url}: {len(owners)} tokens minted, {args.fills} Seaport fills, head block {head} "
              f"(setup {time.perf_counter() - setup_started:.1f} s)")

        started = time.perf_counter()
        result = index_pass("local")
        elapsed = time.perf_counter() - started
        set_web3("local", None)

    with db.session_scope() as session:
        stored = {(s.tx_hash, s.log_index): (int(s.price), s.royalty_paid)
                  for s in session.execute(select(Sale)).scalars()}
        owners_stored = session.execute(select(func.count()).select_from(TokenOwner)).scalar_one()
    missed = sum(1 for key, value in expected.items() if stored.get(key) != value)
    print(f"indexed blocks up to {result.safe_head} in {result.ranges} range(s): {result.logs} logs "
          f"({result.transfers} transfers, {result.sales} sales) in {elapsed:.2f} s; {owners_stored} token owners; "
          f"ledger inserted {result.ingest.inserted}; errors {len(result.errors)}")
    print(f"logs_per_s={result.logs / elapsed:.0f} sales={len(stored)} missed={missed}")


if __name__ == "__main__":
    main()
