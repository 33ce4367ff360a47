"""Collection figures shared by the benchmark scripts: a lab world served in its own process.

The lab server runs as `forensics lab serve WORLD --latency MS` in a separate process, so that
the collector measured here competes with it for the cores only as a remote API would (not for
one interpreter lock), and every request pays the injected latency, like a remote index and log.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@contextmanager
def served(world: Path, latency_ms: float) -> Iterator[str]:
    """Serve `world` in a child process with `latency_ms` per request; yield its base URL."""
    cmd = [sys.executable, "-m", "forensics", "lab", "serve", str(world)]
    cmd += ["--latency", str(latency_ms)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r" at (http://\S+)", line)
        if found is None:
            raise RuntimeError(f"the lab server did not start: {line!r}")
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass(frozen=True)
class Collection:
    """One timed collection."""

    seconds: float
    sent: int
    reused: int
    problems: int
    cpu_user: float
    """CPU seconds of this process in user mode during the collection, every thread."""
    cpu_system: float
    """CPU seconds of this process in the kernel (file creation, fsync, sockets, scheduling)."""
    cpu_workers: float
    """CPU seconds of the verification worker processes it started (ended by then)."""


def timed_collect(world: Path, project: str, case: Path, url: str, concurrency: int) -> Collection:
    """Collect index + transparency log of `project` from `url` into a fresh case, timed."""
    from forensics.api import collect
    from forensics.evidence import EvidenceStore
    from forensics.trust import TrustMaterial

    trust = TrustMaterial.load(world / "trusted_root.json")
    with EvidenceStore.open(case) as store:
        before = os.times()
        t0 = time.perf_counter()
        done = collect(
            project, store, index_url=url, rekor_url=url, trust=trust, concurrency=concurrency
        )
        seconds = time.perf_counter() - t0
        after = os.times()
    # The lab server is still running (not yet reaped), so the children's times are those of
    # the verification workers alone.
    workers = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    return Collection(
        seconds,
        done.sent,
        done.reused,
        len(done.problems),
        after.user - before.user,
        after.system - before.system,
        workers,
    )
