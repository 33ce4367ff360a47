"""Detector: the Trusted Publisher (kind, repository, workflow) differs from the previous release."""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    release_evidence,
)
from forensics.models import Confidence, Finding, Severity
from forensics.timeline import ReleaseState


class PublisherChanged(Detector):
    """Releases in state `changed`, and releases attested by several publishers at once."""

    info = DetectorInfo(
        id="publisher-changed",
        title="Publisher identity changed or is inconsistent within a release",
        requires=frozenset({Requirement.PEP740}),
        motivation=(
            "An attacker who can register a Trusted Publisher, or push a new workflow, signs with "
            "a different identity than the project's history."
        ),
        caveats="Repository transfers and workflow renames are benign causes.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per changed or multi-publisher release."""
        out = []
        for rel in ctx.timeline.releases:
            if ReleaseState.CHANGED in rel.states:
                prev = ctx.timeline.previous_attested(rel.version)
                before = ", ".join(sorted(prev.publishers)) if prev else "?"
                after = ", ".join(sorted(rel.publishers))
                out.append(
                    self.finding(
                        severity=Severity.MEDIUM,
                        confidence=Confidence.MEDIUM,
                        summary=f"{rel.version}: publisher changed from {before} to {after}",
                        release=rel,
                        evidence=release_evidence(rel),
                        values={
                            "previous_version": prev.version if prev else "",
                            "previous_publisher": before,
                            "publisher": after,
                        },
                        tip="A repository transfer or workflow rename explains this; an "
                        "unannounced new repository or workflow does not.",
                    )
                )
            elif ReleaseState.INCONSISTENT in rel.states and len(rel.publishers) > 1:
                out.append(
                    self.finding(
                        severity=Severity.MEDIUM,
                        confidence=Confidence.HIGH,
                        summary=(
                            f"{rel.version}: files attested by {len(rel.publishers)} different "
                            f"publishers: {', '.join(sorted(rel.publishers))}"
                        ),
                        release=rel,
                        evidence=release_evidence(rel),
                        values={"publishers": ", ".join(sorted(rel.publishers))},
                    )
                )
        return out
