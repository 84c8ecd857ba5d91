"""tests/under_load.py: runs pytest the asked number of times beside busy processes, stops at the first failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("under_load.py")


def run_under_load(tmp_path: Path, body: str, *options: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(body)
    return subprocess.run([sys.executable, str(SCRIPT), *options, "--", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path / "test_sample.py")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_every_run_passes_beside_the_hogs(tmp_path: Path) -> None:
    body = "import os\n\ndef test_count():\n    with open('runs.txt', 'a') as f:\n        f.write('x')\n"
    result = run_under_load(tmp_path, body, "--hogs", "1", "--runs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "runs.txt").read_text() == "xx"
    assert result.stdout.strip().splitlines()[-1].startswith("runs_passed=2 runs=2 hogs=1 ")


def test_a_failing_run_stops_the_series_with_pytests_status(tmp_path: Path) -> None:
    body = "def test_fails():\n    with open('runs.txt', 'a') as f:\n        f.write('x')\n    assert False\n"
    result = run_under_load(tmp_path, body, "--hogs", "0", "--runs", "3")
    assert result.returncode == 1
    assert (tmp_path / "runs.txt").read_text() == "x"
    assert result.stdout.strip().splitlines()[-1].startswith("runs_passed=0 runs=3 hogs=0 ")
