"""The lab's Rekor v1 log: an RFC 6962 tree of dsse/hashedrekord entries, SETs and checkpoints.

One `LabRekorLog` is one shard (one Trillian tree). Like rekor.sigstore.dev it distinguishes the
*global* ("virtual") log index, used by the REST API and signed into the SET, from the index
*inside the shard tree*, used by inclusion proofs: ``global = shard_offset + shard_index``.
Entry IDs are ``%016x(tree_id) + uuid`` (sigstore/rekor `pkg/sharding/sharding.go`); the UUID is
the RFC 6962 leaf hash of the canonicalized body.

Everything is deterministic: signatures are RFC 6979 ECDSA and integration times are inputs.
Hashing and the SET payload come from `forensics.primitives`, the same code the toolkit verifies
with; proofs and notes are made by `forensics_lab.merkle_tree` and `forensics_lab.notes`. The
tests check every lab entry with the toolkit's verifier and with sigstore-python, an independent
implementation, so the lab cannot drift from the verifier silently.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from forensics.errors import UsageError
from forensics.primitives import certificate_san, leaf_hash, set_payload
from forensics_lab.merkle_tree import MerkleTree
from forensics_lab.notes import format_body, format_note
from forensics_lab.trust import LabTrust, sign_deterministic

DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class LabLogError(UsageError):
    """The lab log was asked for what a Rekor log cannot do (unknown index, duplicate entry)."""

    reference = "lab-log"


@dataclass(frozen=True)
class LabLogEntry:
    """One entry of the lab log, with what the search index needs."""

    global_index: int
    """Rekor v1 `logIndex`: the virtual index across shards (signed into the SET)."""
    shard_index: int
    """Index inside this shard's Merkle tree (the inclusion proof `logIndex`)."""
    uuid: str
    """hex RFC 6962 leaf hash of `body`."""
    entry_id: str
    """``%016x(tree_id) + uuid``: 80 hex characters."""
    body: bytes
    """The canonicalized body (RFC 8785 JSON), exactly the leaf bytes."""
    integrated_time: int
    """Unix seconds, as Rekor v1 records it."""
    set_signature: bytes
    """DER ECDSA signed entry timestamp by the log key."""
    subject_digests: tuple[str, ...]
    """Search keys for the entry's artifacts, as ``sha256:<hex>``."""
    san: str | None
    """Subject alternative name of the signing certificate, when there is one."""
    kind: str = ""
    """Entry kind (`dsse`, `hashedrekord`), read from the body."""
    api_version: str = ""
    """Entry kind version (`0.0.1`), read from the body."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pem_b64(certificate: x509.Certificate) -> str:
    """base64 of the PEM certificate: how a Rekor v1 body carries its verifier."""
    return _b64(certificate.public_bytes(serialization.Encoding.PEM))


def _certificate_san(certificate: x509.Certificate) -> str | None:
    # The toolkit's one SAN reader, so the lab's search index names what the verifier reads.
    names = certificate_san(certificate)
    return names[0] if names else None


def dsse_body(envelope_payload: bytes, signature: bytes, certificate: x509.Certificate) -> bytes:
    """The canonicalized dsse/0.0.1 body Rekor v1 stores for a one-signature in-toto envelope.

    `envelopeHash` is the sha256 of the RFC 8785 form of the envelope. Real Rekor hashes the
    envelope as submitted (uncanonicalized JSON), which is why no verifier can recompute it;
    sigstore-python does not check it either (lab-signing-notes.md).
    """
    envelope: dict[str, Any] = {
        "payload": _b64(envelope_payload),
        "payloadType": DSSE_PAYLOAD_TYPE,
        "signatures": [{"sig": _b64(signature)}],
    }
    body: dict[str, Any] = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {
                "algorithm": "sha256",
                "value": hashlib.sha256(rfc8785.dumps(envelope)).hexdigest(),
            },
            "payloadHash": {
                "algorithm": "sha256",
                "value": hashlib.sha256(envelope_payload).hexdigest(),
            },
            "signatures": [{"signature": _b64(signature), "verifier": _pem_b64(certificate)}],
        },
    }
    return bytes(rfc8785.dumps(body))


def hashedrekord_body(sha256_hex: str, signature: bytes, certificate: x509.Certificate) -> bytes:
    """The canonicalized hashedrekord/0.0.1 body for a signature over an artifact's sha256."""
    body: dict[str, Any] = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": sha256_hex}},
            "signature": {
                "content": _b64(signature),
                "publicKey": {"content": _pem_b64(certificate)},
            },
        },
    }
    return bytes(rfc8785.dumps(body))


