"""Verification of genuine PEP 740 provenance, and of copies tampered with inside each test."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forensics.errors import InputError
from forensics.models import ProvenanceStatus
from forensics.provenance import ProvenanceVerifier, describe, load_trusted_root
from forensics.provenance.verify import PYPI_ATTESTATIONS_VERSION, log_entry_from_tle

SAMPLE_SDIST = "sampleproject/sampleproject-4.0.0.tar.gz"
SAMPLE_WHEEL = "sampleproject/sampleproject-4.0.0-py3-none-any.whl"
PA19 = "pypi-attestations/pypi_attestations-0.0.19.tar.gz"
PA28 = "pypi-attestations/pypi_attestations-0.0.28.tar.gz"
PUBLISH_V1 = "https://docs.pypi.org/attestations/publish/v1"
SLSA_V1 = "https://slsa.dev/provenance/v1"

LoadJson = Callable[[str], Any]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def first_attestation(prov: dict[str, Any]) -> dict[str, Any]:
    att: dict[str, Any] = prov["attestation_bundles"][0]["attestations"][0]
    return att


def verify_sample(verifier: ProvenanceVerifier, pep740: Path, prov: Any) -> Any:
    dist = pep740 / SAMPLE_SDIST
    return verifier.verify_provenance(dumps(prov), filename=dist.name, sha256=sha256_of(dist))


# ----------------------------------------------------------------- genuine material verifies

GENUINE = [
    (SAMPLE_SDIST, f"{SAMPLE_SDIST}.provenance", "GitHub"),
    (SAMPLE_SDIST, f"{SAMPLE_SDIST}.provenance.integrity-api-doc-example.json", "GitHub"),
    ("sigstore/sigstore-3.6.1.tar.gz", "sigstore/sigstore-3.6.1.tar.gz.provenance", "GitHub"),
    (
        "abi3info/abi3info-2024.10.3-py3-none-any.whl",
        "abi3info/abi3info-2024.10.3-py3-none-any.whl.provenance",
        "GitHub",
    ),
    (
        "abi3info/abi3info-2024.10.8-py3-none-any.whl",
        "abi3info/abi3info-2024.10.8-py3-none-any.whl.provenance",
        "GitHub",
    ),
    (
        "abi3info/abi3info-2024.10.8.tar.gz",
        "abi3info/abi3info-2024.10.8.tar.gz.provenance",
        "GitHub",
    ),
    (
        "gcb-attestation-test/gcb_attestation_test-0.0.0.tar.gz",
        "gcb-attestation-test/gcb_attestation_test-0.0.0.tar.gz.provenance",
        "Google",
    ),
    (
        "circleci-sign-publish-example/circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl",
        "circleci-sign-publish-example/"
        "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl.provenance",
        "CircleCI",
    ),
    (PA19, f"{PA19}.provenance", "GitHub"),
]


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("dist", "prov", "kind"), GENUINE, ids=[g[1].split("/")[1] for g in GENUINE]
)
def test_genuine_provenance_verifies(
    verifier: ProvenanceVerifier, pep740: Path, dist: str, prov: str, kind: str
) -> None:
    fp = verifier.verify_file(pep740 / dist, pep740 / prov)
    assert fp.status is ProvenanceStatus.VERIFIED, fp.reason
    assert fp.reason == ""
    assert fp.publisher is not None
    assert fp.publisher.kind == kind
    for att in fp.attestations:
        assert att.verified, att.reason
        assert att.subject_sha256 == sha256_of(pep740 / dist)
        assert all(entry.verified for entry in att.log_entries)
        assert att.certificate is not None
    assert fp.evidence is not None
    assert fp.evidence.sha256 == sha256_of(pep740 / prov)


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("dist", "attestation", "predicate_type"),
    [
        (SAMPLE_WHEEL, f"{SAMPLE_WHEEL}.publish.attestation", PUBLISH_V1),
        (
            "gitlab-oidc-project/gitlab_oidc_project-0.0.3.tar.gz",
            "gitlab-oidc-project/gitlab_oidc_project-0.0.3.tar.gz.publish.attestation",
            PUBLISH_V1,
        ),
        (
            "circleci-sign-publish-example/circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl",
            "circleci-sign-publish-example/"
            "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl.publish.attestation",
            PUBLISH_V1,
        ),
        (PA19, f"{PA19}.slsa.attestation", SLSA_V1),
        (PA28, f"{PA28}.publish.attestation", PUBLISH_V1),
    ],
)
def test_bare_attestation_verifies_and_says_identity_unchecked(
    verifier: ProvenanceVerifier, pep740: Path, dist: str, attestation: str, predicate_type: str
) -> None:
    fp = verifier.verify_file(pep740 / dist, pep740 / attestation)
    assert fp.status is ProvenanceStatus.VERIFIED, fp.reason
    assert "identity not checked: no publisher was given" in fp.reason
    (att,) = fp.attestations
    assert att.verified
    assert att.publisher is None
    assert att.predicate_type == predicate_type
    if predicate_type == SLSA_V1:
        assert att.predicate is not None
        assert att.predicate["buildDefinition"]["resolvedDependencies"][0]["digest"] == {
            "gitCommit": "08802efe1f8e5fec4ad842d6b8ce97656092ee72"
        }


@pytest.mark.realdata
def test_gitlab_attestation_with_its_publisher(verifier: ProvenanceVerifier, pep740: Path) -> None:
    dist = pep740 / "gitlab-oidc-project/gitlab_oidc_project-0.0.3.tar.gz"
    publisher = {
        "kind": "GitLab",
        "repository": "facutuesca/gitlab-oidc-project",
        "workflow_filepath": ".gitlab-ci.yml",
        "environment": "",
    }
    fp = verifier.verify_file(dist, Path(f"{dist}.publish.attestation"), publisher=publisher)
    assert fp.status is ProvenanceStatus.VERIFIED, fp.reason
    assert fp.reason == ""
    assert fp.publisher is not None
    assert (fp.publisher.repository, fp.publisher.workflow, fp.publisher.environment) == (
        "facutuesca/gitlab-oidc-project",
        ".gitlab-ci.yml",
        None,
    )


@pytest.mark.realdata
def test_pypi_attestations_0_0_19_provenance_has_only_the_publish_attestation(
    verifier: ProvenanceVerifier, pep740: Path
) -> None:
    fp = verifier.verify_file(pep740 / PA19, pep740 / f"{PA19}.provenance")
    assert [a.predicate_type for a in fp.attestations] == [PUBLISH_V1]
    (entry,) = fp.log_entries
    assert entry.log_index == 153454663
    assert entry.shard_log_index == 31550401
    assert entry.tree_size == 31550402
    assert entry.integrated_time == datetime(2024, 12, 4, 23, 14, 1, tzinfo=UTC)
    assert entry.kind == "dsse/0.0.1"
    assert entry.log_id.startswith("c0d23d6a")
    assert entry.log_id.endswith("801d")
    assert entry.checkpoint_origin == "rekor.sigstore.dev - 1193050959916656506"
    # Rekor entry ID = %016x(treeID) + uuid; formats.md §8.3 quotes 108e9186e8c5677add61edc0…57af.
    entry_id = f"{1193050959916656506:016x}{entry.uuid}"
    assert entry_id.startswith("108e9186e8c5677add61edc0")
    assert entry_id.endswith("57af")
    assert entry.verified is True
    assert fp.claims["source_commit"] == "08802efe1f8e5fec4ad842d6b8ce97656092ee72"


@pytest.mark.realdata
def test_repository_move_is_a_real_publisher_divergence(
    verifier: ProvenanceVerifier, pep740: Path
) -> None:
    dist, att = pep740 / PA28, pep740 / f"{PA28}.publish.attestation"
    old = {
        "kind": "GitHub",
        "repository": "trailofbits/pypi-attestations",
        "workflow": "release.yml",
    }
    new = {**old, "repository": "pypi/pypi-attestations"}
    fp_old = verifier.verify_file(dist, att, publisher=old)
    assert fp_old.status is ProvenanceStatus.INVALID
    assert fp_old.reason.startswith(
        "attestation (publish/v1): certificate identity does not match the publisher PyPI "
        "recorded (GitHub trailofbits/pypi-attestations release.yml): "
    )
    assert "got https://github.com/pypi/pypi-attestations" in fp_old.reason
    # The cryptography itself is intact: only the identity differs.
    assert fp_old.attestations[0].log_entries[0].verified is True
    fp_new = verifier.verify_file(dist, att, publisher=new)
    assert fp_new.status is ProvenanceStatus.VERIFIED, fp_new.reason


# ----------------------------------------------------------------- tampered copies fail


@pytest.mark.realdata
def test_swapped_file_fails_on_sha256(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    sdist_sha, wheel_sha = sha256_of(pep740 / SAMPLE_SDIST), sha256_of(pep740 / SAMPLE_WHEEL)
    fp = verifier.verify_provenance(
        dumps(prov), filename="sampleproject-4.0.0.tar.gz", sha256=wheel_sha
    )
    assert fp.status is ProvenanceStatus.INVALID
    assert fp.reason == (
        "bundle 1 (GitHub pypa/sampleproject release.yml) attestation 1 (publish/v1): "
        f"statement subject sha256 {sdist_sha} does not match the file's sha256 {wheel_sha}"
    )
    # Crypto and identity are fine: the failure is attributed to the subject only.
    assert fp.attestations[0].log_entries[0].verified is True


@pytest.mark.realdata
def test_swapped_file_name_and_digest(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    wheel = pep740 / SAMPLE_WHEEL
    fp = verifier.verify_provenance(dumps(prov), filename=wheel.name, sha256=sha256_of(wheel))
    assert fp.status is ProvenanceStatus.INVALID
    assert (
        "subject name 'sampleproject-4.0.0.tar.gz' does not match the distribution filename "
        "'sampleproject-4.0.0-py3-none-any.whl'" in fp.reason
    )
    assert "does not match the file's sha256" in fp.reason


@pytest.mark.realdata
def test_subject_name_compared_after_parsing(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    # pypi-attestations >= 0.0.27 compares parsed names: case and separators are not significant.
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    sha = sha256_of(pep740 / SAMPLE_SDIST)
    fp = verifier.verify_provenance(dumps(prov), filename="SampleProject-4.0.0.tar.gz", sha256=sha)
    assert fp.status is ProvenanceStatus.VERIFIED, fp.reason
    fp = verifier.verify_provenance(dumps(prov), filename="sampleproject-4.0.1.tar.gz", sha256=sha)
    assert fp.status is ProvenanceStatus.INVALID
    assert "does not match the distribution filename 'sampleproject-4.0.1.tar.gz'" in fp.reason


@pytest.mark.realdata
def test_altered_statement_fails_on_signature(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    att = first_attestation(prov)
    statement = bytearray(base64.b64decode(att["envelope"]["statement"]))
    index = statement.index(b"sampleproject")
    statement[index] = ord("S")  # still valid JSON, still the same parsed name
    att["envelope"]["statement"] = base64.b64encode(bytes(statement)).decode()
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.INVALID
    assert (
        "attestation 1 (publish/v1): signature does not verify: DSSE: invalid signature"
        in fp.reason
    )
    assert fp.attestations[0].log_entries[0].verified is False


@pytest.mark.realdata
def test_altered_signature_fails(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    att = first_attestation(prov)
    signature = bytearray(base64.b64decode(att["envelope"]["signature"]))
    signature[-1] ^= 0x01
    att["envelope"]["signature"] = base64.b64encode(bytes(signature)).decode()
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.INVALID
    assert "signature does not verify" in fp.reason


@pytest.mark.realdata
def test_altered_integrated_time_fails_the_log_entry(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    tle = first_attestation(prov)["verification_material"]["transparency_entries"][0]
    tle["integratedTime"] = str(int(tle["integratedTime"]) + 60)
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.INVALID
    assert "transparency log entry does not verify" in fp.reason
    assert "SET" in fp.reason


@pytest.mark.realdata
def test_altered_inclusion_proof_fails(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    proof = first_attestation(prov)["verification_material"]["transparency_entries"][0][
        "inclusionProof"
    ]
    digest = bytearray(base64.b64decode(proof["hashes"][0]))
    digest[0] ^= 0xFF
    proof["hashes"][0] = base64.b64encode(bytes(digest)).decode()
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.INVALID
    assert (
        "transparency log entry does not verify (inclusion proof, checkpoint or SET)" in fp.reason
    )


@pytest.mark.realdata
def test_missing_inclusion_promise_is_reported(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    del first_attestation(prov)["verification_material"]["transparency_entries"][0][
        "inclusionPromise"
    ]
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.INVALID
    assert "cannot be turned into a Sigstore bundle" in fp.reason
    assert "inclusion promise" in fp.reason


@pytest.mark.realdata
def test_wrong_trust_root_staging(pep740: Path, real_data: Path) -> None:
    staging = ProvenanceVerifier(load_trusted_root(real_data / "trust/staging.trusted_root.json"))
    fp = staging.verify_file(pep740 / SAMPLE_SDIST, pep740 / f"{SAMPLE_SDIST}.provenance")
    assert fp.status is ProvenanceStatus.INVALID
    assert "certificate was not issued by a CA in the trust root" in fp.reason


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("repository", "pypa/sampleproject-fork", "GitHub pypa/sampleproject-fork release.yml"),
        ("workflow", "publish.yml", "GitHub pypa/sampleproject publish.yml"),
    ],
)
def test_wrong_publisher(
    verifier: ProvenanceVerifier,
    pep740: Path,
    load_json: LoadJson,
    field: str,
    value: str,
    label: str,
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    prov["attestation_bundles"][0]["publisher"][field] = value
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.INVALID
    assert (
        f"certificate identity does not match the publisher PyPI recorded ({label}): " in fp.reason
    )
    assert fp.attestations[0].log_entries[0].verified is True


@pytest.mark.realdata
def test_unknown_publisher_kind_spoils_only_its_bundle(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    good = prov["attestation_bundles"][0]
    future = {
        "publisher": {"kind": "ActiveState", "organization": "acme", "actor": "bob"},
        "attestations": [json.loads(json.dumps(good["attestations"][0]))],
    }
    prov["attestation_bundles"].append(future)
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.UNKNOWN
    assert fp.reason.startswith(
        "bundle 2 (ActiveState ?) attestation 1 (publish/v1): publisher kind 'ActiveState' is not "
        f"supported by pypi-attestations {PYPI_ATTESTATIONS_VERSION}"
    )
    first, second = fp.attestations
    assert first.verified
    assert not second.verified
    assert second.publisher is not None
    assert second.publisher.kind == "ActiveState"
    # Everything but the identity was still checked for the unknown-kind bundle.
    assert second.log_entries[0].verified is True
    assert "identity not checked" in second.reason


@pytest.mark.realdata
def test_unknown_kind_does_not_hide_a_broken_signature(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    prov["attestation_bundles"][0]["publisher"] = {"kind": "Forgejo"}
    att = first_attestation(prov)
    att["envelope"]["signature"] = base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode()
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.INVALID
    assert "signature does not verify" in fp.reason


@pytest.mark.realdata
def test_hostile_subject_name_is_reported_safely(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson, tmp_path: Path
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    att = first_attestation(prov)
    statement = json.loads(base64.b64decode(att["envelope"]["statement"]))
    hostile = "../../tmp/x\x1b[2J\n-4.0.0.tar.gz"
    statement["subject"][0]["name"] = hostile
    att["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()
    before = sorted(tmp_path.parent.iterdir())
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.INVALID
    assert repr(hostile) in fp.reason
    assert "\x1b" not in fp.reason
    assert "\n" not in fp.reason
    assert fp.attestations[0].subject_name == hostile  # the data itself is kept verbatim
    rendered = "\n".join(f"{k}: {v}" for k, v in describe(fp))
    assert "\x1b" not in rendered
    assert sorted(tmp_path.parent.iterdir()) == before


@pytest.mark.realdata
def test_unknown_predicate_type_and_two_subjects(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    att = first_attestation(prov)
    statement = json.loads(base64.b64decode(att["envelope"]["statement"]))
    statement["predicateType"] = "https://example.com/evil/v1"
    statement["subject"].append(statement["subject"][0])
    att["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()
    fp = verify_sample(verifier, pep740, prov)
    reason = fp.attestations[0].reason
    assert "statement must have exactly one subject (got 2)" in reason
    assert "unknown predicate type 'https://example.com/evil/v1'" in reason


# ----------------------------------------------------------------- malformed objects


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            b'{"version": 1,',
            "provenance is not valid JSON: line 1 column 15: Expecting property name",
        ),
        (b"\xff\xfe\x00", "provenance is not valid JSON"),
        (b"[1, 2]", "provenance must be a JSON object, got list"),
        (
            b'{"version": 1, "attestation_bundles": []}',
            "provenance object has no attestation bundles",
        ),
        (b'{"version": 1}', "provenance attestation_bundles must be a list, got null"),
        (
            b'{"version": 2, "attestation_bundles": []}',
            "unsupported provenance version 2 (expected 1)",
        ),
        (
            b"[" * 100000 + b"]" * 100000,
            "provenance is not usable JSON: nested deeper than 64 levels",
        ),
    ],
)
def test_malformed_provenance(verifier: ProvenanceVerifier, raw: bytes, reason: str) -> None:
    fp = verifier.verify_provenance(raw, filename="a-1.0.tar.gz", sha256="0" * 64)
    assert fp.status is ProvenanceStatus.INVALID
    assert fp.reason.startswith(reason)
    assert fp.attestations == ()


def test_malformed_bundles_and_attestations(verifier: ProvenanceVerifier) -> None:
    prov = {
        "version": 1,
        "attestation_bundles": [
            {"publisher": {"kind": "GitHub", "repository": "o/r"}, "attestations": []},
            {"publisher": {"kind": "Google", "email": "a@b"}, "attestations": [{"version": 1}]},
            "nope",
        ],
    }
    fp = verifier.verify_provenance(dumps(prov), filename="a-1.0.tar.gz", sha256="0" * 64)
    assert fp.status is ProvenanceStatus.INVALID
    assert fp.reason.startswith(
        "bundle 1 (GitHub o/r): publisher is malformed: GitHub.workflow: Field required"
    )
    assert fp.reason.endswith("(and 3 more failure(s))")
    (att,) = fp.attestations
    assert att.reason.startswith("attestation is malformed: verification_material: Field required")


def test_bad_sha256_argument_is_a_usage_error(verifier: ProvenanceVerifier) -> None:
    with pytest.raises(InputError, match="64 hex digits"):
        verifier.verify_provenance(b"{}", filename="a-1.0.tar.gz", sha256="xyz")


def test_verify_file_rejects_unreadable_and_unknown_files(
    verifier: ProvenanceVerifier, tmp_path: Path
) -> None:
    dist = tmp_path / "a-1.0.tar.gz"
    dist.write_bytes(b"x")
    with pytest.raises(InputError, match="cannot read provenance file"):
        verifier.verify_file(dist, tmp_path / "missing.json")
    with pytest.raises(InputError, match="cannot read distribution file"):
        verifier.verify_file(tmp_path / "missing.tar.gz", dist)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    fp = verifier.verify_file(dist, other)
    assert fp.status is ProvenanceStatus.INVALID
    assert fp.reason.startswith("provenance file is neither a PEP 740 provenance object")


# ----------------------------------------------------------------- trust roots and log entries


def test_load_embedded_production_root_offline() -> None:
    root = load_trusted_root()
    assert root.trusted_root.get_fulcio_certs()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "is not valid JSON: line 1 column 1: Expecting value"),
        (b"{}", "is not a valid trusted root: mediaType: Field required"),
        (b"[]", "is not a valid trusted root"),
    ],
)
def test_bad_trust_root_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "root.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_trusted_root(path)


def test_missing_trust_root_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read trusted root"):
        load_trusted_root(tmp_path / "nope.json")


def test_rekor_v2_entry_has_no_integration_time() -> None:
    body = base64.b64encode(b'{"kind":"hashedrekord"}').decode()
    entry, why = log_entry_from_tle(
        {
            "logIndex": "7",
            "logId": {"keyId": base64.b64encode(b"\x01\x02").decode()},
            "kindVersion": {"kind": "hashedrekord", "version": "0.0.2"},
            "inclusionProof": {
                "logIndex": "7",
                "treeSize": "9",
                "rootHash": base64.b64encode(b"\0" * 32).decode(),
                "checkpoint": {"envelope": "bad"},
            },
            "canonicalizedBody": body,
        }
    )
    assert why == ""
    assert entry is not None
    assert entry.integrated_time is None
    assert entry.to_json()["time_source"] is None
    assert (entry.log_index, entry.shard_log_index, entry.tree_size) == (7, 7, 9)
    assert entry.kind == "hashedrekord/0.0.2"
    assert entry.log_id == "0102"
    assert entry.uuid == hashlib.sha256(b"\x00" + base64.b64decode(body)).hexdigest()
    assert "checkpoint is malformed" in entry.reason


@pytest.mark.parametrize("tle", [None, {}, {"logIndex": "-1"}, {"logIndex": True}])
def test_log_entry_without_index(tle: Any) -> None:
    entry, why = log_entry_from_tle(tle)
    assert entry is None
    assert why


@pytest.mark.realdata
def test_only_the_first_transparency_entry_is_verified(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    # sigstore (via pypi-attestations' to_bundle) checks entries[0] only; a second entry must
    # never be presented as verified, since a timeline could otherwise trust its time.
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    entries = first_attestation(prov)["verification_material"]["transparency_entries"]
    extra = dict(entries[0], logIndex="1", integratedTime="1000000000")
    entries.append(extra)
    fp = verify_sample(verifier, pep740, prov)
    # The appended entry is never evidence: only the verified first entry is listed.
    assert fp.status is ProvenanceStatus.VERIFIED
    (first,) = fp.attestations[0].log_entries
    assert first.verified is True
    assert fp.attestations[0].reason == (
        "1 further transparency entry not verified (sigstore checks only the first) "
        "and not used as evidence"
    )


@pytest.mark.realdata
def test_identity_and_chain_failures_are_reported_together(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.provenance.certs import hand_built_certificate

    arc = "1.3.6.1.4.1.57264.1"
    cert = hand_built_certificate(
        [
            (f"{arc}.8", b"\x0c\x2bhttps://token.actions.githubusercontent.com"),
            (f"{arc}.12", b"\x0c\x21https://github.com/pypa/sampleproject"),
            (f"{arc}.18", b"\x0c\x7f/too-short"),
        ]
    )
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    att = first_attestation(prov)
    att["verification_material"]["certificate"] = base64.b64encode(
        cert.public_bytes(Encoding.DER)
    ).decode()
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.INVALID
    reason = fp.attestations[0].reason
    assert reason.startswith("certificate was not issued by a CA in the trust root")
    assert (
        "certificate identity cannot be checked against the publisher PyPI recorded "
        "(GitHub pypa/sampleproject release.yml): claim build_config: malformed DER UTF8String"
    ) in reason
    assert fp.attestations[0].claims["issuer"] == "https://token.actions.githubusercontent.com"


def test_from_path_defaults_to_the_embedded_production_root(tmp_path: Path) -> None:
    assert isinstance(ProvenanceVerifier.from_path(None), ProvenanceVerifier)
    with pytest.raises(InputError, match="cannot read trusted root"):
        ProvenanceVerifier.from_path(tmp_path / "absent.json")


@pytest.mark.realdata
def test_describe_lists_status_publisher_claims_and_log_entries(
    verifier: ProvenanceVerifier, pep740: Path
) -> None:
    fp = verifier.verify_file(pep740 / PA19, pep740 / f"{PA19}.provenance")
    rows = dict(describe(fp))
    assert rows["status"] == "verified"
    assert rows["attestation 1 publisher"] == "GitHub trailofbits/pypi-attestations release.yml"
    assert rows["attestation 1 claim source_ref"] == "refs/tags/v0.0.19"
    assert rows["attestation 1 log entry"].startswith(
        "logIndex 153454663, integrated 2024-12-04T23:14:01Z, dsse/0.0.1, "
        "origin rekor.sigstore.dev - 1193050959916656506"
    )
    assert rows["attestation 1 log entry"].endswith(", verified")


@pytest.mark.parametrize(
    ("tle", "reason"),
    [
        ({"logIndex": "3", "integratedTime": "9" * 30}, "tlogEntry.integratedTime must be"),
        ({"logIndex": "3", "integratedTime": "9" * 15}, "integratedTime 999999999999999 is out"),
        ({"logIndex": "3", "logId": {"keyId": "rekor \u2014 x"}}, "logId.keyId is not valid"),
        ({"logIndex": "3", "canonicalizedBody": "%%%"}, "canonicalizedBody is not valid base64"),
    ],
)
def test_hostile_log_entry_fields_are_named_not_raised(tle: dict[str, Any], reason: str) -> None:
    base = {
        "logIndex": "3",
        "logId": {"keyId": base64.b64encode(b"\1" * 32).decode()},
        "canonicalizedBody": base64.b64encode(b"{}").decode(),
    }
    entry, why = log_entry_from_tle({**base, **tle})
    assert entry is None
    assert why.startswith("transparency entry is malformed: ")
    assert reason in why


@pytest.mark.realdata
def test_second_entry_without_log_index_is_ignored(
    verifier: ProvenanceVerifier, pep740: Path, load_json: LoadJson
) -> None:
    prov = load_json(f"{SAMPLE_SDIST}.provenance")
    entries = first_attestation(prov)["verification_material"]["transparency_entries"]
    entries.append({"kindVersion": {"kind": "dsse", "version": "0.0.1"}})
    fp = verify_sample(verifier, pep740, prov)
    assert fp.status is ProvenanceStatus.VERIFIED
    assert "transparency entry 2 ignored: transparency entry is malformed: " in (
        fp.attestations[0].reason
    )
    assert [e.verified for e in fp.log_entries] == [True]
