"""The log part of a collection starts while the index is still being collected.

What must not change (issue 8, "Speed at scale"): the case holds exactly the log requests the
offline replay makes (nothing asked early that the recovery does not ask, nothing missing), the
verdicts made ahead on worker processes are the verdicts `decide()` makes, and a collection
killed while both sources are in flight resumes to the calm findings and seals.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from forensics.analysis import analyze, case_index_snapshot, pending_provenance
from forensics.api import collect
from forensics.errors import CaseIntegrityError
from forensics.evidence import EvidenceStore
from forensics.evidence.store import request_key
from forensics.provenance.verdicts import Pending, Verdicts
from forensics.rekor.client import RecordedRekor, _Answer
from forensics.trust import TrustMaterial
from forensics_lab.serve import FaultPlan, LabServer
from tests.e2e.support import facts

SCENARIO = "ultralytics-2024-12"


def _collect(server: LabServer, world: Path, case: Path, verdicts: Verdicts | None = None) -> None:
    trust = TrustMaterial.load(world / "trusted_root.json")
    with EvidenceStore.open(case) as store:
        done = collect(
            "ultralytics",
            store,
            index_url=server.url,
            rekor_url=server.url,
            intel=world / "intel.toml",
            trust=trust,
            backoff=0.01,
            verdicts=verdicts,
        )
    assert done.complete, done.problems


def _ahead(case: Path, world: Path) -> Verdicts:
    """A verdict source that verifies ahead on worker processes even for a small history."""
    trust = TrustMaterial.load(world / "trusted_root.json")
    return Verdicts.for_case(case, trust, workers=2, min_parallel=1)


def test_the_case_holds_exactly_the_log_requests_the_replay_makes(
    serve: Callable[..., LabServer],
    built: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = built(SCENARIO)
    # latency keeps the index's provenance requests in flight long enough to overlap
    server = serve(SCENARIO, faults=FaultPlan(latency_ms=20))
    case = tmp_path / "case"
    verdicts = _ahead(case, world)
    try:
        _collect(server, world, case, verdicts)
        assert verdicts.run_info()["workers"] == 2  # verified ahead, on worker processes
    finally:
        verdicts.close()
    # the log was asked while provenance objects were still being fetched
    paths = [p for _m, p in server.requests]
    first_search = paths.index("/api/v1/index/retrieve")
    last_provenance = max(i for i, p in enumerate(paths) if p.startswith("/integrity/"))
    assert first_search < last_provenance

    replayed: set[tuple[str, str, str]] = set()
    fetch = RecordedRekor._fetch

    def recording(self: RecordedRekor, method: str, url: str, body: bytes | None) -> _Answer:
        replayed.add((method, url, request_key(body)))
        return fetch(self, method, url, body)

    monkeypatch.setattr(RecordedRekor, "_fetch", recording)
    with EvidenceStore.open(case, create=False) as store:
        analyze(store)
        stored = {(r.method, r.url, r.request_sha256) for r in store.responses("rekor")}
    assert replayed and replayed == stored


@contextmanager
def _collected_pending(
    serve: Callable[..., LabServer], built: Callable[[str], Path], tmp_path: Path
) -> Iterator[tuple[TrustMaterial, list[Pending]]]:
    """Collect the scenario into a case; its trust root and the provenance objects to verify
    (their bodies readable while the block runs)."""
    world = built(SCENARIO)
    case = tmp_path / "case"
    _collect(serve(SCENARIO), world, case)
    trust = TrustMaterial.load(world / "trusted_root.json")
    with EvidenceStore.open(case, create=False) as store:
        meta = store.read_meta()
        assert meta is not None
        snapshot = case_index_snapshot(store, meta)
        yield trust, [p for d in snapshot.files if (p := pending_provenance(store, snapshot, d))]


def test_verdicts_made_ahead_are_the_verdicts_decide_makes(
    serve: Callable[..., LabServer], built: Callable[[str], Path], tmp_path: Path
) -> None:
    with _collected_pending(serve, built, tmp_path) as (trust, pending):
        assert len(pending) > 2
        plain = Verdicts(trust, workers=1).decide(pending)
        early = Verdicts(trust, workers=2, min_parallel=1)
        announced: list[object] = []
        ahead = early.ahead(len(pending), announced.append)
        assert ahead is not None
        for p in pending:
            ahead.add(p)
        ahead.finish()
        assert sorted(map(repr, announced)) == sorted(map(repr, plain))
        assert early.decide(pending) == plain
        # decide() verified nothing more: every verdict was made ahead, once
        assert early.run_info()["verdicts_verified"] == len(pending)


def test_an_object_ahead_cannot_read_is_left_to_decide(
    serve: Callable[..., LabServer], built: Callable[[str], Path], tmp_path: Path
) -> None:
    with _collected_pending(serve, built, tmp_path) as (trust, pending):
        good = pending[0]

    def altered() -> bytes:
        raise CaseIntegrityError(f"blob {good.provenance_sha256} was altered")

    bad = Pending(good.filename, good.dist_sha256, good.provenance_sha256, altered)
    verdicts = Verdicts(trust, workers=2, min_parallel=1)
    ahead = verdicts.ahead(2)  # at least two objects for worker processes
    assert ahead is not None
    ahead.add(bad)
    ahead.finish()  # no verdict, no error: not its call to make
    with pytest.raises(CaseIntegrityError, match="was altered"):
        verdicts.decide([bad])  # the same refusal as without verifying ahead


def test_kill_9_while_both_sources_are_in_flight_then_resume(
    serve: Callable[..., LabServer], built: Callable[[str], Path], tmp_path: Path
) -> None:
    world = built(SCENARIO)
    calm_case = tmp_path / "calm"
    _collect(serve(SCENARIO), world, calm_case)
    with EvidenceStore.open(calm_case, create=False) as store:
        calm = facts(analyze(store))
    slow = serve(SCENARIO, faults=FaultPlan(latency_ms=40))
    case = tmp_path / "case"
    cmd = [sys.executable, "-m", "forensics", "investigate", "ultralytics"]
    cmd += ["--index-url", slow.url, "--rekor-url", slow.url, "--intel", str(world / "intel.toml")]
    cmd += ["--case", str(case), "--trust-root", str(world / "trusted_root.json")]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ)
    )
    # kill -9 once the log has answered searches asked while provenance was still being fetched
    deadline = time.monotonic() + 60
    while slow.request_count("/api/v1/index/retrieve") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # a few answers stored (40 ms each)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with EvidenceStore.open(case) as store:
        assert any(r.source == "rekor" for r in store.responses())
        assert not store.complete()
    _collect(slow, world, case)
    with EvidenceStore.open(case, create=False) as store:
        assert store.check().state == "intact"
        assert facts(analyze(store)) == calm


def test_gc_runs_less_often_while_collecting_and_as_before_afterwards() -> None:
    import gc

    from forensics.gcpause import GC_THRESHOLD, fewer_gc_passes

    before = gc.get_threshold()
    raised = (max(before[0], GC_THRESHOLD), *before[1:])
    with fewer_gc_passes():
        assert gc.get_threshold() == raised
        with fewer_gc_passes():  # a second collection of the same process (fleet scan)
            assert gc.get_threshold() == raised
        assert gc.get_threshold() == raised  # the first one is still running
    assert gc.get_threshold() == before
