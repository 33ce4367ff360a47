"""Hostile case stores: every tamper or damage of a sealed case is named by `case verify` and
refused by `--offline`, with a specific message and never a traceback.

Each case starts from a copy of the bundled, sealed Ultralytics case (index, provenance, log,
GitHub, intel and trust root answers: every kind of row there is).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.analysis import analyze
from forensics.cli import main
from forensics.errors import CaseIntegrityError, EvidenceError
from forensics.evidence import CaseContent, EvidenceStore
from forensics.evidence.manifest import compare

BUNDLED = Path(__file__).resolve().parents[2] / "cases" / "ultralytics" / "case"
JSON_API = "http://127.0.0.1:34777/pypi/ultralytics/json"
PROVENANCE = (
    "http://127.0.0.1:34777/integrity/ultralytics/8.3.37/ultralytics-8.3.37.tar.gz/provenance"
)


def sql(case: Path, statement: str, params: tuple[object, ...] = ()) -> None:
    with sqlite3.connect(case / "index.sqlite") as conn:
        conn.execute(statement, params)


def one(case: Path, query: str, params: tuple[object, ...] = ()) -> tuple[object, ...]:
    with sqlite3.connect(case / "index.sqlite") as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return tuple(row)


def blob_path(case: Path, digest: str) -> Path:
    return case / "blobs" / digest[:2] / digest


def add_blob(case: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    blob_path(case, digest).parent.mkdir(exist_ok=True)
    blob_path(case, digest).write_bytes(data)
    return digest


def edit_case_json(case: Path, change: Callable[[dict[str, object]], None]) -> None:
    doc = json.loads((case / "case.json").read_text())
    change(doc)
    (case / "case.json").write_text(json.dumps(doc, indent=2))


def sha_of(case: Path, url: str) -> str:
    return str(one(case, "SELECT sha256 FROM responses WHERE url = ?", (url,))[0])


# -- tampers -----------------------------------------------------------------------------------


def forged_json_api(case: Path) -> None:
    """The attacker's classic: a rewritten JSON API answer, indexed as a newer retrieval."""
    doc = json.loads(blob_path(case, sha_of(case, JSON_API)).read_bytes())
    doc["releases"].pop("8.3.40", None)
    digest = add_blob(case, json.dumps(doc).encode())
    row = one(case, "SELECT * FROM responses WHERE url = ?", (JSON_API,))
    sql(
        case,
        "INSERT INTO responses(collection_id, source, method, url, request_sha256, status, headers,"
        " sha256, size, retrieved_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (*row[1:8], digest, 10, "2027-01-01T00:00:00Z"),
    )


def forged_provenance_same_time(case: Path) -> None:
    digest = add_blob(case, b'{"attestation_bundles": [], "version": 1}')
    sql(case, "UPDATE responses SET sha256 = ?, size = 40 WHERE url = ?", (digest, PROVENANCE))


def sha_swapped(case: Path) -> None:
    other = sha_of(case, "http://127.0.0.1:34777/simple/ultralytics/")
    sql(case, "UPDATE responses SET sha256 = ? WHERE url = ?", (other, PROVENANCE))


def set_column(column: str, value: object, where: str = "url = ?", arg: object = JSON_API):
    def tamper(case: Path) -> None:
        sql(case, f"UPDATE responses SET {column} = ? WHERE {where}", (value, arg))

    tamper.__name__ = f"{column}={value!r:.20}"
    return tamper


def delete_rows(where: str, arg: object = None) -> Callable[[Path], None]:
    def tamper(case: Path) -> None:
        sql(case, f"DELETE FROM responses WHERE {where}", () if arg is None else (arg,))

    return tamper


def duplicate_row_later(case: Path) -> None:
    row = one(case, "SELECT * FROM responses WHERE url = ?", (PROVENANCE,))
    sql(
        case,
        "INSERT INTO responses(collection_id, source, method, url, request_sha256, status, headers,"
        " sha256, size, retrieved_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (*row[1:6], 503, row[7], row[8], row[9], "2027-01-01T00:00:00Z"),
    )


def new_finished_collection(case: Path) -> None:
    sql(
        case,
        "INSERT INTO collections(started_at, finished_at, note) VALUES (?,?,?)",
        ("2027-01-01T00:00:00Z", "2027-01-01T00:01:00Z", "second look"),
    )
    cid = one(case, "SELECT MAX(id) FROM collections")[0]
    row = one(case, "SELECT * FROM responses WHERE url = ?", (JSON_API,))
    sql(
        case,
        "INSERT INTO responses(collection_id, source, method, url, request_sha256, status, headers,"
        " sha256, size, retrieved_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (cid, *row[2:10], "2027-01-01T00:00:30Z"),
    )


