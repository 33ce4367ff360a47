"""Archives and the world builder: real archives, determinism, layout, verifiable provenance."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypi_attestations import Provenance
from sigstore.errors import VerificationError
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier

from forensics.errors import ScenarioError
from forensics_lab.archives import ArchiveSpec, build_sdist, build_wheel, digests
from forensics_lab.build import build_world
from forensics_lab.scenario import Scenario, parse_scenario
from tests.lab.support import tree_digest, verify_file

MTIME = datetime(2024, 11, 1, 10, 0, tzinfo=UTC)

SCENARIO = """\
name = "build-test"
description = "builder test"
project = "demo-pkg"
simulated = ["all of it"]

[publisher]
kind = "github"
repository = "acme/demo"
workflow = "release.yml"
environment = "pypi"

[[releases]]
version = "1.0.0"
upload_time = 2024-11-01T10:00:00Z

[[releases]]
version = "1.0.1"
upload_time = 2024-11-02T10:00:00Z
publish = "token"

[[releases]]
version = "1.0.2"
upload_time = 2024-11-03T10:00:00.250000Z
deleted_at = 2024-11-03T11:00:00Z
publisher.run_attempt = 2
github.author = "release-bot[bot]"
github.files = [".github/workflows/release.yml"]
[[releases.files]]
kind = "wheel"
tamper = ["digest-mismatch"]
[[releases.files]]
kind = "sdist"
content.files = { "demo_pkg/extra.py" = "EXTRA = True\\n" }

[[releases]]
version = "1.0.3"
upload_time = 2024-11-10T10:00:00Z
yanked = "broken build"
[[releases.files]]
kind = "wheel"
[[releases.files]]
kind = "sdist"
reuse_attestation_of = "demo_pkg-1.0.0.tar.gz"

