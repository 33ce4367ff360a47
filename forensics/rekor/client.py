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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from forensics.errors import OfflineMiss, SourceResponseError, SourceUnavailable
from forensics.evidence.store import NO_ANSWER, EvidenceStore
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

    def _json(self, method: str, path: str, payload: Any | None = None) -> tuple[_Answer, Any]:
        url = self._url(path)
        # Deterministic request bytes: the evidence store keys POSTs by their body hash, so the
        # offline reader must produce the very same bytes.
        body = None if payload is None else json.dumps(payload, sort_keys=True).encode()
        answer = self._fetch(method, url, body)
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
        out: list[RekorEntry] = []
        ids = [u.strip().lower() for u in uuids]
        for u in ids:
            split_entry_id(u)
        for start in range(0, len(ids), RETRIEVE_BATCH):
            batch = ids[start : start + RETRIEVE_BATCH]
            answer, data = self._json("POST", "/api/v1/log/entries/retrieve", {"entryUUIDs": batch})
            if not isinstance(data, list):
                raise SourceResponseError(
                    f"{answer.url} answered {type(data).__name__}, expected a list of entries",
                    url=answer.url,
                )
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

    def search_hash(self, sha256_hex: str) -> SearchResult:
        """Entries indexed under `sha256:<hex>` (for DSSE: every in-toto subject digest)."""
        digest = sha256_hex.lower().removeprefix("sha256:")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise MalformedEntry(f"not a sha256 hex digest: {sha256_hex!r}")
        return self._search({"hash": f"sha256:{digest}"})

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
    """Live Rekor v1 client: retries, Retry-After, evidence capture, errors as ForensicsError."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str = DEFAULT_URL,
        *,
        store: EvidenceStore | None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 10,
        max_retry_after: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`retries` is the number of attempts after the first; waits double from `backoff`."""
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.store = store
        self.retries = max(0, retries)
        self.backoff = backoff
        self.timeout = timeout
        self.max_retry_after = max_retry_after
        self.clock = clock
        self.sleep = sleep

    @classmethod
    def production(cls, session: requests.Session, *, store: EvidenceStore | None) -> RekorClient:
        """A client for rekor.sigstore.dev."""
        return cls(session, DEFAULT_URL, store=store)

    @classmethod
    def staging(cls, session: requests.Session, *, store: EvidenceStore | None) -> RekorClient:
        """A client for rekor.sigstage.dev."""
        return cls(session, "https://rekor.sigstage.dev", store=store)

    def _fetch(self, method: str, url: str, body: bytes | None) -> _Answer:
        attempts = self.retries + 1
        last_problem = ""
        for attempt in range(attempts):
            wait = self.backoff * (2**attempt)
            try:
                resp = self.session.request(
                    method,
                    url,
                    data=body,
                    headers={"Content-Type": "application/json"} if body is not None else None,
                    timeout=self.timeout,
                )
                content = resp.content  # read fully here: truncation raises now, not later
            except (
                requests.ConnectionError,
                requests.Timeout,
                # A body cut short of its Content-Length (IncompleteRead) surfaces as this one.
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            except requests.RequestException as exc:
                raise SourceUnavailable(f"request to {url} failed: {exc}", url=url) from exc
            else:
                answer = _Answer(resp.status_code, dict(resp.headers), content, url)
                self._record(method, url, body, answer)
                if resp.status_code == 429 or resp.status_code >= 500:
                    last_problem = f"HTTP {resp.status_code}: {_rekor_message(content)}"
                    retry_after = _retry_after(resp.headers.get("Retry-After"), self.clock())
                    if retry_after is not None:
                        # Honour the server, but a hostile or broken log must not stall an
                        # investigation for hours: cap it.
                        wait = min(retry_after, self.max_retry_after)
                else:
                    return answer
            if attempt + 1 < attempts:
                self.sleep(wait)
        message = f"log unreachable at {url} after {attempts} attempts ({last_problem})"
        # Record the failure itself (status 0: no HTTP answer), so that re-analysing the case
        # offline meets the same outage instead of a silent gap.
        self._record(method, url, body, _Answer(NO_ANSWER, {}, message.encode(), url))
        raise SourceUnavailable(
            message,
            url=url,
            hint="check the --rekor-url and your network; re-run later, or analyse the case "
            "offline with what it already holds",
        )

    def _record(self, method: str, url: str, body: bytes | None, answer: _Answer) -> None:
        if self.store is None:
            return
        self.store.put_response(
            source=SOURCE,
            url=url,
            status=answer.status,
            headers=answer.headers,
            body=answer.body,
            retrieved_at=self.clock(),
            method=method,
            request_body=body,
        )


class RecordedRekor(_RekorReader):
    """Offline reader: the same answers as `RekorClient`, from the evidence store only."""

    def __init__(self, store: EvidenceStore, base_url: str = DEFAULT_URL) -> None:
        """Answer from `store` for requests to `base_url`."""
        self.store = store
        self.base_url = base_url.rstrip("/")

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


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


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
