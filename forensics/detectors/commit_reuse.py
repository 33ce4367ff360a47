"""Detector: several versions were built from one and the same source commit.

A release process builds each version from its own commit (a version bump at least). Several
versions attested with the same commit mean the publishing capability was replayed: re-run
workflows, or a stolen token or OIDC capability used in a burst (the TanStack pattern).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, ProvenanceStatus, Severity, isoformat
from forensics.timeline import ReleaseView

MOTIVATION = doc_paragraph(__doc__)


class CommitReuse(Detector):
    """One finding per version that shares its source commit with another version."""

    info = DetectorInfo(
        id="commit-reused-across-versions",
        title="Several versions built from the same source commit",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats="Projects that publish several packages or variants from one commit do this "
        "on purpose; a re-run of a failed release can also repeat a commit.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Group attested releases (served and recovered) by commit."""
        by_commit: dict[tuple[str, str], list[ReleaseView]] = defaultdict(list)
        for rel in ctx.timeline.releases:
            commits = {
                (fv.provenance.claims.get("source_repository", ""), c)
                for fv in rel.files
                if fv.provenance.status is ProvenanceStatus.VERIFIED
                and (c := fv.provenance.claims.get("source_commit"))
            }
            commits |= {
                (rec.claims.get("source_repository", ""), c)
                for rec in rel.recovered
                if (c := rec.claims.get("source_commit"))
            }
            for key in commits:
                by_commit[key].append(rel)
        out = []
        for (repo, commit), rels in sorted(by_commit.items()):
            if len(rels) < 2:
                continue
            versions = [r.version for r in rels]
            times = [r.first_upload for r in rels if r.first_upload]
            span = (max(times) - min(times)) if len(times) > 1 else None
            for rel in rels[1:]:  # the first version from a commit is the expected one
                out.append(
                    self.finding(
                        severity=Severity.HIGH,
                        confidence=Confidence.MEDIUM,
                        summary=(
                            f"{rel.version} was built from commit {commit[:12]}, like "
                            f"{', '.join(v for v in versions if v != rel.version)}"
                            + (f" ({len(rels)} versions within {span})" if span else "")
                        ),
                        release=rel,
                        values={
                            "source_repository": repo,
                            "source_commit": commit,
                            "versions": ", ".join(versions),
                            "first_upload": (isoformat(min(times)) or "") if times else "",
                        },
                    )
                )
        return out
