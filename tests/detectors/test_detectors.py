"""Each detector on small hand-built timelines: fires on its pattern, quiet on normal variance."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from forensics.detectors import AnalysisContext, Requirement, run_detectors
from forensics.detectors.registry import DETECTORS
from forensics.models import (
    FileProvenance,
    LogEntry,
    Pep740Support,
    ProvenanceStatus,
    Publisher,
    Severity,
)
from forensics.timeline import RecoveredEntry, Timeline, build_timeline
from tests.factories import T0, attested, dist, history

ALL = frozenset(Requirement)


def scan(tl: Timeline, available: frozenset[Requirement] = ALL) -> dict[str, list[str]]:
    ctx = AnalysisContext(
        "widget",
        T0 + timedelta(days=90),
        tl,
        available,
        {r: f"{r} not collected" for r in Requirement if r not in available},
    )
    findings, skipped = run_detectors(ctx)
    out: dict[str, list[str]] = {}
    for f in findings:
        out.setdefault(f.detector, []).append(f.version or "")
    for s in skipped:
        out.setdefault("skipped:" + s.detector, []).append(s.reason)
    return out


def clean_series(n: int = 4) -> list[tuple[str, FileProvenance | None]]:
    return [
        (
            f"1.{i}",
            attested(
                f"widget-1.{i}.tar.gz",
                T0 + timedelta(days=i),
                claims={"source_ref": f"refs/tags/v1.{i}"},
            ),
        )
        for i in range(n)
    ]


def test_registry_ids_are_unique_kebab_case() -> None:
    ids = [d.info.id for d in DETECTORS]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and " " not in i for i in ids)


def test_clean_patch_series_has_no_findings() -> None:
    out = scan(history(clean_series()))
    assert not [k for k in out if not k.startswith("skipped:")]


def test_token_upload_after_adoption_is_lost() -> None:
    out = scan(history([*clean_series(3), ("1.3", None)]))
    assert out["provenance-lost"] == ["1.3"]


def test_unknown_index_gives_skips_not_missing_attestation_findings() -> None:
    unknown = FileProvenance(
        ProvenanceStatus.UNKNOWN, "provenance unknown: this index does not serve PEP 740"
    )
    tl = history([("1.0", unknown), ("1.1", unknown)], pep740=Pep740Support.NO)
    out = scan(tl, available=frozenset({Requirement.REKOR}))
    assert "provenance-lost" not in out
    assert out["skipped:provenance-lost"] == ["pep740 not collected"]


def test_publisher_change_and_repository_resurrection() -> None:
    moved = Publisher("GitHub", "other/widget", "publish.yml", "pypi")
    tl = history(
        [
            *clean_series(2),
            (
                "2.0",
                attested(
                    "widget-2.0.tar.gz",
                    T0 + timedelta(days=5),
                    publisher=moved,
                    claims={"source_ref": "refs/tags/v2.0"},
                ),
            ),
        ]
    )
    assert scan(tl)["publisher-changed"] == ["2.0"]
    resurrected = history(
        [
            *clean_series(2),
            (
                "2.0",
                attested(
                    "widget-2.0.tar.gz",
                    T0 + timedelta(days=5),
                    claims={"source_repository_id": "999", "source_ref": "refs/tags/v2.0"},
                ),
            ),
        ]
    )
    out = scan(resurrected)
    assert out["claim-drift"] == ["2.0"]
    assert "publisher-changed" not in out


def test_ref_shape_drift_from_tags_to_branch() -> None:
    tl = history(
        [
            *clean_series(2),
            (
                "1.2",
                attested(
                    "widget-1.2.tar.gz",
                    T0 + timedelta(days=3),
                    claims={"source_ref": "refs/heads/main"},
                ),
            ),
        ]
    )
    assert scan(tl)["claim-drift"] == ["1.2"]


def test_pull_request_target_and_self_hosted() -> None:
    tl = history(
        [
            (
                "1.0",
                attested(
                    "widget-1.0.tar.gz",
                    T0,
                    claims={
                        "trigger": "pull_request_target",
                        "source_ref": "refs/pull/7/merge",
                        "runner_environment": "self-hosted",
                    },
                ),
            )
        ]
    )
    out = scan(tl)
    assert out["untrusted-build-trigger"] == ["1.0"]
    assert out["self-hosted-runner"] == ["1.0"]


def test_signing_time_skew_backdated_and_late() -> None:
    tl = history(
        [
            ("1.0", attested("widget-1.0.tar.gz", T0, lead=timedelta(days=3))),
            (
                "1.1",
                attested("widget-1.1.tar.gz", T0 + timedelta(days=1), lead=-timedelta(hours=2)),
            ),
            (
                "1.2",
                attested("widget-1.2.tar.gz", T0 + timedelta(days=2), lead=timedelta(seconds=20)),
            ),
        ]
    )
    ctx = AnalysisContext("widget", T0, tl, ALL)
    findings, _ = run_detectors(ctx)
    skew = {f.version: f for f in findings if f.detector == "signing-time-skew"}
    assert set(skew) == {"1.0", "1.1"}
    assert skew["1.0"].severity is Severity.HIGH and "before" in skew["1.0"].summary
    assert "after" in skew["1.1"].summary
    assert skew["1.0"].values["skew_seconds"] == str(3 * 86400)


def test_invalid_attestation_with_digest_mismatch_is_critical() -> None:
    bad = FileProvenance(
        ProvenanceStatus.INVALID,
        "statement subject sha256 aaaa does not match the file's sha256 bbbb",
    )
    tl = history([("1.0", bad)])
    findings, _ = run_detectors(AnalysisContext("widget", T0, tl, ALL))
    (f,) = [f for f in findings if f.detector == "attestation-invalid"]
    assert f.severity is Severity.CRITICAL and f.evidence


def test_findings_are_deterministic() -> None:
    tl = history([*clean_series(3), ("1.3", None)])
    a = [f.to_json() for f in run_detectors(AnalysisContext("widget", T0, tl, ALL))[0]]
    b = [f.to_json() for f in run_detectors(AnalysisContext("widget", T0, tl, ALL))[0]]
    assert a == b and a


def _recovered(version: str, build_config: str, ref: str) -> RecoveredEntry:
    return RecoveredEntry(
        log_entry=LogEntry(5000, T0 + timedelta(days=40), "dsse/0.0.1", verified=True),
        claims={
            "source_repository": "https://github.com/acme/widget",
            "build_config": build_config,
            "source_ref": ref,
            "source_commit": "f" * 40,
        },
        subject_name=None,
        subject_sha256=None,
        version=version,
        version_source="ref",
        evidence=(),
    )


def test_recovered_entry_from_unexpected_workflow_or_ref() -> None:
    served = clean_series(3)
    base = "https://github.com/acme/widget/.github/workflows/"
    files, prov = [], {}
    for i, (version, fp) in enumerate(served):
        d = dist(version, f"widget-{version}.tar.gz", T0 + timedelta(days=i))
        files.append(d)
        assert fp is not None
        claims = dict(fp.attestations[0].claims)
        claims["build_config"] = base + "publish.yml@" + claims["source_ref"]
        att = replace(fp.attestations[0], claims=claims)
        prov[d.filename] = replace(fp, attestations=(att,))
    expected = _recovered("1.9", base + "publish.yml@refs/tags/v1.9", "refs/tags/v1.9")
    odd = _recovered("2.0", base + "debug.yml@refs/heads/tmp", "refs/heads/tmp")
    tl = build_timeline("widget", files, prov, pep740=Pep740Support.YES, recovered=[expected, odd])
    findings, _ = run_detectors(AnalysisContext("widget", T0, tl, ALL))
    unexpected = [f for f in findings if f.detector == "log-identity-unexpected"]
    assert [f.version for f in unexpected] == ["2.0"]
    assert "debug.yml" in unexpected[0].summary and "refs/heads/tmp" in unexpected[0].summary
    unlisted = {f.version for f in findings if f.detector == "unlisted-log-entry"}
    assert unlisted == {"1.9", "2.0"}
