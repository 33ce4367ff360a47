"""Numeric baselines for the index-only signals: robust statistics, line histories, file kinds.

Pure functions over the timeline (no I/O, no clock). Release intervals, upload spreads and file
sizes are heavy-tailed, so the helpers compare on a log scale with the median and the median
absolute deviation (MAD) rather than mean and standard deviation, and every comparison set is
the release's own line first (`forensics.versions.release_line`), the whole project only when
the line is too short. A detector asks for both rarity (outside what the history shows) and
effect size (a multiple of the history's extreme), never a percentile alone.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from forensics.timeline.build import FileView, ReleaseView
from forensics.versions import parse_version, release_line, version_key

#: Fewer earlier releases than this is a cold start: nothing above info.
MIN_HISTORY = 5
#: How many of the most recent comparable releases a baseline looks at (old habits fade).
WINDOW = 20

_PLATFORM_VERSION = re.compile(r"^(manylinux|musllinux|macosx)(?:\d+|_\d+_\d+)?_")
_PY = re.compile(r"^(?:cp|pp|py|ip|jy)(?P<major>\d)(?P<minor>\d*)$")


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sample."""
    return float(statistics.median(values))


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median (unscaled)."""
    centre = median(values)
    return median([abs(v - centre) for v in values])


def log_ratio_to_median(value: float, sample: Sequence[float]) -> float:
    """`log10(value / median(sample))`: the effect size on the log scale (values must be > 0)."""
    return math.log10(value) - median([math.log10(v) for v in sample])


def robust_log_z(value: float, sample: Sequence[float], floor: float = 0.05) -> float:
    """How many scaled MADs `value` lies from the sample's median, on a log10 scale.

    The MAD is scaled by 1.4826 (normal consistency) and floored at `floor` decades, so that a
    history of identical values does not make every small change look infinitely rare.
    """
    logs = [math.log10(v) for v in sample]
    spread = max(1.4826 * mad(logs), floor)
    return (math.log10(value) - median(logs)) / spread


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class FileKind:
    """What a distribution file is, for shape comparisons."""

    family: str
    """`sdist`, `pure` (a wheel for any platform), a folded platform such as `manylinux_x86_64`,
    `win_amd64`, `macosx_arm64`, or a legacy kind (`egg`, `installer`, `other`)."""
    pythons: frozenset[str]
    """The wheel's interpreter tags (`cp312`, `py3`); empty for non-wheels."""

    @property
    def wheel(self) -> bool:
        """True for wheels (pure or platform)."""
        return self.family not in {"sdist", "egg", "installer", "other"}


@functools.lru_cache(maxsize=65536)
def file_kind(filename: str, packagetype: str | None = None) -> FileKind:
    """Classify a file by its name (and the index's `packagetype` for legacy kinds).

    Cached: baselines ask for the same files' kinds once per later release that compares."""
    if filename.endswith(".whl"):
        try:
            _, _, _, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            parts = filename[:-4].split("-")
            if len(parts) < 5:
                return FileKind("other", frozenset())
            platforms = set(parts[-1].split("."))
            pythons = set(parts[-3].split("."))
        else:
            platforms = {t.platform for t in tags}
            pythons = {t.interpreter for t in tags}
        folded = sorted({_PLATFORM_VERSION.sub(r"\1_", p) for p in platforms})
        family = "pure" if folded == ["any"] else "+".join(folded)
        return FileKind(family, frozenset(pythons))
    if packagetype == "sdist" or filename.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz")):
        return FileKind("sdist", frozenset())
    if packagetype == "bdist_egg" or filename.endswith(".egg"):
        return FileKind("egg", frozenset())
    if packagetype in {"bdist_wininst", "bdist_msi", "bdist_dumb", "bdist_rpm", "bdist_dmg"}:
        return FileKind("installer", frozenset())
    return FileKind("other", frozenset())


def python_version(tag: str) -> tuple[int, int] | None:
    """`cp312` -> (3, 12); `py3` -> (3, -1); None for tags that name no version."""
    m = _PY.match(tag)
    if not m:
        return None
    return int(m.group("major")), int(m.group("minor")) if m.group("minor") else -1


def kind_of(fv: FileView) -> FileKind:
    """The kind of a file of the timeline."""
    return file_kind(fv.dist.filename, fv.dist.packagetype)


def release_shape(release: ReleaseView) -> frozenset[str]:
    """The set of file families a release ships."""
    return frozenset(kind_of(fv).family for fv in release.files)


def upload_spread(release: ReleaseView) -> timedelta | None:
    """Time from the release's first to its last file upload (None without two timed files)."""
    times = [fv.dist.upload_time for fv in release.files if fv.dist.upload_time is not None]
    if len(times) < 2:
        return None
    return max(times) - min(times)


# --------------------------------------------------------------------------- histories


def is_prerelease(version: str) -> bool:
    """True for pre- and dev-releases (`1.0rc1`, `2.0.dev3`)."""
    parsed = parse_version(version)
    return bool(parsed and (parsed.is_prerelease or parsed.is_devrelease))


def comparable(releases: Sequence[ReleaseView]) -> list[ReleaseView]:
    """Releases the index still serves with at least one timed file, in timeline order."""
    return [r for r in releases if not r.deleted and r.files and r.first_upload is not None]


@dataclass(frozen=True)
class History:
    """The earlier releases a release is judged against, and which scope they come from."""

    releases: tuple[ReleaseView, ...]
    scope: str
    """`line 3.1` or `project` (the fallback when the line has too short a history)."""

    @property
    def warm(self) -> bool:
        """True when the history is long enough for anything above info."""
        return len(self.releases) >= MIN_HISTORY


