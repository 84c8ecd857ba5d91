"""Perk redemption under load: N distinct QR codes (one per token) redeemed over HTTP by C concurrent staff clients,
with 10% replays of codes already sent mixed in; then the database is counted.

Usage: python bench/redeem.py [-n 20000] [--concurrency 32] [--workers 1] [--replays 0.1] [--database-url URL]

`--workers N` starts N granian processes of one worker each, on N ports, and spreads the staff clients over them
in turn, as a round-robin load balancer in front of N web processes would. (granian's own `--workers N` share one
listening socket, and the kernel handed the clients' keep-alive connections to its workers unevenly: one run split
the CPU 62/38 and gave 249 redeems/s where the next, evenly split, gave 304/s, with the same code.)

It starts, on a fresh database and data dir, the API in granian (the ASGI server Reflex uses, on create_api(), as
bench/webhooks.py does) and writes the bench's brand, C staff members, a campaign, a perk (once per token, ever) and N
tokens in the indexer's token-owner table. Each client signs in once through the API, then POSTs
/api/v1/rewards/redeem with one code after another. Codes are signed in this process with the server's secret key.

Figures: redeems_per_s = accepted redemptions / wall time of the whole load; p99_ms over every request (replays
included); double_redeems = replayed codes the server accepted + redemption rows beyond one per token (both must be
0); missed (on the line before the last) = distinct codes not redeemed. cpu_us_per_redeem (before those) = CPU time
(user + system, from /proc) over the load per accepted redemption: of the web server's processes, of this database's
PostgreSQL backends (0 on SQLite) and of this client process, as load-independent figures on a shared machine.
Last line: redeems_per_s=<n> p99_ms=<n> double_redeems=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scratch import fresh_database  # noqa: E402
from bench.webhooks import System, bench_app, child_env, wait_ready  # noqa: E402

SCRATCH_DB = "primsell_bench_redeem"
BENCH_KEY = "bench-secret-key-for-primsell-redeem-0123456789abcdef"
PASSWORD = "bench-staff-password-2026"

__all__ = ["bench_app"]  # granian's factory (bench.webhooks:bench_app), re-exported for `bench.redeem:bench_app`


def settings_for(database_url: str, data_dir: Path, public_url: str) -> dict[str, str]:
    unlimited = "1000000/minute"
    return {
        "DATABASE_URL": database_url, "PRIMSELL_DATA_DIR": str(data_dir), "PRIMSELL_ENV": "development",
        "PRIMSELL_PUBLIC_URL": public_url, "PRIMSELL_SECRET_KEY": BENCH_KEY, "SENTRY_DSN": "", "REDIS_URL": "",
        "FX_MODE": "static", "CHAIN_KEY": "local", "CHAIN_ID": "31337",
        # The bench's 32 clients share one IP: the per-IP and per-account API limits would refuse them.
        "RATE_LIMIT_API_PER_IP": unlimited, "RATE_LIMIT_API_PER_ACCOUNT": unlimited,
        "RATE_LIMIT_LOGIN_PER_IP": unlimited, "PYTHONUNBUFFERED": "1",
    }


def start(args: argparse.Namespace, system: System) -> list[str]:
    import subprocess

    from backend.chain.anvil import free_port

    database_url = fresh_database(args.database_url, SCRATCH_DB, system.tmp)
    ports = [free_port() for _ in range(args.workers)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    env = child_env(settings_for(database_url, system.tmp, urls[0]))
    os.environ.clear()  # this process seeds and counts with the same settings
    os.environ.update(env)
    from backend import db
    from backend.settings import get_settings

    get_settings.cache_clear()
    db.set_engine(None)
    with system.log.open("ab") as out:
        subprocess.run([sys.executable, "-m", "backend", "migrate"], cwd=ROOT, env=env, check=True, stdout=out,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    for port in ports:
        system.spawn([sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1",
                      "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log",
                      "bench.redeem:bench_app"], env)
    return urls


def seed(n: int, staff_count: int) -> tuple[list[str], list[str]]:
    """The bench's brand, staff, campaign, perk and N held tokens; returns (staff emails, one code per token)."""
    from eth_utils import to_checksum_address
    from sqlalchemy import insert

    from backend.auth.acl import Role
    from backend.auth.models import Membership
    from backend.auth.service import create_user
    from backend.brands.models import Brand
    from backend.campaigns.models import Campaign, CampaignStatus
    from backend.chain.models import ContractDeployment, TokenOwner
    from backend.db import session_scope, utcnow
    from backend.rewards import codes
    from backend.rewards.models import Reward, RewardKind, UsePeriod
    from backend.workflow.machines import ContractState

    run = secrets.token_hex(4)
    collection = to_checksum_address("0x" + secrets.token_hex(20))
    with session_scope() as session:
        brand = Brand(slug=f"bench-{run}", name=f"Bench {run}")
        session.add(brand)
        session.flush()
        emails = []
        for i in range(staff_count):
            user = create_user(session, f"staff{i}-{run}@bench.example", PASSWORD)
            session.add(Membership(user_id=user.id, brand_id=brand.id, role=Role.BRAND_STAFF))
            emails.append(user.email)
        campaign = Campaign(brand_id=brand.id, slug=f"bench-{run}", name="Bench", price_minor=100,
                            supply_cap=max(n, 1), status=CampaignStatus.PUBLISHED)
        session.add(campaign)
        session.flush()
        session.add(ContractDeployment(campaign_id=campaign.id, chain="local", state=ContractState.DEPLOYED,
                                       contract_address=collection))
        reward = Reward(campaign_id=campaign.id, brand_id=brand.id, kind=RewardKind.PERK, title="Bench perk",
                        use_period=UsePeriod.EVER, uses_per_period=1)
        session.add(reward)
        session.flush()
        holders = [to_checksum_address("0x" + secrets.token_hex(20)) for _ in range(n)]
        now = utcnow()
        for start in range(0, n, 2000):
            session.execute(insert(TokenOwner), [{
                "chain_id": 31337, "collection": collection, "token_id": token, "campaign_id": campaign.id,
                "owner": holders[token - 1], "block_number": 1, "log_index": token, "tx_hash": "0x" + "ab" * 32,
                "updated_at": now} for token in range(start + 1, min(n, start + 2000) + 1)])
        expires = int(time.time()) + 3600  # the load takes a while: the bench's codes outlive it
        batch = [codes.encode(reward.id, token, holders[token - 1], expires) for token in range(1, n + 1)]  # type: ignore[arg-type]
    return emails, batch