def in_toto_subject_digests(statement: bytes) -> tuple[str, ...]:
    """``sha256:<hex>`` of every in-toto subject (Rekor's dsse IndexKeys); () if not in-toto."""
    try:
        parsed = json.loads(statement)
    except ValueError:
        return ()
    subjects = parsed.get("subject") if isinstance(parsed, dict) else None
    out: list[str] = []
    for subject in subjects if isinstance(subjects, list) else []:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        value = digest.get("sha256") if isinstance(digest, dict) else None
        if isinstance(value, str):
            out.append(f"sha256:{value.lower()}")
    return tuple(out)


def _kind_of(body: bytes) -> tuple[str, str]:
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise LabLogError(f"log entry body is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise LabLogError("log entry body is not a JSON object")
    kind, version = parsed.get("kind"), parsed.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(version, str):
        raise LabLogError("log entry body lacks string 'kind' and 'apiVersion' fields")
    return kind, version


class LabRekorLog:
    """A Rekor v1 log shard.

    RFC 6962 tree (forensics_lab.merkle_tree), dsse/0.0.1 + hashedrekord/0.0.1 entries, SETs,
    inclusion proofs with signed-note checkpoints (forensics_lab.notes), global vs shard index.
    """

    def __init__(
        self,
        trust: LabTrust,
        *,
        tree_id: int,
        shard_offset: int = 0,
        origin_host: str = "rekor.lab.invalid",
    ) -> None:
        if not 0 <= tree_id < 2**64:
            raise LabLogError(f"tree_id must fit in 64 bits, got {tree_id}")
        if shard_offset < 0:
            raise LabLogError(f"shard_offset must be >= 0, got {shard_offset}")
        if not origin_host or any(c.isspace() for c in origin_host):
            raise LabLogError(
                f"origin_host must be a non-empty name without spaces: {origin_host!r}"
            )
        self.trust = trust
        self.tree_id = tree_id
        self.shard_offset = shard_offset
        self.origin_host = origin_host
        self._entries: list[LabLogEntry] = []
        self._leaves: list[bytes] = []
        self._tree = MerkleTree()
        self._by_uuid: dict[str, int] = {}

    # -- identity -------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """Checkpoint origin line, `<host> - <treeID>` as rekor.sigstore.dev writes it."""
        return f"{self.origin_host} - {self.tree_id}"

    @property
    def log_id(self) -> bytes:
        """Rekor v1 log ID (sha256 of the log key's SPKI)."""
        return self.trust.rekor_log_id

    @property
    def size(self) -> int:
        """Number of entries in this shard."""
        return len(self._entries)

    @property
    def entries(self) -> tuple[LabLogEntry, ...]:
        """All entries, in shard order."""
        return tuple(self._entries)

    # -- appending ------------------------------------------------------------------------------

    def append_dsse(
        self,
        *,
        envelope_payload: bytes,
        signature: bytes,
        certificate: x509.Certificate,
        integrated_time: int,
    ) -> LabLogEntry:
        """Log a one-signature in-toto DSSE envelope as a dsse/0.0.1 entry."""
        return self.append_raw(
            dsse_body(envelope_payload, signature, certificate),
            integrated_time,
            subject_digests=in_toto_subject_digests(envelope_payload),
            san=_certificate_san(certificate),
        )

    def append_hashedrekord(
        self,
        *,
        sha256_hex: str,
        signature: bytes,
        certificate: x509.Certificate,
        integrated_time: int,
    ) -> LabLogEntry:
        """Log a signature over an artifact digest as a hashedrekord/0.0.1 entry."""
        digest = sha256_hex.lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise LabLogError(f"sha256 must be 64 hex digits, got {sha256_hex!r}")
        return self.append_raw(
            hashedrekord_body(digest, signature, certificate),
            integrated_time,
            subject_digests=(f"sha256:{digest}",),
            san=_certificate_san(certificate),
        )

    def append_raw(
        self,
        body: bytes,
        integrated_time: int,
        *,
        subject_digests: Sequence[str] = (),
        san: str | None = None,
    ) -> LabLogEntry:
        """Log any canonicalized body and sign its SET; duplicates are refused (Rekor: 409)."""
        if isinstance(integrated_time, bool) or not isinstance(integrated_time, int):
            raise LabLogError(f"integrated_time must be int Unix seconds, got {integrated_time!r}")
        if integrated_time < 0:
            raise LabLogError(f"integrated_time must be >= 0, got {integrated_time}")
        kind, version = _kind_of(body)
        leaf = leaf_hash(body)
        uuid = leaf.hex()
        if uuid in self._by_uuid:
            raise LabLogError(
                f"entry {uuid} is already in the log at shard index {self._by_uuid[uuid]}",
                hint="Rekor refuses duplicate bodies (HTTP 409); sign a distinct payload",
            )
        shard_index = len(self._entries)
        global_index = self.shard_offset + shard_index
        payload = set_payload(_b64(body), integrated_time, self.log_id.hex(), global_index)
        entry = LabLogEntry(
            global_index=global_index,
            shard_index=shard_index,
            uuid=uuid,
            entry_id=f"{self.tree_id:016x}{uuid}",
            body=body,
            integrated_time=integrated_time,
            set_signature=sign_deterministic(self.trust.rekor_key, payload),
            subject_digests=tuple(subject_digests),
            san=san,
            kind=kind,
            api_version=version,
        )
        self._entries.append(entry)
        self._leaves.append(leaf)
        self._tree.append(leaf)
        self._by_uuid[uuid] = shard_index
        return entry

    # -- reading --------------------------------------------------------------------------------

    def entry(self, global_index: int) -> LabLogEntry:
        """The entry at a *global* index; `LabLogError` when it is not in this shard."""
        shard_index = global_index - self.shard_offset
        if not 0 <= shard_index < len(self._entries):
            raise LabLogError(
                f"global log index {global_index} is not in shard {self.tree_id} "
                f"(it holds {self.shard_offset}..{self.shard_offset + len(self._entries) - 1})"
            )
        return self._entries[shard_index]

    def entry_by_uuid(self, uuid: str) -> LabLogEntry:
        """The entry with this UUID (64 hex) or entry ID (80 hex)."""
        key = uuid.lower()[-64:]
        if key not in self._by_uuid:
            raise LabLogError(f"no entry with UUID {uuid} in shard {self.tree_id}")
        return self._entries[self._by_uuid[key]]

    def _size(self, tree_size: int | None) -> int:
        size = len(self._entries) if tree_size is None else tree_size
        if not 0 <= size <= len(self._entries):
            raise LabLogError(
                f"tree size {size} is outside 0..{len(self._entries)} for shard {self.tree_id}"
            )
        return size

    def root_hash(self, tree_size: int | None = None) -> bytes:
        """RFC 6962 root of the first `tree_size` leaves (default: all)."""
        return self._tree.root(self._size(tree_size))

    def checkpoint(self, tree_size: int | None = None) -> str:
        """Signed note for that size: `origin`, size, base64 root, blank line, `— <host> <sig>`."""
        size = self._size(tree_size)
        body = format_body(self.origin, size, self.root_hash(size))
        signature = sign_deterministic(self.trust.rekor_key, body)
        return format_note(body, self.origin_host, self.log_id[:4], signature)

    def inclusion(self, global_index: int, tree_size: int | None = None) -> dict[str, Any]:
        """Inclusion proof in Rekor v1 REST form (hex hashes, shard-local `logIndex`)."""
        entry = self.entry(global_index)
        size = self._size(tree_size)
        if entry.shard_index >= size:
            raise LabLogError(
                f"entry {global_index} (shard index {entry.shard_index}) is not in a tree of "
                f"size {size}"
            )
        return {
            "logIndex": entry.shard_index,
            "rootHash": self._tree.root(size).hex(),
            "treeSize": size,
            "hashes": [h.hex() for h in self._tree.inclusion_path(entry.shard_index, size)],
            "checkpoint": self.checkpoint(size),
        }

    def consistency(self, first: int, last: int) -> list[bytes]:
        """RFC 6962 consistency proof between two sizes of this shard."""
        size = self._size(last)
        if not 0 < first <= size:
            raise LabLogError(f"cannot prove consistency from size {first} to {size}")
        return self._tree.consistency_path(first, size)

    def rest_entry(self, global_index: int, tree_size: int | None = None) -> dict[str, Any]:
        """``{entryID: LogEntry}`` as `GET /api/v1/log/entries?logIndex=N` returns it (hex)."""
        entry = self.entry(global_index)
        return {
            entry.entry_id: {
                "body": _b64(entry.body),
                "integratedTime": entry.integrated_time,
                "logID": self.log_id.hex(),
                "logIndex": entry.global_index,
                "verification": {
                    "inclusionProof": self.inclusion(global_index, tree_size),
                    "signedEntryTimestamp": _b64(entry.set_signature),
                },
            }
        }

    def tlog_entry(self, global_index: int, tree_size: int | None = None) -> dict[str, Any]:
        """protobuf-JSON `TransparencyLogEntry` as a PEP 740 attestation embeds it (base64)."""
        entry = self.entry(global_index)
        proof = self.inclusion(global_index, tree_size)
        # Keys in the order PyPI serves them (sorted), which is also what sigstore re-serialises.
        return {
            "canonicalizedBody": _b64(entry.body),
            "inclusionPromise": {"signedEntryTimestamp": _b64(entry.set_signature)},
            "inclusionProof": {
                "checkpoint": {"envelope": proof["checkpoint"]},
                "hashes": [_b64(bytes.fromhex(h)) for h in proof["hashes"]],
                "logIndex": str(proof["logIndex"]),
                "rootHash": _b64(bytes.fromhex(proof["rootHash"])),
                "treeSize": str(proof["treeSize"]),
            },
            "integratedTime": str(entry.integrated_time),
            "kindVersion": {"kind": entry.kind, "version": entry.api_version},
            "logId": {"keyId": _b64(self.log_id)},
            "logIndex": str(entry.global_index),
        }

    # -- the world directory --------------------------------------------------------------------

    def log_info(self) -> dict[str, Any]:
        """`GET /api/v1/log` fields for this shard (hex root, signed tree head)."""
        return {
            "treeID": str(self.tree_id),
            "treeSize": self.size,
            "rootHash": self.root_hash().hex(),
            "signedTreeHead": self.checkpoint(),
        }

    def to_world(self, directory: Path, *, inactive_shards: Sequence[LabRekorLog] = ()) -> None:
        """Write rekor/log.json, rekor/entries.json and rekor/search.json under `directory`.

        This shard is the active one; `inactive_shards` are older, frozen shards of the same
        virtual log (their entries are served too, proven against their own final trees).
        """
        shards = [*inactive_shards, self]
        _check_shards(shards)
        rekor_dir = directory / "rekor"
        rekor_dir.mkdir(parents=True, exist_ok=True)
        log_json = {
            "treeID": self.tree_id,
            "shardOffset": self.shard_offset,
            "origin": self.origin,
            "treeSize": self.size,
            "rootHash": self.root_hash().hex(),
            "signedTreeHead": self.checkpoint(),
            "leaves": [leaf.hex() for leaf in self._leaves],
            "publicKey": self.trust.rekor_public_pem,
            "inactiveShards": [
                {
                    "treeID": s.tree_id,
                    "treeSize": s.size,
                    "rootHash": s.root_hash().hex(),
                    "signedTreeHead": s.checkpoint(),
                    "shardOffset": s.shard_offset,
                    "origin": s.origin,
                    "leaves": [leaf.hex() for leaf in s._leaves],
                }
                for s in inactive_shards
            ],
        }
        entries: dict[str, Any] = {}
        for shard in shards:
            for e in shard._entries:
                entries.update(shard.rest_entry(e.global_index))
        _write_json(rekor_dir / "log.json", log_json)
        _write_json(rekor_dir / "entries.json", entries)
        _write_json(rekor_dir / "search.json", search_index(e for s in shards for e in s._entries))


def search_index(entries: Iterable[LabLogEntry]) -> dict[str, list[str]]:
    """Rekor v1 `index/retrieve` keys -> UUIDs, in log order.

    Keys: ``sha256:<hex>`` for every in-toto subject digest (dsse) or artifact digest
    (hashedrekord), ``subject:<SAN lower-case>`` (rekor#2850, 2026-07) and, for e-mail SANs,
    ``email:<lower-case>``, the older Rekor key.
    """
    index: dict[str, list[str]] = {}

    def add(key: str, uuid: str) -> None:
        bucket = index.setdefault(key, [])
        if uuid not in bucket:
            bucket.append(uuid)

    for e in sorted(entries, key=lambda x: x.global_index):
        for digest in e.subject_digests:
            add(digest.lower(), e.uuid)
        if e.san:
            add(f"subject:{e.san.lower()}", e.uuid)
            if "@" in e.san and "://" not in e.san:
                add(f"email:{e.san.lower()}", e.uuid)
    return dict(sorted(index.items()))


def _check_shards(shards: Sequence[LabRekorLog]) -> None:
    seen_trees: set[int] = set()
    end = 0
    for shard in shards:
        if shard.tree_id in seen_trees:
            raise LabLogError(f"tree ID {shard.tree_id} is used by two shards")
        seen_trees.add(shard.tree_id)
        if shard.shard_offset < end:
            raise LabLogError(
                f"shard {shard.tree_id} starts at global index {shard.shard_offset}, "
                f"inside the previous shard (which ends at {end - 1})"
            )
        end = shard.shard_offset + shard.size
        if shard.trust.rekor_log_id != shards[-1].trust.rekor_log_id:
            # Real Rekor rotated keys with shards; the world format has one publicKey, so refuse.
            raise LabLogError(f"shard {shard.tree_id} is signed by a different log key")


def _write_json(path: Path, value: Mapping[str, Any] | Sequence[Any]) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
