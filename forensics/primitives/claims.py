"""Decode the Fulcio certificate claims (OID arc 1.3.6.1.4.1.57264.1) and other certificate facts.

Fulcio copies the OIDC token's claims into X.509 extensions
(https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md). Two encodings coexist:

* .1–.6 (deprecated) carry the value as **raw UTF-8 bytes** directly in ``extnValue``;
* .8–.24 carry a **DER UTF8String** (tag 0x0C, a DER length, the UTF-8 bytes).

Neither library decodes everything we need: pypi-attestations' ``certificate_claims`` covers only
.8–.22 (and raises on a malformed value), sigstore-python has no accessor at all. A forensic tool
must also keep the legacy .1–.6 and the new .23 (deployment environment) and .24 (token subject),
and must survive a hostile certificate, so the decoding is done here with every failure recorded
as a per-claim *problem* instead of an exception.

Values are kept **verbatim**: provider quirks (CircleCI's literal ``""`` runner environment and
scheme-less repository URI, GitLab's ``//`` in the build config URI) are facts detectors compare,
not errors to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from cryptography import x509

from forensics.models import CertificateFacts, utc

FULCIO_ARC = "1.3.6.1.4.1.57264.1"
"""The Fulcio certificate-extension arc; every claim OID is ``FULCIO_ARC.<n>``."""

CLAIM_NAMES: Mapping[str, str] = MappingProxyType(
    {
        f"{FULCIO_ARC}.1": "issuer_v1",
        f"{FULCIO_ARC}.2": "github_workflow_trigger",
        f"{FULCIO_ARC}.3": "github_workflow_sha",
        f"{FULCIO_ARC}.4": "github_workflow_name",
        f"{FULCIO_ARC}.5": "github_workflow_repository",
        f"{FULCIO_ARC}.6": "github_workflow_ref",
        # .7 is an OtherName inside the SAN, not an extension (see `certificate_facts`).
        f"{FULCIO_ARC}.8": "issuer",
        f"{FULCIO_ARC}.9": "build_signer_uri",
        f"{FULCIO_ARC}.10": "build_signer_digest",
        f"{FULCIO_ARC}.11": "runner_environment",
        f"{FULCIO_ARC}.12": "source_repository",
        f"{FULCIO_ARC}.13": "source_commit",
        f"{FULCIO_ARC}.14": "source_ref",
        f"{FULCIO_ARC}.15": "source_repository_id",
        f"{FULCIO_ARC}.16": "source_repository_owner",
        f"{FULCIO_ARC}.17": "source_repository_owner_id",
        f"{FULCIO_ARC}.18": "build_config",
        f"{FULCIO_ARC}.19": "build_config_digest",
        f"{FULCIO_ARC}.20": "trigger",
        f"{FULCIO_ARC}.21": "run_url",
        f"{FULCIO_ARC}.22": "source_repository_visibility",
        f"{FULCIO_ARC}.23": "deployment_environment",
        f"{FULCIO_ARC}.24": "token_subject",
    }
)
"""Fulcio OID (dotted) → stable snake_case claim name used in reports and detectors."""

RAW_UTF8_OIDS: frozenset[str] = frozenset(f"{FULCIO_ARC}.{n}" for n in range(1, 7))
"""The deprecated extensions whose value is raw UTF-8 with no ASN.1 wrapper."""

OTHERNAME_SAN_OID = f"{FULCIO_ARC}.7"
"""Fulcio's OtherName SAN type (username identities); its value is a DER UTF8String."""

SCT_OID = "1.3.6.1.4.1.11129.2.4.2"

_UTF8STRING_TAG = 0x0C
_MAX_VALUE_REPR = 80


class DerError(ValueError):
    """A DER UTF8String is malformed; the message says how."""


@dataclass(frozen=True)
class ClaimsResult:
    """The decoded Fulcio claims of one certificate, and what could not be decoded."""

    claims: dict[str, str] = field(default_factory=dict)
    """Claim name (see `CLAIM_NAMES`, or ``oid:<dotted>`` for an unknown OID) → value."""
    problems: dict[str, str] = field(default_factory=dict)
    """Claim name → why it could not be decoded (or why it is suspicious, for unknown OIDs)."""


def _excerpt(data: bytes) -> str:
    """A bounded, printable rendering of raw bytes for problem messages."""
    text = repr(data[:_MAX_VALUE_REPR])
    return text + ("…" if len(data) > _MAX_VALUE_REPR else "")


