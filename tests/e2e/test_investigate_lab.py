"""The whole pipeline over real HTTP against lab worlds: collect, store, verify, recover, report."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forensics.analysis import Investigation
from forensics.api import investigate
from forensics.cli import main
from forensics.models import ProvenanceStatus
from forensics.timeline import ReleaseState
from forensics_lab.serve import LabServer

Serve = Callable[..., LabServer]


def run(server: LabServer, world: Path, case: Path, **kwargs: object) -> Investigation:
    return investigate(
        server.world.project,
        index_url=server.url,
        case=case,
        trust_root=world / "trusted_root.json",
        **kwargs,  # type: ignore[arg-type]
    )


def by_detector(inv: Investigation) -> dict[str, set[str | None]]:
    out: dict[str, set[str | None]] = {}
    for f in inv.findings:
        out.setdefault(f.detector, set()).add(f.version)
    return out


def test_ultralytics_after_the_fact_recovers_deleted_releases_from_the_log(
    serve: Serve, built: Callable[[str], Path], tmp_path: Path
) -> None:
    world = built("ultralytics-2024-12")
    server = serve("ultralytics-2024-12")
    inv = run(server, world, tmp_path / "case", rekor_url=server.url, intel=world / "intel.toml")

    served = [r for r in inv.timeline.releases if not r.deleted]
    assert {r.version for r in served} == {
        "8.3.37",
        "8.3.38",
        "8.3.39",
        "8.3.40",
        "8.3.43",
        "8.3.44",
        "8.3.47",
        "8.3.48",
        "8.3.49",
    }
    assert all(r.state is ReleaseState.FULL for r in served)
    deleted = {r.version: r for r in inv.timeline.releases if r.deleted}
    assert set(deleted) == {"8.3.41", "8.3.42", "8.3.45", "8.3.46"}
    # The token uploads left nothing in the log: they are known from the report only.
    for version in ("8.3.45", "8.3.46"):
        assert not deleted[version].recovered
        assert deleted[version].reported[0].citation.startswith("[verified] https://blog.pypi.org")
    rec = deleted["8.3.41"].recovered
    assert len(rec) == 2 and {r.version_source for r in rec} == {"intel"}
    assert {r.claims["source_commit"] for r in rec} == {"cb260c243ffa3e0cc84820095cd88be2f5db86ca"}
    assert all(r.log_entry.verified for r in rec)
    assert all(r.claims["source_ref"] == "refs/heads/main" for r in rec)
    # the log time is the recovered release's place on the timeline
    assert deleted["8.3.41"].first_upload is not None
    assert deleted["8.3.41"].first_upload.date().isoformat() == "2024-12-04"
    assert by_detector(inv)["unlisted-log-entry"] == {"8.3.41", "8.3.42"}
    assert by_detector(inv)["reported-release-not-in-log"] == {"8.3.45", "8.3.46"}
    assert "log-entry-mismatch" not in by_detector(inv)
    doc = inv.to_json()
    assert doc["sources"]["index"]["pep740"] == "yes"
    assert doc["sources"]["rekor"]["base_url"] == server.url
    rel = next(r for r in doc["releases"] if r["version"] == "8.3.41")
    assert rel["deleted"] is True and rel["recovered_log_entries"][0]["evidence"]
    token = next(r for r in doc["releases"] if r["version"] == "8.3.45")
    assert token["files"] == [] and token["recovered_log_entries"] == []
    assert token["reported"][0]["citation"].startswith("[verified] https://blog.pypi.org")
    assert token["reported"][0]["evidence"][0]["url"] == "intel:intel.toml"


def test_offline_reanalysis_is_byte_identical_and_needs_no_server(
    serve: Serve, built: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = built("ultralytics-2024-12")
    server = serve("ultralytics-2024-12")
    case = tmp_path / "case"
    argv = [
        "investigate",
        "ultralytics",
        "--case",
        str(case),
        "--format",
        "json",
        "--trust-root",
        str(world / "trusted_root.json"),
    ]
    assert (
        main(
            [
                *argv,
                "--index-url",
                server.url,
                "--rekor-url",
                server.url,
                "--intel",
                str(world / "intel.toml"),
            ]
        )
        == 0
    )
    online = capsys.readouterr().out
    server.stop()  # nothing to talk to any more
    requests_before = len(server.requests)
    assert main([*argv, "--offline"]) == 0
    first = capsys.readouterr().out
    assert (
        main(["investigate", "ultralytics", "--case", str(case), "--format", "json", "--offline"])
        == 0
    )
    second = capsys.readouterr().out  # the case's own stored trust root is used by default
    assert main([*argv, "--offline", "--reverify", "--workers", "1"]) == 0
    third = capsys.readouterr().out
    # `run` describes each run (where its verdicts came from); the rest is byte-identical.
    runs = [_without_run(text) for text in (online, first, second, third)]
    assert runs[0][0] == runs[1][0] == runs[2][0] == runs[3][0]
    online_run, first_run, third_run = runs[0][1], runs[1][1], runs[3][1]
    assert online_run["verdicts_verified"] > 0 and online_run["verdicts_from_cache"] == 0
    assert first_run["verdicts_verified"] == 0
    assert first_run["verdicts_from_cache"] == online_run["verdicts_verified"]
    assert first_run["problems"] == [] and first_run["reverify"] is False
    assert third_run["reverify"] is True and third_run["verdicts_from_cache"] == 0
    assert third_run["verdicts_verified"] == online_run["verdicts_verified"]
    assert len(server.requests) == requests_before
    doc = json.loads(first)
    assert doc["sources"]["verification"]["verifier"] == online_run["verifier"]
    assert doc["sources"]["trust_root"]["recorded_in_case"] is True
    assert main(["case", "verify", str(case)]) == 0
    capsys.readouterr()
    # a different --as-of changes only the as_of field
    assert main([*argv, "--offline", "--as-of", "2030-01-01T00:00:00Z"]) == 0
    later = json.loads(capsys.readouterr().out)
    assert later["as_of"] == "2030-01-01T00:00:00Z"
    later["as_of"] = doc["as_of"]
    assert later == doc


def _without_run(text: str) -> tuple[str, dict[str, Any]]:
    """The report text without its `run` block, and the block's verification part."""
    doc = json.loads(text)
    run = doc.pop("run")
    return json.dumps(doc, sort_keys=True), run["verification"]


