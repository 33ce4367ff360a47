"""Detector: the Trusted Publisher (kind, repository, workflow) differs from the previous release.

Triage uses GitHub's repository ID (Fulcio claim .15), which survives renames and transfers but
not deletion: a new repository name with the same ID is a rename or transfer (benign, low); the
same repository with another workflow is a workflow change inside the project (medium, its
commit decides); anything else is a different repository signing (medium to high).
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    release_evidence,
)
from forensics.detectors.workflow_edited import release_commit
from forensics.models import Confidence, Finding, ProvenanceStatus, Severity
from forensics.timeline import ReleaseState, ReleaseView


class PublisherChanged(Detector):
    """Releases in state `changed`, and releases attested by several publishers at once."""

    info = DetectorInfo(
        id="publisher-changed",
        title="Publisher identity changed or is inconsistent within a release",
        requires=frozenset({Requirement.PEP740}),
        motivation=(
            "An attacker who can register a Trusted Publisher, or push a new workflow, signs with "
            "a different identity than the project's history."
        ),
        caveats="Repository transfers and workflow renames are benign causes.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per changed or multi-publisher release."""
        out = []
        for rel in ctx.timeline.releases:
            if ReleaseState.CHANGED in rel.states:
                prev = ctx.timeline.previous_attested(rel.version)
                before = ", ".join(sorted(prev.publishers)) if prev else "?"
                after = ", ".join(sorted(rel.publishers))
                severity, confidence, why = _triage(ctx, prev, rel)
                out.append(
                    self.finding(
                        severity=severity,
                        confidence=confidence,
                        summary=f"{rel.version}: publisher changed from {before} to {after}; {why}",
                        release=rel,
                        evidence=release_evidence(rel),
                        values={
                            "previous_version": prev.version if prev else "",
                            "previous_publisher": before,
                            "publisher": after,
                            "triage": why,
                        },
                        tip="A repository transfer or workflow rename explains this; an "
                        "unannounced new repository or workflow does not.",
                    )
                )
            elif ReleaseState.INCONSISTENT in rel.states and len(rel.publishers) > 1:
                out.append(
                    self.finding(
                        severity=Severity.MEDIUM,
                        confidence=Confidence.HIGH,
                        summary=(
                            f"{rel.version}: files attested by {len(rel.publishers)} different "
                            f"publishers: {', '.join(sorted(rel.publishers))}"
                        ),
                        release=rel,
                        evidence=release_evidence(rel),
                        values={"publishers": ", ".join(sorted(rel.publishers))},
                    )
                )
        return out


def _ids(rel: ReleaseView, claim: str) -> set[str]:
    return {
        v
        for fv in rel.files
        if fv.provenance.status is ProvenanceStatus.VERIFIED
        and (v := fv.provenance.claims.get(claim))
    }


def _triage(
    ctx: AnalysisContext, prev: ReleaseView | None, rel: ReleaseView
) -> tuple[Severity, Confidence, str]:
    """Severity, confidence and the reason, from what the repository ID says."""
    if prev is None:
        return Severity.MEDIUM, Confidence.MEDIUM, "no earlier publisher to compare with"
    before, now = _ids(prev, "source_repository_id"), _ids(rel, "source_repository_id")
    if not before or not now:
        return (
            Severity.MEDIUM,
            Confidence.MEDIUM,
            "no repository ID to tell a rename from a new repository",
        )
    if before != now:
        return Severity.HIGH, Confidence.MEDIUM, "a different repository (new repository ID) signs"
    repos_before = _ids(prev, "source_repository")
    repos_now = _ids(rel, "source_repository")
    if repos_before != repos_now:
        return (
            Severity.LOW,
            Confidence.MEDIUM,
            "same repository ID under a new name: consistent with a rename or transfer",
        )
    now_found, before_found = release_commit(ctx, rel), release_commit(ctx, prev)
    if now_found is not None and before_found is not None:
        commit, workflow = now_found
        old = before_found[1]
        if workflow and old and old != workflow and {old, workflow} <= set(commit.files):
            return (
                Severity.LOW,
                Confidence.MEDIUM,
                f"same repository; release commit {commit.sha[:12]} renames {old} to {workflow}",
            )
    return (
        Severity.MEDIUM,
        Confidence.LOW,
        "same repository, another workflow: a workflow rename, or a new workflow pushed to it",
    )
