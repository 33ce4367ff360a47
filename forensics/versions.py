"""Versions, release lines, tags and refs: the one place that turns these strings into comparables.

Every seam that orders versions, reads a version out of a tag or a ref, or groups releases into
release lines uses these functions, so that the collector, the log recovery, the timeline and the
detectors can never disagree about what `v8.3.41` or `refs/tags/release-2.0.0rc1` means.
"""

from __future__ import annotations

import functools
import re

from packaging.version import InvalidVersion, Version

#: Tag prefixes projects put before the version (`v1.2.3`, `release-1.2.3`, `rel-1.2.3`).
_TAG = re.compile(r"^(?:v|release-|rel-|version-)?(?P<version>[0-9][^/]*)$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
#: PEP 440 pre-, post- and dev-release segments as they appear in tags and refs (`rc1`, `.post2`).
_SEGMENTS = re.compile(r"(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview|post|rev|r|dev)#)+$")


def parse_version(text: str | None) -> Version | None:
    """`text` as a PEP 440 version, or None when it is not one."""
    if not text:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def version_key(version: str) -> tuple[int, Version | str]:
    """Sort key: PEP 440 versions in version order, then anything else by its text."""
    parsed = parse_version(version)
    return (0, parsed) if parsed is not None else (1, version)


# Memoised: the detectors ask for the line of every earlier release of every release (millions of
# calls on a 2,500-release history, each a PEP 440 parse); a version string's line never changes.
@functools.lru_cache(maxsize=65536)
def release_line(version: str) -> str:
    """The release line a version belongs to: `major.minor` (`3.1.4rc1` -> `3.1`).

    Pre-, post- and dev-releases fold into their line. A single-number scheme (`2024`) is its
    own line; a version that is not PEP 440 is put in the line `?`.
    """
    parsed = parse_version(version)
    if parsed is None:
        return "?"
    release = parsed.release
    line = ".".join(str(n) for n in release[:2])
    return f"{parsed.epoch}!{line}" if parsed.epoch else line


def version_from_tag(name: str) -> str | None:
    """The normalised version a tag names (`v1.2.3`, `release-1.2.3`, `refs/tags/1.2`), or None."""
    m = _TAG.match(name.rsplit("/", 1)[-1])
    if not m:
        return None
    parsed = parse_version(m.group("version"))
    return str(parsed) if parsed is not None else None


def version_from_ref(ref: str | None) -> str | None:
    """`refs/tags/v8.3.41` -> `8.3.41` when it is a valid version; branches say nothing."""
    if not ref or not ref.startswith("refs/tags/"):
        return None
    return version_from_tag(ref.removeprefix("refs/tags/"))


def ref_pattern(ref: str) -> str:
    """A ref's shape with versions folded: `refs/tags/v8.3.41rc1` -> `refs/tags/v#.#.#`.

    Digits become `#` and pre/post/dev segments are dropped, so that every release of a line
    built from its tags shares one pattern, while a build from a branch does not.
    """
    return _SEGMENTS.sub("", _DIGITS.sub("#", ref))
