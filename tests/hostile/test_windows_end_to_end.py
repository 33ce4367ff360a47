"""A trusted root whose Rekor key was retired before the signing times, through the whole pipeline.

With the genuine lab root, served files are verified and the entries the log recovery finds for
deleted releases verify too. With the same root but the Rekor key's window ending before every
signature, both halves of the report say the same thing, in the same words: the files are invalid
and the recovered entries are rejected, because the key was no longer trusted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from forensics.analysis import Investigation
from forensics.api import investigate
from forensics.models import ProvenanceStatus
from forensics_lab.build import build_world
from forensics_lab.scenario import load_scenario, shipped_scenarios
from forensics_lab.serve import LabServer

SCENARIO = "ultralytics-2024-12"  # its intel names log entries of deleted releases
RETIRED = "the Rekor key of"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(
        load_scenario(shipped_scenarios()[SCENARIO]), tmp_path_factory.mktemp("w") / "world"
    )


@pytest.fixture(scope="module")
def server(world: Path) -> Iterator[LabServer]:
    srv = LabServer(world).start()
    yield srv
    srv.stop()


def _investigate(server: LabServer, root: Path, case: Path, intel: Path) -> Investigation:
    return investigate(
        server.world.project,
        index_url=server.url,
        rekor_url=server.url,
        case=case,
        trust_root=root,
        intel=intel,
    )


def _files(inv: Investigation) -> list[tuple[str, ProvenanceStatus, str]]:
    return [
        (fv.dist.filename, fv.provenance.status, fv.provenance.reason)
        for rel in inv.timeline.releases
        for fv in rel.files
    ]


def test_retired_rekor_key_invalidates_files_and_log_entries_alike(
    world: Path, server: LabServer, tmp_path: Path
) -> None:
    intel = world / "intel.toml"
    genuine = _investigate(server, world / "trusted_root.json", tmp_path / "genuine", intel)
    files = _files(genuine)
    assert files and all(status is ProvenanceStatus.VERIFIED for _, status, _ in files), files
    recovered = [rec for rel in genuine.timeline.releases for rec in rel.recovered]
    assert recovered and all(rec.log_entry.verified for rec in recovered)

    root = json.loads((world / "trusted_root.json").read_text())
    root["tlogs"][0]["publicKey"]["validFor"] = {
        "start": "1999-01-01T00:00:00Z",
        "end": "2000-01-01T00:00:00Z",
    }
    retired_path = tmp_path / "retired_root.json"
    retired_path.write_text(json.dumps(root))
    retired = _investigate(server, retired_path, tmp_path / "retired", intel)

    files = _files(retired)
    assert files and all(status is ProvenanceStatus.INVALID for _, status, _ in files), files
    assert all(
        "trust root does not cover the signing time" in reason and RETIRED in reason
        for _, _, reason in files
    )
    recovered = [rec for rel in retired.timeline.releases for rec in rel.recovered]
    # Entries found through intel (not through a verified identity) are still checked, and the
    # log checker rejects them for the same reason the files are invalid.
    assert recovered, "the recovery must still list what the log holds"
    for rec in recovered:
        assert rec.log_entry.verified is False
        assert "is after the validity window of " + RETIRED in rec.log_entry.reason
