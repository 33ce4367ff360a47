"""Property-based tests of every parser of untrusted data (hypothesis).

Two properties: no exception escapes a parser except the project's own (`ForensicsError` and its
`MalformedEntry`/`NoteError`/`ValueError` contracts as documented per function), and every value
of a file entry that the index parser drops or coerces leaves a problem line naming the field.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics.collect.github import commit_url, run_url, tags_url
from forensics.collect.github_parse import load_github
from forensics.collect.pypi_parse import load_index_snapshot
from forensics.errors import ForensicsError
from forensics.evidence.store import EvidenceStore
from forensics.primitives import NoteError, ValidityWindow, parse_checkpoint
from forensics.provenance.verify import ProvenanceVerifier, log_entry_from_tle
from forensics.rekor.entry import MalformedEntry, RekorEntry, decode_body
from forensics.rekor.verify import verify_entry
from tests.collect.support import NOW
from tests.hostile.conftest import FILENAME, SHA256, Signed

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the corpus must be reproducible run to run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_COUNTER = itertools.count()

texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "\ud800",
            "a\udfff",
            "1.0",
            "2024-01-01T00:00:00Z",
            "9999-12-31T23:59:59-01:00",
            "http://[::1",
            "true",
            "",
            "0" * 64,
        ]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=16,
)


@pytest.fixture(scope="module")
def prop_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EvidenceStore]:
    with EvidenceStore.open(tmp_path_factory.mktemp("props") / "case") as s:
        yield s


def _put(store: EvidenceStore, url: str, body: Any) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    store.put_response(source="index", url=url, status=200, headers={}, body=data, retrieved_at=NOW)


# Accepted types per field of a JSON API file entry, and the word its problem line must contain.
FIELDS: dict[str, tuple[Any, str]] = {
    "filename": (lambda v: isinstance(v, str) and v != "", "filename"),
    "size": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "size"),
    "packagetype": (lambda v: v is None or isinstance(v, str), "packagetype"),
    "yanked": (lambda v: v is None or isinstance(v, bool), "yanked"),
    "yanked_reason": (lambda v: v is None or isinstance(v, str), "yanked_reason"),
    "upload_time_iso_8601": (lambda v: v is None or isinstance(v, str), "upload_time_iso_8601"),
    "upload_time": (lambda v: v is None or isinstance(v, str), "upload_time"),
    "url": (lambda v: v is None or isinstance(v, str), "url"),
    "digests": (lambda v: isinstance(v, dict) and isinstance(v.get("sha256"), str), "sha256"),
}
entries = st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS, json_values))


@SETTINGS
@given(entry=entries, key=texts)
def test_index_entry_every_drop_has_a_problem_line(
    prop_store: EvidenceStore, entry: dict[str, Any], key: str
) -> None:
    base = f"https://p{next(_COUNTER)}.index.example"
    _put(
        prop_store,
        f"{base}/pypi/demo-pkg/json",
        {"info": {"name": "demo-pkg"}, "releases": {key: [entry]}},
    )
    _put(prop_store, f"{base}/simple/demo-pkg/", {"meta": {"api-version": "1.3"}, "files": []})
    snap = load_index_snapshot(prop_store, base, "demo-pkg")
    for name, (accepted, word) in FIELDS.items():
        if name in entry and not accepted(entry[name]):
            assert any(word in p for p in snap.problems), (name, entry[name], snap.problems)
    for line in snap.problems:
        line.encode("utf-8")  # every problem line can be written out
    for f in (*snap.files, *(r.file for r in snap.rejected)):
        f.filename.encode("utf-8")
        (f.yanked_reason or "").encode("utf-8")


@SETTINGS
@given(doc=json_values)
def test_index_document_never_raises_but_forensics_errors(
    prop_store: EvidenceStore, doc: Any
) -> None:
    base = f"https://d{next(_COUNTER)}.index.example"
    _put(prop_store, f"{base}/pypi/demo-pkg/json", doc)
    _put(prop_store, f"{base}/simple/demo-pkg/", doc)
    with contextlib.suppress(ForensicsError):
        load_index_snapshot(prop_store, base, "demo-pkg")


@SETTINGS
@given(commit=json_values, run=json_values, tags=json_values)
def test_github_answers_never_raise(
    prop_store: EvidenceStore, commit: Any, run: Any, tags: Any
) -> None:
    base = f"https://g{next(_COUNTER)}.github.example"
    _put(prop_store, commit_url(base, "o/r", "c" * 40), commit)
    _put(prop_store, run_url(base, "o/r", 1), run)
    _put(prop_store, tags_url(base, "o/r"), tags)
    view = load_github(prop_store, base, [("o/r", "c" * 40)], [("o/r", 1)], ["o/r"])
    "\n".join(view.problems).encode("utf-8")


@SETTINGS
@given(doc=json_values)
def test_log_entries_raise_only_malformed_entry(signed: Signed, doc: Any) -> None:
    try:
        entry = RekorEntry.parse(doc)
    except MalformedEntry:
        return
    entry.to_log_entry()
    verify_entry(entry, signed.material().log_keys)


@SETTINGS
@given(doc=json_values)
def test_bundle_entries_never_raise(doc: Any) -> None:
    entry, why = log_entry_from_tle(doc)
    assert (entry is None) == bool(why)


@SETTINGS
@given(doc=json_values)
def test_entry_bodies_raise_only_malformed_entry(doc: Any) -> None:
    with contextlib.suppress(MalformedEntry):
        decode_body(json.dumps(doc).encode())


@SETTINGS
@given(text=st.text(max_size=200) | st.sampled_from(["o\n1\nAA==\n\n— x AAAAAAA=\n"]))
def test_checkpoints_raise_only_note_error(text: str) -> None:
    with contextlib.suppress(NoteError):
        parse_checkpoint(text)


@SETTINGS
@given(doc=json_values)
def test_validity_windows_raise_only_value_error(doc: Any) -> None:
    with contextlib.suppress(ValueError):
        ValidityWindow.from_json(doc, "x")


@SETTINGS
@given(doc=json_values)
def test_provenance_objects_always_get_a_verdict(signed: Signed, doc: Any) -> None:
    verifier = _verifier(signed)
    fp = verifier.verify_provenance(json.dumps(doc).encode(), filename=FILENAME, sha256=SHA256)
    assert fp.reason


_VERIFIERS: dict[int, ProvenanceVerifier] = {}


def _verifier(signed: Signed) -> ProvenanceVerifier:
    return _VERIFIERS.setdefault(id(signed), ProvenanceVerifier(signed.material()))


@SETTINGS
@given(doc=json_values)
def test_log_info_raises_only_malformed_entry(doc: Any) -> None:
    from forensics.rekor.entry import LogInfo

    with contextlib.suppress(MalformedEntry):
        info = LogInfo.from_json(doc)
        info.shard_offsets()
