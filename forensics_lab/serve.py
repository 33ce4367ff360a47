"""Loopback servers of the lab: PyPI (JSON, Simple, Integrity, files), Rekor v1 and GitHub subsets.

One `ThreadingHTTPServer` on one port serves a lab world directory (docs/architecture.md) the way
the real services answer, down to the details the collector must cope with (formats.md §1–§3, §6.2):
a 301 to the normalized project name, relative file URLs on mirrors, the three states of the Simple
API `provenance` key, Integrity API media types and 404 bodies, Rekor global vs shard indexes.
stdlib `http.server` on purpose: no extra dependency, and faults such as truncated bodies and TCP
resets need direct control over the socket, which WSGI frameworks hide.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import importlib
import json
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from packaging.utils import canonicalize_name
from packaging.version import Version

from forensics.errors import InputError, UsageError
from forensics.models import parse_time, utc
from forensics.versions import version_key
from forensics_lab._faults import FaultDecision, FaultInjector, FaultPlan
from forensics_lab._world import World, WorldFile, WorldRelease, load_world
from forensics_lab.merkle_tree import consistency_path, root_from_leaves

__all__ = ["FaultPlan", "LabServer", "register_serve_cli"]

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
INTEGRITY_JSON = "application/vnd.pypi.integrity.v1+json"
GITHUB_DOCS = "https://docs.github.com/rest"


@dataclass
class Reply:
    """A response before it is written (faults may still mangle it on the wire)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, obj: Any, content_type: str = "application/json", **headers: str) -> Reply:
    body = json.dumps(obj, indent=1, sort_keys=False).encode()
    return Reply(status, body, content_type, dict(headers))


def _paginated(items: Sequence[Any], url: str, query: Mapping[str, str]) -> Reply:
    """A GitHub list page: `per_page` (default 30, at most 100) and `page`, with a `Link` header
    naming the next, last, first and previous pages as GitHub does."""
    try:
        per_page = min(max(int(query.get("per_page", "30")), 1), 100)
        page = max(int(query.get("page", "1")), 1)
    except ValueError:
        return _github_error(422, "per_page and page must be integers")
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = list(items[(page - 1) * per_page : page * per_page])
    links = []

    def link(n: int, rel: str) -> str:
        return f'<{url}?per_page={per_page}&page={n}>; rel="{rel}"'

    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    headers = {"Link": ", ".join(links)} if links else {}
    return _json(200, chunk, **headers)


def _rekor_error(status: int, message: str) -> Reply:
    # Rekor's go-swagger error model: {"code": <int>, "message": <str>}.
    return _json(status, {"code": status, "message": message})


def _github_error(status: int, message: str = "Not Found") -> Reply:
    return _json(
        status, {"message": message, "documentation_url": GITHUB_DOCS, "status": str(status)}
    )


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """Pick the offer the `Accept` header prefers (RFC 9110 §12.5.1); None when none is acceptable.

    Hand-written because the stdlib has no content negotiation; it only needs exact types,
    `type/*`, `*/*` and q-values. A missing header accepts the first offer.
    """
    if not accept or not accept.strip():
        return offers[0] if offers else None
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((media.lower(), q))
    best: tuple[float, int] | None = None
    choice = None
    for order, offer in enumerate(offers):
        main = offer.split("/")[0]
        matches = [
            (3 if m == offer else 2 if m == f"{main}/*" else 1, q)
            for m, q in ranges
            if m in (offer, f"{main}/*", "*/*")
        ]
        if not matches:
            continue
        q = max(matches)[1]  # the most specific range decides the quality
        if q > 0 and (best is None or (q, -order) > best):
            best, choice = (q, -order), offer
    return choice


