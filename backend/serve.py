"""`python -m backend serve`: migrate, load demo data, print the demo credentials, then run Primsell.

Runs two child processes and stops both when either ends or on Ctrl-C / SIGTERM:
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


def serve(*, port: int = 3000, demo: bool = True, dev: bool = False, jobs: bool = True) -> int:
    from backend.demo import seed_demo
    from backend.migrate import upgrade

    upgrade()
    if demo:
        seed_demo()
    print(_banner(port, demo), flush=True)
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
