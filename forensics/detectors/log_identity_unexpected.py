"""Detector: a log entry with the project's identity was signed by an unexpected workflow or ref.

Entries recovered from the log (releases the index no longer serves) carry the project's
repository, but a different workflow file, or a ref of a shape the project never released from
(a branch or pull-request ref where releases come from tags), means someone used the project's
identity outside its release process.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.claim_drift import ref_shape
from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, ProvenanceStatus, Severity

MOTIVATION = doc_paragraph(__doc__)


def workflow_path(build_config: str) -> str:
    """`https://github.com/o/r/.github/workflows/x.yml@refs/tags/v1` -> `.../x.yml`."""
    return build_config.split("@", 1)[0]


class LogIdentityUnexpected(Detector):
    """Compares recovered entries with the workflows and ref shapes of served releases."""

    info = DetectorInfo(
        id="log-identity-unexpected",
        title="Log entry with the project's identity from an unexpected workflow or ref",
        requires=frozenset({Requirement.REKOR, Requirement.PEP740}),
        motivation=MOTIVATION,
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per recovered entry whose workflow or ref shape is new."""
        workflows: set[str] = set()
        shapes: set[str] = set()
        for rel in ctx.timeline.releases:
            for fv in rel.files:
                if fv.provenance.status is ProvenanceStatus.VERIFIED:
                    claims = fv.provenance.claims
                    if "build_config" in claims:
                        workflows.add(workflow_path(claims["build_config"]))
                    if "source_ref" in claims:
                        shapes.add(ref_shape(claims["source_ref"]))
        if not workflows:
            return []
        out = []
        for rel in ctx.timeline.releases:
            for rec in rel.recovered:
                reasons = []
                wf = workflow_path(rec.claims.get("build_config", ""))
                if wf and wf not in workflows:
                    reasons.append(f"workflow {wf} (releases use {', '.join(sorted(workflows))})")
                ref = rec.claims.get("source_ref", "")
                if ref and ref_shape(ref) not in shapes:
                    reasons.append(f"ref {ref} (releases use {', '.join(sorted(shapes))})")
                if reasons:
                    out.append(
                        self.finding(
                            severity=Severity.HIGH,
                            confidence=Confidence.MEDIUM,
                            summary=f"log entry {rec.log_entry.log_index} ({rel.version}): "
                            "signed by " + "; ".join(reasons),
                            release=rel,
                            evidence=rec.evidence,
                            values={
                                "log_index": str(rec.log_entry.log_index),
                                "workflow": wf,
                                "ref": ref,
                            },
                        )
                    )
        return out
