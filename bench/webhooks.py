"""Webhook intake under load, checked on a real chain: N orders, N signed checkout.session.completed events (+30%
duplicates, shuffled) sent concurrently over HTTP; waits until every paid order's mint has an outcome, then counts
the tokens on the chain.

Usage: python bench/webhooks.py [-n 1000] [--concurrency 32] [--workers 1] [--database-url URL] [--url http://host:port]

Without --url it starts, on a fresh database and data dir: anvil (the "local" chain), the API (granian, the ASGI
server Reflex uses, on create_api(): `python -m backend serve` would need the Reflex build first) and the job
runner (`python -m jobs --only outbox_relay,order_expirer,contract_deployer,mint_dispatcher,tx_monitor,email_sender`).
Their output goes to a log file in the temp data dir, whose path is printed if anything fails. A PostgreSQL URL names
the server: a scratch database `primsell_bench_webhooks_<pid>` is created there and dropped at the end (two runs do not
collide). The children get an explicit environment:
the sandbox payment provider always (STRIPE_API_KEY is blanked: nothing reaches Stripe), no Sentry, no Redis, static FX
rates, the bench's anvil as the chain.

With --url the app and its job runner are already running (with contract_deployer, mint_dispatcher, tx_monitor
and outbox_relay): this process writes the bench's own brand, campaign (unique slugs per run) and orders into
the app's database (--database-url, else DATABASE_URL; without either it refuses), signs with the app's
STRIPE_WEBHOOK_SECRET (from this environment or the data dir's generated secrets), reads the chain through
CHAIN_RPC_URL, and counts only its own campaign's rows.

What it stands for: `python -m backend serve` runs `reflex run --env prod`, granian with GRANIAN_WORKERS or else
Reflex's own count: ONE worker process unless REDIS_URL is set, beside one job runner process. So the default here
is one granian worker plus the runner; every daemon of the runner runs every second here (`--every 1`). The runner
lowers its CPU priority (JOBS_NICE, 10); anvil stands in for a remote chain node and is given the same niceness
(--anvil-nice). Latencies are of the webhook POSTs only, on a warm server (each worker is first sent a few signed
events of a type Primsell acknowledges and ignores); deploying and minting run in the runner meanwhile.

Counted from the chain after settling: mints = tokens minted (Transfer events from the zero address; checked
against totalSupply), duplicate_mints = tokens beyond what paid orders asked for (each order has its own random
wallet, so a wallet's tokens are its order's), lost = orders whose first delivery was not answered 200, or whose
completion was acknowledged but that did not end paid with its tokens on chain. Non-200 answers to duplicate
deliveries are not losses: they are reported as errors=<n> on the line before the last.
Last line: webhooks_per_s=<n> p50_ms=<n> p99_ms=<n> orders_paid=<n> mints=<n> duplicate_mints=<n> lost=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scratch import drop_scratch_database, fresh_database  # noqa: E402

SCRATCH_DB = f"primsell_bench_webhooks_{os.getpid()}"
BENCH_SECRET = "whsec_bench_0123456789abcdef0123456789abcdef"
RUNNER_DAEMONS = ("outbox_relay", "order_expirer", "contract_deployer", "mint_dispatcher", "tx_monitor", "email_sender")
ZERO = "0x0000000000000000000000000000000000000000"


def bench_app():  # type: ignore[no-untyped-def]
    """granian factory: the app's API (create_api, webhook and checkout routes included) with the subscribers
    loaded and the heap frozen as Reflex's production launcher does before serving
    (reflex.utils.exec._preload_for_fork: gc.collect(); gc.freeze()). Without the freeze, full collections over
    the imported modules pause the worker now and then, which is what a p99 sees (README, "Measurements behind
    the code")."""
    from backend.api.app import create_api
    from backend.workflow import outbox

    outbox.load_subscribers()
    api = create_api()
    gc.collect()
    gc.freeze()
    return api


# -- the system under test ---------------------------------------------------------------------------------------

def bench_settings(database_url: str, data_dir: Path, public_url: str, rpc_url: str) -> dict[str, str]:
    """Every setting that matters here, explicitly (the environment wins over a `.env` file)."""
    return {
        "DATABASE_URL": database_url, "PRIMSELL_DATA_DIR": str(data_dir), "PRIMSELL_ENV": "development",
        "PRIMSELL_PUBLIC_URL": public_url, "STRIPE_WEBHOOK_SECRET": BENCH_SECRET,
        # Sandbox always: "auto" would pick real Stripe whenever a STRIPE_API_KEY is around.
        "PAYMENTS_PROVIDER": "sandbox", "STRIPE_API_KEY": "", "STRIPE_API_BASE": "",
        "SENTRY_DSN": "", "REDIS_URL": "", "FX_MODE": "static",
        "CHAIN_KEY": "local", "CHAIN_RPC_URL": rpc_url, "CHAIN_CONFIRMATIONS": "1", "CHAIN_DEV_FUNDING": "true",
        "JOBS_NICE": "10",  # the default: background work yields the CPU to the web process
        # One address places every bench order and they are paid only once all are placed: the checkout abuse
        # limits (per-IP rate limits and unpaid caps, the short hold before the payment page opens) would refuse
        # or expire them.
        "RATE_LIMIT_CHECKOUT_PER_IP": "1000000/minute", "RATE_LIMIT_CHECKOUT_PER_EMAIL": "1000000/minute",
        "RATE_LIMIT_CHECKOUT_PER_CAMPAIGN_IP": "1000000/minute", "ORDER_MAX_UNPAID_PER_IP": "1000000",
        "ORDER_MAX_UNPAID_PER_EMAIL": "1000000", "ORDER_MAX_UNPAID_SUPPLY_PERCENT_PER_IP": "100",
        "ORDER_UNPAID_HOLD_SECONDS": "1800",
        "PYTHONUNBUFFERED": "1",  # a child's log is complete when it is read after a failure
    }


def child_env(settings: dict[str, str]) -> dict[str, str]:
    """This environment without any of Primsell's settings (keys, URLs, tuning), plus the bench's own."""
    from backend.settings import Settings

    ours = {(f.alias or name).upper() for name, f in Settings.model_fields.items()}
    env = {k: v for k, v in os.environ.items() if k.upper() not in ours and not k.upper().startswith("GRANIAN_")}
    env.update(settings)
    return env


@dataclass
class System:
    """The processes this run started (none with --url) and where their output goes."""

    tmp: Path
    log: Path
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    anvil: Any = None
    database_url: str = ""  # the scratch database this run made, dropped by stop()
    failed: bool = True  # until a run ends settled, with nothing lost or minted twice

    def spawn(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.children.append(child)
        return child

    def check_alive(self) -> None:
        for child in self.children:
            if child.poll() is not None:
                raise SystemExit(f"{' '.join(map(str, child.args[1:4]))} exited with code {child.returncode}")

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)
        if self.anvil is not None:
            self.anvil.stop()
        if self.database_url:
            drop_scratch_database(self.database_url, SCRATCH_DB)


def start_system(args: argparse.Namespace, system: System) -> str:
    """anvil, a migrated fresh database, granian and the job runner; returns the app's URL."""
    from backend.chain.anvil import free_port, start_anvil

    database_url = system.database_url = fresh_database(args.database_url, SCRATCH_DB, system.tmp)
    system.anvil = start_anvil()
    if args.anvil_nice:
        os.setpriority(os.PRIO_PROCESS, system.anvil.process.pid, args.anvil_nice)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = bench_settings(database_url, system.tmp, url, system.anvil.url)
    env = child_env(settings)
    os.environ.clear()  # this process writes the orders and reads the counts with the same settings
    os.environ.update(env)
    with system.log.open("ab") as out:
        subprocess.run([sys.executable, "-m", "backend", "migrate"], cwd=ROOT, env=env, check=True, stdout=out,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    system.spawn([sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1",
                  "--port", str(port), "--workers", str(args.workers), "--log-level", "warning", "--no-access-log",
                  "bench.webhooks:bench_app"], env)
    system.spawn([sys.executable, "-m", "jobs", "--only", ",".join(RUNNER_DAEMONS), "--every", "1"], env)
    return url


def use_running_app(args: argparse.Namespace) -> str:
    """--url: this process talks to the app's database and chain; it only ever creates sandbox sessions."""
    if args.workers != 1:
        raise SystemExit("--workers only applies to the app this bench starts, not with --url")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("--url needs the running app's database: pass --database-url (or set DATABASE_URL); the "
                         "bench writes its campaign and orders there and reads its counts from there")
    os.environ.update(PAYMENTS_PROVIDER="sandbox", STRIPE_API_KEY="")
    return args.url.rstrip("/")


def wait_ready(url: str, system: System, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        system.check_alive()
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the app at {url} did not come up")


# -- the bench's own campaign and orders -------------------------------------------------------------------------

@dataclass(frozen=True)
class BenchOrder:
    id: int
    wallet: str
    quantity: int
    session_id: str


def create_campaign(n: int) -> tuple[int, str, str]:
    """A brand, its admin and a published campaign under slugs unique to this run, and its deploy requested;
    returns (campaign id, slug, chain)."""
    from backend.auth.acl import Role
    from backend.auth.models import Membership
    from backend.auth.service import create_user, load_actor
    from backend.brands.models import Brand
    from backend.campaigns.models import Campaign, CampaignStatus
    from backend.chain.deployments import request_deploy
    from backend.db import session_scope
    from backend.settings import get_settings

    run = secrets.token_hex(4)
    with session_scope() as session:
        brand = Brand(slug=f"bench-{run}", name=f"Bench {run}")
        session.add(brand)
        session.flush()
        user = create_user(session, f"bench-admin-{run}@bench.example", None)
        session.add(Membership(user_id=user.id, brand_id=brand.id, role=Role.BRAND_ADMIN))  # type: ignore[arg-type]
        campaign = Campaign(brand_id=brand.id, slug=f"bench-drop-{run}", name=f"Bench drop {run}",  # type: ignore[arg-type]
                            price_minor=1500, currency="USD", supply_cap=n + 10, per_wallet_cap=0,
                            status=CampaignStatus.PUBLISHED, chain=get_settings().chain_key)
        session.add(campaign)
        session.flush()
        actor = load_actor(session, user)
        ids = (campaign.id, campaign.slug, campaign.chain)
    request_deploy(actor, ids[0])  # type: ignore[arg-type]
    return ids  # type: ignore[return-value]


def wait_deployed(campaign_id: int, system: System, timeout: float) -> str:
    """The campaign's contract address once the runner's contract_deployer and tx_monitor deployed it."""
    from sqlalchemy import select

    from backend.chain.models import ContractDeployment
    from backend.db import session_scope
    from backend.workflow.machines import ContractState

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        system.check_alive()
        with session_scope() as session:
            row = session.execute(select(ContractDeployment.state, ContractDeployment.contract_address,
                                         ContractDeployment.error)
                                  .where(ContractDeployment.campaign_id == campaign_id)).one()
        if row[0] == ContractState.DEPLOYED:
            return str(row[1])
        if row[0] == ContractState.FAILED:
            raise SystemExit(f"the bench campaign's contract failed to deploy: {row[2]}")
        time.sleep(0.2)
    raise SystemExit(f"the bench campaign's contract was not deployed within {timeout:.0f} s: is a job runner with "
                     "contract_deployer and tx_monitor running on this database and chain?")


def make_orders(campaign_slug: str, n: int) -> list[BenchOrder]:
    """N orders awaiting payment (through the real start_checkout), each to its own random wallet, their sandbox
    sessions marked paid."""
    from eth_utils import to_checksum_address
    from sqlalchemy import select, update

    from backend.db import session_scope
    from backend.orders import service
    from backend.orders.models import Order
    from backend.payments.models import SandboxSession

    run = secrets.token_hex(4)

    def one(i: int) -> str:
        wallet = to_checksum_address("0x" + secrets.token_hex(20))
        return service.start_checkout(campaign_slug, 1, f"buyer{i}.{run}@bench.example", wallet,
                                      "127.0.0.1").public_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        public_ids = list(pool.map(one, range(n)))
    with session_scope() as session:
        rows = session.execute(select(Order.id, Order.wallet_address, Order.quantity, Order.payment_session_id)
                               .where(Order.public_id.in_(public_ids))).all()  # type: ignore[attr-defined]
        orders = [BenchOrder(r[0], to_checksum_address(r[1]), r[2], r[3]) for r in rows]
        ours = SandboxSession.id.in_([o.session_id for o in orders])  # type: ignore[union-attr]
        session.execute(update(SandboxSession).where(ours).values(status="complete", payment_status="paid"))
    if len(orders) != n or len({o.wallet for o in orders}) != n:
        raise SystemExit(f"expected {n} bench orders with distinct wallets, found {len(orders)}")
    return orders


def completion_bodies(orders: list[BenchOrder]) -> dict[int, bytes]:
    """order id -> the body of its checkout.session.completed event (a redelivery sends the same bytes)."""
    from sqlalchemy import select

    from backend.db import session_scope
    from backend.payments import sandbox
    from backend.payments.models import SandboxSession

    order_of = {o.session_id: o.id for o in orders}
    with session_scope() as session:
        wanted = SandboxSession.id.in_(list(order_of))  # type: ignore[union-attr]
        rows = session.execute(select(SandboxSession).where(wanted)).scalars().all()
        events = {order_of[r.id]: sandbox.build_event("checkout.session.completed", sandbox.session_event_object(r))
                  for r in rows}
    return {order_id: json.dumps(e, separators=(",", ":")).encode() for order_id, e in events.items()}


def warm_up_event(i: int) -> dict[str, object]:
    from backend.payments import sandbox

    return sandbox.build_event("bench.warm_up", {"id": f"warm_{i}", "object": "bench"})


# -- the load ----------------------------------------------------------------------------------------------------

async def post_all(urls: str | list[str], bodies: list[bytes], concurrency: int) -> tuple[list[float], list[int]]:
    """POST each body to /api/stripe/webhook, signed just before it goes, over `concurrency` keep-alive connections
    (spread in turn over `urls` when given several web processes); returns the latencies and each body's HTTP
    status (0: no answer: refused, reset, or nothing within 30 s).

    The load generator shares the machine's two cores with the servers it measures, so it is as lean as Python
    allows: one event loop (uvloop when the caller runs it, see `send_all`), a bare asyncio protocol per connection
    that writes a prepared HTTP/1.1 request and reads only the status line and the body's length. Against a trivial
    server (2026-12-07), aiohttp's client spent 290 us of CPU per request and this one 59 us; a web process spends
    about 800 us on a delivery, so aiohttp took a third of that from the servers being measured on these two cores.
    One request at a time per connection, as Stripe's senders do."""
    from backend.payments.signing import sign

    loop = asyncio.get_running_loop()
    pending = iter(enumerate(bodies))
    latencies: list[float] = []
    statuses = [0] * len(bodies)

    async def connection(url: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        head = f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        open_connection: _Response | None = None
        for i, body in pending:
            request = (f"{head}Stripe-Signature: {sign(body)}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
            started = time.perf_counter()
            status = 0
            try:
                if open_connection is None or open_connection.closed:
                    _, open_connection = await loop.create_connection(_Response, host, int(port))
                status = await open_connection.send(request, REQUEST_TIMEOUT_S)
            except OSError:
                pass
            if status == 0 and open_connection is not None:
                open_connection.abort()
                open_connection = None
            statuses[i] = status
            latencies.append(time.perf_counter() - started)
        if open_connection is not None:
            open_connection.abort()

    urls = [urls] if isinstance(urls, str) else urls
    await asyncio.gather(*(connection(urls[i % len(urls)]) for i in range(concurrency)))
    return latencies, statuses


def send_all(urls: str | list[str], bodies: list[bytes], concurrency: int) -> tuple[list[float], list[int]]:
    """`post_all` on a uvloop event loop (the cheapest Python has; a dependency of the web server already)."""
    import uvloop

    return uvloop.run(post_all(urls, bodies, concurrency))


WEBHOOK_PATH = "/api/stripe/webhook"
REQUEST_TIMEOUT_S = 30.0


class _Response(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time: `send` writes a prepared request and resolves
    to the answer's status once its whole body has arrived (by Content-Length, or a chunked body's last chunk),
    or to 0 when the connection is lost or the timeout passes first."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    async def send(self, request: bytes, timeout: float) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        timer = asyncio.get_running_loop().call_later(timeout, self._answer, 0)
        self.transport.write(request)
        try:
            return await self.waiter
        finally:
            timer.cancel()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            answer = _complete_answer(self.buffer)
        except ValueError:  # not HTTP: no answer, and the connection is not used again
            self.abort()
            self._answer(0)
            return
        if answer is not None:
            status, used, keep_alive = answer
            del self.buffer[:used]
            self.closed = self.closed or not keep_alive
            self._answer(status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._answer(0)

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _answer(self, status: int) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(status)


def _complete_answer(buffer: bytearray) -> tuple[int, int, bool] | None:
    """(status, bytes it takes, keep-alive) once `buffer` holds a whole HTTP/1.1 answer; None until then."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    if not head.startswith(b"http/1."):
        raise ValueError("not an HTTP/1.x answer")
    status = int(head[9:12])
    keep_alive = b"\r\nconnection: close" not in head
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        line_end = head.find(b"\r\n", at + 2)
        total = end + 4 + int(head[at + 17:line_end if line_end >= 0 else len(head)])
        return (status, total, keep_alive) if len(buffer) >= total else None
    if b"\r\ntransfer-encoding: chunked" in head:
        last = buffer.find(b"0\r\n\r\n", end + 4)
        if last >= 0 and (last == end + 4 or buffer[last - 2:last] == b"\r\n"):
            return status, last + 5, keep_alive
        return None
    return status, end + 4, False  # no length: the body runs to the close, which this client does not wait for


# -- settling and counting ---------------------------------------------------------------------------------------

def wait_settled(campaign_id: int, acknowledged: set[int], system: System, timeout: float) -> bool:
    """True once every acknowledged completion has paid its order, every paid order's mint has an outcome
    (fulfilled or refunded), and none of the campaign's mint requests or transactions is still open; False at
    the timeout."""
    from sqlalchemy import func, select

    from backend.chain.models import CHAIN_TX, ChainTransaction, MintRequest, MintStatus
    from backend.db import session_scope
    from backend.orders.models import Order
    from backend.workflow.machines import OrderState

    done = (OrderState.FULFILLED, OrderState.REFUNDED)
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            orders = session.execute(select(Order.id, Order.paid_at, Order.state)
                                     .where(Order.campaign_id == campaign_id)).all()
            open_mints = session.execute(select(func.count()).where(
                MintRequest.campaign_id == campaign_id,
                MintRequest.status.in_([MintStatus.PENDING, MintStatus.SUBMITTED]))).scalar_one()  # type: ignore[attr-defined]
            open_txs = session.execute(select(func.count()).where(
                ChainTransaction.campaign_id == campaign_id,
                ChainTransaction.state.not_in(list(CHAIN_TX.final)))).scalar_one()  # type: ignore[attr-defined]
        unpaid = sum(1 for oid, paid_at, _ in orders if oid in acknowledged and paid_at is None)
        unsettled = sum(1 for _, paid_at, state in orders if paid_at is not None and state not in done)
        if unpaid == 0 and unsettled == 0 and open_mints == 0 and open_txs == 0:
            return True
        if time.monotonic() > deadline:
            print(f"# not settled after {timeout:.0f} s: {unpaid} acknowledged but unpaid, {unsettled} paid without "
                  f"a mint outcome, {open_mints} open mint requests, {open_txs} open transactions")
            return False
        if system.children:
            system.check_alive()
        time.sleep(0.25)


@dataclass
class Outcome:
    orders_paid: int
    mints: int
    total_supply: int
    duplicate_mints: int
    lost: int
    fulfilled: int
    refunded: int
    token_mismatch: int  # orders whose recorded token ids differ from what the chain gave their wallet


def count_outcome(campaign_id: int, chain: str, contract: str, acknowledged: set[int],
                  first_failed: set[int]) -> Outcome:
    """The orders' rows against the chain's Transfer events from the zero address, wallet by wallet."""
    from eth_utils import to_checksum_address
    from sqlalchemy import select

    from backend.chain.client import get_web3
    from backend.chain.common import COLLECTION
    from backend.db import session_scope
    from backend.orders.models import Order
    from backend.workflow.machines import OrderState
    from contracts.artifacts import load_artifact

    with session_scope() as session:
        orders = session.execute(select(Order.id, Order.wallet_address, Order.quantity, Order.paid_at, Order.state,
                                        Order.token_ids).where(Order.campaign_id == campaign_id)).all()
    w3 = get_web3(chain)
    collection = w3.eth.contract(address=to_checksum_address(contract), abi=load_artifact(COLLECTION)["abi"])
    minted = collection.events.Transfer().get_logs(from_block=0, to_block="latest", argument_filters={"from": ZERO})
    on_chain: dict[str, set[int]] = defaultdict(set)
    for log in minted:
        on_chain[to_checksum_address(log["args"]["to"])].add(int(log["args"]["tokenId"]))
    asked: Counter[str] = Counter()
    for _, wallet, quantity, paid_at, _, _ in orders:
        if paid_at is not None:
            asked[to_checksum_address(wallet)] += quantity
    duplicates = sum(max(0, len(tokens) - asked[wallet]) for wallet, tokens in on_chain.items())
    lost = set(first_failed)
    mismatch = 0
    for order_id, wallet, quantity, paid_at, _, token_ids in orders:
        tokens = on_chain.get(to_checksum_address(wallet), set())
        if order_id in acknowledged and (paid_at is None or len(tokens) < quantity):
            lost.add(order_id)
        if tokens and {int(t) for t in token_ids} != tokens:
            mismatch += 1
    return Outcome(
        orders_paid=sum(1 for o in orders if o[3] is not None), mints=len(minted),
        total_supply=int(collection.functions.totalSupply().call()), duplicate_mints=duplicates, lost=len(lost),
        fulfilled=sum(1 for o in orders if o[4] == OrderState.FULFILLED),
        refunded=sum(1 for o in orders if o[4] == OrderState.REFUNDED), token_mismatch=mismatch,
    )


# -- the run -----------------------------------------------------------------------------------------------------

def run(args: argparse.Namespace, system: System) -> list[str]:
    """The whole bench; returns the lines to print (the metrics line last)."""
    url = start_system(args, system) if args.url is None else use_running_app(args)
    wait_ready(url, system)
    campaign_id, slug, chain = create_campaign(args.n)
    contract = wait_deployed(campaign_id, system, args.deploy_timeout)  # checkout sells deployed collections only
    orders = make_orders(slug, args.n)
    bodies = completion_bodies(orders)
    rng = random.Random(5)
    sends = [o.id for o in orders] + rng.sample([o.id for o in orders], int(len(orders) * args.duplicates))
    rng.shuffle(sends)
    workers = args.workers if args.url is None else 1
    warm = [json.dumps(warm_up_event(i), separators=(",", ":")).encode() for i in range(8 * workers)]
    _, warm_statuses = send_all(url, warm, args.concurrency)  # warm-up, not timed
    if any(s != 200 for s in warm_statuses):
        raise SystemExit("the warm-up webhooks were not acknowledged (HTTP status: count): "
                         f"{dict(Counter(warm_statuses))}; with --url, is STRIPE_WEBHOOK_SECRET the app's?")
    gc.collect()  # the client's own full collections would show up as server latency
    gc.freeze()
    began = time.perf_counter()
    latencies, statuses = send_all(url, [bodies[order_id] for order_id in sends], args.concurrency)
    wall = time.perf_counter() - began

    acknowledged, first_failed, seen = set(), set(), set()
    errors = 0  # non-200 answers to redeliveries
    for order_id, status in zip(sends, statuses, strict=True):
        first = order_id not in seen
        seen.add(order_id)
        if status == 200:
            acknowledged.add(order_id)
        elif first:
            first_failed.add(order_id)
        else:
            errors += 1
    settle_began = time.perf_counter()
    settled = wait_settled(campaign_id, acknowledged, system, args.settle_timeout)
    settle_s = time.perf_counter() - settle_began
    outcome = count_outcome(campaign_id, chain, contract, acknowledged, first_failed)

    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    from sqlalchemy.engine import make_url

    from backend.settings import get_settings

    backend = make_url(get_settings().effective_database_url).get_backend_name()
    lines = [
        f"# backend={backend} granian_workers={args.workers if args.url is None else '?'} "
        f"concurrency={args.concurrency} sent={len(sends)} unique={len(bodies)} wall_s={wall:.2f} "
        f"settled={'yes' if settled else 'NO'} settle_s={settle_s:.1f} campaign={slug} contract={contract}",
        f"# chain: total_supply={outcome.total_supply} fulfilled={outcome.fulfilled} refunded={outcome.refunded} "
        f"token_mismatch={outcome.token_mismatch} non_200_first={len(first_failed)}",
        f"errors={errors}",
        f"webhooks_per_s={len(sends) / wall:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} orders_paid={outcome.orders_paid} "
        f"mints={outcome.mints} duplicate_mints={outcome.duplicate_mints} lost={outcome.lost}",
    ]
    system.failed = not settled or outcome.lost > 0 or outcome.duplicate_mints > 0 or errors > 0 \
        or outcome.total_supply != outcome.mints or outcome.token_mismatch > 0
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duplicates", type=float, default=0.3)
    parser.add_argument("--database-url", default=None, help="without --url: the database server to use (SQLite: "
                        "that file; PostgreSQL: a scratch database there); with --url: the running app's database")
    parser.add_argument("--url", default=None, help="a running app with its job runner (see above)")
    parser.add_argument("--workers", type=int, default=1, help="ASGI worker processes of the started app")
    parser.add_argument("--anvil-nice", type=int, default=10, help="CPU niceness of the started anvil (0: as is)")
    parser.add_argument("--deploy-timeout", type=float, default=120)
    parser.add_argument("--settle-timeout", type=float, default=600, help="ceiling in seconds; the wait ends "
                        "as soon as the workflow settles (the relay, not the chain, sets its pace)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="primsell-bench-webhooks-"))
    system = System(tmp=tmp, log=tmp / "children.log")
    lines: list[str] = []
    try:
        lines = run(args, system)
    finally:
        system.stop()  # before printing: nothing of the children's may follow the metrics line
        if system.failed and system.children:
            print(f"# the started processes' output: {system.log}", flush=True)
    if not system.failed or not system.children:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(lines), flush=True)
    return 1 if system.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
