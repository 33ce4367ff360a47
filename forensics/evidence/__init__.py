"""The evidence store: a case directory of content-addressed raw responses plus a SQLite index."""

from forensics.evidence.store import (
    NO_ANSWER,
    CaseMeta,
    EvidenceStore,
    StoredResponse,
    VerifyReport,
)

__all__ = ["NO_ANSWER", "CaseMeta", "EvidenceStore", "StoredResponse", "VerifyReport"]
