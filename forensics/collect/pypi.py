"""The PyPI collector: JSON API, Simple API (PEP 691 JSON) and Integrity API answers into the case.

Order: the JSON API (following PyPI's 301 to the normalized name), the Simple API with the JSON
media type, then, for each file whose Simple entry carries a provenance URL, the Integrity API,
fetched by a bounded thread pool. A provenance URL is fetched only when it stays on the index's
origin (or an origin the user allowed): the index is untrusted input, and a URL pointing
elsewhere would make the collector send requests the attacker chose (request forgery). Such a
URL is recorded as a "no answer" record with the reason, never requested. One object that
cannot be fetched costs that file only (its provenance becomes unknown, with the reason); the
others are collected. The collector decides *what* to fetch from the stored answers
through `load_index_snapshot`, the same parser the analysis uses, so what is collected and what
is analysed cannot drift apart. The caller owns the collection lifecycle and case.json
(`forensics.api.collect`): a failed run leaves the collection open, and the next run resumes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from forensics.collect.http import Fetcher, allowed_origins, is_retryable, origin
from forensics.collect.pypi_parse import (
    INTEGRITY_MEDIA,
    SIMPLE_JSON_MEDIA,
    IndexSnapshot,
    check_base_url,
    check_project_name,
    json_api_url,
    load_index_snapshot,
    simple_api_url,
)
from forensics.errors import SourceError, SourceUnavailable, UsageError
from forensics.evidence.store import NO_ANSWER, StoredResponse
from forensics.models import DistFile, Pep740Support


@dataclass(frozen=True)
class CollectSummary:
    """What one `collect()` run gathered."""

    project: str
    base_url: str
    snapshot: IndexSnapshot
    provenance_statuses: Mapping[int, int]
    """Integrity API answers by HTTP status (200 = provenance, 404 = none served, ...)."""
    sent: int
    """Requests sent over the network by this run (retries included)."""
    reused: int
    """Requests answered from the store of a resumed collection."""
    problems: tuple[str, ...] = ()
    """Per-file problems: URLs refused (foreign origin) or left without a final answer."""

    @property
    def pep740(self) -> Pep740Support:
        """Whether the index serves PEP 740 (from the Simple API)."""
        return self.snapshot.pep740


class PyPICollector:
    """Collect one project from a PyPI-compatible index into the fetcher's evidence store."""

    def __init__(
        self,
        fetcher: Fetcher,
        base_url: str = "https://pypi.org",
        *,
        concurrency: int = 8,
        progress: bool | None = None,
        allow_origins: Iterable[str] = (),
    ) -> None:
        """`progress=True` shows a rich progress bar on stderr for the Integrity API fetches;
        `allow_origins` are origins (`https://host[:port]`) besides the index's own from which
        provenance may be fetched."""
        if concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, got {concurrency}")
        self.fetcher = fetcher
        self.base_url = check_base_url(base_url)
        self.origins = allowed_origins(self.base_url, allow_origins)
        self.concurrency = concurrency
        self.progress = bool(progress)

    def collect(
        self,
        project: str,
        *,
        on_snapshot: Callable[[IndexSnapshot], None] | None = None,
        on_answer: Callable[[DistFile], None] | None = None,
    ) -> CollectSummary:
        """Fetch and store everything the analysis needs about `project`.

        Raises `SourceResponseError` when the project does not exist (the 404 is stored first)
        and `SourceUnavailable` when the JSON or Simple API could not be fetched after retries.
        A provenance object that could not be fetched (or was refused: foreign origin) is a
        per-file problem in the summary, never an abort; re-running resumes and asks only for
        what has no final answer yet.

        `on_snapshot` is called once the index listing is stored (while the provenance
        requests are under way); `on_answer` with each file whose Integrity API answer is stored
        (both on this
        thread), so that later stages can start on what is already in the case.
        """
        normalized = check_project_name(project)
        store = self.fetcher.store
        sent0, reused0 = self.fetcher.sent, self.fetcher.reused
        store.begin_collection(self.fetcher.clock(), note=f"pypi {normalized} from {self.base_url}")
        first = self.fetcher.get(
            json_api_url(self.base_url, project), headers={"Accept": "application/json"}
        )
        _raise_if_unavailable(first, "JSON API")
        if first.status != 404:
            simple = self.fetcher.get(
                simple_api_url(self.base_url, normalized), headers={"Accept": SIMPLE_JSON_MEDIA}
            )
            # A 404/406 from the Simple API is an answer (PEP 740 support becomes unknown);
            # a 429/5xx that outlived the retries is an outage worth resuming.
            _raise_if_unavailable(simple, "Simple API")
        # Raises "project not found" for a stored 404 and names a malformed JSON body.
        snapshot = load_index_snapshot(store, self.base_url, project)
        targets = [f for f in snapshot.files if f.provenance_url]
        statuses, problems = self._fetch_provenance(
            targets,
            lambda: on_snapshot(snapshot) if on_snapshot is not None else None,
            on_answer or (lambda _d: None),
        )
        return CollectSummary(
            project=normalized,
            base_url=self.base_url,
            snapshot=snapshot,
            provenance_statuses=dict(sorted(statuses.items())),
            sent=self.fetcher.sent - sent0,
            reused=self.fetcher.reused - reused0,
            problems=tuple(problems),
        )

    def _fetch_provenance(
        self,
        targets: list[DistFile],
        on_started: Callable[[], None],
        on_answer: Callable[[DistFile], None],
    ) -> tuple[Counter[int], list[str]]:
        statuses: Counter[int] = Counter()
        failures: list[str] = []
        allowed: list[DistFile] = []
        for dist in targets:
            url = str(dist.provenance_url)
            if origin(url) in self.origins:
                allowed.append(dist)
                continue
            reason = (
                f"provenance not fetched: {url} is not on the index's origin "
                f"({', '.join(sorted(self.origins))}); allow its origin with --allow-origin "
                "if it is legitimate"
            )
            failures.append(f"{dist.filename}: {reason}")
            self.fetcher.record_refusal(url, reason)
            statuses[NO_ANSWER] += 1
        if not allowed:
            on_started()
            return statuses, sorted(failures)
        headers = {"Accept": INTEGRITY_MEDIA}
        with (
            self._progress(len(allowed)) as advance,
            ThreadPoolExecutor(max_workers=self.concurrency) as pool,
        ):
            futures = {
                pool.submit(
                    self.fetcher.get, str(f.provenance_url), headers=headers, origins=self.origins
                ): f
                for f in allowed
            }
            on_started()
            for future in as_completed(futures):
                dist = futures[future]
                try:
                    status = future.result().status
                except SourceError as exc:
                    # One unreachable object costs that file only: the fetcher stored a "no
                    # answer" record for it, which the analysis reports as unknown with reason.
                    failures.append(f"{dist.filename}: {exc.message}")
                    statuses[NO_ANSWER] += 1
                    continue
                finally:
                    advance()
                statuses[status] += 1
                if is_retryable(status):
                    failures.append(f"{dist.filename}: HTTP {status} after retries")
                on_answer(dist)
        failures.sort()
        return statuses, failures

    @contextmanager
    def _progress(self, total: int) -> Iterator[_Advance]:
        if not self.progress:
            yield lambda: None
            return
        bar = Progress(
            TextColumn("provenance"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        with bar:
            task = bar.add_task("provenance", total=total)
            yield lambda: bar.advance(task)


_Advance = Callable[[], None]


def _raise_if_unavailable(response: StoredResponse, what: str) -> None:
    if is_retryable(response.status):
        raise SourceUnavailable(
            f"the {what} still answered HTTP {response.status} after retries ({response.url})",
            url=response.url,
            hint="re-run the collection later: stored answers are kept and not fetched again",
        )
