"""Chain of custody: `forensics case seal` signs the case digest (ECDSA key or Sigstore bundle)
and `forensics case verify --sealed` checks it against the case as it is now.

The Sigstore bundle is made the way `sigstore sign statement.json` makes one, with the lab's CA
and lab Rekor log standing in for Fulcio and Rekor, and verified by sigstore-python against the
lab trusted root.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from sigstore.models import Bundle, TransparencyLogEntry
from sigstore_models.bundle.v1 import MessageSignature
from sigstore_models.common.v1 import HashAlgorithm, HashOutput

from forensics.cli import main
from forensics.evidence import EvidenceStore
from forensics_lab.log import LabRekorLog
from forensics_lab.sign import GOOGLE_ISSUER, google_identity
from forensics_lab.trust import LabTrust

BUNDLED = Path(__file__).resolve().parents[1] / "cases" / "ultralytics" / "case"
SIGNER = "responder@example.org"
SIGNED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def case(tmp_path: Path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(BUNDLED, target, ignore=shutil.ignore_patterns("cache"))  # derived data
    return target


@pytest.fixture(scope="module")
def trust() -> LabTrust:
    return LabTrust.generate(
        17,
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        valid_until=datetime(2030, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def lab_root(trust: LabTrust, tmp_path: Path) -> Path:
    path = tmp_path / "lab_trusted_root.json"
    path.write_bytes(trust.trusted_root_json())
    return path


def write_key(path: Path, curve: ec.EllipticCurve) -> tuple[Path, Path]:
    key = ec.generate_private_key(curve)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub = path.with_suffix(".pub.pem")
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path, pub


def lab_sigstore_sign(trust: LabTrust, artifact: bytes, email: str = SIGNER) -> str:
    """What `sigstore sign FILE` does, with the lab CA and log: a message-signature bundle."""
    san, claims = google_identity(email)
    key = trust.derive_key(f"case-seal/{email}")
    cert = trust.issue_leaf(
        public_key=key.public_key(), san=san, san_kind="email", claims=claims, not_before=SIGNED_AT
    )
    signature = key.sign(artifact, ec.ECDSA(hashes.SHA256()))
    digest = hashlib.sha256(artifact).digest()
    log = LabRekorLog(trust, tree_id=77)
    entry = log.append_hashedrekord(
        sha256_hex=digest.hex(),
        signature=signature,
        certificate=cert,
        integrated_time=int((SIGNED_AT + timedelta(seconds=5)).timestamp()),
    )
    bundle = Bundle._from_parts(
        cert,
        MessageSignature(
            message_digest=HashOutput(
                algorithm=HashAlgorithm.SHA2_256, digest=base64.b64encode(digest)
            ),
            signature=base64.b64encode(signature),
        ),
        TransparencyLogEntry._from_v1_response(log.rest_entry(entry.global_index)),
    )
    return bundle.to_json()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def tamper_status(case: Path) -> None:
    with sqlite3.connect(case / "index.sqlite") as conn:
        conn.execute("UPDATE responses SET status = 404 WHERE id = 3")


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=["p256", "p384"])
def test_key_seal_round_trip(
    curve: ec.EllipticCurve, case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, pub = write_key(tmp_path / "key.pem", curve)
    code, out, _ = run(["case", "seal", str(case), "--key", str(key)], capsys)
    with EvidenceStore.open(case, create=False) as store:
        digest = store.case_digest()
    assert code == 0 and f"digest {digest} sealed" in out
    code, out, _ = run(["case", "verify", "--sealed", str(case), "--key", str(pub)], capsys)
    assert code == 0 and "seal verified, signed by key" in out, out
    # the private key file is accepted too (its public half is used)
    assert run(["case", "verify", "--sealed", str(case), "--key", str(key)], capsys)[0] == 0


def test_key_seal_failures_are_specific(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, pub = write_key(tmp_path / "key.pem", ec.SECP256R1())
    _, other = write_key(tmp_path / "other.pem", ec.SECP256R1())
    verify = ["case", "verify", "--sealed", str(case)]
    code, out, _ = run([*verify, "--key", str(pub)], capsys)
    assert code == 1 and "is not sealed (no seal.json)" in out
    assert run(["case", "seal", str(case), "--key", str(key)], capsys)[0] == 0

    code, out, _ = run([*verify, "--key", str(other)], capsys)
    assert code == 1 and "no signature in seal.json is by key" in out

    seal = json.loads((case / "seal.json").read_text())
    sig = base64.b64decode(seal["signatures"][0]["signature"])
    seal["signatures"][0]["signature"] = base64.b64encode(sig[:-1] + bytes([sig[-1] ^ 1])).decode()
    (case / "seal.json").write_text(json.dumps(seal))
    code, out, _ = run([*verify, "--key", str(pub)], capsys)
    assert code == 1 and "does not verify over the sealed statement" in out

    code, _, err = run([*verify], capsys)
    assert code == 2 and "--sealed needs the signer you trust" in err
    code, _, err = run(["case", "verify", str(case), "--key", str(pub)], capsys)
    assert code == 2 and "add --sealed" in err


def test_a_case_changed_after_sealing_fails_even_if_resealed_by_hand(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, pub = write_key(tmp_path / "key.pem", ec.SECP256R1())
    assert run(["case", "seal", str(case), "--key", str(key)], capsys)[0] == 0
    with EvidenceStore.open(case, create=False) as store:
        sealed = store.case_digest()
    tamper_status(case)
    code, out, _ = run(["case", "verify", "--sealed", str(case), "--key", str(pub)], capsys)
    assert code == 1 and "ROW-EDITED" in out and "status 200 -> 404" in out
    # The attacker rewrites the manifest over the tampered rows: the case looks intact, but the
    # digest changed, and the seal names the one it signed.
    (case / "manifest.json").unlink()
    assert run(["case", "upgrade", str(case)], capsys)[0] == 0
    code, out, _ = run(["case", "verify", "--sealed", str(case), "--key", str(pub)], capsys)
    assert code == 1 and f"the seal signs case digest {sealed} but the case now digests" in out


def test_sealing_refuses_a_case_that_does_not_verify(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = write_key(tmp_path / "key.pem", ec.SECP256R1())
    tamper_status(case)
    code, _, err = run(["case", "seal", str(case), "--key", str(key)], capsys)
    assert code == 2 and "does not verify (tampered)" in err
    code, _, err = run(["case", "statement", str(case)], capsys)
    assert code == 2 and "does not verify" in err


def test_bad_keys_are_input_errors(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rsa = tmp_path / "rsa.pem"
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_mod

    rsa.write_bytes(
        rsa_mod.generate_private_key(65537, 2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    code, _, err = run(["case", "seal", str(case), "--key", str(rsa)], capsys)
    assert code == 2 and "not an ECDSA P-256 or P-384 key" in err
    enc = tmp_path / "enc.pem"
    enc.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    code, _, err = run(["case", "seal", str(case), "--key", str(enc)], capsys)
    assert code == 2 and "is encrypted" in err
    code, _, err = run(["case", "seal", str(case), "--key", str(tmp_path / "nope.pem")], capsys)
    assert code == 2 and "cannot read key" in err
    code, _, err = run(["case", "seal", str(case), "--keyless"], capsys)
    assert code == 2 and "cannot reach" in err and "sigstore sign statement.json" in err


def test_sigstore_bundle_seal_verifies_against_the_lab_root(
    case: Path,
    tmp_path: Path,
    trust: LabTrust,
    lab_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    statement = tmp_path / "statement.json"
    assert run(["case", "statement", str(case), "-o", str(statement)], capsys)[0] == 0
    doc = json.loads(statement.read_bytes())
    with EvidenceStore.open(case, create=False) as store:
        assert doc["subject"][0]["digest"]["rfc6962"] == store.case_digest()
    bundle = tmp_path / "statement.json.sigstore.json"
    bundle.write_text(lab_sigstore_sign(trust, statement.read_bytes()))
    code, out, _ = run(["case", "seal", str(case), "--bundle", str(bundle)], capsys)
    assert code == 0 and "sealed in" in out

    verify = ["case", "verify", "--sealed", str(case), "--trust-root", str(lab_root)]
    code, out, _ = run([*verify, "--identity", SIGNER, "--issuer", GOOGLE_ISSUER], capsys)
    assert code == 0 and f"signed by sigstore {SIGNER} ({GOOGLE_ISSUER})" in out, out

    code, out, _ = run(
        [*verify, "--identity", "mallory@example.org", "--issuer", GOOGLE_ISSUER], capsys
    )
    assert code == 1 and "no Sigstore bundle in seal.json verifies for mallory@" in out
    code, out, _ = run([*verify, "--identity", SIGNER, "--issuer", "https://gitlab.com"], capsys)
    assert code == 1 and "verifies for" in out
    # the production root does not know the lab CA
    code, out, _ = run(
        ["case", "verify", "--sealed", str(case), "--identity", SIGNER, "--issuer", GOOGLE_ISSUER],
        capsys,
    )
    assert code == 1 and "SEAL FAILED" in out

    tamper_status(case)
    code, out, _ = run([*verify, "--identity", SIGNER, "--issuer", GOOGLE_ISSUER], capsys)
    assert code == 1 and "TAMPERED" in out


def test_a_bundle_over_another_file_is_refused(
    case: Path, tmp_path: Path, trust: LabTrust, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "other.sigstore.json"
    bundle.write_text(lab_sigstore_sign(trust, b"some other file"))
    code, _, err = run(["case", "seal", str(case), "--bundle", str(bundle)], capsys)
    assert code == 2 and "not this case's statement" in err
    bundle.write_text("{}")
    code, _, err = run(["case", "seal", str(case), "--bundle", str(bundle)], capsys)
    assert code == 2 and "is not a Sigstore bundle" in err


def test_a_forged_bundle_in_the_seal_fails(
    case: Path,
    tmp_path: Path,
    trust: LabTrust,
    lab_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    statement = tmp_path / "statement.json"
    run(["case", "statement", str(case), "-o", str(statement)], capsys)
    bundle = tmp_path / "b.json"
    bundle.write_text(lab_sigstore_sign(trust, statement.read_bytes()))
    assert run(["case", "seal", str(case), "--bundle", str(bundle)], capsys)[0] == 0
    seal = json.loads((case / "seal.json").read_text())
    ms = seal["signatures"][0]["bundle"]["messageSignature"]
    sig = base64.b64decode(ms["signature"])
    ms["signature"] = base64.b64encode(sig[:-1] + bytes([sig[-1] ^ 1])).decode()
    (case / "seal.json").write_text(json.dumps(seal))
    code, out, _ = run(
        [
            "case",
            "verify",
            "--sealed",
            str(case),
            "--trust-root",
            str(lab_root),
            "--identity",
            SIGNER,
            "--issuer",
            GOOGLE_ISSUER,
        ],
        capsys,
    )
    assert code == 1 and "no Sigstore bundle in seal.json verifies" in out


def test_case_verify_json(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, pub = write_key(tmp_path / "key.pem", ec.SECP256R1())
    run(["case", "seal", str(case), "--key", str(key)], capsys)
    code, out, _ = run(
        ["case", "verify", str(case), "--format", "json", "--sealed", "--key", str(pub)], capsys
    )
    doc = json.loads(out)
    assert code == 0 and doc["state"] == "intact" and doc["digest"] == doc["sealed_digest"]
    assert doc["seal"]["state"] == "verified" and doc["changes"] == []
    tamper_status(case)
    code, out, _ = run(
        ["case", "verify", str(case), "--format", "json", "--sealed", "--key", str(pub)], capsys
    )
    doc = json.loads(out)
    assert code == 1 and doc["state"] == "tampered"
    assert (
        doc["changes"][0]["kind"] == "row-edited"
        and "status 200 -> 404" in doc["changes"][0]["detail"]
    )
    assert doc["seal"]["state"] == "not checked"
    code, out, _ = run(["case", "statement", str(case)], capsys)
    assert code == 2


def test_statement_on_stdout_is_the_file_bytes(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "s.json"
    assert run(["case", "statement", str(case), "-o", str(out_file)], capsys)[0] == 0
    code, out, _ = run(["case", "statement", str(case)], capsys)
    assert code == 0 and out.encode() == out_file.read_bytes()
    assert json.loads(out)["predicateType"] == "https://provenance-forensics.dev/case-seal/v1"


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.text(),  # includes controls, quotes, backslashes, non-BMP and lone surrogates
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        st.one_of(st.text(st.characters(max_codepoint=127), max_size=6), st.text(max_size=6)),
        _VALUES,
        max_size=6,
    )
)
def test_leaf_encoding_is_rfc8785_for_any_row(row: dict[str, object]) -> None:
    """The fast leaf encoder writes exactly what rfc8785 writes for the same canonical value,
    whatever the row holds (the case digest must not depend on which path encoded a leaf)."""
    import rfc8785

    from forensics.evidence.manifest import _encode, canonical_value

    assert _encode(row) == rfc8785.dumps(canonical_value(row))
