"""Detector: the log's copy of an attestation's entry differs from the copy PyPI serves.

An attestation embeds its transparency-log entry (body, integrated time, index, SET, proof). The
log is append-only and independently operated, so the entry it serves for the same UUID must say
the same thing; a difference means one of the two copies was altered, and a served entry that
fails independent verification (proof, checkpoint, SET) cannot vouch for the signing time.
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
from forensics.timeline import ReleaseView

MOTIVATION = doc_paragraph(__doc__)


class LogEntryMismatch(Detector):
    """One finding per served entry that differs from, or fails to verify against, the log."""

    info = DetectorInfo(
        id="log-entry-mismatch",
        title="Transparency-log entry differs from the copy embedded in the provenance",
        requires=frozenset({Requirement.REKOR}),
        motivation=MOTIVATION,
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Report differences and independent-verification failures."""
        tl = ctx.timeline
        out = [
            self.finding(
                severity=Severity.CRITICAL,
                confidence=Confidence.HIGH,
                summary="the log's current head is not consistent with a checkpoint embedded in "
                f"the provenance ({why}): the log showed different trees (split view)",
                values={"consistency": why},
                tip="Fetch two checkpoints of the log from independent vantage points and "
                "compare them; a split view is a compromise of the log, not of the project.",
            )
            for why in tl.log_inconsistent
        ]
        for rel in tl.releases:
            out.extend(self._release(rel))
        return out

    def _release(self, rel: ReleaseView) -> list[Finding]:
        out = []
        for cc in rel.log_checks:
            problems = list(cc.differences)
            if cc.verification:
                problems.append(f"the log's copy fails verification: {cc.verification}")
            if not problems:
                continue
            fv = next((f for f in rel.files if f.dist.filename == cc.filename), None)
            out.append(
                self.finding(
                    severity=Severity.HIGH,
                    confidence=Confidence.HIGH,
                    summary=f"{cc.filename}: log entry {cc.log_index}: " + "; ".join(problems),
                    release=rel,
                    file=fv,
                    evidence=cc.evidence,
                    values={"log_index": str(cc.log_index)},
                    tip="Fetch the entry from the log yourself and compare it with the copy in "
                    "the provenance.",
                )
            )
        return out
