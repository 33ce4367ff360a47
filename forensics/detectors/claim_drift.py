"""Detector: fine-grained certificate claims drift from the previous attested release.

PyPI compares only publisher kind, repository and workflow filename. A same-repository compromise
(Ultralytics 8.3.41) keeps those, so we also compare the claims an attacker is likely to change
or cannot control: ref shape, trigger, deployment environment, runner, repository and owner IDs
(a changed ID under an unchanged name means the repository was deleted and re-created), visibility
and issuer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, Severity
from forensics.timeline import FileView, ReleaseView

#: claim name -> (severity when it changes, why it matters)
COMPARED: Mapping[str, tuple[Severity, str]] = {
    "source_repository_id": (Severity.HIGH, "repository ID changed: deleted and re-created?"),
    "source_repository_owner_id": (Severity.HIGH, "owner ID changed"),
    "issuer": (Severity.HIGH, "OIDC issuer changed"),
    "trigger": (Severity.MEDIUM, "workflow trigger changed"),
    "deployment_environment": (Severity.MEDIUM, "deployment environment changed"),
    "runner_environment": (Severity.MEDIUM, "runner environment changed"),
    "source_repository_visibility": (Severity.LOW, "repository visibility changed"),
    "ref_shape": (Severity.MEDIUM, "the kind of ref that was built changed"),
}

_DIGITS = re.compile(r"\d+")


def ref_shape(ref: str) -> str:
    """`refs/tags/v8.3.41` -> `refs/tags/v#.#.#`: compares ref *patterns*, not versions."""
    return _DIGITS.sub("#", ref)


def observed(fv: FileView) -> dict[str, str]:
    """The compared claims of a file's attestation (publish/v1 first)."""
    claims = fv.provenance.claims
    out = {k: claims[k] for k in COMPARED if k in claims}
    if "source_ref" in claims:
        out["ref_shape"] = ref_shape(claims["source_ref"])
    return out


def release_claims(rel: ReleaseView) -> dict[str, set[str]]:
    """Every observed value of every compared claim across a release's verified files."""
    values: dict[str, set[str]] = {}
    for fv in rel.files:
        if fv.provenance.attestations and fv.provenance.status.value == "verified":
            for key, value in observed(fv).items():
                values.setdefault(key, set()).add(value)
    return values


MOTIVATION = doc_paragraph(__doc__)


class ClaimDrift(Detector):
    """One finding per release per drifting claim."""

    info = DetectorInfo(
        id="claim-drift",
        title="Certificate claims differ from the previous attested release",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats="Backports built from a branch and planned CI migrations change refs and runners.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Compare each attested release with the nearest earlier attested release."""
        out: list[Finding] = []
        for rel in ctx.timeline.releases:
            prev = ctx.timeline.previous_attested(rel.version)
            if prev is None or not rel.publishers:
                continue
            now, before = release_claims(rel), release_claims(prev)
            for key, (severity, why) in COMPARED.items():
                if key in now and key in before and now[key] != before[key]:
                    if key == "source_repository_owner_id" and now.get(
                        "source_repository_id"
                    ) == before.get("source_repository_id"):
                        # GitHub keeps a repository's ID across a transfer to a new owner.
                        severity = Severity.LOW
                        why = "owner ID changed with the repository ID unchanged: a transfer"
                    old, new = ", ".join(sorted(before[key])), ", ".join(sorted(now[key]))
                    fv = next((f for f in rel.files if f.provenance.attestations), None)
                    out.append(
                        self.finding(
                            severity=severity,
                            confidence=Confidence.MEDIUM,
                            summary=f"{rel.version}: {why} ({key}: {old!r} -> {new!r})",
                            release=rel,
                            file=fv,
                            values={
                                "claim": key,
                                "previous": old,
                                "current": new,
                                "previous_version": prev.version,
                            },
                        )
                    )
        return out
