"""Case directory: every raw response stored once by sha256, indexed in SQLite.

Layout of a case directory::

    case.json            project, source base URLs, PEP 740 support as collected (CaseMeta)
    index.sqlite         responses(url, method, request_sha256, status, headers, sha256, ...)
    blobs/ab/abcdef...   the raw bytes, named by their sha256

Blobs are written to a temporary file in the same directory and renamed into place, so a crash
never leaves a half-written blob under its final name; the index row is committed only after the
blob exists. A collection is a row in `collections`; an unfinished one is resumed by skipping the
requests it already answered.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from forensics.errors import CaseIntegrityError, EvidenceError
from forensics.models import EvidenceRef, isoformat, parse_time

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


def request_key(body: bytes | None) -> str:
    """Key of a request body (POST searches); GETs have the empty-body key."""
    return hashlib.sha256(body or b"").hexdigest()


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
class VerifyReport:
    """Outcome of `EvidenceStore.verify()`."""

    checked: int = 0
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unindexed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every indexed blob is present and intact."""
        return not (self.altered or self.missing)


class EvidenceStore:
    """A case directory. Open with `EvidenceStore.open(path)`."""

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        """Use `open()`; this is the raw constructor."""
        self.root = root
        self._conn = conn
        self._collection: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, create: bool = True) -> EvidenceStore:
        """Open (or create) a case directory."""
        path = Path(root)
        index = path / "index.sqlite"
        if not index.exists():
            if not create:
                raise EvidenceError(
                    f"{path} is not a case directory (no index.sqlite)",
                    hint="pass the directory given to `forensics investigate --case`",
                )
            (path / "blobs").mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(index, isolation_level=None, check_same_thread=False)
            conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise EvidenceError(f"cannot open case index {index}: {exc}") from exc
        return cls(path, conn)

    def close(self) -> None:
        """Close the SQLite connection."""
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
        except (ValueError, KeyError, TypeError) as exc:
            raise EvidenceError(f"{path} is malformed: {exc}") from exc

    def write_meta(self, meta: CaseMeta) -> None:
        """Write case.json atomically."""
        data = json.dumps(meta.to_json(), indent=2, sort_keys=True).encode() + b"\n"
        _atomic_write(self.root / "case.json", data)

    # -- collections -----------------------------------------------------------------------

    def begin_collection(self, now: datetime, note: str = "") -> int:
        """Resume the latest unfinished collection, or start a new one. Returns its id."""
        row = self._conn.execute(
            "SELECT id FROM collections WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is not None:
            self._collection = int(row[0])
        else:
            cur = self._conn.execute(
                "INSERT INTO collections(started_at, note) VALUES (?, ?)", (isoformat(now), note)
            )
            self._collection = int(cur.lastrowid or 0)
        return self._collection

    def finish_collection(self, now: datetime) -> None:
        """Mark the current collection complete."""
        if self._collection is None:
            return
        self._conn.execute(
            "UPDATE collections SET finished_at = ? WHERE id = ?",
            (isoformat(now), self._collection),
        )
        self._collection = None

    def in_current_collection(
        self, url: str, *, method: str = "GET", request_body: bytes | None = None
    ) -> StoredResponse | None:
        """The answer this (possibly resumed) collection already has for a request."""
        if self._collection is None:
            return None
        row = self._conn.execute(
            "SELECT * FROM responses WHERE method=? AND url=? AND request_sha256=? "
            "AND collection_id=? ORDER BY id DESC LIMIT 1",
            (method, url, request_key(request_body), self._collection),
        ).fetchone()
        return self._row(row) if row else None

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit the writes made inside as one transaction (one fsync instead of one per row).

        The collector's group commit uses it: concurrent answers that arrive while a commit is
        on disk are committed together. Blobs are written (and fsynced) before, as always.
        """
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
        path = self._blob_path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, data)
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
        cur = self._conn.execute(
            "INSERT INTO responses(collection_id, source, method, url, request_sha256, status,"
            " headers, sha256, size, retrieved_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                collection,
                source,
                method,
                url,
                request_key(request_body),
                status,
                json.dumps(kept, sort_keys=True),
                digest,
                len(body),
                isoformat(retrieved_at),
            ),
        )
        row = self._conn.execute(
            "SELECT * FROM responses WHERE id = ?", (cur.lastrowid,)
        ).fetchone()
        return self._row(row)

    # -- reading ---------------------------------------------------------------------------

    def latest(
        self, url: str, *, method: str = "GET", request_body: bytes | None = None
    ) -> StoredResponse | None:
        """The most recent stored response to a request, or None."""
        row = self._conn.execute(
            "SELECT * FROM responses WHERE method=? AND url=? AND request_sha256=? "
            "ORDER BY retrieved_at DESC, id DESC LIMIT 1",
            (method, url, request_key(request_body)),
        ).fetchone()
        return self._row(row) if row else None

    def responses(self, source: str | None = None) -> Iterator[StoredResponse]:
        """Every stored response (optionally of one source), oldest first."""
        if source is None:
            rows = self._conn.execute("SELECT * FROM responses ORDER BY id")
        else:
            rows = self._conn.execute(
                "SELECT * FROM responses WHERE source = ? ORDER BY id", (source,)
            )
        for row in rows.fetchall():
            yield self._row(row)

    def last_retrieval(self) -> datetime | None:
        """The latest retrieval time in the case: the default `as_of` of an analysis."""
        row = self._conn.execute("SELECT MAX(retrieved_at) FROM responses").fetchone()
        return parse_time(row[0]) if row and row[0] else None

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
        if hashlib.sha256(data).hexdigest() != digest:
            raise CaseIntegrityError(
                f"blob {digest} was altered: its content no longer matches its sha256",
                hint="the case was modified after collection; do not trust its analysis",
            )
        return data

    def verify(self) -> VerifyReport:
        """Check every indexed blob; list altered, missing and unindexed blobs."""
        report = VerifyReport()
        wanted = {r[0] for r in self._conn.execute("SELECT DISTINCT sha256 FROM responses")}
        wanted |= {
            r[0] for r in self._conn.execute("SELECT DISTINCT request_sha256 FROM responses")
        }
        wanted.discard(_NO_BODY)
        for digest in sorted(wanted):
            path = self._blob_path(digest)
            report.checked += 1
            if not path.exists():
                report.missing.append(digest)
            elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                report.altered.append(digest)
        blobs = self.root / "blobs"
        if blobs.exists():
            for path in sorted(blobs.glob("*/*")):
                if path.name not in wanted and path.name != _NO_BODY and ".tmp" not in path.name:
                    report.unindexed.append(path.name)
        return report

    # -- internals -------------------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise EvidenceError(f"not a sha256 hex digest: {digest!r}")
        return self.root / "blobs" / digest[:2] / digest

    def _row(self, row: tuple[Any, ...]) -> StoredResponse:
        return StoredResponse(
            store=self,
            id=row[0],
            collection_id=row[1],
            source=row[2],
            method=row[3],
            url=row[4],
            request_sha256=row[5],
            status=row[6],
            headers=json.loads(row[7]),
            sha256=row[8],
            size=row[9],
            retrieved_at=parse_time(row[10]),
        )


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
