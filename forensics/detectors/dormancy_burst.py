"""Detector: a long dormancy followed by a burst of releases (index data only).

An abandoned project whose maintainer account or token is taken over typically wakes up with
several releases in quick succession: the attacker iterates on a payload (ctx, 2022). The gap is
judged against the project's own cadence, on a log scale: it must exceed ten times the median
interval, twice the longest earlier gap, and half a year, and be followed by several releases
within two days.

Revival after a long pause is common and legitimate (a new maintainer; a release, a bug, two
fix-up releases within a day: MarkupSafe 0.16-0.18 after 670 days), so on index data alone a
revival is info and a revival with a burst of two or more releases within 48 hours is low. The
source check (`source-tag-missing`) is what can corroborate it: releases without the tags the
project always pushed.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import timedelta

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    doc_paragraph,
    release_evidence,
)
from forensics.models import Confidence, Finding, Severity, isoformat
from forensics.timeline.numeric import MIN_HISTORY, comparable, days, human

DORMANT = timedelta(days=180)
#: The gap must be this multiple of the median earlier interval ...
EFFECT = 10.0
#: ... and this multiple of the longest earlier gap.
BEYOND_LONGEST = 2.0
BURST_WINDOW = timedelta(hours=48)
BURST = 2


class DormancyBurst(Detector):
    """Releases right after the project's longest silence, in quick succession."""

    info = DetectorInfo(
        id="dormancy-burst",
        title="Long dormancy followed by a burst of releases",
        requires=frozenset(),
        motivation=doc_paragraph(__doc__),
        caveats=doc_paragraph(__doc__, 2),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per revival, on its first release."""
        releases = comparable(ctx.timeline.releases)
        times = [r.first_upload for r in releases if r.first_upload is not None]
        out: list[Finding] = []
        earlier: list[timedelta] = []  # sorted intervals before release i (insort: O(n log n))
        for i in range(1, len(releases)):
            gap = times[i] - times[i - 1]
            typical = earlier[len(earlier) // 2] if earlier else None
            longest = earlier[-1] if earlier else timedelta(0)
            count = len(earlier)
            bisect.insort(earlier, gap)
            if gap < DORMANT:
                continue
            warm = count >= MIN_HISTORY
            rare = (
                typical is not None and gap >= EFFECT * typical and gap >= BEYOND_LONGEST * longest
            )
            if not rare:
                continue
            burst = [
                r
                for r in releases[i:]
                if r.first_upload and r.first_upload - times[i] <= BURST_WINDOW
            ]
            if warm and len(burst) >= BURST:
                severity, confidence = Severity.LOW, Confidence.LOW
            else:
                severity, confidence = Severity.INFO, Confidence.LOW
            rel = releases[i]
            assert typical is not None
            out.append(
                self.finding(
                    severity=severity,
                    confidence=confidence,
                    summary=(
                        f"{rel.version} ({isoformat(rel.first_upload)}) ends {days(gap):.0f} days "
                        f"of silence (median interval of the {count} earlier: "
                        f"{human(typical)}, longest: {human(longest)}); {len(burst)} release(s) "
                        f"within {human(BURST_WINDOW)}: {', '.join(r.version for r in burst)}"
                    ),
                    release=rel,
                    evidence=[e for r in burst for e in release_evidence(r)],
                    values={
                        "gap_days": f"{days(gap):.1f}",
                        "median_interval": human(typical),
                        "longest_earlier_gap": human(longest),
                        "earlier_intervals": str(count),
                        "burst_releases": str(len(burst)),
                        "burst_window": human(BURST_WINDOW),
                        "baseline": "project",
                    },
                    tip=(
                        "Check who uploaded after the silence: a new maintainer announced in the "
                        "repository, matching tags and CI runs; ownership changes on PyPI."
                    ),
                )
            )
        return out
