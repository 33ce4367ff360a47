"""Benchmark the detectors (timeline join + baseline) on long synthetic histories.

    .venv/bin/python benchmarks/bench_detectors.py                  # 100, 500, 1000 releases
    .venv/bin/python benchmarks/bench_detectors.py --releases 2000 --json

Each history has two release lines per major, attested releases a day apart with a sdist and a
wheel each, a burst of branch builds and a token upload near the end: every detector runs, the
baseline is judged for every attribute. Prints the time to build the timeline and to run every
detector, and the findings per severity (JSON lines with `--json`).

`--habits` measures a second kind of history: habits that make every release a candidate of the
checks that look a release up in its history (every release built on a self-hosted runner by a
`workflow_run` trigger, with an unattested wheel next to its attested sdist, logged 20 minutes
after upload), with GitHub tags and a source repository holding a tag and a run per release. Each
of those checks once read the whole history, or the whole tag listing, per release: quadratic.
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
from forensics.models import EvidenceRef, Pep740Support, SourceRepository, SourceRun, SourceTag
from forensics.timeline import Timeline, build_timeline
from tests.factories import T0, absent, attested, dist, github_for


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


def habits(n: int) -> Timeline:
    """`n` releases whose habits put every one of them through the per-release lookups."""
    files, prov, versions, tags, runs = [], {}, [], [], []
    ref = EvidenceRef("https://api.example/repos/acme/widget/tags", "0" * 64, T0)
    claims = {"runner_environment": "self-hosted", "trigger": "workflow_run"}
    for i in range(n):
        version = f"{1 + i // 500}.{(i // 50) % 10}.{i % 50}"
        versions.append(version)
        up = T0 + timedelta(days=i)
        sdist = dist(version, f"widget-{version}.tar.gz", up)
        wheel = dist(version, f"widget-{version}-py3-none-any.whl", up + timedelta(minutes=1))
        files += [sdist, wheel]
        prov[sdist.filename] = attested(
            sdist.filename,
            up,
            claims={"source_ref": f"refs/tags/v{version}", **claims},
            lead=-timedelta(minutes=20),
            log_index=1000 + i,
        )
        prov[wheel.filename] = absent()
        sha = f"{i:040x}"
        if i % 97 != 5:  # a few releases untagged, a few tagged late, a few without a run
            late = timedelta(days=2) if i % 89 == 3 else timedelta(0)
            dated = up - timedelta(minutes=10) + late
            tags.append(SourceTag(f"v{version}", version, sha, dated, ref))
        if i % 83 != 7:
            runs.append(SourceRun(i, sha, f"v{version}", "push", "release.yml", up, "success", ref))
    return build_timeline(
        "widget",
        files,
        prov,
        pep740=Pep740Support.YES,
        github=github_for(versions, untagged=frozenset(versions[9::101])),
        source=SourceRepository("acme/widget", "bench", tuple(tags), tuple(runs), True, True),
    )


def measure(n: int, kind: str = "plain") -> dict[str, object]:
    t0 = time.perf_counter()
    if kind == "habits":
        tl = habits(n)
    else:
        files, prov = history(n)
        t0 = time.perf_counter()
        tl = build_timeline("widget", files, prov, pep740=Pep740Support.YES)
    t1 = time.perf_counter()
    ctx = AnalysisContext("widget", T0 + timedelta(days=n + 1), tl, frozenset(Requirement))
    findings, _ = run_detectors(ctx)
    t2 = time.perf_counter()
    row: dict[str, object] = {
        "releases": n,
        "timeline_s": round(t1 - t0, 3),
        "detectors_s": round(t2 - t1, 3),
        "findings": dict(Counter(f.severity.value for f in findings)),
    }
    if kind == "habits":
        row["history"] = "habits"
        row["by_detector"] = dict(Counter(f.detector for f in findings))
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--releases", type=int, nargs="*", default=[100, 500, 1000])
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--habits",
        action="store_true",
        help="also measure histories whose habits make every release a lookup candidate",
    )
    args = p.parse_args()
    kinds = ["plain", "habits"] if args.habits else ["plain"]
    for kind in kinds:
        for n in args.releases:
            row = measure(n, kind)
            if args.json:
                print(json.dumps(row, sort_keys=True))
            else:
                print(
                    f"{n:6} releases{' (habits)' if kind == 'habits' else ''}: timeline "
                    f"{row['timeline_s']:.2f} s, detectors {row['detectors_s']:.2f} s, "
                    f"findings {row['findings']}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
