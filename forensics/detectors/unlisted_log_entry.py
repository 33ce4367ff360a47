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
from forensics.models import Confidence, Finding, Severity, isoformat
from forensics.timeline import RecoveredEntry, ReleaseView

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
                if rel.deleted:
                    what = "but the index does not serve this release (deleted or never uploaded)"
                    severity = Severity.HIGH
                else:
                    what = "an extra signing event for a release the index serves"
                    severity = Severity.MEDIUM
                out.append(self._finding(rec, severity, f"{rel.version}: ", what, rel))
        for rec in ctx.timeline.unplaced:
            out.append(
                self._finding(
                    rec,
                    Severity.HIGH,
                    "",
                    "its version is unknown and it matches no file the index serves",
                    None,
                )
            )
        return out

    def _finding(
        self,
        rec: RecoveredEntry,
        severity: Severity,
        prefix: str,
        what: str,
        rel: ReleaseView | None,
    ) -> Finding:
        when = isoformat(rec.log_entry.integrated_time) or "no log time"
        note = f" ({rec.note})" if rec.note else ""
        # a DSSE entry records digests, not names: say what is known (the version) instead
        subject = rec.subject_name or (
            f"a file of {rec.version} (the entry records no file name)"
            if rec.version
            else "an unnamed subject"
        )
        return self.finding(
            severity=severity,
            confidence=Confidence.HIGH if rec.version_source else Confidence.MEDIUM,
            summary=(
                f"{prefix}log entry {rec.log_entry.log_index} ({when}) signs "
                f"{subject}, {what}{note}"
            ),
            release=rel,
            evidence=rec.evidence,
            values={
                "log_index": str(rec.log_entry.log_index),
                "version_source": rec.version_source,
                "source_commit": rec.claims.get("source_commit", ""),
                "source_ref": rec.claims.get("source_ref", ""),
                "run_url": rec.claims.get("run_url", ""),
            },
            tip="Ask the maintainers whether the release was deleted on purpose, and read the "
            "signed subject: a deleted release may still be in people's caches and lockfiles.",
        )
