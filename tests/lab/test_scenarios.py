"""The shipped scenarios load and build, say what they claim, and the synthetic generator scales."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from forensics_lab.build import build_world
from forensics_lab.scenario import FactTag, PublishMethod, load_scenario, shipped_scenarios
from forensics_lab.serve import LabServer
from forensics_lab.synth import synthesize
from tests.lab.support import tree_digest, verify_file

SHIPPED = shipped_scenarios()
CB260C2 = "cb260c243ffa3e0cc84820095cd88be2f5db86ca"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("shipped")
    return {name: build_world(load_scenario(path), base / name) for name, path in SHIPPED.items()}


def manifest(world: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((world / "world.json").read_text())
    return data


def test_the_expected_scenarios_ship() -> None:
    expected = {
        "ultralytics-2024-12",
        "clean-patch-series",
        "clean-backport",
        "clean-repo-transfer",
        "clean-workflow-rename",
        "clean-never-trusted-publishing",
        "attack-token-after-tp",
        "attack-file-added-later",
        "attack-publisher-change",
        "attack-pr-ref",
        "attack-self-hosted",
        "attack-digest-mismatch",
        "attack-backdated-signature",
        "attack-deleted-in-log",
        "attack-burst-one-commit",
        "attack-bot-workflow-edit",
        "lab-tamper-matrix",
        # varied histories for index-only signals and per-line baselines
        "clean-lts-and-main-lines",
        "clean-token-only-long-history",
        "clean-slow-matrix",
        "clean-dormant-revival",
        "clean-prerelease-heavy",
        "clean-yanks-for-packaging",
        "clean-new-python-backfill",
        "clean-wheel-adoption",
        "clean-calver",
        "clean-platform-drop",
        "clean-hotfix-burst",
        "clean-major-rewrite-native",
        "attack-sdist-only-token",
        "attack-dormant-takeover",
        "attack-late-native-wheel",
        "attack-late-file-2026",
        "attack-yanked-compromised",
    }
    assert set(SHIPPED) == expected


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenario_is_complete_and_builds(name: str, built: dict[str, Path]) -> None:
    scenario = load_scenario(SHIPPED[name])
    assert scenario.name == name
    assert scenario.description.strip()
    assert scenario.simulated
    versions = {r.version for r in scenario.releases}
    versions |= {e.version for e in scenario.extra_log_entries}
    assert set(scenario.expect.flag) | set(scenario.expect.clean) <= versions
    if name.startswith("attack-"):
        assert scenario.expect.flag, "an attack scenario must say what to flag"
    if name.startswith("clean-"):
        assert not scenario.expect.flag
    m = manifest(built[name])
    assert m["scenario"] == name
    assert m["expect"]["flag"] == dict(scenario.expect.flag)
    for rel in m["releases"]:
        for f in rel["files"]:
            assert (built[name] / "files" / f["filename"]).is_file()


def test_every_clean_attested_file_verifies(built: dict[str, Path]) -> None:
    checked = 0
    for name in SHIPPED:
        if not name.startswith("clean-"):
            continue
        for rel in manifest(built[name])["releases"]:
            for f in rel["files"]:
                if f["provenance"]:
                    assert verify_file(built[name], f["filename"]) == [], f["filename"]
                    checked += 1
    assert checked > 20


def test_tamper_matrix_wheels_fail_and_sdists_verify(built: dict[str, Path]) -> None:
    world = built["lab-tamper-matrix"]
    for rel in manifest(world)["releases"]:
        for f in rel["files"]:
            problems = verify_file(world, f["filename"])
            if f["filename"].endswith(".whl"):
                assert problems, f"{f['filename']} should not verify"
            else:
                assert problems == [], f["filename"]


def test_ultralytics_reconstruction(built: dict[str, Path]) -> None:
    world = built["ultralytics-2024-12"]
    m = manifest(world)
    rel = {r["version"]: r for r in m["releases"]}
    assert list(rel) == [f"8.3.{n}" for n in range(37, 50)]
    deleted = {v: r["deleted_at"] for v, r in rel.items() if r["deleted_at"]}
    assert set(deleted) == {"8.3.41", "8.3.42", "8.3.45", "8.3.46"}
    assert deleted["8.3.41"] == "2024-12-05T09:15:00Z"
    assert deleted["8.3.42"] == "2024-12-05T13:47:00Z"
    assert all(deleted[v].startswith("2024-12-07") for v in ("8.3.45", "8.3.46"))
    for version, r in rel.items():
        attested = version not in ("8.3.45", "8.3.46")
        assert all((f["provenance"] is not None) == attested for f in r["files"]), version
    # Round 1 verifies and names the project's own publisher: identity alone cannot flag it.
    for filename in ("ultralytics-8.3.41.tar.gz", "ultralytics-8.3.42-py3-none-any.whl"):
        assert verify_file(world, filename) == []
        prov = json.loads((world / "provenance" / f"{filename}.json").read_text())
        assert prov["attestation_bundles"][0]["publisher"] == {
            "kind": "GitHub",
            "repository": "ultralytics/ultralytics",
            "workflow": "publish.yml",
            "environment": "Release - PyPI",
        }
    commits = {c["sha"]: c for c in json.loads((world / "github/commits.json").read_text())}
    assert commits[CB260C2]["author"] == "UltralyticsAssistant"
    assert ".github/workflows/publish.yml" in commits[CB260C2]["files"]
    runs = {r["id"]: r for r in json.loads((world / "github/runs.json").read_text())}
    assert runs[12168072999]["head_sha"] == CB260C2
    assert runs[12168072999]["event"] == "push"
    assert runs[12168072999]["head_branch"] == "main"
    assert 12180037832 in runs
    tags = {t["name"] for t in json.loads((world / "github/tags.json").read_text())}
    assert {"v8.3.41", "v8.3.44"} <= tags
    assert not {"v8.3.45", "v8.3.46"} & tags
    # The token releases left no trace in the log; every other file did.
    search = json.loads((world / "rekor/search.json").read_text())
    for version, r in rel.items():
        for f in r["files"]:
            present = f"sha256:{f['digests']['sha256']}" in search
            assert present == (version not in ("8.3.45", "8.3.46")), f["filename"]
    simulated = " ".join(m["simulated"])
    for needle in ("digests", "signature", "commit SHAs"):
        assert needle in simulated


def test_ultralytics_facts_are_tagged_and_sourced() -> None:
    scenario = load_scenario(SHIPPED["ultralytics-2024-12"])
    rel = {r.version: r for r in scenario.releases}
    assert rel["8.3.45"].publish_methods == {PublishMethod.TOKEN}
    assert rel["8.3.41"].files[0].identity.sha == CB260C2
    facts41 = {f.name: f for f in rel["8.3.41"].facts}
    assert facts41["sha"].tag is FactTag.SECONDARY
    assert facts41["deleted_at"].value == "2024-12-05T09:15:00Z"
    facts45 = {f.name: f for f in rel["8.3.45"].facts}
    assert facts45["upload_time"].tag is FactTag.INFERRED
    assert facts45["deleted_at"].tag is FactTag.INFERRED
    indexes = {
        f.value: f.tag
        for r in scenario.releases
        for fs in (r.facts, *(x.facts for x in r.files))
        for f in fs
        if f.name == "real_rekor_log_index"
    }
    assert indexes == {
        "153415338": FactTag.SECONDARY,
        "153415340": FactTag.SECONDARY,
        "153589716": FactTag.INFERRED,
    }


@pytest.mark.realdata
def test_ultralytics_verified_facts_match_real_pypi_metadata(real_data: Path) -> None:
    """Every `verified` sha256 / upload time in the scenario is what PyPI's JSON API says."""
    raw = json.loads((real_data / "pypi-metadata" / "ultralytics.releases.json").read_text())
    real = {f["filename"]: f for f in raw["files"]}
    scenario = load_scenario(SHIPPED["ultralytics-2024-12"])
    checked = 0
    for release in scenario.releases:
        for spec in release.files:
            filename = spec.filename(scenario.project, release.version)
            for fact in spec.facts:
                if fact.tag is not FactTag.VERIFIED:
                    continue
                if fact.name == "real_sha256":
                    assert real[filename]["sha256"] == fact.value, filename
                    checked += 1
                if fact.name == "upload_time":
                    assert real[filename]["upload_time"] == fact.value, filename
                    assert spec.upload_time.isoformat().replace("+00:00", "Z") == fact.value
                    checked += 1
    assert checked == 2 * 2 * 9  # 9 live releases × 2 files × (sha256, upload time)
    deleted = {r.version for r in scenario.releases if r.deleted_at}
    assert not deleted & {f["version"] for f in raw["files"]}


