"""Benchmark collection alone: a synthetic history served with per-request latency.

    .venv/bin/python benchmarks/bench_collect.py                          # 2,500 × 2, 50 ms
    .venv/bin/python benchmarks/bench_collect.py --releases 100 --json    # 100 × 2
    .venv/bin/python benchmarks/bench_collect.py --latency 0 --concurrency 8

Builds a `forensics_lab.synth` history, serves it with `forensics lab serve --latency MS` in
its own process (a remote index and log: every request pays the latency), and times
`forensics.api.collect` of the index and the transparency log into a fresh case with
`--concurrency` connections per source. The baseline, measured in the same run, is the same
collector with `concurrency=1` (one request in flight to the index and one to the log). At 50 ms
per request it needs minutes for a large history, so by default it runs on a smaller history
(`--baseline-releases`, 100) and its time is extrapolated to the measured history by request
count (the output says so); `--baseline-releases 0` measures it on the full history.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _collection import served, timed_collect
from _jsonl import Figures, add_json_flag, report_load


def run(args: argparse.Namespace, work: Path, out: Figures) -> int:
    """Build, serve, collect concurrently and sequentially; report; 0 when sound."""
    from forensics_lab.build import build_world
    from forensics_lab.synth import synthesize

    releases, per = args.releases, args.files_per_release
    tag = f"{releases}x{per}.latency{args.latency:g}ms"
    out.line(
        f"history: {releases} releases × {per} files = {releases * per} files (seed {args.seed}), "
        f"{args.latency:g} ms per request, concurrency {args.concurrency}"
    )
    t0 = time.perf_counter()
    scenario = synthesize(releases, per, args.seed)
    world = build_world(scenario, work / "world")
    out.figure("build_world", time.perf_counter() - t0, "s")

    report_load(out, "before")
    with served(world, args.latency) as url:
        fast = timed_collect(world, scenario.project, work / "case", url, args.concurrency)
    report_load(out, "after")
    if fast.problems:
        out.line(f"UNSOUND RUN: {fast.problems} request(s) without a final answer")
        return 1

    subset = args.baseline_releases
    if subset <= 0 or subset >= releases:
        with served(world, args.latency) as url:
            slow = timed_collect(world, scenario.project, work / "seq", url, 1)
        baseline = "sequential collector (concurrency 1)"
        baseline_s = slow.seconds
    else:
        small = synthesize(subset, per, args.seed)
        small_world = build_world(small, work / "small-world")
        with served(small_world, args.latency) as url:
            slow = timed_collect(small_world, small.project, work / "seq", url, 1)
        # Extrapolated by request count: the sequential collector's time is requests × the
        # time of one request (latency plus processing), which does not depend on the history.
        baseline_s = slow.seconds * fast.sent / max(slow.sent, 1)
        baseline = (
            f"sequential collector (concurrency 1), measured on {subset} releases "
            f"({slow.sent} requests in {slow.seconds:.2f} s) and extrapolated by request count"
        )
        out.line(f"baseline: {baseline}")
    if slow.problems:
        out.line(f"UNSOUND RUN: the baseline left {slow.problems} request(s) without an answer")
        return 1
    out.figure(
        f"collect.{tag}",
        fast.seconds,
        "s",
        baseline=baseline,
        baseline_value=baseline_s,
        text=f"collect {tag}: {fast.seconds:.2f} s, {fast.sent} requests "
        f"(baseline {baseline}: {baseline_s:.2f} s, ratio {fast.seconds / baseline_s:.3f})",
    )
    out.figure(f"collect.{tag}.requests", fast.sent, "count")
    # Where the CPU went: with 2 cores, the collector, the verification workers and the lab
    # server (a remote index and log cost none of this machine's) share 2 × the wall time.
    out.figure(f"collect.{tag}.cpu_collector_user", fast.cpu_user, "s")
    out.figure(f"collect.{tag}.cpu_collector_system", fast.cpu_system, "s")
    out.figure(f"collect.{tag}.cpu_verification_workers", fast.cpu_workers, "s")
    out.figure(f"collect.{tag}.throughput", fast.sent / fast.seconds, "per_s")
    out.figure(f"collect.{tag}.ms_per_file", 1000 * fast.seconds / (releases * per), "ms")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run in a temporary folder, return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=2500, help="releases (default 2500)")
    parser.add_argument("--files-per-release", type=int, default=2, help="default 2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=50.0, metavar="MS", help="default 50")
    parser.add_argument("--concurrency", type=int, default=32, help="default 32")
    parser.add_argument(
        "--baseline-releases",
        type=int,
        default=100,
        help="history size of the sequential baseline (0: the full history); default 100",
    )
    add_json_flag(parser)
    args = parser.parse_args(argv)
    if args.releases < 1:
        parser.error(f"--releases must be at least 1, got {args.releases}")
    if args.concurrency < 1:
        parser.error(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.latency < 0:
        parser.error(f"--latency must not be negative, got {args.latency}")
    out = Figures(json=args.json)
    with tempfile.TemporaryDirectory(prefix="forensics-bench-") as tmp:
        os.environ.setdefault("XDG_CACHE_HOME", str(Path(tmp) / "xdg-cache"))
        os.environ.setdefault("XDG_DATA_HOME", str(Path(tmp) / "xdg-data"))
        try:
            return run(args, Path(tmp), out)
        except ValueError as exc:  # synthesize() refuses out-of-range sizes with a clear message
            print(f"error: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
