"""Detector: an attestation names a commit or workflow run that GitHub says does not exist.

A genuine Trusted-Publishing signature names the commit and run that built the release, and
both stay visible in a public repository. If GitHub answers "no such commit" or "no such run",
the commit was force-pushed away or lived only in a fork or a deleted branch, or the repository
was re-created: the released code cannot be traced to the project's history.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    claim_evidence,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, Severity

MOTIVATION = doc_paragraph(__doc__)


class AttestedSourceMissing(Detector):
    """One finding per release whose attested commit or run is unknown to GitHub."""

    info = DetectorInfo(
        id="attested-source-missing",
        title="Attested commit or workflow run does not exist on GitHub",
        requires=frozenset({Requirement.GITHUB}),
        motivation=MOTIVATION,
        caveats="Workflow runs expire after the repository's retention period (90 days by "
        "default), so an old missing run is weak evidence; a missing commit is not.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Look up each release's attested commit and run in what GitHub answered."""
        out = []
        for rel in ctx.timeline.releases:
            gone = [what for what, _e in rel.source.missing]
            refs = [e for _what, e in rel.source.missing] + claim_evidence(rel)
            if gone:
                commit_gone = any(g.startswith("commit") for g in gone)
                out.append(
                    self.finding(
                        severity=Severity.HIGH if commit_gone else Severity.MEDIUM,
                        confidence=Confidence.MEDIUM,
                        summary=f"{rel.version}: GitHub does not know the attested "
                        + ", ".join(sorted(set(gone))),
                        release=rel,
                        evidence=refs,
                        values={"missing": ", ".join(sorted(set(gone)))},
                        tip="Search forks and deleted branches for the commit; a release built "
                        "outside the repository's history cannot be traced to its source.",
                    )
                )
        return out
