"""The evidence store: a case directory of content-addressed raw responses plus a SQLite index,
sealed by a manifest whose Merkle root is the case digest."""

from forensics.evidence.manifest import CaseContent, Change
from forensics.evidence.store import (
    NO_ANSWER,
    CaseCheck,
    CaseMeta,
    EvidenceStore,
    StoredResponse,
    is_definitive,
)

__all__ = [
    "NO_ANSWER",
    "CaseCheck",
    "CaseContent",
    "CaseMeta",
    "Change",
    "EvidenceStore",
    "StoredResponse",
    "is_definitive",
]
