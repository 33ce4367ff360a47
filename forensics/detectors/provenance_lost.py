"""Detector: a release without attestations after the project adopted Trusted Publishing."""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    release_evidence,
)
from forensics.models import Confidence, Finding, Severity, isoformat
from forensics.timeline import ReleaseState


class ProvenanceLost(Detector):
    """Releases in state `lost` (the Ultralytics 8.3.45/8.3.46 pattern)."""

    info = DetectorInfo(
        id="provenance-lost",
        title="Release uploaded without attestations after Trusted Publishing was adopted",
        requires=frozenset({Requirement.PEP740}),
        motivation=(
            "Once a project signs it tends to keep signing (Schorlemmer et al., S&P 2024). "
            "A release without attestations after attested ones is how a stolen long-lived "
            "API token shows up."
        ),
        caveats=(
            "Benign causes: a manual upload, `uv publish` or twine without attestations, a CI "
            "outage. Check for a matching tag and workflow run before concluding."
        ),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per lost release."""
        out = []
        for rel in ctx.timeline.releases:
            if ReleaseState.LOST not in rel.states:
                continue
            prev = ctx.timeline.previous_attested(rel.version)
            values = {"files": str(len(rel.files))}
            if prev is not None:
                values["previous_attested_version"] = prev.version
                values["previous_publisher"] = ", ".join(sorted(prev.publishers))
            out.append(
                self.finding(
                    severity=Severity.HIGH,
                    confidence=Confidence.MEDIUM,
                    summary=(
                        f"{rel.version} (uploaded {isoformat(rel.first_upload)}) "
                        "has no attestations, "
                        f"but {prev.version if prev else 'an earlier release'} was published "
                        "through Trusted Publishing"
                    ),
                    release=rel,
                    evidence=release_evidence(rel),
                    values=values,
                    tip="Look for an API-token upload: no tag, no workflow run, no log entry.",
                )
            )
        return out
