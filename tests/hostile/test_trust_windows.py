"""Trust-root validity windows against the signing time: file verdicts and the log checker agree.

sigstore-python only checks that a key's `validFor` window has started by today's clock. A root
whose Fulcio CA, Rekor key or CT key was retired before the signing time (or introduced after it)
must make the file INVALID with a reason naming the key, and the independent log checker must
reject the same entry for the Rekor key with the same words (one rule: `ValidityWindow.problem`).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from forensics.models import ProvenanceStatus
from forensics.primitives import ValidityWindow
from forensics.provenance.verify import ProvenanceVerifier
from forensics.rekor.entry import RekorEntry
from forensics.rekor.verify import Outcome, verify_entry
from tests.hostile.conftest import FILENAME, INTEGRATED_AT, SHA256, Signed

BEFORE = "2024-06-01T00:00:00Z"  # before the signing time
AFTER = "2025-02-01T00:00:00Z"  # after the signing time, before today


def _window(root: dict[str, Any], where: str, **bounds: str) -> dict[str, Any]:
    out = copy.deepcopy(root)
    if where == "ca":
        out["certificateAuthorities"][0]["validFor"] = bounds
    elif where == "rekor":
        out["tlogs"][0]["publicKey"]["validFor"] = bounds
    else:
        out["ctlogs"][0]["publicKey"]["validFor"] = bounds
    return out


CASES = [
    (
        "ca",
        {"start": "2024-01-01T00:00:00Z", "end": BEFORE},
        "after the validity window of the Fulcio CA",
    ),
    ("ca", {"start": AFTER}, "before the validity window of the Fulcio CA"),
    (
        "rekor",
        {"start": "2024-01-01T00:00:00Z", "end": BEFORE},
        "after the validity window of the Rekor key",
    ),
    ("rekor", {"start": AFTER}, "before the validity window of the Rekor key"),
    (
        "ct",
        {"start": "2024-01-01T00:00:00Z", "end": BEFORE},
        "after the validity window of the CT log key",
    ),
    ("ct", {"start": AFTER}, "before the validity window of the CT log key"),
]


@pytest.mark.parametrize(("where", "bounds", "fragment"), CASES)
def test_window_missing_the_signing_time_makes_the_file_invalid(
    signed: Signed, where: str, bounds: dict[str, str], fragment: str
) -> None:
    trust = signed.material(_window(signed.root, where, **bounds))
    fp = ProvenanceVerifier(trust).verify_provenance(
        signed.provenance(), filename=FILENAME, sha256=SHA256
    )
    assert fp.status is ProvenanceStatus.INVALID
    assert "trust root does not cover the signing time: integrated time 2024-12-04T20:50:02Z" in (
        fp.reason
    )
    assert fragment in fp.reason
    (entry,) = fp.attestations[0].log_entries
    assert entry.verified is False


@pytest.mark.parametrize(("where", "bounds", "fragment"), [c for c in CASES if c[0] == "rekor"])
def test_log_checker_gives_the_same_reason_for_the_rekor_key(
    signed: Signed, where: str, bounds: dict[str, str], fragment: str
) -> None:
    trust = signed.material(_window(signed.root, where, **bounds))
    tle = signed.attestation.verification_material.transparency_entries[0]
    verdict = verify_entry(RekorEntry.from_bundle(tle), trust.log_keys)
    check = verdict.check("log_key")
    assert check is not None and check.outcome is Outcome.FAIL
    assert fragment in check.reason
    fp = ProvenanceVerifier(trust).verify_provenance(
        signed.provenance(), filename=FILENAME, sha256=SHA256
    )
    assert check.reason in fp.reason  # one rule, one wording: the report cannot contradict itself


def test_covering_windows_verify(signed: Signed) -> None:
    trust = signed.material()
    fp = ProvenanceVerifier(trust).verify_provenance(
        signed.provenance(), filename=FILENAME, sha256=SHA256
    )
    assert fp.status is ProvenanceStatus.VERIFIED, fp.reason
    tle = signed.attestation.verification_material.transparency_entries[0]
    assert verify_entry(RekorEntry.from_bundle(tle), trust.log_keys).outcome("log_key") is (
        Outcome.PASS
    )


def test_a_rotated_key_listed_twice_passes_when_one_window_covers(signed: Signed) -> None:
    root = _window(signed.root, "rekor", start="2024-01-01T00:00:00Z", end=BEFORE)
    again = copy.deepcopy(signed.root["tlogs"][0])
    again["publicKey"]["validFor"] = {"start": BEFORE}
    root["tlogs"].append(again)
    cas = copy.deepcopy(signed.root["certificateAuthorities"][0])
    root["certificateAuthorities"][0]["validFor"] = {"start": AFTER}
    root["certificateAuthorities"].append(cas)
    trust = signed.material(root)
    fp = ProvenanceVerifier(trust).verify_provenance(
        signed.provenance(), filename=FILENAME, sha256=SHA256
    )
    assert fp.status is ProvenanceStatus.VERIFIED, fp.reason


@pytest.mark.parametrize(
    ("bounds", "outcome"),
    [
        ({"start": "2024-12-04T20:50:02Z"}, None),  # start inclusive
        ({"end": "2024-12-04T20:50:02Z"}, "after the validity window"),  # end exclusive
        ({"end": "2024-12-04T20:50:03Z"}, None),
        ({"start": "2024-12-04T20:50:03Z"}, "before the validity window"),
    ],
)
def test_window_edges(bounds: dict[str, str], outcome: str | None) -> None:
    window = ValidityWindow.from_json(bounds, "x")
    problem = window.problem(INTEGRATED_AT, key="k", time_label="t")
    assert (problem is None) if outcome is None else (outcome in str(problem))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "x.validFor must be an object"),
        ({"start": 5}, "x.validFor.start must be a timestamp string"),
        ({"start": "yesterday"}, "x.validFor.start 'yesterday' is not a timestamp"),
        (
            {"start": AFTER, "end": BEFORE},
            "x.validFor ends (2024-06-01T00:00:00Z) before it starts",
        ),
    ],
)
def test_malformed_windows_are_named(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ValidityWindow.from_json(value, "x")
