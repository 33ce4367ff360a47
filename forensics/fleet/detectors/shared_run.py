"""Cross-project detector: one workflow run (or one commit) attesting releases of several projects,
when its repository is not the established publisher of every one of them.

A monorepo's release run that publishes all its packages is normal and is not flagged (its
repository signed each project before); a run that also signs a project with another history is
one pipeline publishing where it should not.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.fleet.detectors.interface import (
    FleetContext,
    FleetDetector,
    FleetDetectorInfo,
    ReleaseSummary,
    Signer,
    when,
)
from forensics.models import Confidence, Finding, Severity


class SharedRun(FleetDetector):
    """Runs and commits whose attestations cover several projects unexpectedly."""

    info = FleetDetectorInfo(
        id="shared-run",
        title="One workflow run or commit attests releases of several projects",
        motivation=(
            "Each project is normally published by its own release run; one run signing "
            "several projects' releases, some of which it never signed before, is one pipeline "
            "(or one stolen OIDC token) reaching other projects."
        ),
        caveats="A monorepo adopting a new shared release pipeline looks the same.",
    )

    def run(self, ctx: FleetContext) -> Sequence[Finding]:
        """One finding per run (else per commit) spanning two or more projects."""
        groups: dict[tuple[str, str], list[tuple[str, ReleaseSummary, Signer, bool]]] = {}
        for p in ctx.projects:
            for rel in p.releases:
                established = p.established(rel.first_upload)
                for s in rel.signers:
                    unexpected = bool(established) and s.publisher not in established
                    for kind, value in (("run", s.run), ("commit", s.commit)):
                        if value:
                            groups.setdefault((kind, value), []).append(
                                (p.project, rel, s, unexpected)
                            )
        out, covered = [], set()
        for (kind, value), members in sorted(groups.items()):
            projects = frozenset(m[0] for m in members)
            if len(projects) < 2 or not any(m[3] for m in members):
                continue
            if kind == "commit" and projects in covered:
                continue  # the run that built this commit was reported already
            covered.add(projects)
            items = ", ".join(
                f"{name} {rel.version} ({when(rel.first_upload)})"
                + (" — never signed by this repository before" if unexpected else "")
                for name, rel, _, unexpected in sorted(members, key=lambda m: (m[0], m[1].version))
            )
            repos = sorted({m[2].repository for m in members})
            out.append(
                self.finding(
                    severity=Severity.HIGH,
                    confidence=Confidence.HIGH if kind == "run" else Confidence.MEDIUM,
                    summary=(
                        f"one {kind} ({value}) of {', '.join(repos)} attests releases of "
                        f"{len(projects)} projects: {items}"
                    ),
                    subject=f"shared-{kind}:{value}",
                    evidence=[e for m in members for e in m[2].evidence],
                    values={
                        kind: value,
                        "projects": ", ".join(sorted(projects)),
                        "repositories": ", ".join(repos),
                    },
                    tip="Open the run's log: which packages did it build and upload, and why?",
                )
            )
        return out
