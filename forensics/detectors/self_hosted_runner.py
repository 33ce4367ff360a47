"""Detector: an attestation was signed on a self-hosted runner.

Self-hosted runners persist state between jobs and are often shared, so a compromise of one job
can taint a release; GitHub-hosted runners are ephemeral. The claim is .11 (runner environment).
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, Severity

MOTIVATION = doc_paragraph(__doc__)


class SelfHostedRunner(Detector):
    """One finding per file signed on a self-hosted runner."""

    info = DetectorInfo(
        id="self-hosted-runner",
        title="Release signed on a self-hosted runner",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats="Some projects always build on their own runners; `claim-drift` tells a change.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Flag runner_environment == self-hosted."""
        return [
            self.finding(
                severity=Severity.MEDIUM,
                confidence=Confidence.HIGH,
                summary=f"{fv.dist.filename}: signed on a self-hosted runner",
                release=rel,
                file=fv,
                values={"runner_environment": "self-hosted"},
            )
            for rel in ctx.timeline.releases
            for fv in rel.files
            if fv.provenance.claims.get("runner_environment") == "self-hosted"
        ]
