"""`python -m backend serve`: migrate, load demo data, print the demo credentials, then run the web app.

The web app is Reflex in production mode: one port serves the pages, the websocket and the HTTP API.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from backend.settings import PROJECT_ROOT, get_settings
from backend.toolchain import toolchain_env


def reflex_command(port: int, *, dev: bool = False) -> list[str]:
    reflex = [sys.executable, "-m", "reflex", "run", "--loglevel", "warning"]
    if dev:
        return [*reflex, "--env", "dev", "--frontend-port", str(port), "--backend-port", str(port + 5000)]
    return [*reflex, "--env", "prod", "--single-port", "--frontend-port", str(port), "--backend-port", str(port)]


def serve(*, port: int = 3000, demo: bool = True, dev: bool = False) -> int:
    from backend.demo import credentials_text, seed_demo
    from backend.migrate import upgrade

    settings = get_settings()
    upgrade()
    if demo:
        seed_demo()
    surfaces = ", ".join(settings.surfaces)
    print(f"\nPrimsell is starting on http://localhost:{port}  (surfaces: {surfaces})")
    print(f"  admin     http://localhost:{port}/admin\n  checkout  http://localhost:{port}/c/aurora-founders")
    print(f"  redeem    http://localhost:{port}/redeem\n  kyc       http://localhost:{port}/kyc")
    print(f"  API docs  http://localhost:{port}/api/docs")
    if demo:
        print(credentials_text())
    print(flush=True)
    web = subprocess.Popen(reflex_command(port, dev=dev), cwd=PROJECT_ROOT, env=toolchain_env())

    def _stop(signum: int, _frame: object) -> None:
        web.send_signal(signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return web.wait()