def test_synthesize_is_deterministic_and_flags_its_anomalies(tmp_path: Path) -> None:
    a = synthesize(40, 3, seed=5, anomalies=True)
    assert a == synthesize(40, 3, seed=5, anomalies=True)
    assert a != synthesize(40, 3, seed=6, anomalies=True)
    assert len(a.releases) == 40
    assert all(len(r.files) == 3 for r in a.releases)
    versions = [r.version for r in a.releases]
    assert len(set(versions)) == 40
    times = [r.upload_time for r in a.releases]
    assert times == sorted(times)
    assert len(a.expect.flag) == 4
    world = build_world(a, tmp_path / "w")
    again = build_world(synthesize(40, 3, seed=5, anomalies=True), tmp_path / "again")
    assert tree_digest(world) == tree_digest(again)
    rel = {r["version"]: r for r in manifest(world)["releases"]}
    token = next(v for v, why in a.expect.flag.items() if "token" in why)
    assert all(f["provenance"] is None for f in rel[token]["files"])
    sample = rel[versions[0]]["files"][0]["filename"]
    assert verify_file(world, sample) == []


def test_synthesize_rejects_impossible_shapes() -> None:
    with pytest.raises(ValueError, match="n_releases"):
        synthesize(0)
    with pytest.raises(ValueError, match="files_per_release"):
        synthesize(5, 99)


