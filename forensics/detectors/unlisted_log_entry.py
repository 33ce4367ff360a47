"""Detector: the transparency log holds releases that the index no longer serves.

PyPI deletes a release's provenance with the release, but the log keeps the signing event. An
entry with the project's identity and no matching file is a deleted (or never uploaded) release.
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


class UnlistedLogEntry(Detector):
    """One finding per deleted release recovered from the log, and per orphan entry."""

    info = DetectorInfo(
        id="unlisted-log-entry",
        title="Signing event in the log for a release the index does not serve",
        requires=frozenset({Requirement.REKOR}),
        motivation=MOTIVATION,
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Report recovered releases and entries whose version is unknown."""
        out = []
        for rel in ctx.timeline.releases:
            for rec in rel.recovered:
                out.append(
                    self.finding(
                        severity=Severity.HIGH,
                        confidence=Confidence.HIGH if rec.version_source else Confidence.MEDIUM,
                        summary=(
                            f"{rel.version}: log entry {rec.log_entry.log_index} signs "
                            f"{rec.subject_name or 'an unnamed subject'}, but the index does not "
                            "serve this release (deleted or never uploaded)"
                        ),
                        release=rel,
                        evidence=rec.evidence,
                        values={
                            "log_index": str(rec.log_entry.log_index),
                            "version_source": rec.version_source,
                            "source_commit": rec.claims.get("source_commit", ""),
                            "source_ref": rec.claims.get("source_ref", ""),
                        },
                    )
                )
        return out
