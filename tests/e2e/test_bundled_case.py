"""The bundled Ultralytics case answers the notebook lookups offline, from its own evidence."""

from __future__ import annotations

from pathlib import Path

import forensics
import forensics.rekor as rekor
from forensics.analysis import case_trust
from forensics.evidence import EvidenceStore

CASE = Path(__file__).resolve().parents[2] / "cases" / "ultralytics" / "case"


def test_digest_lookup_answers_from_the_case() -> None:
    inv = forensics.investigate("ultralytics", case=CASE, offline=True)
    rec = next(
        r for rel in inv.timeline.releases for r in rel.recovered if r.subject_sha256 is not None
    )
    assert rec.subject_sha256 is not None
    with EvidenceStore.open(CASE, create=False) as store:
        meta = store.read_meta()
        assert meta is not None
        keys = case_trust(store, meta).log_keys
        found = rekor.lookup_digest(
            rec.subject_sha256,
            url=str(meta.sources["rekor"]["base_url"]),
            trusted_root=keys,
            store=store,
            offline=True,
        )
    assert [e.verification.global_index for e in found.entries] == [rec.log_entry.log_index]
    assert all(e.verification.ok for e in found.entries)
