"""Benchmark a whole investigation of a large synthetic history, over loopback.

    .venv/bin/python benchmarks/bench_investigate.py                 # 2,500 releases × 2 files
    .venv/bin/python benchmarks/bench_investigate.py --releases 200 --json
    .venv/bin/python benchmarks/bench_investigate.py --case DIR      # analyse a collected case

Steps, each timed: build the lab world (`forensics_lab.synth` + `build_world`); serve it with
`LabServer` and collect index + transparency log into a fresh case with the ordinary clients;
then, with the lab stopped and each in a fresh process (`_analysis.py`): the uncached sequential
re-analysis (baseline), the cold analysis on every core, the offline re-analysis with cached
verdicts, and verification alone (parallel cold against one process). The analyses must give the
same report (apart from the `run` block): if they do not, the benchmark says so and exits 1
instead of printing figures for a broken run.

Peak RSS is that of each analysis process alone (the lab server is not in it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _analysis import child, measure_case
from _jsonl import Figures, add_json_flag, report_load


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.2f} MB"


def _dir_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def run(
    releases: int,
    files_per_release: int,
    seed: int,
    concurrency: int,
    work: Path,
    out: Figures,
    workers: int,
) -> int:
    """Run every step in `work` and report one figure per line; 0 when the run is sound."""
    # Imported here so `--help` is instant and the import cost is not inside any timing.
    from forensics.api import collect
    from forensics.evidence import EvidenceStore
    from forensics.trust import TrustMaterial
    from forensics_lab.build import build_world
    from forensics_lab.serve import LabServer
    from forensics_lab.synth import synthesize

    n_files = releases * files_per_release
    out.line(
        f"history: {releases} releases × {files_per_release} files = {n_files} files (seed {seed})"
    )

    t0 = time.perf_counter()
    scenario = synthesize(releases, files_per_release, seed)
    world = build_world(scenario, work / "world")
    t_build = time.perf_counter() - t0
    out.figure("build_world", t_build, "s", text=f"build world: {t_build:.2f} s")

    trust = TrustMaterial.load(world / "trusted_root.json")
    case = work / "case"
    with LabServer(world) as server, EvidenceStore.open(case) as store:
        t0 = time.perf_counter()
        collect(
            scenario.project,
            store,
            index_url=server.url,
            rekor_url=server.url,
            trust=trust,
            concurrency=concurrency,
        )
        t_collect = time.perf_counter() - t0
        requests = server.request_count()
        stored = sum(len(r.body()) for r in store.responses())
        if server.errors:
            out.line(f"the lab failed {len(server.errors)} request(s):\n{server.errors[0]}")
            return 1
        out.figure(
            "collect",
            t_collect,
            "s",
            text=f"collect over loopback: {t_collect:.2f} s, {requests} requests, "
            f"{_mb(stored)} of responses stored ({_mb(_dir_bytes(case))} case on disk)",
        )
    # The lab server is stopped: every analysis below runs in its own process, alone.
    problems = measure_case(case, workers, n_files, out)
    for p in problems:
        out.line(f"UNSOUND RUN: {p}")
    return 1 if problems else 0


def run_case(case: Path, workers: int, out: Figures) -> int:
    """The analysis figures on an already collected case (e.g. one kept from an earlier run)."""
    from forensics.collect.pypi_parse import load_index_snapshot
    from forensics.evidence import EvidenceStore

    with EvidenceStore.open(case, create=False) as store:
        meta = store.read_meta()
        if meta is None:
            out.line(f"error: {case} has no case.json")
            return 2
        index = str(meta.sources.get("index", {}).get("base_url", ""))
        n_files = len(load_index_snapshot(store, index, meta.project).files)
    out.line(f"case: {case} ({meta.project}, {n_files} files)")
    problems = measure_case(case, workers, n_files, out)
    for p in problems:
        out.line(f"UNSOUND RUN: {p}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run in a temporary folder, return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:  # one analysis in a fresh process (see _analysis.py)
        child(argv[1], Path(argv[2]), int(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=2500, help="releases (default 2500)")
    parser.add_argument("--files-per-release", type=int, default=2, help="default 2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=8, help="collector connections")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="verification processes"
    )
    parser.add_argument(
        "--case",
        type=Path,
        help="analyse this collected case instead of building and collecting one",
    )
    add_json_flag(parser)
    args = parser.parse_args(argv)
    if args.releases < 1:
        parser.error(f"--releases must be at least 1, got {args.releases}")
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    out = Figures(json=args.json)
    with tempfile.TemporaryDirectory(prefix="forensics-bench-") as tmp:
        # sigstore-python may write a TUF cache under ~/.cache even offline; keep it here.
        os.environ.setdefault("XDG_CACHE_HOME", str(Path(tmp) / "xdg-cache"))
        os.environ.setdefault("XDG_DATA_HOME", str(Path(tmp) / "xdg-data"))
        report_load(out, "before")
        if args.case is not None:
            status = run_case(args.case.resolve(), args.workers, out)
            report_load(out, "after")
            return status
        try:
            status = run(
                args.releases,
                args.files_per_release,
                args.seed,
                args.concurrency,
                Path(tmp),
                out,
                args.workers,
            )
        except ValueError as exc:  # synthesize() refuses out-of-range sizes with a clear message
            print(f"error: {exc}", file=sys.stderr)
            return 2
        report_load(out, "after")
        return status


if __name__ == "__main__":
    sys.exit(main())