def fake_unfinished_collection(case: Path) -> None:
    sql(case, "INSERT INTO collections(started_at, note) VALUES ('2027-01-01T00:00:00Z', 'x')")


def killed_collection(case: Path) -> None:
    """A second collection that stopped after one answer (kill -9)."""
    with EvidenceStore.open(case) as store:
        from datetime import UTC, datetime

        store.begin_collection(datetime(2027, 1, 1, tzinfo=UTC), note="collect again")
        store.put_response(
            source="index",
            url=JSON_API,
            status=200,
            headers={},
            body=b"{}",
            retrieved_at=datetime(2027, 1, 1, tzinfo=UTC),
        )


def collections_set(column: str, value: object) -> Callable[[Path], None]:
    def tamper(case: Path) -> None:
        sql(case, f"UPDATE collections SET {column} = ? WHERE id = 1", (value,))

    return tamper


def case_json(change: Callable[[dict[str, object]], None]) -> Callable[[Path], None]:
    def tamper(case: Path) -> None:
        edit_case_json(case, change)

    return tamper


def trust_root_swapped(case: Path) -> None:
    """Another trusted root stored and named in case.json, as if collected."""
    url = str(one(case, "SELECT url FROM responses WHERE source = 'trust'")[0])
    original = blob_path(case, url.removeprefix("trust:")).read_bytes()
    forged = original.replace(b'"SHA2_256"', b'"SHA2_256" ', 1)
    digest = add_blob(case, forged)
    row = one(case, "SELECT * FROM responses WHERE source = 'trust'")
    sql(
        case,
        "INSERT INTO responses(collection_id, source, method, url, request_sha256, status, headers,"
        " sha256, size, retrieved_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            row[1],
            "trust",
            "GET",
            f"trust:{digest}",
            row[5],
            200,
            "{}",
            digest,
            len(forged),
            row[10],
        ),
    )

    def change(doc: dict[str, object]) -> None:
        doc["sources"]["trust_root"].update(url=f"trust:{digest}", sha256=digest)  # type: ignore[index]

    edit_case_json(case, change)


def trust_blob_rewritten(case: Path) -> None:
    url = str(one(case, "SELECT url FROM responses WHERE source = 'trust'")[0])
    path = blob_path(case, url.removeprefix("trust:"))
    path.write_bytes(path.read_bytes().replace(b"lab", b"bal", 1))


