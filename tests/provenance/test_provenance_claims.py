"""Fulcio claim decoding (.1–.24), DER UTF8String parsing and certificate facts."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from forensics.primitives.claims import (
    CLAIM_NAMES,
    DerError,
    certificate_facts,
    decode_der_utf8string,
    extract_claims,
)
from tests.provenance.certs import hand_built_certificate

ARC = "1.3.6.1.4.1.57264.1"


def _cert_of(path: Path) -> x509.Certificate:
    obj = json.loads(path.read_bytes())
    if "attestation_bundles" in obj:
        obj = obj["attestation_bundles"][0]["attestations"][0]
    der = base64.b64decode(obj["verification_material"]["certificate"])
    return x509.load_der_x509_certificate(der)


# ----------------------------------------------------------------- mapping


def test_claim_names_cover_1_to_24_except_7_with_corrected_numbering() -> None:
    assert sorted(int(oid.rsplit(".", 1)[1]) for oid in CLAIM_NAMES) == [
        n for n in range(1, 25) if n != 7
    ]
    # formats.md §5: the brief's numbering is off by one from .15 upward.
    assert CLAIM_NAMES[f"{ARC}.15"] == "source_repository_id"
    assert CLAIM_NAMES[f"{ARC}.18"] == "build_config"
    assert CLAIM_NAMES[f"{ARC}.21"] == "run_url"
    assert CLAIM_NAMES[f"{ARC}.24"] == "token_subject"
    assert len(set(CLAIM_NAMES.values())) == len(CLAIM_NAMES)


# ----------------------------------------------------------------- DER decoding


def test_der_short_and_long_forms() -> None:
    assert decode_der_utf8string(b"\x0c\x06public") == "public"
    assert decode_der_utf8string(b"\x0c\x00") == ""
    long_value = "x" * 200
    assert decode_der_utf8string(b"\x0c\x81\xc8" + long_value.encode()) == long_value
    big = "é" * 200  # 400 bytes: two length bytes
    assert decode_der_utf8string(b"\x0c\x82\x01\x90" + big.encode()) == big


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"\x0c", "too short"),
        (b"\x13\x03abc", "tag 0x13 is not UTF8String"),
        (b"\x0c\x80abc\x00\x00", "indefinite length"),
        (b"\x0c\x81\x03abc", "DER requires the short form"),
        (b"\x0c\x82\x00\x90" + b"a" * 0x90, "leading zero"),
        (b"\x0c\x85\x01\x00\x00\x00\x00", "length-bytes is not supported"),
        (b"\x0c\x82\x01", "truncated long-form length"),
        (b"\x0c\x05abc", "declared length 5 exceeds the 3 byte(s) present"),
        (b"\x0c\x03abcd", "1 trailing byte(s)"),
        (b"\x0c\x02\xff\xfe", "not valid UTF-8"),
    ],
)
def test_der_malformed_values_are_rejected_with_the_rule(data: bytes, message: str) -> None:
    with pytest.raises(DerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        decode_der_utf8string(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x0c\x03abc",
        b"\x0c\x00",
        b"\x0c\x81\xc8" + b"y" * 200,
        b"\x0c\x81\x03abc",
        b"\x0c\x80abc\x00\x00",
        b"\x0c\x03abcd",
        b"\x0c\x04abc",
        b"\x13\x03abc",
        b"\x0c\x02\xff\xfe",
        b"\x0c\x82\x00\x90" + b"a" * 0x90,
    ],
)
def test_der_decoder_agrees_with_cryptography(data: bytes) -> None:
    asn1 = pytest.importorskip("cryptography.hazmat.asn1")
    try:
        expected: str | None = asn1.decode_der(str, data)
    except ValueError:
        expected = None
    try:
        ours: str | None = decode_der_utf8string(data)
    except DerError:
        ours = None
    assert ours == expected


# ----------------------------------------------------------------- hand-built certificates


def test_hand_built_certificate_reports_malformed_values_as_problems() -> None:
    cert = hand_built_certificate(
        [
            (f"{ARC}.1", b"https://token.actions.githubusercontent.com"),
            (f"{ARC}.2", b"rel\xffease"),  # raw claim that is not UTF-8
            (f"{ARC}.8", b"\x0c\x05abc"),  # length says 5, 3 bytes follow
            (f"{ARC}.12", b"\x13\x03abc"),  # PrintableString, not UTF8String
            (f"{ARC}.21", b"\x0c\x81\xc8" + b"r" * 200),  # long form, valid
            (f"{ARC}.11", b'\x0c\x02""'),  # CircleCI's literal "" stays verbatim
            (f"{ARC}.99", b"\x0c\x05hello"),  # unknown, decodable
            (f"{ARC}.98", b"\x01\x02raw"),  # unknown, not DER
        ]
    )
    result = extract_claims(cert)
    assert result.claims["issuer_v1"] == "https://token.actions.githubusercontent.com"
    assert result.claims["run_url"] == "r" * 200
    assert result.claims["runner_environment"] == '""'
    assert "issuer" not in result.claims
    assert "malformed DER UTF8String (declared length 5 exceeds" in result.problems["issuer"]
    assert "tag 0x13 is not UTF8String" in result.problems["source_repository"]
    assert "github_workflow_trigger" not in result.claims
    assert "raw value is not valid UTF-8" in result.problems["github_workflow_trigger"]
    assert result.claims[f"oid:{ARC}.99"] == "hello"
    assert "unknown Fulcio extension" in result.problems[f"oid:{ARC}.99"]
    assert result.claims[f"oid:{ARC}.98"] == "\x01\x02raw"  # kept verbatim
    assert "not a DER UTF8String" in result.problems[f"oid:{ARC}.98"]


def test_hand_built_certificate_facts_and_othername_san() -> None:
    other = x509.OtherName(x509.ObjectIdentifier(f"{ARC}.7"), b"\x0c\x05alice")
    cert = hand_built_certificate([(f"{ARC}.24", b"\x0c\x0crepo:o/r:x:y")], san=other)
    facts = certificate_facts(cert)
    assert facts.serial == "abcdef"
    assert facts.san == ("alice",)
    assert facts.issuer == "CN=lab"
    assert facts.not_before == datetime(2024, 12, 4, 23, 14, tzinfo=UTC)
    assert facts.sct_time is None
    assert extract_claims(cert).claims == {"token_subject": "repo:o/r:x:y"}


# ----------------------------------------------------------------- real certificates


def test_real_github_certificate_all_claims(pep740: Path) -> None:
    cert = _cert_of(pep740 / "pypi-attestations/pypi_attestations-0.0.19.tar.gz.provenance")
    result = extract_claims(cert)
    assert result.problems == {}
    commit = "08802efe1f8e5fec4ad842d6b8ce97656092ee72"
    repo = "https://github.com/trailofbits/pypi-attestations"
    workflow = f"{repo}/.github/workflows/release.yml@refs/tags/v0.0.19"
    assert result.claims == {
        "issuer_v1": "https://token.actions.githubusercontent.com",
        "github_workflow_trigger": "release",
        "github_workflow_sha": commit,
        "github_workflow_name": "release",
        "github_workflow_repository": "trailofbits/pypi-attestations",
        "github_workflow_ref": "refs/tags/v0.0.19",
        "issuer": "https://token.actions.githubusercontent.com",
        "build_signer_uri": workflow,
        "build_signer_digest": commit,
        "runner_environment": "github-hosted",
        "source_repository": repo,
        "source_commit": commit,
        "source_ref": "refs/tags/v0.0.19",
        "source_repository_id": "772247423",
        "source_repository_owner": "https://github.com/trailofbits",
        "source_repository_owner_id": "2314423",
        "build_config": workflow,
        "build_config_digest": commit,
        "trigger": "release",
        "run_url": f"{repo}/actions/runs/12169989787/attempts/1",
        "source_repository_visibility": "public",
    }
    facts = certificate_facts(cert)
    assert facts.issuer == "CN=sigstore-intermediate,O=sigstore.dev"
    assert facts.san == (workflow,)
    assert facts.not_before == datetime(2024, 12, 4, 23, 14, 1, tzinfo=UTC)
    assert facts.not_after - facts.not_before == timedelta(minutes=10)
    assert facts.sct_time == datetime(2024, 12, 4, 23, 14, 1, 630000, tzinfo=UTC)
    assert int(facts.serial, 16) == cert.serial_number


def test_real_circleci_quirks_kept_verbatim(pep740: Path) -> None:
    cert = _cert_of(
        pep740 / "circleci-sign-publish-example/"
        "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl.provenance"
    )
    result = extract_claims(cert)
    assert result.problems == {}
    assert result.claims["issuer"] == "https://oidc.circleci.com"
    assert result.claims["runner_environment"] == '""'
    assert (
        result.claims["source_repository"] == "github.com/CircleCI-Public/sign-and-publish-examples"
    )
    assert "source_commit" not in result.claims
    assert result.claims["build_signer_uri"].startswith("https://circleci.com/api/v2/projects/")
    assert "//workflow/" in result.claims["run_url"]


def test_real_gitlab_double_slash(pep740: Path) -> None:
    cert = _cert_of(
        pep740 / "gitlab-oidc-project/gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"
    )
    claims = extract_claims(cert).claims
    assert claims["issuer"] == "https://gitlab.com"
    expected = "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main"
    assert claims["build_config"] == expected
    assert claims["build_signer_uri"] == expected
    assert claims["runner_environment"] == "gitlab-hosted"


def test_real_google_has_only_issuers_and_email(pep740: Path) -> None:
    cert = _cert_of(pep740 / "gcb-attestation-test/gcb_attestation_test-0.0.0.tar.gz.provenance")
    result = extract_claims(cert)
    assert result.claims == {
        "issuer_v1": "https://accounts.google.com",
        "issuer": "https://accounts.google.com",
    }
    assert certificate_facts(cert).san == ("919436158236-compute@developer.gserviceaccount.com",)
