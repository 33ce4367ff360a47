"""The trust material of an analysis: one Sigstore trusted root, kept as the bytes it was read
from, so a case can store exactly the root its verdicts depend on and re-analysis can reuse it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from forensics.errors import InputError
from forensics.provenance.verify import ProvenanceVerifier, parse_trusted_root, read_trusted_root
from forensics.rekor.verify import LogKeys


@dataclass(frozen=True)
class TrustMaterial:
    """A pinned trusted root: bytes, where they came from, and the verifiers built from them."""

    raw: bytes
    label: str

    @classmethod
    def load(cls, path: Path | None = None) -> TrustMaterial:
        """A `trusted_root.json` file, or (None) the production root shipped inside sigstore."""
        raw, label = read_trusted_root(path)
        return cls(raw, label)

    @property
    def sha256(self) -> str:
        """Digest of the root's bytes (recorded in reports)."""
        return hashlib.sha256(self.raw).hexdigest()

    @cached_property
    def verifier(self) -> ProvenanceVerifier:
        """PEP 740 verifier over this root."""
        return ProvenanceVerifier(parse_trusted_root(self.raw, self.label))

    @cached_property
    def log_keys(self) -> LogKeys:
        """Transparency-log keys of this root, for independent entry verification."""
        try:
            data = json.loads(self.raw)
        except ValueError as exc:
            raise InputError(f"{self.label} is not JSON: {exc}") from exc
        return LogKeys.from_trusted_root(data, source=self.label)