# The detectors ask `history` and `later_in_line` for every release of a history in turn; the
# positions of each line's releases are computed once per history (identity of the sequence and its
# length: the detectors never mutate it) instead of scanning every earlier release each time,
# which was O(n²) on long histories. One entry, replaced atomically, so threads may share it.
_POSITIONS: tuple[Sequence[ReleaseView], int, dict[str, list[int]]] | None = None


def _line_positions(releases: Sequence[ReleaseView]) -> dict[str, list[int]]:
    """Release line -> ascending indexes of its releases in `releases`."""
    global _POSITIONS
    cached = _POSITIONS
    if cached is not None and cached[0] is releases and cached[1] == len(releases):
        return cached[2]
    positions: dict[str, list[int]] = {}
    for i, r in enumerate(releases):
        positions.setdefault(release_line(r.version), []).append(i)
    _POSITIONS = (releases, len(releases), positions)
    return positions


def history(
    releases: Sequence[ReleaseView], index: int, *, window: int = WINDOW, minimum: int = MIN_HISTORY
) -> History:
    """The (at most `window`) latest releases before `releases[index]` of the same release line;
    the project's when the line has fewer than `minimum`. `releases` should be `comparable()`."""
    line = release_line(releases[index].version)
    positions = _line_positions(releases)[line]
    earlier = bisect.bisect_left(positions, index)  # same-line releases before `index`
    if earlier >= minimum:
        chosen = positions[:earlier][-window:]  # the same slice as on the filtered releases
        return History(tuple(releases[k] for k in chosen), f"line {line}")
    return History(tuple(releases[:index][-window:]), "project")


def later_in_line(releases: Sequence[ReleaseView], index: int) -> list[ReleaseView]:
    """Releases after `releases[index]` in the same line (to tell a one-off from a new normal)."""
    positions = _line_positions(releases)[release_line(releases[index].version)]
    return [releases[i] for i in positions[bisect.bisect_right(positions, index) :]]


#: A change is a new normal once it has held for releases spanning at least this long.
SETTLED = timedelta(days=14)


@dataclass(frozen=True)
class Persistence:
    """How a change carried on in the releases after it."""

    releases: int
    """How many consecutive later releases of the line kept the change."""
    span: timedelta
    """From the changed release to the last release that kept it."""

    @property
    def settled(self) -> bool:
        """True when the change is a new normal: kept by later releases over `SETTLED` or more.

        A burst of releases within hours that all carry the change (an attacker iterating) is
        not a new normal; a project that changed its tooling keeps the change for weeks.
        """
        return self.releases > 0 and self.span >= SETTLED


def persistence(
    release: ReleaseView, later: Sequence[ReleaseView], kept: Callable[[ReleaseView], bool]
) -> Persistence:
    """How many of `later` (in order) kept the change, stopping at the first that did not."""
    count, last = 0, release.first_upload
    for nxt in later:
        if not kept(nxt):
            break
        count += 1
        last = nxt.first_upload or last
    span = (last - release.first_upload) if last and release.first_upload else timedelta(0)
    return Persistence(count, span)


def days(delta: timedelta) -> float:
    """A duration in days."""
    return delta.total_seconds() / 86400


def human(delta: timedelta) -> str:
    """A duration in the largest sensible unit (`3.2 days`, `5 h`, `40 min`)."""
    secs = delta.total_seconds()
    if secs >= 2 * 86400:
        return f"{secs / 86400:.1f} days"
    if secs >= 2 * 3600:
        return f"{secs / 3600:.1f} h"
    return f"{secs / 60:.0f} min"


# --------------------------------------------------------------------------- version gaps


@dataclass(frozen=True)
class VersionGap:
    """Patch versions missing from an otherwise contiguous line (a lead, and a recovery seed)."""

    line: str
    missing: tuple[str, ...]
    present: int
    """How many patch numbers of the line the index lists."""


def version_gaps(versions: Iterable[str]) -> tuple[VersionGap, ...]:
    """Missing patch versions in lines whose patch numbers are otherwise contiguous.

    Only three-component (or longer) versions take part; a line needs three distinct patch
    numbers, and at most a quarter of its range (runs of at most two) may be missing, so that
    sparse schemes (CalVer days, even-only numbering) say nothing. A pre-release of a missing
    number counts as present: an `rc` that never became final is not a gap. The missing versions
    are what a transparency-log recovery can search for (versions deleted from the index).
    """
    patches: dict[tuple[int, int, int], set[int]] = defaultdict(set)
    for text in versions:
        parsed = parse_version(text)
        if parsed is None or len(parsed.release) < 3:
            continue
        major, minor, patch = parsed.release[:3]
        patches[(parsed.epoch, major, minor)].add(patch)
    gaps: list[VersionGap] = []
    for (epoch, major, minor), present in sorted(patches.items()):
        if len(present) < 3:
            continue
        lo, hi = min(present), max(present)
        missing = [p for p in range(lo, hi + 1) if p not in present]
        if not missing or len(missing) > max(1, (hi - lo + 1) // 4):
            continue
        runs, run = 1, 1
        for a, b in itertools.pairwise(missing):
            run = run + 1 if b == a + 1 else 1
            runs = max(runs, run)
        if runs > 2:
            continue
        prefix = f"{epoch}!" if epoch else ""
        gaps.append(
            VersionGap(
                line=f"{prefix}{major}.{minor}",
                missing=tuple(f"{prefix}{major}.{minor}.{p}" for p in missing),
                present=len(present),
            )
        )
    return tuple(sorted(gaps, key=lambda g: version_key(g.missing[0])))
