"""Sealed cases: the manifest that commits to every row, blob and `case.json` of a case.

The case digest is the root of an RFC 6962 Merkle tree (the hashing of
`forensics.primitives.merkle`, the same code that checks transparency-log proofs) over one leaf per
item, in a fixed order:

1. `case.json`, as its parsed JSON value;
2. each row of `collections`, by id;
3. each row of `responses`, by id (every column: URL, status, headers, body sha256, retrieval
   time, ...);
4. each blob file under `blobs/`, by name (sha256 and size; the bytes are checked separately).

Each leaf is the RFC 8785 (canonical JSON) encoding of ``{"kind": ..., <fields>}``, so the digest
does not depend on SQLite's page layout, on JSON whitespace in `case.json` or on file order.

`manifest.json` stores the digest together with the canonical content it was computed from (a
copy of every row and of `case.json`): with it `forensics case verify` names exactly which row,
field or blob changed, not only that something did. The manifest is evidence about the evidence,
not a security boundary by itself (whoever can edit the rows can rewrite the manifest): the
digest printed in every report, and a signature over it (`forensics case seal`, `seal.py`), are
what let another team check that they hold the case the report was made from.

Anything else in the case directory (`seal.json`, a `cache/` folder of derived data such as
verdict caches, notes) is outside the seal on purpose: it is not evidence and may change without
changing what the case proves.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import rfc8785

from forensics.primitives.merkle import leaf_hash, node_hash

SCHEMA = "forensics.case-manifest/v1"
MANIFEST_FILE = "manifest.json"
TREE = (
    "RFC 6962 SHA-256 Merkle tree; leaves are RFC 8785 JSON of case.json, collections rows by "
    "id, responses rows by id, blobs by sha256"
)

#: case.json fields a running collection legitimately rewrites (where each source lives).
#: A change anywhere else while a collection is open is still a tamper.
COLLECTION_WRITES = ("sources",)


_SAFE_INT = 2**53 - 1  # RFC 8785 (I-JSON) numbers are IEEE doubles


def canonical_value(value: object) -> object:
    """Any SQLite or JSON value as a value RFC 8785 can encode, without losing information.

    A hostile index or case.json may hold what canonical JSON cannot: bytes, integers beyond
    2**53, NaN or infinities, strings with lone surrogates. Each becomes a tagged object, so the
    digest still commits to it and `case verify` can still show it.
    """
    if value is None or isinstance(value, bool) or (type(value) is str and value.isascii()):
        return value  # the common case first: ASCII text needs no check
    if isinstance(value, int):
        return value if -_SAFE_INT <= value <= _SAFE_INT else {"int": str(value)}
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else {"float": repr(value)}
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "surrogatepass")
            return {"utf8_surrogates": base64.b64encode(raw).decode()}
        return value
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, list | tuple):
        return [canonical_value(v) for v in value]
    if isinstance(value, dict):
        return {_key(k): canonical_value(v) for k, v in value.items()}
    return {"repr": repr(value)}


def _key(key: object) -> str:
    safe = canonical_value(str(key))
    return safe if isinstance(safe, str) else json.dumps(safe, sort_keys=True)


@dataclass
class CaseContent:
    """What a case holds, in canonical form: the input of the case digest."""

    case_json: Any = None
    """The parsed case.json (None when there is none)."""
    collections: dict[int, dict[str, Any]] = field(default_factory=dict)
    responses: dict[int, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[str, int] = field(default_factory=dict)
    """Blob files present: sha256 name -> size in bytes."""

    def leaves(self) -> list[bytes]:
        """The canonical leaf encodings, in digest order."""
        out = [_encode({"kind": "case.json", "content": self.case_json})]
        out += [
            _encode({"kind": "collection", **self.collections[i]}) for i in sorted(self.collections)
        ]
        out += [_encode({"kind": "response", **self.responses[i]}) for i in sorted(self.responses)]
        out += [
            _encode({"kind": "blob", "sha256": s, "size": self.blobs[s]})
            for s in sorted(self.blobs)
        ]
        return out

    def digest(self) -> str:
        """The case digest: hex RFC 6962 root over `leaves()`."""
        return _root(self.leaves())

    def to_manifest(self) -> dict[str, Any]:
        """The manifest.json document committing to this content."""
        leaves = self.leaves()
        return {
            "schema": SCHEMA,
            "tree": TREE,
            "digest": _root(leaves),
            "leaves": len(leaves),
            "case_json": self.case_json,
            "collections": [self.collections[i] for i in sorted(self.collections)],
            "responses": [self.responses[i] for i in sorted(self.responses)],
            "blobs": dict(sorted(self.blobs.items())),
        }

    @classmethod
    def from_manifest(cls, doc: Mapping[str, Any]) -> CaseContent:
        """Read a manifest document back (ValueError names what is malformed)."""
        if doc.get("schema") != SCHEMA:
            raise ValueError(f"schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
        out = cls(case_json=doc.get("case_json"))
        for table in ("collections", "responses"):
            rows = doc.get(table)
            if not isinstance(rows, list):
                raise ValueError(f"{table!r} is not a list")
            target = out.collections if table == "collections" else out.responses
            for row in rows:
                if not isinstance(row, dict) or not isinstance(row.get("id"), int):
                    raise ValueError(f"a {table!r} entry has no integer id: {row!r:.80}")
                target[row["id"]] = row
        blobs = doc.get("blobs")
        if not isinstance(blobs, dict) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in blobs.items()
        ):
            raise ValueError("'blobs' is not a mapping of sha256 to size")
        out.blobs = dict(blobs)
        if not isinstance(doc.get("digest"), str):
            raise ValueError("'digest' is missing")
        return out


def _root(leaves: list[bytes]) -> str:
    """Hex RFC 6962 Merkle tree hash (MTH, RFC 9162 §2.1.1) of the leaf encodings."""

    # Leaf and node hashing are the shared primitives' (the log proofs use them too); only the
    # recursion of the definition is spelled out, because building a tree is not a shared
    # primitive (the primitives verify proofs; the lab builds trees).
    def mth(hashes: list[bytes]) -> bytes:
        if len(hashes) == 1:
            return hashes[0]
        k = 1
        while k << 1 < len(hashes):  # the largest power of two smaller than n
            k <<= 1
        return node_hash(mth(hashes[:k]), mth(hashes[k:]))

    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    return mth([leaf_hash(leaf) for leaf in leaves]).hex()


def _encode(obj: Mapping[str, Any]) -> bytes:
    """RFC 8785 encoding of one leaf object.

    Almost every leaf is a flat row (ASCII column names; text, safe integers or null), and for
    those the standard library's C encoder with sorted keys, no whitespace and no ASCII escaping
    writes exactly the RFC 8785 bytes: the same escapes (`\\"`, `\\\\`, `\\b \\f \\n \\r \\t`,
    other controls as lowercase `\\u00xx`; `rfc8785` took them from the same reference
    implementation), the same integer text, and for ASCII keys code-point order is UTF-16
    order. It is about five times faster than the pure-Python `rfc8785`, which dominated sealing
    and checking a case of 40,000 rows. Anything else (floats, nested values, non-ASCII keys,
    integers beyond 2**53, lone surrogates) goes through `rfc8785`. tests/test_case_seal.py
    checks the two agree on arbitrary rows.
    """
    if _flat(obj):
        try:
            text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: canonical_value tags it
            pass
    return bytes(rfc8785.dumps(cast(Any, canonical_value(dict(obj)))))


def _flat(obj: Mapping[str, Any]) -> bool:
    for key, value in obj.items():
        if type(key) is not str or not key.isascii():
            return False
        kind = type(value)
        if kind is int:
            if not -_SAFE_INT <= value <= _SAFE_INT:
                return False
        elif not (kind is str or value is None or kind is bool):
            return False
    return True


@dataclass(frozen=True)
class Change:
    """One difference between the sealed case and the case as it is now."""

    kind: str
    """`row-added`, `row-edited`, `row-deleted`, `blob-altered`, `blob-missing`, `blob-added`,
    `case-json-changed`, `case-json-missing`, `stray-file`, `incomplete`, `uncommitted`,
    `manifest-missing`, `manifest-damaged`, `index-damaged`."""
    subject: str
    detail: str = ""

    @property
    def tamper(self) -> bool:
        """False for the traces of an unfinished collection (`incomplete`, `uncommitted`)."""
        return self.kind not in ("incomplete", "uncommitted", "manifest-missing", "partial")

    def __str__(self) -> str:
        """One line: `KIND subject: detail`."""
        head = f"{self.kind.upper():18} {self.subject}"
        return f"{head}: {self.detail}" if self.detail else head


def _short(value: object, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row_label(table: str, row: Mapping[str, Any]) -> str:
    if table == "responses":
        return (
            f"responses row {row.get('id')} ({row.get('source')} {row.get('method')} "
            f"{row.get('url')})"
        )
    return f"collections row {row.get('id')} ({_short(row.get('note', ''), 60)})"


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """`field: old -> new` for every differing key (keys sorted)."""
    out = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            out.append(f"{key} removed (was {_short(old[key])})")
        elif key not in old:
            out.append(f"{key} added ({_short(new[key])})")
        elif old[key] != new[key]:
            out.append(f"{key} {_short(old[key])} -> {_short(new[key])}")
    return out


def json_changes(old: object, new: object, path: str = "") -> list[tuple[str, str]]:
    """(path, description) of every leaf difference between two JSON values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, str]] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in new:
                out.append((sub, f"removed (was {_short(old[key])})"))
            elif key not in old:
                out.append((sub, f"added ({_short(new[key])})"))
            else:
                out += json_changes(old[key], new[key], sub)
        return out
    if old != new:
        return [(path or "(whole file)", f"{_short(old)} -> {_short(new)}")]
    return []


