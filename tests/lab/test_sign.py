"""Tests for lab signing and the lab Rekor log, checked by sigstore-python's own Verifier."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from packaging.utils import parse_sdist_filename, parse_wheel_filename
from pypi_attestations import (
    Attestation,
    GitHubPublisher,
    GitLabPublisher,
    GooglePublisher,
    Provenance,
)
from sigstore._internal.trust import KeyringPurpose
from sigstore.errors import VerificationError
from sigstore.hashes import Hashed
from sigstore.models import Bundle, TransparencyLogEntry, TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity
from sigstore_models.bundle.v1 import MessageSignature
from sigstore_models.common.v1 import HashAlgorithm, HashOutput

from forensics.errors import ScenarioError
from forensics.primitives import merkle, note
from forensics.primitives.claims import extract_claims
from forensics_lab import merkle_tree
from forensics_lab.log import LabLogError, LabRekorLog
from forensics_lab.sign import (
    SLSA_PROVENANCE_V1,
    TAMPER_MODES,
    SigningRequest,
    github_identity,
    gitlab_identity,
    google_identity,
    provenance_object,
    sign_attestation,
)
from forensics_lab.trust import LabTrust

PRODUCTION_ROOT = (
    Path(__file__).resolve().parents[2]
    / ".venv/lib/python3.11/site-packages/sigstore/_store"
    / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
)
SEED = 41
TREE_ID = 1193050959916656506
OFFSET = 153_000_000
SIGNED_AT = datetime(2024, 12, 4, 20, 50, 0, tzinfo=UTC)
FILE = ("ultralytics-8.3.41.tar.gz", "ab" * 32)
OTHER = ("ultralytics-8.3.40-py3-none-any.whl", "cd" * 32)
REPO, WORKFLOW = "ultralytics/ultralytics", "publish.yml"


def _github() -> tuple[str, dict[str, str]]:
    return github_identity(
        REPO,
        WORKFLOW,
        "refs/tags/v8.3.41",
        sha="e" * 40,
        trigger="push",
        run_id=12186003434,
        environment=None,
        repository_id="264818686",
        owner_id="26833451",
        issued_at=SIGNED_AT,
    )


def _request(**changes: Any) -> SigningRequest:
    san, claims = _github()
    base = SigningRequest(
        filename=FILE[0],
        sha256=FILE[1],
        san=san,
        san_kind="uri",
        claims=claims,
        signed_at=SIGNED_AT,
        integrated_at=SIGNED_AT + timedelta(seconds=2),
    )
    return replace(base, **changes)


def _trust() -> LabTrust:
    return LabTrust.generate(
        SEED,
        valid_from=datetime(2024, 1, 1, tzinfo=UTC),
        valid_until=datetime(2030, 1, 1, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def trust() -> LabTrust:
    return _trust()


@pytest.fixture(scope="module")
def verifier(trust: LabTrust, tmp_path_factory: pytest.TempPathFactory) -> Verifier:
    path = tmp_path_factory.mktemp("root") / "trusted_root.json"
    path.write_bytes(trust.trusted_root_json())
    return Verifier(trusted_root=TrustedRoot.from_file(str(path)))


@pytest.fixture(scope="module")
def log(trust: LabTrust) -> LabRekorLog:
    return LabRekorLog(trust, tree_id=TREE_ID, shard_offset=OFFSET)


@pytest.fixture(scope="module")
def good(trust: LabTrust, log: LabRekorLog) -> Attestation:
    return sign_attestation(trust, log, _request())


def _parsed_name(name: str) -> tuple[object, ...]:
    if name.endswith(".whl"):
        return parse_wheel_filename(name)
    return parse_sdist_filename(name)


def check_subject(attestation: Attestation, filename: str, sha256: str) -> None:
    """The statement checks `Attestation.verify` runs after the signature (pypi-attestations)."""
    statement = attestation.statement
    subjects = statement["subject"]
    if len(subjects) != 1:
        raise AssertionError("too many subjects")
    if _parsed_name(subjects[0]["name"]) != _parsed_name(filename):
        raise AssertionError(f"subject does not match distribution name: {subjects[0]['name']}")
    if subjects[0]["digest"].get("sha256") != sha256:
        raise AssertionError("subject does not match distribution digest")


# -- verification with sigstore-python -------------------------------------------------------------


def test_lab_attestation_verifies_with_lab_root(verifier: Verifier, good: Attestation) -> None:
    policy = GitHubPublisher(repository=REPO, workflow=WORKFLOW)._as_policy()
    payload_type, payload = verifier.verify_dsse(good.to_bundle(), policy)
    assert payload_type == "application/vnd.in-toto+json"
    assert payload == good.envelope.statement
    check_subject(good, *FILE)
    assert good.statement["predicateType"] == "https://docs.pypi.org/attestations/publish/v1"
    assert good.statement["predicate"] is None


def test_lab_attestation_fails_with_production_root(good: Attestation) -> None:
    production = Verifier(trusted_root=TrustedRoot.from_file(str(PRODUCTION_ROOT)))
    policy = GitHubPublisher(repository=REPO, workflow=WORKFLOW)._as_policy()
    with pytest.raises(VerificationError, match="certificate chain"):
        production.verify_dsse(good.to_bundle(), policy)


def test_wrong_publisher_is_rejected_by_policy(verifier: Verifier, good: Attestation) -> None:
    policy = GitHubPublisher(repository=REPO, workflow="other.yml")._as_policy()
    with pytest.raises(VerificationError, match="Build Config URI"):
        verifier.verify_dsse(good.to_bundle(), policy)


EXPECTED_FAILURE = {
    "bad-signature": "DSSE: invalid signature",
    "foreign-ca": "failed to build timestamp certificate chain",
    "outside-validity": "cert is not valid at validation time",
    "bad-set": "SET: invalid inclusion promise",
    "bad-inclusion": "inclusion proof contains invalid root hash",
    "bad-checkpoint": "checkpoint: invalid signature",
}


@pytest.mark.parametrize("mode", sorted(EXPECTED_FAILURE))
def test_cryptographic_tamper_modes_fail_at_their_check(
    trust: LabTrust, log: LabRekorLog, verifier: Verifier, mode: str
) -> None:
    attestation = sign_attestation(trust, log, _request(tamper=frozenset({mode})))
    policy = GitHubPublisher(repository=REPO, workflow=WORKFLOW)._as_policy()
    with pytest.raises(VerificationError) as info:
        verifier.verify_dsse(attestation.to_bundle(), policy)
    assert EXPECTED_FAILURE[mode] in str(info.value)


def test_bad_inclusion_on_a_one_leaf_tree(trust: LabTrust, verifier: Verifier) -> None:
    fresh = LabRekorLog(trust, tree_id=5)
    attestation = sign_attestation(trust, fresh, _request(tamper=frozenset({"bad-inclusion"})))
    policy = GitHubPublisher(repository=REPO, workflow=WORKFLOW)._as_policy()
    with pytest.raises(VerificationError, match="inclusion proof has wrong size"):
        verifier.verify_dsse(attestation.to_bundle(), policy)


def test_outside_validity_moves_the_integration_time(trust: LabTrust) -> None:
    shard = LabRekorLog(trust, tree_id=6)
    attestation = sign_attestation(trust, shard, _request(tamper=frozenset({"outside-validity"})))
    entry = attestation.verification_material.transparency_entries[0]
    integrated = datetime.fromtimestamp(int(entry["integratedTime"]), tz=UTC)
    assert integrated == SIGNED_AT + timedelta(minutes=11)


@pytest.mark.parametrize(
    ("mode", "changes", "message"),
    [
        ("digest-mismatch", {}, "distribution digest"),
        ("wrong-file", {"other_file": OTHER}, "distribution name"),
    ],
)
def test_statement_tamper_modes_pass_crypto_but_fail_the_subject_check(
    trust: LabTrust,
    log: LabRekorLog,
    verifier: Verifier,
    mode: str,
    changes: dict[str, Any],
    message: str,
) -> None:
    attestation = sign_attestation(trust, log, _request(tamper=frozenset({mode}), **changes))
    policy = GitHubPublisher(repository=REPO, workflow=WORKFLOW)._as_policy()
    verifier.verify_dsse(attestation.to_bundle(), policy)  # the signature itself is genuine
    with pytest.raises(AssertionError, match=message):
        check_subject(attestation, *FILE)


def test_every_tamper_mode_is_tested() -> None:
    assert set(TAMPER_MODES) == set(EXPECTED_FAILURE) | {"digest-mismatch", "wrong-file"}


def test_gitlab_and_google_identities_verify(trust: LabTrust, verifier: Verifier) -> None:
    shard = LabRekorLog(trust, tree_id=77)
    san, claims = gitlab_identity(
        "group/sub/project",
        "refs/heads/main",
        sha="f" * 40,
        pipeline_source="push",
        job_id=8415754949,
        project_id="55235664",
        namespace_id="12885801",
        visibility="private",
    )
    assert san == "https://gitlab.com/group/sub/project//.gitlab-ci.yml@refs/heads/main"
    gitlab = sign_attestation(trust, shard, _request(san=san, claims=claims))
    policy = GitLabPublisher(repository="group/sub/project", workflow_filepath=".gitlab-ci.yml")
    verifier.verify_dsse(gitlab.to_bundle(), policy._as_policy())

    email, gclaims = google_identity("svc@proj.iam.gserviceaccount.com")
    google = sign_attestation(
        trust, shard, _request(san=email, san_kind="email", claims=gclaims, filename=OTHER[0])
    )
    verifier.verify_dsse(
        google.to_bundle(), GooglePublisher(email="svc@proj.iam.gserviceaccount.com")._as_policy()
    )
    assert set(extract_claims(_cert(google)).claims) == {"issuer_v1", "issuer"}


def _cert(attestation: Attestation) -> x509.Certificate:
    return x509.load_der_x509_certificate(attestation.verification_material.certificate)


def test_slsa_predicate_round_trips(trust: LabTrust, verifier: Verifier) -> None:
    shard = LabRekorLog(trust, tree_id=78)
    predicate = {
        "buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"}
    }
    attestation = sign_attestation(
        trust, shard, _request(predicate_type=SLSA_PROVENANCE_V1, predicate=predicate)
    )
    verifier.verify_dsse(
        attestation.to_bundle(), GitHubPublisher(repository=REPO, workflow=WORKFLOW)._as_policy()
    )
    assert attestation.statement["predicate"] == predicate


# -- identities -----------------------------------------------------------------------------------


def test_github_identity_matches_fulcio_and_pypi_attestations(good: Attestation) -> None:
    san, claims = _github()
    assert san == f"https://github.com/{REPO}/.github/workflows/{WORKFLOW}@refs/tags/v8.3.41"
    assert claims["build_config"] == claims["build_signer_uri"] == san
    assert claims["run_url"] == f"https://github.com/{REPO}/actions/runs/12186003434/attempts/1"
    # pypi-attestations decodes .8-.22 by dotted OID; our decoder by name: both agree with input.
    decoded = extract_claims(_cert(good)).claims
    assert dict(decoded) == claims
    by_oid = good.certificate_claims
    assert by_oid["1.3.6.1.4.1.57264.1.18"] == claims["build_config"]
    assert by_oid["1.3.6.1.4.1.57264.1.15"] == "264818686"


def test_github_identity_claims_follow_fulcio_history() -> None:
    common: dict[str, Any] = {
        "sha": "e" * 40,
        "trigger": "push",
        "run_id": 1,
        "repository_id": "1",
        "owner_id": "2",
        "environment": "pypi",
    }
    _, old = github_identity(REPO, WORKFLOW, "refs/heads/main", issued_at=SIGNED_AT, **common)
    assert "deployment_environment" not in old
    assert "token_subject" not in old
    _, today = github_identity(REPO, WORKFLOW, "refs/heads/main", **common)
    assert today["deployment_environment"] == "pypi"
    assert today["token_subject"] == f"repo:{REPO}:environment:pypi"
    _, reusable = github_identity(
        REPO,
        WORKFLOW,
        "refs/heads/main",
        signer_workflow="org/shared/.github/workflows/publish.yml@refs/heads/v1",
        **common,
    )
    assert reusable["build_signer_uri"] != reusable["build_config"]
    with pytest.raises(ScenarioError, match="owner/name"):
        github_identity("noslash", WORKFLOW, "refs/heads/main", **common)


def test_reusable_workflow_still_satisfies_pypi_policy(trust: LabTrust, verifier: Verifier) -> None:
    san, claims = github_identity(
        REPO,
        WORKFLOW,
        "refs/tags/v8.3.41",
        sha="e" * 40,
        trigger="push",
        run_id=3,
        environment=None,
        repository_id="1",
        owner_id="2",
        signer_workflow="evil/actions/.github/workflows/steal.yml@refs/heads/main",
    )
    attestation = sign_attestation(
        trust, LabRekorLog(trust, tree_id=79), _request(san=san, claims=claims)
    )
    # pypi-attestations matches .18 only, so a reusable workflow signer passes: a detector's job.
    verifier.verify_dsse(
        attestation.to_bundle(), GitHubPublisher(repository=REPO, workflow=WORKFLOW)._as_policy()
    )


# -- request validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tamper": frozenset({"bad-sig"})}, "unknown tamper mode"),
        ({"filename": "not a dist"}, "not a valid sdist or wheel filename"),
        ({"sha256": "AB" * 32}, "64 lower-case hex"),
        ({"tamper": frozenset({"wrong-file"})}, "needs other_file"),
        ({"other_file": OTHER}, "only meaningful"),
        ({"predicate_type": "https://example.com/v1"}, "not one PyPI accepts"),
        ({"signed_at": datetime(2024, 12, 4)}, "timezone-aware"),
        ({"integrated_at": SIGNED_AT + timedelta(hours=1)}, "outside the certificate validity"),
    ],
)
def test_bad_requests_are_scenario_errors(
    trust: LabTrust, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        sign_attestation(trust, LabRekorLog(trust, tree_id=80), _request(**changes))


def test_signing_the_same_request_twice_is_a_duplicate_entry(trust: LabTrust) -> None:
    shard = LabRekorLog(trust, tree_id=81)
    sign_attestation(trust, shard, _request())
    with pytest.raises(ScenarioError, match=r"already in the log.*signed twice"):
        sign_attestation(trust, shard, _request())


# -- provenance objects ---------------------------------------------------------------------------


def test_provenance_object_is_what_the_integrity_api_serves(good: Attestation) -> None:
    publisher = {"kind": "GitHub", "repository": REPO, "workflow": WORKFLOW, "environment": None}
    raw = provenance_object([(publisher, [good])])
    assert raw.startswith(b'{"attestation_bundles":[{"attestations":[{"envelope":')
    assert raw.endswith(b',"version":1}')
    parsed = Provenance.model_validate_json(raw)
    assert parsed.attestation_bundles[0].attestations[0] == good
    assert json.loads(raw)["attestation_bundles"][0]["publisher"] == publisher


def test_provenance_object_publishers(good: Attestation) -> None:
    old = provenance_object(
        [({"kind": "GitHub", "repository": REPO, "workflow": WORKFLOW, "claims": None}, [good])]
    )
    assert json.loads(old)["attestation_bundles"][0]["publisher"] == {
        "kind": "GitHub",
        "repository": REPO,
        "workflow": WORKFLOW,
        "environment": None,
        "claims": None,
    }
    future = provenance_object([({"kind": "ActiveState", "organization": "o"}, [good])])
    assert json.loads(future)["attestation_bundles"][0]["publisher"]["kind"] == "ActiveState"
    with pytest.raises(ScenarioError, match="invalid for kind 'GitHub'"):
        provenance_object([({"kind": "GitHub", "repository": REPO}, [good])])
    with pytest.raises(ScenarioError, match="at least one"):
        provenance_object([])
    with pytest.raises(ScenarioError, match="is empty"):
        provenance_object([({"kind": "Google", "email": "a@b.c"}, [])])


# -- determinism ----------------------------------------------------------------------------------


def _build_world(directory: Path) -> dict[str, bytes]:
    trust = _trust()
    log = LabRekorLog(trust, tree_id=TREE_ID, shard_offset=OFFSET)
    atts = [
        sign_attestation(trust, log, _request()),
        sign_attestation(trust, log, _request(filename=OTHER[0], sha256=OTHER[1])),
        sign_attestation(trust, log, _request(tamper=frozenset({"bad-set"}))),
    ]
    publisher = {"kind": "GitHub", "repository": REPO, "workflow": WORKFLOW, "environment": None}
    log.to_world(directory)
    trust.write_keys(directory / "keys")
    out = {
        "trusted_root": trust.trusted_root_json(),
        "provenance": provenance_object([(publisher, atts)]),
        "certificate": atts[0].verification_material.certificate,
    }
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(directory))] = path.read_bytes()
    return out


def test_same_seed_gives_byte_identical_worlds(tmp_path: Path) -> None:
    first = _build_world(tmp_path / "a")
    second = _build_world(tmp_path / "b")
    assert set(first) >= {"rekor/log.json", "rekor/entries.json", "rekor/search.json"}
    assert first == second


# -- the log --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def filled(trust: LabTrust) -> LabRekorLog:
    shard = LabRekorLog(trust, tree_id=TREE_ID, shard_offset=OFFSET)
    for i in range(11):
        digest = f"{i:064x}"
        sign_attestation(
            trust,
            shard,
            _request(
                filename=f"pkg-1.{i}.tar.gz",
                sha256=digest,
                integrated_at=SIGNED_AT + timedelta(seconds=i),
            ),
        )
    return shard


def _verify_note(trust: LabTrust, text: str) -> note.Checkpoint:
    checkpoint = note.parse_checkpoint(text)
    (sig,) = checkpoint.signatures
    assert sig.key_hint == trust.rekor_log_id[:4]
    trust.rekor_key.public_key().verify(sig.signature, checkpoint.body, ec.ECDSA(hashes.SHA256()))
    return checkpoint


def test_inclusion_proofs_and_checkpoints_verify(trust: LabTrust, filled: LabRekorLog) -> None:
    for size in (1, 5, 8, 11):
        for shard_index in range(size):
            entry = filled.entry(OFFSET + shard_index)
            proof = filled.inclusion(entry.global_index, size)
            assert proof["logIndex"] == shard_index == entry.shard_index
            assert proof["treeSize"] == size
            root = bytes.fromhex(proof["rootHash"])
            merkle.verify_inclusion(
                shard_index,
                size,
                merkle.leaf_hash(entry.body),
                [bytes.fromhex(h) for h in proof["hashes"]],
                root,
            )
            checkpoint = _verify_note(trust, proof["checkpoint"])
            assert checkpoint.origin == f"rekor.lab.invalid - {TREE_ID}"
            assert checkpoint.tree_id == str(TREE_ID)
            assert (checkpoint.tree_size, checkpoint.root_hash) == (size, root)


def test_consistency_proofs_verify(filled: LabRekorLog) -> None:
    for first in range(1, 12):
        for last in range(first, 12):
            merkle.verify_consistency(
                first,
                last,
                filled.root_hash(first),
                filled.root_hash(last),
                filled.consistency(first, last),
            )


def test_indices_ids_and_sets(trust: LabTrust, filled: LabRekorLog) -> None:
    for shard_index, entry in enumerate(filled.entries):
        assert entry.global_index == OFFSET + shard_index
        assert entry.uuid == merkle.leaf_hash(entry.body).hex()
        assert entry.entry_id == f"{TREE_ID:016x}" + entry.uuid
        assert len(entry.entry_id) == 80
        assert entry.kind == "dsse"
        assert entry.subject_digests == (f"sha256:{shard_index:064x}",)
        payload = note.set_payload(
            base64.b64encode(entry.body).decode(),
            entry.integrated_time,
            trust.rekor_log_id.hex(),
            entry.global_index,
        )
        trust.rekor_key.public_key().verify(entry.set_signature, payload, ec.ECDSA(hashes.SHA256()))
    assert filled.entry_by_uuid(filled.entries[3].entry_id) == filled.entries[3]


def test_rest_and_embedded_forms_describe_the_same_entry(filled: LabRekorLog) -> None:
    global_index = OFFSET + 6
    for size in (None, 7, 9):
        rest = filled.rest_entry(global_index, size)
        (entry_id,) = rest
        assert entry_id == filled.entry(global_index).entry_id
        assert rest[entry_id]["logIndex"] == global_index
        assert rest[entry_id]["verification"]["inclusionProof"]["logIndex"] == 6
        # sigstore-python's own REST -> protobuf converter must give exactly our embedded form.
        converted = TransparencyLogEntry._from_v1_response(rest)._inner.to_dict()
        assert converted == filled.tlog_entry(global_index, size)


def test_log_refuses_impossible_requests(trust: LabTrust, filled: LabRekorLog) -> None:
    with pytest.raises(LabLogError, match="not in shard"):
        filled.entry(OFFSET - 1)
    with pytest.raises(LabLogError, match="not in shard"):
        filled.entry(OFFSET + 11)
    with pytest.raises(LabLogError, match="tree size 12 is outside"):
        filled.checkpoint(12)
    with pytest.raises(LabLogError, match="is not in a tree of size 3"):
        filled.inclusion(OFFSET + 5, 3)
    with pytest.raises(LabLogError, match="cannot prove consistency"):
        filled.consistency(0, 5)
    with pytest.raises(LabLogError, match="not JSON"):
        LabRekorLog(trust, tree_id=1).append_raw(b"\xff", 0)
    with pytest.raises(LabLogError, match="int Unix seconds"):
        LabRekorLog(trust, tree_id=1).append_raw(b'{"kind":"x","apiVersion":"1"}', 1.5)  # type: ignore[arg-type]
    with pytest.raises(LabLogError, match="64 bits"):
        LabRekorLog(trust, tree_id=2**64)


def test_hashedrekord_entries_verify_with_sigstore(trust: LabTrust, verifier: Verifier) -> None:
    artifact = b"an artifact"
    digest = hashlib.sha256(artifact).digest()
    key = trust.derive_key("hashedrekord")
    san, claims = _github()
    cert = trust.issue_leaf(
        public_key=key.public_key(), san=san, san_kind="uri", claims=claims, not_before=SIGNED_AT
    )
    signature = key.sign(artifact, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    shard = LabRekorLog(trust, tree_id=90)
    entry = shard.append_hashedrekord(
        sha256_hex=digest.hex(),
        signature=signature,
        certificate=cert,
        integrated_time=int(SIGNED_AT.timestamp()) + 5,
    )
    tle = TransparencyLogEntry._from_v1_response(shard.rest_entry(entry.global_index))
    bundle = Bundle._from_parts(
        cert,
        MessageSignature(
            message_digest=HashOutput(
                algorithm=HashAlgorithm.SHA2_256, digest=base64.b64encode(digest)
            ),
            signature=base64.b64encode(signature),
        ),
        tle,
    )
    verifier.verify_artifact(
        Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest),
        bundle,
        Identity(identity=san, issuer="https://token.actions.githubusercontent.com"),
    )
    assert entry.subject_digests == (f"sha256:{digest.hex()}",)


def test_to_world_files(trust: LabTrust, filled: LabRekorLog, tmp_path: Path) -> None:
    old = LabRekorLog(trust, tree_id=2605736670972794746, shard_offset=0)
    sign_attestation(trust, old, _request(filename="pkg-0.1.tar.gz", sha256="9" * 64))
    filled.to_world(tmp_path, inactive_shards=[old])
    log_json = json.loads((tmp_path / "rekor/log.json").read_text())
    assert log_json["treeID"] == TREE_ID
    assert log_json["shardOffset"] == OFFSET
    assert log_json["treeSize"] == 11
    assert log_json["origin"] == f"rekor.lab.invalid - {TREE_ID}"
    leaves = [bytes.fromhex(h) for h in log_json["leaves"]]
    assert merkle_tree.root_from_leaves(leaves).hex() == log_json["rootHash"]
    assert _verify_note(trust, log_json["signedTreeHead"]).tree_size == 11
    assert (
        serialization.load_pem_public_key(log_json["publicKey"].encode())
        == trust.rekor_key.public_key()
    )
    (inactive,) = log_json["inactiveShards"]
    assert (inactive["treeID"], inactive["treeSize"]) == (2605736670972794746, 1)

    entries = json.loads((tmp_path / "rekor/entries.json").read_text())
    assert len(entries) == 12
    keyring = verifier_keyring(trust, tmp_path)
    for entry_id, value in entries.items():
        assert len(entry_id) == 80
        # sigstore's own entry check: inclusion proof, checkpoint signature and SET.
        TransparencyLogEntry._from_v1_response({entry_id: value})._verify(keyring)

    search = json.loads((tmp_path / "rekor/search.json").read_text())
    assert search[f"sha256:{3:064x}"] == [filled.entries[3].uuid]
    san = _github()[0].lower()
    assert search[f"subject:{san}"][0] == old.entries[0].uuid
    assert len(search[f"subject:{san}"]) == 12


def verifier_keyring(trust: LabTrust, directory: Path) -> Any:
    path = directory / "trusted_root.json"
    path.write_bytes(trust.trusted_root_json())
    return TrustedRoot.from_file(str(path)).rekor_keyring(KeyringPurpose.VERIFY)


def test_to_world_refuses_overlapping_shards(
    trust: LabTrust, filled: LabRekorLog, tmp_path: Path
) -> None:
    overlapping = LabRekorLog(trust, tree_id=3, shard_offset=OFFSET - 1)
    sign_attestation(trust, overlapping, _request(filename="pkg-0.2.tar.gz", sha256="8" * 64))
    overlapping.append_raw(b'{"apiVersion":"0.0.1","kind":"x"}', 5)
    with pytest.raises(LabLogError, match="inside the previous shard"):
        filled.to_world(tmp_path, inactive_shards=[overlapping])
