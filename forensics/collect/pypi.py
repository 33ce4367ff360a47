"""The PyPI collector: JSON API, Simple API (PEP 691 JSON) and Integrity API answers into the case.

Order: the JSON API (following PyPI's 301 to the normalized name), the Simple API with the JSON
media type, then, for each file whose Simple entry carries a provenance URL, the Integrity API,
fetched by a bounded thread pool. The collector decides *what* to fetch from the stored answers
through `load_index_snapshot`, the same parser the analysis uses, so what is collected and what
is analysed cannot drift apart. The caller owns the collection lifecycle and case.json
(`forensics.api.collect`): a failed run leaves the collection open, and the next run resumes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from forensics.collect.http import Fetcher, is_retryable
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
from forensics.evidence.store import StoredResponse
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
    ) -> None:
        """`progress=True` shows a rich progress bar on stderr for the Integrity API fetches."""
        if concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, got {concurrency}")
        self.fetcher = fetcher
        self.base_url = check_base_url(base_url)
        self.concurrency = concurrency
        self.progress = bool(progress)

    def collect(self, project: str) -> CollectSummary:
        """Fetch and store everything the analysis needs about `project`.

        Raises `SourceResponseError` when the project does not exist (the 404 is stored first)
        and `SourceUnavailable` when some answers could not be fetched after retries (every
        other answer is stored; re-running resumes and fetches only what is missing).
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
        statuses, failures = self._fetch_provenance(targets)
        if failures:
            listed = "; ".join(failures[:5]) + (" ..." if len(failures) > 5 else "")
            raise SourceUnavailable(
                f"{len(failures)} of {len(targets)} provenance objects could not be fetched: "
                f"{listed}",
                url=self.base_url,
                hint="re-run the collection: stored answers are kept and not fetched again",
            )
        return CollectSummary(
            project=normalized,
            base_url=self.base_url,
            snapshot=snapshot,
            provenance_statuses=dict(sorted(statuses.items())),
            sent=self.fetcher.sent - sent0,
            reused=self.fetcher.reused - reused0,
        )

    def _fetch_provenance(self, targets: list[DistFile]) -> tuple[Counter[int], list[str]]:
        statuses: Counter[int] = Counter()
        failures: list[str] = []
        if not targets:
            return statuses, failures
        headers = {"Accept": INTEGRITY_MEDIA}
        with (
            self._progress(len(targets)) as advance,
            ThreadPoolExecutor(max_workers=self.concurrency) as pool,
        ):
            futures = {
                pool.submit(self.fetcher.get, str(f.provenance_url), headers=headers): f
                for f in targets
            }
            for future in as_completed(futures):
                dist = futures[future]
                try:
                    status = future.result().status
                except SourceError as exc:
                    # One unreachable object must not lose the others: finish, then report.
                    failures.append(f"{dist.filename}: {exc.message}")
                    continue
                finally:
                    advance()
                statuses[status] += 1
                if is_retryable(status):
                    failures.append(f"{dist.filename}: HTTP {status} after retries")
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