def compare(
    sealed: CaseContent,
    current: CaseContent,
    *,
    unfinished: Iterable[int],
    altered: Mapping[str, str],
) -> list[Change]:
    """Every difference between the sealed content and the current one.

    `unfinished` are the ids of collections the index says are still running: their rows and
    blobs are `uncommitted` rather than added (a killed collection is incomplete, not tampered
    with), and so are changes to the case.json fields a collection writes. `altered` maps blob
    names whose bytes no longer hash to their name to a description (found by the caller).
    """
    open_ids = set(unfinished)
    changes: list[Change] = []

    # case.json
    if current.case_json is None and sealed.case_json is not None:
        changes.append(Change("case-json-missing", "case.json", "deleted since the seal"))
    else:
        for path, what in json_changes(sealed.case_json, current.case_json):
            top = path.split(".", 1)[0]
            kind = "uncommitted" if open_ids and top in COLLECTION_WRITES else "case-json-changed"
            changes.append(Change(kind, f"case.json field {path}", what))

    # rows
    for table, old_rows, new_rows in (
        ("collections", sealed.collections, current.collections),
        ("responses", sealed.responses, current.responses),
    ):
        for rid in sorted(set(old_rows) | set(new_rows)):
            old, new = old_rows.get(rid), new_rows.get(rid)
            if old is not None and new is not None:
                if old == new:
                    continue
                diffs = field_changes(old, new)
                if (
                    table == "collections"
                    and rid in open_ids
                    and diffs == [f"finished_at {_short(old.get('finished_at'))} -> null"]
                ):
                    continue  # stopped between writing the manifest and marking it finished
                changes.append(Change("row-edited", _row_label(table, old), "; ".join(diffs)))
            elif old is not None:
                changes.append(Change("row-deleted", _row_label(table, old), "not in the index"))
            elif new is not None:
                owner = rid if table == "collections" else new.get("collection_id")
                if owner in open_ids:
                    if table == "responses":
                        changes.append(Change("uncommitted", _row_label(table, new)))
                    continue
                changes.append(Change("row-added", _row_label(table, new), "not in the manifest"))

    # blobs
    uncommitted_refs = {
        r.get(k)
        for r in current.responses.values()
        if r.get("collection_id") in open_ids
        for k in ("sha256", "request_sha256")
    }
    for name in sorted(set(sealed.blobs) | set(current.blobs)):
        if name in altered and name in sealed.blobs:
            changes.append(Change("blob-altered", f"blob {name}", altered[name]))
        elif name not in current.blobs:
            changes.append(Change("blob-missing", f"blob {name}", "deleted since the seal"))
        elif name not in sealed.blobs:
            if open_ids and (name in uncommitted_refs or not _referenced(name, current)):
                changes.append(Change("uncommitted", f"blob {name}"))
            else:
                extra = f"; {altered[name]}" if name in altered else ""
                changes.append(Change("blob-added", f"blob {name}", f"not in the manifest{extra}"))
        elif sealed.blobs[name] != current.blobs[name]:  # pragma: no cover - altered covers it
            changes.append(Change("blob-altered", f"blob {name}", "size changed"))
    uncommitted = any(c.kind == "uncommitted" for c in changes)
    markers = []
    for cid in sorted(open_ids):
        row = current.collections.get(cid, {})
        held = sealed.collections.get(cid)
        if held is not None and held.get("finished_at") is None and not uncommitted:
            # Sealed while still open (`EvidenceStore.checkpoint_collection`): every answer it
            # holds is committed; some requests had no final answer yet.
            markers.append(
                Change(
                    "partial",
                    f"collection {cid}",
                    f"started {row.get('started_at')}, sealed with requests still unanswered: "
                    "re-run the same collection command to complete it",
                )
            )
        else:
            markers.append(
                Change(
                    "incomplete",
                    f"collection {cid}",
                    f"started {row.get('started_at')} and never finished: "
                    "re-run the same collection command to resume it",
                )
            )
    return markers + changes


def _referenced(name: str, content: CaseContent) -> bool:
    return any(
        r.get("sha256") == name or r.get("request_sha256") == name
        for r in content.responses.values()
    )
