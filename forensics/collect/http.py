"""The one evidence-capturing HTTP layer of every source (PyPI, GitHub, Rekor).

A `Fetcher` sends a request through a *wire* (an `httpx.Client` for the index and GitHub, a
`requests.Session` for Rekor, both behind the small `Wire` protocol), and adds what a forensic
collection needs on top of the HTTP library:

* every final answer is stored in the evidence store before anything reads it, and a request
  that got no HTTP answer at all is stored too, as a "no answer" record (status `NO_ANSWER`,
  the reason as body), so an offline re-analysis meets the same gap;
* resume: a request the current (possibly interrupted) collection already answered
  definitively is never sent again; when refreshing a case, a stored answer with an `ETag` is
  revalidated with `If-None-Match` and a `304` re-records the held bytes;
* retries on 429/5xx, resets, truncated bodies and timeouts, with a deterministic exponential
  schedule (no jitter: two runs against the same faults send the same requests) and
  `Retry-After` honoured up to `max_backoff`;
* a size cap on the decoded body, a total-time deadline per response (a server trickling a byte
  every few seconds never resets a read timeout, so the per-read timeout of the HTTP library
  is not enough) and an optional deadline for the whole run;
* a per-origin breaker: after `breaker` consecutive requests to one origin could not even
  connect, the next ones are recorded as "no answer" without being sent, so a dead source
  costs seconds, not hours of retries; any answer from the origin closes the breaker again
  (resets, 5xx and timeouts of a live server never trip it: they cost their own request only).

Redirects are followed here, not by the HTTP library, so that the 301 itself is evidence (PyPI
answers a non-normalized project name with a 301; the store must show the whole chain).
Hand-written on purpose: no maintained library combines evidence capture with retries and
resume (httpx-retries, urllib3's Retry and tenacity all retry but none records the answers).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx
import requests
import urllib3

from forensics.errors import (
    ResponseTooLarge,
    SourceResponseError,
    SourceUnavailable,
    UsageError,
)
from forensics.evidence.store import NO_ANSWER, EvidenceStore, StoredResponse
from forensics.models import utc

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
_CHUNK = 65536


def is_retryable(status: int) -> bool:
    """429 and 5xx are worth asking again; everything else is the source's final answer."""
    return status == 429 or 500 <= status <= 599


