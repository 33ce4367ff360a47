"""Scan many projects: one investigation per project on an engine (in-process, local processes or a
Dask cluster), then the cross-project detectors over the per-project summaries.

Each project runs through the public API (`forensics.api.collect` + `forensics.analysis.analyze`)
into its own case (`<fleet>/cases/<name>/`, kept and refreshed on re-runs), and only its
`ProjectSummary` travels back, as plain JSON-able data, so the engine never changes the result:
projects are sorted by name and the report body holds no timing. A project that cannot be
investigated becomes a row with its reason (unknown is a result), never a crashed scan.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

from forensics import __version__
from forensics.errors import ForensicsError, UsageError
from forensics.fleet.budget import BudgetHandle, HostBudget, request_hook
from forensics.fleet.detectors.interface import ProjectSummary
from forensics.fleet.summary import summarize, summary_from_json, summary_to_json
from forensics.models import isoformat


@dataclass(frozen=True)
class ScanSettings:
    """What every worker needs to investigate one project (picklable)."""

    index_url: str
    trust_root: str | None = None
    fleet_dir: str | None = None
    as_of: datetime | None = None
    refresh: bool = True
    """Collect again into existing cases (a scan); False reuses cases as they are (a warm gate)."""
    offline: bool = False
    """Never touch the network: projects without a case become unknown rows."""
    concurrency: int = 4
    timeout: float = 20.0


def case_dir(fleet_dir: str, name: str) -> Path:
    """Where a project's case lives in a fleet directory."""
    return Path(fleet_dir) / "cases" / name


def _cache_key(settings: ScanSettings, retrieved: datetime | None, trust: str) -> dict[str, Any]:
    return {
        "forensics": __version__,
        "retrieved": isoformat(retrieved),
        "as_of": isoformat(settings.as_of),
        "trust": trust,
    }


def scan_one(
    name: str, settings: ScanSettings, budget: BudgetHandle | None = None
) -> dict[str, Any]:
    """Investigate one project; return `{"summary": ..., "run": ...}` as JSON-able data."""
    started = time.perf_counter()
    run: dict[str, Any] = {"cached": False}
    try:
        summary = _investigate(name, settings, budget, run)
    except ForensicsError as exc:
        summary = ProjectSummary(
            project=name,
            releases=(),
            findings=(),
            skipped=(),
            pep740="unknown",
            case=f"cases/{name}" if settings.fleet_dir else "",
            error=f"{exc.reference}: {exc.message}",
        )
        run["exit_code"] = exc.exit_code
    run["seconds"] = round(time.perf_counter() - started, 3)
    return {"summary": summary_to_json(summary), "run": run}


def scan_batch(
    names: Sequence[str], settings: ScanSettings, budget: BudgetHandle | None, threads: int
) -> list[dict[str, Any]]:
    """`scan_one` over several projects with `threads` in flight (collection waits on the
    network far more than it computes, so one process overlaps several projects' round trips)."""
    if threads <= 1 or len(names) <= 1:
        return [scan_one(name, settings, budget) for name in names]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda name: scan_one(name, settings, budget), names))


def _investigate(
    name: str, settings: ScanSettings, budget: BudgetHandle | None, run: dict[str, Any]
) -> ProjectSummary:
    from forensics.analysis import analyze
    from forensics.api import collect
    from forensics.errors import OfflineMiss
    from forensics.evidence import EvidenceStore
    from forensics.trust import TrustMaterial

    trust = TrustMaterial.load(Path(settings.trust_root) if settings.trust_root else None)
    with tempfile.TemporaryDirectory(prefix="forensics-fleet-") as tmp:
        root = case_dir(settings.fleet_dir, name) if settings.fleet_dir else Path(tmp) / name
        existing = (root / "case.json").exists()
        if settings.offline and not existing:
            raise OfflineMiss(f"no case for {name} in {settings.fleet_dir} (offline)")
        with EvidenceStore.open(root, create=True) as store:
            if not existing or (settings.refresh and not settings.offline):
                collect(
                    name,
                    store,
                    index_url=settings.index_url,
                    trust=trust,
                    concurrency=settings.concurrency,
                    timeout=settings.timeout,
                    before_request=request_hook(budget),
                )
            retrieved = store.last_retrieval()
            run["retrieved"] = isoformat(retrieved)
            key = _cache_key(settings, retrieved, trust.sha256)
            cache = (
                Path(settings.fleet_dir) / "summaries" / f"{name}.json"
                if settings.fleet_dir
                else None
            )
            if cache is not None and cache.exists():
                try:
                    cached = json.loads(cache.read_text("utf-8"))
                    if cached.get("key") == key:
                        run["cached"] = True
                        return summary_from_json(cached["summary"])
                except (ValueError, KeyError, TypeError):
                    pass  # a damaged cache is recomputed, never trusted
            summary = summarize(
                analyze(store, as_of=settings.as_of, trust=trust),
                f"cases/{name}" if settings.fleet_dir else "",
            )
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp_path = cache.with_suffix(".tmp")
                tmp_path.write_text(
                    json.dumps({"key": key, "summary": summary_to_json(summary)}), "utf-8"
                )
                tmp_path.replace(cache)
            return summary


