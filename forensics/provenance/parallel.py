"""PEP 740 verification of many files at once, across processes when that pays.

Verification is CPU-bound Python plus OpenSSL calls that hold the GIL for most of their time, so
threads do not scale; `concurrent.futures.ProcessPoolExecutor` does. Each worker parses the
trusted root once (in its initializer) and keeps one `ProvenanceVerifier` for all the files it is
given. Work goes out in contiguous chunks and comes back by position, so the result is the same
list, in the same order, as verifying one file after another; only the wall-clock time differs.

Process start-up (a fresh interpreter importing sigstore and pypi-attestations, ~0.5 s) costs more
than it saves for a few hundred files, so small inputs take the sequential path in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from forensics.errors import ForensicsError, InputError
from forensics.models import FileProvenance
from forensics.provenance.verify import ProvenanceVerifier
from forensics.trust import TrustMaterial

MIN_PARALLEL = 400
"""Below this many files to verify, one process is faster than starting workers (measured in
`benchmarks/bench_verify.py`: ~1.5-3 ms per file against ~0.5 s per worker start)."""


@dataclass(frozen=True)
class Job:
    """One provenance object to verify against one distribution file."""

    raw: bytes
    filename: str
    sha256: str


def default_workers() -> int:
    """Processes to use by default: every core this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def plan_workers(n_jobs: int, workers: int | None, min_parallel: int = MIN_PARALLEL) -> int:
    """How many processes `verify_many` will use: 1 (this process) for small inputs."""
    wanted = default_workers() if workers is None else workers
    if wanted <= 1 or n_jobs < min_parallel:
        return 1
    return min(wanted, n_jobs)


def _context() -> multiprocessing.context.BaseContext:
    """fork when this process runs a single thread (workers start in milliseconds, nothing to
    import), spawn otherwise: a thread (progress spinner, HTTP pool, an in-process lab server)
    may hold a lock at fork time that the child would then wait on forever."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


# ----------------------------------------------------------------------- worker side

_WORKER: ProvenanceVerifier | None = None


def _init_worker(trust_raw: bytes, trust_label: str) -> None:
    global _WORKER
    _WORKER = ProvenanceVerifier(TrustMaterial(trust_raw, trust_label))


def _verify_chunk(
    chunk: Sequence[Job],
) -> list[FileProvenance | tuple[str, str, str]]:
    assert _WORKER is not None, "worker used before its initializer ran"
    out: list[FileProvenance | tuple[str, str, str]] = []
    for job in chunk:
        try:
            out.append(_WORKER.verify_provenance(job.raw, filename=job.filename, sha256=job.sha256))
        except ForensicsError as exc:
            # Re-raised in the parent as the same message: our error classes take keyword
            # arguments that do not survive pickling as exceptions.
            out.append(("error", str(exc), getattr(exc, "hint", "") or ""))
    return out


# ----------------------------------------------------------------------- parent side


class VerifierPool:
    """Worker processes (or this process, for `processes == 1`) verifying batches of jobs.

    One pool serves a whole run, so the workers start once however many batches follow.
    """

    def __init__(
        self, verifier: ProvenanceVerifier, *, trust_raw: bytes, trust_label: str, processes: int
    ) -> None:
        self._verifier = verifier
        self._trust = (trust_raw, trust_label)
        self.processes = max(processes, 1)
        self._pool: ProcessPoolExecutor | None = None
        self.fallback = ""
        """Why the pool fell back to this process, if it did."""

    def __enter__(self) -> VerifierPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (waits for them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, jobs: Sequence[Job]) -> Future[list[FileProvenance | tuple[str, str, str]]]:
        """Verify `jobs` in a worker in the background (a pool of 2 or more processes only).

        The future's items are verdicts or, for a job whose verification raised, an
        `("error", message, hint)` tuple; `BrokenProcessPool`/`OSError` when workers died.
        """
        if self.processes < 2:
            raise ValueError("submit() needs worker processes; use verify() for one process")
        return self._executor().submit(_verify_chunk, list(jobs))

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=_context(),
                initializer=_init_worker,
                initargs=self._trust,
            )
        return self._pool

    def verify(self, jobs: Sequence[Job]) -> list[FileProvenance]:
        """Verdicts for `jobs`, in order, without evidence attached."""
        if self.processes == 1 or len(jobs) < 2:
            return [
                self._verifier.verify_provenance(j.raw, filename=j.filename, sha256=j.sha256)
                for j in jobs
            ]
        pool = self._executor()
        # A few chunks per worker balances uneven files without paying per-file IPC.
        size = max(1, -(-len(jobs) // (self.processes * 4)))
        chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        try:
            parts = list(pool.map(_verify_chunk, chunks))
        except (BrokenProcessPool, OSError) as exc:
            # Workers could not start or died (e.g. a script without an `if __name__ ==
            # "__main__"` guard re-run by spawn, or no memory): the answer must not depend on
            # that, so this run goes on in this process and says so.
            self.close()
            self.processes = 1
            self.fallback = (
                f"worker processes failed ({type(exc).__name__}: {exc}); verified in one process"
            )
            return self.verify(jobs)
        results: list[FileProvenance] = []
        for part in parts:
            for item in part:
                if isinstance(item, tuple):
                    raise InputError(item[1], hint=item[2] or None)
                results.append(item)
        return results


def verify_many(
    jobs: Sequence[Job],
    verifier: ProvenanceVerifier,
    *,
    trust_raw: bytes,
    trust_label: str,
    workers: int | None = None,
    min_parallel: int = MIN_PARALLEL,
) -> list[FileProvenance]:
    """Verdicts for `jobs`, in order (no evidence attached): `verifier` here, or worker processes.

    `verifier` and `trust_raw` must be the same root (the workers rebuild it from the bytes).
    """
    n = plan_workers(len(jobs), workers, min_parallel)
    with VerifierPool(verifier, trust_raw=trust_raw, trust_label=trust_label, processes=n) as pool:
        return pool.verify(jobs)
