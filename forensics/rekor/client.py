"""Rekor v1 REST client (live, with retries and evidence capture) and its offline twin.

`RekorClient` talks to a Rekor v1 log through an injected `requests.Session`; every answer,
errors included, is written to the evidence store before it is interpreted, so `RecordedRekor`
can later give the same answers from the case alone (`--offline`). Both share one reader class:
the only difference is where the bytes of a request come from.

sigstore-python's `RekorClient` is private and has no search method (formats.md §6.2), so the
few endpoints we need are written here with `requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import requests

from forensics.collect.http import Fetcher, RequestsWire, is_retryable
from forensics.errors import OfflineMiss, SourceResponseError, SourceUnavailable
from forensics.evidence.store import NO_ANSWER, EvidenceStore, StoredResponse
from forensics.rekor.entry import LogInfo, MalformedEntry, RekorEntry, split_entry_id

DEFAULT_URL = "https://rekor.sigstore.dev"
SOURCE = "rekor"
# Rekor's retrieve endpoints accept at most 10 UUIDs per request (openapi.yaml maxItems).
RETRIEVE_BATCH = 10


class EntryNotFound(SourceResponseError):
    """The log answered 404 for an entry."""

    reference = "rekor-entry-not-found"


@dataclass(frozen=True)
class SearchResult:
    """The answer of `POST /api/v1/index/retrieve`."""

    query: Mapping[str, str]
    uuids: tuple[str, ...]
    supported: bool = True
    """False when the log rejected the query kind (old Rekor without `subject` search)."""
    reason: str = ""

    def __bool__(self) -> bool:
        """True when the search ran and found something."""
        return self.supported and bool(self.uuids)


@dataclass(frozen=True)
class ConsistencyProof:
    """`GET /api/v1/log/proof`: hashes from tree size `first` to `last`."""

    first_size: int
    last_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]
    tree_id: str | None


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


class _RekorReader:
    """The read API over some source of answers (live HTTP or the evidence store)."""

    base_url: str

    def _fetch(self, method: str, url: str, body: bytes | None) -> _Answer:
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"

    def _request(self, path: str, payload: Any | None) -> tuple[str, bytes | None]:
        # Deterministic request bytes: the evidence store keys POSTs by their body hash, so the
        # offline reader must produce the very same bytes.
        body = None if payload is None else json.dumps(payload, sort_keys=True).encode()
        return self._url(path), body

    def _json(self, method: str, path: str, payload: Any | None = None) -> tuple[_Answer, Any]:
        url, body = self._request(path, payload)
        answer = self._fetch(method, url, body)
        if is_retryable(answer.status):
            raise SourceUnavailable(
                f"log unreachable at {url}: still HTTP {answer.status} after retries "
                f"({_rekor_message(answer.body)})",
                url=url,
            )
        if answer.status == 404:
            raise EntryNotFound(
                f"{url} answered 404 Not Found",
                url=url,
                status=404,
                body_excerpt=_excerpt(answer.body),
            )
        if not 200 <= answer.status < 300:
            raise SourceResponseError(
                f"{url} answered HTTP {answer.status}: {_rekor_message(answer.body)}",
                url=url,
                status=answer.status,
                body_excerpt=_excerpt(answer.body),
            )
        try:
            return answer, json.loads(answer.body)
        except (ValueError, RecursionError) as exc:  # RecursionError: hostile nesting
            raise SourceResponseError(
                f"{url} answered {answer.status} with a body that is not JSON: {exc}",
                url=url,
                status=answer.status,
                body_excerpt=_excerpt(answer.body),
            ) from exc

    def _entry(self, path: str) -> RekorEntry:
        answer, data = self._json("GET", path)
        try:
            return RekorEntry.from_rest(data)
        except MalformedEntry as exc:
            raise SourceResponseError(
                f"{answer.url} served a malformed entry: {exc.message}",
                url=answer.url,
                status=answer.status,
                body_excerpt=_excerpt(answer.body),
            ) from exc

    # -- API ----------------------------------------------------------------------------------

    def log_info(self) -> LogInfo:
        """`GET /api/v1/log`: active shard head, tree ID and inactive shards."""
        answer, data = self._json("GET", "/api/v1/log")
        try:
            return LogInfo.from_json(data)
        except MalformedEntry as exc:
            raise SourceResponseError(
                f"{answer.url} served malformed log info: {exc.message}", url=answer.url
            ) from exc

    def entry_by_index(self, index: int) -> RekorEntry:
        """`GET /api/v1/log/entries?logIndex=N` with the **global** index."""
        if index < 0:
            raise MalformedEntry(f"log index must be >= 0, got {index}")
        return self._entry(f"/api/v1/log/entries?logIndex={int(index)}")

    def entry_by_uuid(self, uuid_or_entry_id: str) -> RekorEntry:
        """`GET /api/v1/log/entries/{id}` with a 64-hex UUID or an 80-hex entry ID."""
        split_entry_id(uuid_or_entry_id)  # validates, with a clear message
        entry = self._entry(f"/api/v1/log/entries/{uuid_or_entry_id.strip().lower()}")
        return entry

    def retrieve_entries(self, uuids: Sequence[str]) -> list[RekorEntry]:
        """`POST /api/v1/log/entries/retrieve` in batches of 10; entries in answer order."""
        ids = [u.strip().lower() for u in uuids]
        out: list[RekorEntry] = []
        for start in range(0, len(ids), RETRIEVE_BATCH):
            out.extend(self.retrieve_batch(uuids=ids[start : start + RETRIEVE_BATCH]))
        return out

    def retrieve_batch(
        self, *, uuids: Sequence[str] = (), indexes: Sequence[int] = ()
    ) -> list[RekorEntry]:
        """One `POST /api/v1/log/entries/retrieve` for at most 10 UUIDs **or** global indexes.

        Keys the log does not hold are simply absent from the answer (formats.md §6.2).
        """
        payload = self._batch_payload(uuids, indexes)
        answer, data = self._json("POST", "/api/v1/log/entries/retrieve", payload)
        if not isinstance(data, list):
            raise SourceResponseError(
                f"{answer.url} answered {type(data).__name__}, expected a list of entries",
                url=answer.url,
            )
        out: list[RekorEntry] = []
        for i, item in enumerate(data):
            try:
                # An item may hold several entries keyed by ID; one per UUID asked.
                if isinstance(item, Mapping) and len(item) > 1 and "body" not in item:
                    out.extend(RekorEntry.from_rest({k: v}) for k, v in item.items())
                else:
                    out.append(RekorEntry.from_rest(item))
            except MalformedEntry as exc:
                raise SourceResponseError(
                    f"{answer.url} item {i} is malformed: {exc.message}", url=answer.url
                ) from exc
        return out

    @staticmethod
    def _batch_payload(uuids: Sequence[str], indexes: Sequence[int]) -> dict[str, Any]:
        if bool(uuids) == bool(indexes):
            raise MalformedEntry("a batch retrieve takes UUIDs or log indexes, not both or none")
        keys: list[Any]
        if uuids:
            keys = [u.strip().lower() for u in uuids]
            for u in keys:
                split_entry_id(u)
            name = "entryUUIDs"
        else:
            keys = [int(i) for i in indexes]
            if any(i < 0 for i in keys):
                raise MalformedEntry(f"log indexes must be >= 0, got {keys}")
            name = "logIndexes"
        if len(keys) > RETRIEVE_BATCH:
            raise MalformedEntry(f"at most {RETRIEVE_BATCH} entries per retrieve, got {len(keys)}")
        return {name: keys}

    def _search(self, query: dict[str, str]) -> SearchResult:
        try:
            answer, data = self._json("POST", "/api/v1/index/retrieve", query)
        except SourceResponseError as exc:
            # The search index is deprecated and best-effort; older logs reject query kinds they
            # do not know (`subject` was added 2026-07, rekor#2850) with a 4xx.
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                kind = next(iter(query))
                return SearchResult(
                    query,
                    (),
                    supported=False,
                    reason=f"{kind} search is not supported by this log "
                    f"(HTTP {exc.status}: {_rekor_message(exc.body_excerpt.encode())})",
                )
            raise
        if not isinstance(data, list) or not all(isinstance(u, str) for u in data):
            raise SourceResponseError(
                f"{answer.url} answered something other than a list of entry IDs", url=answer.url
            )
        return SearchResult(query, tuple(u.lower() for u in data))

    @staticmethod
    def _hash_query(sha256_hex: str) -> dict[str, str]:
        digest = sha256_hex.lower().removeprefix("sha256:")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise MalformedEntry(f"not a sha256 hex digest: {sha256_hex!r}")
        return {"hash": f"sha256:{digest}"}

    def search_hash(self, sha256_hex: str) -> SearchResult:
        """Entries indexed under `sha256:<hex>` (for DSSE: every in-toto subject digest)."""
        return self._search(self._hash_query(sha256_hex))

    def search_subject(self, san: str) -> SearchResult:
        """Entries whose certificate SAN is `san` (case-insensitive on the log side)."""
        return self._search({"subject": san})

    def search_email(self, email: str) -> SearchResult:
        """Entries signed by certificates with this e-mail SAN."""
        return self._search({"email": email})

    def consistency_proof(
        self, first: int, last: int, tree_id: str | None = None
    ) -> ConsistencyProof:
        """`GET /api/v1/log/proof?firstSize=&lastSize=[&treeID=]`."""
        if not 0 < first <= last:
            raise MalformedEntry(f"consistency proof needs 0 < first <= last, got {first}, {last}")
        path = f"/api/v1/log/proof?firstSize={first}&lastSize={last}"
        if tree_id is not None:
            path += f"&treeID={tree_id}"
        answer, data = self._json("GET", path)
        try:
            root = bytes.fromhex(data["rootHash"])
            hashes = tuple(bytes.fromhex(h) for h in data.get("hashes") or [])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SourceResponseError(
                f"{answer.url} served a malformed consistency proof: {exc!r}", url=answer.url
            ) from exc
        return ConsistencyProof(first, last, root, hashes, tree_id)


class RekorClient(_RekorReader):
    """Live Rekor v1 client over the one evidence-capturing transport (`forensics.collect.http`).

    The wire is a `requests.Session`; retries, Retry-After, the size cap, deadlines, resume of an
    interrupted collection and "no answer" records are the capture layer's, shared with the
    index and GitHub collectors (pass `fetcher=` to share one collection's budget and lock).
    """

    def __init__(
        self,
        session: requests.Session,
        base_url: str = DEFAULT_URL,
        *,
        store: EvidenceStore | None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 10,
        deadline: float = 60.0,
        max_retry_after: float = 60.0,
        max_bytes: int = 16 * 2**20,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        fetcher: Fetcher | None = None,
    ) -> None:
        """`retries` is the number of attempts after the first; waits double from `backoff`.

        `timeout` bounds each socket read, `deadline` each whole response; with `fetcher`
        (a sibling from `Fetcher.derive`) the other knobs come from it.
        """
        self.session = session
        self.base_url = base_url.rstrip("/")
        wire = RequestsWire(session, timeout=timeout)
        if fetcher is not None:
            self.fetcher = fetcher.derive(wire, source=SOURCE)
        else:
            self.fetcher = Fetcher(
                wire,
                store,
                source=SOURCE,
                retries=max(0, retries),
                backoff=backoff,
                max_backoff=max_retry_after,
                max_bytes=max_bytes,
                timeout=deadline,
                clock=clock,
                sleep=sleep,
            )
        self.store = self.fetcher.store
        self._early: dict[tuple[str, str, bytes | None], Future[StoredResponse]] = {}
        self._early_lock = threading.Lock()

    @classmethod
    def production(cls, session: requests.Session, *, store: EvidenceStore | None) -> RekorClient:
        """A client for rekor.sigstore.dev."""
        return cls(session, DEFAULT_URL, store=store)

    @classmethod
    def staging(cls, session: requests.Session, *, store: EvidenceStore | None) -> RekorClient:
        """A client for rekor.sigstage.dev."""
        return cls(session, "https://rekor.sigstage.dev", store=store)

    # -- asking early ---------------------------------------------------------------------------

    def ask_early(self, executor: Executor, what: str, value: str = "") -> None:
        """Send a request the recovery is certain to make, now, on `executor`; when the
        recovery makes it (`gather`), it gets this answer instead of sending it again.

        `what`: `log_info`, `search_hash` (`value` a sha256) or `search_subject` (`value` a
        SAN). Only the sending moves earlier: the request's bytes, its stored answer and how
        the answer is read are those of the ordinary call, which still interprets it. A
        request asked early that the recovery then does not make would be evidence nobody
        asked for, so callers ask early only what `gather()` always asks given its inputs.
        """
        if what == "log_info":
            method, (url, body) = "GET", self._request("/api/v1/log", None)
        elif what == "search_hash":
            try:
                query = self._hash_query(value)
            except MalformedEntry:
                return  # never sent by the recovery either (its own call reports it)
            method, (url, body) = "POST", self._request("/api/v1/index/retrieve", query)
        elif what == "search_subject":
            query = {"subject": value}
            method, (url, body) = "POST", self._request("/api/v1/index/retrieve", query)
        else:
            raise ValueError(f"cannot ask {what!r} early")
        key = (method, url, body)
        with self._early_lock:
            if key in self._early:
                return
            self._early[key] = executor.submit(self.fetcher.request, method, url, body=body)

    def asked_early(self) -> int:
        """How many requests were asked early (sent, or still under way)."""
        with self._early_lock:
            return len(self._early)

    def _fetch(self, method: str, url: str, body: bytes | None) -> _Answer:
        with self._early_lock:
            early = self._early.pop((method, url, body), None)
        try:
            if early is not None:
                stored = early.result()
            else:
                stored = self.fetcher.request(method, url, body=body)
        except SourceUnavailable as exc:
            raise SourceUnavailable(
                exc.message,
                url=url,
                hint="check the --rekor-url and your network; re-run later (the collection "
                "resumes), or analyse the case offline with what it already holds",
            ) from exc
        return _Answer(stored.status, dict(stored.headers), stored.body(), url)


class RecordedRekor(_RekorReader):
    """Offline reader: the same answers as `RekorClient`, from the evidence store only."""

    def __init__(self, store: EvidenceStore, base_url: str = DEFAULT_URL) -> None:
        """Answer from `store` for requests to `base_url`."""
        self.store = store
        self.base_url = base_url.rstrip("/")
        self._batch_index: dict[str, RekorEntry] | None = None

    def retrieve_batch(
        self, *, uuids: Sequence[str] = (), indexes: Sequence[int] = ()
    ) -> list[RekorEntry]:
        """The stored batch answer; for a case collected one GET per entry, those answers."""
        try:
            return super().retrieve_batch(uuids=uuids, indexes=indexes)
        except OfflineMiss as miss:
            out: list[RekorEntry] = []
            singles: list[Callable[[], RekorEntry]] = [
                *(partial(self.entry_by_uuid, u) for u in uuids),
                *(partial(self.entry_by_index, i) for i in indexes),
            ]
            for single in singles:
                try:
                    out.append(single())
                except EntryNotFound:
                    continue  # absent from the log: absent from a batch answer too
                except OfflineMiss:
                    raise miss from None
            return out

    def entry_by_uuid(self, uuid_or_entry_id: str) -> RekorEntry:
        """The stored GET answer, else the entry as a stored batch retrieve delivered it."""
        try:
            return super().entry_by_uuid(uuid_or_entry_id)
        except OfflineMiss:
            held = self._batched().get(uuid_or_entry_id.strip().lower()[-64:])
            if held is None:
                raise
            return held

    def _batched(self) -> dict[str, RekorEntry]:
        # Built once per reader: every entry any stored batch retrieve answer holds.
        if self._batch_index is None:
            index: dict[str, RekorEntry] = {}
            url = self._url("/api/v1/log/entries/retrieve")
            for stored in self.store.responses(SOURCE):
                if stored.method != "POST" or stored.url != url or stored.status != 200:
                    continue
                try:
                    items = json.loads(stored.body())
                    for item in items if isinstance(items, list) else []:
                        for k, v in item.items() if isinstance(item, Mapping) else ():
                            entry = RekorEntry.from_rest({k: v})
                            index.setdefault(entry.uuid, entry)
                except (ValueError, AttributeError, MalformedEntry):
                    continue  # a malformed stored answer is reported where it is replayed
            self._batch_index = index
        return self._batch_index

    def _fetch(self, method: str, url: str, body: bytes | None) -> _Answer:
        stored = self.store.latest(url, method=method, request_body=body)
        if stored is None:
            what = f"{method} {url}" + (
                f" with body {body.decode(errors='replace')}" if body else ""
            )
            raise OfflineMiss(
                f"the case holds no response to {what}",
                url=url,
                hint="collect online first, or drop --offline",
            )
        if stored.status == NO_ANSWER:
            raise SourceUnavailable(stored.body().decode("utf-8", "replace"), url=url)
        return _Answer(stored.status, dict(stored.headers), stored.body(), url)


def _rekor_message(body: bytes) -> str:
    """Rekor errors are `{"code": int, "message": str}`; fall back to a short excerpt."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return _excerpt(body) or "(empty body)"
    if isinstance(data, Mapping) and "message" in data:
        return str(data["message"])[:200]
    return _excerpt(body)


def _excerpt(body: bytes, limit: int = 300) -> str:
    return body[:limit].decode("utf-8", errors="replace")
