"""The verdicts of one investigation: cached ones reused, the others verified (in parallel).

One `Verdicts` object serves a whole run (the collection stages that need verdicts and the
analysis), so each provenance object is verified at most once per run, and at most once per case
while the verifier and trust root stay the same (`forensics.provenance.cache`). It also counts
where each verdict came from, for the report's `run` block.

Memory stays bounded as histories grow: the first pass looks only at stored metadata (the
provenance body's sha256 is in the evidence index), and bodies are read, verified and dropped in
batches of `batch` files.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError
from forensics.models import FileProvenance
from forensics.provenance.cache import (
    LogCheckKey,
    LogCheckOutcome,
    VerdictCache,
    VerdictKey,
    verifier_version,
)
from forensics.provenance.parallel import MIN_PARALLEL, Job, VerifierPool, plan_workers
from forensics.rekor.entry import RekorEntry
from forensics.trust import TrustMaterial

_MAX_PROBLEMS = 5
"""Cache problem lines shown in a report; a whole foreign cache is one story, not 5,000 lines."""
BATCH = 2048
"""Provenance bodies held in memory at once while verifying."""


@dataclass(frozen=True)
class Pending:
    """A stored provenance object that needs a verdict."""

    filename: str
    dist_sha256: str
    provenance_sha256: str
    """sha256 of the stored body (from the evidence index, so no read is needed to look up)."""
    load: Callable[[], bytes]
    """Reads the stored body and checks it still hashes to `provenance_sha256`."""


class Verdicts:
    """Verdict source for one run: memory, then the case's cache, then verification."""

    def __init__(
        self,
        trust: TrustMaterial,
        cache: VerdictCache | None = None,
        *,
        reverify: bool = False,
        workers: int | None = None,
        min_parallel: int = MIN_PARALLEL,
        batch: int = BATCH,
        cache_note: str = "",
    ) -> None:
        self.trust = trust
        self.cache = cache
        self.reverify = reverify
        self.workers = workers
        self.min_parallel = min_parallel
        self.batch = max(batch, 1)
        self.version = verifier_version()
        self._memo: dict[VerdictKey, FileProvenance] = {}
        self._origin: dict[VerdictKey, str] = {}
        self._changed = 0
        self._used_workers = 1
        self._notes: list[str] = [cache_note] if cache_note else []
        self._log_from_cache = 0
        self._log_verified = 0

    @classmethod
    def for_case(
        cls,
        case_root: Path | None,
        trust: TrustMaterial,
        *,
        reverify: bool = False,
        workers: int | None = None,
        min_parallel: int = MIN_PARALLEL,
    ) -> Verdicts:
        """Verdicts backed by `<case_root>/cache/verdicts.sqlite` (no cache when None)."""
        cache, note = (None, "") if case_root is None else VerdictCache.open(case_root)
        return cls(
            trust,
            cache,
            reverify=reverify,
            workers=workers,
            min_parallel=min_parallel,
            cache_note=note,
        )

    def close(self) -> None:
        """Close the cache database."""
        if self.cache is not None:
            self.cache.close()

    def key(self, p: Pending) -> VerdictKey:
        """The cache key of a pending verdict under this run's trust root and verifier."""
        return VerdictKey(
            p.provenance_sha256, p.dist_sha256, p.filename, self.trust.sha256, self.version
        )

    def decide(self, pending: Sequence[Pending]) -> list[FileProvenance]:
        """One verdict per item, in order (without evidence: the caller attaches it)."""
        keys = [self.key(p) for p in pending]
        todo: dict[VerdictKey, Pending] = {}
        for k, p in zip(keys, pending, strict=True):
            if k not in self._memo:
                todo.setdefault(k, p)
        if self.cache is not None and todo and not self.reverify:
            for k, verdict in self.cache.get_many(todo).items():
                self._memo[k] = verdict
                self._origin[k] = "cache"
                # A cached verdict still needs its evidence to be intact: read and hash-check
                # the body (cheap next to verifying it), so an altered case is refused as before.
                todo.pop(k).load()
        if todo:
            self._verify(list(todo.items()))
        return [self._memo[k] for k in keys]

    def _verify(self, items: list[tuple[VerdictKey, Pending]]) -> None:
        n = plan_workers(len(items), self.workers, self.min_parallel)
        self._used_workers = max(self._used_workers, n)
        verifier = self.trust.verifier
        previous: dict[VerdictKey, FileProvenance] = {}
        if self.reverify and self.cache is not None:
            previous = self.cache.get_many(k for k, _ in items)
            self.cache.stats.hits -= len(previous)  # looked up to compare, not used
        with VerifierPool(
            verifier, trust_raw=self.trust.raw, trust_label=self.trust.label, processes=n
        ) as pool:
            for start in range(0, len(items), self.batch):
                chunk = items[start : start + self.batch]
                jobs = [Job(p.load(), p.filename, p.dist_sha256) for _, p in chunk]
                verdicts = pool.verify(jobs)
                del jobs  # bodies of one batch at a time
                self._record([k for k, _ in chunk], verdicts, previous)
        if pool.fallback:
            self._notes.append(pool.fallback)
            self._used_workers = 1

    def log_checks(
        self, entries: Sequence[RekorEntry], shard_offsets: Mapping[str, int] | None
    ) -> list[LogCheckOutcome]:
        """The outcome of verifying each transparency-log entry (`verify_entry`) against this
        run's trusted log keys, in order: cached outcomes reused unless `reverify`, the others
        verified here and cached. Only pass/fail and the reason are cached: callers that need
        the decoded entry (recovered releases) verify it themselves."""
        from forensics.rekor.verify import verify_entry

        offsets = json.dumps(dict(sorted((shard_offsets or {}).items())))
        keys = [
            LogCheckKey(e.fingerprint(), offsets, self.trust.sha256, self.version) for e in entries
        ]
        found: dict[LogCheckKey, LogCheckOutcome] = {}
        if self.cache is not None and not self.reverify:
            found = self.cache.get_log_checks(dict.fromkeys(keys))
        self._log_from_cache += len(found)
        fresh: dict[LogCheckKey, LogCheckOutcome] = {}
        for key, entry in zip(keys, entries, strict=True):
            if key not in found and key not in fresh:
                result = verify_entry(entry, self.trust.log_keys, shard_offsets=shard_offsets)
                fresh[key] = LogCheckOutcome(result.ok, "" if result.ok else result.reason)
        self._log_verified += len(fresh)
        if self.cache is not None and fresh:
            self.cache.put_log_checks(fresh.items())
        return [found.get(k) or fresh[k] for k in keys]

    def _record(
        self,
        keys: Sequence[VerdictKey],
        verdicts: Sequence[FileProvenance],
        previous: Mapping[VerdictKey, FileProvenance],
    ) -> None:
        """Keep freshly verified verdicts (memory and cache); count those that changed."""
        for k, verdict in zip(keys, verdicts, strict=True):
            self._memo[k] = verdict
            self._origin[k] = "verified"
            if k in previous and previous[k] != verdict:
                self._changed += 1
        if self.cache is not None:
            self.cache.put_many(zip(keys, verdicts, strict=True))

    def ahead(
        self, expected: int, on_verdict: Callable[[FileProvenance], None] | None = None
    ) -> VerifyAhead | None:
        """A verifier that takes provenance objects one by one while they are still being
        collected, on worker processes, so that `decide()` later finds their verdicts made.

        None when `expected` objects are too few for worker processes to pay (`decide()` then
        verifies them in this process, as it would have anyway).
        """
        n = plan_workers(expected, self.workers, self.min_parallel)
        if n < 2:
            return None
        self._used_workers = max(self._used_workers, n)
        return VerifyAhead(self, n, on_verdict)

    def source(self) -> dict[str, Any]:
        """What verified (for `Investigation.sources["verification"]`: the same in every replay)."""
        return {
            "verifier": self.version,
            "trust_root_sha256": self.trust.sha256,
        }

    def run_info(self) -> dict[str, Any]:
        """How this run obtained its verdicts (the report's `run.verification`)."""
        from_cache = sum(1 for o in self._origin.values() if o == "cache")
        verified = sum(1 for o in self._origin.values() if o == "verified")
        problems = list(self._notes)
        if self.cache is not None:
            problems += self.cache.stats.problems
        if self._changed:
            problems.append(
                f"{self._changed} re-verified verdict(s) differ from the cached ones they replaced"
            )
        if len(problems) > _MAX_PROBLEMS:
            problems = [
                *problems[:_MAX_PROBLEMS],
                f"and {len(problems) - _MAX_PROBLEMS} more verdict cache problem(s)",
            ]
        return {
            "verifier": self.version,
            "reverify": self.reverify,
            "workers": self._used_workers,
            "verdicts_from_cache": from_cache,
            "verdicts_verified": verified,
            "log_checks_from_cache": self._log_from_cache,
            "log_checks_verified": self._log_verified,
            "cache": str(self.cache.path) if self.cache is not None else None,
            "problems": problems,
        }


