"""The library entry point for notebooks and scripts: `investigate()` collects (unless offline)
into a case directory, then analyses the case."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from forensics.analysis import Investigation, analyze
from forensics.errors import EvidenceError, ForensicsError, InputError, UsageError
from forensics.evidence import CaseMeta, EvidenceStore
from forensics.intel import parse_intel
from forensics.provenance.verdicts import Verdicts
from forensics.trust import TrustMaterial

if TYPE_CHECKING:
    from forensics.collect.http import Fetcher
    from forensics.collect.pypi_parse import IndexSnapshot
    from forensics.models import DistFile, FileProvenance
    from forensics.provenance.verdicts import VerifyAhead
    from forensics.rekor.entry import RekorEntry

DEFAULT_INDEX_URL = "https://pypi.org"
USER_AGENT = "provenance-forensics/0.1 (+https://github.com/provenance-forensics)"


def default_index_url() -> str:
    """`$FORENSICS_INDEX_URL`, else pypi.org."""
    return os.environ.get("FORENSICS_INDEX_URL", DEFAULT_INDEX_URL).rstrip("/")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Collected:
    """What one `collect()` run did over the network."""

    sent: int
    """Requests sent (attempts, retries included), every source together."""
    reused: int
    """Requests answered from the case (resume: already answered definitively)."""
    revalidated: int
    """Requests answered `304 Not Modified` (held bytes re-recorded)."""
    problems: tuple[str, ...]
    """Requests refused (foreign origin) or left without a final answer, one line each."""

    @property
    def complete(self) -> bool:
        """True when every request got a final answer (the collection was closed)."""
        return not self.problems


_GC_LOCK = threading.Lock()
_GC_USERS = 0
_GC_SAVED: tuple[int, int, int] | None = None
#: Allocations between two young-generation collections while a collection runs (default 700).
GC_THRESHOLD = 20_000


@contextlib.contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Run the cyclic garbage collector less often while collecting.

    A collection allocates hundreds of thousands of objects that live until it ends (answers,
    futures, verdicts, the listing) and makes few reference cycles. With the default thresholds
    the collector ran about 1,500 times during a 2,500-release collection, 2.0-2.5 s in all (9 or
    10 full passes over the whole heap), every pass holding the interpreter lock that the
    request threads need (`benchmarks/README.md`, bench_collect). The young generation is
    collected every `GC_THRESHOLD` allocations instead, and the thresholds are restored when the
    last concurrent collection of the process ends (a fleet scan runs several at once).
    """
    global _GC_USERS, _GC_SAVED
    with _GC_LOCK:
        if _GC_USERS == 0:
            _GC_SAVED = gc.get_threshold()
            gc.set_threshold(max(_GC_SAVED[0], GC_THRESHOLD), *_GC_SAVED[1:])
        _GC_USERS += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_USERS -= 1
            if _GC_USERS == 0 and _GC_SAVED is not None:
                gc.set_threshold(*_GC_SAVED)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once per process: loading the CA bundle costs ~50 ms
    of CPU, which a fleet scan would otherwise pay for every project it collects."""
    return httpx.create_ssl_context()


def collect(
    project: str,
    store: EvidenceStore,
    *,
    index_url: str,
    rekor_url: str | None = None,
    github_url: str | None = None,
    intel: Path | None = None,
    trust: TrustMaterial | None = None,
    concurrency: int = 8,
    timeout: float = 20.0,
    request_deadline: float = 120.0,
    deadline: float | None = None,
    allow_origins: Sequence[str] = (),
    retries: int = 4,
    backoff: float = 0.5,
    progress: bool = False,
    clock: Callable[[], datetime] = _now,
    verdicts: Verdicts | None = None,
    before_request: Callable[[httpx.Request], None] | None = None,
) -> Collected:
    """Fetch everything the analysis needs into the case (resumable): the index; with
    `rekor_url`, the transparency-log entries the recovery asks for; with `github_url`, the
    commits, runs and tags the attestations name.

    Every source goes through one capture layer (`forensics.collect.http.Fetcher`): `timeout`
    bounds each socket read, `request_deadline` each whole response, `deadline` (seconds) the
    whole run; each request is retried `retries` times, waits doubling from `backoff` seconds;
    `allow_origins` lists origins besides the index's own from which provenance may
    be fetched. When some request got no final answer the collection stays open, so re-running
    resumes it and asks only for what is missing. `before_request` is called before every
    index and GitHub request (a fleet scan's per-host request budget waits there).
    """
    from forensics.collect.http import Fetcher, allowed_origins
    from forensics.collect.pypi import PyPICollector

    if concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, got {concurrency}")
    origins = allowed_origins(index_url, allow_origins)  # refuse a bad origin before any I/O
    meta = store.read_meta()
    if meta is not None and meta.project != project:
        raise UsageError(
            f"case {store.root} is about {meta.project!r}, not {project!r}",
            hint="use another --case directory",
        )
    sources = dict(meta.sources) if meta else {}
    sources["index"] = {"base_url": index_url}
    store.begin_collection(clock(), note=f"collect {project} from {index_url}")
    if rekor_url:
        sources["rekor"] = {"base_url": rekor_url.rstrip("/")}
    if github_url:
        sources["github"] = {"base_url": github_url.rstrip("/")}
    if intel is not None:
        try:
            raw = intel.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read intel file {intel}: {exc.strerror or exc}") from exc
        parse_intel(raw, str(intel))  # refuse a bad intel file before any network I/O
        url = f"intel:{intel.name}"
        store.put_response(
            source="intel", url=url, status=200, headers={}, body=raw, retrieved_at=clock()
        )
        sources["intel"] = {"url": url}
    trust = trust or TrustMaterial.load(None)
    trust_url = f"trust:{trust.sha256}"
    store.put_response(
        source="trust", url=trust_url, status=200, headers={}, body=trust.raw, retrieved_at=clock()
    )
    sources["trust_root"] = {"url": trust_url, "origin": trust.label, "sha256": trust.sha256}
    store.write_meta(
        CaseMeta(
            project=project,
            sources=sources,
            simulated=meta.simulated if meta else False,
            notes=meta.notes if meta else (),
        )
    )
    # The run's verdict source; one of our own is dropped (and its cache closed) on return.
    verdicts = verdicts or Verdicts.for_case(store.root, trust)
    problems: list[str] = []
    with (
        _fewer_gc_passes(),
        _http_client(concurrency, timeout, before_request) as client,
        contextlib.ExitStack() as on_exit,
    ):
        fetcher = Fetcher(
            client,
            store,
            source="index",
            retries=retries,
            backoff=backoff,
            timeout=request_deadline,
            run_timeout=deadline,
            clock=clock,
        )
        log = None
        if rekor_url:
            log = on_exit.enter_context(
                _LogStage(
                    store, fetcher, rekor_url, verdicts, timeout=timeout, concurrency=concurrency
                )
            )
        summary = PyPICollector(
            fetcher, index_url, concurrency=concurrency, progress=progress, allow_origins=origins
        ).collect(
            project,
            on_snapshot=log.listed if log else None,
            on_answer=log.provenance_stored if log else None,
        )
        problems += summary.problems
        fetchers = [fetcher]
        if log is not None:
            with _status(progress, f"asking the transparency log at {rekor_url}"):
                problems += log.gather()
                fetchers.append(log.client.fetcher)
        if github_url:
            with _status(progress, f"asking GitHub at {github_url}"):
                github = fetcher.derive(client, source="github")
                fetchers.append(github)
                problems += _collect_github(store, github, github_url, verdicts, concurrency)
    if not problems:
        store.finish_collection(clock())
    else:  # what was answered is sealed; the case says the collection is incomplete
        store.checkpoint_collection()
    return Collected(
        sent=sum(f.sent for f in fetchers),
        reused=sum(f.reused for f in fetchers),
        revalidated=sum(f.revalidated for f in fetchers),
        problems=tuple(problems),
    )


def _http_client(
    concurrency: int,
    timeout: float,
    before_request: Callable[[httpx.Request], None] | None = None,
) -> httpx.Client:
    """One keep-alive pool per origin, `concurrency` connections, HTTP/2 where offered."""
    try:
        import h2  # noqa: F401  (optional: httpx speaks HTTP/2 only with it)

        http2 = True
    except ImportError:
        http2 = False
    limits = httpx.Limits(
        max_connections=max(concurrency, 1), max_keepalive_connections=max(concurrency, 1)
    )
    return httpx.Client(
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        limits=limits,
        follow_redirects=False,
        http2=http2,
        event_hooks={"request": [before_request]} if before_request is not None else {},
        verify=_tls_context(),
    )


def _status(enabled: bool, message: str) -> contextlib.AbstractContextManager[object]:
    """A spinner on stderr for the collection steps that have no natural progress count."""
    if not enabled:
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


class _LogStage:
    """The transparency-log part of a collection, started while the index is still collected.

    The log recovery (`forensics.rekor.recover.gather`) asks the log what the analysis will
    replay, from inputs that need the whole index: every file's digest, the signing identities
    of every verified attestation, the entries and checkpoints embedded in the provenance. Its
    requests do not all need all of it, though, so they start as soon as what they need is in
    the case, while the index's Integrity API answers are still arriving:

    * the listing stored (`listed`): the log's state and a search for every listed file's digest;
    * each provenance object stored (`provenance_stored`): its verification, on worker processes
      (`Verdicts.ahead`), and, once verified, a search for each signing identity it shows.

    `gather()` then runs the recovery as before, from the same inputs computed the same way;
    the requests already sent are answered by what they got (`RekorClient.ask_early`), the rest
    are sent then. Only requests the recovery certainly makes are asked early: digests of the
    listed files (which it always searches) and identities of verified attestations of listed
    files (which it always searches), so the case ends up with exactly the requests and answers
    of a collection that waited for the index.
    """

    def __init__(
        self,
        store: EvidenceStore,
        fetcher: Fetcher,
        rekor_url: str,
        verdicts: Verdicts,
        *,
        timeout: float,
        concurrency: int,
    ) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        from forensics.rekor.client import RekorClient

        self.store = store
        self.verdicts = verdicts
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # requests keeps at most pool_maxsize connections per host (default 10): size it to the
        # concurrency so that every worker reuses a kept-alive connection.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(concurrency, 1))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.client = RekorClient(
            self.session, rekor_url, store=store, timeout=timeout, fetcher=fetcher
        )
        # The log's requests, early and late: at most `concurrency` in flight to the log (the
        # index has its own `concurrency` connections).
        self.pool = ThreadPoolExecutor(max_workers=max(concurrency, 1))
        self.ahead: VerifyAhead | None = None
        self.snapshot: IndexSnapshot | None = None
        self.files: dict[str, DistFile] = {}
        self.embedded: dict[str, list[RekorEntry]] = {}
        """`embedded_entries` of each stored provenance object, by its sha256."""

    def __enter__(self) -> _LogStage:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ahead is not None:
            self.ahead.close()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.session.close()

    def listed(self, _listing: IndexSnapshot) -> None:
        """The index listing is stored: ask what needs only the listing."""
        from forensics.analysis import case_index_snapshot

        meta = self.store.read_meta()
        assert meta is not None  # written by collect() before any source is asked
        # The listing exactly as `gather()`'s inputs will read it (`index_provenance`).
        snapshot = case_index_snapshot(self.store, meta)
        self.snapshot = snapshot
        self.files = {d.filename: d for d in snapshot.files}
        self.client.ask_early(self.pool, "log_info")
        for digest in sorted({d.sha256 for d in snapshot.files}):
            self.client.ask_early(self.pool, "search_hash", digest)
        expected = sum(1 for d in snapshot.files if d.provenance_url)
        self.ahead = self.verdicts.ahead(expected, self._verified)

    def provenance_stored(self, dist: DistFile) -> None:
        """One file's Integrity API answer is stored: verify it now."""
        from forensics.analysis import pending_provenance
        from forensics.rekor.recover import embedded_entries

        mine = self.files.get(dist.filename)
        if self.ahead is None or self.snapshot is None or mine is None:
            return
        pending = pending_provenance(self.store, self.snapshot, mine)
        if pending is None:
            return
        self.ahead.add(pending)
        # The log entries embedded in it, which the recovery's inputs read from every object
        # (`embedded_index`): parsed now, while the other answers are still on their way.
        with contextlib.suppress(ForensicsError):  # read again (and reported) by the recovery
            self.embedded[pending.provenance_sha256] = embedded_entries(pending.load())

    def _verified(self, verdict: FileProvenance) -> None:
        # The recovery searches every signing identity of a verified attestation
        # (`rekor_inputs`): ask for them now. RuntimeError: the stage is closing (the
        # collection stopped early), so there is nothing more to ask.
        with contextlib.suppress(RuntimeError):
            for att in verdict.attestations:
                if att.verified and att.certificate is not None:
                    for san in att.certificate.san:
                        self.client.ask_early(self.pool, "search_subject", san)

    def gather(self) -> list[str]:
        """Run the recovery (its early requests answered by then or under way); one line per
        log request that got no answer (the replay reports them too)."""
        from forensics.analysis import files_provenance, index_provenance, load_case_intel
        from forensics.rekor.recover import embedded_index, gather, rekor_inputs

        if self.ahead is not None:
            self.ahead.finish()
        meta = self.store.read_meta()
        assert meta is not None
        if self.snapshot is not None:
            # The listing `listed()` read: the same stored answers, parsed the same way.
            snapshot = self.snapshot
            provenance = files_provenance(self.store, snapshot, self.verdicts)
        else:
            snapshot, provenance = index_provenance(self.store, meta, self.verdicts)
        served = {d.filename: (d.version, d.sha256, provenance[d.filename]) for d in snapshot.files}
        embedded = embedded_index(self.store, served, self.embedded)
        inputs = rekor_inputs(snapshot.files, provenance, snapshot.versions, self.store, embedded)
        intel = load_case_intel(self.store, meta)
        gathered = gather(
            self.client,
            sans=inputs.sans,
            digests=inputs.digests,
            intel=intel,
            embedded_indexes=inputs.embedded_indexes,
            checkpoints=inputs.checkpoints,
            executor=self.pool,
        )
        return [p for p in gathered.problems if "could not be checked: log unreachable" in p]


def _collect_github(
    store: EvidenceStore,
    fetcher: Fetcher,
    github_url: str,
    verdicts: Verdicts,
    concurrency: int,
) -> list[str]:
    """Fetch the commits, runs and tags that the (served and recovered) attestations name."""
    from forensics.analysis import read_evidence
    from forensics.collect.github import GitHubCollector, collect_source
    from forensics.collect.github_parse import github_targets

    ev = read_evidence(store, with_github=False, verdicts=verdicts)
    commits, runs, repos = github_targets(ev.attested_claims())
    problems = GitHubCollector(fetcher, github_url, concurrency=concurrency).collect(
        commits, runs, repos
    )
    # The repository the index names: corroboration for releases without attestations.
    named = ev.snapshot.info.source_repository if ev.snapshot.info else None
    if named:
        problems += collect_source(fetcher, github_url, named, ev.snapshot.versions)
    return problems


def investigate(
    project: str,
    *,
    index_url: str | None = None,
    case: str | os.PathLike[str] | None = None,
    offline: bool = False,
    as_of: datetime | None = None,
    trust_root: str | os.PathLike[str] | None = None,
    rekor_url: str | None = None,
    github_url: str | None = None,
    intel: str | os.PathLike[str] | None = None,
    concurrency: int = 8,
    progress: bool = False,
    allow_origins: Sequence[str] = (),
    deadline: float | None = None,
    reverify: bool = False,
    workers: int | None = None,
) -> Investigation:
    """Investigate a project: collect into `case` (a temporary one if None) unless `offline`,
    then analyse the case as of `as_of` (default: the case's last retrieval time).

    Verdicts cached in the case are reused unless `reverify`; the others are verified on
    `workers` processes (default: every core)."""
    if offline and case is None:
        raise UsageError("--offline needs --case DIR: there is nothing to analyse otherwise")
    if trust_root:
        trust: TrustMaterial | None = TrustMaterial.load(Path(trust_root))
    else:
        # online: the production root, shared by every collection stage and the analysis;
        # offline: None, so the analysis uses the root stored in the case
        trust = None if offline else TrustMaterial.load(None)
    with tempfile.TemporaryDirectory(prefix="forensics-case-") as tmp:
        root = Path(case) if case is not None else Path(tmp)
        with EvidenceStore.open(root, create=not offline) as store:
            if offline:
                # never a changed or killed case; the check's digest is the one the report prints
                intact = store.require_intact(allow_partial=True)
                meta = store.read_meta()
                if meta is None:
                    raise EvidenceError(f"{root} has no case.json; collect it first")
                if meta.project != project and _norm(meta.project) != _norm(project):
                    raise UsageError(f"case {root} is about {meta.project!r}, not {project!r}")
                return analyze(
                    store,
                    as_of=as_of,
                    trust=trust,
                    reverify=reverify,
                    workers=workers,
                    case_digest=intact.digest,
                )
            assert trust is not None  # online runs always pin a root above
            # One verdict source for the whole run: collection needs the verdicts too, and each
            # provenance object is verified once.
            verdicts = Verdicts.for_case(root, trust, reverify=reverify, workers=workers)
            try:
                collect(
                    project,
                    store,
                    index_url=index_url or default_index_url(),
                    rekor_url=rekor_url,
                    github_url=github_url,
                    intel=Path(intel) if intel else None,
                    trust=trust,
                    concurrency=concurrency,
                    progress=progress,
                    allow_origins=allow_origins,
                    deadline=deadline,
                    verdicts=verdicts,
                )
                return analyze(store, as_of=as_of, verdicts=verdicts)
            finally:
                verdicts.close()


def _norm(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))
