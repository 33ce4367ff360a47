"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

from forensics.analysis import Investigation


def facts(inv: Investigation) -> tuple[object, ...]:
    """What a responder reads: findings, recovered releases, per-file verdicts."""
    findings = sorted((f.detector, f.version or "", f.severity.value) for f in inv.findings)
    recovered = sorted((r.version, len(r.recovered)) for r in inv.timeline.releases)
    files = sorted(
        (f.dist.filename, f.provenance.status.value) for r in inv.timeline.releases for f in r.files
    )
    return tuple(findings), tuple(recovered), tuple(files)
