"""Detector: the signing workflow ran on attacker-influenced input (PR refs, pull_request_target).

`pull_request_target` runs with the base repository's secrets and OIDC permissions on behalf of a
pull request, and a `refs/pull/...` ref means the built code came from a PR: either lets an outside
contributor's code reach a release (PyPI is moving to refuse such tokens, warehouse#19601).
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, Severity

RISKY_TRIGGERS = frozenset({"pull_request_target", "pull_request", "workflow_run", "issue_comment"})


MOTIVATION = doc_paragraph(__doc__)


class UntrustedTrigger(Detector):
    """One finding per file built from a PR ref or a risky trigger."""

    info = DetectorInfo(
        id="untrusted-build-trigger",
        title="Release built from a pull-request ref or a risky trigger",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Flag PR refs (high) and risky triggers (high for pull_request_target)."""
        out = []
        for rel in ctx.timeline.releases:
            for fv in rel.files:
                claims = fv.provenance.claims
                trigger = claims.get("trigger", claims.get("github_workflow_trigger", ""))
                ref = claims.get("source_ref", "")
                reasons = []
                if ref.startswith(("refs/pull/", "refs/merge-requests/")):
                    reasons.append(f"built from pull-request ref {ref}")
                if trigger in RISKY_TRIGGERS:
                    reasons.append(f"workflow triggered by {trigger}")
                if reasons:
                    out.append(
                        self.finding(
                            severity=Severity.HIGH,
                            confidence=Confidence.HIGH,
                            summary=f"{fv.dist.filename}: " + "; ".join(reasons),
                            release=rel,
                            file=fv,
                            values={"trigger": trigger, "ref": ref},
                        )
                    )
        return out
