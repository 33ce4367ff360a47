"""A tiny hand-written lab world for exercising the loopback servers and the collector.

It follows the world directory format of docs/architecture.md but is written without the lab
builder, so server and collector tests do not depend on it. Nothing in it is cryptographically
valid: provenance objects are placeholders, the Rekor log's leaves are hashes of made-up bodies
(the Merkle tree, inclusion proofs and entry IDs are, however, computed correctly).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from forensics.primitives import leaf_hash
from forensics_lab.merkle_tree import inclusion_path, root_from_leaves

TREE_ID = 4242
SHARD_OFFSET = 1000
INACTIVE_TREE_ID = 17
HOSTILE_FILENAME = 'demo_pkg-1.0.1-"><img src=x onerror=alert(1)>.tar.gz'
HOSTILE_SUMMARY = "<script>alert('summary')</script> & <b>bold</b>"
HOSTILE_YANK = "<a href=javascript:alert(1)>click</a>"
SUBJECT = "https://github.com/demo/demo-pkg/.github/workflows/release.yml@refs/tags/v1.0.0"


def _digests(data: bytes) -> dict[str, str]:
    return {
        "blake2b_256": hashlib.blake2b(data, digest_size=32).hexdigest(),
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def write_tiny_world(root: Path, *, hostile: bool = False) -> Path:
    """Write the world into `root` and return it.

    Releases of project `Demo_Pkg` (normalized `demo-pkg`):
    0.9 (no files), 1.0.0 (sdist + wheel, with provenance), 1.1.0 (sdist, no provenance,
    yanked), 1.2.0 (deleted 2024-03-05), 2.0.0rc1 (pre-release); with `hostile`, 1.0.1 whose
    filename and yank reason carry HTML, and an HTML summary.
    """
    plan: list[tuple[str, str | None, bool, str | None, list[tuple[str, str, str, bool]]]] = [
        ("0.9", None, False, None, []),
        (
            "1.0.0",
            None,
            False,
            None,
            [
                (
                    "demo_pkg-1.0.0-py3-none-any.whl",
                    "bdist_wheel",
                    "2024-01-01T10:00:00.123456Z",
                    True,
                ),
                ("demo_pkg-1.0.0.tar.gz", "sdist", "2024-01-01T10:00:03.500000Z", True),
            ],
        ),
        (
            "1.1.0",
            None,
            True,
            "broken build",
            [("demo_pkg-1.1.0.tar.gz", "sdist", "2024-02-01T12:00:00.000001Z", False)],
        ),
        (
            "1.2.0",
            "2024-03-05T00:00:00Z",
            False,
            None,
            [("demo_pkg-1.2.0.tar.gz", "sdist", "2024-03-01T08:30:00.250000Z", True)],
        ),
        (
            "2.0.0rc1",
            None,
            False,
            None,
            [("demo_pkg-2.0.0rc1.tar.gz", "sdist", "2024-04-01T09:00:00.000000Z", True)],
        ),
    ]
    if hostile:
        plan.append(
            (
                "1.0.1",
                None,
                True,
                HOSTILE_YANK,
                [(HOSTILE_FILENAME, "sdist", "2024-01-15T00:00:00Z", True)],
            )
        )
    releases: list[dict[str, Any]] = []
    for version, deleted_at, yanked, reason, files in plan:
        entries = []
        for filename, kind, uploaded, has_provenance in files:
            data = f"distribution bytes of {filename}\n".encode() * 20
            _write(root / "files" / filename, data)
            provenance = None
            if has_provenance:
                provenance = f"provenance/{filename}.json"
                body = {
                    "version": 1,
                    "attestation_bundles": [
                        {
                            "publisher": {
                                "kind": "GitHub",
                                "repository": "demo/demo-pkg",
                                "workflow": "release.yml",
                                "environment": None,
                            },
                            "attestations": [],
                        }
                    ],
                }
                _write(root / provenance, json.dumps(body))
            entries.append(
                {
                    "filename": filename,
                    "packagetype": kind,
                    "python_version": "source" if kind == "sdist" else "py3",
                    "requires_python": ">=3.8",
                    "size": len(data),
                    "upload_time": uploaded,
                    "digests": _digests(data),
                    "provenance": provenance,
                }
            )
        releases.append(
            {
                "version": version,
                "deleted_at": deleted_at,
                "yanked": yanked,
                "yanked_reason": reason,
                "files": entries,
            }
        )
    manifest: dict[str, Any] = {
        "schema": "forensics_lab.world/v1",
        "scenario": "tiny",
        "seed": 0,
        "project": "demo-pkg",
        "display_name": "Demo_Pkg",
        "repository": "demo/demo-pkg",
        "simulated": ["everything: a hand-written test world"],
        "releases": releases,
    }
    if hostile:
        manifest["info"] = {"summary": HOSTILE_SUMMARY}
    _write(root / "world.json", json.dumps(manifest, indent=1))
    _write_rekor(root, releases[1]["files"][1]["digests"]["sha256"])
    _write_github(root)
    return root


def _write_rekor(root: Path, sdist_sha256: str) -> None:
    bodies = [json.dumps({"kind": "dsse", "n": i}, sort_keys=True).encode() for i in range(5)]
    leaves = [leaf_hash(b) for b in bodies]
    root_hash = root_from_leaves(leaves)
    sth = (
        f"lab.rekor - {TREE_ID}\n{len(leaves)}\n{base64.b64encode(root_hash).decode()}\n\n— lab x\n"
    )
    entries = {}
    uuids = []
    for i, (body, leaf) in enumerate(zip(bodies, leaves, strict=True)):
        uuid = leaf.hex()
        uuids.append(uuid)
        entries[f"{TREE_ID:016x}{uuid}"] = {
            "body": base64.b64encode(body).decode(),
            "integratedTime": 1704103200 + i,
            "logID": "ab" * 32,
            "logIndex": SHARD_OFFSET + i,
            "verification": {
                "inclusionProof": {
                    "logIndex": i,
                    "rootHash": root_hash.hex(),
                    "treeSize": len(leaves),
                    "hashes": [h.hex() for h in inclusion_path(i, leaves)],
                    "checkpoint": sth,
                },
                "signedEntryTimestamp": base64.b64encode(b"not a signature").decode(),
            },
        }
    log = {
        "treeID": TREE_ID,
        "shardOffset": SHARD_OFFSET,
        "origin": f"lab.rekor - {TREE_ID}",
        "treeSize": len(leaves),
        "rootHash": root_hash.hex(),
        "signedTreeHead": sth,
        "leaves": [leaf.hex() for leaf in leaves],
        "publicKey": "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",
        "inactiveShards": [
            {
                "treeID": INACTIVE_TREE_ID,
                "treeSize": SHARD_OFFSET,
                "rootHash": "cd" * 32,
                "signedTreeHead": f"lab.rekor - {INACTIVE_TREE_ID}\n{SHARD_OFFSET}\nzc3N\n",
            }
        ],
    }
    search = {
        f"sha256:{sdist_sha256}": [uuids[0], uuids[1]],
        f"subject:{SUBJECT.lower()}": [uuids[1], uuids[2]],
        "email:maintainer@example.org": [uuids[3]],
    }
    _write(root / "rekor" / "log.json", json.dumps(log, indent=1))
    _write(root / "rekor" / "entries.json", json.dumps(entries, indent=1))
    _write(root / "rekor" / "search.json", json.dumps(search, indent=1))


def _write_github(root: Path) -> None:
    commits = [
        {
            "sha": "a" * 40,
            "author": "Dev",
            "author_email": "dev@example.org",
            "committer": "Dev",
            "message": "release 1.0.0",
            "parents": ["b" * 40],
            "files": ["pyproject.toml"],
            "date": "2024-01-01T09:55:00Z",
        },
        {
            "sha": "b" * 40,
            "author": "Dev",
            "author_email": "dev@example.org",
            "committer": "Dev",
            "message": "initial",
            "parents": [],
            "files": ["README.md"],
            "date": "2023-12-31T09:00:00Z",
        },
    ]
    tags = [{"name": "v1.0.0", "commit": "a" * 40}]
    runs = [
        {
            "id": 101,
            "run_attempt": 1,
            "event": "release",
            "actor": "dev",
            "head_branch": "v1.0.0",
            "head_sha": "a" * 40,
            "path": ".github/workflows/release.yml",
            "status": "completed",
            "conclusion": "success",
            "created_at": "2024-01-01T09:58:00Z",
        },
        {
            "id": 102,
            "run_attempt": 2,
            "event": "pull_request_target",
            "actor": "attacker",
            "head_branch": "main",
            "head_sha": "b" * 40,
            "path": ".github/workflows/ci.yml",
            "status": "completed",
            "conclusion": "failure",
            "created_at": "2024-01-02T00:00:00Z",
        },
    ]
    _write(root / "github" / "commits.json", json.dumps(commits, indent=1))
    _write(root / "github" / "tags.json", json.dumps(tags, indent=1))
    _write(root / "github" / "runs.json", json.dumps(runs, indent=1))
