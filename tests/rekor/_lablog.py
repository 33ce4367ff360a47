"""A minimal in-test Rekor log: real keys, real RFC 6962 trees, real signatures.

Kept inside tests/ on purpose (the full lab log lives in forensics_lab); it only needs to produce
entries in both representations so the verifier and client can be exercised end to end.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from forensics.primitives import LogKey, merkle, set_payload
from forensics_lab import merkle_tree
from forensics_lab.notes import format_body, format_note


def hashedrekord_body(seed: int) -> bytes:
    digest = hashlib.sha256(f"artifact {seed}".encode()).hexdigest()
    doc = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest}},
            "signature": {"content": base64.b64encode(b"sig%d" % seed).decode(), "publicKey": {}},
        },
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def v2_body(seed: int) -> bytes:
    digest = base64.b64encode(hashlib.sha256(b"%d" % seed).digest()).decode()
    doc = {
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": {
            "hashedRekordV002": {
                "data": {"algorithm": "SHA2_256", "digest": digest},
                "signature": {"content": base64.b64encode(b"s").decode(), "verifier": {}},
            }
        },
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class MiniLog:
    """One shard of a Rekor v1-style log (ECDSA P-256) or a Rekor v2 log (Ed25519)."""

    tree_id: int = 1193050959916656506
    shard_offset: int = 0
    host: str = "rekor.lab.test"
    v2: bool = False
    bodies: list[bytes] = field(default_factory=list)
    times: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
        if self.v2:
            self.private = ed25519.Ed25519PrivateKey.generate()
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
        pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_pem = pem
        self.key = LogKey.from_public_key(pem, f"https://{self.host}")

    @property
    def origin(self) -> str:
        return self.host if self.v2 else f"{self.host} - {self.tree_id}"

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(data)
        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))

    def append(self, body: bytes, integrated_time: int = 1733354041) -> int:
        self.bodies.append(body)
        self.times.append(integrated_time)
        return len(self.bodies) - 1

    def leaves(self, size: int | None = None) -> list[bytes]:
        return [merkle.leaf_hash(b) for b in self.bodies[: size or len(self.bodies)]]

    def root(self, size: int | None = None) -> bytes:
        return merkle_tree.root_from_leaves(self.leaves(size))

    def checkpoint(self, size: int | None = None) -> str:
        size = size or len(self.bodies)
        body = format_body(self.origin, size, self.root(size))
        return format_note(body, self.host, self.key.key_hint, self.sign(body))

    def uuid(self, i: int) -> str:
        return merkle.leaf_hash(self.bodies[i]).hex()

    def entry_id(self, i: int) -> str:
        return f"{self.tree_id:016x}{self.uuid(i)}"

    def rest(self, i: int) -> dict[str, Any]:
        """REST LogEntry {entryID: {...}} for shard index i."""
        g = i + self.shard_offset
        body_b64 = base64.b64encode(self.bodies[i]).decode()
        sig = self.sign(set_payload(body_b64, self.times[i], self.key.log_id.hex(), g))
        leaves = self.leaves()
        value = {
            "body": body_b64,
            "integratedTime": self.times[i],
            "logID": self.key.log_id.hex(),
            "logIndex": g,
            "verification": {
                "inclusionProof": {
                    "logIndex": i,
                    "rootHash": self.root().hex(),
                    "treeSize": len(leaves),
                    "hashes": [h.hex() for h in merkle_tree.inclusion_path(i, leaves)],
                    "checkpoint": self.checkpoint(),
                },
                "signedEntryTimestamp": base64.b64encode(sig).decode(),
            },
        }
        return {self.entry_id(i): value}

    def bundle(self, i: int) -> dict[str, Any]:
        """Protobuf-JSON TransparencyLogEntry (base64, decimal strings)."""
        leaves = self.leaves()
        proof = {
            "logIndex": str(i),
            "rootHash": base64.b64encode(self.root()).decode(),
            "treeSize": str(len(leaves)),
            "hashes": [base64.b64encode(h).decode() for h in merkle_tree.inclusion_path(i, leaves)],
            "checkpoint": {"envelope": self.checkpoint()},
        }
        doc = json.loads(self.bodies[i])
        out: dict[str, Any] = {
            "logIndex": str(i + self.shard_offset),
            "logId": {"keyId": base64.b64encode(self.key.checkpoint_key_id).decode()},
            "kindVersion": {"kind": doc["kind"], "version": doc["apiVersion"]},
            "inclusionProof": proof,
            "canonicalizedBody": base64.b64encode(self.bodies[i]).decode(),
        }
        if not self.v2:
            rest = self.rest(i)[self.entry_id(i)]
            out["integratedTime"] = str(self.times[i])
            out["inclusionPromise"] = {
                "signedEntryTimestamp": rest["verification"]["signedEntryTimestamp"]
            }
        return out

    def log_info(self, inactive: list[MiniLog] | None = None) -> dict[str, Any]:
        def head(log: MiniLog) -> dict[str, Any]:
            return {
                "rootHash": log.root().hex(),
                "treeSize": len(log.bodies),
                "signedTreeHead": log.checkpoint(),
                "treeID": str(log.tree_id),
            }

        return {**head(self), "inactiveShards": [head(s) for s in inactive or []]}
