"""Detector: a file whose size is far outside its line's sizes for that kind of file.

A payload, a bundled binary or a build from another tree changes a file's size; releases of a
line built by one process grow slowly. Each file is compared with the same kind of file (sdist,
pure wheel, one platform) in the earlier releases of its line, on a log scale: it must be at
least four times smaller or larger than their median, more than six scaled MADs away, and
outside twice the range they span.

Accidentally packaged files (a virtualenv or build tree in an sdist: pytest 2.8.0's sdist is
15 times its neighbours) and deliberate repackaging are common, so size is weak evidence on its
own: low when it is a one-off, info when the new size persists, never above low.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from forensics.detectors.interface import AnalysisContext, Detector, DetectorInfo, doc_paragraph
from forensics.models import Confidence, Finding, Severity
from forensics.timeline import FileView, ReleaseView
from forensics.timeline.numeric import (
    MIN_HISTORY,
    comparable,
    history,
    kind_of,
    later_in_line,
    log_ratio_to_median,
    median,
    persistence,
    robust_log_z,
)

RATIO = math.log10(4)
Z = 6.0
RANGE = 2.0


def _family_sizes(rel: ReleaseView) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for fv in rel.files:
        if fv.dist.size:
            out.setdefault(kind_of(fv).family, []).append(fv.dist.size)
    return out


def _sizes(releases: Sequence[ReleaseView], family: str) -> list[int]:
    return [
        fv.dist.size
        for r in releases
        for fv in r.files
        if fv.dist.size and kind_of(fv).family == family
    ]


def _within(versions: set[str]) -> Callable[[ReleaseView], bool]:
    return lambda rel: rel.version in versions


class SizeOutlier(Detector):
    """Files far outside the size range of their kind in their line."""

    info = DetectorInfo(
        id="size-outlier",
        title="File size far outside the line's sizes for that kind of file",
        requires=frozenset(),
        motivation=doc_paragraph(__doc__),
        caveats=doc_paragraph(__doc__, 2),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """At most one finding per release: its most extreme file."""
        releases = comparable(ctx.timeline.releases)
        by_family = {id(r): _family_sizes(r) for r in releases}
        out: list[Finding] = []
        for i, rel in enumerate(releases):
            hist = history(releases, i)
            worst: tuple[float, FileView, list[int]] | None = None
            for fv in rel.files:
                size = fv.dist.size
                if not size:
                    continue
                family = kind_of(fv).family
                sample = [n for r in hist.releases for n in by_family[id(r)].get(family, ())]
                if len(sample) < MIN_HISTORY:
                    continue
                ratio = log_ratio_to_median(size, sample)
                z = robust_log_z(size, sample)
                outside = size > RANGE * max(sample) or size * RANGE < min(sample)
                rare = abs(ratio) >= RATIO and abs(z) >= Z and outside
                if rare and (worst is None or abs(ratio) > abs(worst[0])):
                    worst = (ratio, fv, sample)
            if worst is None:
                continue
            ratio, fv, sample = worst
            size = fv.dist.size or 0
            family = kind_of(fv).family
            later_sizes = [(r, _sizes([r], family)) for r in later_in_line(releases, i)]
            near = {
                r.version
                for r, sz in later_sizes
                if sz and abs(log_ratio_to_median(median(sz), [size])) <= math.log10(2)
            }
            kept = persistence(rel, [r for r, sz in later_sizes if sz], _within(near))
            persisted = kept.releases
            severity = Severity.INFO if kept.settled or not hist.warm else Severity.LOW
            factor = 10**ratio
            direction = f"{factor:.1f}× larger" if ratio > 0 else f"{1 / factor:.1f}× smaller"
            out.append(
                self.finding(
                    severity=severity,
                    confidence=Confidence.LOW,
                    summary=(
                        f"{fv.dist.filename} ({size:,} bytes) is {direction} than the median "
                        f"{family} of {len(sample)} earlier files of the {hist.scope} "
                        f"(range {min(sample):,}–{max(sample):,})"
                        + (
                            f"; the new size persisted for {persisted} release(s)"
                            if persisted
                            else ""
                        )
                    ),
                    release=rel,
                    file=fv,
                    values={
                        "size": str(size),
                        "median": str(int(median(sample))),
                        "min": str(min(sample)),
                        "max": str(max(sample)),
                        "samples": str(len(sample)),
                        "log10_ratio": f"{ratio:.2f}",
                        "baseline": hist.scope,
                        "persisted_for": str(persisted),
                    },
                    tip="Diff this file against the previous release's file of the same kind.",
                )
            )
        return out
