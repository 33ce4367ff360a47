"""Detector: a log entry with the project's identity was signed by an unexpected workflow or ref.

Entries recovered from the log (releases the index no longer serves) carry the project's
repository, but a different workflow file, or a ref of a pattern the project never released from
(a branch or pull-request ref where releases come from tags), means someone used the project's
identity outside its release process. The baseline is the workflows and ref patterns of the
served, attested releases, counted with their support (pre-release segments folded).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, Severity
from forensics.timeline import workflow_file
from forensics.versions import ref_pattern

MOTIVATION = doc_paragraph(__doc__)


def _top(counts: Counter[str]) -> str:
    return ", ".join(f"{v} ({n})" for v, n in counts.most_common(3))


class LogIdentityUnexpected(Detector):
    """Compares recovered entries with the workflows and ref patterns of served releases."""

    info = DetectorInfo(
        id="log-identity-unexpected",
        title="Log entry with the project's identity from an unexpected workflow or ref",
        requires=frozenset({Requirement.REKOR, Requirement.PEP740}),
        motivation=MOTIVATION,
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per recovered entry whose workflow or ref pattern the baseline lacks."""
        workflows: Counter[str] = Counter()
        shapes: Counter[str] = Counter()
        for rel in ctx.timeline.releases:
            for c in rel.served_claims:
                if wf := workflow_file(c.claims.get("build_config")):
                    workflows[wf] += 1
                if ref := c.claims.get("source_ref"):
                    shapes[ref_pattern(ref)] += 1
        if not workflows:
            return []
        total = sum(workflows.values())
        out = []
        for rel in ctx.timeline.releases:
            for rec in rel.recovered:
                reasons = []
                wf = workflow_file(rec.claims.get("build_config")) or ""
                if wf and wf not in workflows:
                    reasons.append(
                        f"workflow {wf} (0 of {total} attested files; they used {_top(workflows)})"
                    )
                ref = rec.claims.get("source_ref", "")
                if ref and shapes and ref_pattern(ref) not in shapes:
                    reasons.append(
                        f"ref {ref} (0 of {sum(shapes.values())} attested files; they were built "
                        f"from {_top(shapes)})"
                    )
                if reasons:
                    out.append(
                        self.finding(
                            severity=Severity.HIGH if total >= 2 else Severity.MEDIUM,
                            confidence=Confidence.MEDIUM,
                            summary=f"log entry {rec.log_entry.log_index} ({rel.version}): "
                            "signed by " + "; ".join(reasons),
                            release=rel,
                            evidence=rec.evidence,
                            values={
                                "log_index": str(rec.log_entry.log_index),
                                "workflow": wf,
                                "ref": ref,
                                "baseline_workflows": _top(workflows),
                                "baseline_refs": _top(shapes),
                            },
                            tip="Find the workflow run of this signing event; a run outside the "
                            "release workflow used the project's identity.",
                        )
                    )
        return out
