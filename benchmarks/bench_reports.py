"""Report rendering at botocore scale: every format for a 2,558-release history.

    .venv/bin/python benchmarks/bench_reports.py            # human-readable figures
    .venv/bin/python benchmarks/bench_reports.py --json     # one JSON object per line

The history is synthetic and built in memory (no lab world: building and signing 5,000 files
would dominate the run): 2,558 releases of two files, each with a verified attestation, its
certificate, SCT and log entry, plus a few deleted releases recovered from the log and findings
on them, so every kind of mark and every report section is exercised. Target: HTML in <= 3 s on
the project's 2-core machine (issue 10). A format that can be written as it is made (JSON) is
also timed that way (`write_<format>_s`, what the CLI does); the run fails if the written text
differs from the rendered one.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from forensics.analysis import Investigation
from forensics.models import (
    AttestationResult,
    CertificateFacts,
    Confidence,
    DistFile,
    EvidenceRef,
    FileProvenance,
    Finding,
    LogEntry,
    Pep740Support,
    ProvenanceKey,
    ProvenanceStatus,
    Publisher,
    Severity,
)
from forensics.reports import Format, StreamingRenderer, renderer_for
from forensics.timeline import RecoveredEntry, build_timeline

TARGET_HTML_S = 3.0


def emit(record: dict[str, object], as_json: bool) -> None:
    """One figure: a JSON line (`--json`) or a readable line."""
    if as_json:
        sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
    else:
        sys.stdout.write(
            f"{record['name']:28} {record['value']:>9.3f} {record['unit']}"
            + (f"  cpu {record['cpu_s']} s" if "cpu_s" in record else "")
            + (f"  (target <= {record['target']})" if "target" in record else "")
            + "\n"
        )


def synthetic(n_releases: int = 2558, seed: int = 0) -> Investigation:
    """A botocore-sized investigation (deterministic for a seed)."""
    rng = random.Random(seed)
    t = datetime(2014, 1, 1, tzinfo=UTC)
    pub = Publisher("GitHub", "boto/botocore", "release.yml", "pypi")
    files: list[DistFile] = []
    prov: dict[str, FileProvenance] = {}
    recovered: list[RecoveredEntry] = []
    findings: list[Finding] = []
    deleted = {n_releases // 3, n_releases // 2, n_releases - 40}
    for i in range(n_releases):
        t += timedelta(hours=rng.uniform(6, 60))
        version = f"1.{i // 100}.{i % 100}"
        ev = EvidenceRef(f"https://pypi.org/pypi/botocore/{version}/json", "a" * 64, t)
        if i in deleted:
            entry = LogEntry(10_000 + i, t, "dsse/0.0.1", verified=True)
            recovered.append(
                RecoveredEntry(
                    entry, {"source_commit": f"{i:040x}"}, None, None, version, "ref", (ev,)
                )
            )
            findings.append(
                Finding(
                    "unlisted-log-entry",
                    Severity.HIGH,
                    Confidence.HIGH,
                    f"{version}: log entry signs a deleted release",
                    version,
                    None,
                    (ev,),
                )
            )
            continue
        for j, name in enumerate(
            (f"botocore-{version}-py3-none-any.whl", f"botocore-{version}.tar.gz")
        ):
            up = t + timedelta(seconds=5 * j)
            files.append(
                DistFile(
                    "botocore",
                    version,
                    name,
                    f"{i:032x}{j:032x}",
                    1000,
                    up,
                    "bdist_wheel" if j == 0 else "sdist",
                    False,
                    None,
                    f"https://files.example/{name}",
                    ev,
                    ProvenanceKey.URL,
                    "https://x",
                )
            )
            cert = CertificateFacts(
                f"{i}",
                up - timedelta(seconds=9),
                up + timedelta(minutes=10),
                "sigstore-intermediate",
                ("https://github.com/boto/botocore",),
                up - timedelta(seconds=8),
            )
            att = AttestationResult(
                "https://docs.pypi.org/attestations/publish/v1",
                True,
                "",
                pub,
                {"source_commit": f"{i:040x}"},
                cert,
                name,
                None,
                (LogEntry(i * 2 + j, up - timedelta(seconds=3), "dsse/0.0.1", verified=True),),
            )
            prov[name] = FileProvenance(ProvenanceStatus.VERIFIED, "", (att,), ev)
    tl = build_timeline("botocore", files, prov, pep740=Pep740Support.YES, recovered=recovered)
    return Investigation(
        "botocore",
        t + timedelta(days=1),
        {"index": {"base_url": "https://pypi.org", "pep740": "yes"}},
        tl,
        tuple(findings),
        (),
    )


def main() -> int:
    """Measure every format once (after one warm-up of matplotlib)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="JSON lines")
    parser.add_argument("--releases", type=int, default=2558)
    parser.add_argument(
        "--case",
        help="render a collected case instead (e.g. `forensics investigate botocore --case "
        "/tmp/botocore-case` first); its project name is read from the case",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    if args.case:
        from forensics.analysis import analyze
        from forensics.evidence import EvidenceStore

        with EvidenceStore.open(args.case, create=False) as store:
            inv = analyze(store)
    else:
        inv = synthetic(args.releases)
    emit(
        {
            "name": "build_investigation_s",
            "value": time.perf_counter() - start,
            "unit": "s",
            "releases": len(inv.timeline.releases),
            "events": len(inv.timeline.events),
        },
        args.json,
    )
    renderer_for(Format.HTML).render(synthetic(20))  # warm-up: imports, font cache
    ok = True
    for fmt in Format:
        start, cpu = time.perf_counter(), time.process_time()
        out = renderer_for(fmt, width=160).render(inv)
        elapsed = time.perf_counter() - start
        rec: dict[str, object] = {
            "name": f"render_{fmt.value}_s",
            "value": elapsed,
            "unit": "s",
            # CPU time too: on a shared machine wall time includes waiting for a core
            "cpu_s": round(time.process_time() - cpu, 3),
            "bytes": len(out.encode()),
        }
        if fmt is Format.HTML:
            rec["target"] = TARGET_HTML_S
            ok = ok and elapsed <= TARGET_HTML_S
        emit(rec, args.json)
        renderer = renderer_for(fmt, width=160)
        if isinstance(renderer, StreamingRenderer):
            # what the CLI does with -o: the document written as it is made, never held whole
            with tempfile.TemporaryFile("w+", encoding="utf-8") as f:
                start, cpu = time.perf_counter(), time.process_time()
                renderer.write(inv, f)
                elapsed = time.perf_counter() - start
                cpu_s = round(time.process_time() - cpu, 3)
                f.seek(0)
                same = f.read() == out
            emit(
                {
                    "name": f"write_{fmt.value}_s",
                    "value": elapsed,
                    "unit": "s",
                    "cpu_s": cpu_s,
                    "same_as_render": same,
                },
                args.json,
            )
            ok = ok and same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
