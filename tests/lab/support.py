"""Helpers shared by the lab tests: hash a world tree, verify a world file independently."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pypi_attestations import Distribution, Provenance
from sigstore.errors import VerificationError
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def verify_file(world: Path, filename: str) -> list[str]:
    """Verify every attestation of a file against the lab root the way pypi-attestations does.

    pypi-attestations' `Attestation.verify` always uses the production root, so this builds the
    sigstore Verifier on the lab root, verifies the DSSE envelope under the bundle's publisher
    policy, then checks the statement subject against the file. Returns a problem per failure.
    """
    verifier = Verifier(trusted_root=TrustedRoot.from_file(str(world / "trusted_root.json")))
    prov = Provenance.model_validate_json((world / "provenance" / f"{filename}.json").read_bytes())
    dist = Distribution.from_file(world / "files" / filename)
    failures: list[str] = []
    for bundle in prov.attestation_bundles:
        for att in bundle.attestations:
            try:
                _, payload = verifier.verify_dsse(att.to_bundle(), bundle.publisher._as_policy())
            except VerificationError as exc:
                failures.append(f"signature: {exc}")
                continue
            statement: dict[str, Any] = json.loads(payload)
            (subject,) = statement["subject"]
            if subject["name"] != dist.name:
                failures.append(f"subject name {subject['name']} != {dist.name}")
            if subject["digest"]["sha256"] != dist.digest:
                failures.append("subject digest mismatch")
    return failures
