"""The cyclic garbage collector's policy while the toolkit builds many long-lived objects.

`paused_gc` for the pure stages (analysis, report rendering: bounded in time, few cycles);
`fewer_gc_passes` for collection (long-running, network libraries make some cycles: the
collector still runs, only less often).

CPython's collector runs a full collection whenever the objects that survived since the last one
exceed a quarter of the long-lived heap, and each full collection walks every tracked object and
its references. Once a long history's evidence is read (2,500 releases, 5,000 attested files)
that is about 0.1-0.2 s per full collection, and building the timeline and running the detectors
(a few hundred thousand new objects, all kept until the report is written) triggered one each:
about half of those stages' time, spent finding no garbage (they make almost no reference
cycles).

Pausing changes no result: reference counting still frees everything that is not in a cycle, and
the collector resumes, with everything it would have examined, when the outermost pause ends.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_depth = 0
_resume = False


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block; nested and concurrent pauses (threads share
    the collector) resume it when the last one ends, and only if it was enabled at the first."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()


def pausing_gc(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn` run inside `paused_gc()`."""

    @functools.wraps(fn)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused_gc():
            return fn(*args, **kwargs)

    return paused


_threshold_lock = threading.Lock()
_threshold_users = 0
_threshold_saved: tuple[int, int, int] | None = None
#: Allocations between two young-generation collections while a collection runs (default 700).
GC_THRESHOLD = 20_000


@contextlib.contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Run the cyclic garbage collector less often (not never) while collecting.

    A collection allocates hundreds of thousands of objects that live until it ends (answers,
    futures, verdicts, the listing) and makes few reference cycles. With the default thresholds
    the collector ran about 1,500 times during a 2,500-release collection, 2.0-2.5 s in all (9 or
    10 full passes over the whole heap), every pass holding the interpreter lock that the
    request threads need (`benchmarks/README.md`, bench_collect). The young generation is
    collected every `GC_THRESHOLD` allocations instead, and the thresholds are restored when the
    last concurrent collection of the process ends (a fleet scan runs several at once).
    """
    global _threshold_users, _threshold_saved
    with _threshold_lock:
        if _threshold_users == 0:
            _threshold_saved = gc.get_threshold()
            gc.set_threshold(max(_threshold_saved[0], GC_THRESHOLD), *_threshold_saved[1:])
        _threshold_users += 1
    try:
        yield
    finally:
        with _threshold_lock:
            _threshold_users -= 1
            if _threshold_users == 0 and _threshold_saved is not None:
                gc.set_threshold(*_threshold_saved)
