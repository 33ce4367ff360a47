"""The verifier on entries from a small in-test log: both representations, v2, tampering."""

from __future__ import annotations

import base64
import copy
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from forensics.rekor.entry import LogInfo, MalformedEntry, RekorEntry, decode_body
from forensics.rekor.verify import (
    LogKeys,
    Outcome,
    compare_entries,
    verify_consistency_proof,
    verify_entry,
)
from forensics_lab import merkle_tree
from tests.rekor._lablog import MiniLog, hashedrekord_body, v2_body

OFFSET = 1000


@pytest.fixture(scope="module")
def log() -> MiniLog:
    log = MiniLog(shard_offset=OFFSET)
    for i in range(7):
        log.append(hashedrekord_body(i), 1733354041 + i)
    return log


def test_rest_and_bundle_forms_parse_to_the_same_entry(log: MiniLog) -> None:
    rest = RekorEntry.parse(log.rest(3))
    bundle = RekorEntry.parse(log.bundle(3))
    assert rest.representation == "rest"
    assert bundle.representation == "bundle"
    assert compare_entries(bundle, rest) == []
    assert rest.inclusion_proof is not None
    assert bundle.inclusion_proof is not None
    # ECDSA signatures are randomised, so the two checkpoint notes differ only in signature bytes.
    assert replace(rest.inclusion_proof, checkpoint=None) == replace(
        bundle.inclusion_proof, checkpoint=None
    )
    assert rest.entry_id == log.entry_id(3)
    assert rest.uuid == log.uuid(3)


@pytest.mark.parametrize("form", ["rest", "bundle"])
def test_lab_entry_verifies_with_every_identifier(log: MiniLog, form: str) -> None:
    raw = log.rest(5) if form == "rest" else log.bundle(5)
    v = verify_entry(
        RekorEntry.parse(raw), LogKeys.of(log.key), shard_offsets={str(log.tree_id): OFFSET}
    )
    assert v.ok, v.reason
    assert [c.outcome for c in v.checks] == [Outcome.PASS] * len(v.checks)
    assert (v.global_index, v.shard_index) == (OFFSET + 5, 5)
    assert v.tree_id == str(log.tree_id)
    assert v.entry_id == log.entry_id(5)
    assert v.integrated_time == datetime.fromtimestamp(1733354046, UTC)


def _tamper(raw: dict, path: list[str], value: object) -> dict:
    out = copy.deepcopy(raw)
    node = next(iter(out.values()))
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def test_each_tampering_fails_the_matching_check(log: MiniLog) -> None:
    keys = LogKeys.of(log.key)
    offsets = {str(log.tree_id): OFFSET}
    raw = log.rest(2)
    value = next(iter(raw.values()))
    hashes = value["verification"]["inclusionProof"]["hashes"]
    flipped = [
        ("00" if h[:2] != "00" else "11") + h[2:] if i == 0 else h for i, h in enumerate(hashes)
    ]
    other = log.checkpoint(size=4)  # genuinely signed, but for an older tree
    cases = {
        "inclusion_proof": _tamper(raw, ["verification", "inclusionProof", "hashes"], flipped),
        "checkpoint": _tamper(raw, ["verification", "inclusionProof", "checkpoint"], other),
        "set": _tamper(raw, ["integratedTime"], value["integratedTime"] + 3600),
        "index": _tamper(
            _tamper(raw, ["logIndex"], OFFSET + 3),
            ["verification", "signedEntryTimestamp"],
            # Re-sign so only the index relation is wrong (a log lying about its numbering).
            base64.b64encode(
                log.sign(
                    __import__("forensics.primitives.note", fromlist=["set_payload"]).set_payload(
                        value["body"], value["integratedTime"], value["logID"], OFFSET + 3
                    )
                )
            ).decode(),
        ),
        "log_key": _tamper(raw, ["logID"], "ab" * 32),
    }
    for check, tampered in cases.items():
        v = verify_entry(RekorEntry.parse(tampered), keys, shard_offsets=offsets)
        assert check in v.failed, (check, v.checks)
        assert not v.ok


def test_body_swapped_under_the_same_id_fails_uuid(log: MiniLog) -> None:
    raw = log.rest(1)
    (eid, value) = next(iter(raw.items()))
    swapped = {eid: {**value, "body": base64.b64encode(log.bodies[2]).decode()}}
    v = verify_entry(RekorEntry.parse(swapped), LogKeys.of(log.key))
    assert "uuid" in v.failed
    assert "inclusion_proof" in v.failed


def test_entry_id_with_wrong_tree_fails_uuid(log: MiniLog) -> None:
    (eid, value) = next(iter(log.rest(1).items()))
    wrong = {f"{12345:016x}{eid[16:]}": value}
    v = verify_entry(RekorEntry.parse(wrong), LogKeys.of(log.key))
    assert v.failed == ["uuid"]
    assert "names tree 12345" in (v.check("uuid") or pytest.fail("check missing")).reason


def test_checkpoint_signed_by_an_untrusted_key(log: MiniLog) -> None:
    impostor = MiniLog(tree_id=log.tree_id, host=log.host)
    for b in log.bodies:
        impostor.append(b)
    raw = copy.deepcopy(log.rest(0))
    next(iter(raw.values()))["verification"]["inclusionProof"]["checkpoint"] = impostor.checkpoint()
    v = verify_entry(RekorEntry.parse(raw), LogKeys.of(log.key))
    assert v.failed == ["checkpoint_signature"]
    assert (
        "no checkpoint signature has the key hint"
        in (v.check("checkpoint_signature") or pytest.fail("check missing")).reason
    )


