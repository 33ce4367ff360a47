"""Benchmark PEP 740 verification on genuine PyPI provenance: ours vs pypi-attestations.

    .venv/bin/python benchmarks/bench_verify.py              # reads ../shared/real-data/pep740
    .venv/bin/python benchmarks/bench_verify.py --rounds 10 --data /path/to/real-data --json

The corpus is every Integrity-API provenance object (`*.provenance`) in `pep740/` whose
distribution file sits next to it. Each is verified offline against sigstore's embedded production
trust root by

* ours, sequential: one `ProvenanceVerifier` (root parsed and keyrings built once) for the corpus;
* baseline `Attestation.verify`: `pypi_attestations.Attestation.verify(publisher, dist,
  offline=True)` per attestation, which builds a fresh production `Verifier` on every call;
* baseline CLI: `pypi-attestations verify pypi --offline --provenance-file P --repository R DIST`
  per file, one process each (its offline path: no TUF refresh, no download);
* ours, parallel: the same verdicts through `forensics.provenance.parallel.verify_many` on
  `--workers` processes, cold (worker start-up included), over `--copies` copies of the corpus
  (each copy padded with trailing whitespace so no verdict is a memo hit).

All must accept every file; a disagreement is printed and the exit status is 1, since a speed-up
that changes verdicts is no speed-up. Per-file figures are medians over all rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _jsonl import Figures, add_json_flag, report_load

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "real-data"


def corpus(data: Path) -> list[tuple[Path, Path]]:
    """(distribution, provenance) pairs under data/pep740."""
    pairs = []
    for prov in sorted((data / "pep740").rglob("*.provenance")):
        dist = prov.with_name(prov.name.removesuffix(".provenance"))
        if dist.is_file():
            pairs.append((dist, prov))
    return pairs


def cli_identity(publisher: dict[str, Any]) -> list[str] | None:
    """The `pypi-attestations verify pypi` identity flags for a publisher, None if it has none."""
    kind = publisher.get("kind")
    if kind == "GitHub":
        return ["--repository", f"https://github.com/{publisher['repository']}"]
    if kind == "GitLab":
        return ["--repository", f"https://gitlab.com/{publisher['repository']}"]
    if kind == "Google":
        return ["--gcp-service-account", publisher["email"]]
    if kind == "CircleCI":
        return [
            "--circleci-project-id",
            publisher["project_id"],
            "--circleci-pipeline-definition-id",
            publisher["pipeline_definition_id"],
        ]
    return None


def run(data: Path, rounds: int, workers: int, copies: int, out: Figures) -> int:
    """Time every verifier over the corpus and report the figures; 0 when verdicts agree."""
    import json

    from pypi_attestations import Distribution, Provenance

    from forensics.models import ProvenanceStatus
    from forensics.provenance.parallel import Job, verify_many
    from forensics.provenance.verify import ProvenanceVerifier
    from forensics.trust import TrustMaterial

    pairs = corpus(data)
    if not pairs:
        out.line(f"no provenance with its distribution under {data / 'pep740'}")
        return 1
    items = []
    for dist, prov in pairs:
        raw = prov.read_bytes()
        sha = hashlib.sha256(dist.read_bytes()).hexdigest()
        parsed = Provenance.model_validate_json(raw)
        n_att = sum(len(b.attestations) for b in parsed.attestation_bundles)
        items.append((dist, prov, raw, sha, parsed, n_att))
    n_att_total = sum(i[5] for i in items)
    out.line(f"corpus: {len(items)} files, {n_att_total} attestations ({data / 'pep740'})")
    per_att = len(items) / n_att_total

    t0 = time.perf_counter()
    trust = TrustMaterial.load(None)
    ours = ProvenanceVerifier.from_path(None)  # production root embedded in sigstore
    out.figure(
        "verify.build_verifier",
        1000 * (time.perf_counter() - t0),
        "ms",
        text=f"ours: building the one verifier took {1000 * (time.perf_counter() - t0):.1f} ms",
    )

    ours_ms: list[float] = []
    ref_ms: list[float] = []
    disagreements: list[str] = []
    for _ in range(rounds):
        for dist, _prov, raw, sha, parsed, _n in items:
            # The verifier keeps verdicts per object for one investigation; a benchmark round
            # must verify, not remember.
            ours._verdicts.clear()
            t0 = time.perf_counter()
            verdict = ours.verify_provenance(raw, filename=dist.name, sha256=sha)
            ours_ms.append(1000 * (time.perf_counter() - t0))

            ref_error = None
            t0 = time.perf_counter()
            try:
                d = Distribution(name=dist.name, digest=sha)
                for bundle in parsed.attestation_bundles:
                    for att in bundle.attestations:
                        att.verify(bundle.publisher, d, offline=True)
            except Exception as exc:  # any failure of the reference is a verdict to compare
                ref_error = f"{type(exc).__name__}: {exc}"
            ref_ms.append(1000 * (time.perf_counter() - t0))

            ok_ours = verdict.status is ProvenanceStatus.VERIFIED
            if ok_ours != (ref_error is None):
                disagreements.append(
                    f"{dist.name}: ours {verdict.status.value} ({verdict.reason or 'ok'}), "
                    f"pypi-attestations {'error ' + ref_error if ref_error else 'ok'}"
                )

    med_ours = statistics.median(ours_ms) * per_att
    med_ref = statistics.median(ref_ms) * per_att
    out.line(f"rounds: {rounds}, {len(ours_ms)} timed verifications per implementation")
    out.figure(
        "verify.sequential_per_attestation",
        med_ours,
        "ms",
        baseline="pypi_attestations Attestation.verify(offline=True) per attestation",
        baseline_value=med_ref,
        text=f"ours (one pre-built verifier): median {med_ours:.2f} ms per attestation; "
        f"pypi-attestations Attestation.verify(offline=True): {med_ref:.2f} ms "
        f"(ours/reference {med_ours / med_ref:.2f})",
    )

    # The CLI as a user runs it: one process per file.
    cli = shutil.which("pypi-attestations") or str(
        Path(sys.executable).with_name("pypi-attestations")
    )
    cli_ms: list[float] = []
    for dist, prov, _raw, _sha, _parsed, _n in items:
        flags = cli_identity(json.loads(prov.read_bytes())["attestation_bundles"][0]["publisher"])
        if flags is None or not Path(cli).exists():
            continue
        t0 = time.perf_counter()
        proc = subprocess.run(
            [cli, "verify", "pypi", "--offline", *flags, "--provenance-file", str(prov), str(dist)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        cli_ms.append(1000 * (time.perf_counter() - t0))
        if proc.returncode != 0:
            disagreements.append(
                f"{dist.name}: ours verified, pypi-attestations CLI said "
                f"{(proc.stdout + proc.stderr).strip().splitlines()[-1:]}"
            )
    if cli_ms:
        med_cli = statistics.median(cli_ms)
        out.figure(
            "verify.cli_per_file",
            med_ours / per_att,
            "ms",
            baseline="pypi-attestations verify pypi --offline, one process per file",
            baseline_value=med_cli,
            text=f"pypi-attestations verify pypi --offline (process per file): median "
            f"{med_cli:.0f} ms per file; ours {med_ours / per_att:.2f} ms per file "
            f"(ours/CLI {med_ours / per_att / med_cli:.4f})",
        )

    # Parallel, cold: distinct bytes per copy (trailing spaces keep the JSON and signatures).
    jobs = [
        Job(raw + b" " * copy, dist.name, sha)
        for copy in range(copies)
        for dist, _prov, raw, sha, _parsed, _n in items
    ]
    n_jobs_att = copies * n_att_total
    seq_verifier = ProvenanceVerifier.from_path(None)
    t0 = time.perf_counter()
    sequential = verify_many(
        jobs, seq_verifier, trust_raw=trust.raw, trust_label=trust.label, workers=1
    )
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    parallel = verify_many(
        jobs,
        ProvenanceVerifier.from_path(None),
        trust_raw=trust.raw,
        trust_label=trust.label,
        workers=workers,
        min_parallel=1,
    )
    t_par = time.perf_counter() - t0
    if parallel != sequential:
        disagreements.append("parallel verdicts differ from sequential ones")
    bad = [v for v in parallel if v.status is not ProvenanceStatus.VERIFIED]
    if bad:
        disagreements.append(f"{len(bad)} parallel verdict(s) not verified: {bad[0].reason}")
    out.figure(
        "verify.parallel_throughput_cold",
        n_jobs_att / t_par,
        "per_s",
        baseline="ours sequential in one process, same attestations",
        baseline_value=n_jobs_att / t_seq,
        text=f"throughput on {workers} worker processes, cold (start-up included): "
        f"{n_jobs_att / t_par:.0f} attestations/s over {n_jobs_att}; sequential "
        f"{n_jobs_att / t_seq:.0f}/s (ratio {t_seq / t_par:.2f})",
    )
    for line in sorted(set(disagreements)):
        out.line(f"DISAGREEMENT: {line}")
    return 1 if disagreements else 0


def main(argv: list[str] | None = None) -> int:
    """Parse flags; skip with a message when the real data is absent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="real-data folder")
    parser.add_argument("--rounds", type=int, default=20, help="passes over the corpus")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument(
        "--copies", type=int, default=150, help="corpus copies for the parallel throughput"
    )
    add_json_flag(parser)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.workers < 1 or args.copies < 1:
        parser.error("--workers and --copies must be at least 1")
    out = Figures(json=args.json)
    data = args.data.resolve()
    if not (data / "pep740").is_dir():
        print(f"skipped: no genuine attestations at {data / 'pep740'} (pass --data)")
        return 0
    # Every reference call rebuilds the production verifier, which logs "TUF repository is
    # loaded in offline mode" each time; that is the expected path, not news.
    logging.getLogger("sigstore").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="forensics-bench-verify-") as tmp:
        # sigstore-python writes a TUF cache under ~/.cache even with offline=True.
        os.environ.setdefault("XDG_CACHE_HOME", str(Path(tmp) / "cache"))
        os.environ.setdefault("XDG_DATA_HOME", str(Path(tmp) / "data"))
        report_load(out, "before")
        status = run(data, args.rounds, args.workers, args.copies, out)
        report_load(out, "after")
        return status


if __name__ == "__main__":
    sys.exit(main())
