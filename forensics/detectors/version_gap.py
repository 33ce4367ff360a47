"""Detector: patch versions missing from an otherwise contiguous release line (a lead).

A version that was published and then deleted leaves a hole in the line (1.4.0, 1.4.1, 1.4.3):
the Ultralytics releases removed from PyPI are the example. Projects also skip numbers on
purpose (a tag that failed to build), so this is an info lead and never more; its missing
versions are also what a transparency-log recovery can search for
(`forensics.timeline.numeric.version_gaps`).

Sparse schemes (CalVer days, even-only numbers) are left alone: a line needs three patch numbers
and at most a quarter of its range missing, in runs of at most two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from forensics.detectors.interface import AnalysisContext, Detector, DetectorInfo, doc_paragraph
from forensics.models import Confidence, Finding, Severity
from forensics.timeline.numeric import version_gaps


class VersionGap(Detector):
    """Missing patch versions, one finding per missing version."""

    info = DetectorInfo(
        id="version-gap",
        title="Version missing from an otherwise contiguous release line",
        requires=frozenset(),
        motivation=doc_paragraph(__doc__),
        caveats=doc_paragraph(__doc__, 2),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Info findings; a version the timeline knows otherwise (log, intel) is no gap."""
        listed = [r.version for r in ctx.timeline.releases if not r.deleted]
        known = {r.version for r in ctx.timeline.releases}
        evidence = [ctx.timeline.project_info.evidence] if ctx.timeline.project_info else []
        out = []
        for gap in version_gaps(listed):
            for version in gap.missing:
                if version in known:
                    continue
                out.append(
                    replace(
                        self.finding(
                            severity=Severity.INFO,
                            confidence=Confidence.LOW,
                            summary=(
                                f"{version} is missing from line {gap.line} "
                                f"({gap.present} other patch versions listed)"
                            ),
                            evidence=[e for e in evidence if e is not None],
                            values={
                                "line": gap.line,
                                "missing": version,
                                "listed_in_line": str(gap.present),
                            },
                            tip=(
                                "Search the transparency log and the repository's tags for this "
                                "version: a deleted release leaves traces there."
                            ),
                        ),
                        version=version,  # the missing version is the subject
                    )
                )
        return out