def decode_der_utf8string(data: bytes) -> str:
    """Decode one DER-encoded ASN.1 UTF8String (tag 0x0C), rejecting anything not strictly DER.

    Hand-written on purpose: pyasn1 (used by pypi-attestations) is not a dependency of ours, and
    `cryptography.hazmat.asn1.decode_der` (used by sigstore-python) only exists in recent
    cryptography releases and reports failures as Rust debug strings (``ParseError { kind:
    InvalidLength }``); the report needs to say which DER rule was broken. The tests check that
    both decoders accept and reject the same inputs. The whole input must be exactly one TLV, so
    appended bytes cannot smuggle a second value past a comparison.
    """
    if len(data) < 2:
        raise DerError(f"too short for a DER TLV ({len(data)} byte(s))")
    if data[0] != _UTF8STRING_TAG:
        raise DerError(f"tag 0x{data[0]:02x} is not UTF8String (0x0c)")
    first = data[1]
    offset = 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DerError("indefinite length is not allowed in DER")
    else:
        count = first & 0x7F
        if count > 4:
            raise DerError(f"length of {count} length-bytes is not supported")
        if len(data) < offset + count:
            raise DerError("truncated long-form length")
        length_bytes = data[offset : offset + count]
        offset += count
        if length_bytes[0] == 0:
            raise DerError("long-form length has a leading zero byte (not minimal DER)")
        length = int.from_bytes(length_bytes, "big")
        if length < 0x80:
            raise DerError(f"long-form length for {length} byte(s) (DER requires the short form)")
    end = offset + length
    if end > len(data):
        raise DerError(f"declared length {length} exceeds the {len(data) - offset} byte(s) present")
    if end != len(data):
        raise DerError(f"{len(data) - end} trailing byte(s) after the UTF8String")
    try:
        return data[offset:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DerError(f"value is not valid UTF-8: {exc.reason} at byte {exc.start}") from exc


def _claim_name(dotted: str) -> str:
    return CLAIM_NAMES.get(dotted, f"oid:{dotted}")


def extract_claims(cert: x509.Certificate) -> ClaimsResult:
    """Decode every extension under the Fulcio arc; never raises for a malformed value."""
    result = ClaimsResult()
    try:
        extensions = list(cert.extensions)
    except ValueError as exc:
        # cryptography refuses the whole extension list on duplicates or a malformed known
        # extension; nothing can be decoded then, and that fact must be visible.
        result.problems["extensions"] = f"certificate extensions cannot be parsed: {exc}"
        return result

    for ext in extensions:
        dotted = ext.oid.dotted_string
        if not dotted.startswith(FULCIO_ARC + "."):
            continue
        name = _claim_name(dotted)
        value = ext.value
        if not isinstance(value, x509.UnrecognizedExtension):
            result.problems[name] = f"unexpected extension type {type(value).__name__}"
            continue
        raw = value.value
        if dotted in RAW_UTF8_OIDS:
            try:
                result.claims[name] = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                result.problems[name] = (
                    f"raw value is not valid UTF-8 ({exc.reason} at byte {exc.start}): "
                    f"{_excerpt(raw)}"
                )
            continue
        try:
            decoded = decode_der_utf8string(raw)
        except DerError as exc:
            if dotted in CLAIM_NAMES:
                result.problems[name] = f"malformed DER UTF8String ({exc}): {_excerpt(raw)}"
                continue
            # An unknown OID need not follow the .8+ convention; keep its bytes readable.
            result.claims[name] = raw.decode("utf-8", errors="backslashreplace")
            result.problems[name] = (
                f"unknown Fulcio extension; not a DER UTF8String ({exc}), kept as raw bytes"
            )
            continue
        result.claims[name] = decoded
        if dotted not in CLAIM_NAMES:
            result.problems[name] = "unknown Fulcio extension; decoded as a DER UTF8String"
    return result


def certificate_san(cert: x509.Certificate) -> tuple[str, ...]:
    """The one SAN reader: URIs, e-mails, DNS names and decoded otherNames, in order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    except ValueError:
        return ()  # `extract_claims` reports unparsable extensions
    out: list[str] = []
    for general_name in san:
        if isinstance(
            general_name, x509.UniformResourceIdentifier | x509.RFC822Name | x509.DNSName
        ):
            out.append(general_name.value)
        elif isinstance(general_name, x509.OtherName):
            try:
                out.append(decode_der_utf8string(general_name.value))
            except DerError:
                out.append(
                    f"othername:{general_name.type_id.dotted_string}:{general_name.value.hex()}"
                )
    return tuple(out)


def _sct_time(cert: x509.Certificate) -> datetime | None:
    try:
        scts = cert.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        ).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    times = [utc(sct.timestamp) for sct in scts]
    # Fulcio embeds one SCT; with several, the earliest is the first independent witness.
    return min(times) if times else None


def certificate_facts(cert: x509.Certificate) -> CertificateFacts:
    """Serial, validity, issuer, SAN values and embedded SCT time of a signing certificate."""
    return CertificateFacts(
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        issuer=cert.issuer.rfc4514_string(),
        san=certificate_san(cert),
        sct_time=_sct_time(cert),
    )