def blob_edit(kind: str, url: str = JSON_API) -> Callable[[Path], None]:
    def tamper(case: Path) -> None:
        path = blob_path(case, sha_of(case, url))
        data = path.read_bytes()
        if kind == "truncate":
            path.write_bytes(data[: len(data) // 2])
        elif kind == "flip":
            path.write_bytes(data[:10] + bytes([data[10] ^ 1]) + data[11:])
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "delete":
            path.unlink()
        elif kind == "directory":
            path.unlink()
            path.mkdir()

    tamper.__name__ = f"blob-{kind}"
    return tamper


def extra_blob(case: Path) -> None:
    add_blob(case, b"planted")


def extra_blob_misnamed(case: Path) -> None:
    name = "ab" + "0" * 62
    blob_path(case, name).parent.mkdir(exist_ok=True)
    blob_path(case, name).write_bytes(b"not what the name says")


def stray_file(case: Path) -> None:
    (case / "blobs" / "zz").mkdir(exist_ok=True)
    (case / "blobs" / "zz" / "README.txt").write_text("hello")


def manifest_edit(change: Callable[[dict[str, object]], None]) -> Callable[[Path], None]:
    def tamper(case: Path) -> None:
        doc = json.loads((case / "manifest.json").read_text())
        change(doc)
        (case / "manifest.json").write_text(json.dumps(doc))

    return tamper


def manifest_row_forged(doc: dict[str, object]) -> None:
    rows = doc["responses"]
    assert isinstance(rows, list)
    rows[2]["status"] = 404


def damage_sqlite(kind: str) -> Callable[[Path], None]:
    def tamper(case: Path) -> None:
        path = case / "index.sqlite"
        data = bytearray(path.read_bytes())
        if kind == "page":
            page = 4096
            data[2 * page : 3 * page] = b"\xa5" * page  # garbage over an interior page
            path.write_bytes(bytes(data))
        elif kind == "header":
            data[:100] = b"\x00" * 100
            path.write_bytes(bytes(data))
        elif kind == "truncated":
            path.write_bytes(bytes(data[: len(data) // 3]))
        elif kind == "garbage":
            path.write_bytes(b"this is not a database at all" * 100)
        elif kind == "deleted":
            path.unlink()
        elif kind == "dropped-table":
            sql(case, "DROP TABLE responses")

    tamper.__name__ = f"sqlite-{kind}"
    return tamper


@dataclass(frozen=True)
class Tamper:
    name: str
    apply: Callable[[Path], None]
    kinds: tuple[str, ...]
    """Change kinds `case verify` must list (empty: the index cannot be read at all)."""
    text: str
    """A fragment of the verify output (or error) naming the change specifically."""


def _drop(key: str) -> Callable[[dict[str, object]], None]:
    return lambda doc: doc.pop(key)


TAMPERS = [
    Tamper("forged-json-api-newer-row", forged_json_api, ("row-added", "blob-added"), JSON_API),
    Tamper("forged-provenance-in-place", forged_provenance_same_time, ("row-edited",), "sha256"),
    Tamper("row-sha256-swapped", sha_swapped, ("row-edited",), "sha256 "),
    Tamper("status-200-to-404", set_column("status", 404), ("row-edited",), "status 200 -> 404"),
    Tamper(
        "provenance-status-403",
        set_column("status", 403, arg=PROVENANCE),
        ("row-edited",),
        "status 200 -> 403",
    ),
    Tamper("status-as-text", set_column("status", "ok"), ("row-edited",), 'status 200 -> "ok"'),
    Tamper(
        "all-statuses-500",
        set_column("status", 500, where="source = ?", arg="index"),
        ("row-edited",),
        "status 200 -> 500",
    ),
    Tamper(
        "retrieved-at-garbage", set_column("retrieved_at", "garbage"), ("row-edited",), "garbage"
    ),
    Tamper(
        "retrieved-at-backdated",
        set_column("retrieved_at", "2020-01-01T00:00:00Z"),
        ("row-edited",),
        "retrieved_at",
    ),
    Tamper("retrieved-at-number", set_column("retrieved_at", 12345), ("row-edited",), '-> "12345"'),
    Tamper(
        "status-beyond-json-integers",
        set_column("status", 2**62),
        ("row-edited",),
        '{"int": "4611686018427387904"}',
    ),
    Tamper("size-infinite", set_column("size", float("inf")), ("row-edited",), '"inf"'),
    Tamper("headers-garbage", set_column("headers", "{not json"), ("row-edited",), "headers"),
    Tamper("headers-list", set_column("headers", "[1, 2]"), ("row-edited",), "headers"),
    Tamper(
        "headers-location-added",
        set_column("headers", '{"location": "http://evil.invalid/"}'),
        ("row-edited",),
        "evil.invalid",
    ),
    Tamper(
        "url-renamed",
        set_column("url", "http://127.0.0.1:34777/pypi/other/json"),
        ("row-edited",),
        "url ",
    ),
    Tamper("method-changed", set_column("method", "POST"), ("row-edited",), "method"),
    Tamper("source-changed", set_column("source", "rekor"), ("row-edited",), "source"),
    Tamper("size-changed", set_column("size", 1), ("row-edited",), "size"),
    Tamper(
        "collection-id-changed", set_column("collection_id", 99), ("row-edited",), "collection_id"
    ),
    Tamper(
        "request-sha256-changed",
        set_column("request_sha256", "0" * 64),
        ("row-edited",),
        "request_sha256",
    ),
    Tamper("row-duplicated-as-outage", duplicate_row_later, ("row-added",), PROVENANCE),
    Tamper(
        "provenance-rows-deleted",
        delete_rows("url LIKE ?", "%/integrity/%"),
        ("row-deleted",),
        "/provenance",
    ),
    Tamper("log-rows-deleted", delete_rows("source = ?", "rekor"), ("row-deleted",), "rekor"),
    Tamper("github-rows-deleted", delete_rows("source = ?", "github"), ("row-deleted",), "github"),
    Tamper("intel-row-deleted", delete_rows("source = ?", "intel"), ("row-deleted",), "intel:"),
    Tamper("every-row-deleted", delete_rows("1 = 1"), ("row-deleted",), "responses row 1"),
    Tamper("collection-added-finished", new_finished_collection, ("row-added",), "second look"),
    Tamper(
        "collection-unfinished-planted",
        fake_unfinished_collection,
        ("incomplete",),
        "never finished",
    ),
    Tamper("collection-killed", killed_collection, ("incomplete", "uncommitted"), "resume"),
    Tamper(
        "collection-finish-edited",
        collections_set("finished_at", "2030-01-01T00:00:00Z"),
        ("row-edited",),
        "finished_at",
    ),
    Tamper("collection-note-edited", collections_set("note", "hm"), ("row-edited",), "note"),
    Tamper(
        "collection-deleted",
        lambda case: sql(case, "DELETE FROM collections WHERE id = 1"),
        ("row-deleted",),
        "collections row 1",
    ),
    Tamper(
        "simulated-flag-false",
        case_json(lambda d: d.update(simulated=False)),
        ("case-json-changed",),
        "simulated: true -> false",
    ),
    Tamper(
        "simulated-flag-dropped",
        case_json(_drop("simulated")),
        ("case-json-changed",),
        "field simulated: removed",
    ),
    Tamper(
        "notes-emptied", case_json(lambda d: d.update(notes=[])), ("case-json-changed",), "notes"
    ),
    Tamper(
        "project-renamed",
        case_json(lambda d: d.update(project="other")),
        ("case-json-changed",),
        "project",
    ),
    Tamper(
        "rekor-source-dropped",
        case_json(lambda d: d["sources"].pop("rekor")),  # type: ignore[attr-defined]
        ("case-json-changed",),
        "sources.rekor",
    ),
    Tamper(
        "index-url-changed",
        case_json(lambda d: d["sources"]["index"].update(base_url="http://x")),  # type: ignore[index]
        ("case-json-changed",),
        "sources.index.base_url",
    ),
    Tamper(
        "trust-root-swapped", trust_root_swapped, ("row-added", "case-json-changed"), "trust_root"
    ),
    Tamper("trust-root-blob-rewritten", trust_blob_rewritten, ("blob-altered",), "sha256"),
    Tamper(
        "case-json-deleted",
        lambda case: (case / "case.json").unlink(),
        ("case-json-missing",),
        "deleted",
    ),
    Tamper(
        "case-json-deeply-nested",
        lambda case: (case / "case.json").write_text("[" * 100_000 + "]" * 100_000),
        ("case-json-changed",),
        "unreadable",
    ),
    Tamper(
        "case-json-huge-number-and-nan",
        case_json(lambda d: d.update(simulated=10**400, notes=float("nan"))),
        ("case-json-changed",),
        "simulated: true -> {",
    ),
    Tamper(
        "case-json-lone-surrogate",
        lambda case: (case / "case.json").write_text('{"project": "\\ud800"}'),
        ("case-json-changed",),
        "utf8_surrogates",
    ),
    Tamper(
        "case-json-garbage",
        lambda case: (case / "case.json").write_text("{oops"),
        ("case-json-changed",),
        "unreadable",
    ),
    Tamper("blob-truncated", blob_edit("truncate"), ("blob-altered",), "no longer matches"),
    Tamper("blob-bit-flipped", blob_edit("flip"), ("blob-altered",), "no longer matches"),
    Tamper("blob-emptied", blob_edit("empty"), ("blob-altered",), "(0 bytes)"),
    Tamper("blob-deleted", blob_edit("delete"), ("blob-missing",), "deleted since the seal"),
    Tamper(
        "provenance-blob-deleted",
        blob_edit("delete", PROVENANCE),
        ("blob-missing",),
        "deleted since the seal",
    ),
    Tamper("blob-replaced-by-directory", blob_edit("directory"), ("blob-missing",), "blob "),
    Tamper("extra-blob", extra_blob, ("blob-added",), "not in the manifest"),
    Tamper("extra-blob-misnamed", extra_blob_misnamed, ("blob-added",), "no longer matches"),
    Tamper("stray-file-in-blobs", stray_file, ("stray-file",), "zz/README.txt"),
    Tamper(
        "manifest-missing",
        lambda case: (case / "manifest.json").unlink(),
        ("manifest-missing",),
        "UNSEALED",
    ),
    Tamper(
        "manifest-garbage",
        lambda case: (case / "manifest.json").write_text("]"),
        ("manifest-damaged",),
        "manifest.json",
    ),
    Tamper(
        "manifest-digest-edited",
        manifest_edit(lambda d: d.update(digest="0" * 64)),
        ("manifest-damaged",),
        "does not match the content",
    ),
    Tamper(
        "manifest-row-forged",
        manifest_edit(manifest_row_forged),
        ("manifest-damaged",),
        "does not match the content",
    ),
    Tamper(
        "manifest-deeply-nested",
        lambda case: (case / "manifest.json").write_text("[" * 100_000 + "]" * 100_000),
        ("manifest-damaged",),
        "manifest.json",
    ),
    Tamper(
        "manifest-schema-unknown",
        manifest_edit(lambda d: d.update(schema="v0")),
        ("manifest-damaged",),
        "schema",
    ),
]

DAMAGES = [
    Tamper("sqlite-page", damage_sqlite("page"), (), "damaged"),
    Tamper("sqlite-header", damage_sqlite("header"), (), "damaged"),
    Tamper("sqlite-truncated", damage_sqlite("truncated"), (), "damaged"),
    Tamper("sqlite-garbage", damage_sqlite("garbage"), (), "damaged"),
    Tamper("sqlite-table-dropped", damage_sqlite("dropped-table"), (), "no table responses"),
    Tamper("sqlite-deleted", damage_sqlite("deleted"), (), "not a case directory"),
    Tamper(
        "sqlite-invalid-utf8-text",
        lambda case: sql(case, "UPDATE responses SET url = CAST(X'ff41' AS TEXT) WHERE id = 3"),
        (),
        "damaged",
    ),
]

CONTROLS = [
    (
        "cache-folder",
        lambda case: (case / "cache").mkdir() or (case / "cache" / "v.json").write_text("{}"),
    ),
    ("seal-file", lambda case: (case / "seal.json").write_text("{}")),
    ("case-json-reindented", case_json(lambda d: None)),
    (
        "leftover-temp-file",
        lambda case: (next((case / "blobs").iterdir()) / ".x.123.tmp").write_bytes(b"p"),
    ),
    ("notes-file", lambda case: (case / "NOTES.md").write_text("chain of custody log")),
]


@pytest.fixture
def case(tmp_path: Path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(BUNDLED, target, ignore=shutil.ignore_patterns("cache"))  # derived data
    return target


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_the_bundled_case_is_sealed_and_intact(
    case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["case", "verify", str(case)], capsys)
    assert code == 0 and "intact" in out


@pytest.mark.parametrize("tamper", TAMPERS, ids=[t.name for t in TAMPERS])
def test_tamper_is_named_and_refused(
    tamper: Tamper, case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tamper.apply(case)
    code, out, err = _run(["case", "verify", str(case)], capsys)
    assert code == 1, out + err
    listed = {line.split()[0].lower() for line in out.splitlines()[:-1]}
    assert set(tamper.kinds) <= listed, out
    assert tamper.text in out, out
    assert "intact" not in out.splitlines()[-1]

    code, out, err = _run(["investigate", "ultralytics", "--case", str(case), "--offline"], capsys)
    assert code == 2, out + err
    assert out == ""
    assert "does not verify" in err and "error[case-integrity]" in err
    with EvidenceStore.open(case, create=False) as store:
        assert not store.check().ok


@pytest.mark.parametrize("damage", DAMAGES, ids=[t.name for t in DAMAGES])
def test_damaged_index_is_a_specific_error(
    damage: Tamper, case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage.apply(case)
    code, out, err = _run(["case", "verify", str(case)], capsys)
    assert code == 2 and "error[evidence-store]" in err and damage.text in err, err
    code, out, err = _run(["investigate", "ultralytics", "--case", str(case), "--offline"], capsys)
    assert code == 2 and "error[evidence-store]" in err and out == "", err


@pytest.mark.parametrize("control", CONTROLS, ids=[c[0] for c in CONTROLS])
def test_what_is_outside_the_seal_may_change(
    control: tuple[str, Callable[[Path], None]], case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with EvidenceStore.open(case, create=False) as store:
        before = store.case_digest()
    control[1](case)
    code, out, _ = _run(["case", "verify", str(case)], capsys)
    assert code == 0 and out.rstrip().endswith("intact"), out
    with EvidenceStore.open(case, create=False) as store:
        assert store.case_digest() == before


def _read_json_api(store: EvidenceStore) -> bytes:
    resp = store.latest(JSON_API)
    assert resp is not None
    return resp.body()


@pytest.mark.parametrize(
    "tamper",
    [
        set_column("retrieved_at", "garbage"),
        set_column("retrieved_at", 12345),
        set_column("headers", "{not json"),
        set_column("headers", "[1, 2]"),
        set_column("status", "ok"),
        set_column("sha256", "../../etc/passwd"),
        blob_edit("truncate"),
    ],
    ids=lambda t: t.__name__,
)
def test_reading_a_damaged_row_raises_a_specific_error(
    tamper: Callable[[Path], None], case: Path
) -> None:
    """Even bypassing the offline check (library use), the store never crashes on garbage."""
    tamper(case)
    with EvidenceStore.open(case, create=False) as store:
        with pytest.raises(CaseIntegrityError, match=r"responses row \d+|blob \w+ was altered"):
            _read_json_api(store)
        with pytest.raises(EvidenceError):
            analyze(store)


def test_a_tampered_case_cannot_be_resealed_by_collecting_into_it(case: Path) -> None:
    from datetime import UTC, datetime

    when = datetime(2027, 1, 1, tzinfo=UTC)
    with EvidenceStore.open(case) as store:
        store.begin_collection(when)
        set_column("status", 404)(case)  # altered while the collection runs
        with pytest.raises(CaseIntegrityError, match=r"altered since it was sealed.*status"):
            store.finish_collection(when)
        with pytest.raises(CaseIntegrityError, match=r"cannot be sealed as it is.*status"):
            store.upgrade()
    # and no collection starts on it any more
    with (
        EvidenceStore.open(case) as store,
        pytest.raises(CaseIntegrityError, match=r"altered since it was sealed.*status"),
    ):
        store.begin_collection(when)
    with EvidenceStore.open(case, create=False) as store:
        assert store.check().state == "tampered"


# -- property: any single change to sealed content is named, and changes the digest -------------


_COLUMNS = ("source", "method", "url", "request_sha256", "status", "headers", "sha256", "size",
            "retrieved_at", "collection_id")  # fmt: skip
_VALUES = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=40),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _sealed() -> CaseContent:
    rows = {
        i: {
            "id": i,
            "collection_id": 1,
            "source": "index",
            "method": "GET",
            "url": f"https://x/{i}",
            "request_sha256": "e" * 64,
            "status": 200,
            "headers": "{}",
            "sha256": f"{i:x}" * 64,
            "size": 3,
            "retrieved_at": "2026-01-01T00:00:00Z",
        }
        for i in range(1, 5)
    }
    return CaseContent(
        case_json={"project": "p", "simulated": True, "sources": {"index": {"base_url": "u"}}},
        collections={1: {"id": 1, "started_at": "s", "finished_at": "f", "note": ""}},
        responses=rows,
        blobs={f"{i:x}" * 64: 3 for i in range(1, 5)},
    )


@settings(max_examples=60, deadline=None)
@given(row=st.integers(1, 4), column=st.sampled_from(_COLUMNS), value=_VALUES)
def test_any_field_edit_is_named_with_its_field(row: int, column: str, value: object) -> None:
    sealed, current = _sealed(), _sealed()
    if current.responses[row][column] == value:
        return
    current.responses[row][column] = value
    changes = compare(sealed, current, unfinished=(), altered={})
    assert [c.kind for c in changes] == ["row-edited"]
    assert changes[0].detail.startswith(f"{column} ")
    assert current.digest() != sealed.digest()


@settings(max_examples=40, deadline=None)
@given(
    path=st.sampled_from(["project", "simulated", "sources", "notes"]),
    value=st.one_of(st.none(), st.booleans(), st.text(max_size=10), st.integers()),
)
def test_any_case_json_edit_is_named_even_during_a_collection(path: str, value: object) -> None:
    sealed, current = _sealed(), _sealed()
    if current.case_json.get(path) == value:
        return
    current.case_json[path] = value
    changes = compare(sealed, current, unfinished=(), altered={})
    assert changes and all(c.kind == "case-json-changed" for c in changes)
    assert all(c.subject.startswith(f"case.json field {path}") for c in changes)
    # while a collection runs, only `sources` may change without being a tamper
    during = compare(sealed, current, unfinished=(2,), altered={})
    assert any(c.tamper for c in during) == (path != "sources")
    assert current.digest() != sealed.digest()
