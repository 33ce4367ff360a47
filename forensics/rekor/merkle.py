"""RFC 6962 Merkle tree hashing, inclusion and consistency proofs.

Written by hand because no maintained PyPI library exposes RFC 6962 proof *generation* (needed by
the lab log) together with verification that reports *which* step failed (needed for findings).
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


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


class MerkleTree:
    """An append-only RFC 6962 tree that caches the roots of complete power-of-two subtrees.

    Those subtrees never change once full, so after the cache is warm a root, an audit path or a
    consistency proof of any tree size costs O(log^2 n) instead of O(n): the lab log computes a
    proof for every entry of logs with thousands of leaves.
    """

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        """Start from leaf hashes (not raw data)."""
        self._leaves: list[bytes] = list(leaves)
        self._cache: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        """Number of leaves."""
        return len(self._leaves)

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; returns its index."""
        self._leaves.append(leaf)
        return len(self._leaves) - 1

    def _size(self, size: int | None) -> int:
        n = len(self._leaves) if size is None else size
        if not 0 <= n <= len(self._leaves):
            raise ValueError(f"tree size {n} outside 0..{len(self._leaves)}")
        return n

    def _root(self, start: int, n: int) -> bytes:
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return self._leaves[start]
        full = n & (n - 1) == 0
        if full and (start, n) in self._cache:
            return self._cache[(start, n)]
        k = _split(n)
        value = node_hash(self._root(start, k), self._root(start + k, n - k))
        if full:
            self._cache[(start, n)] = value
        return value

    def root(self, size: int | None = None) -> bytes:
        """Merkle tree hash of the first `size` leaves (default: all)."""
        return self._root(0, self._size(size))

    def inclusion_path(self, index: int, size: int | None = None) -> list[bytes]:
        """Audit path (bottom-up) for leaf `index` in the tree of the first `size` leaves."""
        n = self._size(size)
        if not 0 <= index < n:
            raise ValueError(f"leaf index {index} outside a tree of size {n}")
        path: list[bytes] = []
        start = 0
        while n > 1:
            k = _split(n)
            if index < k:
                path.append(self._root(start + k, n - k))
                n = k
            else:
                path.append(self._root(start, k))
                start, index, n = start + k, index - k, n - k
        return path[::-1]

    def consistency_path(self, old_size: int, size: int | None = None) -> list[bytes]:
        """Consistency proof from the tree of `old_size` leaves to the tree of `size` leaves."""
        n = self._size(size)
        if not 0 < old_size <= n:
            raise ValueError(f"cannot prove consistency from size {old_size} to {n}")
        return self._subproof(old_size, 0, n, True)

    def _subproof(self, m: int, start: int, n: int, complete: bool) -> list[bytes]:
        if m == n:
            return [] if complete else [self._root(start, n)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, k, complete), self._root(start + k, n - k)]
        return [*self._subproof(m - k, start + k, n - k, False), self._root(start, k)]


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash of a list of *leaf hashes*."""
    return MerkleTree(leaves).root()


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Audit path (bottom-up) for leaf `index` in the tree of `leaves` (RFC 6962 PATH)."""
    return MerkleTree(leaves).inclusion_path(index)


def consistency_path(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Consistency proof from the tree of size `old_size` to the tree of `leaves`."""
    return MerkleTree(leaves).consistency_path(old_size)


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
