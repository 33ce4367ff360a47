"""Genuine PyPI attestations, served by a PyPI-shaped loopback server, through the whole pipeline
with the production trust root: collected over HTTP, verified by sigstore, placed on a timeline.

The world directory is written in a temporary folder from ../shared/real-data (skipped when it
is absent); nothing from there is copied into the repository.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from forensics.api import investigate
from forensics.models import ProvenanceStatus
from forensics.timeline import ReleaseState
from forensics_lab.serve import LabServer

pytestmark = pytest.mark.realdata

GITHUB = {
    "kind": "GitHub",
    "repository": "pypa/sampleproject",
    "workflow": "release.yml",
    "environment": "",
}
GOOGLE = {"kind": "Google", "email": "919436158236-compute@developer.gserviceaccount.com"}


def _file(meta: dict[str, object], provenance: str | None, data: bytes) -> dict[str, object]:
    return {
        "filename": meta["filename"],
        "packagetype": meta["packagetype"],
        "python_version": "source" if meta["packagetype"] == "sdist" else "py3",
        "requires_python": None,
        "size": len(data),
        "upload_time": meta["upload_time"],
        "digests": {
            "sha256": hashlib.sha256(data).hexdigest(),
            "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
            "blake2b_256": hashlib.blake2b(data, digest_size=32).hexdigest(),
        },
        "provenance": provenance,
    }


@pytest.fixture
def sampleproject_world(real_data: Path, tmp_path: Path) -> Path:
    src = real_data / "pep740" / "sampleproject"
    listing = json.loads((real_data / "pypi-metadata" / "sampleproject.releases.json").read_text())
    meta = {f["filename"]: f for f in listing["files"]}
    world = tmp_path / "world"
    (world / "files").mkdir(parents=True)
    (world / "provenance").mkdir()

    def wrap(attestation: Path, publisher: dict[str, str]) -> bytes:
        # A single genuine attestation, put in a PEP 740 provenance object as PyPI serves it.
        att = json.loads(attestation.read_text())
        return json.dumps(
            {"version": 1, "attestation_bundles": [{"publisher": publisher, "attestations": [att]}]}
        ).encode()

    plan = {
        "3.0.0": [
            (
                "sampleproject-3.0.0.tar.gz",
                wrap(src / "sampleproject-3.0.0.tar.gz.publish.attestation", GOOGLE),
            )
        ],
        "4.0.0": [
            (
                "sampleproject-4.0.0-py3-none-any.whl",
                wrap(src / "sampleproject-4.0.0-py3-none-any.whl.publish.attestation", GITHUB),
            ),
            (
                "sampleproject-4.0.0.tar.gz",
                (src / "sampleproject-4.0.0.tar.gz.provenance").read_bytes(),
            ),
        ],
    }
    releases = []
    for version, files in plan.items():
        entries = []
        for name, provenance in files:
            data = (src / name).read_bytes()
            (world / "files" / name).write_bytes(data)
            (world / "provenance" / f"{name}.json").write_bytes(provenance)
            entries.append(_file(meta[name], f"provenance/{name}.json", data))
        releases.append(
            {
                "version": version,
                "deleted_at": None,
                "yanked": False,
                "yanked_reason": None,
                "files": entries,
            }
        )
    (world / "world.json").write_text(
        json.dumps(
            {
                "schema": "forensics_lab.world/v1",
                "scenario": "real-sampleproject",
                "seed": 0,
                "project": "sampleproject",
                "simulated": [],
                "releases": releases,
            }
        )
    )
    return world


def test_genuine_attestations_verify_end_to_end(sampleproject_world: Path, tmp_path: Path) -> None:
    with LabServer(sampleproject_world) as server:
        inv = investigate("sampleproject", index_url=server.url, case=tmp_path / "case")
    files = {f.dist.filename: f for r in inv.timeline.releases for f in r.files}
    assert {n: f.provenance.status for n, f in files.items()} == {
        "sampleproject-3.0.0.tar.gz": ProvenanceStatus.VERIFIED,
        "sampleproject-4.0.0-py3-none-any.whl": ProvenanceStatus.VERIFIED,
        "sampleproject-4.0.0.tar.gz": ProvenanceStatus.VERIFIED,
    }
    sdist = files["sampleproject-4.0.0.tar.gz"].provenance
    assert sdist.claims["source_repository"] == "https://github.com/pypa/sampleproject"
    assert [e.log_index for e in sdist.log_entries] == [147137139]
    assert sdist.log_entries[0].integrated_time is not None
    assert sdist.log_entries[0].integrated_time.isoformat() == "2024-11-06T22:37:07+00:00"
    # 3.0.0 (uploaded 2022) was signed retroactively in 2024 by a Google identity (INDEX.md):
    # the publisher changes at 4.0.0 and the 3.0.0 signature postdates its upload by years.
    rel4 = inv.timeline.release("4.0.0")
    assert rel4 is not None and rel4.state is ReleaseState.CHANGED
    detectors = {(f.detector, f.version) for f in inv.findings}
    assert ("publisher-changed", "4.0.0") in detectors
    assert ("signing-time-skew", "3.0.0") in detectors
    assert inv.to_json()["sources"]["index"]["pep740"] == "yes"


def test_genuine_attestation_with_altered_served_bytes_is_invalid(
    sampleproject_world: Path, tmp_path: Path
) -> None:
    path = sampleproject_world / "provenance" / "sampleproject-4.0.0.tar.gz.json"
    obj = json.loads(path.read_text())
    envelope = obj["attestation_bundles"][0]["attestations"][0]["envelope"]
    sig = bytearray(base64.b64decode(envelope["signature"]))
    sig[-1] ^= 1
    envelope["signature"] = base64.b64encode(bytes(sig)).decode()
    path.write_text(json.dumps(obj))
    with LabServer(sampleproject_world) as server:
        inv = investigate("sampleproject", index_url=server.url, case=tmp_path / "case")
    fp = next(
        f
        for r in inv.timeline.releases
        for f in r.files
        if f.dist.filename == "sampleproject-4.0.0.tar.gz"
    ).provenance
    assert fp.status is ProvenanceStatus.INVALID
    assert "signature" in fp.reason
    assert any(f.detector == "attestation-invalid" for f in inv.findings)
