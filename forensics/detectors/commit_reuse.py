"""Detector: several versions were built from one and the same source commit.

A release process builds each version from its own commit (a version bump at least). Several
versions attested with the same commit mean the publishing capability was replayed: re-run
workflows, or a stolen token or OIDC capability used in a burst (the TanStack pattern). Where the
project has done so before (variants published from one commit), a repeat is its habit.
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
from forensics.models import Confidence, Finding, Severity, isoformat

MOTIVATION = doc_paragraph(__doc__)


class CommitReuse(Detector):
    """One finding per version that shares its source commit with an earlier version."""

    info = DetectorInfo(
        id="commit-reused-across-versions",
        title="Several versions built from the same source commit",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats="Projects that publish several packages or variants from one commit do this "
        "on purpose (reported low once it is the project's habit); a re-run of a failed "
        "release can also repeat a commit.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Read the commit nodes of the timeline's graph with more than one release."""
        position = {rel.version: i for i, rel in enumerate(ctx.timeline.releases)}
        shared = sorted(
            ctx.timeline.releases_sharing_commit().items(),
            key=lambda kv: (position[kv[1][0].version], kv[0]),
        )
        out = []
        habit = 0  # earlier commits that already built several versions
        for node, rels in shared:
            if len(rels) < 2:
                continue
            sha = node.rsplit("@", 1)[-1]
            versions = [r.version for r in rels]
            times = [r.first_upload for r in rels if r.first_upload]
            span = (max(times) - min(times)) if len(times) > 1 else None
            for rel in rels[1:]:  # the first version from a commit is the expected one
                out.append(
                    self.finding(
                        severity=Severity.LOW if habit >= 2 else Severity.HIGH,
                        confidence=Confidence.MEDIUM,
                        summary=(
                            f"{rel.version} was built from commit {sha[:12]}, like "
                            f"{', '.join(v for v in versions if v != rel.version)}"
                            + (f" ({len(rels)} versions within {span})" if span else "")
                            + f"; {habit} earlier commit(s) of the project built several versions"
                        ),
                        release=rel,
                        evidence=claim_evidence(rel),
                        values={
                            "source_repository": node.removeprefix("commit:").rsplit("@", 1)[0],
                            "source_commit": sha,
                            "versions": ", ".join(versions),
                            "first_upload": (isoformat(min(times)) or "") if times else "",
                            "baseline_shared_commits": str(habit),
                        },
                        tip="Compare the versions' contents; a replayed release capability "
                        "publishes several versions from one commit in a short time.",
                    )
                )
            habit += 1
        return out