def test_during_the_attack_token_uploads_are_lost_provenance(
    serve: Serve, built: Callable[[str], Path], tmp_path: Path
) -> None:
    world = built("ultralytics-2024-12")
    server = serve("ultralytics-2024-12", as_of=datetime(2024, 12, 7, 6, 0, tzinfo=UTC))
    inv = run(server, world, tmp_path / "case")
    states = {r.version: r.state for r in inv.timeline.releases}
    assert states["8.3.45"] is ReleaseState.LOST
    assert states["8.3.46"] is ReleaseState.LOST
    assert "8.3.47" not in states  # not uploaded yet
    assert "8.3.41" not in states  # already deleted, and no log was consulted
    lost = by_detector(inv)["provenance-lost"]
    assert lost == {"8.3.45", "8.3.46"}
    files = inv.timeline.release("8.3.45").files  # type: ignore[union-attr]
    assert all(f.provenance.status is ProvenanceStatus.ABSENT for f in files)
    assert {s.detector for s in inv.skipped} >= {"unlisted-log-entry"}


def test_mirror_without_pep740_is_unknown_never_missing(
    serve: Serve, built: Callable[[str], Path], tmp_path: Path
) -> None:
    world = built("ultralytics-2024-12")
    server = serve(
        "ultralytics-2024-12", pep740=False, as_of=datetime(2024, 12, 7, 6, 0, tzinfo=UTC)
    )
    inv = run(server, world, tmp_path / "case")
    doc = inv.to_json()
    assert doc["sources"]["index"]["pep740"] == "no"
    assert "does not serve PEP 740" in doc["sources"]["index"]["pep740_reason"]
    statuses = {f["provenance"]["status"] for r in doc["releases"] for f in r["files"]}
    assert statuses == {"unknown"}
    assert all(
        "does not serve PEP 740" in f["provenance"]["reason"]
        for r in doc["releases"]
        for f in r["files"]
    )
    # Only the index-only signals speak: the two releases deleted by then leave a version gap.
    assert {(f["detector"], f["version"], f["severity"]) for f in doc["findings"]} == {
        ("version-gap", "8.3.41", "info"),
        ("version-gap", "8.3.42", "info"),
    }
    skipped = {s["detector"]: s["reason"] for s in doc["skipped"]}
    assert "does not serve PEP 740" in skipped["provenance-lost"]


