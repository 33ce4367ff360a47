"""Cross-project detector: one signing identity (repository, workflow) that appears for a project
it never signed before, and that also signs other projects of the fleet.

A monorepo that has always published several projects is the project's established signer for
each of them and is not flagged; an identity that shows up *late* in a project's history while it
also signs unrelated projects is how a compromised shared publisher, or a hijacked Trusted
Publisher configuration, spreads.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.fleet.detectors.interface import (
    FleetContext,
    FleetDetector,
    FleetDetectorInfo,
    ReleaseSummary,
    when,
)
from forensics.models import Confidence, EvidenceRef, Finding, Severity


class SignerSpread(FleetDetector):
    """Identities that are new to a project and sign several projects."""

    info = FleetDetectorInfo(
        id="signer-spread",
        title="A signing identity new to a project also signs other projects",
        motivation=(
            "A project's publisher changes rarely; when the new publisher is an identity that "
            "also signs other projects, one compromise reaches all of them."
        ),
        caveats=(
            "Moving several projects into one organisation's release repository looks the "
            "same: check the repository's ownership and its announcement."
        ),
    )

    def run(self, ctx: FleetContext) -> Sequence[Finding]:
        """One finding per identity that is new somewhere and signs at least two projects."""
        signs: dict[str, set[str]] = {}
        new: dict[str, list[tuple[str, ReleaseSummary]]] = {}
        refs: dict[str, list[EvidenceRef]] = {}
        for p in ctx.projects:
            seen: set[str] = set()
            for rel in p.releases:
                current = {s.publisher for s in rel.signers}
                for s in rel.signers:
                    signs.setdefault(s.publisher, set()).add(p.project)
                    refs.setdefault(s.publisher, []).extend(s.evidence)
                for pub in sorted(current):
                    if seen and pub not in seen:
                        new.setdefault(pub, []).append((p.project, rel))
                seen |= current
        out = []
        for pub in sorted(new):
            projects = sorted(signs[pub])
            if len(projects) < 2:
                continue
            appearances = new[pub]
            items = ", ".join(
                f"{name} {rel.version} ({when(rel.first_upload)})" for name, rel in appearances
            )
            kind, repo, workflow = [*pub.split("|"), "", ""][:3]
            out.append(
                self.finding(
                    severity=Severity.HIGH,
                    confidence=Confidence.MEDIUM,
                    summary=(
                        f"{repo} ({workflow}, {kind}) signs {len(projects)} projects "
                        f"({', '.join(projects)}) and is new to {items}, whose earlier releases "
                        "were signed by another identity"
                    ),
                    subject=f"signer-spread:{pub}",
                    evidence=refs[pub],
                    values={
                        "identity": pub,
                        "projects": ", ".join(projects),
                        "new_to": ", ".join(sorted({n for n, _ in appearances})),
                    },
                    tip=(
                        "Check the Trusted Publisher configuration of each project named: who "
                        "added this repository, and when."
                    ),
                )
            )
        return out