def schedule(batch: list[str], replay_share: float, rng: random.Random) -> list[tuple[str, bool]]:
    """Every code once, in random order, plus replays of codes sent at least 200 requests earlier."""
    order = [(code, False) for code in batch]
    rng.shuffle(order)
    replays = int(len(batch) * replay_share)
    for _ in range(replays):
        position = rng.randrange(min(200, len(order)), len(order) + 1)
        earlier = order[rng.randrange(0, max(1, position - 200))]
        order.insert(position, (earlier[0], True))
    return order


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads), in clock ticks; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _backends(include_own: bool = False) -> list[int]:
    """This database's PostgreSQL backends, but the one that asks unless `include_own` (none on SQLite)."""
    from sqlalchemy import text

    from backend.db import get_engine, is_postgresql

    if not is_postgresql():
        return []
    with get_engine().connect() as conn:
        return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND (:own OR pid <> pg_backend_pid())"), {"own": include_own}).scalars())


def _machine_busy_ticks() -> int:
    """Every CPU's busy time so far (all processes, this run's and others'), in clock ticks."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4]  # less idle and iowait


def cpu_sample(server_pids: list[int], *, own_backend: bool = False) -> dict[str, dict[int, int]]:
    """{"web": {pid: ticks}, "db": ..., "client": ..., "machine": {0: ticks}} now."""
    return {"web": {p: _cpu_ticks(p) for server in server_pids for p in _descendants(server)},
            "db": {p: _cpu_ticks(p) for p in _backends(own_backend)}, "client": {os.getpid(): _cpu_ticks(os.getpid())},
            "machine": {0: _machine_busy_ticks()}}


def cpu_used_us(before: dict[str, dict[int, int]], after: dict[str, dict[int, int]]) -> dict[str, float]:
    """CPU µs per group between two samples (a process born in between counts from 0); "others" is what the rest
    of the machine used meanwhile (other people's work on a shared machine), "machine" removed."""
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    used = {group: sum(ticks - before[group].get(pid, 0) for pid, ticks in after[group].items()) * tick_us
            for group in after}
    machine = used.pop("machine", None)
    if machine is not None:
        used["others"] = max(0.0, machine - sum(used.values()))
    return used


async def load(urls: list[str], emails: list[str], work: list[tuple[str, bool]], server_pids: list[int] | None = None
               ) -> tuple[list[float], dict[str, int], int, float, dict[str, float]]:
    """One asyncio loop with aiohttp (as bench/webhooks.py: a thread per client would compete for the GIL with
    the server measured on the same two cores), one connection per staff client, client i on server i mod N."""
    import json

    import aiohttp

    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    replay_accepted = 0
    pending = iter(work)
    async with contextlib.AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(aiohttp.ClientSession(
            url, connector=aiohttp.TCPConnector(limit=len(emails)), timeout=aiohttp.ClientTimeout(total=60)))
            for url in urls]
        clients = []
        for i, email in enumerate(emails):
            http = servers[i % len(servers)]
            async with http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}) as answer:
                answer.raise_for_status()
                clients.append((http, (await answer.json())["access_token"]))
        for http, token in clients:  # warm up: one refused code per client
            async with http.post("/api/v1/rewards/redeem", json={"code": "warm-up"},
                                 headers={"Authorization": f"Bearer {token}"}) as answer:
                await answer.read()

        async def staff(http: aiohttp.ClientSession, token: str) -> None:
            nonlocal replay_accepted
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            for code, replay in pending:
                began = time.perf_counter()
                async with http.post("/api/v1/rewards/redeem", data=json.dumps({"code": code}),
                                     headers=headers) as answer:
                    body = await answer.read()
                latencies.append(time.perf_counter() - began)
                status = json.loads(body).get("status", "?") if answer.status == 200 else f"http_{answer.status}"
                outcomes[status] = outcomes.get(status, 0) + 1
                if replay and status == "redeemed":
                    replay_accepted += 1

        cpu_before = cpu_sample(server_pids) if server_pids else {}
        began = time.perf_counter()
        await asyncio.gather(*(staff(http, token) for http, token in clients))
        elapsed = time.perf_counter() - began
        cpu = cpu_used_us(cpu_before, cpu_sample(server_pids)) if server_pids else {}
    return latencies, outcomes, replay_accepted, elapsed, cpu


