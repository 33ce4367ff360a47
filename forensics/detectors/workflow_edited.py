"""Detector: the commit a release was built from edits the workflow that signed the release.

A Trusted Publisher trusts a workflow file. Whoever can change that file in the commit being
released controls what gets signed, so a release commit that also edits the release workflow
deserves a look, and an automated or first-time author makes it alarming: Ultralytics 8.3.41 was
built from commit cb260c2, authored by an automation account, which removed an actor check from
publish.yml and bumped the version in one go. The baseline is the authors of the project's
earlier release commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    claim_evidence,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, Severity

MOTIVATION = doc_paragraph(__doc__)


class WorkflowEdited(Detector):
    """One finding per release whose own commit changes its signing workflow."""

    info = DetectorInfo(
        id="release-commit-edits-workflow",
        title="Release built from a commit that edits the release workflow",
        requires=frozenset({Requirement.GITHUB}),
        motivation=MOTIVATION,
        caveats="Maintainers do fix release workflows in release commits: a person who authored "
        "earlier release commits is reported at low severity, a rename at low too.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Walk releases in time order, remembering who authored earlier release commits."""
        authors: dict[str, int] = {}
        previous_workflow: str | None = None
        out = []
        for rel in ctx.timeline.releases:
            commit, workflow = rel.commit, rel.source.workflow_file
            if commit is None:
                continue
            if workflow and workflow in commit.files:
                earlier = sum(authors.values())
                known = authors.get(commit.author, 0)
                renamed = (
                    previous_workflow not in (None, workflow) and previous_workflow in commit.files
                )
                who = []
                if commit.automated:
                    who.append("an automated account")
                if not known:
                    who.append("an author of none of the earlier release commits")
                if earlier == 0 and not commit.automated:
                    severity, confidence = Severity.INFO, Confidence.LOW
                    why = f"edits {workflow}; no earlier release commit to compare its author with"
                elif who:
                    severity = Severity.HIGH if commit.automated else Severity.MEDIUM
                    confidence = Confidence.HIGH if commit.automated else Confidence.MEDIUM
                    why = f"edits {workflow}; authored by {commit.author} ({', '.join(who)})"
                else:
                    severity, confidence = Severity.LOW, Confidence.MEDIUM
                    what = (
                        f"renames {previous_workflow} to {workflow}"
                        if renamed
                        else (f"edits {workflow}")
                    )
                    why = (
                        f"{what}; by {commit.author}, who authored {known} of {earlier} "
                        "earlier release commits"
                    )
                out.append(
                    self.finding(
                        severity=severity,
                        confidence=confidence,
                        summary=f"{rel.version}: release commit {commit.sha[:12]} {why}",
                        release=rel,
                        evidence=[commit.evidence, *claim_evidence(rel)],
                        values={
                            "commit": commit.sha,
                            "author": commit.author,
                            "workflow": workflow,
                            "files": ", ".join(commit.files),
                            "message": commit.message.splitlines()[0] if commit.message else "",
                            "baseline_authors": ", ".join(
                                f"{a} ({n})" for a, n in sorted(authors.items())
                            ),
                        },
                        tip="Read the workflow diff in the release commit: removed checks or new "
                        "steps that run untrusted input are the pattern.",
                    )
                )
            authors[commit.author] = authors.get(commit.author, 0) + 1
            previous_workflow = workflow or previous_workflow
        return out
