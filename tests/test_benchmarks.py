"""The benchmark scripts run end to end on a small history and print every figure they promise.

No timing is asserted (machines differ); the point is that the scripts keep working as the
toolkit changes, and that a run whose analysis is unsound exits non-zero instead of printing
figures.
"""

from __future__ import annotations

import json
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
    r"^analysis, cold \(\d+ worker processes, nothing cached\): [\d.]+ s; uncached sequential "
    r"baseline [\d.]+ s",
    r"^offline re-analysis, cached verdicts \(40 from the cache, 0 verified\): [\d.]+ s",
    r"^peak RSS of the investigation process \(cached\): [\d.]+ MB",
    r"^verification only: 40 attestations, \d+ processes cold \d+/s",
    r"^releases: 20, findings: \d+",
]
JSON_NAMES = {
    "build_world",
    "collect",
    "analysis.cold",
    "analysis.offline_cached",
    "rss.uncached",
    "rss.cold",
    "rss.cached",
    "cli.offline_cached",
    "verify.throughput_cold",
    "machine.load_before",
    "machine.load_after",
}


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


def test_bench_investigate_json_lines(tmp_path: Path) -> None:
    proc = _run(str(BENCHMARKS / "bench_investigate.py"), "--releases", "3", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r["name"] for r in records} == JSON_NAMES
    for r in records:
        assert list(r) == ["name", "value", "unit", "baseline", "baseline_value", "ratio"]
        if r["baseline"] is not None:
            assert r["ratio"] == pytest.approx(r["value"] / r["baseline_value"], rel=1e-3)
    assert "UNSOUND RUN" not in proc.stderr


def test_jsonl_helper_refuses_a_half_baseline() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from _jsonl import record

    with pytest.raises(ValueError, match="baseline"):
        record("x", 1.0, "s", baseline="y")
    assert record("x", 2.0, "s", baseline="y", baseline_value=4.0)["ratio"] == 0.5


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
    proc = _run(
        str(BENCHMARKS / "bench_verify.py"),
        *("--data", str(real_data), "--rounds", "1", "--copies", "2", "--json"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^corpus: \d+ files, \d+ attestations", proc.stderr, re.M)
    names = {json.loads(line)["name"] for line in proc.stdout.splitlines()}
    assert names == {
        "machine.load_before",
        "machine.load_after",
        "verify.build_verifier",
        "verify.sequential_per_attestation",
        "verify.cli_per_file",
        "verify.parallel_throughput_cold",
    }
    assert "DISAGREEMENT" not in proc.stderr


def test_bench_collect_prints_json_lines_with_a_baseline() -> None:
    import json

    proc = _run(
        str(BENCHMARKS / "bench_collect.py"),
        "--releases",
        "6",
        "--baseline-releases",
        "3",
        "--latency",
        "1",
        "--json",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    keys = ["name", "value", "unit", "baseline", "baseline_value", "ratio"]
    assert all(list(r) == keys for r in records)
    [main] = [r for r in records if r["name"] == "collect.6x2.latency1ms"]
    assert main["unit"] == "s" and main["baseline_value"] > 0 and main["ratio"] > 0
    assert "extrapolated by request count" in main["baseline"]


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
