"""RFC 6962 tree building for the lab log: roots, audit paths and consistency proofs.

Only the lab *makes* proofs; the product only verifies them (`forensics.primitives.merkle`), so
tree building lives here. Written by hand: no maintained library generates RFC 6962 proofs with
cached subtree roots (RFC 9162 §2.1 algorithms).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from forensics.primitives import node_hash


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
