"""`benchmarks/bench_case.py` keeps working: it prints every figure it promises (no timing is
asserted) and refuses a bad size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_case.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_bench_case_small() -> None:
    proc = _run("--rows", "12", "--body-bytes", "64")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("write", "seal", "check", "digest", "latest per lookup", "manifest size"):
        assert f"\n{name}: " in proc.stdout, proc.stdout
    assert "UNSOUND" not in proc.stdout
    proc = _run("--rows", "5", "--json")
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {line["figure"] for line in lines} >= {"seal", "check"} and proc.returncode == 0


def test_bench_case_refuses_a_bad_size() -> None:
    proc = _run("--rows", "0")
    assert proc.returncode == 2 and "--rows and --body-bytes must be at least 1" in proc.stderr
