"""Detector: a release mixes attested files with files that carry no attestation.

Trusted Publishing attests every file it uploads. A file without an attestation next to attested
ones was uploaded another way: most often an extra wheel added later with a token, which is how
an attacker slips a payload into an existing, trusted-looking release. Where the release line has
always mixed them (platform wheels from another CI), it is habit, reported at info.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, ProvenanceStatus, Severity, isoformat
from forensics.timeline.baseline import CHANNEL, MIN_SUPPORT, Support

MOTIVATION = doc_paragraph(__doc__)

#: An unattested file uploaded this long after the release's attested files was added later.
LATE = timedelta(hours=1)


class PartialProvenance(Detector):
    """One finding per unattested file in a release that has attested files."""

    info = DetectorInfo(
        id="file-without-attestation",
        title="File without attestation in a release whose other files are attested",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats="Platform wheels built on a separate CI without Trusted Publishing are benign; "
        "a line that always mixed them is reported at info.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Flag absent files next to verified ones; late additions are more severe."""
        out = []
        releases = ctx.timeline.releases
        support_of = Support(releases, CHANNEL)
        for rel in releases:
            attested = [f for f in rel.files if f.provenance.status is ProvenanceStatus.VERIFIED]
            if not attested or not any(
                f.provenance.status is ProvenanceStatus.ABSENT for f in rel.files
            ):
                continue
            support = support_of(rel)
            same, total = (support[0], support[1]) if support else (0, 0)
            habitual = same >= MIN_SUPPORT or (total and same / total >= 0.5)
            scope = support[2].describe(total) if support else "earlier releases"
            last_attested = max(
                (f.dist.upload_time for f in attested if f.dist.upload_time), default=None
            )
            for fv in rel.files:
                if fv.provenance.status is not ProvenanceStatus.ABSENT:
                    continue
                up = fv.dist.upload_time
                late = up is not None and last_attested is not None and up - last_attested > LATE
                if habitual and not late:
                    severity = Severity.INFO
                else:
                    severity = Severity.HIGH if late else Severity.MEDIUM
                out.append(
                    self.finding(
                        severity=severity,
                        confidence=Confidence.MEDIUM,
                        summary=(
                            f"{fv.dist.filename} has no attestation while {len(attested)} other "
                            f"file(s) of {rel.version} do"
                            + (
                                f"; it was uploaded {up - last_attested} after them"
                                if late and up and last_attested
                                else ""
                            )
                            + f"; {same} of {total} {scope} mixed attested and unattested files"
                        ),
                        release=rel,
                        file=fv,
                        values={
                            "upload_time": isoformat(up) or "",
                            "last_attested_upload": isoformat(last_attested) or "",
                            "late_threshold_seconds": str(int(LATE.total_seconds())),
                            "baseline_mixed": f"{same} of {total}",
                        },
                        tip="Ask which job uploaded the file; a platform-wheel CI without "
                        "Trusted Publishing is benign, a later token upload is not.",
                    )
                )
        return out
