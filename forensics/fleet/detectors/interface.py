"""What a cross-project detector sees: compact per-project timelines, and the detector contract.

A fleet scan investigates each project on its own (in a worker), then ships back only a
`ProjectSummary`: per release, its upload time, whether it was attested, the signing identities
of its verified attestations (publisher, reusable workflow and its digest, commit, run) with the
evidence they came from, and the per-project findings. Cross-project detectors are pure functions
of these summaries, like per-project detectors are of a timeline: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from forensics.models import Confidence, EvidenceRef, Finding, Severity


@dataclass(frozen=True)
class Signer:
    """One signing identity of one verified attestation."""

    publisher: str
    """`kind|repository|workflow` (what PyPI compares)."""
    repository: str
    build_signer: str = ""
    """Fulcio .9: the workflow that ran the signing job (a reusable workflow when one is used)."""
    build_signer_digest: str = ""
    commit: str = ""
    run: str = ""
    """Fulcio .21 run URL (one per workflow run attempt)."""
    evidence: tuple[EvidenceRef, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ReleaseSummary:
    """One release of one project, as the cross-project detectors see it."""

    version: str
    first_upload: datetime | None
    state: str
    """The release's provenance state (`full`, `none`, `lost`, `unknown`, ...)."""
    attested: bool
    signers: tuple[Signer, ...] = ()
    evidence: tuple[EvidenceRef, ...] = field(default=(), compare=False)
    verdict: str = ""
    """`forensics.verdict`'s verdict (`suspicious`, `inconsistent`, `unknown`, `clean`)."""
    reasons: tuple[str, ...] = ()
    """Its strongest reasons, in plain words."""


@dataclass(frozen=True)
class ProjectSummary:
    """One project's timeline reduced to what fleet reports and detectors need."""

    project: str
    releases: tuple[ReleaseSummary, ...]
    """In upload order."""
    findings: tuple[Finding, ...]
    skipped: tuple[tuple[str, str], ...]
    """(check, reason) of every check that could not run."""
    pep740: str
    case: str = ""
    """Where the project's case lives (relative to the fleet directory when there is one)."""
    error: str = ""
    """Why the project could not be investigated at all (then `releases` is empty)."""

    def established(self, before: datetime | None) -> set[str]:
        """Publisher identities of attested releases uploaded strictly before `before`."""
        out: set[str] = set()
        for rel in self.releases:
            if before is not None and rel.first_upload is not None and rel.first_upload >= before:
                continue
            out.update(s.publisher for s in rel.signers)
        return out

    def anomalies(self, min_rank: int = Severity.MEDIUM.rank) -> dict[str, list[Finding]]:
        """Per-project findings at or above `min_rank`, by version."""
        out: dict[str, list[Finding]] = {}
        for f in self.findings:
            if f.version is not None and f.severity.rank >= min_rank:
                out.setdefault(f.version, []).append(f)
        return out


@dataclass(frozen=True)
class FleetContext:
    """Everything a cross-project detector may read."""

    projects: tuple[ProjectSummary, ...]
    """Sorted by project name."""
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FleetDetectorInfo:
    """Metadata declared once per detector; `id` doubles as the docs anchor in docs/fleet.md."""

    id: str
    title: str
    motivation: str
    caveats: str = ""


class FleetDetector:
    """Base class: subclasses set `info` and implement `run`."""

    info: ClassVar[FleetDetectorInfo]

    def run(self, ctx: FleetContext) -> Sequence[Finding]:
        """Return cross-project findings; must be pure."""
        raise NotImplementedError

    def finding(
        self,
        *,
        severity: Severity,
        confidence: Confidence,
        summary: str,
        subject: str,
        evidence: Sequence[EvidenceRef],
        values: Mapping[str, str],
        tip: str,
    ) -> Finding:
        """A `Finding` whose `filename` slot carries the cross-project subject (stable id)."""
        return Finding(
            detector=self.info.id,
            severity=severity,
            confidence=confidence,
            summary=summary,
            version=None,
            filename=subject,
            evidence=tuple(sorted(set(evidence))),
            values=dict(values),
            tip=tip,
        )


def when(dt: datetime | None) -> str:
    """A compact UTC time for summaries."""
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt is not None else "unknown time"
