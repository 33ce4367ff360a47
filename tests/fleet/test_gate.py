"""The gate's judgement on hand-made summaries: downgrades blocked with what changed and since
when; benign explanations (other release line, never attested, exclusions) pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forensics.fleet.detectors import ProjectSummary, ReleaseSummary, Signer
from forensics.fleet.gate import exit_code, gate, judge
from forensics.fleet.lockfile import Pin
from forensics.models import Confidence, EvidenceRef, Finding, Severity

T0 = datetime(2024, 1, 1, tzinfo=UTC)
REF = EvidenceRef("https://pypi.example/simple/p/", "cd" * 32, T0)
SIGNER = Signer("GitHub|org/p|release.yml", "org/p", evidence=(REF,))


def _rel(version: str, day: int, attested: bool) -> ReleaseSummary:
    return ReleaseSummary(
        version,
        T0 + timedelta(days=day),
        "full" if attested else "lost",
        attested,
        (SIGNER,) if attested else (),
    )


def _lost(version: str) -> Finding:
    return Finding(
        "provenance-lost",
        Severity.HIGH,
        Confidence.MEDIUM,
        f"{version} has no attestations",
        version,
        None,
        (REF,),
    )


def _project(releases: tuple[ReleaseSummary, ...], *findings: Finding) -> ProjectSummary:
    return ProjectSummary("p", releases, findings, (), "yes")


def test_token_upload_after_attested_line_is_blocked_with_since_when() -> None:
    s = _project(
        (_rel("2.0.0", 0, True), _rel("2.0.1", 20, True), _rel("2.0.2", 40, False)), _lost("2.0.2")
    )
    r = judge(s, "2.0.2")
    assert r.outcome == "block"
    assert "2.0.2 has no attestations" in r.reason
    assert "releases 2.0.0 (2024-01-01 00:00 UTC) to 2.0.1" in r.reason
    assert "GitHub|org/p|release.yml" in r.reason
    assert judge(s, "2.0.1").outcome == "pass"


def test_backport_line_that_never_attested_passes() -> None:
    # 3.x adopted Trusted Publishing; the 2.9 maintenance line keeps being uploaded with a token
    s = _project(
        (_rel("2.9.0", 0, False), _rel("3.0.0", 10, True), _rel("2.9.1", 20, False)), _lost("2.9.1")
    )
    r = judge(s, "2.9.1")
    assert r.outcome == "pass" and "release line 2.9 never attested" in r.reason


def test_never_attested_and_excluded_pass_unknown_is_exit_3() -> None:
    never = _project((_rel("1.0", 0, False), _rel("1.1", 9, False)))
    assert judge(never, "1.1").reason.startswith("the project never attested")
    s = _project((_rel("1.0.0", 0, True), _rel("1.0.1", 9, False)), _lost("1.0.1"))
    results = gate([Pin("p", "1.0.1"), Pin("q", "1.0")], [s], excluded={"p"})
    assert [r.outcome for r in results] == ["pass", "unknown"]
    assert exit_code(results, allow_partial=False) == 3
    assert exit_code(results, allow_partial=True) == 0
    assert exit_code(gate([Pin("p", "1.0.1")], [s]), allow_partial=True) == 1
    mirror = ProjectSummary("p", s.releases, (), (), "no")
    assert judge(mirror, "1.0.1").outcome == "unknown"
