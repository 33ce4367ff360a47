"""Cached and parallel verdicts: reused when sound, ignored when not, identical to the sequential
path, and no tampered attestation ever passes through them."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from forensics.analysis import analyze
from forensics.api import collect
from forensics.evidence import EvidenceStore
from forensics.models import ProvenanceStatus
from forensics.provenance.cache import (
    VerdictCache,
    VerdictKey,
    decode_verdict,
    encode_verdict,
    verifier_version,
)
from forensics.provenance.parallel import Job, plan_workers, verify_many
from forensics.provenance.verdicts import Pending, Verdicts
from forensics.trust import TrustMaterial
from forensics_lab.build import build_world
from forensics_lab.serve import LabServer
from forensics_lab.synth import synthesize


@dataclass(frozen=True)
class Lab:
    world: Path
    case: Path
    trust: TrustMaterial
    project: str


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """A small synthetic history (6 releases × 2 files), collected once into a case."""
    base = tmp_path_factory.mktemp("verdicts")
    scenario = synthesize(6, 2, 0)
    world = build_world(scenario, base / "world")
    trust = TrustMaterial.load(world / "trusted_root.json")
    case = base / "case"
    with LabServer(world) as server, EvidenceStore.open(case) as store:
        collect(scenario.project, store, index_url=server.url, rekor_url=server.url, trust=trust)
    return Lab(world, case, trust, scenario.project)


def _report(case: Path, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    with EvidenceStore.open(case, create=False) as store:
        doc = analyze(store, **kwargs).to_json()
    return doc, doc.pop("run")["verification"]


def _fresh_cache(lab: Lab) -> None:
    for path in (lab.case / "cache").glob("verdicts.sqlite*"):
        path.unlink()


def test_second_analysis_reuses_every_verdict_and_reports_the_same(lab: Lab) -> None:
    _fresh_cache(lab)
    first, run1 = _report(lab.case, workers=1)
    second, run2 = _report(lab.case, workers=1)
    again, run3 = _report(lab.case, workers=1, reverify=True)
    assert first == second == again
    assert run1["verdicts_verified"] == 12 and run1["verdicts_from_cache"] == 0
    assert run2["verdicts_verified"] == 0 and run2["verdicts_from_cache"] == 12
    assert run3["verdicts_verified"] == 12 and run3["verdicts_from_cache"] == 0
    assert run1["problems"] == run2["problems"] == run3["problems"] == []
    # each file's log entry is cross-checked: verified once, then its outcome reused
    assert run1["log_checks_verified"] == 12 and run1["log_checks_from_cache"] == 0
    assert run2["log_checks_verified"] == 0 and run2["log_checks_from_cache"] == 12
    assert run3["log_checks_verified"] == 12 and run3["log_checks_from_cache"] == 0
    assert run2["verifier"] == verifier_version() == first["sources"]["verification"]["verifier"]
    assert first["sources"]["verification"]["trust_root_sha256"] == lab.trust.sha256
    assert {f["provenance"]["status"] for r in first["releases"] for f in r["files"]} == {
        "verified"
    }


def _rows(lab: Lab) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(lab.case / "cache" / "verdicts.sqlite") as conn:
        return list(conn.execute("SELECT id, key, value, mac FROM verdicts ORDER BY id"))


def _set(lab: Lab, row_id: str, column: str, value: str) -> None:
    assert column in {"key", "value", "mac"}
    with sqlite3.connect(lab.case / "cache" / "verdicts.sqlite") as conn:
        conn.execute(f"UPDATE verdicts SET {column} = ? WHERE id = ?", (value, row_id))


def test_altered_entry_is_ignored_with_a_problem_and_verified_again(lab: Lab) -> None:
    _fresh_cache(lab)
    clean, _ = _report(lab.case, workers=1)
    rows = _rows(lab)
    # Forge the most dangerous edit: a verdict turned around, MAC left as it was.
    row_id, _key, value, _mac = rows[0]
    forged = json.loads(value)
    forged["status"] = "invalid"
    forged["reason"] = "forged"
    _set(lab, row_id, "value", json.dumps(forged))
    # And a row whose value is not JSON at all.
    _set(lab, rows[1][0], "value", "{not json")
    doc, run = _report(lab.case, workers=1)
    assert doc == clean
    assert run["verdicts_from_cache"] == 10 and run["verdicts_verified"] == 2
    assert len(run["problems"]) == 2
    assert all("MAC mismatch" in p for p in run["problems"])
    # the rows were replaced by sound ones: the next run reuses everything
    _, run = _report(lab.case, workers=1)
    assert run["verdicts_from_cache"] == 12 and run["problems"] == []


def test_entry_stored_under_another_key_is_ignored(lab: Lab) -> None:
    _fresh_cache(lab)
    _report(lab.case, workers=1)
    rows = _rows(lab)
    _set(lab, rows[0][0], "key", rows[1][1])
    _, run = _report(lab.case, workers=1)
    assert run["verdicts_verified"] == 1
    assert run["problems"] == [p for p in run["problems"] if "stored under another key" in p]
    assert len(run["problems"]) == 1


def test_cache_written_on_another_machine_is_not_trusted(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh_cache(lab)
    clean, _ = _report(lab.case, workers=1)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))  # another secret
    doc, run = _report(lab.case, workers=1)
    assert doc == clean
    assert run["verdicts_from_cache"] == 0 and run["verdicts_verified"] == 12
    assert run["log_checks_from_cache"] == 0 and run["log_checks_verified"] > 0
    # one line per ignored row (12 verdicts, every log check), five shown
    ignored = 12 + run["log_checks_verified"]
    assert len(run["problems"]) == 6
    assert run["problems"][-1] == f"and {ignored - 5} more verdict cache problem(s)"
    assert all("MAC mismatch" in p for p in run["problems"][:5])


def test_entry_with_a_valid_mac_that_does_not_decode_is_ignored(lab: Lab) -> None:
    _fresh_cache(lab)
    _report(lab.case, workers=1)
    cache, note = VerdictCache.open(lab.case)
    assert cache is not None and note == ""
    row_id, key_text, _value, _mac = _rows(lab)[0]
    bad = json.dumps({"status": "verified", "reason": "", "attestations": [{"verified": "yes"}]})
    _set(lab, row_id, "value", bad)
    _set(lab, row_id, "mac", cache._mac(key_text, bad))
    cache.close()
    _, run = _report(lab.case, workers=1)
    assert run["verdicts_verified"] == 1
    assert len(run["problems"]) == 1 and "does not decode" in run["problems"][0]


def test_another_verifier_version_or_trust_root_is_another_key(lab: Lab) -> None:
    _fresh_cache(lab)
    _report(lab.case, workers=1)
    with EvidenceStore.open(lab.case, create=False) as store:
        meta = store.read_meta()
        assert meta is not None
        verdicts = Verdicts.for_case(lab.case, lab.trust, workers=1)
        verdicts.version = "provenance-forensics 99 (an upgrade)"
        inv = analyze(store, verdicts=verdicts)
        verdicts.close()
    run = inv.run["verification"]
    assert run["verdicts_verified"] == 12 and run["verdicts_from_cache"] == 0
    assert run["problems"] == []


def test_verdict_codec_round_trips_real_verdicts(lab: Lab) -> None:
    with EvidenceStore.open(lab.case, create=False) as store:
        inv = analyze(store, workers=1, reverify=True)
    verdicts = [fv.provenance for rel in inv.timeline.releases for fv in rel.files]
    assert verdicts
    for fp in verdicts:
        bare = type(fp)(fp.status, fp.reason, fp.attestations)
        back = decode_verdict(json.loads(json.dumps(encode_verdict(fp))))
        assert back == bare
        assert [a.publisher.raw if a.publisher else None for a in back.attestations] == [
            a.publisher.raw if a.publisher else None for a in fp.attestations
        ]
        assert [a.predicate for a in back.attestations] == [a.predicate for a in fp.attestations]


def test_key_text_names_every_input() -> None:
    key = VerdictKey("a" * 64, "b" * 64, "x-1.0.tar.gz", "c" * 64, "v1")
    assert json.loads(key.text()) == ["a" * 64, "b" * 64, "x-1.0.tar.gz", "c" * 64, "v1"]
    assert key.row_id() != VerdictKey("a" * 64, "b" * 64, "x-1.0.tar.gz", "c" * 64, "v2").row_id()


# --------------------------------------------------------------------------- parallel


def _jobs(lab: Lab) -> list[Job]:
    jobs = []
    for path in sorted((lab.world / "provenance").glob("*.json")):
        filename = path.name.removesuffix(".json")
        dist = lab.world / "files" / filename

        jobs.append(Job(path.read_bytes(), filename, hashlib.sha256(dist.read_bytes()).hexdigest()))
    return jobs


def _tampered(job: Job, how: str) -> Job:
    """One tamper class of tests/provenance applied to a lab provenance object."""
    obj = json.loads(job.raw)
    att = obj["attestation_bundles"][0]["attestations"][0]
    env = att["envelope"]
    tle = att["verification_material"]["transparency_entries"][0]
    if how == "swapped-file":
        return Job(job.raw, job.filename, "0" * 64)
    if how == "statement":
        stmt = json.loads(base64.b64decode(env["statement"]))
        stmt["predicate"] = {"tampered": True}
        env["statement"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    elif how == "signature":
        sig = bytearray(base64.b64decode(env["signature"]))
        sig[-1] ^= 1
        env["signature"] = base64.b64encode(bytes(sig)).decode()
    elif how == "integrated-time":
        tle["integratedTime"] = str(int(tle["integratedTime"]) + 1)
    elif how == "inclusion-proof":
        hashes = tle["inclusionProof"]["hashes"]
        if hashes:
            first = bytearray(base64.b64decode(hashes[0]))
            first[0] ^= 1
            hashes[0] = base64.b64encode(bytes(first)).decode()
        else:
            tle["inclusionProof"]["rootHash"] = base64.b64encode(b"\0" * 32).decode()
    elif how == "publisher":
        obj["attestation_bundles"][0]["publisher"]["repository"] = "someone/else"
    else:
        raise AssertionError(how)
    return Job(json.dumps(obj).encode(), job.filename, job.sha256)


TAMPERS = [
    "swapped-file",
    "statement",
    "signature",
    "integrated-time",
    "inclusion-proof",
    "publisher",
]


def test_parallel_verdicts_equal_sequential_in_order_and_tampering_still_fails(lab: Lab) -> None:
    """Worker processes (one root parse per process, keyrings built once) change no verdict:
    every genuine file verifies, every tamper class of tests/provenance still fails, in order."""
    genuine = _jobs(lab)
    jobs: list[Job] = []
    for i, job in enumerate(genuine):
        jobs.append(job)
        jobs.append(_tampered(job, TAMPERS[i % len(TAMPERS)]))
    sequential = verify_many(
        jobs, lab.trust.verifier, trust_raw=lab.trust.raw, trust_label=lab.trust.label, workers=1
    )
    parallel = verify_many(
        jobs,
        lab.trust.verifier,
        trust_raw=lab.trust.raw,
        trust_label=lab.trust.label,
        workers=2,
        min_parallel=1,
    )
    assert parallel == sequential
    statuses = [v.status for v in parallel]
    assert statuses[0::2] == [ProvenanceStatus.VERIFIED] * len(genuine)
    assert statuses[1::2] == [ProvenanceStatus.INVALID] * len(genuine)
    reasons = {TAMPERS[i % len(TAMPERS)]: v.reason for i, v in enumerate(parallel[1::2])}
    assert "sha256" in reasons["swapped-file"]
    assert "signature does not verify" in reasons["statement"]
    assert "signature does not verify" in reasons["signature"]
    assert "transparency log entry" in reasons["integrated-time"]
    assert "transparency log entry" in reasons["inclusion-proof"]
    assert "identity does not match" in reasons["publisher"]


def test_cached_path_never_turns_a_tampered_file_into_a_verified_one(
    lab: Lab, tmp_path: Path
) -> None:
    genuine = _jobs(lab)[:3]
    bad = [_tampered(j, "signature") for j in genuine]
    pending = [
        Pending(j.filename, j.sha256, hashlib.sha256(j.raw).hexdigest(), lambda j=j: j.raw)
        for j in [*genuine, *bad]
    ]
    for _ in range(2):  # cold, then from the cache
        verdicts = Verdicts.for_case(tmp_path, lab.trust, workers=1)
        out = verdicts.decide(pending)
        verdicts.close()
        assert [v.status for v in out] == [ProvenanceStatus.VERIFIED] * 3 + [
            ProvenanceStatus.INVALID
        ] * 3
    assert verdicts.run_info()["verdicts_from_cache"] == 6


def test_small_inputs_stay_in_this_process() -> None:
    assert plan_workers(10, None) == 1
    assert plan_workers(10, 4, min_parallel=5) == 4
    assert plan_workers(3, 4, min_parallel=1) == 3
    assert plan_workers(10_000, 1) == 1


def test_verifier_version_covers_every_module_verification_runs() -> None:
    """Every module of ours that `provenance/verify.py` reaches (imports, followed) is hashed into
    the verifier version: editing any of them must invalidate cached verdicts."""
    import ast

    from forensics.provenance import cache

    root = Path(cache.__file__).resolve().parents[2]

    def module_path(name: str) -> str:
        base = root / Path(*name.split("."))
        return (
            (base / "__init__.py" if base.is_dir() else base.with_suffix(".py"))
            .relative_to(root)
            .as_posix()
        )

    seen: set[str] = set()
    todo = ["forensics/provenance/verify.py"]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        for node in ast.walk(ast.parse((root / rel).read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            todo += [module_path(n) for n in names if n.split(".")[0] == "forensics"]
    seen.discard("forensics/__init__.py")  # the package marker: only __version__
    for rel in cache._VERIFIER_MODULES:
        assert (root / rel).is_file(), f"{rel} is listed but does not exist"
    assert seen <= set(cache._VERIFIER_MODULES), sorted(seen - set(cache._VERIFIER_MODULES))


def _embedded_entries(lab: Lab) -> list[Any]:
    from forensics.rekor.recover import embedded_entries

    with EvidenceStore.open(lab.case, create=False) as store:
        bodies = [r.body() for r in store.responses() if "/integrity/" in r.url and r.status == 200]
    return [e for body in bodies for e in embedded_entries(body)]


def test_log_check_outcomes_are_cached_failures_included(lab: Lab) -> None:
    """A failing entry's reason comes back from the cache word for word; an entry changed in
    any field is another key (verified afresh), and a forged row is ignored."""
    import dataclasses

    _fresh_cache(lab)
    genuine = _embedded_entries(lab)[:3]
    # the integrated time the SET signs, moved by a second: the SET must no longer verify
    moved = dataclasses.replace(genuine[0], integrated_time=genuine[0].integrated_time + 1)
    assert moved.fingerprint() != genuine[0].fingerprint()
    entries = [*genuine, moved]

    first = Verdicts.for_case(lab.case, lab.trust)
    try:
        fresh = first.log_checks(entries, None)
        assert first.run_info()["log_checks_verified"] == 4
    finally:
        first.close()
    assert [o.ok for o in fresh] == [True, True, True, False]
    assert "SET does not verify" in fresh[3].reason

    again = Verdicts.for_case(lab.case, lab.trust)
    try:
        assert again.log_checks(entries, None) == fresh
        assert again.run_info()["log_checks_from_cache"] == 4
    finally:
        again.close()

    # turn the failure into a pass in the cache, MAC untouched: ignored and verified again
    with sqlite3.connect(lab.case / "cache" / "verdicts.sqlite") as conn:
        conn.execute(
            "UPDATE log_checks SET value = ? WHERE value LIKE '%SET does not verify%'",
            (json.dumps({"ok": True, "reason": ""}),),
        )
    forged = Verdicts.for_case(lab.case, lab.trust)
    try:
        assert forged.log_checks(entries, None) == fresh
        info = forged.run_info()
    finally:
        forged.close()
    assert info["log_checks_from_cache"] == 3 and info["log_checks_verified"] == 1
    assert len(info["problems"]) == 1 and "MAC mismatch" in info["problems"][0]


def test_entry_fingerprint_changes_with_every_field(lab: Lab) -> None:
    """The log-check cache key must see any change to an entry: each field altered alone gives
    another fingerprint (the caller's `raw` attachment, which verification never reads: none)."""
    import dataclasses

    entry = _embedded_entries(lab)[0]
    proof = entry.inclusion_proof
    assert proof is not None
    changed = {
        "body": entry.body + b" ",
        "log_index": entry.log_index + 1,
        "log_id": bytes(32),
        "integrated_time": None,
        "signed_entry_timestamp": b"sig",
        "inclusion_proof": dataclasses.replace(proof, hashes=(*proof.hashes, bytes(32))),
        "kind_version": "hashedrekord/0.0.1",
        "entry_id": "00" * 40,
        "representation": "rest",
    }
    fields = {f.name for f in dataclasses.fields(entry)} - {"raw"}
    assert set(changed) == fields
    seen = {entry.fingerprint()}
    for name, value in changed.items():
        assert getattr(entry, name) != value, name
        seen.add(dataclasses.replace(entry, **{name: value}).fingerprint())
    assert len(seen) == len(changed) + 1
    for name, moved in (
        ("log_index", proof.log_index + 1),
        ("tree_size", proof.tree_size + 1),
        ("root_hash", bytes(32)),
        ("checkpoint", (proof.checkpoint or "") + "x"),
    ):
        altered = dataclasses.replace(proof, **{name: moved})
        assert dataclasses.replace(entry, inclusion_proof=altered).fingerprint() not in seen
    assert dataclasses.replace(entry, raw={"note": 1}).fingerprint() == entry.fingerprint()
