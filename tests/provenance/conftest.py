"""Fixtures for the provenance tests: the pinned production root and real PEP 740 material."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from forensics.provenance import ProvenanceVerifier, load_trusted_root


@pytest.fixture(scope="session")
def verifier() -> ProvenanceVerifier:
    """A verifier over the production trusted_root.json embedded in sigstore (no network)."""
    return ProvenanceVerifier(load_trusted_root())


@pytest.fixture(scope="session")
def pep740(real_data: Path) -> Path:
    return real_data / "pep740"


@pytest.fixture
def load_json(pep740: Path) -> Callable[[str], Any]:
    """A fresh, mutable copy of a real JSON file (tests tamper with it in memory only)."""

    def load(rel: str) -> Any:
        return json.loads((pep740 / rel).read_bytes())

    return load
