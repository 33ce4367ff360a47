"""benchmarks/bench_detectors.py runs and finds exactly the planted deviations (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_detectors.py"


def test_bench_detectors_prints_json_lines() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--releases", "60", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["releases"] == 60 and row["timeline_s"] >= 0 and row["detectors_s"] >= 0
    assert row["findings"] == {"high": 1, "medium": 4}
