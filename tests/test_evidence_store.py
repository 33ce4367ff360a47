"""The evidence store: content addressing, atomic writes, resume, integrity verification."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from forensics.cli import main
from forensics.errors import CaseIntegrityError, EvidenceError
from forensics.evidence import NO_ANSWER, CaseMeta, EvidenceStore, is_definitive

T = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def test_responses_are_content_addressed_and_deduplicated(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path) as store:
        a = store.put_response(
            source="index",
            url="https://x/a",
            status=200,
            headers={"Content-Type": "application/json", "Set-Cookie": "s=1"},
            body=b'{"a": 1}',
            retrieved_at=T,
        )
        b = store.put_response(
            source="index",
            url="https://x/b",
            status=200,
            headers={},
            body=b'{"a": 1}',
            retrieved_at=T + timedelta(seconds=1),
        )
        assert a.sha256 == b.sha256 == hashlib.sha256(b'{"a": 1}').hexdigest()
        assert len(list((tmp_path / "blobs").glob("*/*"))) == 1
        assert a.headers == {"content-type": "application/json"}  # cookies are not evidence
        assert store.latest("https://x/a").json() == {"a": 1}  # type: ignore[union-attr]
        assert store.latest("https://x/a").retrieved_at == T  # type: ignore[union-attr]
        assert a.evidence("/releases").pointer == "/releases"
        assert store.last_retrieval() == T + timedelta(seconds=1)


def test_post_requests_are_keyed_by_body(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path) as store:
        store.put_response(
            source="rekor",
            url="https://r/search",
            method="POST",
            request_body=b"1",
            status=200,
            headers={},
            body=b"[1]",
            retrieved_at=T,
        )
        store.put_response(
            source="rekor",
            url="https://r/search",
            method="POST",
            request_body=b"2",
            status=200,
            headers={},
            body=b"[2]",
            retrieved_at=T,
        )
        assert store.latest("https://r/search", method="POST", request_body=b"1").body() == b"[1]"  # type: ignore[union-attr]
        assert store.latest("https://r/search") is None


def test_resume_keeps_unfinished_collection(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path) as store:
        first = store.begin_collection(T)
        store.put_response(
            source="index", url="https://x/a", status=200, headers={}, body=b"1", retrieved_at=T
        )
    with EvidenceStore.open(tmp_path) as store:  # "crash" and reopen
        assert store.begin_collection(T) == first
        assert store.in_current_collection("https://x/a") is not None
        store.finish_collection(T)
        second = store.begin_collection(T + timedelta(days=1))
        assert second != first
        assert store.in_current_collection("https://x/a") is None


def test_verify_reports_altered_and_missing_blobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with EvidenceStore.open(tmp_path) as store:
        store.write_meta(CaseMeta(project="demo"))
        store.begin_collection(T)
        a = store.put_response(
            source="index", url="https://x/a", status=200, headers={}, body=b"AAA", retrieved_at=T
        )
        b = store.put_response(
            source="index", url="https://x/b", status=200, headers={}, body=b"BBB", retrieved_at=T
        )
        store.finish_collection(T)
        assert store.check().ok
    assert main(["case", "verify", str(tmp_path)]) == 0
    assert "intact" in capsys.readouterr().out

    (tmp_path / "blobs" / a.sha256[:2] / a.sha256).write_bytes(b"AAB")
    (tmp_path / "blobs" / b.sha256[:2] / b.sha256).unlink()
    with EvidenceStore.open(tmp_path) as store:
        report = store.check()
        assert [(c.kind, c.subject) for c in report.changes] == [
            ("blob-altered", f"blob {a.sha256}"),
            ("blob-missing", f"blob {b.sha256}"),
        ]
        with pytest.raises(CaseIntegrityError, match="altered"):
            store.blob(a.sha256)
        with pytest.raises(CaseIntegrityError, match="missing"):
            store.blob(b.sha256)
    assert main(["case", "verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"BLOB-ALTERED       blob {a.sha256}" in out
    assert f"BLOB-MISSING       blob {b.sha256}" in out and "TAMPERED" in out


def test_not_a_case_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(EvidenceError, match="not a case directory"):
        EvidenceStore.open(tmp_path / "nope", create=False)
    assert main(["case", "verify", str(tmp_path / "nope")]) == 2
    assert "error[evidence-store]" in capsys.readouterr().err


def test_hostile_digest_is_refused(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path) as store, pytest.raises(EvidenceError, match="not a sha256"):
        store.blob("../../etc/passwd")


def _put(store: EvidenceStore, status: int, body: bytes, when: datetime) -> None:
    store.put_response(
        source="index", url="https://x/a", status=status, headers={}, body=body, retrieved_at=when
    )


@pytest.mark.parametrize("failure", [NO_ANSWER, 403, 408, 425, 429, 500, 502, 503, 504])
def test_a_failure_never_hides_an_earlier_definitive_answer(tmp_path: Path, failure: int) -> None:
    with EvidenceStore.open(tmp_path) as store:
        _put(store, 200, b"good", T)
        _put(store, failure, b"outage", T + timedelta(hours=1))
        got = store.latest("https://x/a")
        assert got is not None and (got.status, got.body()) == (200, b"good")
        assert not is_definitive(failure)


@pytest.mark.parametrize("answer", [200, 301, 404, 410, 400])
def test_a_newer_definitive_answer_replaces_an_older_one(tmp_path: Path, answer: int) -> None:
    with EvidenceStore.open(tmp_path) as store:
        _put(store, 200, b"old", T)
        _put(store, 503, b"outage", T + timedelta(hours=1))
        _put(store, answer, b"new", T + timedelta(hours=2))
        _put(store, NO_ANSWER, b"refused", T + timedelta(hours=3))
        got = store.latest("https://x/a")
        assert got is not None and (got.status, got.body()) == (answer, b"new")


def test_only_failures_give_the_newest_failure(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path) as store:
        _put(store, NO_ANSWER, b"refused", T)
        _put(store, 503, b"busy", T + timedelta(hours=1))
        got = store.latest("https://x/a")
        assert got is not None and got.status == 503  # the outage is still reported


def test_as_of_cuts_off_later_evidence(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path) as store:
        _put(store, 200, b"first", T)
        _put(store, 200, b"second", T + timedelta(days=1))
        assert store.latest("https://x/a").body() == b"second"  # type: ignore[union-attr]
        assert store.latest("https://x/a", as_of=T).body() == b"first"  # type: ignore[union-attr]
        view = store.at(T + timedelta(hours=1))
        assert view.latest("https://x/a").body() == b"first"  # type: ignore[union-attr]
        assert [r.body() for r in view.responses()] == [b"first"]
        assert view.latest("https://x/a", as_of=T - timedelta(seconds=1)) is None
        assert store.at(None) is store
        view.close()  # a view never closes its owner's connection
        assert store.retrieval_span() == (T, T + timedelta(days=1))


def test_a_killed_collection_is_incomplete_until_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with EvidenceStore.open(tmp_path) as store:
        store.write_meta(CaseMeta(project="demo"))
        store.begin_collection(T)
        _put(store, 200, b"one", T)
        store.finish_collection(T)
        sealed = store.case_digest()
        assert store.check().ok
        second = store.begin_collection(T + timedelta(days=1))
        _put(store, 200, b"two", T + timedelta(days=1))
        # killed here: no finish_collection
    with EvidenceStore.open(tmp_path) as store:
        check = store.check()
        assert check.state == "incomplete" and check.sealed_digest == sealed
        assert [c.kind for c in check.changes] == ["incomplete", "uncommitted", "uncommitted"]
    assert main(["case", "verify", str(tmp_path)]) == 1
    assert "INCOMPLETE" in capsys.readouterr().out
    assert main(["investigate", "demo", "--case", str(tmp_path), "--offline"]) == 2
    err = capsys.readouterr().err
    assert "does not verify (incomplete)" in err and "resume" in err
    with EvidenceStore.open(tmp_path) as store:
        assert store.begin_collection(T + timedelta(days=2)) == second  # resumed
        store.finish_collection(T + timedelta(days=2))
        check = store.check()
        assert check.ok and check.digest != sealed and check.sealed_digest == check.digest


def test_killed_between_manifest_and_finish_resumes_cleanly(tmp_path: Path) -> None:
    """The one window where the manifest is ahead of the index: still `incomplete`."""
    with EvidenceStore.open(tmp_path) as store:
        cid = store.begin_collection(T)
        _put(store, 200, b"one", T)
        # what finish_collection does before it marks the collection finished
        store._write_manifest(store.content(finished={cid: "2026-01-02T03:04:06Z"}))
    with EvidenceStore.open(tmp_path) as store:
        assert store.check().state == "incomplete"
        store.begin_collection(T)
        store.finish_collection(T + timedelta(seconds=1))
        assert store.check().ok


def test_write_meta_reseals_but_never_launders_a_tamper(tmp_path: Path) -> None:
    import sqlite3

    with EvidenceStore.open(tmp_path) as store:
        store.write_meta(CaseMeta(project="demo"))
        store.begin_collection(T)
        _put(store, 200, b"one", T)
        store.finish_collection(T)
        store.write_meta(CaseMeta(project="demo", simulated=True, notes=("lab",)))
        assert store.check().ok  # metadata written outside a collection is sealed with it
        with sqlite3.connect(tmp_path / "index.sqlite") as conn:
            conn.execute("UPDATE responses SET status = 404")
        with pytest.raises(CaseIntegrityError, match="altered since it was sealed"):
            store.write_meta(CaseMeta(project="demo"))
        assert store.read_meta() == CaseMeta(project="demo", simulated=True, notes=("lab",))


def test_digest_is_independent_of_case_json_layout_and_outside_files(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path) as store:
        store.write_meta(CaseMeta(project="demo"))
        store.begin_collection(T)
        _put(store, 200, b"one", T)
        store.finish_collection(T)
        digest = store.case_digest()
        (tmp_path / "case.json").write_text(
            json.dumps(json.loads((tmp_path / "case.json").read_text()))
        )
        (tmp_path / "cache").mkdir()
        (tmp_path / "cache" / "verdicts.sqlite").write_bytes(b"derived")
        assert store.case_digest() == digest and store.check().ok


def test_a_first_collection_killed_before_sealing_is_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with EvidenceStore.open(tmp_path) as store:
        store.write_meta(CaseMeta(project="demo"))
        store.begin_collection(T)
        _put(store, 200, b"one", T)
    assert main(["investigate", "demo", "--case", str(tmp_path), "--offline"]) == 2
    err = capsys.readouterr().err
    assert "does not verify (incomplete)" in err and "resume" in err
    with EvidenceStore.open(tmp_path) as store:
        with pytest.raises(CaseIntegrityError, match="cannot be sealed as it is"):
            store.upgrade()
        store.begin_collection(T)
        store.finish_collection(T)
        assert store.check().ok


def test_case_digest_is_the_rfc6962_root_of_the_leaf_encodings() -> None:
    from forensics.evidence import CaseContent

    def h(prefix: bytes, *parts: bytes) -> bytes:
        return hashlib.sha256(prefix + b"".join(parts)).digest()

    content = CaseContent(case_json={"project": "p"}, blobs={"a" * 64: 1, "b" * 64: 2})
    l0, l1, l2 = (h(b"\x00", leaf) for leaf in content.leaves())
    assert content.leaves()[0] == b'{"content":{"project":"p"},"kind":"case.json"}'
    assert content.digest() == h(b"\x01", h(b"\x01", l0, l1), l2).hex()
    assert (
        CaseContent(case_json=None).digest()
        == h(b"\x00", b'{"content":null,"kind":"case.json"}').hex()
    )


def test_a_collection_sealed_while_open_is_partial_and_analysable(tmp_path: Path) -> None:
    """A collection that ended with requests unanswered (a source down) is sealed as it is:
    `partial`, accepted by offline analysis (which says so), refused for signing."""
    with EvidenceStore.open(tmp_path) as store:
        store.write_meta(CaseMeta(project="demo"))
        cid = store.begin_collection(T)
        _put(store, 200, b"one", T)
        _put(store, NO_ANSWER, b"log unreachable", T)
        store.checkpoint_collection()
        check = store.check()
        assert check.state == "partial" and not check.ok
        assert [c.kind for c in check.changes] == ["partial"]
        assert store.require_intact(allow_partial=True) is not None
        with pytest.raises(CaseIntegrityError, match="does not verify \\(partial\\)"):
            store.require_intact()
        assert not store.complete()
    with EvidenceStore.open(tmp_path) as store:  # killed while resuming: incomplete again
        assert store.begin_collection(T + timedelta(days=1)) == cid
        _put(store, 200, b"two", T + timedelta(days=1))
        assert store.check().state == "incomplete"
        with pytest.raises(CaseIntegrityError, match="incomplete"):
            store.require_intact(allow_partial=True)
        store.finish_collection(T + timedelta(days=1))
        assert store.check().ok and store.complete()


def _search(store: EvidenceStore, url: str, body: bytes, when: datetime = T) -> object:
    return store.put_response(
        source="rekor",
        url=url,
        method="POST",
        request_body=b'{"q": 1}',
        status=200,
        headers={"ETag": '"e"', "X-Trace": "t"},
        body=body,
        retrieved_at=when,
    )


def test_a_stored_answer_is_returned_as_a_read_returns_it(tmp_path: Path) -> None:
    # put_response builds its answer from the values it wrote instead of selecting them back
    with EvidenceStore.open(tmp_path) as store:
        written = _search(store, "https://r/search", b"[1]")
        assert written == store.latest("https://r/search", method="POST", request_body=b'{"q": 1}')


def test_might_hold_is_exact_during_a_collection(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path) as store:
        _search(store, "https://r/old", b"[0]")
    with EvidenceStore.open(tmp_path) as store:
        # no collection open: unknown, so the caller looks it up
        assert store.might_hold("https://r/never")
        store.begin_collection(T)
        assert store.might_hold("https://r/old", method="POST", request_body=b'{"q": 1}')
        assert not store.might_hold("https://r/old")  # a GET is another request
        assert not store.might_hold("https://r/new", method="POST", request_body=b'{"q": 1}')
        _search(store, "https://r/new", b"[2]")
        assert store.might_hold("https://r/new", method="POST", request_body=b'{"q": 1}')


def test_commits_keep_one_journal_file_and_a_closed_case_holds_only_its_layout(
    tmp_path: Path,
) -> None:
    # TRUNCATE journal: a commit does not create and delete a journal file (on ext4 every deleted
    # inode slows the allocation of the next ones), and close() removes it.
    journal = tmp_path / "index.sqlite-journal"
    with EvidenceStore.open(tmp_path) as store:
        store.begin_collection(T)
        with store.transaction():
            _search(store, "https://r/a", b"[1]")
        first = journal.stat().st_ino
        with store.transaction():
            _search(store, "https://r/b", b"[2]")
        assert journal.stat().st_ino == first and journal.stat().st_size == 0
        store.finish_collection(T)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blobs", "index.sqlite", "manifest.json"]
    with EvidenceStore.open(tmp_path, create=False) as store:
        assert store.check().state == "intact"


def test_a_view_reads_its_rows_once_and_a_new_view_sees_later_ones(tmp_path: Path) -> None:
    """`at()` views answer from the rows they read at their first lookup (a consistent
    snapshot for one analysis); the store itself and a view made later see new rows."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with EvidenceStore.open(tmp_path / "case") as store:
        store.put_response(
            source="index", url="https://x/a", status=200, headers={}, body=b"1", retrieved_at=t0
        )
        view = store.at(t0 + timedelta(days=1))
        first = view.latest("https://x/a")
        assert first is not None and first.body() == b"1"
        store.put_response(
            source="index",
            url="https://x/a",
            status=200,
            headers={},
            body=b"2",
            retrieved_at=t0 + timedelta(hours=1),
        )
        held = view.latest("https://x/a")
        assert held is not None and held.body() == b"1"  # the view's snapshot
        later = store.at(t0 + timedelta(days=1)).latest("https://x/a")
        assert later is not None and later.body() == b"2"
        assert store.latest("https://x/a") == later
        # the cut-off still applies inside a snapshot
        early = store.at(t0 + timedelta(minutes=30)).latest("https://x/a")
        assert early is not None and early.body() == b"1"
