"""From one project's `Investigation` to the compact `ProjectSummary` a fleet works on, and back
from JSON; plus the per-release verdict the scan rows and the gate use.

`release_verdict` is deliberately the ONE place where a fleet decides whether a version is
flagged, clean or unknown: findings of severity >= medium on that version flag it; a project whose
index does not serve PEP 740, or whose checks that judge provenance could not run, makes it
unknown. When `forensics/verdict.py` (per-release verdicts and coverage) lands, this function
delegates to it and keeps its signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from forensics.fleet.detectors.interface import ProjectSummary, ReleaseSummary, Signer
from forensics.models import Confidence, EvidenceRef, Finding, Severity, isoformat, parse_time

if TYPE_CHECKING:
    from forensics.analysis import Investigation

#: Checks whose absence makes "no finding" mean "not judged" for a release's provenance.
PROVENANCE_CHECKS = frozenset({"provenance-lost", "publisher-changed", "claim-drift"})


def summarize(inv: Investigation, case: str = "") -> ProjectSummary:
    """Reduce an investigation to what fleet reports and cross-project detectors need."""
    from forensics.verdict import release_verdicts

    verdicts = {
        v.version: v for v in release_verdicts(inv.timeline, inv.findings, simulated=inv.simulated)
    }
    releases = []
    for rel in inv.timeline.releases:
        signers: dict[Signer, None] = {}
        for fv in rel.files:
            for att in fv.provenance.attestations:
                if not att.verified or att.publisher is None:
                    continue
                pub = att.publisher
                claims = att.claims
                signers[
                    Signer(
                        publisher=f"{pub.kind}|{pub.repository or ''}|{pub.workflow or ''}",
                        repository=pub.repository or "",
                        build_signer=claims.get("build_signer_uri", ""),
                        build_signer_digest=claims.get("build_signer_digest", ""),
                        commit=claims.get("source_commit", ""),
                        run=claims.get("run_url", ""),
                        evidence=(fv.provenance.evidence,) if fv.provenance.evidence else (),
                    )
                ] = None
        refs = [fv.dist.evidence for fv in rel.files]
        releases.append(
            ReleaseSummary(
                version=rel.version,
                first_upload=rel.first_upload,
                state=rel.state.value,
                attested=rel.attested,
                signers=tuple(sorted(signers, key=lambda s: (s.publisher, s.commit, s.run))),
                evidence=tuple(dict.fromkeys(refs)),
                verdict=verdicts[rel.version].verdict.value,
                reasons=verdicts[rel.version].reasons,
            )
        )
    return ProjectSummary(
        project=inv.project,
        releases=tuple(releases),
        findings=tuple(inv.findings),
        skipped=tuple(sorted((s.detector, s.reason) for s in inv.skipped)),
        pep740=inv.timeline.pep740.value,
        case=case,
    )


@dataclass(frozen=True)
class ReleaseVerdict:
    """A fleet's judgement of one (project, version)."""

    verdict: str
    """`flagged`, `clean`, `unknown` or `not-found`."""
    reason: str
    findings: tuple[Finding, ...] = ()


def release_verdict(summary: ProjectSummary, version: str) -> ReleaseVerdict:
    """Flagged (a finding >= medium on it), clean, unknown (not judged) or not-found."""
    if summary.error:
        return ReleaseVerdict("unknown", f"the project could not be investigated: {summary.error}")
    rel = next((r for r in summary.releases if r.version == version), None)
    if rel is None:
        return ReleaseVerdict("not-found", f"{summary.project} {version} is not on the index")
    bad = tuple(
        f
        for f in summary.findings
        if f.version == version and f.severity.rank >= Severity.MEDIUM.rank
    )
    # The per-release verdict is `forensics.verdict`'s (kept in the summary): suspicious and
    # inconsistent releases are flagged, with its reasons.
    if rel.verdict in ("suspicious", "inconsistent") or bad:
        worst = max(bad, key=lambda f: f.severity.rank) if bad else None
        reason = "; ".join(rel.reasons) or (worst.summary if worst else rel.verdict)
        return ReleaseVerdict("flagged", f"{rel.verdict or 'flagged'}: {reason}", bad)
    if summary.pep740 != "yes":
        return ReleaseVerdict("unknown", "the index does not serve PEP 740 provenance")
    if rel.state == "unknown":
        return ReleaseVerdict("unknown", "the release's provenance could not be determined")
    missing = sorted({name for name, _ in summary.skipped} & PROVENANCE_CHECKS)
    if missing:
        return ReleaseVerdict(
            "unknown", "checks that judge provenance did not run: " + ", ".join(missing)
        )
    return ReleaseVerdict("clean", "no finding of medium severity or more on this release")


