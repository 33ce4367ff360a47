"""The verdict cache of a case: derived data, kept beside the evidence and never part of it.

A PEP 740 verdict is a pure function of

* the provenance bytes (their sha256),
* the distribution's sha256 and filename as the index lists them,
* the trusted root's bytes (their sha256),
* the verifier: this toolkit's verification code and the sigstore, pypi-attestations,
  sigstore-models and cryptography versions it runs on (`verifier_version()`).

`VerdictCache` stores verdicts under exactly that key in `<case>/cache/verdicts.sqlite`, so a
re-analysis of the same case reuses them instead of verifying every attestation again. The same
file, table `log_checks`, holds the outcome (passed, or the reason it failed) of verifying each
transparency-log entry that cross-checks a served file, keyed by every field of the entry
(`RekorEntry.fingerprint`), the log's shard offsets, the trusted root and the verifier
(`LogCheckKey`): a pure function of those, like a verdict. The file is
not evidence: it is not sealed, `forensics case verify` does not read it, and deleting the
`cache/` folder only costs time (the next analysis verifies everything and fills it again).

Because the file sits in a case directory that may have come from someone else, an entry is never
trusted blindly: each row carries an HMAC over its key and value under a secret that never leaves
this machine (`$XDG_CACHE_HOME/provenance-forensics/verdict-cache.key`, created on first use,
mode 0600). A row that does not decode, whose MAC does not match (written elsewhere or altered),
or whose stored key differs from the one asked for, is ignored with a problem line and the file is
verified again. A different verifier version is a different key, so an upgrade re-verifies.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import importlib.metadata
import json
import os
import secrets
import sqlite3
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import forensics
from forensics.models import (
    AttestationResult,
    CertificateFacts,
    FileProvenance,
    LogEntry,
    ProvenanceStatus,
    Publisher,
)

T = TypeVar("T")

CACHE_DIR = "cache"
CACHE_FILE = "verdicts.sqlite"
CODEC = 1
"""Version of the row encoding below; part of the verifier version, so a change re-verifies."""

# The modules whose code decides a verdict: a change to any of them is a new verifier.
# tests/provenance/test_cache.py checks each exists and that verify.py imports nothing else of
# ours that could change a verdict.
_VERIFIER_MODULES = (
    "forensics/provenance/verify.py",
    "forensics/provenance/cache.py",
    "forensics/primitives/__init__.py",
    "forensics/primitives/claims.py",
    "forensics/primitives/keys.py",
    "forensics/primitives/merkle.py",
    "forensics/primitives/note.py",
    "forensics/primitives/untrusted.py",
    "forensics/primitives/validity.py",
    "forensics/rekor/entry.py",
    "forensics/rekor/verify.py",
    "forensics/trust.py",
    "forensics/models.py",
    "forensics/errors.py",
    "forensics/versions.py",
)
_LIBRARIES = ("sigstore", "pypi-attestations", "sigstore-models", "cryptography")


@functools.cache
def verifier_version() -> str:
    """What produced a verdict: our verification code (digest of its source) and the libraries.

    The source digest, not only `forensics.__version__`, so that an edit of the verification code
    between releases still invalidates cached verdicts.
    """
    root = Path(forensics.__file__).resolve().parent.parent
    code = hashlib.sha256()
    for rel in _VERIFIER_MODULES:
        path = root / rel
        code.update(rel.encode() + b"\0")
        with contextlib.suppress(OSError):
            code.update(path.read_bytes())
    libs = "; ".join(f"{name} {_dist_version(name)}" for name in _LIBRARIES)
    return (
        f"provenance-forensics {forensics.__version__} (verifier code {code.hexdigest()[:16]}, "
        f"codec {CODEC}); {libs}"
    )


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


class _CacheKey:
    """A cache key: its canonical text (what the MAC covers, with the value) and its row id."""

    def fields(self) -> list[str]:
        raise NotImplementedError

    def text(self) -> str:
        """Canonical text of the key (what the MAC covers, with the value)."""
        return json.dumps(self.fields(), ensure_ascii=False)

    def row_id(self) -> str:
        """Primary key of the row: the sha256 of the canonical key text."""
        return hashlib.sha256(self.text().encode()).hexdigest()


@dataclass(frozen=True, order=True)
class VerdictKey(_CacheKey):
    """Everything a verdict depends on."""

    provenance_sha256: str
    dist_sha256: str
    filename: str
    trust_sha256: str
    verifier: str

    def fields(self) -> list[str]:
        """The key's parts, in their canonical order."""
        return [
            self.provenance_sha256,
            self.dist_sha256,
            self.filename,
            self.trust_sha256,
            self.verifier,
        ]


