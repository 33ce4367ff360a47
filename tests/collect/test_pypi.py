"""PyPICollector against the lab PyPI server: storage, PEP 740 modes, resume, hostile data."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from forensics.collect.http import Fetcher
from forensics.collect.pypi import PyPICollector
from forensics.collect.pypi_parse import load_index_snapshot, provenance_response
from forensics.errors import InputError, SourceResponseError
from forensics.evidence.store import EvidenceStore, StoredResponse
from forensics.models import Pep740Support, ProvenanceKey
from forensics_lab._tinyworld import HOSTILE_FILENAME, HOSTILE_SUMMARY, HOSTILE_YANK
from forensics_lab.serve import FaultPlan, LabServer
from tests.collect.support import NOW

MakeFetcher = Callable[..., Fetcher]
Serve = Callable[..., LabServer]

WITH_PROVENANCE = {
    "demo_pkg-1.0.0-py3-none-any.whl",
    "demo_pkg-1.0.0.tar.gz",
    "demo_pkg-2.0.0rc1.tar.gz",
}


def test_collect_stores_json_simple_and_integrity(
    serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    server = serve()
    summary = PyPICollector(make_fetcher(), server.url, concurrency=3).collect("demo-pkg")
    stored = {(r.url.removeprefix(server.url), r.status) for r in store.responses()}
    assert stored == {
        ("/pypi/demo-pkg/json", 200),
        ("/simple/demo-pkg/", 200),
        *{
            (f"/integrity/demo-pkg/{n.split('-')[1].removesuffix('.tar.gz')}/{n}/provenance", 200)
            for n in WITH_PROVENANCE
        },
    }
    assert summary.pep740 is Pep740Support.YES
    assert summary.provenance_statuses == {200: 3}
    assert summary.sent == 5
    assert summary.reused == 0
    # The Simple API was asked for its JSON form, the Integrity API for its own media type.
    simple = store.latest(server.url + "/simple/demo-pkg/")
    assert simple is not None
    assert simple.headers["content-type"] == "application/vnd.pypi.simple.v1+json"
    for f in summary.snapshot.files:
        response = provenance_response(store, f)
        if f.filename in WITH_PROVENANCE:
            assert response is not None
            assert response.headers["content-type"] == "application/vnd.pypi.integrity.v1+json"
            assert response.json()["version"] == 1
        else:
            assert response is None


def test_pep740_mode_keeps_url_and_null_apart(serve: Serve, make_fetcher: MakeFetcher) -> None:
    server = serve()
    snapshot = PyPICollector(make_fetcher(), server.url).collect("demo-pkg").snapshot
    keys = {f.filename: f.provenance_key for f in snapshot.files}
    assert keys == {
        "demo_pkg-1.0.0-py3-none-any.whl": ProvenanceKey.URL,
        "demo_pkg-1.0.0.tar.gz": ProvenanceKey.URL,
        "demo_pkg-1.1.0.tar.gz": ProvenanceKey.NULL,
        "demo_pkg-2.0.0rc1.tar.gz": ProvenanceKey.URL,
    }
    null = next(f for f in snapshot.files if f.provenance_key is ProvenanceKey.NULL)
    assert null.provenance_url is None
    assert snapshot.api_version == "1.3"
    assert snapshot.problems == ()


def test_non_normalized_name_follows_the_301(
    serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    server = serve()
    summary = PyPICollector(make_fetcher(), server.url).collect("Demo_Pkg")
    assert summary.project == "demo-pkg"
    assert summary.snapshot.display_name == "Demo_Pkg"
    first = store.latest(server.url + "/pypi/Demo_Pkg/json")
    assert first is not None
    assert (first.status, first.headers["location"]) == (301, "/pypi/demo-pkg/json")
    assert server.request_count("/simple/demo-pkg/") == 1  # only the normalized Simple URL


def test_mirror_mode_pep740_no_with_reason_and_relative_urls(
    serve: Serve, make_fetcher: MakeFetcher, client: httpx.Client
) -> None:
    server = serve(pep740=False, relative_urls=True)
    summary = PyPICollector(make_fetcher(), server.url).collect("demo-pkg")
    snapshot = summary.snapshot
    assert snapshot.pep740 is Pep740Support.NO
    assert snapshot.pep740_reason == (
        "provenance unknown: this index does not serve PEP 740 "
        "(Simple API 1.1, no `provenance` key)"
    )
    assert {f.provenance_key for f in snapshot.files} == {ProvenanceKey.ABSENT}
    assert server.request_count("/integrity/") == 0
    assert summary.provenance_statuses == {}
    # The relative `../../packages/...` URLs were resolved against the JSON API URL.
    for f in snapshot.files:
        assert f.url.startswith(server.url + "/packages/")
        body = client.get(f.url).content
        assert hashlib.sha256(body).hexdigest() == f.sha256


def test_as_of_index_lists_a_release_deleted_later(serve: Serve, make_fetcher: MakeFetcher) -> None:
    server = serve(as_of=datetime(2024, 3, 2, tzinfo=UTC))
    snapshot = PyPICollector(make_fetcher(), server.url).collect("demo-pkg").snapshot
    assert snapshot.versions == ("0.9", "1.0.0", "1.1.0", "1.2.0")
    assert [f.filename for f in snapshot.files][-1] == "demo_pkg-1.2.0.tar.gz"


def test_snapshot_facts(serve: Serve, make_fetcher: MakeFetcher) -> None:
    server = serve()
    snapshot = PyPICollector(make_fetcher(), server.url).collect("demo-pkg").snapshot
    assert snapshot.versions == ("0.9", "1.0.0", "1.1.0", "2.0.0rc1")  # 0.9 has no files
    assert [f.filename for f in snapshot.files] == [
        "demo_pkg-1.0.0-py3-none-any.whl",
        "demo_pkg-1.0.0.tar.gz",
        "demo_pkg-1.1.0.tar.gz",
        "demo_pkg-2.0.0rc1.tar.gz",
    ]
    wheel, sdist, yanked, _ = snapshot.files
    assert wheel.upload_time == datetime(2024, 1, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert (yanked.yanked, yanked.yanked_reason) == (True, "broken build")
    assert (sdist.yanked, sdist.yanked_reason) == (False, None)
    assert sdist.evidence.url == server.url + "/pypi/demo-pkg/json"
    assert sdist.evidence.pointer == "/releases/1.0.0/1"
    assert snapshot.last_serial is not None


def test_project_not_found(serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore) -> None:
    server = serve()
    with pytest.raises(SourceResponseError, match="project not found") as info:
        PyPICollector(make_fetcher(), server.url).collect("nope")
    assert info.value.status == 404
    assert [r.status for r in store.responses()] == [404]  # the 404 itself is evidence


def test_invalid_project_name_sends_nothing(serve: Serve, make_fetcher: MakeFetcher) -> None:
    server = serve()
    with pytest.raises(InputError, match="not a valid Python project name"):
        PyPICollector(make_fetcher(), server.url).collect("../../etc/passwd")
    assert server.request_count() == 0


class Interrupted(Exception):
    """Stands in for a crash or Ctrl-C in the middle of a collection."""


class InterruptingFetcher(Fetcher):
    """A real fetcher that dies before its (limit+1)-th request."""

    def __init__(self, *args: object, limit: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.limit = limit
        self.calls = 0

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        origins: frozenset[str] | None = None,
    ) -> StoredResponse:
        self.calls += 1
        if self.calls > self.limit:
            raise Interrupted(url)
        return super().get(url, headers=headers, origins=origins)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_resume_after_interruption_fetches_nothing_twice(
    serve: Serve, client: httpx.Client, store: EvidenceStore, limit: int
) -> None:
    server = serve()
    broken = InterruptingFetcher(client, store, source="index", limit=limit)
    with pytest.raises(Interrupted):
        PyPICollector(broken, server.url, concurrency=1).collect("Demo_Pkg")
    before = server.request_count()
    assert before >= limit
    fetcher = Fetcher(client, store, source="index")
    summary = PyPICollector(fetcher, server.url, concurrency=2).collect("Demo_Pkg")
    per_path = Counter(path for _, path in server.requests)
    assert set(per_path.values()) == {1}, per_path  # every URL was fetched exactly once
    assert len(per_path) == 6  # 301 + JSON + Simple + 3 provenance objects
    assert fetcher.reused == before
    assert summary.provenance_statuses == {200: 3}


def test_throttled_integrity_api_with_concurrency(
    serve: Serve, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    plan = FaultPlan(path_prefix="/integrity/", per_path=True, throttle_first=1, retry_after="2")
    server = serve(faults=plan)
    summary = PyPICollector(make_fetcher(), server.url, concurrency=3, progress=True).collect(
        "demo-pkg"
    )
    assert summary.provenance_statuses == {200: 3}
    assert sleeps == [2.0, 2.0, 2.0]
    assert server.request_count("/integrity/") == 6


def test_integrity_outage_costs_the_failed_files_only(
    serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    plan = FaultPlan(path_prefix="/integrity/demo-pkg/1.0.0/", error_rate=1.0)
    server = serve(faults=plan)
    store.begin_collection(NOW)
    summary = PyPICollector(make_fetcher(retries=1), server.url).collect("demo-pkg")
    # one problem line per failed file, the others collected: never an abort of the run
    assert len(summary.problems) == 2
    assert all("HTTP 503 after retries" in p for p in summary.problems)
    assert summary.provenance_statuses == {200: 1, 503: 2}
    statuses = Counter(r.status for r in store.responses())
    assert statuses == {200: 3, 503: 2}
    # The source recovers; the resumed run asks only for the two objects that failed.
    server.set_faults(FaultPlan())
    before = Counter(path for _, path in server.requests)
    summary = PyPICollector(make_fetcher(), server.url).collect("demo-pkg")
    after = Counter(path for _, path in server.requests)
    assert sorted((after - before).keys()) == [
        "/integrity/demo-pkg/1.0.0/demo_pkg-1.0.0-py3-none-any.whl/provenance",
        "/integrity/demo-pkg/1.0.0/demo_pkg-1.0.0.tar.gz/provenance",
    ]
    assert summary.provenance_statuses == {200: 3}
    assert summary.problems == ()


def test_hostile_strings_are_carried_as_data(
    hostile_world: Path, serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    server = serve(hostile_world)
    summary = PyPICollector(make_fetcher(), server.url).collect("demo-pkg")
    hostile = next(f for f in summary.snapshot.files if f.version == "1.0.1")
    assert hostile.filename == HOSTILE_FILENAME
    assert hostile.yanked_reason == HOSTILE_YANK
    assert hostile.provenance_key is ProvenanceKey.URL
    # The filename was percent-encoded into the Integrity URL and round-tripped intact.
    response = provenance_response(store, hostile)
    assert response is not None
    assert response.status == 200
    assert summary.snapshot.problems == ()
    raw = store.latest(server.url + "/pypi/demo-pkg/json")
    assert raw is not None
    assert raw.json()["info"]["summary"] == HOSTILE_SUMMARY


def test_offline_reanalysis_reads_the_same_snapshot(
    serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    server = serve()
    online = PyPICollector(make_fetcher(), server.url).collect("Demo_Pkg").snapshot
    server.stop()
    assert load_index_snapshot(store, server.url, "Demo_Pkg") == online


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("FORENSICS_LIVE") != "1", reason="set FORENSICS_LIVE=1")
def test_live_pypi_requests_is_not_pep740(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path / "case") as live_store, httpx.Client(timeout=30) as c:
        summary = PyPICollector(Fetcher(c, live_store, source="index"), "https://pypi.org").collect(
            "requests"
        )
    assert summary.snapshot.display_name.lower() == "requests"
    assert len(summary.snapshot.files) > 100
    assert summary.pep740 is not Pep740Support.YES, summary.snapshot.pep740_reason
