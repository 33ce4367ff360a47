"""Detector: a file's attestation fails verification (signature, chain, log proof or subject)."""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import AnalysisContext, Detector, DetectorInfo, Requirement
from forensics.models import Confidence, Finding, ProvenanceStatus, Severity


class AttestationInvalid(Detector):
    """Any file whose provenance status is `invalid`."""

    info = DetectorInfo(
        id="attestation-invalid",
        title="Attestation fails verification",
        requires=frozenset({Requirement.PEP740}),
        motivation=(
            "PyPI verifies attestations at upload, so a served attestation that no longer verifies "
            "means the object, the file or the trust material changed, or was forged."
        ),
        caveats="A stale or wrong --trust-root makes every attestation fail the chain check.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per invalid file."""
        out = []
        for rel in ctx.timeline.releases:
            for fv in rel.files:
                if fv.provenance.status is not ProvenanceStatus.INVALID:
                    continue
                reason = fv.provenance.reason
                digest = "sha256" in reason and "does not match" in reason
                out.append(
                    self.finding(
                        severity=Severity.CRITICAL if digest else Severity.HIGH,
                        confidence=Confidence.HIGH,
                        summary=f"{fv.dist.filename}: attestation is invalid: {reason}",
                        release=rel,
                        file=fv,
                        values={"reason": reason},
                        tip="Compare the file with the one the attestation names; re-run "
                        "`forensics verify` with the intended --trust-root.",
                    )
                )
        return out
