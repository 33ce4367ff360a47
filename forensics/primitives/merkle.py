"""RFC 6962 Merkle hashing and proof verification (inclusion and consistency).

Written by hand because no maintained PyPI library exposes RFC 6962 proof verification that
reports *which* step failed (needed for findings); tree building (proof generation) is lab-only
and lives in `forensics_lab.merkle_tree`.
sigstore-python verifies inclusion internally (`sigstore._internal.merkle`) but that module is
private and only answers pass/fail. The algorithms follow RFC 9162 §2.1 (the errata-free
restatement of RFC 6962).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


class ProofError(ValueError):
    """A Merkle proof does not verify; the message says which check failed."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: sha256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: sha256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """Recompute the root from a leaf hash and its audit path (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """Raise `ProofError` unless `leaf` is at `index` of the tree with `root`."""
    computed = root_from_inclusion(index, size, leaf, path)
    if computed != root:
        raise ProofError(
            f"inclusion proof does not lead to the root hash: computed {computed.hex()}, "
            f"expected {root.hex()}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise `ProofError` unless tree `old_root` is a prefix of `new_root` (RFC 9162 §2.1.4.2)."""
    if old_size > new_size:
        raise ProofError(f"old tree size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("equal tree sizes with different root hashes")
        return
    if old_size == 0:
        if proof:
            raise ProofError("consistency proof from an empty tree must be empty")
        return
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        raise ProofError("consistency proof is empty")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != old_root:
        raise ProofError("consistency proof does not reproduce the old root hash")
    if sr != new_root:
        raise ProofError("consistency proof does not reproduce the new root hash")
