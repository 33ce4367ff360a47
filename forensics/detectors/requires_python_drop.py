"""Detector: a release that drops or loosens `requires_python` against its line's habit.

Build tools write `Requires-Python` from the project's configuration, so a line whose releases
all declare it keeps declaring it. A release built outside the project's tree (by hand, from a
stolen token, with another tool) often lacks it or carries an older floor.

A release line is compared with itself (the project when the line is young), so a backport line
with an older floor is not a drop. A loss that persists in the following releases over weeks is
a change of tooling (info); a loss after at least five releases that all declared it, not
settled as a new normal, is medium (a burst of releases within hours that all lack it is not a
new normal); a lowered floor against the line is low (projects do widen support on purpose).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

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
    is_prerelease,
    later_in_line,
    persistence,
)


def declared(rel: ReleaseView) -> str | None:
    """The release's `requires_python`: the most common value among its files, or None."""
    values = Counter(fv.dist.requires_python for fv in rel.files if fv.dist.requires_python)
    return values.most_common(1)[0][0] if values else None


@functools.lru_cache(maxsize=4096)
def floor(spec: str | None) -> Version | None:
    """The lowest Python a specifier admits, from its `>=`/`>`/`~=`/`==` clauses (None if none).

    Cached: a pure function of the text, asked for every declaration of every release's history
    (a project has a handful of distinct specifiers), and `Version` is immutable."""
    if not spec:
        return None
    try:
        clauses = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    floors = []
    for clause in clauses:
        if clause.operator in {">=", ">", "~=", "=="}:
            try:
                floors.append(Version(clause.version.replace(".*", "")))
            except ValueError:
                continue
    return max(floors) if floors else None


class RequiresPythonDrop(Detector):
    """`requires_python` gone or loosened against the line."""

    info = DetectorInfo(
        id="requires-python-drop",
        title="Release drops or lowers requires_python against its line",
        requires=frozenset(),
        motivation=doc_paragraph(__doc__),
        caveats=doc_paragraph(__doc__, 2),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per release that drops or lowers the declaration."""
        releases = comparable(ctx.timeline.releases)
        # Each release's declaration once: every release is in the history of up to `WINDOW`
        # later ones, and the later releases of a line are only walked for a missing one.
        decl = {id(r): declared(r) for r in releases}
        out: list[Finding] = []
        for i, rel in enumerate(releases):
            hist = history(releases, i)
            if not hist.warm:
                continue
            before = [decl[id(r)] for r in hist.releases]
            if not all(before):
                continue
            mine = decl[id(rel)]
            floors = [f for b in before if (f := floor(b)) is not None]
            my_floor = floor(mine)
            if mine is None:
                later = later_in_line(releases, i)
                kept = persistence(rel, later, lambda r: decl[id(r)] is None)
                persisted = kept.releases
                severity = (
                    Severity.INFO if kept.settled or is_prerelease(rel.version) else Severity.MEDIUM
                )
                summary = (
                    f"{rel.version} declares no requires_python; each of the {len(before)} earlier "
                    f"releases of the {hist.scope} did (last: {before[-1]!r})"
                )
                if persisted:
                    summary += f"; persisted for {persisted} later release(s)"
            elif (
                hist.scope.startswith("line")  # other lines may target older Pythons (backports)
                and floors
                and my_floor is not None
                and my_floor < min(floors)
            ):
                severity, persisted = Severity.LOW, 0
                summary = (
                    f"{rel.version} admits Python {my_floor} ({mine!r}); the {len(before)} earlier "
                    f"releases of the {hist.scope} required at least {min(floors)}"
                )
            else:
                continue
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
                        "requires_python": mine or "",
                        "previous": before[-1] or "",
                        "baseline": hist.scope,
                        "baseline_releases": str(len(before)),
                        "persisted_for": str(persisted),
                    },
                    tip="Compare the release's metadata and build backend with the previous one's.",
                )
            )
        return out
