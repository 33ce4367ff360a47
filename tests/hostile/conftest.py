"""Shared lab material for the hostile-input corpus: one lab trust, log and signed attestation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypi_attestations import Attestation

from forensics.evidence.store import EvidenceStore
from forensics.trust import TrustMaterial
from forensics_lab.log import LabRekorLog
from forensics_lab.sign import SigningRequest, github_identity, provenance_object, sign_attestation
from forensics_lab.trust import LabTrust

SIGNED_AT = datetime(2024, 12, 4, 20, 50, 0, tzinfo=UTC)
INTEGRATED_AT = SIGNED_AT + timedelta(seconds=2)
FILENAME = "sampleproject-1.0.tar.gz"
SHA256 = "ab" * 32
REPO, WORKFLOW = "example/sampleproject", "release.yml"
PUBLISHER = {"kind": "GitHub", "repository": REPO, "workflow": WORKFLOW, "environment": None}


@dataclass(frozen=True)
class Signed:
    """A lab trust, its trusted root as a dict, and one genuine attestation signed with it."""

    trust: LabTrust
    root: dict[str, Any]
    attestation: Attestation
    log: LabRekorLog

    def provenance(self, attestation: Attestation | None = None) -> bytes:
        return provenance_object([(PUBLISHER, [attestation or self.attestation])])

    def material(self, root: dict[str, Any] | None = None) -> TrustMaterial:
        import json

        return TrustMaterial(json.dumps(root or self.root).encode(), "lab trusted root")


@pytest.fixture(scope="session")
def signed() -> Signed:
    trust = LabTrust.generate(
        7, valid_from=datetime(2024, 1, 1, tzinfo=UTC), valid_until=datetime(2030, 1, 1, tzinfo=UTC)
    )
    log = LabRekorLog(trust, tree_id=42, shard_offset=1000)
    san, claims = github_identity(
        REPO,
        WORKFLOW,
        "refs/tags/v1.0",
        sha="e" * 40,
        trigger="push",
        run_id=1,
        environment=None,
        repository_id="1",
        owner_id="2",
        issued_at=SIGNED_AT,
    )
    request = SigningRequest(
        filename=FILENAME,
        sha256=SHA256,
        san=san,
        san_kind="uri",
        claims=claims,
        signed_at=SIGNED_AT,
        integrated_at=INTEGRATED_AT,
    )
    attestation = sign_attestation(trust, log, request)
    return Signed(trust, trust.trusted_root_dict(), attestation, log)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EvidenceStore]:
    with EvidenceStore.open(tmp_path / "case") as s:
        yield s