class LabServer:
    """Serve a lab world over HTTP on loopback. Use as a context manager or `start()`/`stop()`."""

    def __init__(
        self,
        world_dir: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        as_of: datetime | None = None,
        pep740: bool = True,
        relative_urls: bool = False,
        faults: FaultPlan = FaultPlan(),  # noqa: B008 - FaultPlan is frozen, sharing it is safe
    ) -> None:
        """Load the world (errors surface here, not per request); nothing listens until start()."""
        self.world: World = load_world(world_dir)
        self.host = host
        self.port = port
        self.as_of = utc(as_of) if as_of is not None else None
        self.pep740 = pep740
        self.relative_urls = relative_urls
        self.faults = faults
        self._visible_cache: list[tuple[WorldRelease, list[WorldFile]]] | None = None
        self._files_cache: dict[tuple[str, str], WorldFile] = {}
        self.errors: list[str] = []
        """Tracebacks of requests the lab itself failed to answer (a lab bug, never a fault)."""
        self._injector = FaultInjector(faults)
        self._log: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.normalized = canonicalize_name(self.world.project)
        self._by_uuid: dict[str, str] = {}
        self._by_index: dict[int, str] = {}
        cutoff = self.as_of.timestamp() if self.as_of is not None else None
        for entry_id, entry in self.world.entries.items():
            # `as_of` also hides log entries integrated later. The tree head and proofs stay
            # those of the final log: the lab signs no checkpoint at serving time.
            when = entry.get("integratedTime")
            if cutoff is not None and isinstance(when, int) and when > cutoff:
                continue
            self._by_uuid[entry_id[-64:].lower()] = entry_id
            index = entry.get("logIndex")
            if isinstance(index, int):
                self._by_index[index] = entry_id

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LabServer:
        """Bind and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        try:
            httpd = _HTTPServer((self.host, self.port), _Handler)
        except OSError as exc:
            raise UsageError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        httpd.lab = self
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> LabServer:
        """Start on entry."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on exit."""
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def set_faults(self, faults: FaultPlan) -> None:
        """Replace the fault plan while serving (e.g. the source recovers from an outage)."""
        injector = FaultInjector(faults)
        with self._lock:
            self.faults, self._injector = faults, injector

    def request_count(self, path_prefix: str = "") -> int:
        """How many requests (faulted or not) arrived for paths starting with `path_prefix`."""
        with self._lock:
            return sum(1 for _, path in self._log if path.startswith(path_prefix))

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request so far as (method, path), in arrival order."""
        with self._lock:
            return list(self._log)

    def _record(self, method: str, path: str) -> FaultDecision:
        with self._lock:
            self._log.append((method, path))
            injector = self._injector
        return injector.decide(path)

    # -- routing -----------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request (without faults). `target` is the raw request target."""
        split = urlsplit(target)
        raw = split.path.split("/")[1:]
        parts = [unquote(p) for p in raw]
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        accept = headers.get("Accept")
        head = parts[0] if parts else ""
        if method == "POST":
            if parts[:2] == ["api", "v1"]:
                return self._rekor_post(parts[2:], body)
            return _json(405, {"message": "Method Not Allowed"})
        if head == "pypi":
            return self._pypi_json(split.path, parts[1:], split.query)
        if head == "simple":
            return self._simple(split.path, parts[1:], accept, split.query)
        if head == "integrity":
            return self._integrity(parts[1:], accept)
        if head == "packages":
            return self._download(parts[1:])
        if parts[:2] == ["api", "v1"]:
            return self._rekor_get(parts[2:], query)
        if head == "repos":
            return self._github(parts[1:], query)
        return _json(404, {"message": "Not Found"})

    # -- the index as it stood at as_of --------------------------------------------------------

    def _visible(self) -> list[tuple[WorldRelease, list[WorldFile]]]:
        """Releases and files the index lists: deleted releases vanish, later uploads are hidden.

        Computed once (the world and `as_of` never change while serving): recomputing it for
        every Integrity API request made the lab, not the collector, the bottleneck of large
        histories (O(releases) per request).
        """
        cached = self._visible_cache
        if cached is None:
            cached = self._visible_cache = self._compute_visible()
            self._files_cache = {
                (rel.version, f.filename): f for rel, files in cached for f in files
            }
        return cached

    def _compute_visible(self) -> list[tuple[WorldRelease, list[WorldFile]]]:
        out = []
        for rel in self.world.releases:
            if self.as_of is None:
                if rel.deleted_at is not None:
                    continue
                files = list(rel.files)
            else:
                if rel.deleted_at is not None and rel.deleted_at <= self.as_of:
                    continue
                files = [f for f in rel.files if f.upload_time <= self.as_of]
                if rel.files and not files:
                    continue  # the release did not exist yet: its first upload creates it
            out.append((rel, sorted(files, key=lambda f: (f.upload_time, f.filename))))
        out.sort(key=lambda item: version_key(item[0].version))
        return out

    def _serial(self, visible: list[tuple[WorldRelease, list[WorldFile]]]) -> int:
        # A stand-in for PyPI's journal serial: it grows with every event the index shows.
        return sum(1 + len(files) for _, files in visible)

    def _file_url(self, f: WorldFile, request_path: str) -> str:
        digest = f.blake2b_256 or f.digests["sha256"]
        tail = f"packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{quote(f.filename, safe='')}"
        if self.relative_urls:
            # Like the sandbox mirror (formats.md §1.1): relative to the page that lists the file.
            return "../" * (request_path.count("/") - 1) + tail
        return f"{self.url}/{tail}"

    def _provenance_url(self, f: WorldFile) -> str:
        return (
            f"{self.url}/integrity/{self.normalized}/{quote(f.version, safe='')}/"
            f"{quote(f.filename, safe='')}/provenance"
        )

    def _latest(self, visible: list[tuple[WorldRelease, list[WorldFile]]]) -> WorldRelease | None:
        # warehouse: yanked releases sort last, then pre-releases, then version order.
        def rank(rel: WorldRelease) -> tuple[bool, bool, tuple[int, Version | str]]:
            key = version_key(rel.version)
            pre = isinstance(key[1], Version) and key[1].is_prerelease
            return (not rel.yanked_by(self.as_of), not pre, key)

        releases = [rel for rel, _ in visible]
        return max(releases, key=rank) if releases else None

    # -- PyPI JSON API ---------------------------------------------------------------------------

    def _file_json(self, f: WorldFile, rel: WorldRelease, path: str) -> dict[str, Any]:
        return {
            "comment_text": "",
            "digests": {k: f.digests.get(k) for k in ("blake2b_256", "md5", "sha256")},
            "downloads": -1,
            "filename": f.filename,
            "has_sig": False,
            "md5_digest": f.digests.get("md5"),
            "packagetype": f.packagetype,
            "python_version": f.python_version,
            "requires_python": f.requires_python,
            "size": f.size,
            "upload_time": utc(f.upload_time).strftime("%Y-%m-%dT%H:%M:%S"),
            "upload_time_iso_8601": utc(f.upload_time).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "url": self._file_url(f, path),
            "yanked": rel.yanked_by(self.as_of),
            "yanked_reason": rel.yanked_reason if rel.yanked_by(self.as_of) else None,
        }

    def _info(self, rel: WorldRelease | None, files: list[WorldFile]) -> dict[str, Any]:
        version = rel.version if rel else None
        info: dict[str, Any] = {
            "author": None,
            "author_email": None,
            "bugtrack_url": None,
            "classifiers": [],
            "description": "",
            "description_content_type": None,
            "docs_url": None,
            "download_url": None,
            "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
            "dynamic": None,
            "home_page": None,
            "keywords": None,
            "license": None,
            "license_expression": None,
            "license_files": None,
            "maintainer": None,
            "maintainer_email": None,
            "name": self.world.display_name,
            "package_url": f"{self.url}/project/{self.normalized}/",
            "platform": None,
            "project_url": f"{self.url}/project/{self.normalized}/",
            "project_urls": None,
            "provides_extra": None,
            "release_url": f"{self.url}/project/{self.normalized}/{version}/",
            "requires_dist": None,
            "requires_python": files[0].requires_python if files else None,
            "summary": None,
            "version": version,
            "yanked": rel.yanked_by(self.as_of) if rel else False,
            "yanked_reason": rel.yanked_reason if rel and rel.yanked_by(self.as_of) else None,
        }
        info.update(self.world.info)
        return info

    def _pypi_json(self, path: str, parts: list[str], query: str) -> Reply:
        if len(parts) not in (2, 3) or parts[-1] != "json":
            return _json(404, {"message": "Not Found"})
        name = parts[0]
        if canonicalize_name(name) != self.normalized:
            return _json(404, {"message": "Not Found"})
        if name != self.normalized:
            # warehouse answers with a path-only Location (request.current_route_path).
            location = "/pypi/" + "/".join(quote(p, safe="") for p in [self.normalized, *parts[1:]])
            return _json(
                301,
                {"message": "Moved Permanently"},
                Location=location + (f"?{query}" if query else ""),
            )
        visible = self._visible()
        serial = str(self._serial(visible))
        by_version = {rel.version: (rel, files) for rel, files in visible}
        common = {"ownership": {"organization": None, "roles": []}, "vulnerabilities": []}
        if len(parts) == 3:
            if parts[1] not in by_version:
                return _json(404, {"message": "Not Found"})
            rel, files = by_version[parts[1]]
            doc = {
                "info": self._info(rel, files),
                "last_serial": int(serial),
                **common,
                "urls": [self._file_json(f, rel, path) for f in files],
            }
            return _json(200, doc, **{"X-PyPI-Last-Serial": serial})
        latest = self._latest(visible)
        latest_files = by_version[latest.version][1] if latest else []
        doc = {
            "info": self._info(latest, latest_files),
            "last_serial": int(serial),
            **common,
            "releases": {
                rel.version: [self._file_json(f, rel, path) for f in files]
                for rel, files in visible
            },
            "urls": [self._file_json(f, latest, path) for f in latest_files] if latest else [],
        }
        return _json(200, doc, **{"X-PyPI-Last-Serial": serial})

    # -- PyPI Simple API ---------------------------------------------------------------------------

    def _simple(self, path: str, parts: list[str], accept: str | None, query: str) -> Reply:
        if not parts or not parts[0]:
            return Reply(404, b"404 Not Found", "text/plain")
        name = parts[0]
        if (
            canonicalize_name(name) != self.normalized
            or len(parts) > 2
            or (len(parts) == 2 and parts[1])
        ):
            return Reply(404, b"404 Not Found", "text/plain")
        if name != self.normalized or len(parts) == 1:
            location = f"/simple/{self.normalized}/" + (f"?{query}" if query else "")
            return Reply(301, b"", "text/plain", {"Location": location})
        offers = [SIMPLE_JSON, SIMPLE_HTML, "text/html"]
        # PyPI serves HTML when the client states no preference; the JSON form must be asked for.
        chosen = negotiate(accept, ["text/html", SIMPLE_HTML, SIMPLE_JSON])
        if chosen is None or chosen not in offers:
            return Reply(406, b"406 Not Acceptable", "text/plain")
        visible = self._visible()
        files = sorted(
            ((rel, f) for rel, fs in visible for f in fs),
            key=lambda rf: (version_key(rf[0].version), rf[1].filename),
        )
        api_version = "1.3" if self.pep740 else "1.1"
        serial = str(self._serial(visible))
        headers = {"X-PyPI-Last-Serial": serial, "Vary": "Accept"}
        if chosen == SIMPLE_JSON:
            entries = []
            for rel, f in files:
                entry: dict[str, Any] = {
                    "filename": f.filename,
                    "hashes": {"sha256": f.digests["sha256"]},
                    "requires-python": f.requires_python,
                    "size": f.size,
                    "upload-time": utc(f.upload_time).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "url": self._file_url(f, path),
                    "yanked": (rel.yanked_reason or True) if rel.yanked_by(self.as_of) else False,
                }
                if self.pep740:
                    entry["provenance"] = self._provenance_url(f) if f.provenance else None
                entries.append(entry)
            doc = {
                "meta": {"api-version": api_version, "_last-serial": int(serial)},
                "name": self.normalized,
                "versions": [rel.version for rel, _ in visible],
                "files": entries,
            }
            return _json(200, doc, SIMPLE_JSON, **headers)
        links = []
        for rel, f in files:
            attrs = [f'href="{html.escape(self._file_url(f, path))}#sha256={f.digests["sha256"]}"']
            if f.requires_python:
                attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
            if rel.yanked_by(self.as_of):
                attrs.append(f'data-yanked="{html.escape(rel.yanked_reason or "")}"')
            if self.pep740 and f.provenance:
                attrs.append(f'data-provenance="{html.escape(self._provenance_url(f))}"')
            links.append(f"    <a {' '.join(attrs)}>{html.escape(f.filename)}</a><br />")
        page = (
            "<!DOCTYPE html>\n<html>\n  <head>\n"
            f'    <meta name="pypi:repository-version" content="{api_version}">\n'
            f"    <title>Links for {html.escape(self.normalized)}</title>\n  </head>\n  <body>\n"
            f"    <h1>Links for {html.escape(self.normalized)}</h1>\n"
            + "\n".join(links)
            + "\n  </body>\n</html>\n"
        )
        return Reply(200, page.encode(), f"{chosen}; charset=utf-8", headers)

    # -- PyPI Integrity API and downloads ----------------------------------------------------------

    def _visible_file(self, version: str, filename: str) -> WorldFile | None:
        self._visible()
        return self._files_cache.get((version, filename))

    def _integrity(self, parts: list[str], accept: str | None) -> Reply:
        if len(parts) != 4 or parts[3] != "provenance":
            return _json(404, {"message": "Not Found"})
        chosen = negotiate(accept, [INTEGRITY_JSON, "application/json"])
        if chosen is None:
            return _json(406, {"message": "Request not acceptable"})
        if not self.pep740:
            return _json(404, {"message": "Not Found"})  # a mirror without the route
        name, version, filename = parts[:3]
        f = self._visible_file(version, filename) if name == self.normalized else None
        if f is None or f.provenance is None:
            return _json(404, {"message": f"No provenance available for {filename}"})
        blob = self._world_bytes(f.provenance)
        if blob is None:
            return _json(404, {"message": f"No provenance available for {filename}"})
        headers = {"Cache-Control": "max-age=600, public", "Vary": "Accept"}
        return Reply(200, blob, chosen, headers)

    def _world_bytes(self, relative: str) -> bytes | None:
        root = self.world.root.resolve()
        path = (root / relative).resolve()
        if root not in path.parents or not path.is_file():
            return None
        return path.read_bytes()

    def _download(self, parts: list[str]) -> Reply:
        if len(parts) != 4:
            return Reply(404, b"404 Not Found", "text/plain")
        f = self.world.file(parts[3])
        if f is None:
            return Reply(404, b"404 Not Found", "text/plain")
        digest = f.blake2b_256 or f.digests["sha256"]
        if "".join(parts[:3]) != digest or self._visible_file(f.version, f.filename) is None:
            return Reply(404, b"404 Not Found", "text/plain")
        blob = self._world_bytes(f"files/{f.filename}")
        if blob is None:
            return Reply(404, b"404 Not Found", "text/plain")
        return Reply(200, blob, "application/octet-stream")

    # -- Rekor v1 ---------------------------------------------------------------------------------

    def _entry(self, entry_id: str) -> dict[str, Any]:
        return {entry_id: self.world.entries[entry_id]}

    def _lookup(self, key: str) -> str | None:
        key = key.lower()
        if len(key) in (64, 80):
            return self._by_uuid.get(key[-64:])
        return None

    def _rekor_get(self, parts: list[str], query: dict[str, str]) -> Reply:
        log = self.world.log
        if log is None:
            return _rekor_error(404, "this lab world has no Rekor log")
        leaves = [bytes.fromhex(h) for h in log["leaves"]]
        if parts == ["log"]:
            return _json(
                200,
                {
                    "rootHash": log["rootHash"],
                    "signedTreeHead": log["signedTreeHead"],
                    "treeID": str(log["treeID"]),
                    "treeSize": log["treeSize"],
                    "inactiveShards": [
                        {**shard, "treeID": str(shard["treeID"])}
                        for shard in log.get("inactiveShards", [])
                    ],
                },
            )
        if parts == ["log", "publicKey"]:
            return Reply(200, str(log["publicKey"]).encode(), "application/x-pem-file")
        if parts == ["log", "entries"]:
            text = query.get("logIndex", "")
            if not text.isdigit():
                return _rekor_error(400, "logIndex must be a non-negative integer")
            entry_id = self._by_index.get(int(text))
            if entry_id is None:
                return _rekor_error(404, f"no entry at logIndex {text}")
            return _json(200, self._entry(entry_id))
        if len(parts) == 3 and parts[:2] == ["log", "entries"]:
            key = parts[2].lower()
            if len(key) not in (64, 80) or any(c not in "0123456789abcdef" for c in key):
                return _rekor_error(400, f"{parts[2]!r} is not a valid entry UUID or entry ID")
            entry_id = self._lookup(key)
            if entry_id is None:
                return _rekor_error(404, f"entry {parts[2]} not found")
            return _json(200, self._entry(entry_id))
        if parts == ["log", "proof"]:
            tree_id = query.get("treeID")
            if tree_id and tree_id != str(log["treeID"]):
                return _rekor_error(400, "the lab serves proofs for the active shard only")
            first, last = query.get("firstSize", "1"), query.get("lastSize", "")
            if not (first.isdigit() and last.isdigit()):
                return _rekor_error(400, "firstSize and lastSize must be integers")
            m, n = int(first), int(last)
            if not 0 < m <= n <= len(leaves):
                return _rekor_error(
                    400, f"cannot prove consistency from {m} to {n} (tree size {len(leaves)})"
                )
            return _json(
                200,
                {
                    "rootHash": root_from_leaves(leaves[:n]).hex(),
                    "hashes": [h.hex() for h in consistency_path(m, leaves[:n])],
                },
            )
        return _rekor_error(404, "path not found")

    def _rekor_post(self, parts: list[str], body: bytes) -> Reply:
        try:
            request = json.loads(body or b"null")
        except ValueError as exc:
            return _rekor_error(400, f"request body is not JSON: {exc}")
        if not isinstance(request, dict):
            return _rekor_error(422, "request body must be a JSON object")
        if parts == ["log", "entries", "retrieve"]:
            found: list[dict[str, Any]] = []
            uuids, indexes = request.get("entryUUIDs"), request.get("logIndexes")
            if request.get("entries"):
                return _rekor_error(422, "searching by proposed entry is not supported by the lab")
            keys = (
                uuids if isinstance(uuids, list) else indexes if isinstance(indexes, list) else None
            )
            if keys is None:
                return _rekor_error(422, "give entryUUIDs or logIndexes")
            if len(keys) > 10:
                return _rekor_error(422, "at most 10 entries per request")
            for key in keys:
                if keys is uuids:
                    entry_id = self._lookup(str(key))
                elif isinstance(key, int) and not isinstance(key, bool):
                    entry_id = self._by_index.get(key)
                else:
                    entry_id = None
                if entry_id is not None:
                    found.append(self._entry(entry_id))
            return _json(200, found)
        if parts == ["index", "retrieve"]:
            if self.world.log is None:
                return _rekor_error(404, "this lab world has no Rekor log")
            results: list[list[str]] = []
            if isinstance(request.get("hash"), str):
                value = request["hash"].lower()
                results.append(
                    list(self.world.search.get(value if ":" in value else f"sha256:{value}", ()))
                )
            results.extend(
                list(self.world.search.get(f"{kind}:{request[kind].lower()}", ()))
                for kind in ("subject", "email")
                if isinstance(request.get(kind), str)
            )
            if "publicKey" in request:
                return _rekor_error(422, "search by public key is not supported by the lab")
            if not results:
                return _rekor_error(422, "give hash, subject or email")
            if request.get("operator") == "or":
                merged = list(dict.fromkeys(u for r in results for u in r))
            else:
                merged = [u for u in results[0] if all(u in r for r in results[1:])]
            return _json(200, [u for u in merged if self._lookup(u) is not None])
        return _rekor_error(404, "path not found")

    # -- GitHub REST subset ---------------------------------------------------------------------

    def _github(self, parts: list[str], query: dict[str, str]) -> Reply:
        if len(parts) < 2 or not all(parts[:2]):
            return _github_error(404)
        repo = f"{parts[0]}/{parts[1]}"
        if self.world.repository is not None and repo.lower() != self.world.repository.lower():
            return _github_error(404)
        rest = parts[2:]
        api = f"{self.url}/repos/{repo}"
        # `as_of`: the repository as it stood then (commits, tags on them, runs created before).
        commits = [c for c in self.world.commits if self._before(c.get("date"))]
        dated = {c.get("sha"): c.get("date") for c in self.world.commits}
        tags = [
            t
            for t in self.world.tags
            if self._before(t.get("created_at") or dated.get(t.get("commit")))
            and not (t.get("deleted_at") and self._before(t.get("deleted_at")))
        ]
        all_runs = [r for r in self.world.runs if self._before(r.get("created_at"))]
        if len(rest) == 2 and rest[0] == "commits":
            ref = rest[1].lower()
            matches = [c for c in commits if str(c.get("sha", "")).startswith(ref)]
            if len(ref) < 4 or len(matches) != 1:
                return _github_error(422, f"No commit found for SHA: {rest[1]}")
            return _json(200, self._commit_json(matches[0], api))
        if rest == []:
            return self._repository_json(repo, commits)
        if rest == ["tags"]:
            # GitHub lists tags newest first (by name, descending), 30 a page by default, at most
            # 100, with RFC 8288 `Link` headers to the other pages.
            ordered = sorted(
                tags, key=lambda t: version_key(str(t["name"]).lstrip("v")), reverse=True
            )
            return _paginated(
                [
                    {
                        "name": t["name"],
                        "commit": {"sha": t["commit"], "url": f"{api}/commits/{t['commit']}"},
                        "zipball_url": f"{api}/zipball/refs/tags/{t['name']}",
                        "tarball_url": f"{api}/tarball/refs/tags/{t['name']}",
                    }
                    for t in ordered
                ],
                f"{api}/tags",
                query,
            )
        branches = {
            b: sha
            for b, sha in dict(self.world.github_repository.get("branches", {})).items()
            if any(c.get("sha") == sha for c in commits)
        }
        if rest == ["branches"]:
            return _paginated(
                [
                    {"name": b, "commit": {"sha": sha, "url": f"{api}/commits/{sha}"}}
                    for b, sha in sorted(branches.items())
                ],
                f"{api}/branches",
                query,
            )
        if len(rest) >= 2 and rest[0] == "branches":
            name = "/".join(rest[1:])
            if name not in branches:
                return _github_error(404, "Branch not found")
            head = next(c for c in commits if c.get("sha") == branches[name])
            return _json(200, {"name": name, "commit": self._commit_json(head, api)})
        if len(rest) >= 2 and rest[0] == "compare":
            return self._compare("/".join(rest[1:]), commits, tags, branches, api)
        if len(rest) >= 4 and rest[:3] == ["git", "ref", "tags"]:
            name = "/".join(rest[3:])
            for t in tags:
                if t.get("name") == name:
                    return _json(
                        200,
                        {
                            "ref": f"refs/tags/{name}",
                            "url": f"{api}/git/refs/tags/{name}",
                            "object": {
                                "sha": t["commit"],
                                "type": "commit",
                                "url": f"{api}/git/commits/{t['commit']}",
                            },
                        },
                    )
            return _github_error(404)
        if rest == ["actions", "runs"]:
            filters = {
                "head_sha": "head_sha",
                "event": "event",
                "branch": "head_branch",
                "status": "status",
            }
            runs = [
                r
                for r in all_runs
                if all(
                    str(r.get(field_)) == query[param]
                    for param, field_ in filters.items()
                    if param in query
                )
            ]
            return _json(
                200,
                {"total_count": len(runs), "workflow_runs": [self._run_json(r, api) for r in runs]},
            )
        if len(rest) == 3 and rest[:2] == ["actions", "runs"]:
            for r in all_runs:
                if str(r.get("id")) == rest[2]:
                    return _json(200, self._run_json(r, api))
            return _github_error(404)
        return _github_error(404)

    def _repository_json(self, repo: str, commits: Sequence[Mapping[str, Any]]) -> Reply:
        meta = self.world.github_repository
        if not meta:
            return _github_error(404)
        owner = repo.split("/")[0]
        dates = sorted(str(c["date"]) for c in commits if c.get("date"))
        created = meta.get("created_at") or (dates[0] if dates else None)
        if created and not self._before(created):
            return _github_error(404)
        return _json(
            200,
            {
                "id": int(meta["id"]) if str(meta.get("id") or "").isdigit() else None,
                "name": repo.split("/")[1],
                "full_name": meta.get("full_name", repo),
                "owner": {
                    "login": owner,
                    "id": int(meta["owner_id"])
                    if str(meta.get("owner_id") or "").isdigit()
                    else None,
                },
                "html_url": f"https://github.com/{repo}",
                "created_at": created,
                "default_branch": meta.get("default_branch", "main"),
            },
        )

    def _compare(
        self,
        spec: str,
        commits: Sequence[Mapping[str, Any]],
        tags: Sequence[Mapping[str, Any]],
        branches: Mapping[str, str],
        api: str,
    ) -> Reply:
        """`GET /compare/{base}...{head}`: status, ahead/behind counts, merge base."""
        base_ref, sep, head_ref = spec.partition("...")
        if not sep:
            return _github_error(404)
        parents = {str(c["sha"]): [str(p) for p in c.get("parents", [])] for c in commits}
        tag_sha = {str(t["name"]): str(t["commit"]) for t in tags}

        def resolve(ref: str) -> str | None:
            if ref in branches:
                return branches[ref]
            if ref in tag_sha:
                return tag_sha[ref]
            found = [sha for sha in parents if sha.startswith(ref.lower())] if len(ref) >= 4 else []
            return found[0] if len(found) == 1 else None

        def ancestors(sha: str) -> set[str]:
            seen, todo = set(), [sha]
            while todo:
                cur = todo.pop()
                if cur in seen:
                    continue
                seen.add(cur)
                todo.extend(p for p in parents.get(cur, []) if p in parents)
            return seen

        base, head = resolve(base_ref), resolve(head_ref)
        if base is None or head is None:
            return _github_error(404, "Not Found")
        a_base, a_head = ancestors(base), ancestors(head)
        ahead, behind = a_head - a_base, a_base - a_head
        common = a_base & a_head
        merge_base = max(
            common, key=lambda sha: len(ancestors(sha)), default=None
        )  # the nearest common ancestor has the most ancestors
        if base == head:
            status = "identical"
        elif not behind:
            status = "ahead"
        elif not ahead:
            status = "behind"
        else:
            status = "diverged"
        by_sha = {str(c["sha"]): c for c in commits}
        return _json(
            200,
            {
                "url": f"{api}/compare/{spec}",
                "status": status,
                "ahead_by": len(ahead),
                "behind_by": len(behind),
                "total_commits": len(ahead),
                "merge_base_commit": self._commit_json(by_sha[merge_base], api)
                if merge_base
                else None,
                "commits": [self._commit_json(by_sha[sha], api) for sha in sorted(ahead)],
            },
        )

    def _before(self, when: object) -> bool:
        if self.as_of is None or not isinstance(when, str):
            return True
        try:
            return parse_time(when) <= self.as_of
        except ValueError:
            return True

    @staticmethod
    def _commit_json(c: Mapping[str, Any], api: str) -> dict[str, Any]:
        def person(name_key: str, email_key: str) -> dict[str, Any]:
            return {"name": c.get(name_key), "email": c.get(email_key), "date": c.get("date")}

        return {
            "sha": c["sha"],
            "url": f"{api}/commits/{c['sha']}",
            "commit": {
                "author": person("author", "author_email"),
                "committer": person("committer", "committer_email"),
                "message": c.get("message", ""),
            },
            "parents": [{"sha": p, "url": f"{api}/commits/{p}"} for p in c.get("parents", [])],
            "files": [{"filename": p} for p in c.get("files", [])],
        }

    @staticmethod
    def _run_json(r: Mapping[str, Any], api: str) -> dict[str, Any]:
        out = dict(r)
        actor = r.get("actor")
        out["actor"] = {"login": actor} if isinstance(actor, str) else actor
        out["url"] = f"{api}/actions/runs/{r.get('id')}"
        return out


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: a collector opening its `--concurrency`
    # connections at once overflowed it, and each dropped SYN cost that connection the client's
    # 1 s retransmission timeout. A real index or log accepts a burst of connections.
    request_queue_size = 128
    lab: LabServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so truncation and resets hit pooled connections too
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body are separate writes; without TCP_NODELAY, Nagle's algorithm plus the
        # client's delayed ACK add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests count requests through `LabServer.request_count`."""

    def _serve(self, method: str) -> None:
        lab = self.server.lab
        declared = self.headers.get("Content-Length") or "0"
        if not declared.isdigit():
            self.close_connection = True
            self._send(_json(400, {"message": "bad Content-Length"}), FaultDecision())
            return
        body = self.rfile.read(int(declared))
        decision = lab._record(method, urlsplit(self.path).path)
        if decision.delay_s:
            time.sleep(decision.delay_s)
        if decision.reset:
            self._reset()
            return
        if decision.throttle:
            headers = {"Retry-After": lab.faults.retry_after} if lab.faults.retry_after else {}
            reply = _json(429, {"message": "Too Many Requests"}, **headers)
        elif decision.error:
            reply = _json(lab.faults.error_status, {"message": "lab fault: server error"})
        else:
            try:
                reply = lab.handle(method, self.path, _headers(self.headers), body)
            except Exception:
                lab.errors.append(traceback.format_exc())
                reply = _json(500, {"message": "lab server error (see LabServer.errors)"})
            else:
                reply = _conditional(method, reply, self.headers.get("If-None-Match"))
        self._send(reply, decision)

    def _send(self, reply: Reply, decision: FaultDecision) -> None:
        body = reply.body
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        announced = len(body) if not decision.truncate else max(len(body), 1)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        if decision.truncate:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)  # FIN before the announced length
            return
        if decision.drip and body:
            step = self.server.lab.faults.drip_bytes
            delay = self.server.lab.faults.drip_delay_ms / 1000.0
            for start in range(0, len(body), step):
                self.wfile.write(body[start : start + step])
                self.wfile.flush()
                if start + step < len(body):
                    time.sleep(delay)
            return
        self.wfile.write(body)

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout turns close() into a TCP RST. The buffered file objects
        # hold references to the socket, so they must be closed first or close() is deferred.
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.wfile.close()
        self.rfile.close()
        self.connection.close()


