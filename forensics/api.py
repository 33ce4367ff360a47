"""The library entry point for notebooks and scripts: `investigate()` collects (unless offline)
into a case directory, then analyses the case."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from forensics.analysis import Investigation, analyze
from forensics.errors import EvidenceError, UsageError
from forensics.evidence import CaseMeta, EvidenceStore
from forensics.provenance.verify import ProvenanceVerifier

DEFAULT_INDEX_URL = "https://pypi.org"
USER_AGENT = "provenance-forensics/0.1 (+https://github.com/provenance-forensics)"


def default_index_url() -> str:
    """`$FORENSICS_INDEX_URL`, else pypi.org."""
    return os.environ.get("FORENSICS_INDEX_URL", DEFAULT_INDEX_URL).rstrip("/")


def collect(
    project: str,
    store: EvidenceStore,
    *,
    index_url: str,
    concurrency: int = 8,
    timeout: float = 20.0,
    progress: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Fetch everything the analysis needs from the index into the case (resumable)."""
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
    store.write_meta(CaseMeta(project=project, sources=sources,
                              simulated=meta.simulated if meta else False,
                              notes=meta.notes if meta else ()))
    store.begin_collection(clock(), note=f"collect {project} from {index_url}")
    limits = httpx.Limits(max_connections=max(concurrency, 1))
    with httpx.Client(
        timeout=timeout, headers={"User-Agent": USER_AGENT}, limits=limits, follow_redirects=False
    ) as client:
        fetcher = Fetcher(client, store, source="index", clock=clock)
        PyPICollector(fetcher, index_url, concurrency=concurrency, progress=progress).collect(project)
    store.finish_collection(clock())


def investigate(
    project: str,
    *,
    index_url: str | None = None,
    case: str | os.PathLike[str] | None = None,
    offline: bool = False,
    as_of: datetime | None = None,
    trust_root: str | os.PathLike[str] | None = None,
    concurrency: int = 8,
    progress: bool = False,
) -> Investigation:
    """Investigate a project: collect into `case` (a temporary one if None) unless `offline`,
    then analyse the case as of `as_of` (default: the case's last retrieval time)."""
    if offline and case is None:
        raise UsageError("--offline needs --case DIR: there is nothing to analyse otherwise")
    verifier = ProvenanceVerifier.from_path(Path(trust_root) if trust_root else None)
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
                collect(project, store, index_url=index_url or default_index_url(),
                        concurrency=concurrency, progress=progress)
            return analyze(store, as_of=as_of, verifier=verifier,
                           rekor_available="no transparency-log source was given (--rekor-url)")


def _norm(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))
