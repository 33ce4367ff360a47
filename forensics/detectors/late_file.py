"""Detector: files added to a release long after its first file (index data only).

A release's files normally arrive within minutes or, for slow build matrices, hours. A file that
arrives days later, of a kind the release and its line never shipped, is how a stolen token adds
a payload to an existing release without publishing a new version.

The delay is judged against the line's own spreads (first to last upload of each earlier release)
so that projects whose matrix builds take hours are not flagged; a late wheel for a Python the
release did not ship yet (wheels backfilled for a new CPython), of a platform the line already
ships, or of a kind the project ships on time in other releases (the first wheels of a project
are often backfilled into its latest release) is explained.

Since 2026-07-08 PyPI refuses new files more than 14 days after a release's first file, so under
that regime such a file contradicts the index's own rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from forensics.detectors.interface import AnalysisContext, Detector, DetectorInfo, doc_paragraph
from forensics.models import Confidence, Finding, Severity
from forensics.timeline import FileView, ReleaseView
from forensics.timeline.numeric import (
    comparable,
    history,
    human,
    is_prerelease,
    kind_of,
    python_version,
    release_shape,
    upload_spread,
)

#: From this date PyPI refuses files uploaded more than `UPLOAD_WINDOW` after the release's first.
WINDOW_RULE_SINCE = datetime(2026, 7, 8, tzinfo=UTC)
UPLOAD_WINDOW = timedelta(days=14)
#: A file later than this after the first is "late" at all (slow matrices take hours).
LATE = timedelta(hours=6)
#: Below this delay nothing is above low, whatever the history (a CI retry the next morning).
FLOOR = timedelta(days=1)
#: The delay must exceed this multiple of the longest spread the history shows.
EFFECT = 10.0


#: Kinds pip does not install (eggs, Windows installers): never above low.
LEGACY = frozenset({"egg", "installer", "other"})


def _shipped_elsewhere(releases: Sequence[ReleaseView], rel: ReleaseView) -> dict[str, str]:
    """For each file family, a release other than `rel` that shipped it on time (within six
    hours of its first file): a late file of such a kind is a backfill or a retried job, not a
    kind the project never builds."""
    where: dict[str, str] = {}
    for other in releases:
        if other is rel or other.first_upload is None:
            continue
        for fv in other.files:
            t = fv.dist.upload_time
            if t is not None and t - other.first_upload <= LATE:
                where.setdefault(kind_of(fv).family, other.version)
    return where


def regime(first_upload: datetime) -> str:
    """Which PyPI rule applied to adding files to a release first uploaded at `first_upload`."""
    if first_upload >= WINDOW_RULE_SINCE:
        return "since 2026-07-08: PyPI refuses files more than 14 days after the first"
    return "before 2026-07-08: PyPI accepted new files at any time"


class LateFile(Detector):
    """Files uploaded long after the release's first file."""

    info = DetectorInfo(
        id="late-file",
        title="File added to a release long after its first file",
        requires=frozenset(),
        motivation=doc_paragraph(__doc__) + " " + doc_paragraph(__doc__, 3),
        caveats=doc_paragraph(__doc__, 2)
        + " Benign causes: a failed CI job re-run days later, wheels backfilled for a new Python.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """At most one finding per release: its latest unexplained (or, failing that, late) file."""
        releases = comparable(ctx.timeline.releases)
        out: list[Finding] = []
        for i, rel in enumerate(releases):
            finding = self._judge(releases, i, rel)
            if finding is not None:
                out.append(finding)
        return out

    def _judge(
        self, releases: Sequence[ReleaseView], index: int, rel: ReleaseView
    ) -> Finding | None:
        first = rel.first_upload
        assert first is not None  # comparable() keeps timed releases only
        late = [
            fv
            for fv in rel.files
            if fv.dist.upload_time is not None and fv.dist.upload_time - first > LATE
        ]
        if not late:
            return None
        late_names = {fv.dist.filename for fv in late}
        on_time = [fv for fv in rel.files if fv.dist.filename not in late_names]
        hist = history(releases, index)
        spreads = [s for r in hist.releases if (s := upload_spread(r)) is not None]
        longest = max(spreads, default=timedelta(0))
        known = set().union(*(release_shape(r) for r in hist.releases)) | {
            kind_of(fv).family for fv in on_time
        }
        elsewhere = _shipped_elsewhere(releases, rel)
        judged = [(fv, self._explanation(fv, on_time, known, elsewhere)) for fv in late]
        unexplained = [(fv, why) for fv, why in judged if why is None]
        subject, why = max(
            unexplained or judged,
            key=lambda pair: pair[0].dist.upload_time or first,
        )
        delay = (subject.dist.upload_time or first) - first
        rule = regime(first)
        values = {
            "delay": human(delay),
            "late_files": str(len(late)),
            "regime": rule,
            "baseline": hist.scope,
            "baseline_releases": str(len(hist.releases)),
            "longest_earlier_spread": human(longest),
            "file_kind": kind_of(subject).family,
        }
        if why:
            values["explanation"] = why
        if first >= WINDOW_RULE_SINCE and delay > UPLOAD_WINDOW:
            severity, confidence = Severity.HIGH, Confidence.MEDIUM
            summary = (
                f"{subject.dist.filename} was uploaded {human(delay)} after {rel.version}'s first "
                "file, beyond the 14-day window PyPI enforces since 2026-07-08"
            )
        else:
            rare = delay >= FLOOR and delay >= EFFECT * longest
            installable = kind_of(subject).family not in LEGACY
            if (
                why is None
                and rare
                and hist.warm
                and installable
                and not is_prerelease(rel.version)
            ):
                severity, confidence = Severity.MEDIUM, Confidence.MEDIUM
            elif why is None and rare:
                severity, confidence = Severity.LOW, Confidence.LOW
            else:
                severity, confidence = Severity.INFO, Confidence.LOW
            summary = (
                f"{subject.dist.filename} was added {human(delay)} after {rel.version}'s first "
                f"file (longest spread of the {len(hist.releases)} earlier releases of the "
                f"{hist.scope}: {human(longest)})" + (f"; {why}" if why else "")
            )
        return self.finding(
            severity=severity,
            confidence=confidence,
            summary=summary,
            release=rel,
            file=subject,
            evidence=[fv.dist.evidence for fv in on_time[:1]],
            values=values,
            tip=(
                "Check the project's CI for a build of this file at that time, and whether "
                "the maintainers announced a backfill; compare the file's contents with the sdist."
            ),
        )

    @staticmethod
    def _explanation(
        fv: FileView,
        on_time: Sequence[FileView],
        known: set[str],
        elsewhere: dict[str, str],
    ) -> str | None:
        """Why a late file is ordinary, or None when nothing explains it."""
        kind = kind_of(fv)
        if kind.family in known:
            shipped = {p for o in on_time for p in kind_of(o).pythons}
            newest = max((v for p in shipped if (v := python_version(p))), default=None)
            mine = [v for p in kind.pythons if (v := python_version(p))]
            if newest is not None and mine and min(mine) > newest:
                return "a wheel for a newer Python than the release first shipped (a backfill)"
            return f"a {kind.family} file, a kind the line ships, delivered late"
        other = elsewhere.get(kind.family)
        if other is not None:
            return (
                f"the project ships {kind.family} files on time elsewhere (first in {other}): "
                "a backfill or a retried build"
            )
        return None


__all__ = ["LateFile", "regime"]
