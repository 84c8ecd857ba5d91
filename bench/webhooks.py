"""Webhook intake under load: N orders, N signed checkout.session.completed events (+30% duplicates, shuffled) sent
concurrently over HTTP; waits for the workflow to settle and counts mints.

Usage: python bench/webhooks.py [-n 1000] [--concurrency 32] [--workers 1] [--database-url URL] [--url http://host:port]
Without --url it starts the API (granian, the ASGI server Reflex uses, on create_api(): `python -m backend serve`
would need the Reflex build first) and the job runner
(`python -m jobs --only outbox_relay,order_expirer`) on a fresh database and data dir. A PostgreSQL URL names
the server: a scratch database `primsell_bench_webhooks` is (re)created there.

What it stands for: `python -m backend serve` runs `reflex run --env prod`, granian with GRANIAN_WORKERS or else
Reflex's own count: ONE worker process unless REDIS_URL is set (then 2 x CPUs + 1, since UI state must then
be shared), beside one job runner process. So the default here is one granian worker plus the runner; the
runner's outbox_relay runs every second here (every 5 s in the real registry, woken sooner by the web
process's kick). Latencies are of a warm server: before timing, each worker is sent a few signed events of a
type Primsell acknowledges and ignores (a real server has loaded its modules long before).
Last line: webhooks_per_s=<n> p50_ms=<n> p99_ms=<n> orders_paid=<n> mints=<n> duplicate_mints=<n> lost=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCRATCH_DB = "primsell_bench_webhooks"
BENCH_SECRET = "whsec_bench_0123456789abcdef0123456789abcdef"


def bench_app():  # type: ignore[no-untyped-def]
    """granian factory: the app's API (create_api, webhook and checkout routes included) with the subscribers
    loaded and the heap frozen as Reflex's production launcher does before serving
    (reflex.utils.exec._preload_for_fork: gc.collect(); gc.freeze()). Without the freeze, full collections over
    the imported modules pause the worker for 70-200 ms now and then, which is what a p99 sees."""
    from backend.api.app import create_api
    from backend.workflow import outbox

    outbox.load_subscribers()
    api = create_api()
    gc.collect()
    gc.freeze()
    return api


def fresh_database(url: str | None, data_dir: Path) -> str:
    if not url or url.startswith("sqlite"):
        return url or f"sqlite:///{data_dir / 'bench.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{SCRATCH_DB}"'))
    admin.dispose()
    return make_url(url).set(database=SCRATCH_DB).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the app at {url} did not come up")


def make_orders(n: int) -> list[str]:
    """N orders awaiting payment (through the real start_checkout), their sandbox sessions marked paid."""
    from backend.brands.models import Brand
    from backend.campaigns.models import Campaign, CampaignStatus
    from backend.db import session_scope
    from backend.orders import service
    from backend.orders.models import Order
    from backend.payments.models import SandboxSession

    with session_scope() as session:
        brand = Brand(slug="bench-brand", name="Bench")
        session.add(brand)
        session.flush()
        session.add(Campaign(brand_id=brand.id, slug="bench-drop", name="Bench drop", price_minor=1500,
                             currency="USD", supply_cap=n + 10, per_wallet_cap=0, status=CampaignStatus.PUBLISHED))

    def one(i: int) -> str:
        wallet = "0x" + f"{i + 1:040x}"
        return service.start_checkout("bench-drop", 1, f"buyer{i}@bench.example", wallet, "127.0.0.1").public_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        public_ids = list(pool.map(one, range(n)))
    from sqlalchemy import select, update

    with session_scope() as session:
        session_ids = session.execute(select(Order.payment_session_id)).scalars().all()
        session.execute(update(SandboxSession).where(SandboxSession.id.in_(session_ids))  # type: ignore[union-attr]
                        .values(status="complete", payment_status="paid"))
    return public_ids


def completion_bodies() -> list[bytes]:
    from sqlalchemy import select

    from backend.db import session_scope
    from backend.payments import sandbox
    from backend.payments.models import SandboxSession

    with session_scope() as session:
        rows = session.execute(select(SandboxSession)).scalars().all()
        events = [sandbox.build_event("checkout.session.completed", sandbox.session_event_object(r)) for r in rows]
    return [json.dumps(e, separators=(",", ":")).encode() for e in events]


def warm_up_event(i: int) -> dict[str, object]:
    from backend.payments import sandbox

    return sandbox.build_event("bench.warm_up", {"id": f"warm_{i}", "object": "bench"})


async def post_all(url: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], int]:
    """POST each body, signed just before it goes, over `concurrency` keep-alive connections; (latencies, non-200s).

    One asyncio loop with aiohttp, not a thread per connection: the load generator shares the machine's two cores
    with the server it measures, and 32 threads contending for the GIL cost ~2 ms of CPU per request (a third of
    the machine at these rates), which showed up as server latency."""
    import aiohttp

    from backend.payments.signing import sign

    pending = iter(bodies)
    latencies: list[float] = []
    failures = 0

    async def connection(http: aiohttp.ClientSession) -> None:
        nonlocal failures
        for body in pending:
            headers = {"Content-Type": "application/json", "Stripe-Signature": sign(body)}
            started = time.perf_counter()
            async with http.post("/api/stripe/webhook", data=body, headers=headers) as response:
                await response.read()
            latencies.append(time.perf_counter() - started)
            failures += response.status != 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.gather(*(connection(http) for _ in range(concurrency)))
    return latencies, failures


def settle_counts(n: int, timeout: float) -> tuple[int, int, int, int]:
    from sqlalchemy import func, select

    from backend.chain.models import MintRequest
    from backend.db import session_scope
    from backend.orders.models import Order
    from backend.workflow.machines import OrderState
    from backend.workflow.models import DeliveryStatus, OutboxDelivery

    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            paid = session.execute(select(func.count()).where(Order.paid_at.is_not(None))).scalar_one()  # type: ignore[union-attr]
            minting = session.execute(select(func.count()).where(Order.state == OrderState.MINTING)).scalar_one()
            mints = session.execute(select(func.count()).select_from(MintRequest)).scalar_one()
            distinct = session.execute(select(func.count(func.distinct(MintRequest.key)))).scalar_one()
            pending = session.execute(select(func.count()).where(
                OutboxDelivery.status == DeliveryStatus.PENDING)).scalar_one()
        if (minting >= n and pending == 0) or time.monotonic() > deadline:
            return int(paid), int(mints), int(mints - distinct) + max(0, int(mints) - int(paid)), int(n - minting)
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duplicates", type=float, default=0.3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--url", default=None, help="a running app (its DATABASE_URL and STRIPE_WEBHOOK_SECRET must "
                                                    "be in this environment too)")
    parser.add_argument("--workers", type=int, default=1, help="ASGI worker processes of the started app")
    parser.add_argument("--settle-timeout", type=float, default=180)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="primsell-bench-webhooks-"))
    children: list[subprocess.Popen[bytes]] = []
    if args.url is None:
        database_url = fresh_database(args.database_url, tmp)
        port = free_port()
        os.environ.update(DATABASE_URL=database_url, PRIMSELL_DATA_DIR=str(tmp), PRIMSELL_ENV="development",
                          STRIPE_WEBHOOK_SECRET=BENCH_SECRET, PRIMSELL_PUBLIC_URL=f"http://127.0.0.1:{port}",
                          PAYMENTS_PROVIDER="sandbox")
        os.environ.pop("STRIPE_API_KEY", None)
        root = Path(__file__).resolve().parent.parent
        subprocess.run([sys.executable, "-m", "backend", "migrate"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        children.append(subprocess.Popen(
            [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(args.workers), "--log-level", "warning", "--no-access-log",
             "bench.webhooks:bench_app"], cwd=root))
        children.append(subprocess.Popen(
            [sys.executable, "-m", "jobs", "--only", "outbox_relay,order_expirer", "--every", "1"], cwd=root,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}"
    else:
        url = args.url.rstrip("/")
    try:
        wait_ready(url)
        make_orders(args.n)
        bodies = completion_bodies()
        rng = random.Random(5)
        sends = bodies + rng.sample(bodies, int(len(bodies) * args.duplicates))
        rng.shuffle(sends)
        warm = [json.dumps(warm_up_event(i), separators=(",", ":")).encode() for i in range(8 * args.workers)]
        _, warm_failures = asyncio.run(post_all(url, warm, args.concurrency))  # warm-up, not timed
        if warm_failures:
            raise SystemExit("the warm-up webhooks were not acknowledged")
        gc.collect()  # the client's own full collections would show up as server latency
        gc.freeze()
        began = time.perf_counter()
        latencies, failures = asyncio.run(post_all(url, sends, args.concurrency))
        wall = time.perf_counter() - began
        latencies.sort()
        paid, mints, duplicate_mints, lost = settle_counts(args.n, args.settle_timeout)
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        backend = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgresql") else "sqlite"
        print(f"# backend={backend} granian_workers={args.workers if args.url is None else '?'} "
              f"concurrency={args.concurrency} sent={len(sends)} unique={len(bodies)} non_200={failures} "
              f"wall_s={wall:.2f}")
        print(f"webhooks_per_s={len(sends) / wall:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} orders_paid={paid} "
              f"mints={mints} duplicate_mints={duplicate_mints} lost={lost + failures}")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