@dataclass(frozen=True, order=True)
class LogCheckKey(_CacheKey):
    """Everything the outcome of verifying one transparency-log entry depends on: the entry's
    every field (`RekorEntry.fingerprint`), the shard offsets the index check uses, the trusted
    root (its log keys) and the verifier (`forensics/rekor/verify.py` is part of it)."""

    entry_fingerprint: str
    shard_offsets: str
    """The offsets as canonical JSON text (`{}` when the log's shards are unknown)."""
    trust_sha256: str
    verifier: str

    def fields(self) -> list[str]:
        """The key's parts, in their canonical order (tagged: never a verdict's key text)."""
        return [
            "rekor-entry",
            self.entry_fingerprint,
            self.shard_offsets,
            self.trust_sha256,
            self.verifier,
        ]


@dataclass(frozen=True)
class LogCheckOutcome:
    """The cached part of an entry's verification: passed, or the reason it failed."""

    ok: bool
    reason: str


# --------------------------------------------------------------------------- codec
# An exact, lossless JSON form of a verdict without its evidence reference (the evidence is the
# response it was read from, attached again by the caller). The report serialisers drop fields
# (publisher.raw, predicate), so they cannot be reused here.


def _time(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _parse_time(text: Any) -> datetime | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"time must be a string, got {type(text).__name__}")
    return datetime.fromisoformat(text)


def encode_verdict(fp: FileProvenance) -> dict[str, Any]:
    """A verdict (evidence left out) as JSON-ready data."""
    return {
        "status": fp.status.value,
        "reason": fp.reason,
        "attestations": [_encode_attestation(a) for a in fp.attestations],
    }


def _encode_attestation(a: AttestationResult) -> dict[str, Any]:
    pub = a.publisher
    cert = a.certificate
    return {
        "predicate_type": a.predicate_type,
        "verified": a.verified,
        "reason": a.reason,
        "publisher": None
        if pub is None
        else {
            "kind": pub.kind,
            "repository": pub.repository,
            "workflow": pub.workflow,
            "environment": pub.environment,
            "raw": dict(pub.raw),
        },
        "claims": dict(a.claims),
        "certificate": None
        if cert is None
        else {
            "serial": cert.serial,
            "not_before": _time(cert.not_before),
            "not_after": _time(cert.not_after),
            "issuer": cert.issuer,
            "san": list(cert.san),
            "sct_time": _time(cert.sct_time),
        },
        "subject_name": a.subject_name,
        "subject_sha256": a.subject_sha256,
        "log_entries": [
            {
                "log_index": e.log_index,
                "integrated_time": _time(e.integrated_time),
                "kind": e.kind,
                "log_id": e.log_id,
                "shard_log_index": e.shard_log_index,
                "tree_size": e.tree_size,
                "checkpoint_origin": e.checkpoint_origin,
                "uuid": e.uuid,
                "verified": e.verified,
                "time_source": e.time_source,
                "reason": e.reason,
            }
            for e in a.log_entries
        ],
        "predicate": None if a.predicate is None else dict(a.predicate),
    }


