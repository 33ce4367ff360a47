"""RekorClient / RecordedRekor / notebook API / CLI against a real loopback HTTP server."""

from __future__ import annotations

import argparse
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

import forensics.rekor as rekor
from forensics.errors import OfflineMiss, SourceResponseError, SourceUnavailable
from forensics.evidence.store import EvidenceStore
from forensics.rekor import cli as rekor_cli
from forensics.rekor.client import EntryNotFound, RecordedRekor, RekorClient
from forensics.rekor.verify import LogKeys
from tests.rekor._lablog import MiniLog, hashedrekord_body

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Canned:
    """Routes and a queue of faults, served by the handler below."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[int, bytes]] = {}
        self.faults: list[str] = []
        self.requests: list[tuple[str, str, bytes]] = []

    def json(self, method: str, path: str, doc: Any, status: int = 200) -> None:
        self.routes[(method, path)] = (status, json.dumps(doc).encode())


class Handler(BaseHTTPRequestHandler):
    canned: Canned

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.canned.requests.append((method, self.path, body))
        if self.canned.faults:
            fault = self.canned.faults.pop(0)
            if fault == "reset":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault == "truncated":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"partial": ')
                self.close_connection = True
                return
            status, headers = {"429": (429, {"Retry-After": "7"}), "503": (503, {})}[fault]
            self._send(status, b'{"code": %d, "message": "busy"}' % status, headers)
            return
        status, payload = self.canned.routes.get(
            (method, self.path), (404, b'{"code": 404, "message": "not found"}')
        )
        self._send(status, payload, {})

    def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")


@pytest.fixture
def server() -> Iterator[tuple[str, Canned]]:
    canned = Canned()
    handler = type("H", (Handler,), {"canned": canned})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", canned
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def log() -> MiniLog:
    log = MiniLog(shard_offset=500)
    for i in range(6):
        log.append(hashedrekord_body(i), 1733354041 + i)
    return log


def _publish(canned: Canned, log: MiniLog) -> None:
    old = MiniLog(tree_id=9)
    for i in range(500):
        old.bodies.append(b"%d" % i)
    canned.json("GET", "/api/v1/log", log.log_info([old]))
    for i in range(len(log.bodies)):
        canned.json("GET", f"/api/v1/log/entries?logIndex={i + 500}", log.rest(i))
        canned.json("GET", f"/api/v1/log/entries/{log.uuid(i)}", log.rest(i))
        canned.json("GET", f"/api/v1/log/entries/{log.entry_id(i)}", log.rest(i))


def _client(
    session: requests.Session, url: str, store: EvidenceStore | None, sleeps: list[float]
) -> RekorClient:
    return RekorClient(
        session, url, store=store, retries=3, backoff=0.5, clock=lambda: NOW, sleep=sleeps.append
    )


def test_entries_info_and_evidence(
    server: tuple[str, Canned], log: MiniLog, tmp_path: Path
) -> None:
    url, canned = server
    _publish(canned, log)
    store = EvidenceStore.open(tmp_path / "case")
    with requests.Session() as s:
        client = _client(s, url, store, [])
        info = client.log_info()
        assert info.shard_offsets()[str(log.tree_id)] == 500
        by_index = client.entry_by_index(502)
        by_uuid = client.entry_by_uuid(log.uuid(2))
        by_id = client.entry_by_uuid(log.entry_id(2).upper())
    assert by_index.uuid == by_uuid.uuid == by_id.uuid == log.uuid(2)
    stored = list(store.responses("rekor"))
    assert len(stored) == 4
    assert all(r.status == 200 for r in stored)
    # Offline: the same answers from the store alone; an unseen request is an OfflineMiss.
    offline = RecordedRekor(store, url)
    assert offline.entry_by_index(502).uuid == log.uuid(2)
    assert offline.log_info().tree_id == str(log.tree_id)
    with pytest.raises(OfflineMiss, match="logIndex=503"):
        offline.entry_by_index(503)


def test_retries_429_with_capped_retry_after_then_succeeds(
    server: tuple[str, Canned], log: MiniLog, tmp_path: Path
) -> None:
    url, canned = server
    _publish(canned, log)
    canned.faults = ["429", "503", "reset", "truncated"]
    sleeps: list[float] = []
    store = EvidenceStore.open(tmp_path / "case")
    with requests.Session() as s:
        client = RekorClient(
            s,
            url,
            store=store,
            retries=4,
            backoff=0.5,
            max_retry_after=5,
            clock=lambda: NOW,
            sleep=sleeps.append,
        )
        entry = client.entry_by_index(500)
    assert entry.uuid == log.uuid(0)
    # 429 honours Retry-After 7, capped to 5; then exponential backoff 1, 2, 4.
    assert sleeps == [5, 1.0, 2.0, 4.0]
    statuses = [r.status for r in store.responses("rekor")]
    # only the final answer is evidence (the capture layer of every source does the same)
    assert statuses == [200]


def test_unreachable_after_n_attempts(server: tuple[str, Canned], tmp_path: Path) -> None:
    url, canned = server
    canned.faults = ["503"] * 10
    sleeps: list[float] = []
    with (
        requests.Session() as s,
        pytest.raises(
            SourceUnavailable, match=r"log unreachable at .*: still HTTP 503 after retries"
        ),
    ):
        _client(s, url, None, sleeps).entry_by_index(1)
    assert sleeps == [0.5, 1.0, 2.0]
    with requests.Session() as s, pytest.raises(SourceUnavailable, match=r"after 2 attempt\(s\)"):
        RekorClient(s, "http://127.0.0.1:9", store=None, retries=1, sleep=lambda _: None).log_info()


def test_404_and_malformed_answers(server: tuple[str, Canned], log: MiniLog) -> None:
    url, canned = server
    canned.json("GET", "/api/v1/log/entries?logIndex=7", {"oops": 1, "two": 2})
    canned.routes[("GET", "/api/v1/log")] = (200, b"not json")
    with requests.Session() as s:
        client = _client(s, url, None, [])
        with pytest.raises(EntryNotFound) as err:
            client.entry_by_index(1)
        assert err.value.status == 404
        with pytest.raises(SourceResponseError, match="malformed entry"):
            client.entry_by_index(7)
        with pytest.raises(SourceResponseError, match="not JSON"):
            client.log_info()


def test_searches_and_retrieve(server: tuple[str, Canned], log: MiniLog, tmp_path: Path) -> None:
    url, canned = server
    digest = "ab" * 32
    canned.routes[("POST", "/api/v1/index/retrieve")] = (
        200,
        json.dumps([log.uuid(1), log.uuid(4)]).encode(),
    )
    canned.json("POST", "/api/v1/log/entries/retrieve", [log.rest(1), log.rest(4)])
    store = EvidenceStore.open(tmp_path / "case")
    with requests.Session() as s:
        client = _client(s, url, store, [])
        found = client.search_hash(digest)
        assert found.uuids == (log.uuid(1), log.uuid(4))
        entries = client.retrieve_entries(list(found.uuids))
        assert [e.uuid for e in entries] == [log.uuid(1), log.uuid(4)]
        # subject search on a log that does not know it: a clear unsupported result.
        canned.routes[("POST", "/api/v1/index/retrieve")] = (
            422,
            b'{"code":422,"message":"unknown field subject"}',
        )
        result = client.search_subject(
            "https://github.com/o/r/.github/workflows/x.yml@refs/heads/main"
        )
        assert not result.supported
        assert "not supported by this log" in result.reason
        assert "unknown field subject" in result.reason
    method, _, body = canned.requests[0]
    assert method == "POST"
    assert json.loads(body) == {"hash": f"sha256:{digest}"}
    # The POST body is kept: the offline reader finds the same search by its body.
    assert RecordedRekor(store, url).search_hash(digest).uuids == found.uuids
    with pytest.raises(rekor.MalformedEntry):
        client.search_hash("xyz")


def test_consistency_proof_fetch_and_verify(server: tuple[str, Canned], log: MiniLog) -> None:
    from forensics_lab import merkle_tree

    url, canned = server
    proof = merkle_tree.consistency_path(2, log.leaves())
    canned.json(
        "GET",
        "/api/v1/log/proof?firstSize=2&lastSize=6&treeID=5",
        {"rootHash": log.root().hex(), "hashes": [h.hex() for h in proof]},
    )
    with requests.Session() as s:
        got = _client(s, url, None, []).consistency_proof(2, 6, tree_id="5")
    result = rekor.verify_consistency_proof(
        log.checkpoint(2), log.checkpoint(), got.hashes, LogKeys.of(log.key)
    )
    assert result.ok
    assert got.root_hash == log.root()


def test_notebook_lookup_and_repr(server: tuple[str, Canned], log: MiniLog) -> None:
    url, canned = server
    _publish(canned, log)
    with requests.Session() as s:
        res = rekor.lookup_index(503, url=url, trusted_root=LogKeys.of(log.key), session=s)
    assert res.ok
    text = repr(res)
    assert "503" in text
    assert "hashedrekord/0.0.1" in text
    assert "[pass] set" in text
    assert "[pass] index" in text  # the shard offset came from /api/v1/log
    md = res._repr_markdown_()
    assert "| checkpoint_signature | pass |" in md


def test_cli_entry_exit_codes(server: tuple[str, Canned], log: MiniLog, tmp_path: Path) -> None:
    url, canned = server
    _publish(canned, log)
    root = tmp_path / "trusted_root.json"
    import base64

    der = log.key.key.public_bytes(
        __import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]
        ).Encoding.DER,
        __import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["PublicFormat"]
        ).PublicFormat.SubjectPublicKeyInfo,
    )
    root.write_text(
        json.dumps(
            {
                "tlogs": [
                    {
                        "baseUrl": url,
                        "publicKey": {
                            "rawBytes": base64.b64encode(der).decode(),
                            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        },
                    }
                ]
            }
        )
    )
    parser = argparse.ArgumentParser()
    rekor_cli.register(parser.add_subparsers(dest="command"))

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(
            ["rekor", "entry", *argv, "--rekor-url", url, "--trust-root", str(root)]
        )
        out = io.StringIO()
        return args.func(args, out=out), out.getvalue()

    code, text = run("501")
    assert code == 0
    assert "verified         yes" in text
    code, text = run(log.entry_id(1), "--format", "json")
    assert code == 0
    assert json.loads(text)["uuid"] == log.uuid(1)
    # Tampered: the log serves a body that does not match the proof.
    bad = log.rest(2)
    next(iter(bad.values()))["integratedTime"] += 1
    canned.json("GET", "/api/v1/log/entries?logIndex=502", bad)
    code, text = run("502", "--format", "json")
    assert code == 1
    assert "set" in [c["name"] for c in json.loads(text)["checks"] if c["outcome"] == "fail"]
    canned.faults = ["503"] * 20
    args = parser.parse_args(
        ["rekor", "entry", "501", "--rekor-url", url, "--trust-root", str(root), "--retries", "0"]
    )
    # The lead's main() maps SourceError to exit 3; a port that refuses connections fails fast.
    args.rekor_url = "http://127.0.0.1:9"
    with pytest.raises(SourceUnavailable) as err:
        args.func(args, out=io.StringIO())
    assert err.value.exit_code == 3
