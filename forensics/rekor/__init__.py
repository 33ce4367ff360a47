"""Rekor transparency log: client, independent entry verification, Merkle proofs, signed notes.

Notebook API — one call fetches, verifies and shows an entry::

    import forensics.rekor as rekor
    rekor.lookup_index(153454663)                  # global log index
    rekor.lookup_uuid("108e9186e8c5677add61…")     # 64-hex UUID or 80-hex entry ID
    rekor.lookup_digest("9bb1add0…")               # every entry indexed under sha256:<digest>

Each returns an object whose `repr` (and `_repr_markdown_` in Jupyter) shows the decoded entry
(index, integrated time, kind, identity, commit, ref, workflow, run) and each check's outcome.
The trusted root defaults to the production one embedded in sigstore-python; pass
`trusted_root=` a pinned `trusted_root.json` (or a `LogKeys`) for reproducible evidence, and
`client=` a configured `RekorClient`/`RecordedRekor` to control retries, evidence and offline use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from forensics.errors import SourceError
from forensics.evidence.store import EvidenceStore
from forensics.models import isoformat
from forensics.rekor.client import (
    DEFAULT_URL,
    ConsistencyProof,
    EntryNotFound,
    RecordedRekor,
    RekorClient,
    SearchResult,
)
from forensics.rekor.entry import (
    DecodedBody,
    EntryFacts,
    LogInfo,
    MalformedEntry,
    RekorEntry,
    decode_body,
)
from forensics.rekor.verify import (
    Check,
    EntryVerification,
    LogKey,
    LogKeys,
    Outcome,
    compare_entries,
    verify_consistency_proof,
    verify_entry,
)
from forensics.trust import TrustMaterial

__all__ = [
    "DEFAULT_URL",
    "Check",
    "ConsistencyProof",
    "DecodedBody",
    "DigestLookup",
    "EntryFacts",
    "EntryNotFound",
    "EntryVerification",
    "LogInfo",
    "LogKey",
    "LogKeys",
    "Lookup",
    "MalformedEntry",
    "Outcome",
    "RecordedRekor",
    "RekorClient",
    "RekorEntry",
    "SearchResult",
    "compare_entries",
    "decode_body",
    "load_keys",
    "lookup_digest",
    "lookup_index",
    "lookup_uuid",
    "summary_fields",
    "verify_consistency_proof",
    "verify_entry",
]

TrustedRoot = str | os.PathLike[str] | LogKeys | TrustMaterial | None


def load_keys(trusted_root: TrustedRoot) -> LogKeys:
    """`LogKeys` from a path, an existing `LogKeys`, or None (sigstore's embedded root)."""
    if isinstance(trusted_root, LogKeys):
        return trusted_root
    if isinstance(trusted_root, TrustMaterial):
        return trusted_root.log_keys
    from pathlib import Path

    # Only the `tlogs` list is needed: a root holding just the log keys is enough here.
    return TrustMaterial.read(Path(trusted_root) if trusted_root else None).log_keys


def _claim(claims: Mapping[str, str], *names: str) -> str | None:
    return next((claims[n] for n in names if claims.get(n)), None)


def summary_fields(v: EntryVerification) -> list[tuple[str, str]]:
    """The human-facing facts of a verified entry, in display order."""
    d = v.decoded
    claims = d.claims if d else {}
    rows = [
        ("log index", str(v.global_index)),
        ("shard index", "—" if v.shard_index is None else str(v.shard_index)),
        ("entry ID", v.entry_id or v.uuid),
        ("integrated time", isoformat(v.integrated_time) or "absent (the log attests no time)"),
        ("time source", v.time_source or "none"),
        ("kind", d.kind if d else (v.entry.kind_version or "?")),
        ("identity", ", ".join(d.san) if d and d.san else "—"),
        ("issuer", _claim(claims, "issuer", "issuer_v1") or "—"),
        ("repository", _claim(claims, "source_repository") or "—"),
        ("commit", _claim(claims, "source_commit", "github_workflow_sha") or "—"),
        ("ref", _claim(claims, "source_ref", "github_workflow_ref") or "—"),
        ("workflow", _claim(claims, "build_config", "build_signer_uri") or "—"),
        ("run", _claim(claims, "run_url") or "—"),
        ("verified", "yes" if v.ok else "NO"),
    ]
    return rows


@dataclass(frozen=True)
class Lookup:
    """One fetched and verified entry, ready to display."""

    url: str
    verification: EntryVerification

    @property
    def entry(self) -> RekorEntry:
        """The entry as the log served it."""
        return self.verification.entry

    @property
    def ok(self) -> bool:
        """True when every check passed or was not applicable."""
        return self.verification.ok

    def __repr__(self) -> str:
        """Plain-text rendering: facts, then one line per check."""
        lines = [f"Rekor entry from {self.url}"]
        lines += [f"  {k:<16} {val}" for k, val in summary_fields(self.verification)]
        lines.append("  checks:")
        lines += [
            f"    [{c.outcome.value:<4}] {c.name:<21} {c.reason}" for c in self.verification.checks
        ]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        rows = [f"**Rekor entry** from `{self.url}`", "", "| | |", "|---|---|"]
        rows += [f"| {k} | {_md(val)} |" for k, val in summary_fields(self.verification)]
        rows += ["", "| check | outcome | reason |", "|---|---|---|"]
        rows += [
            f"| {c.name} | {c.outcome.value} | {_md(c.reason)} |" for c in self.verification.checks
        ]
        return "\n".join(rows)


@dataclass(frozen=True)
class DigestLookup:
    """Every entry the log's search index returns for a sha256 digest."""

    digest: str
    search: SearchResult
    entries: tuple[Lookup, ...]

    def __repr__(self) -> str:
        """Plain-text rendering of every entry found."""
        if not self.search.supported:
            return f"sha256:{self.digest}: {self.search.reason}"
        noun = "entry" if len(self.entries) == 1 else "entries"
        head = f"sha256:{self.digest}: {len(self.entries)} {noun}"
        return "\n\n".join([head, *(repr(e) for e in self.entries)])

    def _repr_markdown_(self) -> str:
        if not self.search.supported:
            return f"`sha256:{self.digest}`: {_md(self.search.reason)}"
        parts = [f"`sha256:{self.digest}`: {len(self.entries)} entries"]
        parts += [e._repr_markdown_() for e in self.entries]
        return "\n\n".join(parts)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _reader(
    url: str,
    session: requests.Session | None,
    store: EvidenceStore | None,
    offline: bool,
    client: RekorClient | RecordedRekor | None = None,
) -> RekorClient | RecordedRekor:
    if client is not None:
        return client
    if offline:
        if store is None:
            raise MalformedEntry("offline lookups need the evidence store (store=...)")
        return RecordedRekor(store, url)
    return RekorClient(session or requests.Session(), url, store=store)


def _offsets(reader: RekorClient | RecordedRekor) -> dict[str, int] | None:
    # The shard offsets let the index check confirm global = shard + offset. They are optional
    # corroboration: a log that cannot serve /api/v1/log still yields a verified entry.
    try:
        return reader.log_info().shard_offsets()
    except SourceError:
        return None


def _lookup(reader: RekorClient | RecordedRekor, entry: RekorEntry, keys: LogKeys) -> Lookup:
    return Lookup(reader.base_url, verify_entry(entry, keys, shard_offsets=_offsets(reader)))


def lookup_index(
    index: int,
    *,
    url: str = DEFAULT_URL,
    trusted_root: TrustedRoot = None,
    session: requests.Session | None = None,
    store: EvidenceStore | None = None,
    offline: bool = False,
    client: RekorClient | RecordedRekor | None = None,
) -> Lookup:
    """Fetch the entry at global `index`, verify it, and return a displayable result."""
    keys = load_keys(trusted_root)
    reader = _reader(url, session, store, offline, client)
    return _lookup(reader, reader.entry_by_index(index), keys)


def lookup_uuid(
    uuid: str,
    *,
    url: str = DEFAULT_URL,
    trusted_root: TrustedRoot = None,
    session: requests.Session | None = None,
    store: EvidenceStore | None = None,
    offline: bool = False,
    client: RekorClient | RecordedRekor | None = None,
) -> Lookup:
    """Fetch the entry with this UUID or entry ID, verify it, and return a displayable result."""
    keys = load_keys(trusted_root)
    reader = _reader(url, session, store, offline, client)
    return _lookup(reader, reader.entry_by_uuid(uuid), keys)


def lookup_digest(
    sha256: str,
    *,
    url: str = DEFAULT_URL,
    trusted_root: TrustedRoot = None,
    session: requests.Session | None = None,
    store: EvidenceStore | None = None,
    offline: bool = False,
    client: RekorClient | RecordedRekor | None = None,
) -> DigestLookup:
    """Search the log for `sha256:<digest>`, then fetch and verify every entry found."""
    keys = load_keys(trusted_root)
    reader = _reader(url, session, store, offline, client)
    search = reader.search_hash(sha256)
    if not search:
        return DigestLookup(sha256.lower().removeprefix("sha256:"), search, ())
    offsets = _offsets(reader)
    # One GET per entry: offline, `RecordedRekor` answers it from the GET or, for a case that
    # `forensics investigate` collected, from the batch retrieve answer that held the entry.
    entries = [reader.entry_by_uuid(u) for u in search.uuids]
    looks = tuple(
        Lookup(reader.base_url, verify_entry(e, keys, shard_offsets=offsets)) for e in entries
    )
    return DigestLookup(sha256.lower().removeprefix("sha256:"), search, looks)
