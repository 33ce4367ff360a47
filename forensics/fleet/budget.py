"""Politeness across a whole fleet: one request budget per remote host, shared by every worker.

The budget is a token bucket per host (GCRA form: `rate` requests per second, bursts of `burst`),
held by ONE object that every worker asks before each request. Where that object lives depends
on the engine, never its arithmetic:

* sequential scans hold it in-process;
* `--workers N` (local processes) serve it from the parent process through a
  `multiprocessing` manager: each worker holds a proxy and asks the parent over a local socket;
* `--dask ADDRESS` hosts it as a Dask *actor* on one worker of the cluster: every task holds the
  actor handle and asks it. The actor lives on the cluster, so workers on other machines never
  need to reach the machine that submitted the scan (a parent-served bucket would need that),
  and Dask's own comms carry the calls. A `distributed.Semaphore` would bound concurrency, not
  rate, so it cannot express "N requests per second to pypi.org".

The bucket hands out *reservations* (how long to wait) rather than sleeping itself, so a slow
worker never blocks the others' calls to the bucket. Written by hand because no maintained
library shares a rate limit across processes and Dask workers; the GCRA is a few lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class HostBudget:
    """Token buckets keyed by host; `reserve(host)` says how long to wait before sending."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        """`rate` requests per second per host (0 or less: unlimited); bursts of `burst`."""
        self.rate = rate
        self.burst = max(burst, 1)
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()
        self._granted: dict[str, int] = {}

    def reserve(self, host: str) -> float:
        """Reserve one request to `host`; return the seconds to wait before sending it."""
        with self._lock:
            self._granted[host] = self._granted.get(host, 0) + 1
            if self.rate <= 0:
                return 0.0
            interval = 1.0 / self.rate
            now = time.monotonic()
            tat = max(self._tat.get(host, now), now)
            wait = max(0.0, tat - now - (self.burst - 1) * interval)
            self._tat[host] = tat + interval
            return wait

    def granted(self) -> dict[str, int]:
        """Requests granted so far, per host (for the run section of the report)."""
        with self._lock:
            return dict(self._granted)


class BudgetHandle(Protocol):
    """What a worker holds: the bucket itself, a manager proxy, or a Dask actor handle."""

    def reserve(self, host: str) -> Any:
        """A float, or (Dask actor) a future of one."""


def request_hook(budget: BudgetHandle | None) -> Callable[[Any], None] | None:
    """An httpx `request` event hook that waits for the host's budget before each request."""
    if budget is None:
        return None

    def wait(request: Any) -> None:
        answer = budget.reserve(str(request.url.host))
        delay = answer.result() if hasattr(answer, "result") else answer
        if delay > 0:
            time.sleep(float(delay))

    return wait
