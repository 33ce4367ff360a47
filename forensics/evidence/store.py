"""Case directory: every raw response stored once by sha256, indexed in SQLite.

Layout of a case directory::

    case.json            project, source base URLs, PEP 740 support as collected (CaseMeta)
    index.sqlite         responses(url, method, request_sha256, status, headers, sha256, ...)
    blobs/ab/abcdef...   the raw bytes, named by their sha256

Blobs are written to a temporary file in the same directory and renamed into place, so a crash
never leaves a half-written blob under its final name; the index row is committed only after the
blob exists. A collection is a row in `collections`; an unfinished one is resumed by skipping the
requests it already answered.

A finished collection seals the case: `manifest.json` (see `manifest.py`) commits to every row,
blob and case.json, and its root is the *case digest* printed in every report. `check()` compares
the case with its manifest and names what changed; a collection that was killed leaves the case
`incomplete` (never silently "intact"), and resuming it seals it.

Reading rules (documented in docs/architecture.md, "The evidence store"):

* `latest(url)` returns the newest *definitive* answer to a request: a transient failure (no
  answer at all, 403, 408, 425, 429, 5xx) never hides an earlier definitive one (2xx, 3xx,
  404, 410, other 4xx). Only when no definitive answer exists is the newest failure returned,
  so the analysis still reports the outage.
* A store view made by `at(as_of)` ignores every response retrieved after `as_of`: the analysis
  reads only evidence it could have had at that time.
* A damaged store (malformed SQLite page, garbage in a row, a truncated or missing blob) raises
  `EvidenceError`/`CaseIntegrityError` naming the row or blob, never a bare sqlite3/ValueError.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from forensics.errors import CaseIntegrityError, EvidenceError
from forensics.evidence.manifest import MANIFEST_FILE, CaseContent, Change, canonical_value, compare
from forensics.models import EvidenceRef, isoformat, parse_time, utc

# Only headers that carry meaning for the analysis are kept: they are part of the evidence,
# and cookies or tracing ids would make identical collections differ.
KEPT_HEADERS = frozenset(
    {
        "content-type",
        "etag",
        "last-modified",
        "location",
        "retry-after",
        "x-pypi-last-serial",
        "cache-control",
        "date",
    }
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id),
    source TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    retrieved_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_key ON responses(method, url, request_sha256);
"""

_NO_BODY = hashlib.sha256(b"").hexdigest()

#: Status recorded for a request that got no HTTP answer at all (connection refused, timeout
#: after retries); the body holds the error. Offline re-analysis then meets the same outage.
NO_ANSWER = 0


#: Statuses that say nothing final about the resource: the source failed or refused for now.
#: 403 is here because PyPI's Integrity API answers it when attestations are temporarily
#: disabled and GitHub when rate-limited: it never means "this does not exist".
TRANSIENT_STATUSES = frozenset({NO_ANSWER, 403, 408, 425, 429})


def is_definitive(status: int) -> bool:
    """True for an answer that may replace an earlier one (2xx, 3xx, 404, 410, other 4xx)."""
    return status not in TRANSIENT_STATUSES and not 500 <= status <= 599


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _is_sha256(text: object) -> bool:
    return isinstance(text, str) and _SHA256_HEX.fullmatch(text) is not None


def request_key(body: bytes | None) -> str:
    """Key of a request body (POST searches); GETs have the empty-body key."""
    return hashlib.sha256(body or b"").hexdigest()


@dataclass(frozen=True)
class _Result:
    """A statement's outcome, read to the end while the store's lock was held."""

    rows: list[tuple[Any, ...]]
    lastrowid: int | None
    description: Any


