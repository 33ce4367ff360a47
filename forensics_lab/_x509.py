"""Low-level encoders for the lab CA: Fulcio claims, DER strings, RFC 6962 SCTs, key derivation.

Private helpers of `forensics_lab.trust`. Written by hand (not with a library) because no maintained
PyPI library *produces* Fulcio extensions or embedded SCTs: `cryptography` can parse an SCT list but
cannot construct `SignedCertificateTimestamp` objects, and Fulcio's encoders live in Go. Every
format here is the one sigstore-python 4.5.1 checks (see /work/shared/guide/lab-signing-notes.md).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from forensics.primitives import CLAIM_NAMES, RAW_UTF8_OIDS

# The claim table lives in `forensics.primitives.claims` (the decoder); the lab encoder uses the
# same table so a name can never mean two different OIDs in the project.
CLAIM_OIDS: Mapping[str, str] = {name: dotted for dotted, name in CLAIM_NAMES.items()}
"""Claim name -> dotted OID, in certificate order (.1 ... .24)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SCT_LIST_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def der_length(n: int) -> bytes:
    """DER definite length octets (short form below 128, long form above)."""
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_utf8string(value: str) -> bytes:
    """A DER UTF8String (tag 0x0C), the encoding Fulcio uses for extensions .8 and up."""
    raw = value.encode("utf-8")
    return b"\x0c" + der_length(len(raw)) + raw


def der_octet_string(value: bytes) -> bytes:
    """A DER OCTET STRING (tag 0x04)."""
    return b"\x04" + der_length(len(value)) + value


def claim_extension(name: str, value: str) -> x509.UnrecognizedExtension:
    """The Fulcio extension for one claim, encoded the way Fulcio encodes that OID."""
    try:
        dotted = CLAIM_OIDS[name]
    except KeyError:
        known = ", ".join(CLAIM_OIDS)
        raise ValueError(f"unknown Fulcio claim name {name!r}; known names: {known}") from None
    # .1-.6 predate Fulcio's switch to DER: their extnValue is the raw UTF-8 value, no ASN.1 tag.
    raw = value.encode("utf-8") if dotted in RAW_UTF8_OIDS else der_utf8string(value)
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(dotted), raw)


def spki_der(key: ec.EllipticCurvePublicKey) -> bytes:
    """DER SubjectPublicKeyInfo of a public key."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    """CT / Rekor v1 log ID: sha256 of the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der(key)).digest()


def derive_private_key(
    seed: int, label: str, curve: ec.EllipticCurve
) -> ec.EllipticCurvePrivateKey:
    """A private key that depends only on (seed, label, curve).

    The scalar is HKDF-SHA256 output reduced into [1, n-1]; 16 extra bytes make the modulo bias
    negligible. This is for a *lab* only: seeds are small integers, so these keys are guessable by
    design (anyone can rebuild a lab world from its seed).
    """
    order = _CURVE_ORDERS[curve.name]
    size = (order.bit_length() + 7) // 8 + 16
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=size,
        salt=b"forensics-lab/v1",
        info=f"{curve.name}/{label}".encode(),
    ).derive(seed.to_bytes(16, "big", signed=True))
    scalar = int.from_bytes(okm, "big") % (order - 1) + 1
    return ec.derive_private_key(scalar, curve)


_CURVE_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}


def derive_serial(seed: int, *parts: bytes | str) -> int:
    """A positive certificate serial (<= 20 octets, RFC 5280 §4.1.2.2) from the seed and inputs."""
    h = hashlib.sha256(seed.to_bytes(16, "big", signed=True))
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(4, "big") + data)
    return (int.from_bytes(h.digest()[:20], "big") >> 1) or 1


def sct_signed_data(
    timestamp_ms: int, issuer_key: ec.EllipticCurvePublicKey, tbs_precert: bytes
) -> bytes:
    """The RFC 6962 §3.2 `digitally-signed` input for a precertificate SCT (v1, no extensions)."""
    return (
        struct.pack(
            ">BBQH", 0, 0, timestamp_ms, 1
        )  # version v1, certificate_timestamp, ts, precert_entry
        + key_id(issuer_key)
        + len(tbs_precert).to_bytes(3, "big")
        + tbs_precert
        + struct.pack(">H", 0)  # CtExtensions: empty
    )


def sct_list_extension(
    log_id: bytes, timestamp_ms: int, signature: bytes
) -> x509.UnrecognizedExtension:
    """An embedded-SCT-list extension holding one SCT (RFC 6962 §3.3).

    The extnValue is an OCTET STRING wrapping the TLS-encoded SignedCertificateTimestampList.
    """
    if len(log_id) != 32:
        raise ValueError("a CT log ID is 32 bytes")
    sct = (
        struct.pack(">B", 0)
        + log_id
        + struct.pack(">QH", timestamp_ms, 0)
        + struct.pack(">BBH", 4, 3, len(signature))  # hash sha256, signature ecdsa
        + signature
    )
    sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
    return x509.UnrecognizedExtension(SCT_LIST_OID, der_octet_string(sct_list))


def timestamp_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (SCT timestamps are in ms)."""
    # Integer arithmetic: float seconds * 1000 can be off by one millisecond.
    return (moment.astimezone(UTC) - _EPOCH) // timedelta(milliseconds=1)


def require_utc(name: str, moment: datetime) -> datetime:
    """Return `moment` in UTC; reject naive datetimes, which would read the local time zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime, got naive {moment.isoformat()}"
        )
    return moment.astimezone(UTC)
