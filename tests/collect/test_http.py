"""Fetcher behaviour against real loopback servers: retries, Retry-After, caps, redirects."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from forensics.collect.http import Fetcher, retry_after_seconds
from forensics.errors import ResponseTooLarge, SourceResponseError, SourceUnavailable
from forensics.evidence.store import NO_ANSWER, EvidenceStore
from forensics_lab.serve import FaultPlan, LabServer
from tests.collect.support import NOW, Clock, RawServer

JSON = "/pypi/demo-pkg/json"

MakeFetcher = Callable[..., Fetcher]
Serve = Callable[..., LabServer]


def test_200_is_stored_with_status_headers_and_time(
    serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    server = serve()
    response = make_fetcher().get(server.url + JSON)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-pypi-last-serial"].isdigit()
    assert response.retrieved_at > NOW
    assert response.sha256 == hashlib.sha256(response.body()).hexdigest()
    assert json.loads(response.body())["info"]["name"] == "Demo_Pkg"
    assert [r.url for r in store.responses()] == [server.url + JSON]


def test_404_is_stored_and_not_retried(
    serve: Serve, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    server = serve()
    response = make_fetcher().get(server.url + "/pypi/no-such-project/json")
    assert response.status == 404
    assert response.json() == {"message": "Not Found"}
    assert server.request_count("/pypi/") == 1
    assert sleeps == []


def test_301_is_stored_then_location_fetched(
    serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    server = serve()
    response = make_fetcher().get(server.url + "/pypi/Demo_Pkg/json")
    assert response.status == 200
    assert response.url == server.url + JSON  # the path-only Location resolved against the request
    chain = [(r.url, r.status, r.headers.get("location")) for r in store.responses()]
    assert chain == [
        (server.url + "/pypi/Demo_Pkg/json", 301, "/pypi/demo-pkg/json"),
        (server.url + JSON, 200, None),
    ]


def test_429_honours_retry_after_seconds(
    serve: Serve, make_fetcher: MakeFetcher, sleeps: list[float], store: EvidenceStore
) -> None:
    server = serve(faults=FaultPlan(throttle_first=2, retry_after="7"))
    response = make_fetcher().get(server.url + JSON)
    assert response.status == 200
    assert sleeps == [7.0, 7.0]
    assert server.request_count(JSON) == 3
    assert [r.status for r in store.responses()] == [200]  # only the final answer is evidence


def test_429_honours_retry_after_http_date_and_caps_it(
    serve: Serve, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    clock = Clock()
    # The fetcher reads the clock once per 429: the first reading is NOW + 1 s.
    when = format_datetime(NOW + timedelta(seconds=13), usegmt=True)
    server = serve(faults=FaultPlan(throttle_first=1, retry_after=when))
    assert make_fetcher(clock=clock).get(server.url + JSON).status == 200
    assert sleeps == [12.0]
    sleeps.clear()
    capped = serve(faults=FaultPlan(throttle_first=1, retry_after="3600"))
    assert make_fetcher(max_backoff=30).get(capped.url + JSON).status == 200
    assert sleeps == [30.0]


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("5", NOW) == 5.0
    assert retry_after_seconds(None, NOW) is None
    assert retry_after_seconds("soon", NOW) is None
    past = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(past, NOW) == 0.0


def test_5xx_is_retried_with_exponential_backoff(
    serve: Serve, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    server = serve(faults=FaultPlan(error_first=3, retry_after=None))
    assert make_fetcher(backoff=1.0).get(server.url + JSON).status == 200
    assert server.request_count(JSON) == 4
    # A deterministic schedule (no jitter): the same faults give the same waits on every run.
    assert sleeps == [1.0, 2.0, 4.0]


def test_5xx_after_last_retry_is_stored_and_returned(
    serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    server = serve(faults=FaultPlan(error_rate=1.0, error_status=502))
    response = make_fetcher(retries=2).get(server.url + JSON)
    assert response.status == 502
    assert server.request_count(JSON) == 3
    assert [r.status for r in store.responses()] == [502]


def test_truncated_body_is_retried(
    serve: Serve, make_fetcher: MakeFetcher, sleeps: list[float]
) -> None:
    server = serve(faults=FaultPlan(truncate_first=1))
    response = make_fetcher().get(server.url + JSON)
    assert response.status == 200
    assert response.json()["info"]["name"] == "Demo_Pkg"  # the complete body, not the half
    assert server.request_count(JSON) == 2
    assert len(sleeps) == 1


def test_connection_reset_is_retried(serve: Serve, make_fetcher: MakeFetcher) -> None:
    server = serve(faults=FaultPlan(reset_first=2))
    assert make_fetcher().get(server.url + JSON).status == 200
    assert server.request_count(JSON) == 3


def test_reset_on_every_attempt_is_source_unavailable(
    serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    server = serve(faults=FaultPlan(reset_rate=1.0))
    with pytest.raises(SourceUnavailable) as info:
        make_fetcher(retries=1).get(server.url + JSON)
    assert info.value.url == server.url + JSON
    assert "after 2 attempt(s)" in info.value.message
    # a "no answer" record, so an offline re-analysis meets the same gap; a resume asks again
    assert [(r.status, r.body().decode()) for r in store.responses()] == [
        (NO_ANSWER, info.value.message)
    ]


def test_read_timeout_is_retried_then_unavailable(
    client: httpx.Client,
    store: EvidenceStore,
    sleeps: list[float],
    raw_server: Callable[[bytes | None], RawServer],
) -> None:
    silent = raw_server(None)  # listens, never answers
    with httpx.Client(timeout=0.05) as quick:
        fetcher = Fetcher(quick, store, source="index", retries=2, sleep=sleeps.append)
        with pytest.raises(SourceUnavailable, match="after 3 attempt"):
            fetcher.get(silent.url + "/x")
    assert len(sleeps) == 2
    assert fetcher.sent == 3


def test_unreachable_port_is_source_unavailable(
    store: EvidenceStore, client: httpx.Client, sleeps: list[float]
) -> None:
    import socket

    with socket.socket() as s:  # find a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/pypi/x/json"
    fetcher = Fetcher(client, store, source="index", retries=3, sleep=sleeps.append)
    with pytest.raises(SourceUnavailable) as info:
        fetcher.get(url)
    assert info.value.url == url
    assert "after 4 attempt(s)" in info.value.message
    assert "ConnectError" in info.value.message
    assert info.value.hint
    assert "re-running resumes" in info.value.hint
    assert len(sleeps) == 3


def test_size_cap_from_content_length(
    serve: Serve, make_fetcher: MakeFetcher, store: EvidenceStore
) -> None:
    server = serve()
    with pytest.raises(ResponseTooLarge) as info:
        make_fetcher(max_bytes=100).get(server.url + JSON)
    assert "100-byte cap" in info.value.message
    assert "announces" in info.value.message
    assert server.request_count(JSON) == 1  # a too-large answer is final, not retried
    assert list(store.responses()) == []


def test_size_cap_while_streaming_without_content_length(
    store: EvidenceStore, client: httpx.Client, raw_server: Callable[[bytes | None], RawServer]
) -> None:
    chunk = b"x" * 64
    body = b"".join(b"40\r\n" + chunk + b"\r\n" for _ in range(10)) + b"0\r\n\r\n"
    server = raw_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body
    )
    with pytest.raises(ResponseTooLarge, match="sent more"):
        Fetcher(client, store, source="index", max_bytes=300).get(server.url + "/big")


def test_redirect_loop_is_reported(
    store: EvidenceStore, client: httpx.Client, raw_server: Callable[[bytes | None], RawServer]
) -> None:
    server = raw_server(
        b"HTTP/1.1 301 Moved\r\nLocation: /a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    with pytest.raises(SourceResponseError, match="redirect loop"):
        Fetcher(client, store, source="index").get(server.url + "/a")
    assert [r.status for r in store.responses()] == [301]


def test_resume_answers_from_the_store(
    serve: Serve, client: httpx.Client, store: EvidenceStore
) -> None:
    server = serve()
    store.begin_collection(NOW)
    Fetcher(client, store, source="index").get(server.url + "/pypi/Demo_Pkg/json")
    assert server.request_count() == 2
    # A new process resumes the unfinished collection: nothing is fetched again.
    resumed = Fetcher(client, store, source="index")
    store.begin_collection(NOW)
    response = resumed.get(server.url + "/pypi/Demo_Pkg/json")
    assert response.status == 200
    assert response.url == server.url + JSON
    assert server.request_count() == 2
    assert (resumed.sent, resumed.reused) == (0, 2)


def test_resume_refetches_a_stored_failure(
    serve: Serve, client: httpx.Client, store: EvidenceStore, sleeps: list[float]
) -> None:
    failing = serve(faults=FaultPlan(error_rate=1.0))
    store.begin_collection(NOW)
    fetcher = Fetcher(client, store, source="index", retries=0, sleep=sleeps.append)
    assert fetcher.get(failing.url + JSON).status == 503
    assert fetcher.get(failing.url + JSON).status == 503  # a stored 503 is not a final answer
    assert failing.request_count(JSON) == 2


def test_finished_collection_is_not_reused(
    serve: Serve, client: httpx.Client, store: EvidenceStore
) -> None:
    server = serve()
    store.begin_collection(NOW)
    Fetcher(client, store, source="index").get(server.url + JSON)
    store.finish_collection(NOW)
    store.begin_collection(NOW + timedelta(days=1))  # a new snapshot asks again
    Fetcher(client, store, source="index").get(server.url + JSON)
    assert server.request_count(JSON) == 2
