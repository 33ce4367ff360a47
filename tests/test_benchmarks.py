"""The benchmark scripts run end to end on a small history and print every figure they promise.

No timing is asserted (machines differ); the point is that the scripts keep working as the
toolkit changes, and that a run whose analysis is unsound exits non-zero instead of printing
figures.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

FIGURE_LINES = [
    r"^history: 20 releases × 2 files = 40 files \(seed 0\)$",
    r"^build world: [\d.]+ s$",
    r"^collect over loopback: [\d.]+ s, \d+ requests, [\d.]+ MB of responses stored",
    r"^analysis \(online, open case\): [\d.]+ s$",
    r"^analysis \(offline re-analysis from disk\): [\d.]+ s$",
    r"^verification only: [\d.]+ s for 40 attestations \(40 verified\), [\d.]+ ms per attestation$",
    r"^ms per file: online [\d.]+, offline [\d.]+$",
    r"^ms per attestation verified .*: [\d.]+$",
    r"^peak RSS: [\d.]+ MB$",
    r"^ratio offline/online analysis: [\d.]+$",
    r"^analysis per 1,000 files: online [\d.]+ s, offline [\d.]+ s$",
    r"^releases: 20, findings: \d+",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_bench_investigate_small_history() -> None:
    proc = _run(str(BENCHMARKS / "bench_investigate.py"), "--releases", "20")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for pattern in FIGURE_LINES:
        assert any(re.search(pattern, line) for line in lines), (pattern, proc.stdout)
    assert "UNSOUND RUN" not in proc.stdout


def test_bench_investigate_refuses_a_bad_size() -> None:
    proc = _run(str(BENCHMARKS / "bench_investigate.py"), "--releases", "0")
    assert proc.returncode == 2
    assert "--releases must be at least 1, got 0" in proc.stderr


def test_bench_verify_skips_cleanly_without_real_data(tmp_path: Path) -> None:
    proc = _run(str(BENCHMARKS / "bench_verify.py"), "--data", str(tmp_path), "--rounds", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("skipped: no genuine attestations at ")


@pytest.mark.realdata
def test_bench_verify_on_real_data(real_data: Path) -> None:
    proc = _run(str(BENCHMARKS / "bench_verify.py"), "--data", str(real_data), "--rounds", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^corpus: \d+ files, \d+ attestations", proc.stdout, re.M)
    assert re.search(r"^ratio pypi-attestations/ours: [\d.]+$", proc.stdout, re.M)
    assert "DISAGREEMENT" not in proc.stdout


def test_bench_realdata_over_a_lab_index(tmp_path: Path) -> None:
    import json

    from forensics_lab.build import build_world
    from forensics_lab.scenario import load_scenario, shipped_scenarios
    from forensics_lab.serve import LabServer

    world = build_world(
        load_scenario(shipped_scenarios()["attack-late-native-wheel"]), tmp_path / "w"
    )
    projects = tmp_path / "projects.txt"
    projects.write_text("# a comment\njsonpatch-lite\nno-such-project-here\n", encoding="utf-8")
    with LabServer(world, pep740=False) as server:
        proc = _run(
            str(BENCHMARKS / "bench_realdata.py"),
            "--projects",
            str(projects),
            "--index-url",
            server.url,
            "--json",
        )
    assert proc.returncode == 1, proc.stderr  # the unknown project is an error line, not hidden
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    summary = rows[-1]
    assert summary["kind"] == "summary" and summary["errors"] == 1
    assert summary["releases"] == 9
    assert "late-file" in summary["checks_run_on_every_project"]
    assert summary["alarms_medium_or_above"] >= 1  # the injected wheel
    assert "not found" in rows[1]["error"]


def test_bench_realdata_refuses_a_missing_list(tmp_path: Path) -> None:
    proc = _run(str(BENCHMARKS / "bench_realdata.py"), "--projects", str(tmp_path / "none"))
    assert proc.returncode == 2
    assert "cannot read" in proc.stderr
