"""Run the registered detectors over a context; missing requirements become `Skipped` entries."""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import AnalysisContext, Detector
from forensics.detectors.registry import DETECTORS
from forensics.models import Finding, Skipped


def run_detectors(
    ctx: AnalysisContext, detectors: Sequence[type[Detector]] = DETECTORS
) -> tuple[tuple[Finding, ...], tuple[Skipped, ...]]:
    """Findings (sorted deterministically) and the detectors that could not run, with why."""
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for cls in detectors:
        missing = sorted(cls.info.requires - ctx.available)
        if missing:
            reason = "; ".join(ctx.unavailable.get(m, f"{m} data not collected") for m in missing)
            skipped.append(Skipped(cls.info.id, reason))
            continue
        findings.extend(cls().run(ctx))
    # most severe first, then in the order of the project's history
    position = {rel.version: i for i, rel in enumerate(ctx.timeline.releases)}
    findings.sort(
        key=lambda f: (
            -f.severity.rank,
            position.get(f.version or "", len(position)),
            f.filename or "",
            f.detector,
            f.summary,
        )
    )
    return tuple(findings), tuple(skipped)