def decode_verdict(data: Any) -> FileProvenance:
    """The inverse of `encode_verdict`; raises ValueError/KeyError/TypeError on a bad shape."""
    if not isinstance(data, dict):
        raise ValueError("verdict must be an object")
    return FileProvenance(
        status=ProvenanceStatus(data["status"]),
        reason=_str(data["reason"]),
        attestations=tuple(_decode_attestation(a) for a in data["attestations"]),
    )


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _opt_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _decode_attestation(a: Mapping[str, Any]) -> AttestationResult:
    pub = a["publisher"]
    cert = a["certificate"]
    verified = _opt_bool(a["verified"])
    if verified is None:
        raise TypeError("attestation verified must be a boolean")
    return AttestationResult(
        predicate_type=_opt_str(a["predicate_type"]),
        verified=verified,
        reason=_str(a["reason"]),
        publisher=None
        if pub is None
        else Publisher(
            kind=_str(pub["kind"]),
            repository=_opt_str(pub["repository"]),
            workflow=_opt_str(pub["workflow"]),
            environment=_opt_str(pub["environment"]),
            raw=dict(pub["raw"]),
        ),
        # Interned: most claim values (repository, workflow, issuer, runner) repeat in every
        # release, and thousands of copies of each were a tenth of a long history's memory.
        claims={sys.intern(_str(k)): sys.intern(_str(v)) for k, v in dict(a["claims"]).items()},
        certificate=None
        if cert is None
        else CertificateFacts(
            serial=_str(cert["serial"]),
            not_before=_required_time(cert["not_before"]),
            not_after=_required_time(cert["not_after"]),
            issuer=_str(cert["issuer"]),
            san=tuple(_str(s) for s in cert["san"]),
            sct_time=_parse_time(cert["sct_time"]),
        ),
        subject_name=_opt_str(a["subject_name"]),
        subject_sha256=_opt_str(a["subject_sha256"]),
        log_entries=tuple(
            LogEntry(
                log_index=_required_int(e["log_index"]),
                integrated_time=_parse_time(e["integrated_time"]),
                kind=_str(e["kind"]),
                log_id=_str(e["log_id"]),
                shard_log_index=_opt_int(e["shard_log_index"]),
                tree_size=_opt_int(e["tree_size"]),
                checkpoint_origin=_opt_str(e["checkpoint_origin"]),
                uuid=_opt_str(e["uuid"]),
                verified=_opt_bool(e["verified"]),
                time_source=_str(e["time_source"]),
                reason=_str(e["reason"]),
            )
            for e in a["log_entries"]
        ),
        predicate=None if a["predicate"] is None else dict(a["predicate"]),
    )


def _required_time(value: Any) -> datetime:
    dt = _parse_time(value)
    if dt is None:
        raise TypeError("time must not be null")
    return dt


def _required_int(value: Any) -> int:
    n = _opt_int(value)
    if n is None:
        raise TypeError("integer must not be null")
    return n


# --------------------------------------------------------------------------- the secret