[[log_entries]]
version = "1.0.9"
integrated_at = 2024-11-05T08:00:00Z
"""


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return parse_scenario(SCENARIO, file="build-test.toml")


@pytest.fixture(scope="module")
def world(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(scenario, tmp_path_factory.mktemp("world") / "w", seed=7)


# -- archives ------------------------------------------------------------------------------------


def test_sdist_is_a_real_deterministic_tarball() -> None:
    spec = ArchiveSpec("demo-pkg", "1.2.3", MTIME, marker="# MARK", extra_files={"x/y.txt": "hi"})
    name, data = build_sdist(spec)
    assert name == "demo_pkg-1.2.3.tar.gz"
    assert build_sdist(spec)[1] == data
    # gzip header: mtime field (bytes 4-8) is zero, no FNAME flag.
    assert data[4:8] == b"\x00\x00\x00\x00"
    assert data[3] & 0x08 == 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
        dirs = [m.name for m in tar.getmembers() if m.isdir()]
        assert names == sorted(dirs) + sorted(n for n in names if n not in dirs)
        assert "demo_pkg-1.2.3/PKG-INFO" in names
        assert "demo_pkg-1.2.3/x/y.txt" in names
        members = tar.getmembers()
        assert {m.mtime for m in members} == {int(MTIME.timestamp())}
        assert {(m.uid, m.gid, m.uname) for m in members} == {(0, 0, "")}
        pkg_info = tar.extractfile("demo_pkg-1.2.3/PKG-INFO")
        assert pkg_info is not None
        text = pkg_info.read().decode()
        init = tar.extractfile("demo_pkg-1.2.3/demo_pkg/__init__.py")
        assert init is not None
        assert "# MARK" in init.read().decode()
    assert "Name: demo-pkg\n" in text
    assert "Version: 1.2.3\n" in text
    assert "Requires-Python: >=3.8\n" in text
    # Another mtime is another archive: the mtime is an input, not the clock.
    other = ArchiveSpec("demo-pkg", "1.2.3", datetime(2024, 1, 1, tzinfo=UTC), marker="# MARK")
    assert build_sdist(other)[1] != data
    assert gzip.decompress(data)  # a plain gzip stream, too


def test_wheel_record_hashes_are_correct() -> None:
    spec = ArchiveSpec("demo-pkg", "1.2.3", MTIME, extra_files={"demo_pkg/extra.py": "X = 1\n"})
    name, data = build_wheel(spec, tag="cp312-cp312-manylinux_2_17_x86_64")
    assert name == "demo_pkg-1.2.3-cp312-cp312-manylinux_2_17_x86_64.whl"
    assert build_wheel(spec, tag="cp312-cp312-manylinux_2_17_x86_64")[1] == data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names[-1] == "demo_pkg-1.2.3.dist-info/RECORD"
        wheel_meta = zf.read("demo_pkg-1.2.3.dist-info/WHEEL").decode()
        assert "Tag: cp312-cp312-manylinux_2_17_x86_64" in wheel_meta
        assert "Root-Is-Purelib: false" in wheel_meta
        record = zf.read("demo_pkg-1.2.3.dist-info/RECORD").decode().splitlines()
        rows = [line.split(",") for line in record]
        assert {r[0] for r in rows} == set(names)
        for path, digest, size in rows:
            if path.endswith("RECORD"):
                assert (digest, size) == ("", "")
                continue
            content = zf.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode()
            assert int(size) == len(content)
        assert {zi.date_time for zi in zf.infolist()} == {(2024, 11, 1, 10, 0, 0)}


def test_content_cannot_replace_generated_files() -> None:
    spec = ArchiveSpec("demo-pkg", "1.0", MTIME, extra_files={"demo_pkg/__init__.py": "x"})
    with pytest.raises(ScenarioError, match="would replace"):
        build_wheel(spec)


def test_digests_are_pypi_shaped() -> None:
    d = digests(b"abc")
    assert d["sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert len(d["blake2b_256"]) == 64
    assert len(d["md5"]) == 32


# -- the world -----------------------------------------------------------------------------------


def test_world_layout_and_manifest(world: Path) -> None:
    manifest = json.loads((world / "world.json").read_text())
    assert manifest["schema"] == "forensics_lab.world/v1"
    assert (manifest["scenario"], manifest["seed"], manifest["project"]) == (
        "build-test",
        7,
        "demo-pkg",
    )
    assert manifest["repository"] == "acme/demo"
    for name in ("trusted_root.json", "rekor/log.json", "rekor/entries.json", "rekor/search.json"):
        assert (world / name).is_file(), name
    for name in ("commits", "tags", "runs"):
        assert isinstance(json.loads((world / "github" / f"{name}.json").read_text()), list)
    assert any((world / "keys").iterdir())
    versions = [r["version"] for r in manifest["releases"]]
    assert versions == ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
    rel = {r["version"]: r for r in manifest["releases"]}
    assert rel["1.0.2"]["deleted_at"] == "2024-11-03T11:00:00Z"
    assert (rel["1.0.3"]["yanked"], rel["1.0.3"]["yanked_reason"]) == (True, "broken build")
    for r in manifest["releases"]:
        for f in r["files"]:
            data = (world / "files" / f["filename"]).read_bytes()
            assert f["size"] == len(data)
            assert f["digests"] == {
                k: v for k, v in digests(data).items() if k in ("sha256", "md5", "blake2b_256")
            }
            expect_prov = r["version"] != "1.0.1"
            assert (f["provenance"] is not None) == expect_prov, f["filename"]
            if f["provenance"]:
                assert (world / f["provenance"]).is_file()
    wheel = rel["1.0.0"]["files"][0]
    assert (wheel["packagetype"], wheel["python_version"]) == ("bdist_wheel", "py3")
    assert rel["1.0.2"]["files"][0]["upload_time"] == "2024-11-03T10:00:00.250000Z"
    assert any("seed 7" in s for s in manifest["simulated"])
    assert any("commit SHAs invented" in s for s in manifest["simulated"])


def test_same_seed_same_bytes_other_seed_other_signatures(
    scenario: Scenario, world: Path, tmp_path: Path
) -> None:
    again = build_world(scenario, tmp_path / "again", seed=7)
    assert tree_digest(again) == tree_digest(world)
    other = build_world(scenario, tmp_path / "other", seed=8)
    a, b = tree_digest(world), tree_digest(other)
    assert a.keys() == b.keys()
    # Archives do not depend on the seed; signatures, keys and the log do.
    assert a["files/demo_pkg-1.0.0.tar.gz"] == b["files/demo_pkg-1.0.0.tar.gz"]
    assert a["trusted_root.json"] != b["trusted_root.json"]
    assert a["provenance/demo_pkg-1.0.0.tar.gz.json"] != b["provenance/demo_pkg-1.0.0.tar.gz.json"]


def test_rebuild_replaces_a_world_but_refuses_other_directories(
    scenario: Scenario, tmp_path: Path
) -> None:
    out = build_world(scenario, tmp_path / "w", seed=1)
    (out / "files" / "stale.whl").write_bytes(b"old")
    build_world(scenario, out, seed=1)
    assert not (out / "files" / "stale.whl").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ScenarioError, match="not empty"):
        build_world(scenario, busy)
    assert (busy / "notes.txt").read_text() == "mine"


def test_provenance_verifies_with_lab_root_and_tampering_fails(world: Path) -> None:
    assert verify_file(world, "demo_pkg-1.0.0.tar.gz") == []
    assert verify_file(world, "demo_pkg-1.0.0-py3-none-any.whl") == []
    assert verify_file(world, "demo_pkg-1.0.2.tar.gz") == []
    assert verify_file(world, "demo_pkg-1.0.2-py3-none-any.whl") == ["subject digest mismatch"]
    # The reused attestation is genuine but names another file.
    reused = verify_file(world, "demo_pkg-1.0.3.tar.gz")
    assert reused == ["subject name demo_pkg-1.0.0.tar.gz != demo_pkg-1.0.3.tar.gz",
                      "subject digest mismatch"]  # fmt: skip
    assert (world / "provenance/demo_pkg-1.0.3.tar.gz.json").read_bytes() == (
        world / "provenance/demo_pkg-1.0.0.tar.gz.json"
    ).read_bytes()


def test_provenance_does_not_verify_against_another_root(world: Path, tmp_path: Path) -> None:
    scenario = parse_scenario(SCENARIO, file="build-test.toml")
    other = build_world(scenario, tmp_path / "other", seed=99)
    verifier = Verifier(trusted_root=TrustedRoot.from_file(str(other / "trusted_root.json")))
    prov = Provenance.model_validate_json(
        (world / "provenance" / "demo_pkg-1.0.0.tar.gz.json").read_bytes()
    )
    bundle = prov.attestation_bundles[0]
    with pytest.raises(VerificationError):
        verifier.verify_dsse(bundle.attestations[0].to_bundle(), bundle.publisher._as_policy())


def test_log_order_follows_integration_time_and_holds_extra_entries(world: Path) -> None:
    entries = json.loads((world / "rekor" / "entries.json").read_text())
    manifest = json.loads((world / "world.json").read_text())
    signed = [f for r in manifest["releases"] for f in r["files"] if f["provenance"]]
    reused = 1  # 1.0.3's sdist reuses 1.0.0's entry
    assert len(entries) == len(signed) - reused + len(manifest["extra_log_entries"])
    ordered = sorted(entries.values(), key=lambda e: e["logIndex"])
    times = [e["integratedTime"] for e in ordered]
    assert times == sorted(times)
    (extra,) = manifest["extra_log_entries"]
    assert extra["filename"] == "demo_pkg-1.0.9.tar.gz"
    search = json.loads((world / "rekor" / "search.json").read_text())
    (uuid,) = search[f"sha256:{extra['sha256']}"]
    assert any(e["logIndex"] == extra["log_index"] for k, e in entries.items() if uuid in k)
    assert not (world / "files" / "demo_pkg-1.0.9.tar.gz").exists()
    # The certificate of a genuine upload says what the scenario says.
    prov = json.loads((world / "provenance" / "demo_pkg-1.0.0.tar.gz.json").read_text())
    assert prov["attestation_bundles"][0]["publisher"] == {
        "kind": "GitHub",
        "repository": "acme/demo",
        "workflow": "release.yml",
        "environment": "pypi",
    }
    log = json.loads((world / "rekor" / "log.json").read_text())
    assert log["treeSize"] == len(entries)


def test_github_state_is_generated_per_trusted_publishing_release(world: Path) -> None:
    commits = json.loads((world / "github" / "commits.json").read_text())
    tags = {
        t["name"]: t["commit"] for t in json.loads((world / "github" / "tags.json").read_text())
    }
    runs = json.loads((world / "github" / "runs.json").read_text())
    assert set(tags) == {"v1.0.0", "v1.0.2", "v1.0.3"}  # the token release has no tag
    by_sha = {c["sha"]: c for c in commits}
    bot = by_sha[tags["v1.0.2"]]
    assert bot["author"] == "release-bot[bot]"
    assert bot["files"] == [".github/workflows/release.yml"]
    assert bot["parents"] == [tags["v1.0.0"]]
    attempts = sorted(
        (r["run_attempt"], r["conclusion"]) for r in runs if r["head_sha"] == tags["v1.0.2"]
    )
    assert attempts == [(1, "failure"), (2, "success")]
    for run in runs:
        assert run["path"] == ".github/workflows/release.yml"
        assert run["head_sha"] in by_sha
    prov = Provenance.model_validate_json(
        (world / "provenance" / "demo_pkg-1.0.2.tar.gz.json").read_bytes()
    )
    claims = prov.attestation_bundles[0].attestations[0].certificate_claims
    run = next(r for r in runs if r["head_sha"] == tags["v1.0.2"] and r["run_attempt"] == 2)
    assert claims["1.3.6.1.4.1.57264.1.13"] == tags["v1.0.2"]
    assert claims["1.3.6.1.4.1.57264.1.21"].endswith(f"/actions/runs/{run['id']}/attempts/2")
