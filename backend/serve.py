"""`python -m backend serve`: migrate, load demo data, print the demo credentials, then run Primsell.

Runs its child processes and stops them all when one ends or on Ctrl-C / SIGTERM:
- a local anvil node on 127.0.0.1:8545, the embedded default chain (only when no CHAIN_RPC_URL is set;
  its state is kept in var/anvil.json so deployed contracts survive a restart, like the database); with the demo,
  a few real Seaport sales of the demo collection are made on it before the app starts (backend.demo);
- the web app: Reflex in production mode, one port for the pages, the websocket and the HTTP API;
- the job runner (`python -m jobs`): the daemons, each behind its DB-row lease.

Development listens on 127.0.0.1 only: `--host 0.0.0.0` is refused there unless `--allow-remote-dev` (or
PRIMSELL_DEV_ALLOW_REMOTE=1) says so. The web process never gets CUSTODY_SEED; only the job runner does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from backend.exposure import check_bind_host, default_bind_host
from backend.settings import PROJECT_ROOT, get_settings
from backend.toolchain import toolchain_env


def reflex_command(port: int, *, dev: bool = False, host: str | None = None) -> list[str]:
    reflex = [sys.executable, "-m", "reflex", "run", "--loglevel", "warning"]
    if host:
        reflex += ["--backend-host", host]
    if dev:
        return [*reflex, "--env", "dev", "--frontend-port", str(port), "--backend-port", str(port + 5000)]
    return [*reflex, "--env", "prod", "--single-port", "--frontend-port", str(port), "--backend-port", str(port)]


def jobs_command() -> list[str]:
    return [sys.executable, "-m", "jobs"]


def _banner(port: int, demo: bool) -> str:
    from backend.demo import credentials_text

    settings = get_settings()
    base = f"http://localhost:{port}"
    lines = [f"\nPrimsell is starting on {base}  (surfaces: {', '.join(settings.surfaces)})"]
    links = {
        "admin": f"{base}/admin",
        "checkout": f"{base}/c/aurora-founders",
        "redeem": f"{base}/redeem",
        "kyc": f"{base}/kyc",
    }
    lines += [f"  {name:<9} {url}" for name, url in links.items() if settings.serves(name)]
    lines.append(f"  {'API docs':<9} {base}/api/docs")
    if demo:
        lines.append(credentials_text())
    return "\n".join(lines) + "\n"


def _start_local_chain() -> object | None:
    """Start anvil for the embedded "local" chain unless a node already answers there; None if not ours to run."""
    from backend.chain import anvil
    from backend.chain.config import LOCAL_CHAIN, LOCAL_RPC_URL

    settings = get_settings()
    if settings.chain_key != LOCAL_CHAIN or settings.chain_rpc_url:
        return None
    if anvil.node_answers(LOCAL_RPC_URL):
        print(f"Using the chain node already running at {LOCAL_RPC_URL}")
        return None
    port = int(LOCAL_RPC_URL.rsplit(":", 1)[1])
    node = anvil.start_anvil(port, state_path=settings.data_dir / "anvil.json")
    print(f"Local chain (anvil) running at {node.url}")
    return node


def allow_remote_dev() -> None:
    """`--allow-remote-dev`: the same as PRIMSELL_DEV_ALLOW_REMOTE=1, for this process and its children."""
    os.environ["PRIMSELL_DEV_ALLOW_REMOTE"] = "1"
    get_settings.cache_clear()


def _seed_demo_sales() -> None:
    """The demo's Seaport sales on the local chain (the indexer daemon then finds them). A failure here is reported
    and the app starts anyway: the sales are a demo nicety, not something the app needs."""
    from backend.demo import seed_demo_sales

    try:
        result = seed_demo_sales()
    except Exception as exc:  # noqa: BLE001  (reported; make run goes on)
        print(f"Demo sales skipped: {type(exc).__name__}: {exc}", flush=True)
        return
    if result.skipped:
        print(f"Demo sales skipped: {result.skipped}", flush=True)
    else:
        print(f"Demo Seaport at {result.seaport}: {result.made} new demo sale(s) for the chain indexer", flush=True)


def serve(*, port: int = 3000, demo: bool = True, dev: bool = False, jobs: bool = True,
          host: str | None = None) -> int:
    from backend.demo import request_demo_deploys, seed_demo
    from backend.migrate import upgrade

    host = host or default_bind_host()
    check_bind_host(host)  # before anything starts
    upgrade()
    if demo:
        seed_demo()
        request_demo_deploys()
    print(_banner(port, demo), flush=True)
    chain = _start_local_chain()
    if demo:
        _seed_demo_sales()
    try:
        return _run_children(port, dev=dev, jobs=jobs, host=host)
    finally:
        if chain is not None:
            chain.stop()  # type: ignore[attr-defined]


def web_env(env: dict[str, str]) -> dict[str, str]:
    """The web process's environment: no CUSTODY_SEED (an empty value also hides one in .env); it shows custodial
    addresses from CUSTODY_XPUB, which `_run_children` gives both children (derived here from the seed if unset)."""
    return {**env, "CUSTODY_SEED": ""}


def _run_children(port: int, *, dev: bool, jobs: bool, host: str) -> int:
    env = toolchain_env()
    # The web app only accepts its own origin (CORS and websocket): by default that is this port on localhost.
    if not get_settings().model_fields_set & {"public_url"}:
        env["PRIMSELL_PUBLIC_URL"] = f"http://localhost:{port}"
    env["CUSTODY_XPUB"] = get_settings().custody_xpub  # the runner checks its seed against it
    children = [subprocess.Popen(reflex_command(port, dev=dev, host=host), cwd=PROJECT_ROOT, env=web_env(env))]
    if jobs:
        children.append(subprocess.Popen(jobs_command(), cwd=PROJECT_ROOT, env=env))

    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # When one child ends, stop the other: a half-running Primsell is worse than a stopped one.
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    if not stopping:
        _stop(signal.SIGTERM, None)
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return max(child.returncode or 0 for child in children)
