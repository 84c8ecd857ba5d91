"""`python -m backend serve`: migrate, load demo data, print the demo credentials, then run Primsell.

Runs its child processes and stops them all when one ends or on Ctrl-C / SIGTERM:
- a local anvil node on 127.0.0.1:8545, the embedded default chain (only when no CHAIN_RPC_URL is set;
  its state is kept in var/anvil.json so deployed contracts survive a restart, like the database);
- the web app: Reflex in production mode, one port for the pages, the websocket and the HTTP API;
- the job runner (`python -m jobs`): the daemons, each behind its DB-row lease.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from backend.settings import PROJECT_ROOT, get_settings
from backend.toolchain import toolchain_env


def reflex_command(port: int, *, dev: bool = False) -> list[str]:
    reflex = [sys.executable, "-m", "reflex", "run", "--loglevel", "warning"]
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


def serve(*, port: int = 3000, demo: bool = True, dev: bool = False, jobs: bool = True) -> int:
    from backend.demo import request_demo_deploys, seed_demo
    from backend.migrate import upgrade

    upgrade()
    if demo:
        seed_demo()
        request_demo_deploys()
    print(_banner(port, demo), flush=True)
    chain = _start_local_chain()
    try:
        return _run_children(port, dev=dev, jobs=jobs)
    finally:
        if chain is not None:
            chain.stop()  # type: ignore[attr-defined]


def _run_children(port: int, *, dev: bool, jobs: bool) -> int:
    env = toolchain_env()
    # The web app only accepts its own origin (CORS and websocket): by default that is this port on localhost.
    if not get_settings().model_fields_set & {"public_url"}:
        env["PRIMSELL_PUBLIC_URL"] = f"http://localhost:{port}"
    children = [subprocess.Popen(reflex_command(port, dev=dev), cwd=PROJECT_ROOT, env=env)]
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