def count_rows() -> tuple[int, int]:
    """(redemption rows, distinct tokens redeemed) of the bench's database."""
    from sqlalchemy import distinct, func, select

    from backend.db import session_scope
    from backend.rewards.models import RewardRedemption

    with session_scope() as session:
        rows = session.execute(select(func.count()).select_from(RewardRedemption)).scalar_one()
        tokens = session.execute(select(func.count(distinct(RewardRedemption.token_id)))).scalar_one()
    return rows, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20_000, help="distinct codes (tokens)")
    parser.add_argument("--concurrency", type=int, default=32, help="staff clients at once")
    parser.add_argument("--workers", type=int, default=1, help="web processes (one granian worker each)")
    parser.add_argument("--replays", type=float, default=0.1, help="share of replayed codes mixed in")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (a scratch database is made)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="primsell-bench-redeem-"))
    system = System(tmp=tmp, log=tmp / "bench.log")
    try:
        urls = start(args, system)
        for url in urls:
            wait_ready(url, system)
        emails, batch = seed(args.n, args.concurrency)
        work = schedule(batch, args.replays, random.Random(args.seed))
        print(f"{args.n} codes + {len(work) - args.n} replays, {args.concurrency} staff clients, "
              f"{args.workers} worker(s), {os.environ['DATABASE_URL'].split(':', 1)[0]}", flush=True)
        latencies, outcomes, replay_accepted, elapsed, cpu = asyncio.run(
            load(urls, emails, work, [child.pid for child in system.children]))
        system.check_alive()
        rows, tokens = count_rows()
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        redeemed = outcomes.get("redeemed", 0)
        double = replay_accepted + (rows - tokens)
        if cpu:
            per = max(1, redeemed)
            others = cpu.pop("others")
            print("cpu_us_per_redeem " + " ".join(f"{group}={used / per:.0f}" for group, used in cpu.items())
                  + f" total={sum(cpu.values()) / per:.0f} (other processes on the machine meanwhile: "
                  f"{others / 1e6 / elapsed:.2f} cores)")
        print(f"requests={len(latencies)} elapsed_s={elapsed:.1f} p50_ms={p50:.1f} outcomes="
              + ",".join(f"{k}:{v}" for k, v in sorted(outcomes.items())))
        print(f"redemption_rows={rows} tokens_redeemed={tokens} missed={args.n - tokens}")
        print(f"redeems_per_s={redeemed / elapsed:.0f} p99_ms={p99:.0f} double_redeems={double}")
        system.failed = double != 0 or tokens != args.n
    finally:
        system.stop()
        if system.failed:
            print(f"log kept: {system.log}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if system.failed else 0)


if __name__ == "__main__":
    main()
