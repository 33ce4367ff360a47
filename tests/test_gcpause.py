"""`paused_gc` leaves the collector as it found it, with nested pauses, threads and errors."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from forensics.gcpause import paused_gc


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_nested_pauses_resume_when_the_outermost_ends() -> None:
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_resumes() -> None:
    with pytest.raises(ValueError), paused_gc():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_disabled_by_the_caller_stays_disabled() -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_concurrent_pauses_resume_after_the_last_one() -> None:
    inside, release = threading.Barrier(2), threading.Event()
    states: list[bool] = []

    def worker() -> None:
        with paused_gc():
            inside.wait()
            release.wait()
        states.append(gc.isenabled())

    thread = threading.Thread(target=worker)
    thread.start()
    with paused_gc():
        inside.wait()  # both threads are inside a pause
    assert not gc.isenabled()  # the other thread's pause still holds
    release.set()
    thread.join()
    assert gc.isenabled() and states == [True]
