"""The evidence store: content addressing, atomic writes, resume, integrity verification."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from forensics.cli import main
from forensics.errors import CaseIntegrityError, EvidenceError
from forensics.evidence import CaseMeta, EvidenceStore

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
        a = store.put_response(
            source="index", url="https://x/a", status=200, headers={}, body=b"AAA", retrieved_at=T
        )
        b = store.put_response(
            source="index", url="https://x/b", status=200, headers={}, body=b"BBB", retrieved_at=T
        )
        assert store.verify().ok
    assert main(["case", "verify", str(tmp_path)]) == 0
    assert "intact" in capsys.readouterr().out

    (tmp_path / "blobs" / a.sha256[:2] / a.sha256).write_bytes(b"AAB")
    (tmp_path / "blobs" / b.sha256[:2] / b.sha256).unlink()
    with EvidenceStore.open(tmp_path) as store:
        report = store.verify()
        assert report.altered == [a.sha256] and report.missing == [b.sha256]
        with pytest.raises(CaseIntegrityError, match="altered"):
            store.blob(a.sha256)
        with pytest.raises(CaseIntegrityError, match="missing"):
            store.blob(b.sha256)
    assert main(["case", "verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"ALTERED  {a.sha256}" in out and f"MISSING  {b.sha256}" in out and "DAMAGED" in out


def test_not_a_case_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(EvidenceError, match="not a case directory"):
        EvidenceStore.open(tmp_path / "nope", create=False)
    assert main(["case", "verify", str(tmp_path / "nope")]) == 2
    assert "error[evidence-store]" in capsys.readouterr().err


def test_hostile_digest_is_refused(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path) as store, pytest.raises(EvidenceError, match="not a sha256"):
        store.blob("../../etc/passwd")