def test_ultralytics_world_served_over_loopback(built: dict[str, Path]) -> None:
    """The lab servers serve the built world: deleted releases vanish, token files say null."""
    world = built["ultralytics-2024-12"]
    simple = {"Accept": "application/vnd.pypi.simple.v1+json"}
    during = datetime(2024, 12, 5, 0, 0, tzinfo=UTC)  # 8.3.41 live, 8.3.42 not yet uploaded
    with LabServer(world, as_of=during) as server, httpx.Client(base_url=server.url) as client:
        files = {
            f["filename"]: f
            for f in client.get("/simple/ultralytics/", headers=simple).json()["files"]
        }
        assert "ultralytics-8.3.41.tar.gz" in files
        assert "ultralytics-8.3.42.tar.gz" not in files
        url = "/integrity/ultralytics/8.3.41/ultralytics-8.3.41.tar.gz/provenance"
        served = client.get(url)
        assert served.status_code == 200
        assert served.content == (world / "provenance/ultralytics-8.3.41.tar.gz.json").read_bytes()
    after = datetime(2024, 12, 11, tzinfo=UTC)
    with LabServer(world, as_of=after) as server, httpx.Client(base_url=server.url) as client:
        listing = client.get("/simple/ultralytics/", headers=simple).json()["files"]
        names = {f["filename"] for f in listing}
        assert not any(v in n for n in names for v in ("8.3.41", "8.3.42", "8.3.45", "8.3.46"))
        assert "ultralytics-8.3.47.tar.gz" in names
        # The deleted release's entries are still in the log.
        log = json.loads((world / "rekor/entries.json").read_text())
        first = min(e["logIndex"] for e in log.values())
        assert client.get("/api/v1/log/entries", params={"logIndex": first}).status_code == 200
    during_token = datetime(2024, 12, 7, 3, 0, tzinfo=UTC)
    with (
        LabServer(world, as_of=during_token) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        listing = client.get("/simple/ultralytics/", headers=simple).json()["files"]
        token_files = [f for f in listing if "8.3.45" in f["filename"] or "8.3.46" in f["filename"]]
        assert len(token_files) == 4
        assert all(f["provenance"] is None for f in token_files)
