"""Hostile PEP 740 provenance objects: each mutation of a genuine lab object has one verdict.

The base object is signed by the lab CA and verifies against the lab root; each case changes one
thing and asserts the status and a fragment of the reason. An unverified transparency entry
appended to a valid attestation is never evidence: the file stays verified and only the first
(verified) entry is listed.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from forensics.models import ProvenanceStatus
from forensics.provenance.verify import ProvenanceVerifier
from forensics_lab.sign import attestation_json
from tests.hostile.conftest import FILENAME, PUBLISHER, SHA256, Signed

Obj = dict[str, Any]
V, BAD, U = ProvenanceStatus.VERIFIED, ProvenanceStatus.INVALID, ProvenanceStatus.UNKNOWN


def att(o: Obj) -> Obj:
    result: Obj = o["attestation_bundles"][0]["attestations"][0]
    return result


def tles(o: Obj) -> list[Any]:
    result: list[Any] = att(o)["verification_material"]["transparency_entries"]
    return result


def set_in(path: str, value: Any) -> Callable[[Obj], None]:
    def apply(o: Obj) -> None:
        node: Any = o
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return apply


def append_entry(entry: Callable[[Obj], Any]) -> Callable[[Obj], None]:
    def apply(o: Obj) -> None:
        tles(o).append(entry(o))

    return apply


def statement(change: Callable[[Obj], None]) -> Callable[[Obj], None]:
    """Rewrite the DSSE statement (the signature then no longer matches: INVALID either way)."""

    def apply(o: Obj) -> None:
        env = att(o)["envelope"]
        stmt = json.loads(base64.b64decode(env["statement"]))
        change(stmt)
        env["statement"] = base64.b64encode(json.dumps(stmt).encode()).decode()

    return apply


def first_entry(path: str, value: Any) -> Callable[[Obj], None]:
    def apply(o: Obj) -> None:
        set_in(path, value)(tles(o)[0])

    return apply


CASES: list[tuple[str, Callable[[Obj], None], ProvenanceStatus, str]] = [
    ("genuine", lambda o: None, V, ""),
    (
        "publisher-surrogate",
        set_in("attestation_bundles.0.publisher.repository", "example/x\ud800"),
        BAD,
        "publisher repository: 'example/x\\ud800' holds code points no encoding can write",
    ),
    ("version-2", set_in("version", 2), BAD, "unsupported provenance version 2"),
    ("version-true", set_in("version", True), BAD, "unsupported provenance version True"),
    (
        "bundles-object",
        set_in("attestation_bundles", {}),
        BAD,
        "attestation_bundles must be a list",
    ),
    ("bundles-empty", set_in("attestation_bundles", []), BAD, "has no attestation bundles"),
    ("bundle-string", set_in("attestation_bundles.0", "x"), BAD, "bundle 1: must be an object"),
    (
        "publisher-list",
        set_in("attestation_bundles.0.publisher", []),
        BAD,
        "publisher must be an object, got list",
    ),
    (
        "publisher-unknown-kind",
        set_in("attestation_bundles.0.publisher", {"kind": "Forge"}),
        U,
        "publisher kind 'Forge' is not supported",
    ),
    (
        "publisher-malformed",
        set_in("attestation_bundles.0.publisher", {"kind": "GitHub"}),
        BAD,
        "publisher is malformed",
    ),
    (
        "publisher-other-workflow",
        set_in("attestation_bundles.0.publisher.workflow", "evil.yml"),
        BAD,
        "certificate identity does not match the publisher PyPI recorded",
    ),
    (
        "attestations-object",
        set_in("attestation_bundles.0.attestations", {}),
        BAD,
        "attestations must be a list, got dict",
    ),
    (
        "attestations-empty",
        set_in("attestation_bundles.0.attestations", []),
        BAD,
        "has no attestations",
    ),
    (
        "attestation-number",
        set_in("attestation_bundles.0.attestations.0", 5),
        BAD,
        "attestation must be an object, got int",
    ),
    (
        "attestation-malformed",
        set_in("attestation_bundles.0.attestations.0", {"version": 1}),
        BAD,
        "attestation is malformed",
    ),
    (
        "certificate-garbage",
        lambda o: set_in("certificate", base64.b64encode(b"junk").decode())(
            att(o)["verification_material"]
        ),
        BAD,
        "certificate is not valid DER X.509",
    ),
    (
        "signature-flipped",
        lambda o: set_in("signature", base64.b64encode(b"\0" * 64).decode())(att(o)["envelope"]),
        BAD,
        "signature does not verify",
    ),
    (
        "statement-other-digest",
        statement(lambda s: s["subject"][0]["digest"].update(sha256="cd" * 32)),
        BAD,
        "statement subject sha256 " + "cd" * 32 + " does not match",
    ),
    (
        "statement-two-subjects",
        statement(lambda s: s["subject"].append(s["subject"][0])),
        BAD,
        "statement must have exactly one subject (got 2)",
    ),
    (
        "statement-other-name",
        statement(lambda s: s["subject"][0].update(name="other-1.0.tar.gz")),
        BAD,
        "subject name 'other-1.0.tar.gz' does not match",
    ),
    (
        "statement-unknown-predicate",
        statement(lambda s: s.update(predicateType="x")),
        BAD,
        "unknown predicate type 'x'",
    ),
    (
        "statement-deep",
        lambda o: set_in("statement", base64.b64encode(b"[" * 100 + b"]" * 100).decode())(
            att(o)["envelope"]
        ),
        BAD,
        "statement is not usable JSON: nested deeper than 64 levels",
    ),
    (
        "first-entry-index-huge",
        first_entry("logIndex", "9" * 30),
        BAD,
        "transparency entry 1: transparency entry is malformed: tlogEntry.logIndex must be",
    ),
    (
        "first-entry-time-far",
        first_entry("integratedTime", "99999999999999"),
        BAD,
        "tlogEntry.integratedTime 99999999999999 is out of range",
    ),
    (
        "first-entry-garbage",
        set_in(
            "attestation_bundles.0.attestations.0.verification_material.transparency_entries.0", "x"
        ),
        BAD,
        "is malformed",
    ),
    (
        "appended-copy-other-index",
        append_entry(lambda o: dict(tles(o)[0], logIndex="1", integratedTime="1000000000")),
        V,
        "1 further transparency entry not verified",
    ),
    (
        "appended-garbage",
        append_entry(lambda o: {"kindVersion": {}}),
        V,
        "transparency entry 2 ignored: transparency entry is malformed",
    ),
    # pypi-attestations' own model refuses a non-object entry before any check runs
    (
        "appended-string",
        append_entry(lambda o: "entry"),
        BAD,
        "attestation is malformed: verification_material.transparency_entries.1",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_hostile_provenance(
    signed: Signed,
    case: str,
    mutate: Callable[[Obj], None],
    status: ProvenanceStatus,
    reason: str,
) -> None:
    obj: Obj = {
        "attestation_bundles": [
            {
                "attestations": [attestation_json(signed.attestation)],
                "publisher": copy.deepcopy(PUBLISHER),
            }
        ],
        "version": 1,
    }
    mutate(obj)
    verifier = ProvenanceVerifier(signed.material())
    fp = verifier.verify_provenance(json.dumps(obj).encode(), filename=FILENAME, sha256=SHA256)
    assert fp.status is status, fp.reason
    text = fp.reason + " ".join(a.reason for a in fp.attestations)
    assert reason in text, text
    if status is V:
        # Evidence is only what was verified: exactly one log entry, verified.
        assert [e.verified for e in fp.log_entries] == [True]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "provenance is not valid JSON: line 1 column 1"),
        (b'{"a": "\xff"}', "provenance is not valid JSON: not UTF-8 text"),
        (b"[1]", "provenance must be a JSON object, got list"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "nested deeper than 64 levels"),
        (b"[" * 100000, "provenance is not usable JSON: nested deeper than 64 levels"),
        (b'{"version": 1, "attestation_bundles": [' + b"9" * 5000 + b"]}", "not usable JSON"),
    ],
)
def test_unusable_provenance_bytes(signed: Signed, raw: bytes, reason: str) -> None:
    fp = ProvenanceVerifier(signed.material()).verify_provenance(
        raw, filename=FILENAME, sha256=SHA256
    )
    assert fp.status is BAD
    assert reason in fp.reason


@pytest.mark.parametrize(
    "extra",
    [
        {"logIndex": "1", "integratedTime": "1000000000"},
        {"logIndex": "99999", "canonicalizedBody": base64.b64encode(b'{"kind":"x"}').decode()},
    ],
)
def test_appended_entry_is_not_offered_to_the_log_recovery(
    signed: Signed, extra: dict[str, str]
) -> None:
    from forensics.rekor.recover import embedded_entries

    obj: Obj = {
        "attestation_bundles": [
            {"attestations": [attestation_json(signed.attestation)], "publisher": PUBLISHER}
        ],
        "version": 1,
    }
    tles(obj).append(dict(tles(obj)[0], **extra))
    (entry,) = embedded_entries(json.dumps(obj).encode())
    assert entry.log_index == int(tles(obj)[0]["logIndex"])
