"""Per-release provenance states, in PyPI's own vocabulary plus `unknown`.

PyPI (warehouse PRs #20326/#20420) computes multi-valued states per release: no, full, partial,
inconsistent, lost and changed provenance. We compute the same vocabulary from verified evidence,
with three deliberate differences, each because a forensic reader needs it:

* `unknown` exists: an index that does not serve PEP 740 (or a failed fetch) is not "no provenance".
* no 14-day comparison window: warehouse compares only with a release from the last 14 days, so an
  infrequent releaser is never compared; we compare with the nearest earlier attested release.
* an attestation that fails verification makes the release `inconsistent` (warehouse verifies at
  upload, so it never sees one; a forensic copy can).

Rules (docs/states.md repeats them for users). Let the release's files have statuses S:

1. coverage: `full` if every file is verified; `none` if every file is absent; `partial` if some are
   verified and the rest absent; `unknown` if any file is unknown and none is invalid.
2. `inconsistent` if any file is invalid, or the verified attestations name more than one publisher
   (kind, repository, workflow) within the release.
3. comparing with the nearest *earlier* release (by first upload time) whose coverage is full or
   partial and that is not inconsistent: `lost` if this release's coverage is `none`; `changed` if
   this release has attestations and its publisher set differs from that release's.
4. The primary `state` is the first that applies of: unknown, inconsistent, lost, changed, then the
   coverage. `states` lists every state that applies.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from forensics.models import FileProvenance, ProvenanceStatus


class ReleaseState(enum.StrEnum):
    """A release's provenance state."""

    NONE = "none"
    FULL = "full"
    PARTIAL = "partial"
    INCONSISTENT = "inconsistent"
    LOST = "lost"
    CHANGED = "changed"
    UNKNOWN = "unknown"


_PRECEDENCE = (
    ReleaseState.UNKNOWN,
    ReleaseState.INCONSISTENT,
    ReleaseState.LOST,
    ReleaseState.CHANGED,
)


@dataclass(frozen=True)
class StateResult:
    """The primary state, every state that applies, and why."""

    state: ReleaseState
    states: tuple[ReleaseState, ...]
    reason: str
    publishers: frozenset[str]
    """Publisher identities (kind|repository|workflow) of the verified attestations."""


def publisher_key(fp: FileProvenance) -> str | None:
    """The identity warehouse compares: kind, repository and workflow (not environment)."""
    pub = fp.publisher
    if pub is None:
        return None
    return f"{pub.kind}|{pub.repository or ''}|{pub.workflow or ''}"


def coverage(provenance: Sequence[FileProvenance]) -> tuple[ReleaseState, str]:
    """Rule 1: the coverage state of one release's files."""
    statuses = [fp.status for fp in provenance]
    if not statuses:
        return ReleaseState.UNKNOWN, "the release lists no files"
    if ProvenanceStatus.UNKNOWN in statuses and ProvenanceStatus.INVALID not in statuses:
        reasons = sorted({fp.reason for fp in provenance if fp.status is ProvenanceStatus.UNKNOWN})
        return ReleaseState.UNKNOWN, "; ".join(reasons)
    verified = statuses.count(ProvenanceStatus.VERIFIED)
    absent = statuses.count(ProvenanceStatus.ABSENT)
    if verified == len(statuses):
        return ReleaseState.FULL, f"all {verified} file(s) carry verified attestations"
    if absent == len(statuses):
        return ReleaseState.NONE, f"none of the {absent} file(s) carries attestations"
    if verified + absent == len(statuses):
        return ReleaseState.PARTIAL, f"{verified} of {len(statuses)} file(s) carry attestations"
    invalid = statuses.count(ProvenanceStatus.INVALID)
    return ReleaseState.INCONSISTENT, f"{invalid} of {len(statuses)} file(s) fail verification"


def release_state(
    provenance: Sequence[FileProvenance], baseline: frozenset[str] | None
) -> StateResult:
    """Rules 1-4 for one release; `baseline` is the publisher set of the comparison release."""
    cov, reason = coverage(provenance)
    publishers = frozenset(
        key
        for fp in provenance
        if fp.status is ProvenanceStatus.VERIFIED and (key := publisher_key(fp)) is not None
    )
    states: list[ReleaseState] = [cov]
    reasons = [reason]
    if cov is not ReleaseState.UNKNOWN:
        if cov is not ReleaseState.INCONSISTENT and len(publishers) > 1:
            states.append(ReleaseState.INCONSISTENT)
            reasons.append(
                "files were attested by different publishers: " + ", ".join(sorted(publishers))
            )
        if baseline is not None:
            if cov is ReleaseState.NONE:
                states.append(ReleaseState.LOST)
                reasons.append(
                    "the previous attested release was published by " + ", ".join(sorted(baseline))
                )
            elif publishers and publishers != baseline:
                states.append(ReleaseState.CHANGED)
                reasons.append(
                    f"publisher changed from {', '.join(sorted(baseline))} "
                    f"to {', '.join(sorted(publishers))}"
                )
    primary = next((s for s in _PRECEDENCE if s in states), cov)
    return StateResult(primary, tuple(dict.fromkeys(states)), "; ".join(reasons), publishers)
