"""Detector: an attestation was signed on a self-hosted runner the release line did not use.

Self-hosted runners persist state between jobs and are often shared, so a compromise of one job
can taint a release; GitHub-hosted runners are ephemeral. The claim is .11 (runner environment).
A line that always built on its own runners is reported at info; a planned migration (a change
that persists, made in a tagged commit by an earlier release author) at low.
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
from forensics.timeline.baseline import Support, attribute, corroboration, deviations

MOTIVATION = doc_paragraph(__doc__)


class SelfHostedRunner(Detector):
    """One finding per release signed on a self-hosted runner."""

    info = DetectorInfo(
        id="self-hosted-runner",
        title="Release signed on a self-hosted runner",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats="Some projects always build on their own runners (info); `claim-drift` also "
        "reports the change of runner.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Judge runner_environment == self-hosted against the line's runners."""
        runner = attribute("runner")
        devs = {d.release.version: d for d in deviations(ctx.timeline.releases, runner)}
        support_of = Support(ctx.timeline.releases, runner)
        out = []
        for rel in ctx.timeline.releases:
            value = runner.read(rel) or ""
            if "self-hosted" not in value:
                continue
            dev = devs.get(rel.version)
            support = support_of(rel)
            if dev is None and support is not None and support[1] == 0:
                severity, why = Severity.MEDIUM, "no earlier release to compare the runner with"
            elif dev is None:
                severity, why = Severity.INFO, "the line's earlier releases used such runners too"
            elif dev.cold:
                severity, why = Severity.MEDIUM, dev.comparison()
            elif dev.transition and (because := corroboration(rel, dev.earlier)):
                severity, why = Severity.LOW, f"{dev.comparison()}; explained: {because}"
            else:
                severity, why = Severity.MEDIUM, dev.comparison()
            out.append(
                self.finding(
                    severity=severity,
                    confidence=Confidence.HIGH,
                    summary=f"{rel.version}: signed on a self-hosted runner; {why}",
                    release=rel,
                    evidence=claim_evidence(rel),
                    values={"runner_environment": value, **(dev.values() if dev else {})},
                    tip="Ask who operates the runner and whether it is shared or persistent.",
                )
            )
        return out