def is_definitive(status: int) -> bool:
    """An answer the case can keep for good: not a "no answer" record, not a 429/5xx."""
    return status != NO_ANSWER and not is_retryable(status)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None  # unparseable: fall back to our own backoff rather than trusting garbage
    return max(0.0, (utc(when) - utc(now)).total_seconds())


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL, lower-case, default ports dropped ('' if unparsable)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if not scheme or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def allowed_origins(base_url: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The index's origin plus user-allowed ones, normalised; a bad extra is a `UsageError`."""
    out = {origin(base_url)}
    for text in extra:
        o = origin(text.strip())
        if not o or urlsplit(text.strip()).path not in ("", "/"):
            raise UsageError(
                f"--allow-origin {text!r} is not an origin",
                hint="give scheme://host[:port], e.g. https://files.example.org",
            )
        out.add(o)
    return frozenset(out)


# -- wires -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WireAnswer:
    """One HTTP answer as read off the wire (body complete, within the cap and the deadline)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class RetryableFailure(Exception):
    """A transport-level failure (timeout, reset, truncated body, deadline) worth another try."""

    def __init__(self, message: str, *, connect: bool = False) -> None:
        """`connect`: no connection could be made at all (refused, DNS, connect timeout)."""
        super().__init__(message)
        self.connect = connect


class Wire(Protocol):
    """What the capture layer needs from an HTTP library: send one request, read it whole."""

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        deadline: float,
        max_bytes: int,
    ) -> WireAnswer:
        """Send; raise `RetryableFailure`, `ResponseTooLarge`, or a `SourceError`.

        `deadline` is a `time.monotonic()` instant by which the whole body must have arrived.
        """
        ...


def _too_large(url: str, status: int, max_bytes: int, detail: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"response from {url} exceeds the {max_bytes}-byte cap ({detail})",
        url=url,
        status=status,
        hint="raise the cap (max_bytes) if this source legitimately serves large answers",
    )


def _remaining(deadline: float, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise RetryableFailure(f"no complete answer from {url} within the per-request deadline")
    return left


class HttpxWire:
    """`Wire` over an `httpx.Client` (keep-alive pool; HTTP/2 when the client enables it)."""

    def __init__(self, client: httpx.Client) -> None:
        """Wrap a configured client; its per-read timeout is capped by the request deadline."""
        self.client = client

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        deadline: float,
        max_bytes: int,
    ) -> WireAnswer:
        """Stream the answer, checking the cap and the deadline after every chunk."""
        left = _remaining(deadline, url)
        configured = self.client.timeout
        timeout = httpx.Timeout(
            connect=min(configured.connect or left, left),
            read=min(configured.read or left, left),
            write=min(configured.write or left, left),
            pool=min(configured.pool or left, left),
        )
        try:
            with self.client.stream(
                method,
                url,
                headers=dict(headers),
                content=body,
                follow_redirects=False,
                timeout=timeout,
            ) as response:
                status = response.status_code
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise _too_large(url, status, max_bytes, f"announces {declared} bytes")
                chunks: list[bytes] = []
                total = 0
                # iter_bytes counts *decoded* bytes, so a gzip bomb hits the cap as well.
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise _too_large(url, status, max_bytes, "sent more")
                    chunks.append(chunk)
                    _remaining(deadline, url)
                # h11 already rejects a short HTTP/1.1 body; this also covers transports that
                # do not enforce Content-Length (HTTP/2), so truncation is never stored as final.
                if (
                    declared.isdigit()
                    and "content-encoding" not in response.headers
                    and response.num_bytes_downloaded != int(declared)
                ):
                    raise RetryableFailure(
                        f"truncated body: {response.num_bytes_downloaded} of {declared} bytes"
                    )
                return WireAnswer(status, dict(response.headers.items()), b"".join(chunks))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise RetryableFailure(
                f"{type(exc).__name__}: {str(exc) or 'no detail'}", connect=True
            ) from exc
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            # RemoteProtocolError covers "peer closed connection without sending complete
            # message body" (a truncated response) and a server that hung up before answering.
            raise RetryableFailure(f"{type(exc).__name__}: {str(exc) or 'no detail'}") from exc
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"cannot fetch {url}: {type(exc).__name__}: {exc}", url=url
            ) from exc
        except httpx.InvalidURL as exc:
            raise SourceResponseError(f"not a usable URL: {url!r}: {exc}", url=url) from exc


class RequestsWire:
    """`Wire` over a `requests.Session` (the Rekor client's HTTP library)."""

    def __init__(self, session: requests.Session, *, timeout: float = 10.0) -> None:
        """`timeout` is the per-read socket timeout, capped by the request deadline."""
        self.session = session
        self.timeout = timeout

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        deadline: float,
        max_bytes: int,
    ) -> WireAnswer:
        """Stream with `read1` so that a trickling server meets the deadline between chunks."""
        left = _remaining(deadline, url)
        try:
            resp = self.session.request(
                method,
                url,
                data=body,
                headers=dict(headers),
                timeout=min(self.timeout, left),
                stream=True,
                allow_redirects=False,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            connect = isinstance(exc, requests.ConnectTimeout) or isinstance(
                reason, urllib3.exceptions.NewConnectionError
            )
            raise RetryableFailure(f"{type(exc).__name__}: {exc}", connect=connect) from exc
        except requests.exceptions.InvalidURL as exc:
            raise SourceResponseError(f"not a usable URL: {url!r}: {exc}", url=url) from exc
        except requests.RequestException as exc:
            raise SourceUnavailable(f"request to {url} failed: {exc}", url=url) from exc
        with resp:
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(url, resp.status_code, max_bytes, f"announces {declared} bytes")
            chunks: list[bytes] = []
            total = 0
            try:
                while True:
                    # read1 returns what has arrived (at most one socket read), unlike read(n),
                    # which blocks until n bytes: a trickle would otherwise never meet a check.
                    chunk = resp.raw.read1(_CHUNK, decode_content=True)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > max_bytes:
                        raise _too_large(url, resp.status_code, max_bytes, "sent more")
                    chunks.append(chunk)
                    _remaining(deadline, url)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                # IncompleteRead (a body cut short of its Content-Length), resets, read timeouts.
                raise RetryableFailure(f"{type(exc).__name__}: {exc}") from exc
            return WireAnswer(
                resp.status_code,
                {k.lower(): v for k, v in resp.headers.items()},
                b"".join(chunks),
            )


def as_wire(client: Wire | httpx.Client | requests.Session) -> Wire:
    """Wrap an HTTP library client in its `Wire` (a `Wire` is returned as is)."""
    if isinstance(client, httpx.Client):
        return HttpxWire(client)
    if isinstance(client, requests.Session):
        return RequestsWire(client)
    return client


# -- the capture layer ---------------------------------------------------------------------------


@dataclass
class _Pending:
    """One answer waiting for the group commit."""

    fields: dict[str, Any]
    result: StoredResponse | None = None
    error: BaseException | None = None


class _GroupCommit:
    """Concurrent answers share one SQLite commit: the first waiting thread commits them all.

    A commit costs a few fsyncs (about 10-30 ms on an ordinary disk); one per answer would
    serialise a concurrent collection behind the disk. The blob bytes are written and fsynced
    by each request's own thread before it queues its row, so only the rows wait here, and
    `put` returns only once its row is committed (evidence first, then the answer is used).
    """

    def __init__(self, store: EvidenceStore, lock: threading.Lock) -> None:
        self.store = store
        self.lock = lock
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []

    def put(self, **fields: Any) -> StoredResponse:
        item = _Pending(fields)
        self.store.put_blob(fields["body"])
        if fields.get("request_body"):
            self.store.put_blob(fields["request_body"])
        with self._queue_lock:
            self._queue.append(item)
        with self.lock:
            if item.result is None and item.error is None:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                transaction = getattr(self.store, "transaction", None)
                try:
                    with transaction() if transaction is not None else contextlib.nullcontext():
                        for pending in batch:
                            pending.result = self.store.put_response(**pending.fields)
                except BaseException as exc:
                    for pending in batch:  # rolled back: none of them is stored
                        pending.result, pending.error = None, exc
        if item.error is not None:
            raise item.error
        assert item.result is not None  # committed by this thread or by the one before it
        return item.result


@dataclass
class _Shared:
    """State every source of one collection shares: the store lock, the run budget, breakers."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    """Store access: lookups, and each group commit while its rows reach the disk."""
    state: threading.Lock = field(default_factory=threading.Lock)
    """The breakers and the commit writers: never held during I/O, so that sending a request
    or writing an answer's blob never waits for another answer's commit."""
    commits: dict[int, _GroupCommit] = field(default_factory=dict)
    run_deadline: float | None = None
    """`time.monotonic()` instant after which no request is sent (None: no run deadline)."""
    failures: dict[str, int] = field(default_factory=dict)
    """origin -> consecutive requests that got no answer."""


def _scratch_store() -> EvidenceStore:
    # A notebook lookup without a case still goes through the one capture layer; its answers
    # live in a temporary case that disappears with the process.
    root = Path(tempfile.mkdtemp(prefix="forensics-scratch-"))
    store = EvidenceStore.open(root)
    weakref.finalize(store, _cleanup, root)
    return store


def _cleanup(root: Path) -> None:
    import shutil

    shutil.rmtree(root, ignore_errors=True)


class Fetcher:
    """Requests with retries, deadlines and resume, every answer stored. Thread-safe."""

    def __init__(
        self,
        client: Wire | httpx.Client | requests.Session,
        store: EvidenceStore | None,
        *,
        source: str,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_bytes: int = 50 * 2**20,
        timeout: float = 60.0,
        run_timeout: float | None = None,
        breaker: int = 3,
        conditional: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        _shared: _Shared | None = None,
    ) -> None:
        """`retries` counts *extra* attempts: `retries=4` sends a request at most 5 times.

        `timeout` is the total time one response may take (connect to last byte);
        `run_timeout` the total time of every request this fetcher and its `derive()`d
        siblings send; `breaker` the consecutive requests that could not connect after which
        an origin is given up (0: never); `conditional` revalidates stored answers with
        `If-None-Match`.
        """
        if retries < 0 or backoff < 0 or max_backoff < 0 or max_bytes <= 0 or timeout <= 0:
            raise UsageError(
                "retries, backoff and max_backoff must be >= 0, max_bytes and timeout > 0"
            )
        if run_timeout is not None and run_timeout <= 0:
            raise UsageError(f"the run deadline must be positive, got {run_timeout}")
        self.wire = as_wire(client)
        self.store = store if store is not None else _scratch_store()
        self.source = source
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.breaker = breaker
        self.conditional = conditional
        self.clock = clock
        self.sleep = sleep
        self._shared = _shared or _Shared()
        if run_timeout is not None:
            self._shared.run_deadline = time.monotonic() + run_timeout
        self._count_lock = threading.Lock()
        self.sent = 0
        """Requests actually sent over the network (attempts, including retries)."""
        self.reused = 0
        """Requests answered from the store of a resumed collection."""
        self.revalidated = 0
        """Requests answered `304 Not Modified` to an `If-None-Match` (held bytes re-recorded)."""

    def derive(self, client: Wire | httpx.Client | requests.Session, *, source: str) -> Fetcher:
        """A fetcher for another source sharing this one's store, lock, run deadline, breakers."""
        return Fetcher(
            client,
            self.store,
            source=source,
            retries=self.retries,
            backoff=self.backoff,
            max_backoff=self.max_backoff,
            max_bytes=self.max_bytes,
            timeout=self.timeout,
            breaker=self.breaker,
            conditional=self.conditional,
            clock=self.clock,
            sleep=self.sleep,
            _shared=self._shared,
        )

    # -- public ----------------------------------------------------------------------------

    def record_refusal(self, url: str, reason: str, *, method: str = "GET") -> StoredResponse:
        """Store a "no answer" record for a request deliberately not sent, with the reason."""
        return self._put(method, url, None, NO_ANSWER, {}, reason.encode())

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        origins: frozenset[str] | None = None,
    ) -> StoredResponse:
        """GET `url`, following redirects hop by hop; return the final stored response.

        Every hop's final answer is stored, including 404s and the last 5xx/429 after retries.
        The store keys answers by URL only (not by request headers such as `Accept`): callers
        use one media type per URL, which is how the PyPI APIs are addressed.
        Raises `SourceUnavailable` when no answer came after the retries (a "no answer" record
        is stored first), `ResponseTooLarge` past `max_bytes`, `SourceResponseError` on a
        redirect loop or (with `origins`) a redirect that leaves those origins.
        """
        chain = [url]
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self.request("GET", current, headers=headers)
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                return response
            target = urljoin(current, location)
            if origins is not None and origin(target) not in origins:
                raise SourceResponseError(
                    f"{current} redirects to {target}, outside the allowed origins "
                    f"({', '.join(sorted(origins))}); not followed",
                    url=url,
                    status=response.status,
                )
            if target in chain:
                raise SourceResponseError(
                    f"redirect loop: {' -> '.join([*chain, target])}",
                    url=url,
                    status=response.status,
                )
            chain.append(target)
            current = target
        raise SourceResponseError(
            f"more than {MAX_REDIRECTS} redirects starting at {url}", url=url, status=None
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> StoredResponse:
        """One request (no redirect following): from the case if held, else over the wire."""
        store = self.store
        known = previous = None
        # Most requests of a collection are new to the case: those need neither a lookup nor the
        # store lock (which a group commit holds while its rows reach the disk).
        if store.might_hold(url, method=method, request_body=body):
            with self._shared.lock:
                known = store.in_current_collection(url, method=method, request_body=body)
                if (known is None or not is_definitive(known.status)) and self.conditional:
                    previous = store.latest(url, method=method, request_body=body)
        if known is not None and is_definitive(known.status):
            with self._count_lock:
                self.reused += 1
            return known
        send_headers = dict(headers or {})
        if body is not None:
            send_headers.setdefault("Content-Type", "application/json")
        etag = previous.headers.get("etag") if previous is not None else None
        if previous is not None and previous.status == 200 and etag:
            send_headers["If-None-Match"] = etag
        else:
            previous = None
        answer = self._send(method, url, send_headers, body)
        if previous is not None and answer.status == 304:
            # Revalidated: the source confirms the held bytes are current. Record them again
            # under this collection (same blob, fresh retrieval time and validators), so the
            # analysis and a resume see an ordinary answer.
            kept = dict(previous.headers)
            kept.update({k.lower(): v for k, v in answer.headers.items()})
            with self._count_lock:
                self.revalidated += 1
            return self._put(method, url, body, previous.status, kept, previous.body())
        return self._put(method, url, body, answer.status, answer.headers, answer.body)

    # -- internals ---------------------------------------------------------------------------

    def _put(
        self,
        method: str,
        url: str,
        body: bytes | None,
        status: int,
        headers: Mapping[str, str],
        content: bytes,
    ) -> StoredResponse:
        with self._shared.state:
            writer = self._shared.commits.setdefault(
                id(self.store), _GroupCommit(self.store, self._shared.lock)
            )
        return writer.put(
            source=self.source,
            url=url,
            status=status,
            headers=headers,
            body=content,
            retrieved_at=self.clock(),
            method=method,
            request_body=body,
        )

    def _no_answer(
        self, method: str, url: str, body: bytes | None, message: str, *, hint: str
    ) -> SourceUnavailable:
        # Record the failure itself (status 0: no HTTP answer), so that re-analysing the case
        # offline meets the same gap instead of a silent one; a resume asks again.
        self._put(method, url, body, NO_ANSWER, {}, message.encode())
        return SourceUnavailable(message, url=url, hint=hint)

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> WireAnswer:
        host = origin(url)
        hint = (
            "check the source URL and the network; re-running resumes the collection without "
            "fetching stored answers again"
        )
        attempt = 0
        while True:
            attempt += 1
            with self._shared.state:
                closed = self.breaker and self._shared.failures.get(host, 0) >= self.breaker
            if closed:
                raise self._no_answer(
                    method,
                    url,
                    body,
                    f"{url} was not asked: no connection to {host} could be made for "
                    f"{self.breaker} requests in a row",
                    hint=hint,
                )
            deadline = time.monotonic() + self.timeout
            run_deadline = self._shared.run_deadline
            if run_deadline is not None:
                if time.monotonic() >= run_deadline:
                    raise self._no_answer(
                        method,
                        url,
                        body,
                        f"{url} was not asked: the collection's deadline has passed",
                        hint="raise the run deadline, or re-run: the collection resumes",
                    )
                deadline = min(deadline, run_deadline)
            with self._count_lock:
                self.sent += 1
            try:
                answer = self.wire.send(
                    method,
                    url,
                    headers=headers,
                    body=body,
                    deadline=deadline,
                    max_bytes=self.max_bytes,
                )
            except RetryableFailure as exc:
                if attempt > self.retries or not self._wait(self._backoff_delay(attempt)):
                    if exc.connect:
                        # Only "cannot connect at all" counts towards the breaker: a source
                        # that accepts connections but fails some paths is flaky, not dead,
                        # and each of its requests keeps its own retries.
                        with self._shared.state:
                            failures = self._shared.failures
                            failures[host] = failures.get(host, 0) + 1
                    raise self._no_answer(
                        method,
                        url,
                        body,
                        f"{url} could not be fetched after {attempt} attempt(s): {exc}",
                        hint=hint,
                    ) from exc
                continue
            with self._shared.state:
                self._shared.failures[host] = 0
            if is_retryable(answer.status) and attempt <= self.retries:
                wait = retry_after_seconds(answer.headers.get("retry-after"), self.clock())
                if wait is None:
                    wait = self._backoff_delay(attempt)
                if self._wait(min(wait, self.max_backoff)):
                    continue
            return answer

    def _wait(self, seconds: float) -> bool:
        """Sleep before a retry; False (no sleep) when the wait would outlive the run deadline."""
        run_deadline = self._shared.run_deadline
        if run_deadline is not None and time.monotonic() + seconds >= run_deadline:
            return False
        self.sleep(seconds)
        return True

    def _backoff_delay(self, attempt: int) -> float:
        # Deterministic exponential backoff: the same faults give the same request sequence on
        # every run (jitter spreads fleets of clients; one forensic collector needs replayability).
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