def test_unknown_shard_offset_is_a_skip_not_a_pass(log: MiniLog) -> None:
    v = verify_entry(RekorEntry.parse(log.rest(0)), LogKeys.of(log.key))
    assert v.ok
    assert v.outcome("index") is Outcome.SKIP


def test_rekor_v2_entry_has_no_time_and_no_set() -> None:
    log = MiniLog(v2=True, host="log2025-1.rekor.lab.test")
    for i in range(5):
        log.append(v2_body(i))
    raw = log.bundle(3)
    assert "integratedTime" not in raw
    keys = LogKeys.of(log.key)
    v = verify_entry(RekorEntry.parse(raw), keys)
    assert v.ok, v.reason
    assert v.outcome("set") is Outcome.SKIP
    assert v.integrated_time is None
    assert v.time_source is None
    assert v.to_log_entry().integrated_time is None
    assert v.decoded is not None
    assert v.decoded.kind == "hashedrekord/0.0.2"
    assert v.decoded.artifact_sha256 is not None
    tsa = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
    with_tsa = verify_entry(RekorEntry.parse({**raw, "integratedTime": "0"}), keys, tsa_time=tsa)
    assert (with_tsa.integrated_time, with_tsa.time_source) == (tsa, "rfc3161_tsa")


def test_v1_entry_with_time_but_no_set_fails(log: MiniLog) -> None:
    raw = log.bundle(0)
    del raw["inclusionPromise"]
    v = verify_entry(RekorEntry.parse(raw), LogKeys.of(log.key))
    assert v.failed == ["set"]
    assert v.integrated_time is None


def test_declared_kind_must_match_body(log: MiniLog) -> None:
    raw = log.bundle(0)
    raw["kindVersion"] = {"kind": "dsse", "version": "0.0.1"}
    assert "body" in verify_entry(RekorEntry.parse(raw), LogKeys.of(log.key)).failed


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("canonicalizedBody"), "not a Rekor entry"),
        (lambda d: d.update(logIndex="12x"), "logIndex must be"),
        (lambda d: d.update(canonicalizedBody="***"), "not valid base64"),
        (lambda d: d["inclusionProof"].update(treeSize=None), "treeSize is missing"),
        (lambda d: d["inclusionProof"].update(hashes="abc"), "hashes must be a list"),
        (lambda d: d.update(logId={}), "logId.keyId is missing"),
    ],
)
def test_malformed_bundle_entries_are_named(log: MiniLog, mutate: object, message: str) -> None:
    raw = log.bundle(0)
    mutate(raw)  # type: ignore[operator]
    with pytest.raises(MalformedEntry, match=message):
        RekorEntry.parse(raw)


def test_malformed_rest_entries_are_named(log: MiniLog) -> None:
    (eid, value) = next(iter(log.rest(0).items()))
    with pytest.raises(MalformedEntry, match="entry key must be"):
        RekorEntry.parse({"xyz": value})
    with pytest.raises(MalformedEntry, match="rootHash must be 32 bytes"):
        RekorEntry.parse(
            _tamper({eid: value}, ["verification", "inclusionProof", "rootHash"], "abcd")
        )
    with pytest.raises(MalformedEntry, match="exactly one entry"):
        RekorEntry.from_rest({eid: value, "0" * 64: value})
    with pytest.raises(MalformedEntry, match="must be a JSON object"):
        RekorEntry.parse([1, 2])


def test_compare_entries_reports_each_difference(log: MiniLog) -> None:
    embedded = RekorEntry.parse(log.bundle(1))
    served_raw = log.rest(2)
    (eid, value) = next(iter(served_raw.items()))
    served = RekorEntry.parse({eid: {**value, "logID": "cd" * 32}})
    diffs = compare_entries(embedded, served)
    assert [d.split(" ")[0] for d in diffs] == ["body", "integratedTime", "logIndex", "logID"]


def test_consistency_between_checkpoints(log: MiniLog) -> None:
    keys = LogKeys.of(log.key)
    proof = merkle_tree.consistency_path(3, log.leaves())
    ok = verify_consistency_proof(log.checkpoint(3), log.checkpoint(), proof, keys)
    assert ok.ok, ok.checks
    bad = verify_consistency_proof(
        log.checkpoint(3), log.checkpoint(), [b"\x00" * 32, *proof[1:]], keys
    )
    assert bad.failed == ["consistency_proof"]
    other = MiniLog(tree_id=42, host=log.host)
    other.append(b"x")
    mixed = verify_consistency_proof(other.checkpoint(), log.checkpoint(), proof)
    assert mixed.failed == ["origin"]


def test_log_info_parsing_and_errors(log: MiniLog) -> None:
    old = MiniLog(tree_id=7)
    for i in range(3):
        old.append(hashedrekord_body(100 + i))
    info = LogInfo.from_json(log.log_info([old]))
    assert info.shard_offsets() == {"7": 0, str(log.tree_id): 3}
    assert info.global_size == 3 + len(log.bodies)
    with pytest.raises(MalformedEntry, match="treeID"):
        LogInfo.from_json({**log.log_info(), "treeID": "abc"})


def test_decode_dsse_body_without_certificate_reports_problems() -> None:
    body = (
        b'{"apiVersion":"0.0.1","kind":"dsse","spec":{"payloadHash":{"algorithm":"sha256",'
        b'"value":"'
        + b"ab" * 32
        + b'"},"signatures":[{"signature":"AA==","verifier":"bm90IGEgY2VydA=="}]}}'
    )
    d = decode_body(body)
    assert d.kind == "dsse/0.0.1"
    assert d.payload_sha256 == "ab" * 32
    assert d.certificates == ()
    assert any("neither a PEM nor a DER" in p for p in d.problems)
    assert any("envelopeHash" in p for p in d.problems)
    with pytest.raises(MalformedEntry, match="not JSON"):
        decode_body(b"{")