def _conditional(method: str, reply: Reply, if_none_match: str | None) -> Reply:
    """Strong ETag on every 200 GET (a digest of the body), and 304 when the client holds it.

    Like PyPI's CDN: a client refreshing a case revalidates instead of downloading again.
    """
    if method != "GET" or reply.status != 200:
        return reply
    etag = f'"{hashlib.sha256(reply.body).hexdigest()[:32]}"'
    reply.headers["ETag"] = etag
    if if_none_match is not None and etag in (t.strip() for t in if_none_match.split(",")):
        return Reply(304, b"", reply.content_type, {"ETag": etag})
    return reply


def _headers(message: Message) -> dict[str, str]:
    # Header names are case-insensitive: canonicalise them so routes can read "Accept".
    return {name.title(): value for name, value in message.items()}


# -- command line --------------------------------------------------------------------------------


def register_serve_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve` to the `forensics lab` subcommands (sets `func(args) -> int`)."""
    p = subparsers.add_parser(
        "serve",
        help="serve a lab world (or a scenario, built first) on loopback",
        description="Serve PyPI, Rekor and GitHub look-alikes for a lab world until Ctrl-C.",
    )
    p.add_argument("target", help="a world directory (with world.json) or a scenario file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--as-of", help="show the index as it stood at this ISO 8601 time")
    p.add_argument("--mirror", action="store_true", help="behave like a mirror without PEP 740")
    p.add_argument("--relative-urls", action="store_true", help="relative file URLs, like mirrors")
    p.add_argument("--latency", type=float, default=0.0, metavar="MS")
    p.add_argument("--jitter", type=float, default=0.0, metavar="MS")
    p.add_argument("--fail-rate", type=float, default=0.0, help="fraction of 5xx answers")
    p.add_argument("--throttle-rate", type=float, default=0.0, help="fraction of 429 answers")
    p.add_argument("--retry-after", default="1", help="Retry-After sent with 429 answers")
    p.add_argument("--truncate-rate", type=float, default=0.0)
    p.add_argument("--reset-rate", type=float, default=0.0)
    p.add_argument("--fault-path", default="", help="limit faults to paths with this prefix")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_serve)


def _build_from_scenario(path: Path, out: Path) -> None:
    # Imported lazily: the builder is large, and serving a ready world must not need it.
    scenario = importlib.import_module("forensics_lab.scenario")
    build = importlib.import_module("forensics_lab.build")
    build.build_world(scenario.load_scenario(path), out)


def serve_options(args: argparse.Namespace) -> tuple[datetime | None, FaultPlan]:
    """The `--as-of` time and the fault knobs of `forensics lab serve` (worlds and fleets)."""
    try:
        as_of = parse_time(args.as_of) if args.as_of else None
    except ValueError as exc:
        raise UsageError(f"--as-of {args.as_of!r} is not an ISO 8601 time: {exc}") from exc
    faults = FaultPlan(
        seed=args.seed,
        path_prefix=args.fault_path,
        latency_ms=args.latency,
        jitter_ms=args.jitter,
        error_rate=args.fail_rate,
        throttle_rate=args.throttle_rate,
        retry_after=args.retry_after,
        truncate_rate=args.truncate_rate,
        reset_rate=args.reset_rate,
    )
    return as_of, faults


def run_serve(args: argparse.Namespace, *, ready: Callable[[LabServer], None] | None = None) -> int:
    """Serve until interrupted; `ready` (tests) is called once listening instead of blocking."""
    target = Path(args.target)
    as_of, faults = serve_options(args)
    with tempfile.TemporaryDirectory(prefix="forensics-world-") as tmp:
        if target.is_dir():
            world_dir = target
        elif target.is_file():
            world_dir = Path(tmp) / "world"
            _build_from_scenario(target, world_dir)
        else:
            raise InputError(f"{target} is neither a world directory nor a scenario file")
        server = LabServer(
            world_dir,
            host=args.host,
            port=args.port,
            as_of=as_of,
            pep740=not args.mirror,
            relative_urls=args.relative_urls,
            faults=faults,
        )
        with server:
            print(f"serving {server.world.project} at {server.url}", flush=True)
            print(f"  FORENSICS_INDEX_URL={server.url}", flush=True)
            if ready is not None:
                ready(server)
                return 0
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                print("stopped", file=sys.stderr)
    return 0