def with_evidence(fp: FileProvenance, evidence: Any) -> FileProvenance:
    """A verdict with its evidence reference attached."""
    return dataclasses.replace(fp, evidence=evidence)


class VerifyAhead:
    """Verdicts made while a collection still fetches the other provenance objects.

    `add()` takes each stored object as its answer arrives; full chunks go to worker processes
    at once. `finish()` waits for them and keeps their verdicts in the `Verdicts` they came
    from, exactly as `decide()` would have (same verifier, same key, cache filled the same
    way), so `decide()` returns them without verifying again. Nothing here decides anything
    `decide()` would not: an object whose verification raised, or a chunk whose workers died,
    is simply left to `decide()`, which verifies it (and reports the error) as before.
    `on_verdict` sees each verdict as soon as it is known (on this thread for a verdict known
    already, else on the thread that collects the workers' results).
    """

    CHUNK = 32
    """Objects per worker task: small enough to start verifying while the fetches go on."""

    def __init__(
        self,
        verdicts: Verdicts,
        processes: int,
        on_verdict: Callable[[FileProvenance], None] | None,
    ) -> None:
        self._verdicts = verdicts
        self._on_verdict = on_verdict or (lambda _fp: None)
        trust = verdicts.trust
        self._pool = VerifierPool(
            trust.verifier, trust_raw=trust.raw, trust_label=trust.label, processes=processes
        )
        self._queued: list[tuple[VerdictKey, Pending]] = []
        self._seen: set[VerdictKey] = set()
        self._running: list[tuple[list[VerdictKey], Future[list[Any]]]] = []
        self._done: dict[VerdictKey, FileProvenance] = {}
        """Verdicts back from the workers, kept in `Verdicts` (memory and cache) by `finish()`."""

    def add(self, pending: Pending) -> None:
        """Take one stored provenance object (call from one thread)."""
        v = self._verdicts
        k = v.key(pending)
        if k in self._seen:
            return
        self._seen.add(k)
        if k in v._memo:
            self._on_verdict(v._memo[k])
            return
        self._queued.append((k, pending))
        if len(self._queued) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        batch, self._queued = self._queued, []
        if not batch:
            return
        v = self._verdicts
        todo = dict(batch)
        if v.cache is not None and not v.reverify:
            for k, verdict in v.cache.get_many(todo).items():
                try:
                    todo[k].load()  # as `decide()`: a cached verdict needs intact evidence
                except ForensicsError:
                    continue  # left to `decide()`, which reports it
                v._memo[k] = verdict
                v._origin[k] = "cache"
                del todo[k]
                self._on_verdict(verdict)
        jobs: list[Job] = []
        keys: list[VerdictKey] = []
        for k, p in todo.items():
            try:
                jobs.append(Job(p.load(), p.filename, p.dist_sha256))
            except ForensicsError:
                continue
            keys.append(k)
        if not jobs:
            return
        try:
            future = self._pool.submit(jobs)
        except (BrokenProcessPool, OSError, RuntimeError):
            return  # no workers: `decide()` verifies these
        future.add_done_callback(self._announce)
        self._running.append((keys, future))

    def _announce(self, future: Future[list[Any]]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        for item in future.result():
            if isinstance(item, FileProvenance):
                self._on_verdict(item)

    def _harvest(self) -> None:
        """Wait for every chunk under way and take its verdicts."""
        while self._running:
            keys, future = self._running.pop(0)
            try:
                results = future.result()
            except Exception:  # noqa: S112 - whatever went wrong, `decide()` verifies these
                continue
            for k, r in zip(keys, results, strict=True):
                if isinstance(r, FileProvenance):
                    self._done[k] = r

    def finish(self) -> None:
        """Wait for every object taken and keep the verdicts (call from the `add()` thread)."""
        try:
            self._flush()
            self._harvest()
        finally:
            self.close()
        v = self._verdicts
        previous: dict[VerdictKey, FileProvenance] = {}
        if v.reverify and v.cache is not None:
            previous = v.cache.get_many(self._done)
            v.cache.stats.hits -= len(previous)  # looked up to compare, not used
        v._record(list(self._done), list(self._done.values()), previous)
        self._done = {}

    def close(self) -> None:
        """Stop the workers (pending chunks are dropped: `decide()` verifies them)."""
        self._running = []
        self._pool.close()
