"""What a detector is: declared metadata, a pure `run(ctx)`, and the context it runs on.

Detectors never do I/O and never read the clock: everything they may look at is in the
`AnalysisContext`, whose `timeline` is the one joined model (claims, commits, tags, runs, log
checks per release) and whose baseline (`forensics.timeline.baseline`) they compare with. A
detector that needs data the case does not have is not run; the orchestrator
records a `Skipped` with the reason instead (unknown is a result, not silence).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from forensics.models import Confidence, EvidenceRef, Finding, Severity
from forensics.timeline import FileView, ReleaseView, Timeline


class Requirement(enum.StrEnum):
    """Data a detector needs."""

    PEP740 = "pep740"
    """The index serves PEP 740, so absence of provenance is meaningful."""
    REKOR = "rekor"
    """Transparency-log data was collected."""
    GITHUB = "github"
    """GitHub commits, runs and tags named by the attestations were collected."""
    SOURCE = "source"
    """The index names a GitHub source repository and its tags and runs were collected."""


@dataclass(frozen=True)
class AnalysisContext:
    """Everything a detector may read."""

    project: str
    as_of: datetime
    timeline: Timeline
    available: frozenset[Requirement]
    unavailable: Mapping[Requirement, str] = field(default_factory=dict)
    """Why each missing requirement is missing."""


@dataclass(frozen=True)
class DetectorInfo:
    """Metadata declared once per detector; `id` doubles as the docs anchor."""

    id: str
    title: str
    requires: frozenset[Requirement]
    motivation: str
    caveats: str = ""

    @property
    def docs_url(self) -> str:
        """Where the detector is documented."""
        return f"docs/detectors.md#{self.id}"


class Detector:
    """Base class: subclasses set `info` and implement `run`."""

    info: ClassVar[DetectorInfo]

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Return findings; must be pure."""
        raise NotImplementedError

    def finding(
        self,
        *,
        severity: Severity,
        confidence: Confidence,
        summary: str,
        release: ReleaseView | None = None,
        file: FileView | None = None,
        evidence: Sequence[EvidenceRef] = (),
        values: Mapping[str, str] | None = None,
        tip: str | None = None,
    ) -> Finding:
        """Build a `Finding` pre-filled with this detector's id and the subject's evidence."""
        refs: list[EvidenceRef] = []
        if file is not None:
            refs.append(file.dist.evidence)
            if file.provenance.evidence is not None:
                refs.append(file.provenance.evidence)
        refs.extend(evidence)
        version = release.version if release else (file.dist.version if file else None)
        return Finding(
            detector=self.info.id,
            severity=severity,
            confidence=confidence,
            summary=summary,
            version=version,
            filename=file.dist.filename if file else None,
            evidence=tuple(dict.fromkeys(refs)),
            values=dict(values or {}),
            tip=tip,
        )


def release_evidence(release: ReleaseView) -> list[EvidenceRef]:
    """Evidence refs of every file of a release (index entry + provenance)."""
    refs: list[EvidenceRef] = []
    for fv in release.files:
        refs.append(fv.dist.evidence)
        if fv.provenance.evidence is not None:
            refs.append(fv.provenance.evidence)
    for rec in release.recovered:
        refs.extend(rec.evidence)
    for rep in release.reported:
        refs.extend(rep.evidence)
    return list(dict.fromkeys(refs))


def claim_evidence(release: ReleaseView) -> list[EvidenceRef]:
    """Evidence of a release's verified claims (attestations and recovered log entries)."""
    return list(dict.fromkeys(e for c in release.claims for e in c.evidence))


def doc_paragraph(doc: str | None, index: int = 1) -> str:
    """Paragraph `index` of a module docstring, on one line (detectors document themselves once)."""
    parts = (doc or "").strip().split("\n\n")
    return " ".join(parts[index].split()) if len(parts) > index else ""
