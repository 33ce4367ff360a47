"""PEP 740 provenance: per-bundle parsing, Fulcio claims .1–.24, offline verification."""

from __future__ import annotations

from forensics.primitives import (
    CLAIM_NAMES,
    ClaimsResult,
    certificate_facts,
    decode_der_utf8string,
    extract_claims,
)
from forensics.provenance.verify import (
    ProvenanceVerifier,
    describe,
    load_trusted_root,
    verify_file,
)

__all__ = [
    "CLAIM_NAMES",
    "ClaimsResult",
    "ProvenanceVerifier",
    "certificate_facts",
    "decode_der_utf8string",
    "describe",
    "extract_claims",
    "load_trusted_root",
    "verify_file",
]
