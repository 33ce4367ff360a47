"""The library entry point for notebooks and scripts: `investigate()` collects (unless offline)
into a case directory, then analyses the case."""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from forensics.analysis import Investigation, analyze
from forensics.errors import EvidenceError, InputError, UsageError
from forensics.evidence import CaseMeta, EvidenceStore
from forensics.intel import parse_intel
from forensics.trust import TrustMaterial

DEFAULT_INDEX_URL = "https://pypi.org"
USER_AGENT = "provenance-forensics/0.1 (+https://github.com/provenance-forensics)"


def default_index_url() -> str:
    """`$FORENSICS_INDEX_URL`, else pypi.org."""
    return os.environ.get("FORENSICS_INDEX_URL", DEFAULT_INDEX_URL).rstrip("/")


def _now() -> datetime:
    return datetime.now(UTC)


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
    progress: bool = False,
    clock: Callable[[], datetime] = _now,
    before_request: Callable[[httpx.Request], None] | None = None,
) -> None:
    """Fetch everything the analysis needs into the case (resumable): the index; with
    `rekor_url`, the transparency-log entries the recovery asks for; with `github_url`, the
    commits, runs and tags the attestations name. `before_request` is called before every
    index and GitHub request (a fleet scan's per-host request budget waits there)."""
    from forensics.collect.http import Fetcher
    from forensics.collect.pypi import PyPICollector

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
    limits = httpx.Limits(max_connections=max(concurrency, 1))
    hooks = {"request": [before_request]} if before_request is not None else {}
    with httpx.Client(
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        limits=limits,
        follow_redirects=False,
        event_hooks=hooks,
        verify=_tls_context(),
    ) as client:
        fetcher = Fetcher(client, store, source="index", clock=clock)
        PyPICollector(fetcher, index_url, concurrency=concurrency, progress=progress).collect(
            project
        )
        if rekor_url:
            with _status(progress, f"asking the transparency log at {rekor_url}"):
                _collect_rekor(store, rekor_url, trust, timeout=timeout, clock=clock)
        if github_url:
            with _status(progress, f"asking GitHub at {github_url}"):
                _collect_github(store, client, github_url, trust, clock)
    store.finish_collection(clock())


def _status(enabled: bool, message: str) -> contextlib.AbstractContextManager[object]:
    """A spinner on stderr for the collection steps that have no natural progress count."""
    if not enabled:
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


def _collect_rekor(
    store: EvidenceStore,
    rekor_url: str,
    trust: TrustMaterial,
    *,
    timeout: float,
    clock: Callable[[], datetime],
) -> None:
    """Ask the log what the analysis will replay: same inputs, live client, answers stored."""
    import requests

    from forensics.analysis import index_provenance, load_case_intel
    from forensics.rekor.client import RekorClient
    from forensics.rekor.recover import gather, rekor_inputs

    meta = store.read_meta()
    assert meta is not None  # written by collect() before any source is asked
    snapshot, provenance = index_provenance(store, meta, trust.verifier)
    inputs = rekor_inputs(snapshot.files, provenance, snapshot.versions, store)
    with requests.Session() as session:
        session.headers["User-Agent"] = USER_AGENT
        client = RekorClient(session, rekor_url, store=store, timeout=timeout, clock=clock)
        gather(
            client,
            sans=inputs.sans,
            digests=inputs.digests,
            intel=load_case_intel(store, meta),
            embedded_indexes=inputs.embedded_indexes,
            checkpoints=inputs.checkpoints,
        )


def _collect_github(
    store: EvidenceStore,
    client: httpx.Client,
    github_url: str,
    trust: TrustMaterial,
    clock: Callable[[], datetime],
) -> None:
    """Fetch the commits, runs and tags that the (served and recovered) attestations name."""
    from forensics.analysis import read_evidence
    from forensics.collect.github import GitHubCollector
    from forensics.collect.github_parse import github_targets
    from forensics.collect.http import Fetcher

    ev = read_evidence(store, trust, with_github=False)
    commits, runs, repos = github_targets(ev.attested_claims())
    fetcher = Fetcher(client, store, source="github", clock=clock)
    GitHubCollector(fetcher, github_url).collect(commits, runs, repos)


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
) -> Investigation:
    """Investigate a project: collect into `case` (a temporary one if None) unless `offline`,
    then analyse the case as of `as_of` (default: the case's last retrieval time)."""
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
                meta = store.read_meta()
                if meta is None:
                    raise EvidenceError(f"{root} has no case.json; collect it first")
                if meta.project != project and _norm(meta.project) != _norm(project):
                    raise UsageError(f"case {root} is about {meta.project!r}, not {project!r}")
            else:
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
                )
            return analyze(store, as_of=as_of, trust=trust)


def _norm(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))