def project_verdict(summary: ProjectSummary) -> str:
    """`flagged` if any release is; `unknown` if the project could not be judged; else `clean`.

    Index-only checks speak without PEP 740, so a project behind an index that strips it can
    still be flagged; it is never called clean without PEP 740.
    """
    if summary.error:
        return "unknown"
    if any(release_verdict(summary, r.version).verdict == "flagged" for r in summary.releases):
        return "flagged"
    if summary.pep740 != "yes":
        return "unknown"
    return "clean"


# -- JSON (the fleet report and the per-case summary cache) -----------------------------------


def ref_json(ref: EvidenceRef) -> dict[str, str]:
    """An evidence ref without its retrieval time: the time is in the case, found by sha256.

    Leaving it out keeps the fleet report's body identical whichever engine or run collected the
    same bytes; `run.cases` in the report and each case's index give the retrieval times.
    """
    out = {"url": ref.url, "sha256": ref.sha256}
    if ref.pointer:
        out["pointer"] = ref.pointer
    if ref.note:
        out["note"] = ref.note
    return out


def finding_json(f: Finding) -> dict[str, Any]:
    """A finding as the fleet report shows it (same fields as forensics.report/v1)."""
    return {
        "id": f.id,
        "detector": f.detector,
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "version": f.version,
        "subject": f.filename,
        "summary": f.summary,
        "values": dict(sorted(f.values.items())),
        "tip": f.tip,
        "evidence": [ref_json(e) for e in f.evidence],
    }


def _ref(d: Mapping[str, Any], retrieved: Any) -> EvidenceRef:
    return EvidenceRef(
        url=str(d["url"]),
        sha256=str(d["sha256"]),
        retrieved_at=parse_time(str(d.get("retrieved_at") or retrieved)),
        pointer=str(d.get("pointer", "")),
        note=str(d.get("note", "")),
    )


def summary_to_json(s: ProjectSummary) -> dict[str, Any]:
    """Lossless JSON form of a summary (evidence refs keep their retrieval times)."""

    def refs(items: tuple[EvidenceRef, ...]) -> list[dict[str, str]]:
        return [e.to_json() for e in items]

    return {
        "project": s.project,
        "pep740": s.pep740,
        "case": s.case,
        "error": s.error,
        "skipped": [list(x) for x in s.skipped],
        "releases": [
            {
                "version": r.version,
                "first_upload": isoformat(r.first_upload),
                "state": r.state,
                "attested": r.attested,
                "verdict": r.verdict,
                "reasons": list(r.reasons),
                "evidence": refs(r.evidence),
                "signers": [
                    {
                        "publisher": g.publisher,
                        "repository": g.repository,
                        "build_signer": g.build_signer,
                        "build_signer_digest": g.build_signer_digest,
                        "commit": g.commit,
                        "run": g.run,
                        "evidence": refs(g.evidence),
                    }
                    for g in r.signers
                ],
            }
            for r in s.releases
        ],
        "findings": [{**f.to_json(), "filename": f.filename} for f in s.findings],
    }


def summary_from_json(d: Mapping[str, Any]) -> ProjectSummary:
    """Inverse of `summary_to_json`."""

    def refs(items: Any) -> tuple[EvidenceRef, ...]:
        return tuple(_ref(e, e.get("retrieved_at")) for e in items)

    releases = tuple(
        ReleaseSummary(
            version=r["version"],
            first_upload=parse_time(r["first_upload"]) if r["first_upload"] else None,
            state=r["state"],
            attested=bool(r["attested"]),
            verdict=str(r.get("verdict", "")),
            reasons=tuple(str(x) for x in r.get("reasons", ())),
            evidence=refs(r["evidence"]),
            signers=tuple(
                Signer(
                    publisher=g["publisher"],
                    repository=g["repository"],
                    build_signer=g["build_signer"],
                    build_signer_digest=g["build_signer_digest"],
                    commit=g["commit"],
                    run=g["run"],
                    evidence=refs(g["evidence"]),
                )
                for g in r["signers"]
            ),
        )
        for r in d["releases"]
    )
    findings = tuple(
        Finding(
            detector=f["detector"],
            severity=Severity(f["severity"]),
            confidence=Confidence(f["confidence"]),
            summary=f["summary"],
            version=f["version"],
            filename=f["filename"],
            evidence=refs(f["evidence"]),
            values=dict(f["values"]),
            tip=f["tip"],
        )
        for f in d["findings"]
    )
    return ProjectSummary(
        project=d["project"],
        releases=releases,
        findings=findings,
        skipped=tuple((str(a), str(b)) for a, b in d["skipped"]),
        pep740=d["pep740"],
        case=d.get("case", ""),
        error=d.get("error", ""),
    )
