"""Hostile transparency-log data: REST entries, bundle entries, entry bodies, checkpoints.

One parser (`RekorEntry`) reads both encodings (REST: hex and JSON numbers; bundle: base64 and
decimal strings); each hostile input must end in `MalformedEntry`/`NoteError` naming the field,
or in a body `problems` line / a failed check with its reason. Never another exception.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from forensics.primitives import NoteError, parse_checkpoint
from forensics.rekor.entry import MalformedEntry, RekorEntry, decode_body
from forensics.rekor.verify import Outcome, verify_entry
from tests.hostile.conftest import Signed


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def set_path(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return out


DELETE = object()

REST_CASES = [
    ("body", "!!not base64", "LogEntry.body is not valid base64"),
    ("body", 5, "LogEntry.body must be a base64 string, got int"),
    ("body", DELETE, "LogEntry.body is missing"),
    ("logIndex", -1, "LogEntry.logIndex is negative"),
    ("logIndex", True, "LogEntry.logIndex must be an integer, got True"),
    ("logIndex", "12", "LogEntry.logIndex must be an integer, got '12'"),
    ("logIndex", 2**70, "LogEntry.logIndex 1180591620717411303424 is out of range"),
    ("logIndex", 1.5, "LogEntry.logIndex must be an integer, got 1.5"),
    ("integratedTime", 10**13, "LogEntry.integratedTime 10000000000000 is out of range"),
    ("integratedTime", "1733345402", "LogEntry.integratedTime must be an integer"),
    ("logID", "zz" * 32, "LogEntry.logID is not valid hex"),
    ("logID", "00" * 31, "LogEntry.logID must be 32 bytes, got 31"),
    ("logID", ["00"], "LogEntry.logID must be a hex string, got list"),
    ("verification", [], "LogEntry.verification is not a JSON object"),
    ("verification.inclusionProof.hashes", "00", "inclusionProof.hashes must be a list"),
    ("verification.inclusionProof.hashes", ["xyz"], "inclusionProof.hashes[0] is not valid hex"),
    ("verification.inclusionProof.checkpoint", 5, "inclusionProof.checkpoint must be a string"),
    ("verification.inclusionProof.rootHash", DELETE, "inclusionProof.rootHash is missing"),
    ("verification.inclusionProof.treeSize", -3, "inclusionProof.treeSize is negative"),
    ("verification.signedEntryTimestamp", "%%", "signedEntryTimestamp is not valid base64"),
]


@pytest.mark.parametrize(("path", "value", "message"), REST_CASES)
def test_hostile_rest_entry_fields(signed: Signed, path: str, value: Any, message: str) -> None:
    ((key, value0),) = signed.log.rest_entry(1000).items()
    hostile = {key: set_path(value0, path, value)}
    with pytest.raises(MalformedEntry) as info:
        RekorEntry.parse(hostile)
    # The REST form names the entry: LogEntry[<entry ID>].field
    assert message.replace("LogEntry.", f"LogEntry[{key}].") in info.value.message


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"x" * 64: {}}, "entry key must be a 64-hex UUID or 80-hex entry ID"),
        ({"a" * 64: {}, "b" * 64: {}}, "not a Rekor entry"),
        ([], "a Rekor entry must be a JSON object, got list"),
        ({"a" * 64: "body"}, "is not a JSON object (got str)"),
    ],
)
def test_hostile_rest_entry_shapes(doc: Any, message: str) -> None:
    with pytest.raises(MalformedEntry) as info:
        RekorEntry.parse(doc)
    assert message in info.value.message


BUNDLE_CASES = [
    ("logIndex", "9" * 30, "tlogEntry.logIndex must be an integer or decimal string"),
    ("logIndex", "\u0661\u0662", "tlogEntry.logIndex must be an integer or decimal string"),
    ("logIndex", "-5", "tlogEntry.logIndex is negative"),
    ("logIndex", "", "tlogEntry.logIndex must be"),
    ("integratedTime", "99999999999999", "tlogEntry.integratedTime 99999999999999 is out of range"),
    ("integratedTime", "1e9", "tlogEntry.integratedTime must be"),
    ("logId.keyId", "not base64!", "tlogEntry.logId.keyId is not valid base64"),
    ("logId", "abc", "tlogEntry.logId is not a JSON object"),
    ("canonicalizedBody", "%%%", "tlogEntry.canonicalizedBody is not valid base64"),
    ("kindVersion.kind", DELETE, "tlogEntry.kindVersion.kind is missing"),
    ("kindVersion.kind", "dsse\ud800", "tlogEntry.kindVersion 'dsse\\ud800/0.0.1' holds text"),
    ("inclusionPromise", {}, "inclusionPromise.signedEntryTimestamp is missing"),
    ("inclusionProof.hashes", {}, "tlogEntry.inclusionProof.hashes must be a list"),
    ("inclusionProof.hashes", ["**"], "tlogEntry.inclusionProof.hashes[0] is not valid base64"),
    ("inclusionProof.checkpoint", {}, "inclusionProof.checkpoint.envelope is missing"),
    ("inclusionProof.checkpoint", {"envelope": 3}, "checkpoint.envelope must be a string"),
    ("inclusionProof.treeSize", "x", "tlogEntry.inclusionProof.treeSize must be"),
]


@pytest.mark.parametrize(("path", "value", "message"), BUNDLE_CASES)
def test_hostile_bundle_entry_fields(signed: Signed, path: str, value: Any, message: str) -> None:
    tle = signed.attestation.verification_material.transparency_entries[0]
    with pytest.raises(MalformedEntry) as info:
        RekorEntry.from_bundle(set_path(dict(tle), path, value))
    assert message in info.value.message


def test_both_encodings_give_one_model(signed: Signed) -> None:
    rest = RekorEntry.parse(signed.log.rest_entry(1000))
    bundle = RekorEntry.parse(signed.attestation.verification_material.transparency_entries[0])
    assert (rest.body, rest.log_index, rest.log_id, rest.integrated_time) == (
        bundle.body,
        bundle.log_index,
        bundle.log_id,
        bundle.integrated_time,
    )
    assert rest.to_log_entry().uuid == bundle.to_log_entry().uuid


def body(doc: Any) -> bytes:
    return doc if isinstance(doc, bytes) else json.dumps(doc).encode()


BODY_ERRORS = [
    (b"not json", "entry body is not JSON"),
    (b"[" * 5000 + b"]" * 5000, "entry body is JSON nested too deeply"),
    ([], "entry body is not a JSON object with a `kind`"),
    ({"kind": 5}, "entry body is not a JSON object with a `kind`"),
    ({"kind": "x\udfff", "spec": {}}, "entry body kind 'x\\udfff/?' holds text no encoding"),
    ({"kind": "dsse", "apiVersion": "0.0.1", "spec": []}, "dsse/0.0.1 body has no `spec` object"),
]


@pytest.mark.parametrize(("raw", "message"), BODY_ERRORS)
def test_hostile_body_is_malformed(raw: Any, message: str) -> None:
    with pytest.raises(MalformedEntry) as info:
        decode_body(body(raw))
    assert message in info.value.message


BODY_PROBLEMS = [
    ({"kind": "dsse", "apiVersion": "0.0.1", "spec": {"signatures": ["x", 5]}}, "signatures[0]"),
    ({"kind": "dsse", "apiVersion": "0.0.1", "spec": {"envelopeHash": []}}, "envelopeHash"),
    (
        {
            "kind": "dsse",
            "apiVersion": "0.0.1",
            "spec": {"payloadHash": {"algorithm": "md5", "value": "00"}},
        },
        "payloadHash uses unsupported hash algorithm 'md5'",
    ),
    (
        {"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {"data": {"hash": "x"}}},
        "data.hash has no digest value",
    ),
    (
        {
            "kind": "hashedrekord",
            "apiVersion": "0.0.1",
            "spec": {"signature": {"content": "!!", "publicKey": {"content": b64(b"junk")}}},
        },
        "signature.content is not valid base64",
    ),
    (
        {
            "kind": "hashedrekord",
            "apiVersion": "0.0.1",
            "spec": {"signature": {"content": "AA==", "publicKey": {"content": b64(b"junk")}}},
        },
        "verifier is neither a PEM nor a DER certificate",
    ),
    (
        {
            "kind": "hashedrekord",
            "apiVersion": "0.0.1",
            "spec": {
                "signature": {
                    "content": "AA==",
                    "publicKey": {"content": b64(b"-----BEGIN CERTIFICATE-----\nx")},
                }
            },
        },
        "verifier PEM certificate does not parse",
    ),
    (
        {
            "kind": "dsse",
            "apiVersion": "0.0.2",
            "spec": {"dsseV002": {"signatures": [{"content": "AA==", "verifier": "pem"}]}},
        },
        "signatures[0].verifier.rawBytes is missing",
    ),
    (
        {
            "kind": "hashedrekord",
            "apiVersion": "0.0.2",
            "spec": {
                "hashedRekordV002": {"data": {"algorithm": "SHA2_256", "digest": b64(b"short")}}
            },
        },
        "data digest is 5 bytes, not 32",
    ),
    (
        {"kind": "rekord", "apiVersion": "0.0.1", "spec": {}},
        "entry kind rekord/0.0.1 is not decoded",
    ),
]


@pytest.mark.parametrize(("raw", "problem"), BODY_PROBLEMS)
def test_hostile_body_parts_become_problems(raw: Any, problem: str) -> None:
    decoded = decode_body(body(raw))
    assert any(problem in p for p in decoded.problems), decoded.problems


CHECKPOINTS = [
    ("no blank line", "checkpoint has no blank line"),
    ("origin\n1\n\n— x AAAAAAA=\n", "checkpoint body needs origin, tree size and root hash"),
    ("\n1\nAA==\n\n— x AAAAAAA=\n", "checkpoint origin line is empty"),
    ("o\n\u00b2\nAA==\n\n— x AAAAAAA=\n", "checkpoint tree size is not a decimal number"),
    ("o\n" + "9" * 5000 + "\nAA==\n\n— x AAAAAAA=\n", "tree size is not a decimal number"),
    ("o\n1\n!!\n\n— x AAAAAAA=\n", "checkpoint root hash is not base64"),
    ("o\n1\nAA==\n\n- x AAAAAAA=\n", "signature line does not start with an em dash"),
    ("o\n1\nAA==\n\n— x !!!\n", "malformed signature line"),
    ("o\n1\nAA==\n\n— x AAAA\n", "signature is shorter than its 4-byte key hint"),
    ("o\n1\nAA==\n\n", "checkpoint carries no signature"),
    ("o\ud800\n1\nAA==\n\n— x AAAAAAA=\n", "checkpoint holds text that is not UTF-8"),
]


@pytest.mark.parametrize(("text", "message"), CHECKPOINTS)
def test_hostile_checkpoints(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_checkpoint(text)


def test_checkpoint_with_surrogate_fails_the_check_not_the_run(signed: Signed) -> None:
    ((key, value),) = signed.log.rest_entry(1000).items()
    proof = value["verification"]["inclusionProof"]
    hostile = {
        key: set_path(
            value,
            "verification.inclusionProof.checkpoint",
            proof["checkpoint"].replace("\n", "\ud800\n", 1),
        )
    }
    verdict = verify_entry(RekorEntry.parse(hostile), signed.material().log_keys)
    check = verdict.check("checkpoint")
    assert check is not None and check.outcome is Outcome.FAIL
    assert "checkpoint holds text that is not UTF-8" in check.reason
    assert not verdict.ok


LOG_INFO = [
    (
        {"treeID": "9" * 5000, "treeSize": 1, "rootHash": "00" * 32, "signedTreeHead": "s"},
        "log.treeID must be a decimal tree ID",
    ),
    (
        {"treeID": "\u0661", "treeSize": 1, "rootHash": "00" * 32, "signedTreeHead": "s"},
        "log.treeID must be a decimal tree ID",
    ),
    (
        {"treeID": "x1", "treeSize": 1, "rootHash": "00" * 32, "signedTreeHead": "s"},
        "log.treeID must be a decimal tree ID",
    ),
    (
        {"treeID": "1", "treeSize": -1, "rootHash": "00" * 32, "signedTreeHead": "s"},
        "log.treeSize is negative",
    ),
    (
        {"treeID": "1", "treeSize": 1, "rootHash": "0g" * 32, "signedTreeHead": "s"},
        "log.rootHash is not valid hex",
    ),
    (
        {"treeID": "1", "treeSize": 1, "rootHash": "00" * 32, "signedTreeHead": 5},
        "log.signedTreeHead must be a string",
    ),
    (
        {
            "treeID": "1",
            "treeSize": 1,
            "rootHash": "00" * 32,
            "signedTreeHead": "s",
            "inactiveShards": {},
        },
        "log.inactiveShards must be a list",
    ),
    (
        {
            "treeID": "1",
            "treeSize": 1,
            "rootHash": "00" * 32,
            "signedTreeHead": "s",
            "inactiveShards": [{"treeID": "2"}],
        },
        "log.inactiveShards[0].signedTreeHead is missing",
    ),
    ([], "log info must be a JSON object, got list"),
]


@pytest.mark.parametrize(("doc", "message"), LOG_INFO)
def test_hostile_log_info(doc: Any, message: str) -> None:
    from forensics.rekor.entry import LogInfo

    with pytest.raises(MalformedEntry, match=message.replace("[", r"\[").replace("]", r"\]")):
        LogInfo.from_json(doc)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100000, "with a body that is not JSON"),
        (b"\xff", "with a body that is not JSON"),
        (b'{"treeID": "1"}', "served malformed log info: log.signedTreeHead is missing"),
    ],
)
def test_hostile_log_answers_are_source_errors(tmp_path: Any, body: bytes, message: str) -> None:
    from forensics.errors import ForensicsError
    from forensics.evidence.store import EvidenceStore
    from forensics.rekor.client import RecordedRekor
    from tests.collect.support import NOW

    with EvidenceStore.open(tmp_path / "case") as store:
        store.put_response(
            source="rekor",
            url="https://rekor.example/api/v1/log",
            status=200,
            headers={},
            body=body,
            retrieved_at=NOW,
        )
        with pytest.raises(ForensicsError) as info:
            RecordedRekor(store, "https://rekor.example").log_info()
    assert message in info.value.message
