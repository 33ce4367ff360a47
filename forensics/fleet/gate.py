"""`forensics gate`: may this lock file be installed? Each pinned (name, version) is judged against
its own project's established publishing process.

Policy `no-downgrade` (pnpm's `trustPolicy: no-downgrade`, with explanations and per-line
baselines): a pinned version is blocked when its project's per-project findings say it was
uploaded without attestations after attested releases (`provenance-lost`) or by a new publisher
identity (`publisher-changed`), unless a benign explanation holds:

* the project never attested (nothing to downgrade from);
* the pinned version's release line never had an attested release before it (a backport or
  maintenance line published the old way while a newer line adopted Trusted Publishing);
* the user excluded the project (`--exclude NAME`, documented in the lock file's review).

Other findings of medium severity or more are reported as warnings: they are not a downgrade of
the identity or the channel, and the policy is about downgrades only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from forensics.fleet.detectors.interface import ProjectSummary, when
from forensics.fleet.lockfile import Pin
from forensics.fleet.summary import release_verdict
from forensics.versions import release_line

#: Per-project detectors whose findings are an identity or channel downgrade.
DOWNGRADE_DETECTORS = frozenset({"provenance-lost", "publisher-changed"})
POLICIES = ("no-downgrade",)


@dataclass(frozen=True)
class GateResult:
    """The gate's answer for one pin."""

    name: str
    version: str
    outcome: str
    """`block`, `pass`, `warn` or `unknown`."""
    reason: str

    def to_json(self) -> dict[str, str]:
        """Serialise for `--format json`."""
        return {
            "name": self.name,
            "version": self.version,
            "outcome": self.outcome,
            "reason": self.reason,
        }


def _established(summary: ProjectSummary, version: str) -> str:
    """Who published the attested releases of this version's line before it, and since when."""
    line = release_line(version)
    earlier, attested_before = [], []
    for rel in summary.releases:
        if rel.version == version:
            break
        if rel.attested:
            attested_before.append(rel)
            if release_line(rel.version) == line:
                earlier.append(rel)
    if not earlier:
        return ""
    pubs = ", ".join(sorted({s.publisher for r in earlier for s in r.signers}))
    first, last = earlier[0], earlier[-1]
    span = (
        f"release {first.version} ({when(first.first_upload)}) was"
        if first is last
        else f"releases {first.version} ({when(first.first_upload)}) to {last.version} were"
    )
    start = attested_before[0]
    return (
        f"{span} published by {pubs or 'Trusted Publishing'}; the project has attested its "
        f"releases since {start.version} ({when(start.first_upload)})"
    )


def judge(summary: ProjectSummary, version: str, excluded: Iterable[str] = ()) -> GateResult:
    """Judge one pinned version under the no-downgrade policy."""
    name = summary.project
    if name in set(excluded):
        return GateResult(name, version, "pass", "excluded by --exclude")
    verdict = release_verdict(summary, version)
    if verdict.verdict in ("unknown", "not-found"):
        return GateResult(name, version, "unknown", verdict.reason)
    if not any(r.attested for r in summary.releases):
        return GateResult(name, version, "pass", "the project never attested: nothing to downgrade")
    downgrades = [f for f in verdict.findings if f.detector in DOWNGRADE_DETECTORS]
    if downgrades:
        since = _established(summary, version)
        if not since:
            return GateResult(
                name,
                version,
                "pass",
                f"release line {release_line(version)} never attested before {version}; "
                "attested releases are in other lines",
            )
        what = "; ".join(f"{f.summary} ({f.detector})" for f in downgrades)
        return GateResult(name, version, "block", f"{what}; {since}")
    if verdict.findings:
        worst = max(verdict.findings, key=lambda f: f.severity.rank)
        return GateResult(
            name, version, "warn", f"not a downgrade, but: {worst.summary} ({worst.detector})"
        )
    return GateResult(name, version, "pass", verdict.reason)


def gate(
    pins: Sequence[Pin], summaries: Sequence[ProjectSummary], excluded: Iterable[str] = ()
) -> list[GateResult]:
    """Judge every pin; results sorted by name and version."""
    by_name = {s.project: s for s in summaries}
    excluded = set(excluded)
    out = []
    for pin in sorted(pins):
        assert pin.version is not None  # the CLI refuses unpinned entries before collecting
        summary = by_name.get(pin.name)
        if pin.name in excluded:
            out.append(GateResult(pin.name, pin.version, "pass", "excluded by --exclude"))
        elif summary is None:
            out.append(GateResult(pin.name, pin.version, "unknown", "the project was not scanned"))
        else:
            out.append(judge(summary, pin.version, excluded))
    return out


def exit_code(results: Sequence[GateResult], allow_partial: bool) -> int:
    """1 when anything is blocked; 3 for unknowns unless allowed; else 0."""
    if any(r.outcome == "block" for r in results):
        return 1
    if not allow_partial and any(r.outcome == "unknown" for r in results):
        return 3
    return 0
