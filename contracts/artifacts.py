"""Loads the committed compiler artifacts in contracts/artifacts/ (written by contracts/compile.mjs)."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def available_artifacts() -> list[str]:
    """Names of every committed artifact, sorted."""
    return sorted(p.stem for p in ARTIFACTS_DIR.glob("*.json"))


def load_artifact(name: str) -> dict:
    """Returns the artifact of contract `name`: `abi`, `bytecode`, `deployedBytecode`, `compiler`, ...

    The result is a fresh copy: callers may mutate it. Raises FileNotFoundError for an unknown name.
    """
    return copy.deepcopy(_read(name))


@cache
def _read(name: str) -> dict:
    if not _NAME.match(name):
        raise ValueError(f"invalid contract name {name!r}")
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.is_file():
        known = ", ".join(available_artifacts()) or "none"
        raise FileNotFoundError(f"no artifact for {name!r} in {ARTIFACTS_DIR} (known: {known})")
    return json.loads(path.read_text(encoding="utf-8"))