def mac_key_path() -> Path:
    """Where this machine's verdict-cache secret lives (outside every case)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "provenance-forensics" / "verdict-cache.key"


def _load_or_create_key(path: Path) -> bytes:
    with contextlib.suppress(FileNotFoundError):
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_bytes(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(fresh)
    try:
        # Two processes racing: the first link wins and both read the winner's key.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


# --------------------------------------------------------------------------- the cache


@dataclass
class CacheStats:
    """What the cache did in one run (for the report's `run` block)."""

    hits: int = 0
    log_hits: int = 0
    stored: int = 0
    problems: list[str] = field(default_factory=list)


_TABLES = ("verdicts", "log_checks")
"""PEP 740 verdicts by `VerdictKey`; transparency-log entry outcomes by `LogCheckKey`."""


class VerdictCache:
    """Verdicts of one case, keyed by `VerdictKey`, each row authenticated by a local secret."""

    def __init__(self, path: Path, conn: sqlite3.Connection, key: bytes) -> None:
        self.path = path
        self._conn = conn
        self._key = key
        self.stats = CacheStats()
        self._unreadable = False

    @classmethod
    def open(cls, case_root: Path) -> tuple[VerdictCache | None, str]:
        """The cache of a case, or (None, why) when it cannot be used (analysis goes on)."""
        path = Path(case_root) / CACHE_DIR / CACHE_FILE
        try:
            key = _load_or_create_key(mac_key_path())
        except OSError as exc:
            return None, f"verdict cache not used: cannot read or create {mac_key_path()}: {exc}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            for table in _TABLES:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY,"
                    " key TEXT NOT NULL, value TEXT NOT NULL, mac TEXT NOT NULL)"
                )
        except (OSError, sqlite3.Error) as exc:
            return None, f"verdict cache not used: {path}: {exc}"
        return cls(path, conn, key), ""

    def close(self) -> None:
        """Close the database."""
        self._conn.close()

    def _mac(self, key_text: str, value: str) -> str:
        msg = key_text.encode() + b"\0" + value.encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def get_many(self, keys: Iterable[VerdictKey]) -> dict[VerdictKey, FileProvenance]:
        """The usable verdicts among `keys`; every unusable row adds a problem line."""
        found: dict[VerdictKey, FileProvenance] = {}
        for key in keys:
            where = (
                f"verdict cache entry for {key.filename} (provenance sha256 "
                f"{key.provenance_sha256})"
            )
            verdict = self._lookup("verdicts", key.row_id(), key.text(), where, decode_verdict)
            if verdict is not None:
                found[key] = verdict
        self.stats.hits += len(found)
        return found

    def get_log_checks(self, keys: Iterable[LogCheckKey]) -> dict[LogCheckKey, LogCheckOutcome]:
        """The usable transparency-log entry outcomes among `keys` (problems as for verdicts)."""
        found: dict[LogCheckKey, LogCheckOutcome] = {}
        for key in keys:
            where = f"log-check cache entry for entry {key.entry_fingerprint[:16]}..."
            outcome = self._lookup("log_checks", key.row_id(), key.text(), where, _decode_check)
            if outcome is not None:
                found[key] = outcome
        self.stats.log_hits += len(found)
        return found

    def _lookup(
        self, table: str, row_id: str, key_text: str, where: str, decode: Callable[[Any], T]
    ) -> T | None:
        """One row's decoded value when its key and MAC check out, else None (and a problem
        line unless the row is simply absent). A point lookup on the primary key (~10 µs, no SQL
        text built from data), decoded one at a time so no table is ever held at once."""
        if self._unreadable:
            return None
        try:
            row = self._conn.execute(
                f"SELECT key, value, mac FROM {table} WHERE id = ?",  # noqa: S608 - fixed names
                (row_id,),
            ).fetchone()
        except sqlite3.Error as exc:
            self.stats.problems.append(f"verdict cache {self.path} unreadable: {exc}")
            self._unreadable = True
            return None
        if row is None:
            return None
        stored_key, value, mac = row
        if not all(isinstance(x, str) for x in (stored_key, value, mac)):
            self.stats.problems.append(f"{where} is corrupt (wrong column types): verified again")
            return None
        if stored_key != key_text:
            self.stats.problems.append(f"{where} is stored under another key: verified again")
            return None
        if not hmac.compare_digest(self._mac(stored_key, value), mac):
            self.stats.problems.append(
                f"{where} was not written on this machine or was altered (MAC mismatch): "
                "verified again"
            )
            return None
        try:
            return decode(json.loads(value))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            self.stats.problems.append(f"{where} does not decode ({exc}): verified again")
            return None

    def put_many(self, items: Iterable[tuple[VerdictKey, FileProvenance]]) -> None:
        """Store verdicts (replacing any row under the same key) in one transaction."""
        self._put(
            "verdicts",
            ((key.row_id(), key.text(), encode_verdict(verdict)) for key, verdict in items),
        )

    def put_log_checks(self, items: Iterable[tuple[LogCheckKey, LogCheckOutcome]]) -> None:
        """Store transparency-log entry outcomes, as `put_many` stores verdicts."""
        self._put(
            "log_checks",
            (
                (key.row_id(), key.text(), {"ok": out.ok, "reason": out.reason})
                for key, out in items
            ),
        )

    def _put(self, table: str, items: Iterable[tuple[str, str, Any]]) -> None:
        rows = []
        for row_id, key_text, data in items:
            value = json.dumps(data, sort_keys=True, ensure_ascii=False)
            rows.append((row_id, key_text, value, self._mac(key_text, value)))
        if not rows:
            return
        try:
            with self._conn:
                self._conn.execute("BEGIN")
                self._conn.executemany(
                    f"INSERT OR REPLACE INTO {table} (id, key, value, mac) "  # noqa: S608
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as exc:
            # A read-only case or a full disk costs the next run time, never this run's answer.
            self.stats.problems.append(f"verdict cache {self.path} not written: {exc}")
            return
        self.stats.stored += len(rows)


def _decode_check(data: Any) -> LogCheckOutcome:
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        raise ValueError("not an outcome object")
    return LogCheckOutcome(data["ok"], _str(data.get("reason", "")))