def test_production_root_rejects_lab_signatures(serve: Serve, tmp_path: Path) -> None:
    server = serve("clean-patch-series")
    inv = investigate(server.world.project, index_url=server.url, case=tmp_path / "case")
    files = [f for r in inv.timeline.releases for f in r.files]
    assert files and all(f.provenance.status is ProvenanceStatus.INVALID for f in files)
    assert all("not issued by a CA in the trust root" in f.provenance.reason for f in files)
    assert by_detector(inv)["attestation-invalid"]


def test_unreachable_log_is_a_skip_with_a_reason(
    serve: Serve, built: Callable[[str], Path], tmp_path: Path
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    world = built("clean-patch-series")
    server = serve("clean-patch-series")
    inv = run(server, world, tmp_path / "case", rekor_url=dead)
    reasons = [s.reason for s in inv.skipped if s.detector == "transparency-log"]
    assert reasons and all("log unreachable" in r for r in reasons)
    assert all(r.state is ReleaseState.FULL for r in inv.timeline.releases)


def test_exit_codes(
    serve: Serve, built: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = built("attack-token-after-tp")
    server = serve("attack-token-after-tp")
    base = [
        "investigate",
        server.world.project,
        "--index-url",
        server.url,
        "--trust-root",
        str(world / "trusted_root.json"),
        "--format",
        "json",
    ]
    assert main([*base, "--case", str(tmp_path / "a"), "--fail-on", "high"]) == 1
    # no finding is critical, but the log and GitHub checks did not run: not a clean result
    assert main([*base, "--case", str(tmp_path / "b"), "--fail-on", "critical"]) == 4
    assert "error[incomplete]" in capsys.readouterr().err
    assert (
        main([*base, "--case", str(tmp_path / "b"), "--fail-on", "critical", "--allow-partial"])
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "investigate",
                "nosuchproject",
                "--index-url",
                server.url,
                "--case",
                str(tmp_path / "c"),
            ]
        )
        == 3
    )
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "c").exists(), "a misspelt project must not keep a case directory"
    assert main(["investigate", "x", "--offline"]) == 2
    assert main(["investigate", "x", "--as-of", "yesterday"]) == 2


def test_run_whose_checks_could_not_run_says_so_first_and_fails(
    serve: Serve,
    built: Callable[[str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    monkeypatch.setenv("COLUMNS", "200")  # the text report uses the terminal's width

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    world = built("clean-patch-series")
    server = serve("clean-patch-series", pep740=False)
    argv = [
        "investigate",
        server.world.project,
        "--index-url",
        server.url,
        "--trust-root",
        str(world / "trusted_root.json"),
        "--rekor-url",
        dead,
        "--github-url",
        dead,
        "--case",
        str(tmp_path / "case"),
    ]
    assert main([*argv, "--fail-on", "low"]) == 4
    out = capsys.readouterr().out
    head = out.splitlines()[:8]
    assert any("16 of 16 checks could not run" in line or "could not run" in line for line in head)
    assert any("does not serve PEP 740" in line for line in head)
    # the GitHub checks are listed although GitHub had nothing to answer
    assert "no attested commit, run or tag to ask GitHub about" in out
    # failed lookups are counted, not listed one per line
    assert len(out.splitlines()) < 80
    assert main([*argv, "--offline", "--fail-on", "low", "--allow-partial"]) == 0
