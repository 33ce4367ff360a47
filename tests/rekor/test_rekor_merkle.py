"""RFC 6962 proofs: seeded random round trips and tampering (forensics.primitives).

Randomised with a fixed-seed `random.Random` rather than hypothesis (not a declared dependency):
each seed is a distinct, reproducible case.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from forensics.primitives import merkle
from forensics_lab import merkle_tree


def _leaves(n: int, rng: random.Random) -> list[bytes]:
    return [merkle.leaf_hash(rng.randbytes(rng.randint(0, 40))) for _ in range(n)]


@pytest.mark.parametrize("seed", range(40))
def test_inclusion_round_trip_and_tampering(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 300)
    leaves = _leaves(n, rng)
    root = merkle_tree.root_from_leaves(leaves)
    i = rng.randrange(n)
    path = merkle_tree.inclusion_path(i, leaves)
    merkle.verify_inclusion(i, n, leaves[i], path, root)
    if path:
        k = rng.randrange(len(path))
        bad = [*path]
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(i, n, leaves[i], bad, root)
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(i, n, leaves[i], path[:-1], root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(i, n, hashlib.sha256(b"other").digest(), path, root)
    if n > 1:
        j = (i + 1) % n
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(j, n, leaves[i], path, root)


@pytest.mark.parametrize("seed", range(40))
def test_consistency_round_trip_and_tampering(seed: int) -> None:
    rng = random.Random(1000 + seed)
    n = rng.randint(2, 300)
    m = rng.randint(1, n)
    leaves = _leaves(n, rng)
    old, new = merkle_tree.root_from_leaves(leaves[:m]), merkle_tree.root_from_leaves(leaves)
    proof = merkle_tree.consistency_path(m, leaves)
    merkle.verify_consistency(m, n, old, new, proof)
    if proof:
        k = rng.randrange(len(proof))
        bad = [*proof]
        bad[k] = bytes([bad[k][0] ^ 0x80]) + bad[k][1:]
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(m, n, old, new, bad)
    # A forked history: the same size but one earlier leaf rewritten.
    if m < n:
        forked = [*leaves]
        forked[rng.randrange(m)] = merkle.leaf_hash(b"rewritten")
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(m, n, merkle_tree.root_from_leaves(forked[:m]), new, proof)


def test_known_answer_rfc6962_empty_and_single() -> None:
    assert merkle_tree.root_from_leaves([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    leaf = merkle.leaf_hash(b"")
    assert leaf.hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    merkle.verify_inclusion(0, 1, leaf, [], leaf)
