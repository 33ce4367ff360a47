"""Detector: a release uploaded without attestations where its line's baseline was attested.

Once a project signs it tends to keep signing (Schorlemmer et al., S&P 2024). A release without
attestations after attested ones is how a stolen long-lived API token shows up (Ultralytics
8.3.45/8.3.46). The release is compared with the earlier releases of its own line, so a
maintenance line that never used Trusted Publishing is not judged by the main line's habits, and
a project that went back to tokens for good is reported once, at the change.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
    release_evidence,
)
from forensics.models import Confidence, Finding, isoformat
from forensics.timeline.baseline import CHANNEL, deviations, grade, lower

MOTIVATION = doc_paragraph(__doc__)


class ProvenanceLost(Detector):
    """Releases whose channel is `not attested` against an attested baseline."""

    info = DetectorInfo(
        id="provenance-lost",
        title="Release uploaded without attestations where its line was attested",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats=(
            "Benign causes: a manual upload, `uv publish` or twine without attestations, a CI "
            "outage. Check for a matching tag and workflow run before concluding."
        ),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per release that leaves an attested baseline."""
        out = []
        for dev in deviations(ctx.timeline.releases, CHANNEL, regime=True):
            if dev.value != "not attested":
                continue
            rel = dev.release
            severity = grade(dev)
            if dev.transition:
                # a project that stopped signing for good changed its process; still worth a look
                severity = lower(severity)
            out.append(
                self.finding(
                    severity=severity,
                    confidence=Confidence.MEDIUM,
                    summary=(
                        f"{rel.version} (uploaded {isoformat(rel.first_upload)}) has no "
                        f"attestations: {dev.comparison()}"
                    ),
                    release=rel,
                    evidence=release_evidence(rel),
                    values={**dev.values(), "files": str(len(rel.files))},
                    tip="Look for an API-token upload: no tag, no workflow run, no log entry.",
                )
            )
        return out
