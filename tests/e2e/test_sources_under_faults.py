"""Real clients against the lab's servers with faults injected, and the single-entry CLIs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from forensics.api import investigate
from forensics.cli import main
from forensics_lab.serve import FaultPlan, LabServer


def _recovered(server: LabServer, world: Path, case: Path) -> dict[str, int]:
    inv = investigate(
        "ultralytics",
        index_url=server.url,
        rekor_url=server.url,
        intel=world / "intel.toml",
        case=case,
        trust_root=world / "trusted_root.json",
    )
    assert not [s for s in inv.skipped if s.detector == "transparency-log"]
    return {r.version: len(r.recovered) for r in inv.timeline.releases if r.recovered}


def test_log_recovery_survives_throttling_and_resets(
    serve: Callable[..., LabServer], built: Callable[[str], Path], tmp_path: Path
) -> None:
    world = built("ultralytics-2024-12")
    calm_server = serve("ultralytics-2024-12")
    calm = _recovered(calm_server, world, tmp_path / "calm")
    # every log path answers 429 (Retry-After: 0) once before answering
    faults = FaultPlan(path_prefix="/api/v1/", per_path=True, throttle_first=1, retry_after="0")
    stormy = serve("ultralytics-2024-12", faults=faults)
    assert _recovered(stormy, world, tmp_path / "stormy") == calm == {"8.3.41": 2, "8.3.42": 2}
    # every distinct log request was throttled once and retried
    paths = {p for _m, p in calm_server.requests if p.startswith("/api/v1/")}
    assert stormy.request_count("/api/v1/") == calm_server.request_count("/api/v1/") + len(paths)


def test_rekor_entry_cli_verifies_a_lab_entry(
    serve: Callable[..., LabServer],
    built: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = built("ultralytics-2024-12")
    server = serve("ultralytics-2024-12")
    root = str(world / "trusted_root.json")
    assert main(["rekor", "entry", "8", "--rekor-url", server.url, "--trust-root", root]) == 0
    out = capsys.readouterr().out
    assert "cb260c243ffa3e0cc84820095cd88be2f5db86ca" in out
    # against the production root the lab's log key is unknown: a failed check, exit 1
    assert main(["rekor", "entry", "8", "--rekor-url", server.url]) == 1
    capsys.readouterr()
    assert main(["rekor", "entry", "999999", "--rekor-url", server.url, "--trust-root", root]) != 0


@pytest.mark.realdata
def test_verify_cli_on_genuine_attestation(
    real_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = real_data / "pep740" / "sampleproject"
    dist = folder / "sampleproject-4.0.0.tar.gz"
    prov = folder / "sampleproject-4.0.0.tar.gz.provenance"
    assert main(["verify", str(dist), "--provenance", str(prov)]) == 0
    out = capsys.readouterr().out
    assert "verified" in out and "pypa/sampleproject" in out
    swapped = tmp_path / dist.name
    swapped.write_bytes(dist.read_bytes() + b"\0")
    assert main(["verify", str(swapped), "--provenance", str(prov), "--format", "json"]) == 1
    assert "does not match" in capsys.readouterr().out
    assert main(["verify", str(dist), "--provenance", str(tmp_path / "missing.json")]) == 2


def test_split_view_log_is_caught_by_consistency_proofs(
    built: Callable[[str], Path], tmp_path: Path
) -> None:
    import json
    import shutil

    world = tmp_path / "world"
    shutil.copytree(built("clean-patch-series"), world)
    log = json.loads((world / "rekor" / "log.json").read_text())
    # The log rewrites its first leaf: the proofs it now serves from the checkpoints embedded at
    # signing time to its (signed, unchanged) head no longer reconcile.
    log["leaves"][0] = "00" * 32
    (world / "rekor" / "log.json").write_text(json.dumps(log))
    with LabServer(world) as server:
        inv = investigate(
            server.world.project,
            index_url=server.url,
            rekor_url=server.url,
            case=tmp_path / "case",
            trust_root=world / "trusted_root.json",
        )
    split = [f for f in inv.findings if f.detector == "log-entry-mismatch"]
    assert split and all(f.severity.value == "critical" for f in split)
    assert "split view" in split[0].summary
    # checkpoints whose proofs do not touch the rewritten subtree still verify, honestly
    attested = sum(1 for r in inv.timeline.releases for f in r.files if f.provenance.attestations)
    assert inv.to_json()["sources"]["rekor"]["consistent_checkpoints"] == attested - len(split)


def test_recovered_entry_signed_outside_its_certificate_validity(tmp_path: Path) -> None:
    from forensics_lab.build import build_world
    from forensics_lab.scenario import parse_scenario

    scenario = parse_scenario(
        """
name = "late-log"
description = "a deleted release whose log entry was integrated after its certificate expired"
project = "late-pkg"
simulated = ["invented"]

[publisher]
kind = "github"
repository = "acme/late-pkg"
workflow = "release.yml"
ref = "refs/tags/v{version}"

[[releases]]
version = "1.0.0"
upload_time = 2025-01-10T12:00:00Z

[[releases]]
version = "1.0.1"
upload_time = 2025-02-01T12:00:00Z
deleted_at = 2025-02-01T13:00:00Z
[[releases.files]]
kind = "sdist"
tamper = ["outside-validity"]
""",
        file="late-log.toml",
    )
    world = build_world(scenario, tmp_path / "world")
    with LabServer(world) as server:
        inv = investigate(
            "late-pkg",
            index_url=server.url,
            rekor_url=server.url,
            case=tmp_path / "case",
            trust_root=world / "trusted_root.json",
        )
    rel = inv.timeline.release("1.0.1")
    assert rel is not None and rel.deleted
    notes = [r.note for r in rel.recovered]
    assert any("outside the signing certificate's validity" in n for n in notes), notes
