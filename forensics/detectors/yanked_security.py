"""Detector: a yanked release whose yank reason speaks of a compromise or a security problem.

The yank reason is the maintainers' own statement, served by the index on every file of the
release. "Compromised", "malicious", "unauthorized upload" is the strongest index-only signal
there is that a release was not theirs; "security vulnerability" or a CVE is a lead of a
different kind (a flawed release, not a foreign one).

Reasons are free text, matched on words; yanks for packaging mistakes, wrong metadata or
broken builds say nothing here (they are the common case).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    doc_paragraph,
    release_evidence,
)
from forensics.models import Confidence, Finding, Severity

#: Words of a maintainer saying the release is not theirs.
COMPROMISE = re.compile(
    r"compromis|malicious|malware|backdoor|hijack|unauthori[sz]ed|stolen|leaked (?:api )?token"
    r"|not (?:published|released|uploaded) by|account takeover|supply[- ]chain attack"
    r"|crypto ?miner",
    re.IGNORECASE,
)
#: Words of a security flaw in an otherwise genuine release.
VULNERABILITY = re.compile(
    r"secur|vulnerab|\bCVE-\d|\bGHSA-|exploit|remote code execution|\bRCE\b", re.IGNORECASE
)


class YankedSecurity(Detector):
    """Yanked releases with a security-like reason."""

    info = DetectorInfo(
        id="yanked-security",
        title="Release yanked for a security-like reason",
        requires=frozenset(),
        motivation=doc_paragraph(__doc__),
        caveats=doc_paragraph(__doc__, 2),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per yanked release whose reason matches."""
        out = []
        for rel in ctx.timeline.releases:
            reasons = sorted(
                {
                    fv.dist.yanked_reason
                    for fv in rel.files
                    if fv.dist.yanked and fv.dist.yanked_reason
                }
            )
            text = " | ".join(reasons)
            if not text:
                continue
            if COMPROMISE.search(text):
                severity, confidence, what = Severity.HIGH, Confidence.HIGH, "a compromise"
            elif VULNERABILITY.search(text):
                severity, confidence, what = Severity.LOW, Confidence.MEDIUM, "a security flaw"
            else:
                continue
            out.append(
                self.finding(
                    severity=severity,
                    confidence=confidence,
                    summary=f"{rel.version} was yanked for {what}: {text!r}",
                    release=rel,
                    evidence=release_evidence(rel),
                    values={"yanked_reason": text, "reading": what},
                    tip=(
                        "Read the project's advisory or announcement; check whether anyone "
                        "installed this release (lockfiles, caches) before the yank."
                    ),
                )
            )
        return out
