"""Mint throughput end to end: N mint requests -> mint_dispatcher + tx_monitor passes -> anvil -> confirmed.

Starts anvil and (unless --database-url is given) a fresh migrated SQLite database in a temp directory, deploys
a collection through the contract deployer, then times request -> confirmed for every token. The last line is
`tokens_per_s=<n>`.
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
    parser.add_argument("--requests", type=int, default=2000, help="mint requests, one token each, distinct wallets")
    parser.add_argument("--batch-size", type=int, default=500, help="tokens per airdrop transaction")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite database in a temp dir")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="primsell-bench-"))
    os.environ.update(
        PRIMSELL_ENV="development", PRIMSELL_DATA_DIR=str(tmp),
        DATABASE_URL=args.database_url or f"sqlite:///{tmp / 'bench.db'}",
        MINT_BATCH_SIZE=str(args.batch_size), MINT_DISPATCH_MAX_REQUESTS=str(max(args.requests, 1)),
        CHAIN_CONFIRMATIONS="1",
    )
    from eth_account import Account
    from web3 import Web3

    from backend import db
    from backend.auth.acl import Role
    from backend.chain.anvil import running_anvil
    from backend.chain.client import set_web3
    from backend.chain.deployments import deploy_pass, deployment_status, request_deploy
    from backend.chain.finish_hooks import FINISH_HOOKS
    from backend.chain.mints import dispatch_pass, minted_count, queue_mint
    from backend.chain.txmanager import monitor_pass
    from backend.migrate import upgrade
    from backend.settings import get_settings
    from tests.factories import make_brand, make_campaign, make_user

    get_settings.cache_clear()
    db.set_engine(None)
    upgrade()
    with running_anvil(extra_args=["--gas-limit", "60000000"]) as node:
        set_web3("local", Web3(Web3.HTTPProvider(node.url, exception_retry_configuration=None)))
        brand = make_brand()
        admin = make_user(Role.BRAND_ADMIN, brand)
        campaign = make_campaign(brand, supply_cap=max(args.requests, 1), deployed=False)
        request_deploy(admin, campaign.id)
        while deployment_status(admin, campaign.id).state != "deployed":
            deploy_pass()
            result = monitor_pass("local", hooks=FINISH_HOOKS)
            if deployment_status(admin, campaign.id).state == "failed":
                raise SystemExit(f"deploy failed: {deployment_status(admin, campaign.id).error}")
            if result.rpc_error:
                raise SystemExit(result.rpc_error)
        wallets = [Account.create().address for _ in range(args.requests)]
        print(f"anvil {node.url}; collection deployed; minting {args.requests} tokens in batches of {args.batch_size}")

        started = time.perf_counter()
        with db.session_scope() as session:
            for i, wallet in enumerate(wallets):
                queue_mint(session, f"bench:{i}", campaign.id, wallet, 1)
        requested = time.perf_counter()
        passes = 0
        while minted_count(admin, campaign.id).minted < args.requests:
            dispatch_pass()
            result = monitor_pass("local", hooks=FINISH_HOOKS)
            passes += 1
            if result.rpc_error or result.reverted or passes > 500:
                raise SystemExit(f"stopped: {result}")
        finished = time.perf_counter()
        set_web3("local", None)

    elapsed = finished - started
    print(f"requests written in {requested - started:.2f} s; {passes} dispatcher+monitor passes")
    print(f"{args.requests} tokens confirmed in {elapsed:.2f} s end to end")
    print(f"tokens_per_s={args.requests / elapsed:.0f}")


if __name__ == "__main__":
    main()
