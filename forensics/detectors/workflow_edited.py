"""Detector: the commit a release was built from edits the workflow that signed the release.

A Trusted Publisher trusts a workflow file. Whoever can change that file in the commit being
released controls what gets signed, so a release commit that also edits the release workflow
deserves a look, and an automated or first-time author makes it alarming: Ultralytics 8.3.41 was
built from commit cb260c2, authored by an automation account, which removed an actor check from
publish.yml and bumped the version in one go.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from forensics.collect.github_parse import Commit, github_repo
from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
)
from forensics.models import Confidence, EvidenceRef, Finding, ProvenanceStatus, Severity
from forensics.timeline import ReleaseView

MOTIVATION = doc_paragraph(__doc__)


def workflow_file(build_config: str | None) -> str | None:
    """`https://github.com/o/r/.github/workflows/x.yml@ref` -> `.github/workflows/x.yml`."""
    if not build_config or "/.github/workflows/" not in build_config:
        return None
    path = build_config.split("@", 1)[0]
    return ".github/workflows/" + path.split("/.github/workflows/", 1)[1]


def release_claims(rel: ReleaseView) -> Iterator[tuple[Mapping[str, str], Sequence[EvidenceRef]]]:
    """Claims of a release's verified attestations and recovered log entries, with evidence."""
    for fv in rel.files:
        if fv.provenance.status is ProvenanceStatus.VERIFIED:
            ev = (fv.provenance.evidence,) if fv.provenance.evidence else ()
            yield fv.provenance.claims, ev
    for rec in rel.recovered:
        yield rec.claims, rec.evidence


def release_commit(ctx: AnalysisContext, rel: ReleaseView) -> tuple[Commit, str | None] | None:
    """The GitHub commit a release was built from, and the workflow file that signed it."""
    if ctx.github is None:
        return None
    for claims, _ev in release_claims(rel):
        repo = github_repo(claims.get("source_repository"))
        sha = claims.get("source_commit")
        if repo and sha and (commit := ctx.github.commits.get((repo, sha))) is not None:
            return commit, workflow_file(claims.get("build_config"))
    return None


class WorkflowEdited(Detector):
    """One finding per release whose own commit changes its signing workflow."""

    info = DetectorInfo(
        id="release-commit-edits-workflow",
        title="Release built from a commit that edits the release workflow",
        requires=frozenset({Requirement.GITHUB}),
        motivation=MOTIVATION,
        caveats="Maintainers do fix release workflows in release commits; a rename by a known "
        "maintainer is reported at low severity.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Walk releases in time order, remembering who authored earlier release commits."""
        authors: set[str] = set()
        previous_workflow: str | None = None
        out = []
        for rel in ctx.timeline.releases:
            found = release_commit(ctx, rel)
            if found is None:
                continue
            commit, workflow = found
            if workflow and workflow in commit.files:
                known = commit.author in authors
                renamed = (
                    previous_workflow not in (None, workflow) and previous_workflow in commit.files
                )
                if renamed and known and not commit.automated:
                    severity, confidence = Severity.LOW, Confidence.MEDIUM
                    why = (
                        f"renames {previous_workflow} to {workflow}; by {commit.author}, "
                        "who made earlier releases"
                    )
                else:
                    who = []
                    if commit.automated:
                        who.append("an automated account")
                    if not known:
                        who.append("an author of no earlier release commit")
                    severity = Severity.HIGH if who else Severity.MEDIUM
                    confidence = Confidence.HIGH if who else Confidence.MEDIUM
                    why = f"edits {workflow}; authored by {commit.author}" + (
                        f" ({', '.join(who)})" if who else ""
                    )
                out.append(
                    self.finding(
                        severity=severity,
                        confidence=confidence,
                        summary=f"{rel.version}: release commit {commit.sha[:12]} {why}",
                        release=rel,
                        evidence=[
                            commit.evidence,
                            *[e for _c, ev in release_claims(rel) for e in ev],
                        ],
                        values={
                            "commit": commit.sha,
                            "author": commit.author,
                            "workflow": workflow,
                            "files": ", ".join(commit.files),
                            "message": commit.message.splitlines()[0] if commit.message else "",
                        },
                    )
                )
            authors.add(commit.author)
            previous_workflow = workflow or previous_workflow
        return out
