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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
                for (k, _), verdict in zip(chunk, verdicts, strict=True):
                    self._memo[k] = verdict
                    self._origin[k] = "verified"
                    if k in previous and previous[k] != verdict:
                        self._changed += 1
                if self.cache is not None:
                    self.cache.put_many(
                        (k, verdict) for (k, _), verdict in zip(chunk, verdicts, strict=True)
                    )
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
