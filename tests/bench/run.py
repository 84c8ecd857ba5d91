"""Running a bench script as CI does: in its own process, from the repository root, with none of the suite's
database settings (a bench makes its own database), and reading the figures of its last line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURE = re.compile(r"(\w+)=(\S+)")


def run_bench(script: str, *args: str, data_dir: Path, timeout: float = 600,
              env: dict[str, str] | None = None) -> list[str]:
    """Run bench/<script> with `args`; returns its output lines (the test fails with the output if it fails)."""
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PRIMSELL_DATA_DIR", "REDIS_URL")}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout,
                          env=base | {"PRIMSELL_DATA_DIR": str(data_dir)} | (env or {}))
    assert done.returncode == 0, \
        f"bench/{script} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    lines = done.stdout.strip().splitlines()
    assert lines, f"bench/{script} printed nothing:\n{done.stderr[-3000:]}"
    return lines


def figures(line: str, names: list[str]) -> dict[str, str]:
    """The name=value pairs of a metrics line, which must be exactly `names` in that order and nothing else."""
    found = FIGURE.findall(line)
    assert [name for name, _ in found] == names, f"expected the figures {names} in: {line}"
    assert " ".join(f"{n}={v}" for n, v in found) == line.strip(), f"unexpected text in: {line}"
    return dict(found)


def number(value: str) -> float:
    """A figure as a number (a figure that is not one fails the test)."""
    assert re.fullmatch(r"-?\d+(\.\d+)?", value), f"not a number: {value!r}"
    return float(value)
