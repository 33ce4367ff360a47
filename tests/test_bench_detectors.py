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


def test_bench_detectors_habits_history_flags_every_release() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--releases", "40", "--habits", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    plain, habits = [json.loads(line) for line in out.splitlines()]
    assert "history" not in plain and habits["history"] == "habits"
    by_detector = habits["by_detector"]
    for detector in (
        "self-hosted-runner",
        "untrusted-build-trigger",
        "file-without-attestation",
        "signing-time-skew",
    ):
        assert by_detector[detector] == 40, detector
    assert by_detector["source-tag-missing"] >= 1 and by_detector["release-without-tag"] == 1
