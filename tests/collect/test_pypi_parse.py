"""load_index_snapshot on hand-made stored responses: every rule about bad or partial index data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from forensics.collect.pypi_parse import load_index_snapshot
from forensics.errors import InputError, OfflineMiss, SourceResponseError
from forensics.evidence.store import EvidenceStore
from forensics.models import Pep740Support, ProvenanceKey
from tests.collect.support import NOW

BASE = "https://index.example"
JSON_URL = f"{BASE}/pypi/demo-pkg/json"
SIMPLE_URL = f"{BASE}/simple/demo-pkg/"
SHA_A = "a" * 64
SHA_B = "b" * 64


def file_entry(name: str, sha: str = SHA_A, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "filename": name,
        "digests": {"sha256": sha, "md5": "0" * 32},
        "size": 10,
        "packagetype": "sdist",
        "upload_time": "2024-01-01T10:00:00",
        "upload_time_iso_8601": "2024-01-01T10:00:00.654321Z",
        "url": f"https://files.example/{name}",
        "yanked": False,
        "yanked_reason": None,
    }
    entry.update(extra)
    return entry


def put(store: EvidenceStore, url: str, body: Any, status: int = 200, **headers: str) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    store.put_response(
        source="index", url=url, status=status, headers=headers, body=data, retrieved_at=NOW
    )


def put_json_api(store: EvidenceStore, releases: dict[str, Any], **doc: Any) -> None:
    put(store, JSON_URL, {"info": {"name": "Demo_Pkg"}, "releases": releases, **doc})


def put_simple(store: EvidenceStore, files: list[dict[str, Any]], api: str = "1.3") -> None:
    put(store, SIMPLE_URL, {"meta": {"api-version": api}, "name": "demo-pkg", "files": files})


def simple_file(name: str, sha: str = SHA_A, **extra: Any) -> dict[str, Any]:
    return {
        "filename": name,
        "hashes": {"sha256": sha},
        "url": f"https://files.example/{name}",
        **extra,
    }


def test_missing_json_api_is_offline_miss(store: EvidenceStore) -> None:
    with pytest.raises(OfflineMiss, match="no JSON API response") as info:
        load_index_snapshot(store, BASE, "demo-pkg")
    assert info.value.url == JSON_URL


def test_404_is_project_not_found(store: EvidenceStore) -> None:
    put(store, JSON_URL, {"message": "Not Found"}, status=404)
    with pytest.raises(SourceResponseError, match="project not found") as info:
        load_index_snapshot(store, BASE, "demo-pkg")
    assert info.value.status == 404


def test_other_status_names_it(store: EvidenceStore) -> None:
    put(store, JSON_URL, b"<html>gateway</html>", status=502)
    with pytest.raises(SourceResponseError, match="HTTP 502") as info:
        load_index_snapshot(store, BASE, "demo-pkg")
    assert info.value.body_excerpt == "<html>gateway</html>"


def test_malformed_json_names_url_and_error(store: EvidenceStore) -> None:
    put(store, JSON_URL, b'{"info": {"name": "x"}, "releases": {')
    with pytest.raises(SourceResponseError) as info:
        load_index_snapshot(store, BASE, "demo-pkg")
    assert JSON_URL in info.value.message
    assert "Expecting" in info.value.message  # the JSON decoder's own diagnosis


def test_json_that_is_not_an_object(store: EvidenceStore) -> None:
    put(store, JSON_URL, [1, 2])
    with pytest.raises(SourceResponseError, match="is a list, not an object"):
        load_index_snapshot(store, BASE, "demo-pkg")


def test_invalid_project_name(store: EvidenceStore) -> None:
    with pytest.raises(InputError):
        load_index_snapshot(store, BASE, "-bad-")


def test_file_with_missing_fields_is_kept_with_problems(store: EvidenceStore) -> None:
    put_json_api(
        store,
        {
            "1.0": [
                {"url": "https://files.example/demo_pkg-1.0.tar.gz"},  # no filename, digests, time
                "not an object",
            ]
        },
    )
    put_simple(store, [])
    snapshot = load_index_snapshot(store, BASE, "demo-pkg")
    (kept,) = snapshot.files
    assert kept.filename == "demo_pkg-1.0.tar.gz"
    assert (kept.sha256, kept.size, kept.upload_time) == ("", None, None)
    problems = "\n".join(snapshot.problems)
    assert "/releases/1.0/0: no filename; using 'demo_pkg-1.0.tar.gz' from its url" in problems
    assert "no valid sha256 digest" in problems
    assert "no upload time" in problems
    assert "/releases/1.0/1: file entry is a str, ignored" in problems


def test_upload_time_prefers_iso_and_falls_back_to_naive_utc(store: EvidenceStore) -> None:
    naive_only = file_entry(
        "b.tar.gz", upload_time_iso_8601=None, upload_time="2024-01-02T03:04:05"
    )
    naive_only.pop("upload_time_iso_8601")
    put_json_api(store, {"1.0": [file_entry("a.tar.gz"), naive_only]})
    put_simple(store, [simple_file("a.tar.gz"), simple_file("b.tar.gz")])
    a, b = load_index_snapshot(store, BASE, "demo-pkg").files
    assert a.upload_time == datetime(2024, 1, 1, 10, 0, 0, 654321, tzinfo=UTC)
    assert b.upload_time == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_relative_urls_resolve_against_the_final_request_url(store: EvidenceStore) -> None:
    put(store, f"{BASE}/pypi/Demo_Pkg/json", b"", status=301, Location="/pypi/demo-pkg/json")
    put_json_api(store, {"1.0": [file_entry("a.tar.gz", url="../../packages/ab/cd/ef/a.tar.gz")]})
    put_simple(
        store, [simple_file("a.tar.gz", provenance="/integrity/demo-pkg/1.0/a.tar.gz/provenance")]
    )
    snapshot = load_index_snapshot(store, BASE, "Demo_Pkg")
    (f,) = snapshot.files
    assert f.url == f"{BASE}/packages/ab/cd/ef/a.tar.gz"
    assert f.provenance_url == f"{BASE}/integrity/demo-pkg/1.0/a.tar.gz/provenance"
    assert f.evidence.url == JSON_URL
    assert f.evidence.pointer == "/releases/1.0/0"


def test_sha256_disagreement_is_a_problem_naming_both(store: EvidenceStore) -> None:
    put_json_api(store, {"1.0": [file_entry("a.tar.gz", SHA_A)]})
    put_simple(store, [simple_file("a.tar.gz", SHA_B, provenance=None)])
    snapshot = load_index_snapshot(store, BASE, "demo-pkg")
    assert snapshot.problems == (
        f"sha256 of 'a.tar.gz' differs: JSON API {SHA_A}, Simple API {SHA_B}",
    )
    assert snapshot.files[0].sha256 == SHA_A


def test_files_only_in_one_api_are_problems(store: EvidenceStore) -> None:
    put_json_api(store, {"1.0": [file_entry("a.tar.gz")]})
    put_simple(store, [simple_file("z.tar.gz", provenance=None)])
    problems = load_index_snapshot(store, BASE, "demo-pkg").problems
    assert "'a.tar.gz' is in the JSON API but not in the Simple API" in problems
    assert "'z.tar.gz' is in the Simple API but not in the JSON API" in problems


@pytest.mark.parametrize(
    ("simple", "expected", "reason"),
    [
        (None, Pep740Support.UNKNOWN, "was not collected"),
        ((503, b"busy"), Pep740Support.UNKNOWN, "answered HTTP 503"),
        ((200, b"<html><a href=x>a.tar.gz</a></html>"), Pep740Support.UNKNOWN, "not JSON"),
        ((200, b'{"files": []}'), Pep740Support.UNKNOWN, "no `meta` object"),
    ],
)
def test_simple_api_failures_make_pep740_unknown(
    store: EvidenceStore,
    simple: tuple[int, bytes] | None,
    expected: Pep740Support,
    reason: str,
) -> None:
    put_json_api(store, {"1.0": [file_entry("a.tar.gz")]})
    if simple is not None:
        put(store, SIMPLE_URL, simple[1], status=simple[0])
    snapshot = load_index_snapshot(store, BASE, "demo-pkg")
    assert snapshot.pep740 is expected
    assert snapshot.pep740_reason.startswith("provenance unknown: ")
    assert reason in snapshot.pep740_reason
    assert snapshot.files[0].provenance_key is ProvenanceKey.ABSENT


def test_api_13_without_the_key_is_no(store: EvidenceStore) -> None:
    put_json_api(store, {"1.0": [file_entry("a.tar.gz")]})
    put_simple(store, [simple_file("a.tar.gz")], api="1.3")
    snapshot = load_index_snapshot(store, BASE, "demo-pkg")
    assert snapshot.pep740 is Pep740Support.NO
    assert "Simple API 1.3, no `provenance` key" in snapshot.pep740_reason


def test_key_on_a_pre_13_api_is_unknown(store: EvidenceStore) -> None:
    put_json_api(store, {"1.0": [file_entry("a.tar.gz")]})
    put_simple(store, [simple_file("a.tar.gz", provenance=None)], api="1.1")
    snapshot = load_index_snapshot(store, BASE, "demo-pkg")
    assert snapshot.pep740 is Pep740Support.UNKNOWN
    assert "predates PEP 740" in snapshot.pep740_reason


def test_mixed_key_presence_and_draft_digests(store: EvidenceStore) -> None:
    put_json_api(
        store,
        {"1.0": [file_entry("a.tar.gz"), file_entry("b.tar.gz"), file_entry("c.tar.gz")]},
    )
    put_simple(
        store,
        [
            simple_file("a.tar.gz", provenance="https://index.example/integrity/x"),
            simple_file("b.tar.gz"),
            simple_file("c.tar.gz", provenance=SHA_B),  # an old PEP 740 draft: a digest
        ],
    )
    snapshot = load_index_snapshot(store, BASE, "demo-pkg")
    assert snapshot.pep740 is Pep740Support.YES
    keys = [f.provenance_key for f in snapshot.files]
    assert keys == [ProvenanceKey.URL, ProvenanceKey.ABSENT, ProvenanceKey.ABSENT]
    assert "provenance of 'c.tar.gz' is a digest, not a URL (old PEP 740 draft)" in "\n".join(
        snapshot.problems
    )
    assert any("2 of 3 files have no `provenance` key" in p for p in snapshot.problems)


def test_order_versions_and_yanks(store: EvidenceStore) -> None:
    put_json_api(
        store,
        {
            "10.0": [file_entry("late.tar.gz", upload_time_iso_8601="2024-05-01T00:00:00.000000Z")],
            "2.0": [
                file_entry("b.tar.gz", yanked=True, yanked_reason="CVE"),
                file_entry("a.tar.gz", yanked=True, yanked_reason="CVE"),
            ],
            "1.0": [],
            "1.5": [file_entry("untimed.tar.gz", upload_time=None, upload_time_iso_8601=None)],
        },
        last_serial=42,
    )
    put_simple(
        store,
        [
            simple_file(n, provenance=None)
            for n in ("late.tar.gz", "a.tar.gz", "b.tar.gz", "untimed.tar.gz")
        ],
    )
    snapshot = load_index_snapshot(store, BASE, "demo-pkg")
    assert snapshot.versions == ("1.0", "1.5", "2.0", "10.0")
    # Upload time, then filename; unknown upload times last.
    assert [f.filename for f in snapshot.files] == [
        "a.tar.gz",
        "b.tar.gz",
        "late.tar.gz",
        "untimed.tar.gz",
    ]
    assert snapshot.files[0].yanked_reason == "CVE"
    assert snapshot.last_serial == 42
    assert snapshot.display_name == "Demo_Pkg"
    assert snapshot.json_evidence.url == JSON_URL
    assert snapshot.simple_evidence is not None


def test_missing_releases_falls_back_to_urls(store: EvidenceStore) -> None:
    put(
        store,
        JSON_URL,
        {"info": {"name": "demo-pkg", "version": "3.0"}, "urls": [file_entry("x.tar.gz")]},
    )
    put_simple(store, [simple_file("x.tar.gz", provenance=None)])
    snapshot = load_index_snapshot(store, BASE, "demo-pkg")
    assert [(f.version, f.filename) for f in snapshot.files] == [("3.0", "x.tar.gz")]
    assert snapshot.files[0].evidence.pointer == "/urls/0"
    assert "only the latest release's files are known" in snapshot.problems[0]


def test_wrong_project_in_info_is_a_problem(store: EvidenceStore) -> None:
    put(store, JSON_URL, {"info": {"name": "other"}, "releases": {}})
    put_simple(store, [])
    snapshot = load_index_snapshot(store, BASE, "demo-pkg")
    assert "JSON API `info.name` 'other' is not the project 'demo-pkg'" in snapshot.problems
