"""Benchmark fleet scans and the lock-file gate against a lab fleet served with latency.

    .venv/bin/python benchmarks/bench_fleet.py                      # 500 projects, 50 ms, gate 300
    .venv/bin/python benchmarks/bench_fleet.py --projects 100 --gate 100 --json

Steps, each timed: build the lab fleet; serve it with `FleetLabServer` at `--latency` ms per
request; scan every project sequentially, with `--workers 2` (local processes) and on a local
Dask cluster of 2 worker processes (one thread each), each into a fresh fleet directory; also
`--workers 2 --threads T` (T projects in flight per process: collection waits on the network);
then gate a lock file pinning `--gate` projects cold (fresh fleet directory: collect + analyse,
2 processes x T threads, the CLI's default engine shape) and warm (cases and summaries reused,
in-process). The three scans must give the same report body; if not, the benchmark says
so and exits 1 instead of printing figures. Per-project cost is reported against the number of
releases (how it grows). Targets from issue 11: gate <= 60 s cold and <= 5 s warm.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _emit(as_json: bool, name: str, value: float, unit: str, **extra: Any) -> None:
    # A tiny JSON-lines helper (benchmarks/_jsonl.py is not on main yet).
    if as_json:
        print(json.dumps({"bench": "fleet", "name": name, "value": value, "unit": unit, **extra}))
    else:
        tail = " ".join(f"{k}={v}" for k, v in extra.items())
        print(f"{name}: {value} {unit}" + (f" ({tail})" if tail else ""))


def run(args: argparse.Namespace, work: Path) -> int:
    """Run every step in `work`; 0 when the three engines agree."""
    from forensics.fleet.gate import gate
    from forensics.fleet.report import body, build_report
    from forensics.fleet.scan import Engine, ScanSettings, run_projects
    from forensics_lab._faults import FaultPlan
    from forensics_lab.fleet import FleetLabServer, build_fleet

    emit = lambda *a, **k: _emit(args.json, *a, **k)  # noqa: E731
    t = time.perf_counter()
    world = build_fleet(args.projects, args.anomalies, args.seed, work / "world")
    emit("build_fleet", round(time.perf_counter() - t, 2), "s", projects=args.projects)
    manifest = json.loads((world / "world.json").read_text("utf-8"))
    names = sorted(p["name"] for p in manifest["projects"])
    releases = {p["name"]: len(p["versions"]) for p in manifest["projects"]}
    faults = FaultPlan(latency_ms=args.latency)
    with FleetLabServer(world, faults=faults) as server:

        def settings(fleet: str, refresh: bool = True) -> ScanSettings:
            return ScanSettings(
                index_url=server.url,
                trust_root=str(world / "trusted_root.json"),
                fleet_dir=str(work / fleet),
                refresh=refresh,
            )

        def engine(**kw: Any) -> Engine:
            return Engine(rate=args.rate, burst=args.burst, **kw)

        bodies = {}
        steps: tuple[tuple[str, Engine | None], ...] = (
            ("sequential", engine(workers=1)),
            ("workers2", engine(workers=2)),
            (f"workers2_threads{args.threads}", engine(workers=2, threads=args.threads)),
            ("dask2", None),
        )
        for label, eng in steps if not args.gate_only else ():
            t = time.perf_counter()
            if eng is None:
                from distributed import LocalCluster

                with LocalCluster(
                    n_workers=2,
                    processes=True,
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address=None,
                ) as cluster:
                    start = time.perf_counter()
                    summaries, run_info = run_projects(
                        names, settings(label), engine(dask=cluster.scheduler_address)
                    )
                    seconds = time.perf_counter() - start
            else:
                summaries, run_info = run_projects(names, settings(label), eng)
                seconds = time.perf_counter() - t
            bodies[label] = body(
                build_report(summaries, index_url=server.url, as_of=None, inputs={})
            )
            emit(
                f"scan_{label}",
                round(len(names) / seconds * 60, 1),
                "projects/min",
                seconds=round(seconds, 1),
                requests=sum(run_info["requests_per_host"].values()),
            )
            if label == "sequential":
                per = [(releases[n], c["seconds"]) for n, c in run_info["cases"].items()]
                costs = [s for _, s in per]
                emit("per_project_mean", round(statistics.mean(costs), 3), "s")
                emit("per_project_p95", round(sorted(costs)[int(len(costs) * 0.95) - 1], 3), "s")
                if len({r for r, _ in per}) > 1:
                    slope, intercept = statistics.linear_regression(
                        [float(r) for r, _ in per], costs
                    )
                    emit("per_release_cost", round(slope, 4), "s", fixed=round(intercept, 3))
        if bodies and any(b != bodies["sequential"] for b in bodies.values()):
            print("engines disagree: the fleet report body differs", file=sys.stderr)
            return 1
        if bodies:
            emit("engines_agree", 1, "bool")
        pins = [(p["name"], p["latest"]) for p in manifest["projects"][: args.gate]]
        from forensics.fleet.lockfile import Pin

        lock = [Pin(n, v) for n, v in pins]
        # warm: cases and summaries are reused, so one in-process pass beats starting workers
        for label, refresh, workers in (
            ("gate_cold", True, args.gate_workers),
            ("gate_warm", False, 1),
        ):
            t = time.perf_counter()
            summaries, _ = run_projects(
                [n for n, _ in pins],
                settings("gate", refresh),
                engine(workers=workers, threads=args.threads if workers > 1 else 1),
            )
            results = gate(lock, summaries)
            seconds = time.perf_counter() - t
            blocked = sum(1 for r in results if r.outcome == "block")
            emit(label, round(seconds, 2), "s", packages=len(pins), blocked=blocked)
    return 0


def main() -> int:
    """Parse arguments and run in a temporary directory."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--projects", type=int, default=500)
    p.add_argument("--anomalies", type=int, default=6)
    p.add_argument("--latency", type=float, default=50.0, help="ms per request")
    p.add_argument("--gate", type=int, default=300, help="packages in the gated lock file")
    p.add_argument("--gate-workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4, help="projects in flight per process")
    p.add_argument("--rate", type=float, default=0.0, help="per-host budget (0: unlimited)")
    p.add_argument("--burst", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="JSON lines")
    p.add_argument("--gate-only", action="store_true", help="skip the three scans")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        return run(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
