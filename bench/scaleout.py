"""Scale-out: the webhook storm against one web process, then against two, in one run, on the topology of
docs/DEPLOY.md: two web processes (Reflex in production mode, as `python -m backend serve` runs it, one port each,
Redis as their state manager and rate-limit store) behind a load balancer, two job runners (`python -m jobs`), one
PostgreSQL, one Redis, and anvil as the chain.

Usage: python bench/scaleout.py [-n 600] [--concurrency 32] [--runners-live] [--database-url postgresql+psycopg://...]
                                [--redis-url redis://127.0.0.1:6379/0]

PostgreSQL only (a scratch database `primsell_bench_webhooks_<pid>` is made on the given server and dropped at the
end): processes on several machines cannot share SQLite. Each phase has its own campaign and N orders whose
completion events (+30% duplicates, shuffled) are posted concurrently, as bench/webhooks.py does (the orders, the
signing, the settling and the counting on the chain are that bench's). The one-process phase posts to web process 1
only; the two-process phase spreads its connections over both, in turn, as a round-robin balancer would: the
storm does not go through this bench's own balancer (a Python TCP proxy on the same two cores would be measured with
the servers), which serves what a browser and the sandbox's webhook reach (PRIMSELL_PUBLIC_URL, REFLEX_API_URL).
Each web process runs one granian worker (GRANIAN_WORKERS=1: Reflex would start 2 x cores + 1 with Redis), so the
two-process figure is what a second process adds; on a 2-core machine PostgreSQL, anvil and this load generator
share the cores with them, so the ratio, not the absolute, is the figure to compare. The runners are paused for the
seconds of each storm (--runners-live keeps them running) and drain it afterwards. Each storm prints the cores every
role used meanwhile (`cpu_seconds_by_role`), and the run prints the ceiling: the machine's cores over the two-process
storm's CPU per webhook, the most two processes could take in were every core busy, as a multiple of one process.

Counted after each phase settles: duplicate_mints and lost as in bench/webhooks.py, summed over both phases; the
job_run table must show every daemon run by one runner at a time (overlaps=0 on the line before the last).
Last line: webhooks_per_s=<two processes> one_process_webhooks_per_s=<n> p99_ms=<n> duplicate_mints=<n> lost=<n>
(p99_ms: the two-process phase's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import fresh_database  # noqa: E402
from bench.webhooks import (  # noqa: E402
    RUNNER_DAEMONS,
    SCRATCH_DB,
    System,
    bench_settings,
    child_env,
    completion_bodies,
    count_outcome,
    create_campaign,
    make_orders,
    send_all,
    wait_deployed,
    wait_settled,
    warm_up_event,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
WEB_STARTUP_TIMEOUT_S = 300  # the first production build installs the frontend packages


class Balancer:
    """A round-robin TCP load balancer on 127.0.0.1, connection by connection (HAProxy's `mode tcp`, `balance
    roundrobin`), in a thread of this process. Websockets pass through it untouched. `send_to` changes the
    backends while it runs; `drop_connections` closes every proxied connection (a backend taken out of rotation)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = list(ports)
        self.port = 0
        self._turn = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="balancer", daemon=True)

    def start(self) -> str:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the balancer did not start")
        return f"http://127.0.0.1:{self.port}"

    def send_to(self, ports: list[int]) -> None:
        self._loop.call_soon_threadsafe(setattr, self, "ports", list(ports))

    def drop_connections(self) -> None:
        def drop() -> None:
            for writer in list(self._writers):
                writer.close()

        self._loop.call_soon_threadsafe(drop)

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
            self.drop_connections()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = self.ports[self._turn % len(self.ports)]
        self._turn += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))


@dataclass
class Topology(System):
    """The scale-out deployment on this machine: `web` Reflex processes and `runners` job runners on one PostgreSQL
    database, one Redis and one anvil node, and a balancer in front of the web processes."""

    web_urls: list[str] = field(default_factory=list)
    web_ports: list[int] = field(default_factory=list)
    runner_processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    balancer: Balancer | None = None
    public_url: str = ""

    def start(self, database_url: str, redis_url: str, *, web: int = 2, runners: int = 2,
              extra_settings: dict[str, str] | None = None) -> None:
        from backend.chain.anvil import free_port, start_anvil
        from backend.serve import jobs_command, reflex_command, web_env
        from backend.toolchain import toolchain_env

        if not database_url.startswith("postgresql"):
            raise SystemExit("the scale-out topology needs PostgreSQL (--database-url postgresql+psycopg://...): "
                             "processes on several machines cannot share SQLite")
        self.database_url = fresh_database(database_url, SCRATCH_DB, self.tmp)
        self.anvil = start_anvil()
        self.web_ports = [free_port() for _ in range(web)]
        self.web_urls = [f"http://127.0.0.1:{port}" for port in self.web_ports]
        self.balancer = Balancer(self.web_ports)
        self.public_url = self.balancer.start()
        settings = bench_settings(self.database_url, self.tmp, self.public_url, self.anvil.url)
        settings.update(
            REDIS_URL=redis_url,
            # Every web process builds its pages for the balancer's address: the page's websocket goes there.
            REFLEX_API_URL=self.public_url,
            GRANIAN_WORKERS="1",
            RATE_LIMIT_PUBLIC_PER_IP="1000000/minute",
            **(extra_settings or {}),
        )
        env = toolchain_env(child_env(settings))
        os.environ.clear()  # this process writes the orders and reads the counts with the same settings
        os.environ.update(env)
        from backend import db
        from backend.auth.ratelimit import get_rate_limiter
        from backend.chain.client import reset_clients
        from backend.settings import get_settings

        get_settings.cache_clear()
        get_rate_limiter.cache_clear()
        reset_clients()  # a client built earlier in this process would still talk to the old chain node
        db.set_engine(None)
        with self.log.open("ab") as out:  # migrates and generates the shared development secrets, once
            subprocess.run([sys.executable, "-m", "backend", "migrate"], cwd=ROOT, env=env, check=True, stdout=out,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        env["CUSTODY_XPUB"] = get_settings().custody_xpub  # as `python -m backend serve` gives its children
        # The web processes build their pages (for the balancer's address) in a copy of the project's .web, so a
        # Primsell served from this checkout meanwhile (the browser tests' app) keeps its own build; each keeps its
        # state files apart (Reflex deletes its .states files at start-up: two at once in one folder race).
        web_dir = self.tmp / "web"
        if (ROOT / ".web").is_dir() and not web_dir.exists():
            shutil.copytree(ROOT / ".web", web_dir, symlinks=True,  # without its own build (packages keep theirs)
                            ignore=lambda folder, _: ["build"] if Path(folder) == ROOT / ".web" else [])
        for port in self.web_ports:  # they build the pages one after the other (Reflex locks .web)
            self.spawn(reflex_command(port), web_env(env) | {"REFLEX_WEB_WORKDIR": str(web_dir),
                                                             "REFLEX_STATES_WORKDIR": str(self.tmp / f"states-{port}")})
        for _ in range(runners):
            self.runner_processes.append(
                self.spawn([*jobs_command(), "--only", ",".join(RUNNER_DAEMONS), "--every", "1"], env))
        for url in self.web_urls:
            wait_web_ready(url, self, WEB_STARTUP_TIMEOUT_S)

    def stop(self) -> None:
        super().stop()
        if self.balancer is not None:
            self.balancer.stop()


def wait_web_ready(url: str, system: System, timeout: float) -> None:
    """Until the process serves its health check and its pages."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        system.check_alive()
        try:
            if httpx.get(f"{url}/api/health", timeout=5).status_code == 200 and \
                    "<html" in httpx.get(f"{url}/", timeout=10).text.lower():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the web process at {url} did not come up within {timeout:.0f} s")


# -- where the CPU goes ------------------------------------------------------------------------------------------

CPU_ROLES = ("web", "postgres", "runners", "load", "chain", "redis", "other")


def cpu_seconds_by_role() -> Counter[str]:
    """CPU seconds used so far (user + system) by every live process of the machine, summed by its role in the
    topology: the web processes (Reflex and its granian worker), PostgreSQL's backends, the job runners, this
    process (the load generator), anvil, Redis, and the rest. Two readings around a storm give its CPU split."""
    ticks = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    used: Counter[str] = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it ended meanwhile
        fields = stat[stat.rindex(")") + 2:].split()  # after the command name, which may hold spaces
        seconds = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        used[_role(int(entry.name), me, command)] += seconds
    return used


def _role(pid: int, me: int, command: str) -> str:
    if pid == me:
        return "load"
    if command.startswith("postgres"):
        return "postgres"
    if " -m jobs" in command:
        return "runners"
    if "reflex run" in command or "granian" in command:
        return "web"
    if "anvil" in command:
        return "chain"
    if "redis-server" in command:
        return "redis"
    return "other"


def cpu_used(before: Counter[str], after: Counter[str]) -> dict[str, float]:
    """CPU seconds each role used between two readings (a process that ended meanwhile takes its seconds along)."""
    return {role: max(0.0, after[role] - before[role]) for role in CPU_ROLES}


def cpu_split(used: dict[str, float], wall: float) -> str:
    """Cores used by each role over `wall` seconds."""
    return " ".join(f"{role}={seconds / wall:.2f}" for role, seconds in used.items())


# -- the storm ---------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def paused(processes: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """The processes stopped (SIGSTOP) for the block and continued after it. The storm measures what the web tier
    takes in: in the deployment the runners have machines of their own, and here their relaying, minting and
    database work would share the two cores with the web processes being compared. A runner paused for the seconds
    of a storm keeps its leases (60 s), and drains the storm's events once continued."""
    for process in processes:
        process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGCONT)


@dataclass
class Phase:
    webhooks_per_s: float
    p99_ms: float
    duplicate_mints: int
    lost: int
    errors: int
    settled: bool
    summary: str
    cpu_per_webhook_s: float  # the whole machine's CPU seconds during the storm over the deliveries sent


def storm(urls: list[str], campaign: tuple[int, str, str, str], n: int, args: argparse.Namespace,
          system: Topology) -> Phase:
    """N orders of the campaign paid by their completion events (+duplicates) posted over `urls`; settled and
    counted on the chain."""
    campaign_id, slug, chain, contract = campaign
    orders = make_orders(slug, n)
    bodies = completion_bodies(orders)
    rng = random.Random(5)
    sends = [o.id for o in orders] + rng.sample([o.id for o in orders], int(len(orders) * args.duplicates))
    rng.shuffle(sends)
    warm = [json.dumps(warm_up_event(i), separators=(",", ":")).encode() for i in range(8 * len(urls))]
    _, warm_statuses = send_all(urls, warm, args.concurrency)
    if any(s != 200 for s in warm_statuses):
        raise SystemExit(f"the warm-up webhooks were not acknowledged: {dict(Counter(warm_statuses))}")
    gc.collect()
    gc.freeze()
    with paused(system.runner_processes if not args.runners_live else []):
        cpu_before = cpu_seconds_by_role()
        began = time.perf_counter()
        latencies, statuses = send_all(urls, [bodies[order_id] for order_id in sends], args.concurrency)
        wall = time.perf_counter() - began
        used = cpu_used(cpu_before, cpu_seconds_by_role())
    cores = cpu_split(used, wall)
    cpu_per_webhook = sum(used.values()) / len(sends)
    acknowledged, first_failed, seen = set(), set(), set()
    errors = 0
    for order_id, status in zip(sends, statuses, strict=True):
        first = order_id not in seen
        seen.add(order_id)
        if status == 200:
            acknowledged.add(order_id)
        elif first:
            first_failed.add(order_id)
        else:
            errors += 1
    settled = wait_settled(campaign_id, acknowledged, system, args.settle_timeout)
    outcome = count_outcome(campaign_id, chain, contract, acknowledged, first_failed)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    summary = (f"web_processes={len(urls)} sent={len(sends)} unique={n} wall_s={wall:.2f} "
               f"webhooks_per_s={len(sends) / wall:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
               f"settled={'yes' if settled else 'NO'} orders_paid={outcome.orders_paid} mints={outcome.mints} "
               f"total_supply={outcome.total_supply} duplicate_mints={outcome.duplicate_mints} lost={outcome.lost} "
               f"errors={errors} token_mismatch={outcome.token_mismatch}\n#   cores used: {cores}")
    return Phase(len(sends) / wall, p99, outcome.duplicate_mints, outcome.lost + outcome.token_mismatch, errors,
                 settled and outcome.total_supply == outcome.mints, summary, cpu_per_webhook)


@dataclass
class DaemonRuns:
    runs: int
    holders: int  # distinct runners that ran any daemon
    overlaps: int  # runs of one daemon that started before its previous run finished


def daemon_runs() -> DaemonRuns:
    """From job_run: every daemon's runs, in start order, each started after the one before finished."""
    from sqlalchemy import select

    from backend.db import session_scope
    from backend.operations.models import JobRun

    with session_scope() as session:
        rows = session.execute(select(JobRun.job_name, JobRun.holder, JobRun.started_at, JobRun.finished_at)
                               .order_by(JobRun.job_name, JobRun.started_at, JobRun.id)).all()
    overlaps = 0
    for previous, run in itertools.pairwise(rows):
        if previous[0] == run[0] and (previous[3] is None or run[2] < previous[3]):
            overlaps += 1
    return DaemonRuns(runs=len(rows), holders=len({row[1] for row in rows}), overlaps=overlaps)


# -- the run -----------------------------------------------------------------------------------------------------

def run(args: argparse.Namespace, topology: Topology) -> list[str]:
    topology.start(args.database_url, args.redis_url, web=2, runners=2)
    campaigns = []
    for _ in range(2):  # both deploys are requested first: the runners deploy them meanwhile
        campaigns.append(create_campaign(args.n))
    campaigns = [(cid, slug, chain, wait_deployed(cid, topology, args.deploy_timeout))
                 for cid, slug, chain in campaigns]
    one = storm(topology.web_urls[:1], campaigns[0], args.n, args, topology)
    two = storm(topology.web_urls, campaigns[1], args.n, args, topology)
    runs = daemon_runs()
    cores = os.cpu_count() or 1
    ceiling = cores / two.cpu_per_webhook_s
    topology.failed = not (one.settled and two.settled) or runs.overlaps > 0 or runs.holders < 2 \
        or one.duplicate_mints + two.duplicate_mints + one.lost + two.lost + one.errors + two.errors > 0
    return [
        f"# one process:   {one.summary}",
        f"# two processes: {two.summary}",
        f"# ceiling: {cores} cores / {two.cpu_per_webhook_s * 1e6:.0f} us of CPU per webhook with two processes "
        f"= {ceiling:.0f}/s = {ceiling / one.webhooks_per_s:.2f}x one process, were every core busy",
        f"# ratio={two.webhooks_per_s / one.webhooks_per_s:.2f} (target >= 1.6)",
        f"job_runs={runs.runs} runners={runs.holders} overlaps={runs.overlaps}",
        f"webhooks_per_s={two.webhooks_per_s:.0f} one_process_webhooks_per_s={one.webhooks_per_s:.0f} "
        f"p99_ms={two.p99_ms:.1f} duplicate_mints={one.duplicate_mints + two.duplicate_mints} "
        f"lost={one.lost + two.lost}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=600, help="orders per phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duplicates", type=float, default=0.3)
    parser.add_argument("--runners-live", action="store_true",
                        help="keep the runners running during the storms (default: paused for their seconds)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="a PostgreSQL server (a scratch database is made there)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    parser.add_argument("--deploy-timeout", type=float, default=180)
    parser.add_argument("--settle-timeout", type=float, default=600)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="primsell-bench-scaleout-"))
    topology = Topology(tmp=tmp, log=tmp / "children.log")
    lines: list[str] = []
    try:
        lines = run(args, topology)
    finally:
        topology.stop()
        if topology.failed:
            print(f"# the started processes' output: {topology.log}", flush=True)
    if not topology.failed:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(lines), flush=True)
    return 1 if topology.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
