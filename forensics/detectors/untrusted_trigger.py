"""Detector: the signing workflow ran on attacker-influenced input (PR refs, pull_request_target).

`pull_request_target` runs with the base repository's secrets and OIDC permissions on behalf of a
pull request, and a `refs/pull/...` ref means the built code came from a PR: either lets an outside
contributor's code reach a release (PyPI is moving to refuse such tokens, warehouse#19601). A risky
trigger the release line has always used (a release made by `workflow_run` after CI) is its habit,
reported low; a new one is high.
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
from forensics.timeline.baseline import MIN_SUPPORT, Support, attribute

RISKY_TRIGGERS = frozenset({"pull_request_target", "pull_request", "workflow_run", "issue_comment"})

MOTIVATION = doc_paragraph(__doc__)


class UntrustedTrigger(Detector):
    """One finding per release built from a PR ref or a risky trigger."""

    info = DetectorInfo(
        id="untrusted-build-trigger",
        title="Release built from a pull-request ref or a risky trigger",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Flag PR refs (high) and risky triggers (high when new to the line, low when habit)."""
        out = []
        releases = ctx.timeline.releases
        support_of = Support(releases, attribute("trigger"))
        for rel in releases:
            triggers = sorted(
                {
                    t
                    for c in rel.claims
                    if (t := c.claims.get("trigger", c.claims.get("github_workflow_trigger", "")))
                }
            )
            refs = sorted({r for c in rel.claims if (r := c.claims.get("source_ref", ""))})
            pr_refs = [r for r in refs if r.startswith(("refs/pull/", "refs/merge-requests/"))]
            risky = [t for t in triggers if t in RISKY_TRIGGERS]
            if not pr_refs and not risky:
                continue
            reasons = [f"built from pull-request ref {r}" for r in pr_refs]
            reasons += [f"workflow triggered by {t}" for t in risky]
            support = support_of(rel)
            same, total = (support[0], support[1]) if support else (0, 0)
            habitual = not pr_refs and same >= MIN_SUPPORT and same * 2 >= total
            scope = support[2].describe(total) if support else "earlier releases"
            severity = Severity.LOW if habitual else Severity.HIGH
            out.append(
                self.finding(
                    severity=severity,
                    confidence=Confidence.HIGH,
                    summary=f"{rel.version}: "
                    + "; ".join(reasons)
                    + f"; {same} of {total} {scope} used the same trigger",
                    release=rel,
                    evidence=claim_evidence(rel),
                    values={
                        "trigger": ", ".join(triggers),
                        "ref": ", ".join(refs),
                        "baseline": f"{same} of {total}",
                    },
                    tip="Read the workflow at the attested commit: does untrusted input (a PR "
                    "head, a comment) reach the build?",
                )
            )
        return out
