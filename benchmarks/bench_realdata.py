"""Real-data false-alarm benchmark: investigate real projects through the configured index.

    .venv/bin/python benchmarks/bench_realdata.py --projects benchmarks/projects-popular.txt
    .venv/bin/python benchmarks/bench_realdata.py --projects FILE --json      # JSON lines
    .venv/bin/python benchmarks/bench_realdata.py --projects FILE --show medium  # list findings

The index is `--index-url`, else `$FORENSICS_INDEX_URL`, else pypi.org (here: the reachable
mirror, which strips PEP 740, so only the index-only checks can speak). Each project is collected
into a fresh temporary case and analysed with the ordinary `forensics.investigate`. Figures:
releases investigated, findings per severity and per 1,000 releases, which checks ran and which
were skipped (with the reason), and the time per project. A project that fails (unreachable,
not found) is reported as an error line and counted, never hidden.

The project list should hold popular, uncompromised projects: every finding at medium or above
on them is a false alarm, and the goal is at most one per 1,000 releases.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

SEVERITIES = ("info", "low", "medium", "high", "critical")
ALARM = ("medium", "high", "critical")


def read_projects(path: Path) -> list[str]:
    """Project names, one a line; `#` starts a comment."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def investigate_one(project: str, index_url: str | None) -> dict[str, Any]:
    """One project's figures (or its error)."""
    from forensics import investigate
    from forensics.errors import ForensicsError

    t0 = time.perf_counter()
    try:
        inv = investigate(project, index_url=index_url)
    except ForensicsError as exc:
        return {"project": project, "error": exc.message, "seconds": time.perf_counter() - t0}
    seconds = time.perf_counter() - t0
    releases = [r for r in inv.timeline.releases if not r.deleted]
    from forensics.detectors.registry import DETECTORS

    skipped = {s.detector: s.reason for s in inv.skipped}
    ran = [d.info.id for d in DETECTORS if d.info.id not in skipped]
    return {
        "project": project,
        "releases": len(releases),
        "files": sum(len(r.files) for r in releases),
        "seconds": round(seconds, 3),
        "severity": dict(Counter(f.severity.value for f in inv.findings)),
        "checks_run": ran,
        "checks_skipped": sorted(skipped),
        "skip_reasons": sorted(set(skipped.values())),
        "findings": [
            {
                "detector": f.detector,
                "severity": f.severity.value,
                "version": f.version,
                "summary": f.summary,
            }
            for f in inv.findings
        ],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 2 on bad input, 1 when a project crashed, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=Path, required=True, help="file: one project a line")
    parser.add_argument("--index-url", default=None, help="default: $FORENSICS_INDEX_URL or pypi")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")
    parser.add_argument(
        "--show",
        choices=SEVERITIES,
        default=None,
        help="also list every finding at or above this severity",
    )
    args = parser.parse_args(argv)
    try:
        projects = read_projects(args.projects)
    except OSError as exc:
        print(f"error: cannot read {args.projects}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if not projects:
        print(f"error: {args.projects} names no project", file=sys.stderr)
        return 2
    totals: Counter[str] = Counter()
    releases = files = errors = 0
    run_everywhere: set[str] | None = None
    skipped_any: Counter[str] = Counter()
    seconds: list[float] = []
    show = SEVERITIES.index(args.show) if args.show else None
    for name in projects:
        row = investigate_one(name, args.index_url)
        seconds.append(row["seconds"])
        if "error" in row:
            errors += 1
            if args.json:
                print(json.dumps({"kind": "project", **row}))
            else:
                print(f"{name:<28} ERROR {row['error']}")
            continue
        releases += row["releases"]
        files += row["files"]
        totals.update(row["severity"])
        ran = set(row["checks_run"])
        run_everywhere = ran if run_everywhere is None else run_everywhere & ran
        skipped_any.update(row["checks_skipped"])
        if args.json:
            print(json.dumps({"kind": "project", **row}))
        else:
            sev = " ".join(f"{s}={row['severity'].get(s, 0)}" for s in SEVERITIES)
            print(
                f"{name:<28} {row['releases']:>5} releases {row['seconds']:>6.2f} s  {sev}  "
                f"ran {len(ran)} skipped {len(row['checks_skipped'])}"
            )
            if show is not None:
                for f in row["findings"]:
                    if SEVERITIES.index(f["severity"]) >= show:
                        print(f"    {f['severity']:<8} {f['detector']:<22} {f['summary']}")
    per_k = {s: (1000 * totals[s] / releases if releases else 0.0) for s in SEVERITIES}
    alarms = sum(totals[s] for s in ALARM)
    summary = {
        "kind": "summary",
        "projects": len(projects),
        "errors": errors,
        "releases": releases,
        "files": files,
        "findings": {s: totals[s] for s in SEVERITIES},
        "per_1000_releases": {s: round(v, 2) for s, v in per_k.items()},
        "alarms_medium_or_above": alarms,
        "alarms_per_1000_releases": round(1000 * alarms / releases, 2) if releases else 0.0,
        "checks_run_on_every_project": sorted(run_everywhere or ()),
        "checks_skipped_somewhere": dict(sorted(skipped_any.items())),
        "seconds_total": round(sum(seconds), 2),
        "seconds_per_project_median": round(sorted(seconds)[len(seconds) // 2], 2),
        "seconds_per_project_max": round(max(seconds), 2),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print()
        print(f"projects: {len(projects)} ({errors} errors), releases: {releases}, files: {files}")
        for s in SEVERITIES:
            print(f"  {s:<9} {totals[s]:>6} findings  {per_k[s]:>8.2f} per 1,000 releases")
        print(
            f"  medium or above: {alarms} = {summary['alarms_per_1000_releases']} "
            "per 1,000 releases"
        )
        print(f"checks run on every project: {', '.join(summary['checks_run_on_every_project'])}")
        print(f"checks skipped (projects): {summary['checks_skipped_somewhere']}")
        print(
            f"time: {summary['seconds_total']} s total, median "
            f"{summary['seconds_per_project_median']} s, max {summary['seconds_per_project_max']} s"
            " per project"
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
