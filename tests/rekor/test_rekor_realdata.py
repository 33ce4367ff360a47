"""The verifier against genuine Sigstore material: conformance cases, PEP 740 entries, log info."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensics.rekor.entry import LogInfo, MalformedEntry, RekorEntry
from forensics.rekor.verify import LogKeys, Outcome, verify_entry
from forensics.trust import TrustMaterial

pytestmark = pytest.mark.realdata

ACTIVE_TREE = "1193050959916656506"
# Conformance case -> the check that must fail (and the ones that must not).
LOG_FAILURES = {
    "checkpoint-bad-keyhint_fail": "checkpoint_signature",
    "checkpoint-wrong-roothash_fail": "checkpoint",
    "invalid-checkpoint-signature_fail": "checkpoint_signature",
    "invalid-inclusion-proof_fail": "inclusion_proof",
    "inclusion-proof-corrupted-hash_fail": "inclusion_proof",
    "set-invalid-signature_fail": "set",
}
HAPPY = [
    "happy-path-v0.1",
    "happy-path-v0.2",
    "happy-path-v0.3",
    "happy-path-v0.3-new-mediaType",
    "happy-path-intoto-in-dsse-v3",
    # Cases whose defect is outside the log entry: the log side must still verify.
    "dsse-invalid-sig_fail",
    "signature-mismatch_fail",
    "integrated-time-in-future_fail",
]


@pytest.fixture(scope="module")
def keys(real_data: Path) -> LogKeys:
    return TrustMaterial.load(real_data / "trust" / "production.trusted_root.json").log_keys


@pytest.fixture(scope="module")
def log_info(real_data: Path) -> LogInfo:
    data = json.loads((real_data / "rekor" / "rekor-log-info-2024-09.checkpoint.json").read_text())
    return LogInfo.from_json(data)


def _conformance_entry(real_data: Path, case: str) -> RekorEntry:
    bundle = json.loads(
        (real_data / "sigstore-bundles" / "conformance" / case / "bundle.sigstore.json").read_text()
    )
    return RekorEntry.parse(bundle["verificationMaterial"]["tlogEntries"][0])


def test_trusted_root_keys_recomputed(keys: LogKeys) -> None:
    assert keys.problems == ()
    v1 = keys.by_log_id(
        bytes.fromhex("c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d")
    )
    assert v1 is not None
    assert v1.base_url == "https://rekor.sigstore.dev"
    assert v1.key_hint == bytes.fromhex("c0d23d6a")
    # Rekor v2: the trusted root's logId is the C2SP key ID, recomputed from name + Ed25519 key.
    v2 = [k for k in keys.keys if k.key_details == "PKIX_ED25519"]
    assert len(v2) == 1
    assert v2[0].name == "log2025-1.rekor.sigstore.dev"
    assert keys.by_log_id(v2[0].checkpoint_key_id) is v2[0]


def test_trusted_root_with_wrong_log_id_is_reported(real_data: Path) -> None:
    data = json.loads((real_data / "trust" / "production.trusted_root.json").read_text())
    data["tlogs"][0]["logId"]["keyId"] = data["tlogs"][1]["logId"]["keyId"]
    keys = LogKeys.from_trusted_root(data)
    assert len(keys.problems) == 1
    assert "does not match the key" in keys.problems[0]
    # Lookups use the recomputed ID, never the edited label.
    assert keys.by_log_id(
        bytes.fromhex("c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d")
    )


@pytest.mark.parametrize(("case", "check"), sorted(LOG_FAILURES.items()))
def test_conformance_log_failure_detected_for_the_right_reason(
    real_data: Path, keys: LogKeys, log_info: LogInfo, case: str, check: str
) -> None:
    v = verify_entry(
        _conformance_entry(real_data, case), keys, shard_offsets=log_info.shard_offsets()
    )
    assert not v.ok
    assert check in v.failed, v.checks
    # The other cryptographic checks are not blamed for a defect they do not have.
    unrelated = {"inclusion_proof", "checkpoint_signature", "set"} - {check}
    if case == "invalid-inclusion-proof_fail":
        # That bundle's proof also lacks a checkpoint (an old v0.2 bundle): both are reported.
        assert v.outcome("checkpoint") is Outcome.FAIL
        unrelated -= {"checkpoint_signature"}
    for name in unrelated:
        assert v.outcome(name) is not Outcome.FAIL, (name, v.checks)


def test_checkpoint_wrong_roothash_is_otherwise_genuine(real_data: Path, keys: LogKeys) -> None:
    v = verify_entry(_conformance_entry(real_data, "checkpoint-wrong-roothash_fail"), keys)
    # The checkpoint is genuinely signed by the log, for a different tree: only the
    # size/root comparison (which sigstore-python does not make) catches it.
    assert v.outcome("checkpoint_signature") is Outcome.PASS
    assert "differs from the proof's root hash" in (v.check("checkpoint") or _no()).reason


def _no() -> object:
    raise AssertionError("check missing")


def test_conformance_negative_log_index_rejected(real_data: Path) -> None:
    with pytest.raises(MalformedEntry, match=r"logIndex is negative"):
        _conformance_entry(real_data, "bundle-negative-log-index_fail")


@pytest.mark.parametrize("case", HAPPY)
def test_conformance_happy_paths_verify(
    real_data: Path, keys: LogKeys, log_info: LogInfo, case: str
) -> None:
    v = verify_entry(
        _conformance_entry(real_data, case), keys, shard_offsets=log_info.shard_offsets()
    )
    assert v.ok, v.reason
    assert v.time_source == "rekor_v1_integrated_time"
    assert v.outcome("index") is Outcome.PASS


def test_pep740_entry_identifiers(real_data: Path, keys: LogKeys, log_info: LogInfo) -> None:
    prov = json.loads(
        (
            real_data
            / "pep740"
            / "pypi-attestations"
            / "pypi_attestations-0.0.19.tar.gz.provenance"
        ).read_text()
    )
    raw = prov["attestation_bundles"][0]["attestations"][0]["verification_material"][
        "transparency_entries"
    ][0]
    v = verify_entry(RekorEntry.parse(raw), keys, shard_offsets=log_info.shard_offsets())
    assert v.ok, v.reason
    assert v.global_index == 153454663
    assert v.shard_index == 31550401
    assert v.entry.inclusion_proof is not None
    assert v.entry.inclusion_proof.tree_size == 31550402
    assert v.entry.checkpoint is not None
    assert v.entry.checkpoint.origin == "rekor.sigstore.dev - 1193050959916656506"
    assert v.tree_id == ACTIVE_TREE
    assert v.entry_id is not None
    assert v.entry_id.startswith("108e9186e8c5677a")
    assert v.entry_id.endswith(v.uuid)
    assert len(v.entry_id) == 80
    assert v.integrated_time is not None
    assert v.integrated_time.isoformat() == "2024-12-04T23:14:01+00:00"
    assert v.decoded is not None
    assert v.decoded.kind == "dsse/0.0.1"
    assert v.decoded.claims["source_commit"] == "08802efe1f8e5fec4ad842d6b8ce97656092ee72"
    assert v.decoded.claims["source_ref"] == "refs/tags/v0.0.19"
    assert v.decoded.san == (
        "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19",
    )
    model = v.to_log_entry()
    assert model.verified is True
    assert model.shard_log_index == 31550401
    assert model.reason == ""


def test_every_pep740_entry_verifies(real_data: Path, keys: LogKeys, log_info: LogInfo) -> None:
    # Production entries only (staging ones are signed by another log key: must fail log_key).
    seen = 0
    for path in sorted((real_data / "pep740").rglob("*")):
        if not path.name.endswith((".provenance", ".publish.attestation", ".slsa.attestation")):
            continue
        doc = json.loads(path.read_text())
        atts = (
            [a for b in doc["attestation_bundles"] for a in b["attestations"]]
            if "attestation_bundles" in doc
            else [doc]
        )
        for att in atts:
            for raw in att["verification_material"]["transparency_entries"]:
                v = verify_entry(
                    RekorEntry.parse(raw), keys, shard_offsets=log_info.shard_offsets()
                )
                seen += 1
                staging = "spt3g" in path.name or (
                    path.parent.name == "rfc8785" and "0.1.2" in path.name
                )
                if staging:
                    assert v.outcome("log_key") is Outcome.FAIL
                else:
                    assert v.ok, (path.name, v.reason)
    assert seen >= 15


def test_log_info_shards_and_offsets(log_info: LogInfo) -> None:
    assert log_info.tree_id == ACTIVE_TREE
    assert log_info.tree_size == 26518215
    assert [s.tree_id for s in log_info.inactive] == ["3904496407287907110", "2605736670972794746"]
    offsets = log_info.shard_offsets()
    assert offsets == {
        "3904496407287907110": 0,
        "2605736670972794746": 4163431,
        ACTIVE_TREE: 121904262,
    }


def test_log_info_signed_tree_heads_verify(log_info: LogInfo, keys: LogKeys) -> None:
    from forensics.primitives.note import parse_checkpoint
    from forensics.rekor.verify import _checkpoint_signature

    for shard in (*log_info.inactive, log_info.active):
        cp = parse_checkpoint(shard.signed_tree_head)
        assert cp.tree_id == shard.tree_id
        assert cp.root_hash == shard.root_hash
        assert _checkpoint_signature(cp, keys)[0] is Outcome.PASS
