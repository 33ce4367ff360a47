"""Benchmark a whole investigation of a large synthetic history, over loopback.

    .venv/bin/python benchmarks/bench_investigate.py                 # 2,500 releases × 2 files
    .venv/bin/python benchmarks/bench_investigate.py --releases 200

Steps, each timed: build the lab world (`forensics_lab.synth` + `build_world`); serve it with
`LabServer` and collect index + transparency log into a fresh case with the ordinary clients;
analyse the open case (online analysis); analyse it again from disk with
`forensics.investigate(..., offline=True)` (offline re-analysis); and verify every stored
provenance object once more on its own, to isolate the cost of PEP 740 verification.
The two analyses must give the same JSON report (the offline path is the same code): if they do
not, the benchmark says so and exits 1 instead of printing figures for a broken run.

Peak RSS is the whole process, which also holds the lab world and its loopback server threads.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _collection import served, timed_collect


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.2f} MB"


def _dir_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def run(
    releases: int, files_per_release: int, seed: int, concurrency: int, work: Path, latency: float
) -> int:
    """Run every step in `work` and print one figure per line; 0 when the run is sound."""
    # Imported here so `--help` is instant and the import cost is not inside any timing.
    import forensics
    from forensics.analysis import analyze, file_provenance
    from forensics.collect.pypi_parse import load_index_snapshot
    from forensics.evidence import EvidenceStore
    from forensics.models import ProvenanceStatus
    from forensics.trust import TrustMaterial
    from forensics_lab.build import build_world
    from forensics_lab.synth import synthesize

    n_files = releases * files_per_release
    print(
        f"history: {releases} releases × {files_per_release} files = {n_files} files (seed {seed})"
    )

    t0 = time.perf_counter()
    scenario = synthesize(releases, files_per_release, seed)
    world = build_world(scenario, work / "world")
    t_build = time.perf_counter() - t0
    print(f"build world: {t_build:.2f} s")

    trust = TrustMaterial.load(world / "trusted_root.json")
    case = work / "case"
    # The lab serves from its own process (like a remote API; `--latency` per request), so the
    # collector does not share an interpreter lock with the server it measures.
    with served(world, latency) as url:
        collected = timed_collect(world, scenario.project, case, url, concurrency)
    if collected.problems:
        print(f"UNSOUND RUN: {collected.problems} request(s) got no final answer")
        return 1
    with EvidenceStore.open(case) as store:
        stored = sum(len(r.body()) for r in store.responses())
        print(
            f"collect over loopback: {collected.seconds:.2f} s, {collected.sent} requests, "
            f"{_mb(stored)} of responses stored ({_mb(_dir_bytes(case))} case on disk)"
            + (f", {latency:g} ms latency per request" if latency else "")
        )

        t0 = time.perf_counter()
        online = analyze(store, trust=trust)
        t_online = time.perf_counter() - t0

        # Verification alone: the same per-file decision the analysis makes, nothing else.
        meta = store.read_meta()
        assert meta is not None
        snapshot = load_index_snapshot(store, str(meta.sources["index"]["base_url"]), meta.project)
        verifier = trust.verifier
        t0 = time.perf_counter()
        verdicts = [file_provenance(store, snapshot, d, verifier) for d in snapshot.files]
        t_verify = time.perf_counter() - t0

    t0 = time.perf_counter()
    offline = forensics.investigate(scenario.project, case=case, offline=True)
    t_offline = time.perf_counter() - t0

    attestations = sum(len(v.attestations) for v in verdicts)
    verified = sum(1 for v in verdicts for a in v.attestations if a.verified)
    not_verified = [v for v in verdicts if v.status is not ProvenanceStatus.VERIFIED]
    print(f"analysis (online, open case): {t_online:.2f} s")
    print(f"analysis (offline re-analysis from disk): {t_offline:.2f} s")
    print(
        f"verification only: {t_verify:.2f} s for {attestations} attestations "
        f"({verified} verified), {1000 * t_verify / max(attestations, 1):.2f} ms per attestation"
    )
    print(
        f"ms per file: online {1000 * t_online / n_files:.2f}, "
        f"offline {1000 * t_offline / n_files:.2f}"
    )
    print(
        f"ms per attestation verified (whole online analysis / attestations verified): "
        f"{1000 * t_online / max(verified, 1):.2f}"
    )
    # ru_maxrss is KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    print(f"peak RSS: {_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)}")
    print(f"ratio offline/online analysis: {t_offline / t_online:.2f}")
    print(
        f"analysis per 1,000 files: online {1000 * t_online / n_files:.2f} s, "
        f"offline {1000 * t_offline / n_files:.2f} s"
    )
    by_detector: dict[str, int] = {}
    for f in online.findings:
        by_detector[f.detector] = by_detector.get(f.detector, 0) + 1
    counts = ", ".join(f"{k} {v}" for k, v in sorted(by_detector.items())) or "none"
    print(f"releases: {len(online.timeline.releases)}, findings: {len(online.findings)} ({counts})")

    problems = []
    if online.to_json() != offline.to_json():
        problems.append("the offline re-analysis does not reproduce the online report")
    if not_verified:
        problems.append(
            f"{len(not_verified)} file(s) did not verify in a clean synthetic history, e.g. "
            f"{not_verified[0].reason}"
        )
    if len(online.timeline.releases) != releases:
        problems.append(
            f"{len(online.timeline.releases)} releases in the timeline, {releases} built"
        )
    for p in problems:
        print(f"UNSOUND RUN: {p}")
    # The synthetic history is clean (no injected anomalies): a finding here is a false alarm
    # of a detector or a defect of the lab, worth knowing but not a reason to drop the timings.
    clean = set(scenario.expect.clean)
    alarms = [f for f in online.findings if (f.version or "") in clean or f.version is None]
    if alarms:
        print(
            f"WARNING: {len(alarms)} finding(s) on a history the scenario declares clean, "
            f"e.g. {alarms[0].detector}: {alarms[0].summary}"
        )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run in a temporary folder, return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=2500, help="releases (default 2500)")
    parser.add_argument("--files-per-release", type=int, default=2, help="default 2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=8, help="collector connections")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="MS", help="lab latency per request"
    )
    args = parser.parse_args(argv)
    if args.releases < 1:
        parser.error(f"--releases must be at least 1, got {args.releases}")
    with tempfile.TemporaryDirectory(prefix="forensics-bench-") as tmp:
        # sigstore-python may write a TUF cache under ~/.cache even offline; keep it here.
        os.environ.setdefault("XDG_CACHE_HOME", str(Path(tmp) / "xdg-cache"))
        os.environ.setdefault("XDG_DATA_HOME", str(Path(tmp) / "xdg-data"))
        try:
            return run(
                args.releases,
                args.files_per_release,
                args.seed,
                args.concurrency,
                Path(tmp),
                args.latency,
            )
        except ValueError as exc:  # synthesize() refuses out-of-range sizes with a clear message
            print(f"error: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
