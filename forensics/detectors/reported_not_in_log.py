"""Detector: an outside report names a release that left no signing event in the log.

Every Trusted-Publishing upload is signed and logged before it reaches the index. When an
advisory reports a release that the index no longer serves, and the transparency log holds no
entry with the project's identity for it, the release was uploaded some other way: with a
long-lived API token, as Ultralytics 8.3.45 and 8.3.46 were.
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


class ReportedNotInLog(Detector):
    """One finding per reported, no-longer-served release without any log entry."""

    info = DetectorInfo(
        id="reported-release-not-in-log",
        title="Reported release has no signing event in the transparency log",
        requires=frozenset({Requirement.REKOR}),
        motivation=MOTIVATION,
        caveats=(
            "The log's search index is best-effort, and identities that embed the version (tag "
            "refs) are found only by guessing the version; a miss is strong evidence, not proof."
        ),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Deleted releases known from reports only."""
        out = []
        for rel in ctx.timeline.releases:
            if not (rel.deleted and rel.reported and not rel.recovered):
                continue
            sources = "; ".join(r.citation for r in rel.reported)
            out.append(
                self.finding(
                    severity=Severity.HIGH,
                    confidence=Confidence.MEDIUM,
                    summary=(
                        f"{rel.version} is reported ({sources}) but the index no longer serves it "
                        "and the transparency log holds no signing event with the project's "
                        "identity for it: it was not published through Trusted Publishing"
                    ),
                    release=rel,
                    evidence=[e for r in rel.reported for e in r.evidence],
                    values={"reported_by": sources},
                    tip="Look for a long-lived API token: check the account's tokens and the "
                    "project's journal of uploads.",
                )
            )
        return out
