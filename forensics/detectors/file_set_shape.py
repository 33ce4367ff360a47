"""Detector: a release whose file set breaks its line's shape (index data only).

A line's usual file set (sdist, pure wheel, platform wheels) is a fingerprint of its build
process. A release built by hand from a stolen token tends to ship what one laptop can build:
only an sdist, or a single wheel, where every earlier release of the line shipped twenty
platform wheels.

Projects drop platforms (Python 2, 32-bit Windows) and add new ones all the time; such a change
persists in the following releases over weeks and is info ("persisted for N releases"). A
one-off loss of usual files is low; medium needs a release without any wheel where each of at least
five earlier releases of the line had wheels, that is not a pre-release and not the start of a new
normal, and whose line ships platform wheels in every earlier release (a pure wheel is what any
`python -m build` makes, and forgetting to upload it was a common manual-release slip; a
platform matrix is what an outsider cannot easily reproduce). Files a release gains are never
more than info.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    doc_paragraph,
    release_evidence,
)
from forensics.models import Confidence, Finding, Severity
from forensics.timeline import ReleaseView
from forensics.timeline.numeric import (
    comparable,
    history,
    human,
    is_prerelease,
    kind_of,
    later_in_line,
    persistence,
    release_shape,
)

#: A family is "usual" when at least this share of the history shipped it.
USUAL = 0.9
LEGACY = frozenset({"egg", "installer", "other"})


class FileSetShape(Detector):
    """Usual file families missing from a release."""

    info = DetectorInfo(
        id="file-set-shape",
        title="Release whose file set breaks the line's usual shape",
        requires=frozenset(),
        motivation=doc_paragraph(__doc__),
        caveats=doc_paragraph(__doc__, 2),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per release that lacks usual families."""
        releases = comparable(ctx.timeline.releases)
        # each release's shape once (it is in the history of up to `WINDOW` later releases)
        shape_of = {id(r): release_shape(r) for r in releases}
        out: list[Finding] = []
        for i, rel in enumerate(releases):
            hist = history(releases, i)
            if not hist.releases:
                continue
            shapes = [shape_of[id(r)] for r in hist.releases]
            counts: dict[str, int] = {}
            for shape in shapes:
                for family in shape:
                    counts[family] = counts.get(family, 0) + 1
            usual = {f for f, n in counts.items() if n >= USUAL * len(shapes) and f not in LEGACY}
            mine = shape_of[id(rel)]
            lost = sorted(usual - mine)
            if not lost:
                continue
            had_platform = sum(1 for s in shapes if any(is_platform(f) for f in s))
            no_wheel = not any(kind_of(fv).wheel for fv in rel.files)
            gone = frozenset(lost)
            kept = persistence(rel, later_in_line(releases, i), _lacks(gone))
            persisted = kept.releases
            if kept.settled:
                severity = Severity.INFO
            elif (
                no_wheel
                and hist.warm
                and had_platform == len(shapes)
                and not is_prerelease(rel.version)
            ):
                severity = Severity.MEDIUM
            elif hist.warm:
                severity = Severity.LOW
            else:
                severity = Severity.INFO
            support = min(counts[f] for f in lost)
            summary = (
                f"{rel.version} ships {', '.join(sorted(mine))} but not {', '.join(lost)}, "
                f"which at least {support} of the {len(shapes)} earlier releases of the "
                f"{hist.scope} shipped"
            )
            if persisted:
                summary += f"; the change persisted for {persisted} later release(s)"
                if not kept.settled:
                    summary += f" within {human(kept.span)} (too short to be a new normal)"
            out.append(
                self.finding(
                    severity=severity,
                    confidence=Confidence.LOW
                    if severity is not Severity.MEDIUM
                    else Confidence.MEDIUM,
                    summary=summary,
                    release=rel,
                    evidence=release_evidence(rel),
                    values={
                        "shape": ", ".join(sorted(mine)),
                        "missing": ", ".join(lost),
                        "support": f"{support} of {len(shapes)}",
                        "baseline": hist.scope,
                        "persisted_for": str(persisted),
                        "prerelease": str(is_prerelease(rel.version)).lower(),
                    },
                    tip=(
                        "Check the project's CI for this release's build matrix: a release built "
                        "outside it (by hand, with a token) ships fewer files."
                    ),
                )
            )
        return out


def _lacks(families: frozenset[str]) -> Callable[[ReleaseView], bool]:
    """A test: does a release still lack every one of `families`?"""
    return lambda rel: not (families & release_shape(rel))


def is_platform(family: str) -> bool:
    """True for platform-wheel families (built by a CI matrix, not by `python -m build`)."""
    return family not in LEGACY and family not in {"sdist", "pure"}
