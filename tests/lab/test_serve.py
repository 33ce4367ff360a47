"""The lab's loopback servers, observed by real httpx/requests clients over real sockets."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
import requests

from forensics.errors import InputError, UsageError
from forensics.primitives import merkle
from forensics_lab import merkle_tree
from forensics_lab._tinyworld import (
    HOSTILE_FILENAME,
    HOSTILE_YANK,
    INACTIVE_TREE_ID,
    SHARD_OFFSET,
    SUBJECT,
    TREE_ID,
    write_tiny_world,
)
from forensics_lab.serve import FaultPlan, LabServer, negotiate, register_serve_cli, run_serve

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
INTEGRITY = "application/vnd.pypi.integrity.v1+json"
SDIST = "demo_pkg-1.0.0.tar.gz"
PROV = f"/integrity/demo-pkg/1.0.0/{SDIST}/provenance"

Serve = Callable[..., LabServer]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_world(tmp_path_factory.mktemp("world"), hostile=True)


@pytest.fixture
def serve(world: Path) -> Iterator[Serve]:
    started: list[LabServer] = []

    def start(**kwargs: object) -> LabServer:
        server = LabServer(world, **kwargs).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        assert server.errors == [], server.errors


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as c:
        yield c


# -- PyPI JSON API -------------------------------------------------------------------------------


def test_json_api_redirects_to_the_normalized_name(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    r = client.get(server.url + "/pypi/Demo_Pkg/json")
    assert r.status_code == 301
    assert r.headers["location"] == "/pypi/demo-pkg/json"  # path-only, like warehouse
    r = client.get(server.url + "/pypi/DEMO.pkg/1.0.0/json")
    assert r.headers["location"] == "/pypi/demo-pkg/1.0.0/json"
    assert client.get(server.url + "/pypi/other/json").json() == {"message": "Not Found"}


def test_json_api_document(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    r = client.get(server.url + "/pypi/demo-pkg/json")
    assert r.status_code == 200
    doc = r.json()
    assert r.headers["x-pypi-last-serial"] == str(doc["last_serial"])
    # 1.2.0 was deleted; 0.9 has no files but is listed; 1.0.1 is yanked, 2.0.0rc1 a pre-release.
    assert list(doc["releases"]) == ["0.9", "1.0.0", "1.0.1", "1.1.0", "2.0.0rc1"]
    assert doc["releases"]["0.9"] == []
    assert doc["info"]["version"] == "1.0.0"
    assert doc["info"]["name"] == "Demo_Pkg"
    assert [f["filename"] for f in doc["urls"]] == [
        f["filename"] for f in doc["releases"][doc["info"]["version"]]
    ]
    wheel = doc["releases"]["1.0.0"][0]
    assert wheel["upload_time"] == "2024-01-01T10:00:00"  # naive, seconds only
    assert wheel["upload_time_iso_8601"] == "2024-01-01T10:00:00.123456Z"
    assert set(wheel["digests"]) == {"blake2b_256", "md5", "sha256"}
    assert wheel["md5_digest"] == wheel["digests"]["md5"]
    assert (wheel["packagetype"], wheel["python_version"]) == ("bdist_wheel", "py3")
    assert (wheel["yanked"], wheel["yanked_reason"]) == (False, None)
    yanked = doc["releases"]["1.1.0"][0]
    assert (yanked["yanked"], yanked["yanked_reason"]) == (True, "broken build")
    b2 = wheel["digests"]["blake2b_256"]
    assert wheel["url"] == f"{server.url}/packages/{b2[:2]}/{b2[2:4]}/{b2[4:]}/{wheel['filename']}"
    assert "pep740" not in json.dumps(doc)
    assert "provenance" not in json.dumps(doc)


def test_latest_skips_yanked_and_prereleases(serve: Serve, client: httpx.Client) -> None:
    doc = client.get(serve().url + "/pypi/demo-pkg/json").json()
    # 2.0.0rc1 is a pre-release, 1.1.0 and 1.0.1 are yanked: the latest is 1.0.0.
    assert doc["info"]["version"] == "1.0.0"
    assert (doc["info"]["yanked"], doc["info"]["yanked_reason"]) == (False, None)


def test_version_json(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    doc = client.get(server.url + "/pypi/demo-pkg/1.1.0/json").json()
    assert "releases" not in doc
    assert doc["info"]["version"] == "1.1.0"
    assert doc["info"]["yanked_reason"] == "broken build"
    assert [f["filename"] for f in doc["urls"]] == ["demo_pkg-1.1.0.tar.gz"]
    assert client.get(server.url + "/pypi/demo-pkg/1.2.0/json").status_code == 404  # deleted
    assert client.get(server.url + "/pypi/demo-pkg/9/json").json() == {"message": "Not Found"}


def test_relative_urls_resolve_to_downloadable_files(serve: Serve, client: httpx.Client) -> None:
    server = serve(relative_urls=True)
    for path in ("/pypi/demo-pkg/json", "/pypi/demo-pkg/1.0.0/json"):
        page = server.url + path
        for f in client.get(page).json()["urls"]:
            assert f["url"].startswith("../")
            assert "://" not in f["url"]
            body = client.get(urljoin(page, f["url"])).content
            assert hashlib.sha256(body).hexdigest() == f["digests"]["sha256"]
    page = server.url + "/simple/demo-pkg/"
    files = client.get(page, headers={"Accept": SIMPLE_JSON}).json()["files"]
    assert all(f["url"].startswith("../../packages/") for f in files)


def test_downloads_check_the_digest_path(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    url = client.get(server.url + "/pypi/demo-pkg/json").json()["urls"][0]["url"]
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    wrong = url.replace("/packages/", "/packages/00")
    assert client.get(wrong).status_code == 404
    assert client.get(server.url + "/packages/aa/bb/cc/../../world.json").status_code == 404


# -- Simple API ----------------------------------------------------------------------------------


def test_simple_json_provenance_url_and_null(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    r = client.get(server.url + "/simple/demo-pkg/", headers={"Accept": SIMPLE_JSON})
    assert r.headers["content-type"] == SIMPLE_JSON
    doc = r.json()
    assert doc["meta"]["api-version"] == "1.3"
    assert doc["name"] == "demo-pkg"
    assert doc["versions"] == ["0.9", "1.0.0", "1.0.1", "1.1.0", "2.0.0rc1"]
    by_name = {f["filename"]: f for f in doc["files"]}
    assert by_name[SDIST]["provenance"] == server.url + PROV
    assert by_name["demo_pkg-1.1.0.tar.gz"]["provenance"] is None
    assert "provenance" in by_name["demo_pkg-1.1.0.tar.gz"]  # null, not absent
    assert by_name["demo_pkg-1.1.0.tar.gz"]["yanked"] == "broken build"  # the reason string
    assert by_name[SDIST]["yanked"] is False
    assert by_name[SDIST]["upload-time"] == "2024-01-01T10:00:03.500000Z"
    assert set(by_name[SDIST]) >= {"hashes", "requires-python", "size", "url"}


def test_simple_mirror_mode_has_no_provenance_key(serve: Serve, client: httpx.Client) -> None:
    server = serve(pep740=False)
    doc = client.get(server.url + "/simple/demo-pkg/", headers={"Accept": SIMPLE_JSON}).json()
    assert doc["meta"]["api-version"] == "1.1"
    assert all("provenance" not in f for f in doc["files"])
    r = client.get(server.url + PROV)
    assert r.status_code == 404
    html = client.get(server.url + "/simple/demo-pkg/").text
    assert "data-provenance" not in html
    assert 'content="1.1"' in html


def test_simple_redirects(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    assert client.get(server.url + "/simple/Demo_Pkg/").headers["location"] == "/simple/demo-pkg/"
    assert client.get(server.url + "/simple/demo-pkg").headers["location"] == "/simple/demo-pkg/"
    assert client.get(server.url + "/simple/nope/").status_code == 404


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[dict[str, str | None], str]] = []
        self.tags: list[str] = []
        self.meta: dict[str, str | None] = {}
        self._attrs: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self._attrs = dict(attrs)
        if tag == "meta":
            self.meta = dict(attrs)

    def handle_data(self, data: str) -> None:
        if self._attrs is not None:
            self.links.append((self._attrs, data))
            self._attrs = None


def test_simple_html_with_hostile_filename(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    for accept in (None, "text/html", "application/vnd.pypi.simple.v1+html"):
        headers = {"Accept": accept} if accept else {}
        r = client.get(server.url + "/simple/demo-pkg/", headers=headers)
        assert r.headers["content-type"].startswith(accept or "text/html")
    parser = _Links()
    parser.feed(r.text)
    assert parser.meta == {"name": "pypi:repository-version", "content": "1.3"}
    assert "img" not in parser.tags
    assert "script" not in parser.tags
    links = {text: attrs for attrs, text in parser.links}
    assert HOSTILE_FILENAME in links
    assert links[HOSTILE_FILENAME]["data-yanked"] == HOSTILE_YANK
    assert links[SDIST]["data-provenance"] == server.url + PROV
    assert "data-provenance" not in links["demo_pkg-1.1.0.tar.gz"]
    assert (
        str(links[SDIST]["href"]).split("#sha256=")[1]
        == hashlib.sha256(client.get(str(links[SDIST]["href"])).content).hexdigest()
    )


def test_simple_unacceptable_accept(serve: Serve, client: httpx.Client) -> None:
    assert (
        client.get(serve().url + "/simple/demo-pkg/", headers={"Accept": "image/png"}).status_code
        == 406
    )


def test_negotiate() -> None:
    offers = ["text/html", SIMPLE_JSON]
    assert negotiate(None, offers) == "text/html"
    assert negotiate(f"{SIMPLE_JSON}, text/html;q=0.1", offers) == SIMPLE_JSON
    assert negotiate(f"{SIMPLE_JSON};q=0.2, text/html;q=0.3", offers) == "text/html"
    assert negotiate("*/*", offers) == "text/html"
    assert negotiate("application/*", offers) == SIMPLE_JSON
    assert negotiate("text/html;q=0, */*;q=0.5", offers) == SIMPLE_JSON
    assert negotiate("image/png", offers) is None


# -- Integrity API ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "status", "media"),
    [
        (None, 200, INTEGRITY),
        (INTEGRITY, 200, INTEGRITY),
        ("application/json", 200, "application/json"),
        ("*/*", 200, INTEGRITY),
        ("text/html", 406, "application/json"),
    ],
)
def test_integrity_media_types(
    serve: Serve, client: httpx.Client, world: Path, accept: str | None, status: int, media: str
) -> None:
    r = client.get(serve().url + PROV, headers={"Accept": accept} if accept else {})
    assert r.status_code == status
    assert r.headers["content-type"] == media
    if status == 200:
        assert r.content == (world / "provenance" / f"{SDIST}.json").read_bytes()
        assert r.headers["vary"] == "Accept"
    else:
        assert r.json() == {"message": "Request not acceptable"}


def test_integrity_404_bodies(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    name = "demo_pkg-1.1.0.tar.gz"
    r = client.get(server.url + f"/integrity/demo-pkg/1.1.0/{name}/provenance")
    assert (r.status_code, r.json()) == (404, {"message": f"No provenance available for {name}"})
    r = client.get(server.url + "/integrity/demo-pkg/1.0.0/nope.tar.gz/provenance")
    assert r.json() == {"message": "No provenance available for nope.tar.gz"}


def test_integrity_hostile_filename_round_trips(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    files = client.get(server.url + "/simple/demo-pkg/", headers={"Accept": SIMPLE_JSON}).json()
    (entry,) = [f for f in files["files"] if f["filename"] == HOSTILE_FILENAME]
    assert '"' not in entry["provenance"]
    assert "<" not in entry["provenance"]
    assert client.get(entry["provenance"]).status_code == 200


# -- as_of ---------------------------------------------------------------------------------------


def test_as_of_shows_the_index_as_it_stood(serve: Serve, client: httpx.Client) -> None:
    server = serve(as_of=datetime(2024, 3, 2, tzinfo=UTC))
    doc = client.get(server.url + "/pypi/demo-pkg/json").json()
    assert list(doc["releases"]) == [
        "0.9",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "1.2.0",
    ]  # 1.2.0 not yet deleted
    assert (
        client.get(
            server.url + "/integrity/demo-pkg/1.2.0/demo_pkg-1.2.0.tar.gz/provenance"
        ).status_code
        == 200
    )
    assert (
        client.get(
            server.url + "/integrity/demo-pkg/2.0.0rc1/demo_pkg-2.0.0rc1.tar.gz/provenance"
        ).status_code
        == 404
    )
    early = serve(as_of=datetime(2024, 1, 1, 10, 0, 1, tzinfo=UTC))
    doc = client.get(early.url + "/pypi/demo-pkg/json").json()
    # Only the wheel was uploaded by then: the sdist three seconds later is hidden.
    assert [f["filename"] for f in doc["releases"]["1.0.0"]] == ["demo_pkg-1.0.0-py3-none-any.whl"]
    assert list(doc["releases"]) == ["0.9", "1.0.0"]
    assert doc["last_serial"] < client.get(server.url + "/pypi/demo-pkg/json").json()["last_serial"]


def test_without_as_of_deleted_releases_are_gone(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    r = client.get(server.url + "/integrity/demo-pkg/1.2.0/demo_pkg-1.2.0.tar.gz/provenance")
    assert r.status_code == 404


# -- Rekor -----------------------------------------------------------------------------------------


def test_rekor_log_and_public_key(serve: Serve, client: httpx.Client, world: Path) -> None:
    server = serve()
    log = client.get(server.url + "/api/v1/log").json()
    assert log["treeID"] == str(TREE_ID)
    assert log["treeSize"] == 5
    assert log["inactiveShards"][0]["treeID"] == str(INACTIVE_TREE_ID)
    assert log["signedTreeHead"].startswith(f"lab.rekor - {TREE_ID}\n5\n")
    r = client.get(server.url + "/api/v1/log/publicKey")
    assert r.headers["content-type"] == "application/x-pem-file"
    assert r.text.startswith("-----BEGIN PUBLIC KEY-----")


def test_rekor_global_vs_shard_index(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    r = client.get(server.url + f"/api/v1/log/entries?logIndex={SHARD_OFFSET + 2}")
    assert r.status_code == 200
    ((entry_id, entry),) = r.json().items()
    assert entry["logIndex"] == SHARD_OFFSET + 2  # global
    assert entry["verification"]["inclusionProof"]["logIndex"] == 2  # inside the shard
    assert entry_id.startswith(f"{TREE_ID:016x}")
    # The shard index is not a lookup key: Rekor's API takes the global index.
    missing = client.get(server.url + "/api/v1/log/entries?logIndex=2")
    assert missing.status_code == 404
    assert missing.json()["code"] == 404
    assert client.get(server.url + "/api/v1/log/entries?logIndex=x").status_code == 400
    # The served inclusion proof leads to the served root.
    proof = entry["verification"]["inclusionProof"]
    import base64

    leaf = merkle.leaf_hash(base64.b64decode(entry["body"]))
    assert leaf.hex() == entry_id[16:]
    merkle.verify_inclusion(
        proof["logIndex"],
        proof["treeSize"],
        leaf,
        [bytes.fromhex(h) for h in proof["hashes"]],
        bytes.fromhex(client.get(server.url + "/api/v1/log").json()["rootHash"]),
    )


def test_rekor_entries_by_uuid_entry_id_and_retrieve(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    entry_id = next(
        iter(client.get(server.url + f"/api/v1/log/entries?logIndex={SHARD_OFFSET}").json())
    )
    uuid = entry_id[16:]
    assert list(client.get(server.url + f"/api/v1/log/entries/{uuid}").json()) == [entry_id]
    assert list(client.get(server.url + f"/api/v1/log/entries/{entry_id.upper()}").json()) == [
        entry_id
    ]
    assert client.get(server.url + "/api/v1/log/entries/" + "0" * 64).status_code == 404
    assert client.get(server.url + "/api/v1/log/entries/xyz").status_code == 400
    found = client.post(
        server.url + "/api/v1/log/entries/retrieve", json={"entryUUIDs": [uuid, "f" * 64]}
    ).json()
    assert [list(e) for e in found] == [[entry_id]]
    found = client.post(
        server.url + "/api/v1/log/entries/retrieve",
        json={"logIndexes": [SHARD_OFFSET, SHARD_OFFSET + 4, 3]},
    ).json()
    assert [e[next(iter(e))]["logIndex"] for e in found] == [SHARD_OFFSET, SHARD_OFFSET + 4]
    r = client.post(
        server.url + "/api/v1/log/entries/retrieve", json={"logIndexes": list(range(11))}
    )
    assert r.status_code == 422


def test_rekor_search(serve: Serve, client: httpx.Client, world: Path) -> None:
    server = serve()
    search = json.loads((world / "rekor" / "search.json").read_text())
    sha_key = next(k for k in search if k.startswith("sha256:"))
    url = server.url + "/api/v1/index/retrieve"
    assert client.post(url, json={"hash": sha_key}).json() == search[sha_key]
    assert (
        client.post(url, json={"hash": sha_key.removeprefix("sha256:")}).json() == search[sha_key]
    )
    subject_hits = client.post(url, json={"subject": SUBJECT.upper()}).json()
    assert subject_hits == search[f"subject:{SUBJECT.lower()}"]
    both = client.post(url, json={"hash": sha_key, "subject": SUBJECT}).json()
    assert both == [u for u in search[sha_key] if u in subject_hits]  # default operator: and
    either = client.post(url, json={"hash": sha_key, "subject": SUBJECT, "operator": "or"}).json()
    assert set(either) == set(search[sha_key]) | set(subject_hits)
    assert (
        client.post(url, json={"email": "Maintainer@Example.org"}).json()
        == search["email:maintainer@example.org"]
    )
    assert client.post(url, json={"hash": "sha256:" + "0" * 64}).json() == []
    assert client.post(url, json={}).status_code == 422
    assert client.post(url, content=b"{nope").status_code == 400


def test_rekor_consistency_proofs_verify(serve: Serve, client: httpx.Client, world: Path) -> None:
    server = serve()
    log = json.loads((world / "rekor" / "log.json").read_text())
    leaves = [bytes.fromhex(h) for h in log["leaves"]]
    head = client.get(server.url + "/api/v1/log").json()
    for first in range(1, 6):
        r = client.get(server.url + f"/api/v1/log/proof?firstSize={first}&lastSize=5")
        proof = r.json()
        assert proof["rootHash"] == head["rootHash"]
        merkle.verify_consistency(
            first,
            5,
            merkle_tree.root_from_leaves(leaves[:first]),
            bytes.fromhex(proof["rootHash"]),
            [bytes.fromhex(h) for h in proof["hashes"]],
        )
    partial = client.get(server.url + "/api/v1/log/proof?firstSize=2&lastSize=3").json()
    assert partial["rootHash"] == merkle_tree.root_from_leaves(leaves[:3]).hex()
    for bad in (
        "firstSize=4&lastSize=3",
        "firstSize=1&lastSize=6",
        "firstSize=1",
        "firstSize=0&lastSize=2",
    ):
        assert client.get(server.url + f"/api/v1/log/proof?{bad}").status_code == 400


# -- GitHub ----------------------------------------------------------------------------------------


def test_github_commits_tags_refs_runs(serve: Serve, client: httpx.Client) -> None:
    server = serve()
    api = server.url + "/repos/demo/demo-pkg"
    commit = client.get(api + "/commits/" + "a" * 7).json()
    assert commit["sha"] == "a" * 40
    assert commit["commit"]["author"] == {
        "name": "Dev",
        "email": "dev@example.org",
        "date": "2024-01-01T09:55:00Z",
    }
    assert commit["parents"][0]["sha"] == "b" * 40
    assert commit["files"] == [{"filename": "pyproject.toml"}]
    r = client.get(api + "/commits/" + "c" * 40)
    assert r.status_code == 422
    assert r.json()["message"] == "No commit found for SHA: " + "c" * 40
    tags = client.get(api + "/tags").json()
    assert tags[0]["name"] == "v1.0.0"
    assert tags[0]["commit"]["sha"] == "a" * 40
    ref = client.get(api + "/git/ref/tags/v1.0.0").json()
    assert (ref["ref"], ref["object"]["sha"], ref["object"]["type"]) == (
        "refs/tags/v1.0.0",
        "a" * 40,
        "commit",
    )
    missing = client.get(api + "/git/ref/tags/v9")
    assert missing.status_code == 404
    assert missing.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }
    runs = client.get(api + "/actions/runs", params={"head_sha": "b" * 40}).json()
    assert runs["total_count"] == 1
    assert runs["workflow_runs"][0]["actor"] == {"login": "attacker"}
    assert client.get(api + "/actions/runs").json()["total_count"] == 2
    assert client.get(api + "/actions/runs/101").json()["event"] == "release"
    assert client.get(api + "/actions/runs/999").status_code == 404
    assert client.get(server.url + "/repos/someone/else/tags").status_code == 404


# -- faults --------------------------------------------------------------------------------------


def test_fault_throttle_with_retry_after(serve: Serve, client: httpx.Client) -> None:
    server = serve(faults=FaultPlan(throttle_first=1, retry_after="9"))
    first = client.get(server.url + "/pypi/demo-pkg/json")
    assert (first.status_code, first.headers["retry-after"]) == (429, "9")
    assert client.get(server.url + "/pypi/demo-pkg/json").status_code == 200


def test_fault_5xx_rate_and_first_n(serve: Serve, client: httpx.Client) -> None:
    always = serve(faults=FaultPlan(error_rate=1.0, error_status=500))
    assert {client.get(always.url + "/pypi/demo-pkg/json").status_code for _ in range(3)} == {500}
    first = serve(faults=FaultPlan(error_first=2))
    codes = [client.get(first.url + "/api/v1/log").status_code for _ in range(3)]
    assert codes == [503, 503, 200]


def test_fault_rates_are_deterministic_per_seed(serve: Serve, client: httpx.Client) -> None:
    def statuses(seed: int) -> list[int]:
        server = serve(faults=FaultPlan(seed=seed, error_rate=0.5))
        return [client.get(server.url + "/api/v1/log").status_code for _ in range(16)]

    run = statuses(7)
    assert run == statuses(7)
    assert {200, 503} == set(run)  # a rate of 0.5 over 16 draws shows both outcomes


def test_fault_truncated_body_seen_by_httpx(serve: Serve, client: httpx.Client) -> None:
    server = serve(faults=FaultPlan(truncate_first=1))
    with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message body"):
        client.get(server.url + "/pypi/demo-pkg/json")
    assert client.get(server.url + "/pypi/demo-pkg/json").status_code == 200


def test_fault_connection_reset_seen_by_requests(serve: Serve) -> None:
    server = serve(faults=FaultPlan(reset_first=1))
    with requests.Session() as session:
        with pytest.raises(requests.ConnectionError):
            session.get(server.url + "/pypi/demo-pkg/json", timeout=5)
        assert session.get(server.url + "/pypi/demo-pkg/json", timeout=5).status_code == 200


def test_fault_drip_sends_the_body_in_pieces(serve: Serve, client: httpx.Client) -> None:
    plain = client.get(serve().url + "/api/v1/log").content
    server = serve(faults=FaultPlan(drip_bytes=64, drip_delay_ms=5))
    with client.stream("GET", server.url + "/api/v1/log") as r:
        chunks = list(r.iter_raw())
    assert b"".join(chunks) == plain
    assert len(chunks) > 1


def test_fault_latency_trips_a_client_timeout(serve: Serve) -> None:
    server = serve(faults=FaultPlan(latency_ms=800, path_prefix="/api/"))
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.1)) as impatient:
        assert impatient.get(server.url + "/pypi/demo-pkg/json").status_code == 200  # not faulted
        with pytest.raises(httpx.ReadTimeout):
            impatient.get(server.url + "/api/v1/log")


def test_fault_path_prefix_and_per_path_counting(serve: Serve, client: httpx.Client) -> None:
    server = serve(faults=FaultPlan(path_prefix="/integrity/", per_path=True, throttle_first=1))
    assert client.get(server.url + "/pypi/demo-pkg/json").status_code == 200
    other = "/integrity/demo-pkg/1.0.0/demo_pkg-1.0.0-py3-none-any.whl/provenance"
    assert [client.get(server.url + p).status_code for p in (PROV, PROV, other, other)] == [
        429,
        200,
        429,
        200,
    ]
    assert server.request_count("/integrity/") == 4
    assert server.request_count() == 5


def test_fault_plan_rejects_nonsense() -> None:
    with pytest.raises(UsageError, match="between 0 and 1"):
        FaultPlan(error_rate=2)
    with pytest.raises(UsageError, match="5xx"):
        FaultPlan(error_status=404)


# -- world loading and CLI -------------------------------------------------------------------------


def test_bad_world_directories(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"world\.json"):
        LabServer(tmp_path)
    (tmp_path / "world.json").write_text('{"schema": "other"}')
    with pytest.raises(InputError, match="schema is 'other'"):
        LabServer(tmp_path)
    (tmp_path / "world.json").write_text(
        '{"schema": "forensics_lab.world/v1", "project": "p", "releases": [{"version": "1", '
        '"files": [{"filename": "f", "size": "big", "digests": {"sha256": "x"}}]}]}'
    )
    with pytest.raises(InputError, match=r"releases\[0\]\.files\[0\]: `size` must be an integer"):
        LabServer(tmp_path)


def test_cli_serves_a_world(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    register_serve_cli(parser.add_subparsers())
    args = parser.parse_args(["serve", str(world), "--mirror", "--as-of", "2024-03-02T00:00:00Z"])
    seen: list[dict[str, object]] = []

    def ready(server: LabServer) -> None:
        with httpx.Client() as c:
            seen.append(
                c.get(server.url + "/simple/demo-pkg/", headers={"Accept": SIMPLE_JSON}).json()
            )

    assert run_serve(args, ready=ready) == 0
    assert seen[0]["meta"] == {
        "api-version": "1.1",
        "_last-serial": seen[0]["meta"]["_last-serial"],
    }  # type: ignore[index]
    assert "1.2.0" in seen[0]["versions"]  # type: ignore[operator]
    assert "FORENSICS_INDEX_URL=http://127.0.0.1:" in capsys.readouterr().out


def test_cli_rejects_missing_target_and_bad_time(tmp_path: Path, world: Path) -> None:
    parser = argparse.ArgumentParser()
    register_serve_cli(parser.add_subparsers())
    with pytest.raises(InputError, match="neither a world directory nor a scenario"):
        run_serve(parser.parse_args(["serve", str(tmp_path / "nope")]))
    with pytest.raises(UsageError, match="--as-of"):
        run_serve(parser.parse_args(["serve", str(world), "--as-of", "yesterday"]))


def test_cli_builds_a_scenario_first(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = (
        Path(__file__).resolve().parents[2] / "forensics_lab/scenarios/ultralytics-2024-12.toml"
    )
    assert scenario.exists()
    parser = argparse.ArgumentParser()
    register_serve_cli(parser.add_subparsers())
    versions: list[list[str]] = []

    def ready(server: LabServer) -> None:
        with httpx.Client() as c:
            versions.append(list(c.get(server.url + "/pypi/ultralytics/json").json()["releases"]))

    assert run_serve(parser.parse_args(["serve", str(scenario)]), ready=ready) == 0
    assert "8.3.40" in versions[0]
    assert "8.3.41" not in versions[0]  # deleted releases are gone without --as-of
