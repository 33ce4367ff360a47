"""The lab's Sigstore trust: a Fulcio-style CA, a CT log key and a Rekor v1 key, from one seed.

`LabTrust.generate(seed, ...)` derives every key and serial number from the seed, signs with
RFC 6979 deterministic ECDSA and takes every time as an input, so the same seed always yields
byte-identical certificates and trusted root. The trusted root is the protobuf-specs
`TrustedRoot` JSON that sigstore-python loads with `TrustedRoot.from_file`; signatures made with
this trust verify with sigstore-python's own `Verifier` with no check bypassed
(tests/lab/test_sign.py proves it).

A second, *foreign* CA is generated alongside but never written into the trusted root: it signs
leaves for the `foreign-ca` tamper mode (an attacker with a look-alike CA).

The lab keys are derived from small integer seeds and are therefore public by construction. They
must never be trusted outside a lab world.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from forensics.errors import InputError
from forensics.models import isoformat
from forensics_lab import _x509

TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
TRUST_SCHEMA = "forensics_lab.trust/v1"

# sigstore-python verifies ECDSA with the hash named by keyDetails; the CT log key must be P-256
# because the SCT's hash algorithm byte says SHA-256 (lab-signing-notes.md).
_P256_DETAILS = "PKIX_ECDSA_P256_SHA_256"

FULCIO_URI = "https://fulcio.lab.invalid"
CT_URI = "https://ctfe.lab.invalid"
REKOR_URI = "https://rekor.lab.invalid"
_ORG = "forensics-lab.invalid"

# File names written by `write_keys` and read by `load`.
_KEY_FILES = {
    "root_key": "fulcio-root.key.pem",
    "intermediate_key": "fulcio-intermediate.key.pem",
    "foreign_key": "foreign-root.key.pem",
    "ct_key": "ct-log.key.pem",
    "rekor_key": "rekor-log.key.pem",
}
_CERT_FILES = {
    "root_cert": "fulcio-root.crt.pem",
    "intermediate_cert": "fulcio-intermediate.crt.pem",
    "foreign_cert": "foreign-root.crt.pem",
}
_TRUST_FILE = "lab-trust.json"


def _ecdsa_hash(key: ec.EllipticCurvePrivateKey) -> hashes.SHA256 | hashes.SHA384:
    """The signature hash matching the key size (P-384 CA keys sign with SHA-384, like Fulcio)."""
    return hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()


def sign_deterministic(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """DER ECDSA-SHA256 signature with an RFC 6979 nonce: same key and data, same bytes."""
    return key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))


def _ca_certificate(
    *,
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer_name: x509.Name | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    serial: int,
    path_length: int,
    not_before: datetime,
    not_after: datetime,
    code_signing_eku: bool,
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if code_signing_eku:
        # Fulcio's intermediate carries codeSigning; sigstore tolerates it on a CA.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    return builder.sign(issuer_key, _ecdsa_hash(issuer_key), ecdsa_deterministic=True)


def _public_key_json(
    key: ec.EllipticCurvePublicKey, start: datetime, end: datetime
) -> dict[str, Any]:
    return {
        "rawBytes": base64.b64encode(_x509.spki_der(key)).decode(),
        "keyDetails": _P256_DETAILS,
        "validFor": {"start": isoformat(start), "end": isoformat(end)},
    }


@dataclass(frozen=True)
class LabTrust:
    """Lab Fulcio-style CA (root + intermediate), CT log key, Rekor v1 log key."""

    seed: int
    valid_from: datetime
    valid_until: datetime
    root_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    intermediate_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    foreign_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    ct_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    rekor_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    root_cert: x509.Certificate = field(repr=False)
    intermediate_cert: x509.Certificate = field(repr=False)
    foreign_cert: x509.Certificate = field(repr=False)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def generate(cls, seed: int, *, valid_from: datetime, valid_until: datetime) -> LabTrust:
        """Derive the whole trust from `seed`; the CAs are valid from `valid_from` to `valid_until`.

        `valid_from` is also the start of every key's `validFor` window in the trusted root.
        sigstore-python ignores keys whose window starts after the *wall clock* time of
        verification, so a lab world meant to be verified today needs `valid_from` in the past.
        """
        start = _x509.require_utc("valid_from", valid_from)
        end = _x509.require_utc("valid_until", valid_until)
        if end <= start:
            raise ValueError(
                f"valid_until ({isoformat(end)}) must be after valid_from ({isoformat(start)})"
            )
        root_key = _x509.derive_private_key(seed, "fulcio-root", ec.SECP384R1())
        intermediate_key = _x509.derive_private_key(seed, "fulcio-intermediate", ec.SECP384R1())
        foreign_key = _x509.derive_private_key(seed, "foreign-root", ec.SECP384R1())
        root_cert = _ca_certificate(
            name="lab-fulcio-root",
            key=root_key,
            issuer_name=None,
            issuer_key=root_key,
            serial=_x509.derive_serial(seed, "fulcio-root"),
            path_length=1,
            not_before=start,
            not_after=end,
            code_signing_eku=False,
        )
        intermediate_cert = _ca_certificate(
            name="lab-fulcio-intermediate",
            key=intermediate_key,
            issuer_name=root_cert.subject,
            issuer_key=root_key,
            serial=_x509.derive_serial(seed, "fulcio-intermediate"),
            path_length=0,
            not_before=start,
            not_after=end,
            code_signing_eku=True,
        )
        # The foreign CA looks like ours (same organisation, a plausible name) but is absent from
        # the trusted root: the attacker model is "someone minted a look-alike Fulcio".
        foreign_cert = _ca_certificate(
            name="lab-fulcio-intermediate-foreign",
            key=foreign_key,
            issuer_name=None,
            issuer_key=foreign_key,
            serial=_x509.derive_serial(seed, "foreign-root"),
            path_length=0,
            not_before=start,
            not_after=end,
            code_signing_eku=True,
        )
        return cls(
            seed=seed,
            valid_from=start,
            valid_until=end,
            root_key=root_key,
            intermediate_key=intermediate_key,
            foreign_key=foreign_key,
            ct_key=_x509.derive_private_key(seed, "ct-log", ec.SECP256R1()),
            rekor_key=_x509.derive_private_key(seed, "rekor-log", ec.SECP256R1()),
            root_cert=root_cert,
            intermediate_cert=intermediate_cert,
            foreign_cert=foreign_cert,
        )

    def derive_key(self, label: str) -> ec.EllipticCurvePrivateKey:
        """A P-256 key for `label` (e.g. a signer's ephemeral key) derived from the seed."""
        return _x509.derive_private_key(self.seed, f"ephemeral/{label}", ec.SECP256R1())

    # -- identifiers ----------------------------------------------------------------------------

    @property
    def rekor_log_id(self) -> bytes:
        """sha256(DER SPKI of the Rekor key): Rekor v1 `logID`; 4-byte prefix = note key hint."""
        return _x509.key_id(self.rekor_key.public_key())

    @property
    def ct_log_id(self) -> bytes:
        """sha256(DER SPKI of the CT log key): the SCT `log_id`."""
        return _x509.key_id(self.ct_key.public_key())

    @property
    def rekor_public_pem(self) -> str:
        """The Rekor public key as PEM (what `GET /api/v1/log/publicKey` serves)."""
        return (
            self.rekor_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    # -- the trusted root -----------------------------------------------------------------------

    def trusted_root_dict(self) -> dict[str, Any]:
        """The trusted root as a JSON-ready dict (see `trusted_root_json`)."""
        start, end = self.valid_from, self.valid_until
        chain = [
            {"rawBytes": base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()}
            for c in (self.intermediate_cert, self.root_cert)
        ]
        return {
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [
                {
                    "baseUrl": REKOR_URI,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": _public_key_json(self.rekor_key.public_key(), start, end),
                    "logId": {"keyId": base64.b64encode(self.rekor_log_id).decode()},
                }
            ],
            "certificateAuthorities": [
                {
                    "subject": {"organization": _ORG, "commonName": "lab-fulcio-root"},
                    "uri": FULCIO_URI,
                    "certChain": {"certificates": chain},
                    "validFor": {"start": isoformat(start), "end": isoformat(end)},
                }
            ],
            "ctlogs": [
                {
                    "baseUrl": CT_URI,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": _public_key_json(self.ct_key.public_key(), start, end),
                    "logId": {"keyId": base64.b64encode(self.ct_log_id).decode()},
                }
            ],
            "timestampAuthorities": [],
        }

    def trusted_root_json(self) -> bytes:
        """Sigstore `trusted_root.json` (`...trustedroot+json;version=0.1`) of the lab.

        Loadable by `sigstore.models.TrustedRoot.from_file`. The foreign CA is deliberately absent.
        No timestamp authority: lab entries are Rekor v1 with signed entry timestamps.
        """
        return (json.dumps(self.trusted_root_dict(), indent=2) + "\n").encode()

    # -- persistence ----------------------------------------------------------------------------

    def write_keys(self, directory: Path) -> None:
        """Write PEM private keys, CA certificates, public keys and `lab-trust.json`."""
        directory.mkdir(parents=True, exist_ok=True)
        for attr, name in _KEY_FILES.items():
            key: ec.EllipticCurvePrivateKey = getattr(self, attr)
            (directory / name).write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        for attr, name in _CERT_FILES.items():
            cert: x509.Certificate = getattr(self, attr)
            (directory / name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        for label, key in (("ct-log", self.ct_key), ("rekor-log", self.rekor_key)):
            (directory / f"{label}.pub.pem").write_bytes(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        meta = {
            "schema": TRUST_SCHEMA,
            "seed": self.seed,
            "valid_from": isoformat(self.valid_from),
            "valid_until": isoformat(self.valid_until),
            "warning": "lab keys derived from a public seed: never trust them outside the lab",
        }
        (directory / _TRUST_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LabTrust:
        """Read what `write_keys` wrote; `InputError` names the file that is missing or bad."""
        meta_path = directory / _TRUST_FILE
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("schema") != TRUST_SCHEMA:
                raise ValueError(f"schema is {meta.get('schema')!r}, expected {TRUST_SCHEMA!r}")
            seed = meta["seed"]
            if not isinstance(seed, int):
                raise ValueError("seed is not an integer")
            valid_from = datetime.fromisoformat(meta["valid_from"].replace("Z", "+00:00"))
            valid_until = datetime.fromisoformat(meta["valid_until"].replace("Z", "+00:00"))
        except FileNotFoundError:
            raise InputError(
                f"{meta_path} is missing",
                hint="point at the keys/ folder of a lab world (written by LabTrust.write_keys)",
            ) from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{meta_path} is not a lab trust description: {exc}") from exc

        keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        for attr, name in _KEY_FILES.items():
            path = directory / name
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except FileNotFoundError:
                raise InputError(f"lab key file {path} is missing") from None
            except (OSError, ValueError, TypeError) as exc:
                raise InputError(
                    f"lab key file {path} is not an unencrypted PEM key: {exc}"
                ) from exc
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise InputError(f"lab key file {path} holds a {type(key).__name__}, not an EC key")
            keys[attr] = key
        certs: dict[str, x509.Certificate] = {}
        for attr, name in _CERT_FILES.items():
            path = directory / name
            try:
                certs[attr] = x509.load_pem_x509_certificate(path.read_bytes())
            except FileNotFoundError:
                raise InputError(f"lab certificate {path} is missing") from None
            except (OSError, ValueError) as exc:
                raise InputError(f"lab certificate {path} is not a PEM certificate: {exc}") from exc
        for cert_attr, key_attr in (
            ("root_cert", "root_key"),
            ("intermediate_cert", "intermediate_key"),
            ("foreign_cert", "foreign_key"),
        ):
            if certs[cert_attr].public_key() != keys[key_attr].public_key():
                raise InputError(
                    f"{directory / _CERT_FILES[cert_attr]} does not belong to "
                    f"{directory / _KEY_FILES[key_attr]}: the keys folder is mixed up"
                )
        return cls(
            seed=seed,
            valid_from=valid_from.astimezone(UTC),
            valid_until=valid_until.astimezone(UTC),
            root_key=keys["root_key"],
            intermediate_key=keys["intermediate_key"],
            foreign_key=keys["foreign_key"],
            ct_key=keys["ct_key"],
            rekor_key=keys["rekor_key"],
            root_cert=certs["root_cert"],
            intermediate_cert=certs["intermediate_cert"],
            foreign_cert=certs["foreign_cert"],
        )

    # -- leaf certificates ----------------------------------------------------------------------

    def issue_leaf(
        self,
        *,
        public_key: ec.EllipticCurvePublicKey,
        san: str,
        san_kind: Literal["uri", "email"],
        claims: Mapping[str, str],
        not_before: datetime,
        validity: timedelta = timedelta(minutes=10),
        issuer: Literal["intermediate", "foreign"] = "intermediate",
    ) -> x509.Certificate:
        """A Fulcio-style code-signing leaf with the given identity, claims and an embedded SCT.

        Extensions follow Fulcio's order (KU, EKU, SKI, AKI, SAN, claims .1-.24, SCT list). The
        SCT is signed by the lab CT key over the precertificate TBS (RFC 6962 §3.2); because
        `cryptography` only exposes `tbs_precertificate_bytes` on a certificate that already
        has an SCT-list extension, the certificate is built once with a placeholder SCT list and
        rebuilt with the real one (same serial, same extension order), and the precertificate
        TBS is checked to be unchanged.
        """
        start = _x509.require_utc("not_before", not_before).replace(microsecond=0)
        if validity <= timedelta(0):
            raise ValueError(f"validity must be positive, got {validity}")
        end = start + validity
        if san_kind == "uri":
            general_name: x509.GeneralName = x509.UniformResourceIdentifier(san)
        elif san_kind == "email":
            general_name = x509.RFC822Name(san)
        else:
            raise ValueError(f"san_kind must be 'uri' or 'email', got {san_kind!r}")
        if issuer == "intermediate":
            issuer_cert, issuer_key = self.intermediate_cert, self.intermediate_key
        elif issuer == "foreign":
            issuer_cert, issuer_key = self.foreign_cert, self.foreign_key
        else:
            raise ValueError(f"issuer must be 'intermediate' or 'foreign', got {issuer!r}")
        claim_exts = [_x509.claim_extension(name, value) for name, value in _ordered(claims)]
        spki = _x509.spki_der(public_key)
        serial = _x509.derive_serial(self.seed, "leaf", spki, san, isoformat(start) or "", issuer)

        def build(sct_ext: x509.UnrecognizedExtension) -> x509.Certificate:
            builder = (
                x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(issuer_cert.subject)
                .public_key(public_key)
                .serial_number(serial)
                .not_valid_before(start)
                .not_valid_after(end)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=False,
                        crl_sign=False,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
                )
                .add_extension(
                    x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
                )
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                    critical=False,
                )
                # Empty subject: RFC 5280 §4.2.1.6 requires a critical SAN (web-PKI checks it).
                .add_extension(x509.SubjectAlternativeName([general_name]), critical=True)
            )
            for ext in claim_exts:
                builder = builder.add_extension(ext, critical=False)
            builder = builder.add_extension(sct_ext, critical=False)
            return builder.sign(issuer_key, _ecdsa_hash(issuer_key), ecdsa_deterministic=True)

        sct_ms = _x509.timestamp_ms(_x509.require_utc("not_before", not_before))
        placeholder = _x509.sct_list_extension(b"\x00" * 32, sct_ms, b"\x00" * 72)
        tbs = build(placeholder).tbs_precertificate_bytes
        signed = _x509.sct_signed_data(sct_ms, issuer_key.public_key(), tbs)
        sct_sig = sign_deterministic(self.ct_key, signed)
        cert = build(_x509.sct_list_extension(self.ct_log_id, sct_ms, sct_sig))
        if cert.tbs_precertificate_bytes != tbs:  # pragma: no cover - guards a cryptography change
            raise RuntimeError("precertificate TBS changed when the real SCT list was embedded")
        return cert


def _ordered(claims: Mapping[str, str]) -> list[tuple[str, str]]:
    """Claims in OID order (Fulcio emits them sorted); unknown names are rejected by the encoder."""
    rank = {name: i for i, name in enumerate(_x509.CLAIM_OIDS)}
    for name, value in claims.items():
        if name not in rank:
            _x509.claim_extension(name, value)  # raises with the list of known names
        if not isinstance(value, str):
            raise ValueError(f"claim {name!r} must be a string, got {type(value).__name__}")
    return sorted(claims.items(), key=lambda item: rank[item[0]])
