"""Benchmark the detectors (timeline join + baseline) on long synthetic histories.

    .venv/bin/python benchmarks/bench_detectors.py                  # 100, 500, 1000 releases
    .venv/bin/python benchmarks/bench_detectors.py --releases 2000 --json

Each history has two release lines per major, attested releases a day apart with a sdist and a
wheel each, a burst of branch builds and a token upload near the end: every detector runs, the
baseline is judged for every attribute. Prints the time to build the timeline and to run every
detector, and the findings per severity (JSON lines with `--json`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forensics.detectors import AnalysisContext, Requirement, run_detectors
from forensics.models import Pep740Support
from forensics.timeline import build_timeline
from tests.factories import T0, absent, attested, dist


def history(n: int) -> tuple[list, dict]:  # type: ignore[type-arg]
    """`n` releases: versions M.m.p over a few lines, with a burst and a token upload at the end."""
    files, prov = [], {}
    for i in range(n):
        version = f"{1 + i // 200}.{(i // 20) % 10}.{i % 20}"
        up = T0 + timedelta(days=i)
        claims = {"source_ref": f"refs/tags/v{version}"}
        if i in (n - 5, n - 4):
            claims = {"source_ref": "refs/heads/main", "trigger": "workflow_dispatch"}
        for name in (f"widget-{version}.tar.gz", f"widget-{version}-py3-none-any.whl"):
            d = dist(version, name, up)
            files.append(d)
            prov[name] = absent() if i == n - 2 else attested(name, up, claims=claims)
    return files, prov


def measure(n: int) -> dict[str, object]:
    files, prov = history(n)
    t0 = time.perf_counter()
    tl = build_timeline("widget", files, prov, pep740=Pep740Support.YES)
    t1 = time.perf_counter()
    ctx = AnalysisContext("widget", T0 + timedelta(days=n + 1), tl, frozenset(Requirement))
    findings, _ = run_detectors(ctx)
    t2 = time.perf_counter()
    return {
        "releases": n,
        "timeline_s": round(t1 - t0, 3),
        "detectors_s": round(t2 - t1, 3),
        "findings": dict(Counter(f.severity.value for f in findings)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--releases", type=int, nargs="*", default=[100, 500, 1000])
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    for n in args.releases:
        row = measure(n)
        if args.json:
            print(json.dumps(row, sort_keys=True))
        else:
            print(
                f"{n:6} releases: timeline {row['timeline_s']:.2f} s, detectors "
                f"{row['detectors_s']:.2f} s, findings {row['findings']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
