"""Tests for the lab trust: trusted root, key derivation, persistence and Fulcio-style leaves."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from sigstore.models import TrustedRoot

from forensics.errors import InputError
from forensics.primitives.claims import decode_der_utf8string
from forensics_lab import _x509
from forensics_lab.trust import TRUSTED_ROOT_MEDIA_TYPE, LabTrust

VALID_FROM = datetime(2024, 1, 1, tzinfo=UTC)
VALID_UNTIL = datetime(2030, 1, 1, tzinfo=UTC)
SIGNED_AT = datetime(2024, 12, 4, 20, 50, 30, 123456, tzinfo=UTC)
SAN = "https://github.com/o/r/.github/workflows/publish.yml@refs/tags/v1"
CLAIMS = {
    "token_subject": "repo:o/r:ref:refs/tags/v1",  # deliberately out of order
    "issuer_v1": "https://token.actions.githubusercontent.com",
    "issuer": "https://token.actions.githubusercontent.com",
    "build_config": "https://github.com/o/r/.github/workflows/" + "x" * 200 + ".yml@refs/tags/v1",
    "github_workflow_ref": "refs/tags/v1",
}


@pytest.fixture(scope="module")
def trust() -> LabTrust:
    return LabTrust.generate(7, valid_from=VALID_FROM, valid_until=VALID_UNTIL)


@pytest.fixture(scope="module")
def leaf(trust: LabTrust) -> x509.Certificate:
    key = trust.derive_key("leaf")
    return trust.issue_leaf(
        public_key=key.public_key(), san=SAN, san_kind="uri", claims=CLAIMS, not_before=SIGNED_AT
    )


def test_trusted_root_loads_in_sigstore(trust: LabTrust, tmp_path: Path) -> None:
    path = tmp_path / "trusted_root.json"
    path.write_bytes(trust.trusted_root_json())
    root = TrustedRoot.from_file(str(path))
    fulcio = root.get_fulcio_certs()
    assert [c.subject.rfc4514_string() for c in fulcio] == [
        "CN=lab-fulcio-intermediate,O=forensics-lab.invalid",
        "CN=lab-fulcio-root,O=forensics-lab.invalid",
    ]
    doc = json.loads(trust.trusted_root_json())
    assert doc["mediaType"] == TRUSTED_ROOT_MEDIA_TYPE
    assert [t["logId"]["keyId"] for t in doc["tlogs"]] == [
        base64.b64encode(trust.rekor_log_id).decode()
    ]
    # the foreign CA must never be trusted
    raw = trust.trusted_root_json()
    foreign = trust.foreign_cert.public_bytes(serialization.Encoding.DER)
    assert base64.b64encode(foreign) not in raw


def test_log_ids_are_sha256_of_spki(trust: LabTrust) -> None:
    spki = trust.rekor_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert trust.rekor_log_id == hashlib.sha256(spki).digest()
    assert trust.ct_log_id != trust.rekor_log_id
    assert isinstance(trust.ct_key.curve, ec.SECP256R1)  # SCTs say SHA-256 / P-256


def test_same_seed_same_bytes_other_seed_other_bytes(
    trust: LabTrust, leaf: x509.Certificate
) -> None:
    again = LabTrust.generate(7, valid_from=VALID_FROM, valid_until=VALID_UNTIL)
    assert again.trusted_root_json() == trust.trusted_root_json()
    again_leaf = again.issue_leaf(
        public_key=again.derive_key("leaf").public_key(),
        san=SAN,
        san_kind="uri",
        claims=CLAIMS,
        not_before=SIGNED_AT,
    )
    assert again_leaf.public_bytes(serialization.Encoding.DER) == leaf.public_bytes(
        serialization.Encoding.DER
    )
    other = LabTrust.generate(8, valid_from=VALID_FROM, valid_until=VALID_UNTIL)
    assert other.trusted_root_json() != trust.trusted_root_json()
    assert other.rekor_log_id != trust.rekor_log_id
    assert trust.derive_key("a").private_numbers() != trust.derive_key("b").private_numbers()


def test_write_keys_and_load_round_trip(
    trust: LabTrust, leaf: x509.Certificate, tmp_path: Path
) -> None:
    trust.write_keys(tmp_path / "keys")
    loaded = LabTrust.load(tmp_path / "keys")
    assert loaded.trusted_root_json() == trust.trusted_root_json()
    assert loaded.seed == trust.seed
    assert loaded.valid_from == trust.valid_from
    reissued = loaded.issue_leaf(
        public_key=loaded.derive_key("leaf").public_key(),
        san=SAN,
        san_kind="uri",
        claims=CLAIMS,
        not_before=SIGNED_AT,
    )
    assert reissued == leaf
    key_pem = (tmp_path / "keys" / "rekor-log.key.pem").read_bytes()
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_load_reports_missing_and_mixed_up_files(trust: LabTrust, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"lab-trust\.json is missing"):
        LabTrust.load(tmp_path / "nothing")
    trust.write_keys(tmp_path / "a")
    other = LabTrust.generate(9, valid_from=VALID_FROM, valid_until=VALID_UNTIL)
    other.write_keys(tmp_path / "b")
    (tmp_path / "a" / "fulcio-root.crt.pem").write_bytes(
        (tmp_path / "b" / "fulcio-root.crt.pem").read_bytes()
    )
    with pytest.raises(InputError, match="does not belong to"):
        LabTrust.load(tmp_path / "a")
    (tmp_path / "b" / "ct-log.key.pem").write_text("garbage")
    with pytest.raises(InputError, match=r"ct-log\.key\.pem is not an unencrypted PEM key"):
        LabTrust.load(tmp_path / "b")
    (tmp_path / "b" / "lab-trust.json").write_text('{"schema": "other"}')
    with pytest.raises(InputError, match="not a lab trust description"):
        LabTrust.load(tmp_path / "b")


def test_leaf_profile_matches_fulcio(trust: LabTrust, leaf: x509.Certificate) -> None:
    assert leaf.subject == x509.Name([])
    assert leaf.issuer == trust.intermediate_cert.subject
    assert leaf.not_valid_before_utc == SIGNED_AT.replace(microsecond=0)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(minutes=10)
    assert 0 < leaf.serial_number < 2**159
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [SAN]
    oids = [e.oid.dotted_string for e in leaf.extensions]
    assert oids[:5] == ["2.5.29.15", "2.5.29.37", "2.5.29.14", "2.5.29.35", "2.5.29.17"]
    fulcio = [o for o in oids if o.startswith("1.3.6.1.4.1.57264.1.")]
    assert fulcio == sorted(fulcio, key=lambda o: int(o.rsplit(".", 1)[1]))  # Fulcio order
    assert oids[-1] == "1.3.6.1.4.1.11129.2.4.2"


def test_claim_encodings(leaf: x509.Certificate) -> None:
    def raw(arc: int) -> bytes:
        ext = leaf.extensions.get_extension_for_oid(
            x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{arc}")
        )
        assert not ext.critical
        assert isinstance(ext.value, x509.UnrecognizedExtension)
        return ext.value.value

    assert raw(1) == b"https://token.actions.githubusercontent.com"  # legacy: raw UTF-8
    assert raw(6) == b"refs/tags/v1"
    assert raw(8) == b"\x0c\x2bhttps://token.actions.githubusercontent.com"  # DER UTF8String
    long_value = raw(18)
    # 258 bytes: DER long-form length, two length octets
    assert long_value[:4] == b"\x0c\x82\x01\x02"
    assert decode_der_utf8string(long_value) == CLAIMS["build_config"]
    assert decode_der_utf8string(raw(24)) == CLAIMS["token_subject"]


def test_embedded_sct_verifies_over_the_precertificate(
    trust: LabTrust, leaf: x509.Certificate
) -> None:
    scts = leaf.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
    (sct,) = list(scts.value)
    assert sct.log_id == trust.ct_log_id
    assert sct.timestamp.replace(tzinfo=UTC) == SIGNED_AT.replace(microsecond=123000)
    # Recompute RFC 6962 §3.2 independently of the lab encoder.
    issuer_spki = trust.intermediate_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tbs = leaf.tbs_precertificate_bytes
    signed = (
        struct.pack(">BBQH", 0, 0, int(sct.timestamp.replace(tzinfo=UTC).timestamp() * 1000), 1)
        + hashlib.sha256(issuer_spki).digest()
        + len(tbs).to_bytes(3, "big")
        + tbs
        + b"\x00\x00"
    )
    trust.ct_key.public_key().verify(sct.signature, signed, ec.ECDSA(hashes.SHA256()))


def test_chain_verifies_with_webpki_rules(trust: LabTrust, leaf: x509.Certificate) -> None:
    def verifier(roots: list[x509.Certificate]) -> object:
        return (
            PolicyBuilder()
            .store(Store(roots))
            .time(SIGNED_AT + timedelta(minutes=1))
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca().may_be_present(
                    x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
                ),
                ee_policy=ExtensionPolicy.webpki_defaults_ee().may_be_present(
                    x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
                ),
            )
            .build_client_verifier()
        )

    good = verifier([trust.intermediate_cert, trust.root_cert])
    chain = good.verify(leaf, []).chain  # type: ignore[attr-defined]
    assert chain[1] == trust.intermediate_cert
    foreign_leaf = trust.issue_leaf(
        public_key=trust.derive_key("leaf").public_key(),
        san=SAN,
        san_kind="uri",
        claims=CLAIMS,
        not_before=SIGNED_AT,
        issuer="foreign",
    )
    assert foreign_leaf.issuer == trust.foreign_cert.subject
    with pytest.raises(VerificationError):
        good.verify(foreign_leaf, [])  # type: ignore[attr-defined]


def test_email_leaf(trust: LabTrust) -> None:
    cert = trust.issue_leaf(
        public_key=trust.derive_key("g").public_key(),
        san="svc@project.iam.gserviceaccount.com",
        san_kind="email",
        claims={
            "issuer_v1": "https://accounts.google.com",
            "issuer": "https://accounts.google.com",
        },
        not_before=SIGNED_AT,
    )
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["svc@project.iam.gserviceaccount.com"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"claims": {"issuer_vv": "x"}}, "unknown Fulcio claim name 'issuer_vv'"),
        ({"not_before": datetime(2024, 12, 4)}, "timezone-aware"),
        ({"validity": timedelta(0)}, "validity must be positive"),
        ({"san_kind": "dns"}, "san_kind must be"),
        ({"issuer": "root"}, "issuer must be"),
    ],
)
def test_issue_leaf_rejects_bad_input(
    trust: LabTrust, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "public_key": trust.derive_key("x").public_key(),
        "san": SAN,
        "san_kind": "uri",
        "claims": {},
        "not_before": SIGNED_AT,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        trust.issue_leaf(**args)  # type: ignore[arg-type]


def test_generate_rejects_bad_windows() -> None:
    with pytest.raises(ValueError, match="must be after"):
        LabTrust.generate(0, valid_from=VALID_UNTIL, valid_until=VALID_FROM)
    with pytest.raises(ValueError, match="timezone-aware"):
        LabTrust.generate(0, valid_from=datetime(2024, 1, 1), valid_until=VALID_UNTIL)


def test_timestamp_ms_is_exact() -> None:
    moment = datetime(2024, 12, 4, 20, 50, 30, 999999, tzinfo=UTC)
    assert _x509.timestamp_ms(moment) == 1733345430999