@dataclass(frozen=True)
class StoredResponse:
    """One stored HTTP response. `body()` reads and re-checks the blob."""

    store: EvidenceStore = field(repr=False, compare=False)
    id: int
    collection_id: int
    source: str
    method: str
    url: str
    request_sha256: str
    status: int
    headers: Mapping[str, str]
    sha256: str
    size: int
    retrieved_at: datetime

    def body(self) -> bytes:
        """The raw response bytes, verified against their sha256."""
        return self.store.blob(self.sha256)

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError on malformed JSON)."""
        return json.loads(self.body())

    def evidence(self, pointer: str = "", note: str = "") -> EvidenceRef:
        """An `EvidenceRef` to this response, optionally to a part of it."""
        return EvidenceRef(self.url, self.sha256, self.retrieved_at, pointer, note)


@dataclass(frozen=True)
class CaseMeta:
    """What a case is about and where its evidence came from."""

    project: str
    sources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per source: `base_url` and source-specific facts (the index's `pep740`)."""
    simulated: bool = False
    """True for lab-built cases: every report made from it says so."""
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Serialise to case.json."""
        return {
            "project": self.project,
            "sources": {k: dict(v) for k, v in sorted(self.sources.items())},
            "simulated": self.simulated,
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseMeta:
        """Parse case.json."""
        return cls(
            project=str(data["project"]),
            sources={str(k): dict(v) for k, v in dict(data.get("sources", {})).items()},
            simulated=bool(data.get("simulated", False)),
            notes=tuple(str(n) for n in data.get("notes", [])),
        )


@dataclass
class CaseCheck:
    """Outcome of `EvidenceStore.check()`: the case against its manifest."""

    root: Path
    digest: str
    """The digest of the case as it is now."""
    sealed_digest: str | None
    """The digest recorded in manifest.json (None without a usable manifest)."""
    changes: list[Change] = field(default_factory=list)
    rows: int = 0
    blobs: int = 0

    @property
    def state(self) -> str:
        """`tampered` (anything changed since the seal), else `incomplete` (a collection never
        finished and holds answers the manifest does not commit to), else `unsealed` (no
        manifest), else `partial` (sealed as it is, but a collection still has requests without
        a final answer), else `intact`."""
        if any(c.tamper for c in self.changes):
            return "tampered"
        if any(c.kind in ("incomplete", "uncommitted") for c in self.changes):
            return "incomplete"  # also a first collection killed before it sealed anything
        if any(c.kind == "manifest-missing" for c in self.changes):
            return "unsealed"
        if self.changes:
            return "partial"
        return "intact"

    @property
    def ok(self) -> bool:
        """True when the case is exactly what its manifest commits to."""
        return self.state == "intact"

    def summary(self, limit: int = 6) -> str:
        """One line naming the first changes (for error messages)."""
        shown = [str(c) for c in self.changes if c.kind != "uncommitted"][:limit]
        rest = len(self.changes) - len(shown)
        text = "; ".join(" ".join(line.split()) for line in shown)
        return text + (f"; and {rest} more" if rest > 0 else "")


class EvidenceStore:
    """A case directory. Open with `EvidenceStore.open(path)`; `at(as_of)` gives a read view."""

    def __init__(
        self, root: Path, conn: sqlite3.Connection, *, cutoff: datetime | None = None
    ) -> None:
        """Use `open()` or `at()`; this is the raw constructor."""
        self.root = root
        self._conn = conn
        self._collection: int | None = None
        self.cutoff = cutoff
        """Responses retrieved after this time are invisible to `latest()` (None: no cut-off)."""
        self._owner = cutoff is None
        self._writable = False
        self._lock = threading.RLock()
        self._by_request: dict[tuple[str, str, str], list[tuple[Any, ...]]] | None = None
        """A view's rows by request (`at()`), read at its first lookup."""
        self._keys: set[tuple[str, str, str]] | None = None
        """(method, url, request_sha256) of every row, kept while a collection is open so that
        a request the case has never seen needs no lookup (`might_hold`)."""
        self._durable: set[str] = set()
        """Blobs this process wrote and synced (or found in place): no second stat needed."""

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, create: bool = True) -> EvidenceStore:
        """Open (or create) a case directory."""
        path = Path(root)
        index = path / "index.sqlite"
        if not index.is_file():
            if not create or index.exists():
                raise EvidenceError(
                    f"{path} is not a case directory (no index.sqlite)",
                    hint="pass the directory given to `forensics investigate --case`",
                )
            (path / "blobs").mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(index, isolation_level=None, check_same_thread=False)
            if create:
                conn.executescript(_SCHEMA)
                # TRUNCATE keeps the rollback journal's file between commits instead of creating
                # and deleting it for each one (same atomicity and durability: the commit is the
                # journal's truncation, synced). A collection commits thousands of times; on
                # ext4 every deleted journal inode is one more "recently deleted" inode that each
                # later blob's inode allocation scans past, so DELETE made the blob writes of a
                # long collection slower and slower (`benchmarks/README.md`, bench_collect).
                # `close()` switches back, which removes the journal file.
                conn.execute("PRAGMA journal_mode=TRUNCATE").fetchall()
            else:
                # Opening a case to read it must not change it: a missing table is damage to
                # report, not something to recreate empty.
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                missing = {"collections", "responses"} - tables
                if missing:
                    conn.close()
                    raise sqlite3.DatabaseError(f"no table {', '.join(sorted(missing))}")
        except sqlite3.DatabaseError as exc:
            raise _damaged(index, exc) from exc
        store = cls(path, conn)
        store._writable = create
        return store

    def at(self, as_of: datetime | None) -> EvidenceStore:
        """A read view of this case that ignores responses retrieved after `as_of`.

        The view reads the rows once, at its first lookup, and answers every later `latest()`
        from them (an analysis asks some 40,000 times; a query each was half a second of a
        re-analysis): make a new view to see rows added since, as every analysis does.
        """
        if as_of is None:
            return self
        view = EvidenceStore(self.root, self._conn, cutoff=utc(as_of))
        view._lock = self._lock  # one connection, one lock
        return view

    def close(self) -> None:
        """Close the SQLite connection (a view made by `at()` leaves it to its owner)."""
        if self._owner:
            if self._writable:
                # Back to the default mode, which deletes the (empty) journal file: a closed
                # case directory holds only what the layout above lists.
                with self._lock, contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA journal_mode=DELETE").fetchall()
            with self._lock:
                self._conn.close()

    def __enter__(self) -> EvidenceStore:
        """Context manager support."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on exit."""
        self.close()

    # -- case metadata ---------------------------------------------------------------------

    def read_meta(self) -> CaseMeta | None:
        """case.json, or None for a fresh case."""
        path = self.root / "case.json"
        if not path.exists():
            return None
        try:
            return CaseMeta.from_json(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise EvidenceError(f"{path} is malformed: {exc}") from exc

    def write_meta(self, meta: CaseMeta) -> None:
        """Write case.json atomically; outside a collection, re-seal the case with it.

        Re-sealing first checks that nothing else changed since the last seal, so that writing
        metadata can never launder a tampered index into a fresh manifest.
        """
        reseal = self._manifest_path().exists() and not self._unfinished()
        if reseal:
            self._refuse_if_tampered(ignore_case_json=True)
        data = json.dumps(meta.to_json(), indent=2, sort_keys=True).encode() + b"\n"
        _atomic_write(self.root / "case.json", data)
        if reseal:
            self._write_manifest(self.content())

    # -- collections -----------------------------------------------------------------------

    def begin_collection(self, now: datetime, note: str = "") -> int:
        """Resume the latest unfinished collection, or start a new one. Returns its id.

        Refuses (`CaseIntegrityError`) to collect into a case altered since its last seal: the
        new collection could never be sealed, so say so before any request is sent.
        """
        row = self._one(
            "SELECT id FROM collections WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1"
        )
        self._refuse_if_tampered(open_collection=int(row[0]) if row is not None else None)
        if row is not None:
            self._collection = int(row[0])
        else:
            cur = self._exec(
                "INSERT INTO collections(started_at, note) VALUES (?, ?)", (isoformat(now), note)
            )
            self._collection = int(cur.lastrowid or 0)
        if self._keys is None:
            rows = self._exec("SELECT DISTINCT method, url, request_sha256 FROM responses")
            self._keys = {(str(m), str(u), str(k)) for m, u, k in self._fetchall(rows)}
        return self._collection

    def might_hold(
        self, url: str, *, method: str = "GET", request_body: bytes | None = None
    ) -> bool:
        """False only when the case certainly holds no answer to this request (no lookup, no
        lock: the collector asks this before every request, most of which are new).

        Exact while a collection is open (every row this store inserts is added); True
        (unknown: look it up) otherwise.
        """
        keys = self._keys
        return keys is None or (method, url, request_key(request_body)) in keys

    def finish_collection(self, now: datetime) -> None:
        """Mark the current collection complete and seal the case (write manifest.json).

        The manifest is written (atomically) *before* the collection is marked finished: a
        process killed in between leaves a collection that resumes and re-seals, never a
        finished collection missing from the manifest. Raises `CaseIntegrityError` when the
        case was altered since its previous seal: the new collection is then left unsealed.
        """
        if self._collection is None:
            return
        finished = isoformat(now) or ""
        self._refuse_if_tampered(open_collection=self._collection)
        content = self.content(finished={self._collection: finished})
        self._validate_rows()
        self._write_manifest(content)
        self._exec(
            "UPDATE collections SET finished_at = ? WHERE id = ?", (finished, self._collection)
        )
        self._collection = None

    def checkpoint_collection(self) -> None:
        """Seal what the current collection holds so far, leaving it open to resume.

        For a collection that ended with requests still unanswered (a source down, a deadline
        hit): the answers it has are committed, the case reads as `partial` (analysable offline,
        and the report says the collection is incomplete), and re-running resumes it.
        """
        if self._collection is None:
            return
        self._refuse_if_tampered(open_collection=self._collection)
        self._validate_rows()
        self._write_manifest(self.content())

    def complete(self) -> bool:
        """True when every collection of the case finished."""
        return not self._unfinished()

    def in_current_collection(
        self, url: str, *, method: str = "GET", request_body: bytes | None = None
    ) -> StoredResponse | None:
        """The answer this (possibly resumed) collection already has for a request."""
        if self._collection is None:
            return None
        row = self._one(
            "SELECT * FROM responses WHERE method=? AND url=? AND request_sha256=? "
            "AND collection_id=? ORDER BY id DESC LIMIT 1",
            (method, url, request_key(request_body), self._collection),
        )
        return self._row(row) if row else None

    # -- sealing ---------------------------------------------------------------------------

    def content(
        self,
        *,
        finished: Mapping[int, str] | None = None,
        blob_files: Mapping[str, int] | None = None,
    ) -> CaseContent:
        """The case as it is now, in canonical form (the input of the case digest).

        `finished` overrides `finished_at` of collections about to be marked finished;
        `blob_files` is the blob listing when the caller just made it (`_blob_files`).
        """
        out = CaseContent()
        path = self.root / "case.json"
        if path.exists():
            try:
                out.case_json = canonical_value(json.loads(path.read_bytes()))
            except (OSError, ValueError, RecursionError) as exc:
                out.case_json = {"unreadable": f"{type(exc).__name__}: {exc}"}
        for table, target in (("collections", out.collections), ("responses", out.responses)):
            cur = self._exec(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 - fixed names
            names = [d[0] for d in cur.description]
            for raw in self._fetchall(cur):
                row = {n: canonical_value(v) for n, v in zip(names, raw, strict=True)}
                rid = row.get("id")
                if not isinstance(rid, int):
                    raise EvidenceError(f"{table} has a row whose id is {rid!r}")
                target[rid] = row
        for rid, when in (finished or {}).items():
            if rid in out.collections:
                out.collections[rid]["finished_at"] = when
        out.blobs = dict(self._blob_files()[0] if blob_files is None else blob_files)
        return out

    def case_digest(self) -> str:
        """The case digest: RFC 6962 root over every row, blob and case.json (see manifest.py)."""
        return self.content().digest()

    def check(self) -> CaseCheck:
        """Compare the case with its manifest and re-hash every blob; name what changed.

        Raises `EvidenceError` when the index itself cannot be read (a damaged SQLite page).
        """
        files, stray = self._blob_files()
        current = self.content(blob_files=files)
        altered = {
            name: problem
            for name, problem in zip(
                files, _map_threads(self._blob_problem, list(files)), strict=True
            )
            if problem is not None
        }
        current_digest = current.digest()
        result = CaseCheck(self.root, current_digest, None, rows=len(current.responses))
        result.blobs = len(files)
        unfinished = self._unfinished()
        manifest = self._manifest_path()
        sealed: CaseContent | None = None
        if not manifest.exists():
            result.changes.append(
                Change(
                    "manifest-missing",
                    MANIFEST_FILE,
                    "the case was collected before cases were sealed, its manifest was "
                    "deleted, or its first collection never finished",
                )
            )
        else:
            try:
                doc = json.loads(manifest.read_bytes())
                sealed = CaseContent.from_manifest(doc)
                # The manifest must commit to the content it lists. When its digest field equals
                # the current digest and it lists exactly the current content (no change found
                # below), that holds without hashing the listed content a second time; in every
                # other case the listed content is hashed and compared with the field.
                if doc["digest"] != current_digest or compare(
                    sealed, current, unfinished=unfinished, altered=altered
                ):
                    listed = sealed.digest()
                    if listed != doc["digest"]:
                        raise ValueError(
                            f"its digest field {str(doc['digest'])[:16]}... does not match the "
                            f"content it lists ({listed[:16]}...)"
                        )
                result.sealed_digest = str(doc["digest"])
            except (
                OSError,
                ValueError,
                TypeError,
                KeyError,
                AttributeError,
                RecursionError,
            ) as exc:
                result.changes.append(Change("manifest-damaged", MANIFEST_FILE, str(exc)))
                sealed = None
        if sealed is not None:
            result.changes += compare(sealed, current, unfinished=unfinished, altered=altered)
        else:
            # Without a manifest, still report what the index itself shows to be broken.
            result.changes += [
                Change("incomplete", f"collection {cid}", "never finished") for cid in unfinished
            ]
            result.changes += [Change("blob-altered", f"blob {n}", w) for n, w in altered.items()]
            for rid, row in sorted(current.responses.items()):
                for key in ("sha256", "request_sha256"):
                    ref = row.get(key)
                    if _is_sha256(ref) and ref not in files and ref != _NO_BODY:
                        result.changes.append(
                            Change("blob-missing", f"blob {ref}", f"named by responses row {rid}")
                        )
        result.changes += [Change("stray-file", f"blobs/{p}", "not a blob name") for p in stray]
        return result

    def require_intact(self, *, allow_partial: bool = False) -> CaseCheck:
        """`check()`, raising `CaseIntegrityError` (naming what changed) unless it is intact
        (or, with `allow_partial`, sealed as a partial collection: the analysis then says so).

        Offline analysis is only as good as the case: a row, blob or case.json changed since the
        collection sealed it, or a collection that never finished, must stop the analysis rather
        than yield a clean-looking report.
        """
        check = self.check()
        if check.ok or (allow_partial and check.state == "partial"):
            return check
        hints = {
            "partial": "re-run the same collection command to complete it",
            "unsealed": "seal a case you trust with `forensics case upgrade DIR`, or re-collect it",
            "incomplete": "re-run the same collection command to resume and seal it",
            "tampered": "the case changed after it was sealed: do not trust an analysis of it; "
            "`forensics case verify DIR` lists every change",
        }
        raise CaseIntegrityError(
            f"case {self.root} does not verify ({check.state}): {check.summary()}",
            hint=hints.get(check.state),
        )

    def upgrade(self) -> CaseCheck:
        """Seal a case collected before manifests existed (or re-seal after checking it).

        Refuses a case whose blobs are altered or missing, whose rows do not parse, or that has
        an unfinished collection: sealing commits to the content as it is, so it must be sound.
        """
        before = self.check()
        bad = [c for c in before.changes if c.kind != "manifest-missing"]
        if before.sealed_digest is not None and not bad:
            return before
        if bad:
            problems = CaseCheck(self.root, "", None, bad).summary()
            raise CaseIntegrityError(
                f"{self.root} cannot be sealed as it is: {problems}",
                hint="re-collect the case; sealing would commit to damaged or altered evidence "
                "(a damaged manifest.json must be removed by hand before upgrading)",
            )
        self._validate_rows()
        self._write_manifest(self.content())
        return self.check()

    def _write_manifest(self, content: CaseContent) -> None:
        doc = content.to_manifest()
        data = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False).encode() + b"\n"
        _atomic_write(self._manifest_path(), data)

    def _refuse_if_tampered(
        self, *, open_collection: int | None = None, ignore_case_json: bool = False
    ) -> None:
        """Raise unless the case matches its manifest (if it has one) apart from the open
        collection's own traces (and case.json when `ignore_case_json`)."""
        if not self._manifest_path().exists():
            return
        check = self.check()
        bad = [
            c
            for c in check.changes
            if c.tamper and not (ignore_case_json and c.kind.startswith("case-json"))
        ]
        if open_collection is None:
            bad += [c for c in check.changes if c.kind == "incomplete"]
        if bad:
            raise CaseIntegrityError(
                f"{self.root} was altered since it was sealed: "
                f"{CaseCheck(self.root, '', None, bad).summary()}",
                hint="run `forensics case verify` on it; collect into a fresh --case directory",
            )

    def _validate_rows(self) -> None:
        """Every response row must read back (a seal must not commit to garbage)."""
        for row in self._fetchall(self._exec("SELECT * FROM responses ORDER BY id")):
            self._row(row)

    def _blob_problem(self, name: str) -> str | None:
        """What is wrong with a blob file's bytes (None: they hash to its name)."""
        path = self._blob_path(name)
        try:
            with path.open("rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError as exc:
            return f"unreadable: {exc.strerror or exc}"
        if digest != name:
            return f"content no longer matches its sha256 ({path.stat().st_size} bytes)"
        return None

    def _unfinished(self) -> list[int]:
        rows = self._fetchall(
            self._exec("SELECT id FROM collections WHERE finished_at IS NULL ORDER BY id")
        )
        return [int(r[0]) for r in rows]

    def _manifest_path(self) -> Path:
        return self.root / MANIFEST_FILE

    def _blob_files(self) -> tuple[dict[str, int], list[str]]:
        """Blob files present (name -> size) and stray paths under blobs/ (temporary files of
        an interrupted atomic write are neither: they never carry a final name)."""
        # os.scandir rather than Path.rglob: a case holds tens of thousands of blobs, and
        # pathlib's per-entry objects and stat calls made this walk a second of every check.
        files: dict[str, int] = {}
        stray: list[str] = []
        base = self.root / "blobs"
        if not base.is_dir():
            return files, stray

        def walk(folder: str, rel: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
            with os.scandir(folder) as entries:
                for entry in entries:
                    sub = f"{rel}/{entry.name}" if rel else entry.name
                    yield sub, entry
                    if entry.is_dir(follow_symlinks=False):
                        yield from walk(entry.path, sub)

        for rel, entry in sorted(walk(str(base), ""), key=lambda item: item[0]):
            parts = rel.split("/")
            if len(parts) == 1 and entry.is_dir(follow_symlinks=False):
                continue
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                continue
            if (
                len(parts) == 2
                and _is_sha256(parts[1])
                and parts[0] == parts[1][:2]
                and entry.is_file()
            ):
                files[parts[1]] = entry.stat().st_size
            else:
                stray.append(rel)
        return files, stray

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit the writes made inside as one transaction (one fsync instead of one per row).

        The collector's group commit uses it: concurrent answers that arrive while a commit is
        on disk are committed together. Blobs are written (and fsynced) before, as always.
        """
        with self._lock:  # no other thread's statement inside this transaction
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def put_blob(self, data: bytes) -> str:
        """Store bytes under their sha256 (idempotent, atomic). Returns the digest."""
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._durable:
            return digest
        folder = os.path.join(self.root, "blobs", digest[:2])
        path = os.path.join(folder, digest)
        if not os.path.exists(path):
            os.makedirs(folder, exist_ok=True)
            _atomic_write(Path(path), data)
        self._durable.add(digest)
        return digest

    def put_response(
        self,
        *,
        source: str,
        url: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        retrieved_at: datetime,
        method: str = "GET",
        request_body: bytes | None = None,
    ) -> StoredResponse:
        """Record one response. The blob is durable before the index row is committed."""
        digest = self.put_blob(body)
        if request_body:
            self.put_blob(request_body)
        kept = {k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        collection = self._collection
        if collection is None:
            collection = self.begin_collection(retrieved_at, note="implicit")
        key = request_key(request_body)
        row = (
            collection,
            source,
            method,
            url,
            key,
            status,
            json.dumps(kept, sort_keys=True),
            digest,
            len(body),
            isoformat(retrieved_at),
        )
        cur = self._exec(
            "INSERT INTO responses(collection_id, source, method, url, request_sha256, status,"
            " headers, sha256, size, retrieved_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            row,
        )
        if self._keys is not None:
            self._keys.add((method, url, key))
        # The row as a read would return it, validated the same way, built from the values just
        # written instead of selecting them back.
        return self._row((cur.lastrowid, *row))

    # -- reading ---------------------------------------------------------------------------

    def latest(
        self,
        url: str,
        *,
        method: str = "GET",
        request_body: bytes | None = None,
        as_of: datetime | None = None,
    ) -> StoredResponse | None:
        """The answer to a request as the case knew it at `as_of` (and at this view's cut-off).

        The newest definitive answer wins; a transient failure (`is_definitive` false) is
        returned only when no definitive answer was retrieved by then. Ties in retrieval time go
        to the later row.
        """
        cutoff = self.cutoff
        if as_of is not None:
            cutoff = utc(as_of) if cutoff is None else min(cutoff, utc(as_of))
        key = (method, url, request_key(request_body))
        if self.cutoff is not None:  # a view made by at(): its rows, read once
            rows = self._rows_by_request().get(key, [])
        else:
            rows = self._fetchall(
                self._exec(
                    "SELECT * FROM responses WHERE method=? AND url=? AND request_sha256=? "
                    "ORDER BY id",
                    key,
                )
            )
        seen = [self._row(r) for r in rows]
        if cutoff is not None:
            seen = [r for r in seen if r.retrieved_at <= cutoff]
        if not seen:
            return None
        definitive = [r for r in seen if is_definitive(r.status)]
        return max(definitive or seen, key=lambda r: (r.retrieved_at, r.id))

    def _rows_by_request(self) -> dict[tuple[str, str, str], list[tuple[Any, ...]]]:
        """The raw rows by (method, URL, request key), oldest first, read at the first call."""
        with self._lock:
            if self._by_request is None:
                by_request: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
                for row in self._fetchall(self._exec("SELECT * FROM responses ORDER BY id")):
                    by_request.setdefault((row[3], row[4], row[5]), []).append(row)
                self._by_request = by_request
            return self._by_request

    def responses(self, source: str | None = None) -> Iterator[StoredResponse]:
        """Every stored response (optionally of one source) visible in this view, oldest first."""
        if source is None:
            cur = self._exec("SELECT * FROM responses ORDER BY id")
        else:
            cur = self._exec("SELECT * FROM responses WHERE source = ? ORDER BY id", (source,))
        for row in self._fetchall(cur):
            resp = self._row(row)
            if self.cutoff is None or resp.retrieved_at <= self.cutoff:
                yield resp

    def retrieval_span(self) -> tuple[datetime, datetime] | None:
        """First and last retrieval time in the case (None when it holds no response)."""
        times = [
            self._time(int(r[0]), r[1])
            for r in self._fetchall(self._exec("SELECT id, retrieved_at FROM responses"))
        ]
        return (min(times), max(times)) if times else None

    def last_retrieval(self) -> datetime | None:
        """The latest retrieval time in the case: the default `as_of` of an analysis."""
        span = self.retrieval_span()
        return span[1] if span else None

    def blob(self, digest: str) -> bytes:
        """Read a blob and check it still hashes to its name."""
        path = self._blob_path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise CaseIntegrityError(
                f"blob {digest} is missing from {self.root}",
                hint="run `forensics case verify` and re-collect the case",
            ) from exc
        except OSError as exc:
            raise CaseIntegrityError(
                f"blob {digest} in {self.root} cannot be read: {exc.strerror or exc}",
                hint="run `forensics case verify` and re-collect the case",
            ) from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise CaseIntegrityError(
                f"blob {digest} was altered: its content no longer matches its sha256",
                hint="the case was modified after collection; do not trust its analysis",
            )
        return data

    # -- internals -------------------------------------------------------------------------

    def _exec(self, sql: str, params: Sequence[object] = ()) -> _Result:
        # Run and read to the end under the store's lock: threads of a collection share the
        # connection, and a statement must never interleave with another thread's transaction.
        try:
            with self._lock:
                cur = self._conn.execute(sql, params)
                return _Result(cur.fetchall(), cur.lastrowid, cur.description)
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.root / "index.sqlite", exc) from exc

    @staticmethod
    def _fetchall(result: _Result) -> list[tuple[Any, ...]]:
        return result.rows

    def _one(self, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...] | None:
        rows = self._fetchall(self._exec(sql, params))
        return rows[0] if rows else None

    def _blob_path(self, digest: str) -> Path:
        if not _is_sha256(digest):
            raise EvidenceError(f"not a sha256 hex digest: {digest!r}")
        # One string join, not three pathlib joins: called for every blob an analysis reads.
        return Path(f"{self.root}/blobs/{digest[:2]}/{digest}")

    def _time(self, rid: int, value: object) -> datetime:
        try:
            if not isinstance(value, str):
                raise TypeError(f"a {type(value).__name__}")
            return parse_time(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise CaseIntegrityError(
                f"responses row {rid} of {self.root / 'index.sqlite'} has a malformed "
                f"retrieved_at {value!r:.60}: {exc}",
                hint="the index was edited by hand or damaged; run `forensics case verify`",
            ) from exc

    def _row(self, row: tuple[Any, ...]) -> StoredResponse:
        # Runs for every row an analysis reads (tens of thousands): the common, well-formed row
        # takes the short path; the messages naming a malformed one are built only for it.
        try:
            headers = _headers(row[7])
        except (TypeError, ValueError) as exc:
            raise self._malformed(row[0], f"malformed headers {row[7]!r:.60}: {exc}") from exc
        for index, name, kind in _ROW_TYPES:
            value = row[index]
            if type(value) is not kind:
                raise self._malformed(row[0], f"a malformed {name} {value!r:.60}")
        for index, name in ((5, "request_sha256"), (8, "sha256")):
            if not _is_sha256(row[index]):
                raise self._malformed(row[0], f"a malformed {name} {row[index]!r:.80}")
        return StoredResponse(
            self,
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            headers,
            row[8],
            row[9],
            self._time(row[0], row[10]),
        )

    def _malformed(self, rid: object, what: str) -> CaseIntegrityError:
        return CaseIntegrityError(
            f"responses row {rid!r} of {self.root / 'index.sqlite'} has {what}",
            hint="the index was edited by hand or damaged; run `forensics case verify`",
        )


#: (column, name, exact type) of a responses row; bool is not an int here.
_ROW_TYPES = (
    (0, "id", int),
    (1, "collection_id", int),
    (2, "source", str),
    (3, "method", str),
    (4, "url", str),
    (6, "status", int),
    (9, "size", int),
)


def _headers(text: object) -> Mapping[str, str]:
    """A row's stored headers, read-only (the mapping may be shared by rows with the same text).

    Rows of one source mostly share a few header texts, so short ones are parsed once.
    """
    if not isinstance(text, str):
        raise TypeError(f"not text but {type(text).__name__}")
    return _short_headers(text) if len(text) <= 2048 else _parse_headers(text)


@functools.lru_cache(maxsize=4096)
def _short_headers(text: str) -> Mapping[str, str]:
    return _parse_headers(text)


def _parse_headers(text: str) -> Mapping[str, str]:
    headers = json.loads(text)
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ValueError("not a string mapping")
    return MappingProxyType(headers)


def _damaged(index: Path, exc: sqlite3.DatabaseError) -> EvidenceError:
    return EvidenceError(
        f"the case index {index} is damaged or not a case index: {exc}",
        hint="restore the case from its original copy (check it with `forensics case verify`); "
        "a damaged index cannot be trusted",
    )


def _map_threads(fn: Callable[[str], str | None], items: Sequence[str]) -> list[str | None]:
    """`fn` over `items` on a few threads, results in order.

    Re-hashing every blob is most of a case check; file reads and hashlib (for data over 2 KiB)
    release the interpreter lock, so a few threads use every core on a large case. Items go in
    chunks: a future per blob cost more than hashing it.
    """
    step = 512
    chunks = [items[i : i + step] for i in range(0, len(items), step)]
    if len(chunks) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
        done = pool.map(lambda chunk: [fn(item) for item in chunk], chunks)
        return [result for chunk in done for result in chunk]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory, fsync, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
