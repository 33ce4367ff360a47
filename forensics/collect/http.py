"""The HTTP fetcher: retries with backoff, Retry-After, a size cap, and every final answer stored.

httpx does the HTTP; this module adds what a forensic collection needs on top of it. Redirects are
followed here, not by httpx, so that the 301 itself is evidence (PyPI answers a non-normalized
project name with a 301; the store must show the whole chain). A resumed collection answers from
the store: a request that already has a final (non-retryable) answer is not sent again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import httpx

from forensics.errors import (
    ResponseTooLarge,
    SourceResponseError,
    SourceUnavailable,
    UsageError,
)
from forensics.evidence.store import EvidenceStore, StoredResponse
from forensics.models import utc

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10


def is_retryable(status: int) -> bool:
    """429 and 5xx are worth asking again; everything else is the source's final answer."""
    return status == 429 or 500 <= status <= 599


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


class _RetryableFailure(Exception):
    """A transport-level failure (timeout, reset, truncated body) worth another attempt."""


class Fetcher:
    """GETs with retries, stored as evidence. Thread-safe: one instance serves a thread pool."""

    def __init__(
        self,
        client: httpx.Client,
        store: EvidenceStore,
        *,
        source: str,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_bytes: int = 50 * 2**20,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        """`retries` counts *extra* attempts: `retries=4` sends a request at most 5 times."""
        if retries < 0 or backoff < 0 or max_backoff < 0 or max_bytes <= 0:
            raise UsageError("retries, backoff and max_backoff must be >= 0, max_bytes > 0")
        self.client = client
        self.store = store
        self.source = source
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_bytes = max_bytes
        self.clock = clock
        self.sleep = sleep
        # Jitter only spreads retries of concurrent clients; it needs no cryptographic quality.
        self._rng = rng or random.Random()  # noqa: S311
        self._lock = threading.Lock()
        self.sent = 0
        """Requests actually sent over the network (attempts, including retries)."""
        self.reused = 0
        """Requests answered from the store of a resumed collection."""

    # -- public ----------------------------------------------------------------------------

    def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> StoredResponse:
        """GET `url`, following redirects hop by hop; return the final stored response.

        Every hop's final answer is stored, including 404s and the last 5xx/429 after retries.
        The store keys answers by URL only (not by request headers such as `Accept`): callers
        use one media type per URL, which is how the PyPI APIs are addressed.
        Raises `SourceUnavailable` when the source cannot be reached after the retries,
        `ResponseTooLarge` past `max_bytes`, `SourceResponseError` on a redirect loop.
        """
        chain = [url]
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._get_one(current, headers)
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                return response
            target = urljoin(current, location)
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

    # -- internals ---------------------------------------------------------------------------

    def _get_one(self, url: str, headers: Mapping[str, str] | None) -> StoredResponse:
        with self._lock:
            known = self.store.in_current_collection(url)
        if known is not None and not is_retryable(known.status):
            with self._lock:
                self.reused += 1
            return known
        attempt = 0
        while True:
            attempt += 1
            try:
                status, response_headers, body = self._attempt(url, headers)
            except _RetryableFailure as exc:
                if attempt > self.retries:
                    raise SourceUnavailable(
                        f"{url} could not be fetched after {attempt} attempt(s): {exc}",
                        url=url,
                        hint="check the index URL and the network; re-running resumes the "
                        "collection without fetching stored answers again",
                    ) from exc
                self.sleep(self._backoff_delay(attempt))
                continue
            if is_retryable(status) and attempt <= self.retries:
                wait = retry_after_seconds(response_headers.get("retry-after"), self.clock())
                if wait is None:
                    wait = self._backoff_delay(attempt)
                self.sleep(min(wait, self.max_backoff))
                continue
            with self._lock:
                return self.store.put_response(
                    source=self.source,
                    url=url,
                    status=status,
                    headers=response_headers,
                    body=body,
                    retrieved_at=self.clock(),
                )

    def _backoff_delay(self, attempt: int) -> float:
        # Exponential backoff with "equal jitter": between half and all of the exponential step.
        step = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        with self._lock:
            return float(step / 2 + self._rng.uniform(0, step / 2))

    def _attempt(
        self, url: str, headers: Mapping[str, str] | None
    ) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.sent += 1
        try:
            with self.client.stream(
                "GET", url, headers=dict(headers or {}), follow_redirects=False
            ) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise self._too_large(url, response.status_code, f"announces {declared} bytes")
                chunks: list[bytes] = []
                total = 0
                # iter_bytes counts *decoded* bytes, so a gzip bomb hits the cap as well.
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise self._too_large(url, response.status_code, "sent more")
                    chunks.append(chunk)
                # h11 already rejects a short HTTP/1.1 body; this also covers transports that
                # do not enforce Content-Length (HTTP/2), so truncation is never stored as final.
                if (
                    declared.isdigit()
                    and "content-encoding" not in response.headers
                    and response.num_bytes_downloaded != int(declared)
                ):
                    raise _RetryableFailure(
                        f"truncated body: {response.num_bytes_downloaded} of {declared} bytes"
                    )
                return response.status_code, dict(response.headers.items()), b"".join(chunks)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            # RemoteProtocolError covers "peer closed connection without sending complete
            # message body" (a truncated response) and a server that hung up before answering.
            raise _RetryableFailure(f"{type(exc).__name__}: {str(exc) or 'no detail'}") from exc
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"cannot fetch {url}: {type(exc).__name__}: {exc}", url=url
            ) from exc
        except httpx.InvalidURL as exc:
            raise SourceResponseError(f"not a usable URL: {url!r}: {exc}", url=url) from exc

    def _too_large(self, url: str, status: int, detail: str) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"response from {url} exceeds the {self.max_bytes}-byte cap ({detail})",
            url=url,
            status=status,
            hint="raise the cap (max_bytes) if this source legitimately serves large answers",
        )
