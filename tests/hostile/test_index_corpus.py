"""Hostile index answers (JSON API + Simple API): each input has one specific, asserted outcome.

The outcome is either the problem line the parser must leave (the value is kept, escaped, coerced
or dropped, and the report says so), a rejected file with its reason, or the specific error for a
document that cannot be used at all. Never a traceback, never a silent drop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from forensics.collect.pypi_parse import IndexSnapshot, load_index_snapshot
from forensics.errors import SourceResponseError
from forensics.evidence.store import EvidenceStore
from forensics.models import Pep740Support
from tests.collect.support import NOW

SHA_A, SHA_B = "a" * 64, "b" * 64
SDIST = "demo_pkg-1.0.tar.gz"
LONE = "\ud800"
DEEP = b'{"a":' * 200 + b"1" + b"}" * 200


def entry(name: str = SDIST, sha: str = SHA_A, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "filename": name,
        "digests": {"sha256": sha},
        "size": 10,
        "packagetype": "sdist",
        "upload_time": "2024-01-01T10:00:00",
        "upload_time_iso_8601": "2024-01-01T10:00:00Z",
        "url": f"https://files.example/{name}",
        "yanked": False,
        "yanked_reason": None,
    }
    out.update(extra)
    return {k: v for k, v in out.items() if v is not DROP}


DROP = object()


def simple(name: str = SDIST, sha: str = SHA_A, **extra: Any) -> dict[str, Any]:
    return {"filename": name, "hashes": {"sha256": sha}, "url": f"https://f/{name}", **extra}


def dumps(value: Any) -> bytes:
    # ensure_ascii keeps lone surrogates as \ud800 escapes, exactly as a hostile server sends them
    return value if isinstance(value, bytes) else json.dumps(value).encode()


@dataclass
class Case:
    """One hostile index: the JSON API document, the Simple API document, the expected outcome."""

    id: str
    releases: Any = None
    simple_files: Any = None
    doc: dict[str, Any] = field(default_factory=dict)
    json_body: bytes | None = None
    simple_body: bytes | None = None
    problem: str = ""
    """A fragment one problem line must contain ('' when none is expected)."""
    error: str = ""
    """A fragment of the SourceResponseError message, when the document is unusable."""
    check: Callable[[IndexSnapshot], bool] | None = None


def one(snap: IndexSnapshot) -> Any:
    (f,) = snap.files
    return f


CASES: list[Case] = [
    # -- types: every value dropped or coerced leaves a problem line
    Case(
        "upload_time-number",
        {"1.0": [entry(upload_time=1700000000, upload_time_iso_8601=None)]},
        problem="upload_time 1700000000 is a int, not a timestamp string; dropped",
        check=lambda s: one(s).upload_time is None,
    ),
    Case(
        "iso-number",
        {"1.0": [entry(upload_time_iso_8601=1.5)]},
        problem="upload_time_iso_8601 1.5 is a float, not a timestamp string; dropped",
        check=lambda s: one(s).upload_time is not None,
    ),
    Case(
        "iso-list",
        {"1.0": [entry(upload_time_iso_8601=[], upload_time=DROP)]},
        problem="upload_time_iso_8601 [] is a list",
    ),
    Case(
        "iso-garbage",
        {"1.0": [entry(upload_time_iso_8601="yesterday")]},
        problem="upload_time_iso_8601 'yesterday' is not a usable timestamp",
    ),
    Case(
        "iso-overflow-high",
        {"1.0": [entry(upload_time_iso_8601="9999-12-31T23:59:59-01:00", upload_time=DROP)]},
        problem="is outside the range of dates",
        check=lambda s: one(s).upload_time is None,
    ),
    Case(
        "iso-overflow-low",
        {"1.0": [entry(upload_time_iso_8601="0001-01-01T00:00:00+01:00", upload_time=DROP)]},
        problem="is outside the range of dates",
    ),
    Case(
        "iso-year-9999",
        {"1.0": [entry(upload_time_iso_8601="9999-12-31T23:59:59Z", upload_time=DROP)]},
        problem="is outside the accepted range",
    ),
    Case(
        "iso-before-1970",
        {"1.0": [entry(upload_time_iso_8601="1969-12-31T23:59:59Z", upload_time=DROP)]},
        problem="1969-12-31T23:59:59Z is outside the accepted range",
    ),
    Case(
        "naive-overflow",
        {"1.0": [entry(upload_time_iso_8601=DROP, upload_time="9999-12-31")]},
        problem="upload_time '9999-12-31' is not a usable timestamp",
    ),
    Case(
        "no-upload-time",
        {"1.0": [entry(upload_time_iso_8601=DROP, upload_time=DROP)]},
        problem="no upload time",
    ),
    Case(
        "yanked-string-true",
        {"1.0": [entry(yanked="true")]},
        problem="yanked 'true' is a string, not a boolean; read as such",
        check=lambda s: one(s).yanked is True,
    ),
    Case(
        "yanked-string-false",
        {"1.0": [entry(yanked="False")]},
        problem="yanked 'False' is a string",
        check=lambda s: one(s).yanked is False,
    ),
    Case(
        "yanked-number",
        {"1.0": [entry(yanked=1)]},
        problem="yanked 1 is a int, not a boolean; yank state unknown",
    ),
    Case("yanked-word", {"1.0": [entry(yanked="yes")]}, problem="yanked 'yes' is a str"),
    Case("yanked-object", {"1.0": [entry(yanked={})]}, problem="yanked {} is a dict"),
    Case(
        "yanked-reason-number",
        {"1.0": [entry(yanked=True, yanked_reason=5)]},
        problem="yanked_reason 5 is not a string; dropped",
        check=lambda s: one(s).yanked_reason is None,
    ),
    Case("size-string", {"1.0": [entry(size="10")]}, problem="size '10' is not a byte count"),
    Case("size-negative", {"1.0": [entry(size=-1)]}, problem="size -1 is not a byte count"),
    Case("size-bool", {"1.0": [entry(size=True)]}, problem="size True is not a byte count"),
    Case("size-float", {"1.0": [entry(size=1.5)]}, problem="size 1.5 is not a byte count"),
    Case("size-missing", {"1.0": [entry(size=DROP)]}, problem="size None is not a byte count"),
    Case(
        "packagetype-number",
        {"1.0": [entry(packagetype=5)]},
        problem="packagetype 5 is not a string; dropped",
    ),
    Case("digests-string", {"1.0": [entry(digests="abc")]}, problem="no valid sha256 digest"),
    Case(
        "digest-short",
        {"1.0": [entry(digests={"sha256": "zz"})]},
        problem="no valid sha256 digest ('zz')",
    ),
    Case(
        "digest-number",
        {"1.0": [entry(digests={"sha256": 5})]},
        problem="no valid sha256 digest (5)",
    ),
    Case(
        "url-ipv6",
        {"1.0": [entry(url="http://[::1/x.tar.gz")]},
        problem="is not a valid URL (Invalid IPv6 URL); dropped",
    ),
    Case("url-number", {"1.0": [entry(url=5)]}, problem="url 5 is a int; dropped"),
    Case("url-empty", {"1.0": [entry(url="")]}, problem="no download url"),
    Case(
        "filename-missing",
        {"1.0": [entry(filename=DROP, url="https://f/demo_pkg-1.0.tar.gz")]},
        problem="no filename; using 'demo_pkg-1.0.tar.gz' from its url",
    ),
    Case(
        "filename-number",
        {"1.0": [entry(filename=7)]},
        problem="filename 7 is not a string; dropped",
    ),
    Case(
        "filename-and-url-missing",
        {"1.0": [entry(filename=DROP, url=DROP)]},
        problem="no filename and no url",
    ),
    Case(
        "entry-string",
        {"1.0": ["demo_pkg-1.0.tar.gz"]},
        problem="/releases/1.0/0: file entry is a str, ignored",
    ),
    Case("entry-null", {"1.0": [None]}, problem="file entry is a NoneType, ignored"),
    Case("file-list-object", {"1.0": {"a": 1}}, problem="release '1.0': file list is a dict"),
    Case(
        "yank-disagreement",
        {"1.0": [entry(), entry("demo_pkg-1.0-py3-none-any.whl", yanked=True)]},
        problem="release '1.0': files disagree on yanked/yanked_reason",
    ),
    # -- text no encoder can write: kept escaped, with a problem line
    Case(
        "filename-surrogate",
        {"1.0": [entry(f"demo_pkg-1.0{LONE}.tar.gz")]},
        problem="holds code points no encoding can write",
        check=lambda s: all("\\ud800" in f.filename for f in s.files),
    ),
    Case(
        "yank-reason-surrogate",
        {"1.0": [entry(yanked=True, yanked_reason=f"bad {LONE}")]},
        problem="yanked_reason: 'bad \\ud800' holds code points",
        check=lambda s: one(s).yanked_reason == "bad \\ud800",
    ),
    Case(
        "url-surrogate",
        {"1.0": [entry(url=f"https://f/{LONE}")]},
        problem="url: 'https://f/\\ud800' holds code points",
    ),
    Case(
        "info-name-surrogate",
        {"1.0": [entry()]},
        doc={"info": {"name": f"demo{LONE}"}},
        problem="JSON API `info.name`: 'demo\\ud800' holds code points",
    ),
    Case(
        "release-key-surrogate",
        {f"1.0{LONE}": []},
        problem="release key '1.0\\ud800': '1.0\\ud800' holds code points",
        check=lambda s: "1.0\\ud800" in s.versions,
    ),
    # -- attribution by (version, filename, digest)
    Case(
        "foreign-version",
        {"1.0": [entry("demo_pkg-2.0.tar.gz")], "2.0": []},
        problem="listed under release '1.0' but its filename is version 2.0",
        check=lambda s: not s.files and len(s.rejected) == 1,
    ),
    Case(
        "foreign-project",
        {"1.0": [entry("other-1.0.tar.gz")]},
        problem="its filename names project 'other', not 'demo-pkg'",
        check=lambda s: not s.files,
    ),
    Case(
        "non-pep440-key",
        {"latest": [entry()]},
        problem="it is listed under 'latest', which is not a PEP 440 version (the file is 1.0)",
        check=lambda s: not s.files and s.versions == ("latest",),
    ),
    Case(
        "foreign-wheel",
        {"1.0": [entry("demo_pkg-1.1-py3-none-any.whl")]},
        problem="but its filename is version 1.1",
    ),
    Case(
        "normalised-version-ok",
        {"1.0.0": [entry("demo_pkg-1.0.tar.gz")]},
        check=lambda s: len(s.files) == 1 and not s.rejected,
    ),
    Case(
        "legacy-egg-accepted",
        {"1.0": [entry("demo_pkg-1.0-py2.7.egg")]},
        simple_files=[simple("demo_pkg-1.0-py2.7.egg")],
        check=lambda s: len(s.files) == 1 and not s.problems,
    ),
    Case(
        "duplicate-across-releases",
        {"1.0": [entry(sha=SHA_A)], "1.0.0": [entry(sha=SHA_B)]},
        simple_files=[simple(sha=SHA_B)],
        problem="the entry under release '1.0' with sha256 " + SHA_A + " is ignored",
        check=lambda s: one(s).sha256 == SHA_B and one(s).version == "1.0.0",
    ),
    Case(
        "duplicate-same-release",
        {"1.0": [entry(sha=SHA_A), entry(sha=SHA_B)]},
        simple_files=[simple(sha=SHA_A)],
        problem="JSON API lists 'demo_pkg-1.0.tar.gz' more than once",
        check=lambda s: one(s).sha256 == SHA_A and len(s.rejected) == 1,
    ),
    Case(
        "duplicate-no-simple-first-kept",
        {"1.0": [entry(sha=SHA_A), entry(sha=SHA_B)]},
        simple_files=[],
        problem="with sha256 " + SHA_B + " is ignored",
        check=lambda s: one(s).sha256 == SHA_A,
    ),
    Case(
        "filename-too-long",
        {"1.0": [entry("demo_pkg-1.0" + "x" * 5000 + ".tar.gz")]},
        problem="not attributed: a filename of 5019 characters (PyPI allows 255)",
        check=lambda s: not s.files and all(len(p) < 400 for p in s.problems[-1:]),
    ),
    # -- document level
    Case(
        "no-releases-key",
        None,
        doc={"urls": [entry()], "info": {"name": "demo-pkg", "version": "1.0"}},
        problem="no `releases` key; only the latest release's files are known",
    ),
    Case(
        "no-info",
        {"1.0": [entry()]},
        doc={"info": None},
        problem="JSON API response has no `info` object",
    ),
    Case(
        "info-other-project",
        {"1.0": [entry()]},
        doc={"info": {"name": "other"}},
        problem="JSON API `info.name` 'other' is not the project 'demo-pkg'",
    ),
    Case(
        "last-serial-string",
        {"1.0": [entry()]},
        doc={"last_serial": "5"},
        problem="last_serial '5' is not an integer; dropped",
        check=lambda s: s.last_serial is None,
    ),
    Case(
        "last-serial-bool",
        {"1.0": [entry()]},
        doc={"last_serial": True},
        problem="last_serial True is not an integer",
    ),
    Case("deep-json-api", json_body=DEEP, error="nested deeper than 64 levels"),
    Case(
        "deep-inside-a-field",
        json_body=b'{"releases":{"1.0":[{"digests":' + b"[" * 100 + b"]" * 100 + b"}]}}",
        error="nested deeper than 64 levels",
    ),
    Case("json-api-not-utf8", json_body=b'{"info": "\xff"}', error="not UTF-8 text"),
    Case(
        "json-api-huge-int",
        json_body=b'{"last_serial": ' + b"9" * 5000 + b"}",
        error="is not usable JSON",
    ),
    Case("json-api-list", json_body=b"[]", error="is a list, not an object"),
    Case("json-api-empty", json_body=b"", error="is not valid JSON: line 1 column 1"),
    Case("json-api-no-releases-no-urls", json_body=b'{"info": {}}', error="no usable `releases`"),
    # -- Simple API
    Case(
        "simple-deep",
        {"1.0": [entry()]},
        simple_body=DEEP,
        check=lambda s: (
            s.pep740 is Pep740Support.UNKNOWN and "nested deeper than 64 levels" in s.pep740_reason
        ),
    ),
    Case(
        "simple-not-json",
        {"1.0": [entry()]},
        simple_body=b"<html>",
        check=lambda s: "the Simple API response is not JSON" in s.pep740_reason,
    ),
    Case(
        "simple-no-meta",
        {"1.0": [entry()]},
        simple_body=b'{"files": []}',
        check=lambda s: "has no `meta` object or `files` list" in s.pep740_reason,
    ),
    Case(
        "simple-files-object",
        {"1.0": [entry()]},
        simple_body=b'{"meta": {"api-version": "1.3"}, "files": {}}',
        check=lambda s: s.pep740 is Pep740Support.UNKNOWN,
    ),
    Case(
        "simple-api-version-number",
        {"1.0": [entry()]},
        simple_body=b'{"meta": {"api-version": 1.3}, "files": []}',
        problem="Simple API meta.api-version 1.3 is not a string",
    ),
    Case(
        "simple-provenance-ipv6",
        {"1.0": [entry()]},
        simple_files=[simple(provenance="http://[::1/prov")],
        problem="Simple API: provenance of 'demo_pkg-1.0.tar.gz': url 'http://[::1/prov' is not "
        "a valid URL",
        check=lambda s: one(s).provenance_url is None,
    ),
    Case(
        "simple-provenance-number",
        {"1.0": [entry()]},
        simple_files=[simple(provenance=5)],
        problem="provenance of 'demo_pkg-1.0.tar.gz' is neither a URL nor null",
    ),
    Case(
        "simple-provenance-digest",
        {"1.0": [entry()]},
        simple_files=[simple(provenance=SHA_A)],
        problem="is a digest, not a URL",
    ),
    Case(
        "simple-sha-number",
        {"1.0": [entry()]},
        simple_files=[{"filename": SDIST, "hashes": {"sha256": 5}}],
        problem="Simple API: sha256 of 'demo_pkg-1.0.tar.gz' is 5, not a digest; dropped",
    ),
    Case(
        "simple-no-filename",
        {"1.0": [entry()]},
        simple_files=[{"hashes": {}}, simple()],
        problem="Simple API files[0] has no filename; it cannot be joined",
    ),
    Case(
        "simple-duplicate",
        {"1.0": [entry()]},
        simple_files=[simple(provenance=None), simple(sha=SHA_B, provenance="https://x/p")],
        problem="Simple API lists 'demo_pkg-1.0.tar.gz' more than once; the first entry is used",
        check=lambda s: one(s).provenance_url is None,
    ),
    Case(
        "simple-sha-differs",
        {"1.0": [entry()]},
        simple_files=[simple(sha=SHA_B)],
        problem="sha256 of 'demo_pkg-1.0.tar.gz' differs: JSON API " + SHA_A,
    ),
    Case(
        "simple-filename-surrogate",
        {"1.0": [entry()]},
        simple_files=[simple(), simple(f"x{LONE}.tar.gz")],
        problem="Simple API files[1] filename: 'x\\ud800.tar.gz' holds code points",
    ),
    Case(
        "simple-only-file",
        {"1.0": [entry()]},
        simple_files=[simple(), simple("extra.tar.gz")],
        problem="'extra.tar.gz' is in the Simple API but not in the JSON API",
    ),
    Case(
        "json-only-file",
        {"1.0": [entry()]},
        simple_files=[],
        problem="'demo_pkg-1.0.tar.gz' is in the JSON API but not in the Simple API",
    ),
    Case(
        "matplotlib-math-version-kept-raw",
        {"$\\alpha$": []},
        check=lambda s: s.versions == ("$\\alpha$",),
    ),
]


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EvidenceStore]:
    # One case store for the whole corpus (each input under its own index URL): keeps it fast.
    with EvidenceStore.open(tmp_path_factory.mktemp("index") / "case") as s:
        yield s


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_index(shared_store: EvidenceStore, case: Case) -> None:
    store = shared_store
    base = f"https://{case.id}.index.example"
    json_url, simple_url = f"{base}/pypi/demo-pkg/json", f"{base}/simple/demo-pkg/"
    if case.json_body is not None:
        body = case.json_body
    else:
        doc = {"info": {"name": "demo-pkg"}, "releases": case.releases, **case.doc}
        if case.releases is None:
            doc.pop("releases")
        body = dumps(doc)
    store.put_response(
        source="index", url=json_url, status=200, headers={}, body=body, retrieved_at=NOW
    )
    if case.simple_body is not None:
        simple_body = case.simple_body
    else:
        files = case.simple_files if case.simple_files is not None else [simple()]
        simple_body = dumps({"meta": {"api-version": "1.3"}, "files": files})
    store.put_response(
        source="index", url=simple_url, status=200, headers={}, body=simple_body, retrieved_at=NOW
    )
    if case.error:
        with pytest.raises(SourceResponseError) as info:
            load_index_snapshot(store, base, "demo-pkg")
        assert case.error in info.value.message
        return
    snap = load_index_snapshot(store, base, "demo-pkg")
    if case.problem:
        assert any(case.problem in p for p in snap.problems), snap.problems
    if case.check is not None:
        assert case.check(snap), snap
    # Whatever was kept can be written by any renderer: no lone surrogate survives parsing.
    json.dumps([f.__dict__ for f in snap.files], default=str).encode("utf-8")
    "\n".join(snap.problems).encode("utf-8")
