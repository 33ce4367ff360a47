"""Low-level Sigstore primitives shared by `forensics.provenance` and `forensics.rekor`.

One place, below both: RFC 6962 Merkle hashing and proof verification (`merkle`), C2SP signed
notes and the Rekor SET payload (`note`), Fulcio certificate claims and the one SAN reader
(`claims`), transparency-log keys (`keys`), the one validity-window rule (`validity`) and
bounded readers for hostile data (`untrusted`: JSON depth/size, dates in range, encodable text).
Everything here verifies or parses; making proofs and signing notes is lab work
(`forensics_lab.merkle_tree`, `forensics_lab.notes`). The lab uses only what this module exports.
"""

from __future__ import annotations

from forensics.primitives.claims import (
    CLAIM_NAMES,
    FULCIO_ARC,
    OTHERNAME_SAN_OID,
    RAW_UTF8_OIDS,
    SCT_OID,
    ClaimsResult,
    DerError,
    certificate_facts,
    certificate_san,
    decode_der_utf8string,
    extract_claims,
)
from forensics.primitives.keys import LogKey, LogKeys, PublicKey
from forensics.primitives.merkle import (
    ProofError,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)
from forensics.primitives.note import (
    EM_DASH,
    Checkpoint,
    NoteError,
    NoteSignature,
    parse_checkpoint,
    set_payload,
)
from forensics.primitives.untrusted import (
    MAX_DEPTH,
    UntrustedDataError,
    encodable,
    loads,
    shown,
    time_in_range,
    type_name,
)
from forensics.primitives.validity import ValidityWindow

__all__ = [
    "CLAIM_NAMES",
    "EM_DASH",
    "FULCIO_ARC",
    "MAX_DEPTH",
    "OTHERNAME_SAN_OID",
    "RAW_UTF8_OIDS",
    "SCT_OID",
    "Checkpoint",
    "ClaimsResult",
    "DerError",
    "LogKey",
    "LogKeys",
    "NoteError",
    "NoteSignature",
    "ProofError",
    "PublicKey",
    "UntrustedDataError",
    "ValidityWindow",
    "certificate_facts",
    "certificate_san",
    "decode_der_utf8string",
    "encodable",
    "extract_claims",
    "leaf_hash",
    "loads",
    "node_hash",
    "parse_checkpoint",
    "root_from_inclusion",
    "set_payload",
    "shown",
    "time_in_range",
    "type_name",
    "verify_consistency",
    "verify_inclusion",
]
