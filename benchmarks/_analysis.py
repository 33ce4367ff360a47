"""The analysis half of `bench_investigate.py`: cold, cached and uncached analyses of one case,
each in a fresh process so its time and peak RSS are the investigation's alone.

`measure_case()` runs, in this order, on a collected case:

1. baseline, uncached sequential re-analysis (`reverify=True, workers=1`: what every analysis cost
   before verdicts were cached and verification went parallel);
2. cold analysis (`reverify=True`, every core): nothing reused, verification on worker processes;
3. offline re-analysis with cached verdicts (the default);
4. verification alone: every stored provenance object through `verify_many`, cold, on every core,
   against the same objects in one process.

Each child prints one JSON object (seconds inside the analysis, its own peak RSS, the report
digest without the `run` block, the run block); reports must be identical or the run is unsound.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _jsonl import Figures


def _rss_mb() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1_000_000


def child(mode: str, case: Path, workers: int) -> None:
    """Run one analysis of `case` in this (fresh) process and print its figures as JSON."""
    from forensics.analysis import analyze
    from forensics.evidence import EvidenceStore

    rss_before = _rss_mb()
    t0 = time.perf_counter()
    with EvidenceStore.open(case, create=False) as store:
        if mode == "uncached":
            inv = analyze(store, reverify=True, workers=1)
        elif mode == "cold":
            inv = analyze(store, reverify=True, workers=workers)
        elif mode == "cached":
            inv = analyze(store, workers=workers)
        else:
            raise SystemExit(f"unknown mode {mode}")
    seconds = time.perf_counter() - t0
    rss_analysis = _rss_mb()
    doc = inv.to_json()
    run = doc.pop("run")
    # The digest of `json.dumps(doc, sort_keys=True)`, hashed as the encoder makes the text: the
    # whole text (50 MB at 2,500 releases) and its bytes at once were the process's peak, which
    # is the benchmark's, not the investigation's.
    h = hashlib.sha256()
    for chunk in json.JSONEncoder(sort_keys=True).iterencode(doc):
        h.update(chunk.encode())
    digest = h.hexdigest()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_mb": _rss_mb(),
                "rss_analysis_mb": rss_analysis,
                "rss_after_imports_mb": rss_before,
                "digest": digest,
                "run": run["verification"],
                "releases": len(inv.timeline.releases),
                "findings": len(inv.findings),
            }
        )
    )


def _spawn(mode: str, case: Path, workers: int) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("bench_investigate.py")),
            "--child",
            mode,
            str(case),
            str(workers),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} analysis failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def verify_only(case: Path, workers: int) -> tuple[int, float, float, int]:
    """(attestations, seconds on `workers` processes cold, seconds in one process, not verified)."""
    from forensics.analysis import _decide_without_verifying, case_trust
    from forensics.collect.pypi_parse import load_index_snapshot
    from forensics.evidence import EvidenceStore
    from forensics.models import FileProvenance, ProvenanceStatus
    from forensics.provenance.parallel import Job, verify_many
    from forensics.provenance.verify import ProvenanceVerifier
    from forensics.trust import TrustMaterial

    with EvidenceStore.open(case, create=False) as store:
        meta = store.read_meta()
        assert meta is not None
        trust = case_trust(store, meta)
        snapshot = load_index_snapshot(store, str(meta.sources["index"]["base_url"]), meta.project)
        jobs = []
        for dist in snapshot.files:
            decided = _decide_without_verifying(store, snapshot, dist)
            if not isinstance(decided, FileProvenance):
                jobs.append(Job(decided[0].body(), dist.filename, dist.sha256))
    timings = []
    results = []
    for n in (workers, 1):
        fresh = ProvenanceVerifier(TrustMaterial(trust.raw, trust.label))
        t0 = time.perf_counter()
        results.append(
            verify_many(
                jobs,
                fresh,
                trust_raw=trust.raw,
                trust_label=trust.label,
                workers=n,
                min_parallel=1,
            )
        )
        timings.append(time.perf_counter() - t0)
    if results[0] != results[1]:
        raise RuntimeError("parallel verdicts differ from sequential ones")
    atts = sum(len(v.attestations) for v in results[0])
    bad = sum(1 for v in results[0] if v.status is not ProvenanceStatus.VERIFIED)
    return atts, timings[0], timings[1], bad


def _cli_offline(case: Path) -> tuple[str, float]:
    """(project, wall seconds) of the offline CLI re-analysis of `case`, JSON to /dev/null."""
    meta = json.loads((case / "case.json").read_text())
    project = str(meta["project"])
    exe = Path(sys.executable).with_name("forensics")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "forensics"]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            *cmd,
            "investigate",
            project,
            "--case",
            str(case),
            "--offline",
            "--format",
            "json",
            "-o",
            os.devnull,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"offline CLI run failed:\n{proc.stderr[-3000:]}")
    return project, seconds


def measure_case(
    case: Path, workers: int, n_files: int, out: Figures, *, label: str = ""
) -> list[str]:
    """Run the analysis figures on a collected case; returns the problems of an unsound run."""
    pre = f"{label}." if label else ""
    problems: list[str] = []
    uncached = _spawn("uncached", case, workers)
    cold = _spawn("cold", case, workers)
    cached = _spawn("cached", case, workers)
    out.figure(
        f"{pre}analysis.cold",
        cold["seconds"],
        "s",
        baseline="uncached sequential analysis (reverify, 1 process)",
        baseline_value=uncached["seconds"],
        text=f"analysis, cold ({cold['run']['workers']} worker processes, nothing cached): "
        f"{cold['seconds']:.2f} s; uncached sequential baseline {uncached['seconds']:.2f} s "
        f"({1000 * uncached['seconds'] / n_files:.2f} ms per file)",
    )
    out.figure(
        f"{pre}analysis.offline_cached",
        cached["seconds"],
        "s",
        baseline="uncached sequential re-analysis",
        baseline_value=uncached["seconds"],
        text=f"offline re-analysis, cached verdicts ({cached['run']['verdicts_from_cache']} from "
        f"the cache, {cached['run']['verdicts_verified']} verified): {cached['seconds']:.2f} s "
        f"({1000 * cached['seconds'] / n_files:.2f} ms per file); ratio to uncached "
        f"{cached['seconds'] / uncached['seconds']:.3f}",
    )
    for mode, res in (("uncached", uncached), ("cold", cold), ("cached", cached)):
        out.figure(
            f"{pre}rss.{mode}",
            res["rss_mb"],
            "MB",
            text=f"peak RSS of the investigation process ({mode}): {res['rss_mb']:.1f} MB "
            f"({res['rss_after_imports_mb']:.1f} MB after imports, {res['rss_analysis_mb']:.1f} "
            f"MB when the analysis returned, the rest `to_json()`) for {n_files} files",
        )
    if not uncached["digest"] == cold["digest"] == cached["digest"]:
        problems.append("cold, cached and uncached analyses give different reports")
    if cached["run"]["verdicts_verified"] != 0:
        problems.append(f"the cached re-analysis verified {cached['run']['verdicts_verified']}")
    if cached["run"]["problems"]:
        problems.append(f"cache problems: {cached['run']['problems'][0]}")
    project, cli_s = _cli_offline(case)
    out.figure(
        f"{pre}cli.offline_cached",
        cli_s,
        "s",
        baseline="uncached sequential re-analysis (in-process, imports excluded)",
        baseline_value=uncached["seconds"],
        text=f"`forensics investigate {project} --case ... --offline --format json` as a process "
        f"(interpreter start-up and imports included): {cli_s:.2f} s",
    )
    atts, t_par, t_seq, bad = verify_only(case, workers)
    if not atts:
        out.line("verification only: the case holds no provenance to verify")
        out.line(f"releases: {cached['releases']}, findings: {cached['findings']}")
        return problems
    out.figure(
        f"{pre}verify.throughput_cold",
        atts / t_par,
        "per_s",
        baseline="the same verification in one process",
        baseline_value=atts / t_seq,
        text=f"verification only: {atts} attestations, {workers} processes cold "
        f"{atts / t_par:.0f}/s ({1000 * t_par / atts:.2f} ms each), one process "
        f"{atts / t_seq:.0f}/s ({1000 * t_seq / atts:.2f} ms each)",
    )
    if bad:
        problems.append(f"{bad} file(s) did not verify in a clean synthetic history")
    out.line(f"releases: {cached['releases']}, findings: {cached['findings']}")
    return problems
