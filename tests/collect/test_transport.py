"""The one capture layer against real loopback servers: deadlines, breaker, ETags, origins.

Both wires (httpx for the index and GitHub, requests for Rekor) go through the same `Fetcher`;
every test here uses the lab server with its fault knobs, never a patched function.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

import httpx
import pytest
import requests

from forensics.collect.http import Fetcher, RequestsWire, allowed_origins, origin
from forensics.collect.pypi import PyPICollector
from forensics.errors import SourceResponseError, SourceUnavailable, UsageError
from forensics.evidence.store import NO_ANSWER, EvidenceStore
from forensics.rekor.client import RekorClient
from forensics_lab.serve import FaultPlan, LabServer
from tests.collect.support import NOW, Clock, RawServer

JSON = "/pypi/demo-pkg/json"
Serve = Callable[..., LabServer]

# A server that trickles one byte every 100 ms: the 2 KB JSON answer would take minutes.
TRICKLE = FaultPlan(drip_bytes=1, drip_delay_ms=100)


@pytest.mark.parametrize("wire", ["httpx", "requests"])
def test_a_trickling_server_meets_the_per_response_deadline(
    serve: Serve, store: EvidenceStore, wire: str
) -> None:
    server = serve(faults=TRICKLE)
    client: httpx.Client | requests.Session = (
        httpx.Client(timeout=5.0) if wire == "httpx" else requests.Session()
    )
    fetcher = Fetcher(client, store, source="index", retries=1, timeout=0.4, sleep=lambda _: None)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="within the per-request deadline"):
        fetcher.get(server.url + JSON)
    elapsed = time.monotonic() - started
    client.close()
    assert elapsed < 2.5  # two attempts of 0.4 s each, not the minutes the body would take
    assert server.request_count(JSON) == 2
    [record] = list(store.responses())
    assert record.status == NO_ANSWER and b"deadline" in record.body()


def test_the_run_deadline_stops_sending_and_records_what_was_not_asked(
    serve: Serve, store: EvidenceStore, client: httpx.Client
) -> None:
    server = serve(faults=FaultPlan(latency_ms=150))
    fetcher = Fetcher(client, store, source="index", run_timeout=0.25, sleep=lambda _: None)
    assert fetcher.get(server.url + JSON).status == 200
    time.sleep(0.2)
    with pytest.raises(SourceUnavailable, match="deadline has passed"):
        fetcher.get(server.url + "/simple/demo-pkg/")
    assert server.request_count("/simple/") == 0  # never sent
    assert [r.status for r in store.responses()] == [200, NO_ANSWER]


def test_a_dead_origin_is_given_up_after_the_breaker_not_after_every_retry(
    store: EvidenceStore, client: httpx.Client
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    sleeps: list[float] = []
    fetcher = Fetcher(client, store, source="index", retries=2, breaker=2, sleep=sleeps.append)
    for i in range(5):
        with pytest.raises(SourceUnavailable):
            fetcher.get(f"{dead}/{i}")
    # two requests paid their retries; the next three were recorded without being sent
    assert fetcher.sent == 6
    assert len(sleeps) == 4
    bodies = [r.body().decode() for r in store.responses()]
    assert sum("was not asked" in b for b in bodies) == 3
    assert all(r.status == NO_ANSWER for r in store.responses())


def test_a_refresh_revalidates_with_etags(
    serve: Serve, store: EvidenceStore, client: httpx.Client
) -> None:
    server = serve()
    store.begin_collection(NOW)
    first = Fetcher(client, store, source="index", clock=Clock()).get(server.url + JSON)
    assert first.headers["etag"]
    store.finish_collection(NOW)
    store.begin_collection(NOW)  # a refresh: a new collection of the same case
    fetcher = Fetcher(client, store, source="index", clock=Clock())
    again = fetcher.get(server.url + JSON)
    assert (fetcher.sent, fetcher.revalidated) == (1, 1)
    # the 304 re-records the held bytes: same blob, same status, a new row of this collection
    assert (again.status, again.sha256) == (200, first.sha256)
    assert again.collection_id != first.collection_id
    assert server.request_count(JSON) == 2
    # and without a validator the answer is fetched in full
    plain = Fetcher(client, store, source="index", conditional=False)
    store.finish_collection(NOW)
    store.begin_collection(NOW)
    assert plain.get(server.url + JSON).sha256 == first.sha256
    assert plain.revalidated == 0


def test_origins_are_normalised_and_checked() -> None:
    assert origin("HTTPS://PyPI.org:443/simple/") == "https://pypi.org"
    assert origin("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"
    assert origin("http://[::1]:80/") == "http://[::1]"
    assert origin("/relative/path") == ""
    assert allowed_origins("https://pypi.org", ["https://files.example.org"]) == {
        "https://pypi.org",
        "https://files.example.org",
    }
    with pytest.raises(UsageError, match="not an origin"):
        allowed_origins("https://pypi.org", ["https://evil.example/path"])


class ForeignLab(LabServer):
    """A lab index that names provenance URLs on other hosts and paths for some files."""

    foreign: ClassVar[dict[str, str]] = {}

    def _provenance_url(self, f: object) -> str:
        filename = getattr(f, "filename", "")
        return self.foreign.get(filename) or super()._provenance_url(f)  # type: ignore[arg-type]


def test_provenance_urls_off_the_index_origin_are_never_requested(
    world: object, store: EvidenceStore, client: httpx.Client
) -> None:
    with LabServer(world) as elsewhere:  # type: ignore[arg-type]
        target = f"{elsewhere.url}/integrity/demo-pkg/1.0.0/demo_pkg-1.0.0.tar.gz/provenance"
        ForeignLab.foreign = {
            "demo_pkg-1.0.0.tar.gz": target,
            "demo_pkg-1.0.0-py3-none-any.whl": "http://169.254.169.254/latest/meta-data/",
        }
        with ForeignLab(world) as index:  # type: ignore[arg-type]
            fetcher = Fetcher(client, store, source="index", sleep=lambda _: None)
            summary = PyPICollector(fetcher, index.url).collect("demo-pkg")
            assert elapsed_requests(elsewhere) == 0
            assert summary.provenance_statuses == {200: 1, NO_ANSWER: 2}
            assert len(summary.problems) == 2
            assert all("not on the index's origin" in p for p in summary.problems)
            refused = store.latest(target)
            assert refused is not None and refused.status == NO_ANSWER
            assert b"--allow-origin" in refused.body()
            # the user vouches for the other origin: now it is fetched (and the metadata
            # address still is not)
            store.begin_collection(NOW)
            summary = PyPICollector(
                Fetcher(client, store, source="index"), index.url, allow_origins=[elsewhere.url]
            ).collect("demo-pkg")
            assert elapsed_requests(elsewhere) == 1
            assert summary.provenance_statuses == {200: 2, NO_ANSWER: 1}
        ForeignLab.foreign = {}


def elapsed_requests(server: LabServer) -> int:
    return server.request_count("/integrity/")


def test_the_rekor_client_shares_the_capture_layer(
    serve: Serve, store: EvidenceStore, client: httpx.Client
) -> None:
    server = serve(faults=FaultPlan(path_prefix="/api/v1/log", per_path=True, error_first=1))
    index = Fetcher(client, store, source="index", sleep=lambda _: None)
    with requests.Session() as session:
        rekor = RekorClient(session, server.url, store=store, fetcher=index)
        assert isinstance(rekor.fetcher.wire, RequestsWire)
        assert rekor.fetcher.store is store
        info = rekor.log_info()
    assert info.tree_size > 0
    assert server.request_count("/api/v1/log") == 2  # one 503, one retry
    [stored] = [r for r in store.responses() if r.source == "rekor"]
    assert stored.status == 200


def test_cli_refuses_a_bad_origin_or_deadline_before_any_request(
    serve: Serve, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from forensics.cli import main

    server = serve()
    base = ["investigate", "demo-pkg", "--index-url", server.url, "--no-progress"]
    assert main([*base, "--allow-origin", "https://evil.example/some/path"]) == 2
    assert "is not an origin" in capsys.readouterr().err
    assert main([*base, "--deadline", "0"]) == 2
    assert "--deadline must be a positive" in capsys.readouterr().err
    assert server.request_count() == 0


def test_a_redirect_off_the_allowed_origins_is_not_followed(
    store: EvidenceStore, client: httpx.Client, raw_server: Callable[[bytes | None], RawServer]
) -> None:
    server = raw_server(
        b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    fetcher = Fetcher(client, store, source="index")
    with pytest.raises(SourceResponseError, match="outside the allowed origins"):
        fetcher.get(
            server.url + "/integrity/x/1/x.tar.gz/provenance", origins=frozenset({server.url})
        )
    assert fetcher.sent == 1  # the 302 only; the metadata address was never asked
    assert [r.status for r in store.responses()] == [302]
