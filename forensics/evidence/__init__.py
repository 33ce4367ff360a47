"""The evidence store: a case directory of content-addressed raw responses plus a SQLite index."""

from forensics.evidence.store import CaseMeta, EvidenceStore, StoredResponse, VerifyReport

__all__ = ["CaseMeta", "EvidenceStore", "StoredResponse", "VerifyReport"]
