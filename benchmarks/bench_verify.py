"""Benchmark PEP 740 verification on genuine PyPI provenance: ours vs pypi-attestations.

    .venv/bin/python benchmarks/bench_verify.py              # reads ../shared/real-data/pep740
    .venv/bin/python benchmarks/bench_verify.py --rounds 10 --data /path/to/real-data

The corpus is every Integrity-API provenance object (`*.provenance`) in `pep740/` whose
distribution file sits next to it. Each is verified offline against sigstore's embedded production
trust root, twice per round:

* ours: one `ProvenanceVerifier` (one sigstore `Verifier`, built once) for the whole corpus;
* reference: `pypi_attestations.Attestation.verify(publisher, dist, offline=True)` per attestation,
  which builds a fresh production `Verifier` on every call.

Both must accept every file; a disagreement is printed and the exit status is 1, since a speed-up
that changes verdicts is no speed-up. Medians are per file, over all rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "real-data"


def corpus(data: Path) -> list[tuple[Path, Path]]:
    """(distribution, provenance) pairs under data/pep740."""
    pairs = []
    for prov in sorted((data / "pep740").rglob("*.provenance")):
        dist = prov.with_name(prov.name.removesuffix(".provenance"))
        if dist.is_file():
            pairs.append((dist, prov))
    return pairs


def run(data: Path, rounds: int) -> int:
    """Time both verifiers over the corpus and print the figures; 0 when verdicts agree."""
    from pypi_attestations import Distribution, Provenance

    from forensics.models import ProvenanceStatus
    from forensics.provenance.verify import ProvenanceVerifier

    pairs = corpus(data)
    if not pairs:
        print(f"no provenance with its distribution under {data / 'pep740'}")
        return 1
    items = []
    for dist, prov in pairs:
        raw = prov.read_bytes()
        sha = hashlib.sha256(dist.read_bytes()).hexdigest()
        parsed = Provenance.model_validate_json(raw)
        n_att = sum(len(b.attestations) for b in parsed.attestation_bundles)
        items.append((dist, raw, sha, parsed, n_att))
    n_att_total = sum(i[4] for i in items)
    print(f"corpus: {len(items)} files, {n_att_total} attestations ({data / 'pep740'})")

    t0 = time.perf_counter()
    ours = ProvenanceVerifier.from_path(None)  # production root embedded in sigstore
    print(f"ours: building the one verifier took {1000 * (time.perf_counter() - t0):.1f} ms")

    ours_ms: list[float] = []
    ref_ms: list[float] = []
    disagreements: list[str] = []
    for _ in range(rounds):
        for dist, raw, sha, parsed, _n in items:
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

    med_ours = statistics.median(ours_ms)
    med_ref = statistics.median(ref_ms)
    per_att = len(items) / n_att_total
    print(f"rounds: {rounds}, {len(ours_ms)} timed verifications per implementation")
    print(
        f"ours (one pre-built Verifier): median {med_ours:.2f} ms per file, "
        f"{med_ours * per_att:.2f} ms per attestation"
    )
    print(
        f"pypi-attestations Attestation.verify(offline=True): median {med_ref:.2f} ms per file, "
        f"{med_ref * per_att:.2f} ms per attestation"
    )
    print(f"ratio pypi-attestations/ours: {med_ref / med_ours:.2f}")
    for line in sorted(set(disagreements)):
        print(f"DISAGREEMENT: {line}")
    return 1 if disagreements else 0


def main(argv: list[str] | None = None) -> int:
    """Parse flags; skip with a message when the real data is absent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="real-data folder")
    parser.add_argument("--rounds", type=int, default=20, help="passes over the corpus")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
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
        return run(data, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