class _BudgetManager(BaseManager):
    """Serves one `HostBudget` from the parent process to local worker processes."""


_BudgetManager.register("HostBudget", HostBudget)


@dataclass(frozen=True)
class Engine:
    """Where projects run: `workers` local processes (1 = in-process) or a Dask scheduler."""

    workers: int = 1
    dask: str | None = None
    rate: float = 20.0
    """Requests per second per remote host, for the whole fleet."""
    burst: int = 10
    threads: int = 1
    """Projects in flight per local process (`--workers`, or in-process when 1)."""

    def describe(self) -> dict[str, Any]:
        """For the run section of the report."""
        kind = "dask" if self.dask else "processes" if self.workers > 1 else "in-process"
        return {
            "engine": kind,
            "workers": self.workers,
            "threads": self.threads,
            "dask": self.dask,
            "rate_per_host": self.rate,
            "burst": self.burst,
        }


def run_projects(
    names: Sequence[str],
    settings: ScanSettings,
    engine: Engine,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[ProjectSummary], dict[str, Any]]:
    """Investigate every project on `engine`; summaries sorted by name, plus run facts."""
    if engine.workers < 1 or engine.threads < 1:
        raise UsageError("--workers and --threads must be at least 1")
    ordered = sorted(dict.fromkeys(names))
    started = time.perf_counter()
    if engine.dask:
        results, granted = _on_dask(ordered, settings, engine)
    elif engine.workers > 1:
        results, granted = _on_processes(ordered, settings, engine, progress)
    else:
        budget = HostBudget(engine.rate, engine.burst)
        results = []
        step = max(engine.threads, 1) * 2
        for i in range(0, len(ordered), step):
            chunk = ordered[i : i + step]
            results += scan_batch(chunk, settings, budget, engine.threads)
            for name in chunk:
                if progress:
                    progress(name)
        granted = budget.granted()
    run = {
        **engine.describe(),
        "seconds": round(time.perf_counter() - started, 3),
        "requests_per_host": dict(sorted(granted.items())),
        "cases": {r["summary"]["project"]: r["run"] for r in results},
    }
    summaries = sorted((summary_from_json(r["summary"]) for r in results), key=lambda s: s.project)
    return summaries, run


def _on_processes(
    names: list[str],
    settings: ScanSettings,
    engine: Engine,
    progress: Callable[[str], None] | None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    # spawn: workers start clean (no inherited threads or sockets); the manager serves the
    # budget from this process.
    ctx = get_context("spawn")
    with _BudgetManager(ctx=ctx) as manager:
        budget = manager.HostBudget(engine.rate, engine.burst)  # type: ignore[attr-defined]
        with ProcessPoolExecutor(max_workers=engine.workers, mp_context=ctx) as pool:
            # small batches: each worker keeps `threads` projects in flight, and the load
            # still spreads evenly over the workers
            step = engine.threads * 2
            chunks = [names[i : i + step] for i in range(0, len(names), step)]
            futures = [pool.submit(scan_batch, c, settings, budget, engine.threads) for c in chunks]
            results = []
            for chunk, fut in zip(chunks, futures, strict=True):
                results += fut.result()
                for name in chunk:
                    if progress:
                        progress(name)
        granted: dict[str, int] = budget.granted()
    return results, granted


def _on_dask(
    names: list[str], settings: ScanSettings, engine: Engine
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    try:
        from distributed import Client
    except ImportError as exc:
        raise UsageError(
            "--dask needs dask.distributed",
            hint="pip install 'provenance-forensics[distributed]'",
        ) from exc
    try:
        client = Client(engine.dask, timeout="20s")  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {engine.dask}: {exc}") from exc
    with client:
        budget = client.submit(HostBudget, engine.rate, engine.burst, actor=True).result()
        futures = client.map(scan_one, names, settings=settings, budget=budget, pure=False)
        results: list[dict[str, Any]] = client.gather(futures)  # type: ignore[no-untyped-call]
        # a method call on a Dask actor returns a future of its result
        granted: dict[str, int] = budget.granted().result()  # type: ignore[attr-defined]
    return results, granted
