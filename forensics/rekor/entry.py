"""Rekor entry model: one parser for the REST `LogEntry` and the bundle `TransparencyLogEntry`.

The same log entry reaches us in two shapes (formats.md §6.1, §6.2):

* the Rekor v1 REST API answers ``{"<entryID>": {body, integratedTime, logID, logIndex,
  verification{inclusionProof{...hex...}, signedEntryTimestamp}}}`` with hex hashes and JSON ints;
* a Sigstore bundle / PEP 740 attestation embeds the protobuf-JSON ``TransparencyLogEntry`` with
  base64 hashes, decimal *strings* and camelCase keys.

Both are parsed into one `RekorEntry` so verification and comparison never care where the entry
came from. Parsing is strict about structure and types (a malformed entry raises `MalformedEntry`
naming the field) and lenient about nothing: a negative index is malformed, not "unknown".
sigstore-python has pydantic models for both shapes, but its converter is private
(`TransparencyLogEntry._from_v1_response`) and rejects entry kinds other than dsse/hashedrekord
v0.0.1, which a forensic reader must still be able to show.

Also here: decoding of the entry *body* (`dsse/0.0.1`, `hashedrekord/0.0.1`, Rekor v2
`hashedrekord/0.0.2` and `dsse/0.0.2`) and the `GET /api/v1/log` answer (`LogInfo`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from forensics.errors import InputError
from forensics.models import LogEntry
from forensics.primitives import (
    Checkpoint,
    NoteError,
    certificate_san,
    extract_claims,
    leaf_hash,
    parse_checkpoint,
)


class MalformedEntry(InputError):
    """A log entry (or log info) is structurally invalid; the message names the field."""

    reference = "malformed-rekor-entry"


# -- small strict readers ---------------------------------------------------------------------


def _field(data: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise MalformedEntry(f"{where} is not a JSON object (got {type(data).__name__})")
    if key not in data or data[key] is None:
        raise MalformedEntry(f"{where}.{key} is missing")
    return data[key]


_MAX_INT64 = 2**63 - 1
"""Every integer of a log entry is a protobuf int64: anything larger is hostile, not a position."""
_MAX_UNIX_TIME = 253402300799
"""9999-12-31T23:59:59Z, the last second a `datetime` can hold."""


def _int(value: Any, where: str, *, allow_str: bool, maximum: int = _MAX_INT64) -> int:
    # bool is an int subclass in Python; a JSON `true` is never a valid index.
    if isinstance(value, bool):
        raise MalformedEntry(f"{where} must be an integer, got {value!r}")
    if isinstance(value, int):
        number = value
    elif (
        allow_str
        and isinstance(value, str)
        and value.isascii()
        and 0 < len(value.lstrip("-")) <= 20
        and value.lstrip("-").isdigit()
    ):
        # ASCII and at most 20 digits: `int()` accepts other scripts' digits and raises
        # ValueError beyond 4300 digits, neither of which is an int64 in protobuf JSON.
        number = int(value)
    else:
        kind = "an integer or decimal string" if allow_str else "an integer"
        raise MalformedEntry(f"{where} must be {kind}, got {_shown(value)}")
    if number < 0:
        raise MalformedEntry(f"{where} is negative ({number}); log positions start at 0")
    if number > maximum:
        raise MalformedEntry(f"{where} {number} is out of range (at most {maximum})")
    return number


def _writable(text: str, where: str) -> str:
    """`text` unchanged, or `MalformedEntry` when no encoder can write it (lone surrogates):
    an identifier that reaches every report must be text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedEntry(f"{where} {_shown(text)} holds text no encoding can write") from exc
    return text


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def _b64(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedEntry(f"{where} must be a base64 string, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedEntry(f"{where} is not valid base64: {exc}") from exc


def _hex(value: Any, where: str, *, length: int | None = 32) -> bytes:
    if not isinstance(value, str):
        raise MalformedEntry(f"{where} must be a hex string, got {type(value).__name__}")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise MalformedEntry(f"{where} is not valid hex: {value[:80]!r}") from exc
    if length is not None and len(raw) != length:
        raise MalformedEntry(f"{where} must be {length} bytes, got {len(raw)}")
    return raw


# -- the entry model --------------------------------------------------------------------------


def _feed(digest: Any, value: object) -> None:
    """Add one field to a `fingerprint`: a type tag, the length, the bytes (unambiguous)."""
    if isinstance(value, InclusionProof):
        digest.update(b"P")
        for f in dataclasses.fields(value):
            _feed(digest, getattr(value, f.name))
        return
    if isinstance(value, tuple):
        digest.update(b"T%d:" % len(value))
        for item in value:
            _feed(digest, item)
        return
    if value is None:
        data, tag = b"", b"N"
    elif isinstance(value, bytes):
        data, tag = value, b"B"
    elif isinstance(value, bool):
        data, tag = b"1" if value else b"0", b"b"
    elif isinstance(value, int):
        data, tag = b"%d" % value, b"I"
    elif isinstance(value, str):
        data, tag = value.encode("utf-8", "surrogatepass"), b"S"
    else:  # a field type this encoder does not know must not share a key with another value
        raise TypeError(f"cannot fingerprint a {type(value).__name__}")
    digest.update(tag + b"%d:" % len(data) + data)


@dataclass(frozen=True)
class InclusionProof:
    """An RFC 6962 inclusion proof as Rekor v1 serves it (shard-local index)."""

    log_index: int
    """Index of the leaf *inside the shard's tree* (not the global index)."""
    root_hash: bytes
    tree_size: int
    hashes: tuple[bytes, ...]
    """Audit path, leaf to root."""
    checkpoint: str | None
    """The signed note text, or None when the proof carries none (old v0.1 bundles)."""


@dataclass(frozen=True)
class EntryFacts:
    """The identifying facts of one copy of an entry: enough to compare it with the log's copy
    (`compare_entries`) at a few hundred bytes instead of the whole entry.

    An investigation holds one per served file (the copy embedded in its provenance) while it
    reads the log's copies; keeping the embedded bodies too cost about 6 KB per file. The body
    is represented by its UUID (its RFC 6962 leaf hash), so two bodies differ exactly when the
    UUIDs do.
    """

    uuid: str
    log_index: int
    integrated_time: int | None
    log_id: bytes
    checkpoint: str | None
    """The signed note of the copy's inclusion proof (None without one)."""

    @property
    def log_id_hex(self) -> str:
        """The log ID as lower-case hex."""
        return self.log_id.hex()


@dataclass(frozen=True)
class RekorEntry:
    """One transparency-log entry, independent of the representation it came in."""

    body: bytes
    """The canonicalized body: the exact bytes of the Merkle leaf."""
    log_index: int
    """Global ("virtual") log index on Rekor v1; on Rekor v2 the index in the shard's tree."""
    log_id: bytes
    """Rekor v1: sha256 of the log key's DER SPKI. Rekor v2: the C2SP checkpoint key ID."""
    integrated_time: int | None
    """Unix seconds; None when absent (Rekor v2 sends none or "0")."""
    signed_entry_timestamp: bytes | None
    """The SET (Rekor v1 inclusion promise), None when absent."""
    inclusion_proof: InclusionProof | None
    kind_version: str | None
    """`kind/version` declared next to the body (bundle form); None in the REST form."""
    entry_id: str | None = None
    """The key of the REST answer (80-hex entry ID or 64-hex UUID); None in the bundle form."""
    representation: str = "rest"
    """`rest` (Rekor v1 API LogEntry) or `bundle` (protobuf-JSON TransparencyLogEntry)."""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """Extra data a caller chose to attach. The parsers leave it empty: the fields above are the
    whole entry, and a copy of the JSON (base64 body, hex proof hashes) doubled the memory of every
    entry an analysis holds (about 7 KB each; 5,000 served + 5,000 embedded on a long history)."""

    def facts(self) -> EntryFacts:
        """What this copy of the entry states about itself, without the body (see `EntryFacts`)."""
        proof = self.inclusion_proof
        return EntryFacts(
            self.uuid,
            self.log_index,
            self.integrated_time,
            self.log_id,
            proof.checkpoint if proof is not None else None,
        )

    def fingerprint(self) -> str:
        """sha256 over every field of the entry (all that verification can read; not `raw`).

        Two entries with the same fingerprint verify the same way against the same keys: the
        key under which a verification outcome is cached. Each field goes in with its type and
        length (no text encoding of the body: this runs for every entry of a long history).
        """
        digest = hashlib.sha256()
        for f in dataclasses.fields(self):
            if f.name != "raw":
                _feed(digest, getattr(self, f.name))
        return digest.hexdigest()

    @functools.cached_property
    def uuid(self) -> str:
        """Rekor v1 entry UUID: hex RFC 6962 leaf hash of the canonicalized body."""
        return leaf_hash(self.body).hex()

    @property
    def body_b64(self) -> str:
        """The body as standard base64 (what the SET payload and the REST API carry)."""
        return base64.b64encode(self.body).decode()

    @property
    def log_id_hex(self) -> str:
        """The log ID as lower-case hex (the REST `logID`)."""
        return self.log_id.hex()

    @property
    def integrated_at(self) -> datetime | None:
        """`integrated_time` as an aware UTC datetime."""
        if self.integrated_time is None:
            return None
        return datetime.fromtimestamp(self.integrated_time, UTC)

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The parsed checkpoint of the inclusion proof; None if absent or unparseable."""
        if self.inclusion_proof is None or self.inclusion_proof.checkpoint is None:
            return None
        try:
            return parse_checkpoint(self.inclusion_proof.checkpoint)
        except NoteError:
            return None

    def to_log_entry(self) -> LogEntry:
        """The shared model's view of this entry, before any verification (`verified` None)."""
        notes: list[str] = []
        origin = None
        if self.inclusion_proof is not None and self.inclusion_proof.checkpoint is not None:
            try:
                origin = parse_checkpoint(self.inclusion_proof.checkpoint).origin
            except NoteError as exc:
                notes.append(f"checkpoint is malformed: {exc}")
        return LogEntry(
            log_index=self.log_index,
            integrated_time=self.integrated_at,
            kind=self.kind_version or "?",
            log_id=self.log_id_hex,
            shard_log_index=self.inclusion_proof.log_index if self.inclusion_proof else None,
            tree_size=self.inclusion_proof.tree_size if self.inclusion_proof else None,
            checkpoint_origin=origin,
            uuid=self.uuid,
            reason="; ".join(notes),
        )

    # -- parsers ------------------------------------------------------------------------------

    @classmethod
    def parse(cls, data: Any) -> RekorEntry:
        """Parse either representation, detecting which one `data` is."""
        if not isinstance(data, Mapping):
            raise MalformedEntry(f"a Rekor entry must be a JSON object, got {type(data).__name__}")
        if "canonicalizedBody" in data:
            return cls.from_bundle(data)
        if "body" in data:
            return cls.from_rest_value(data)
        if len(data) == 1:
            return cls.from_rest(data)
        raise MalformedEntry(
            "not a Rekor entry: expected a REST LogEntry ({entryID: {body, ...}}) or a bundle "
            f"TransparencyLogEntry (canonicalizedBody, ...); keys were {sorted(data)[:8]}"
        )

    @classmethod
    def from_rest(cls, data: Mapping[str, Any]) -> RekorEntry:
        """Parse a REST `LogEntry` map `{entryID: {...}}` holding exactly one entry."""
        if not isinstance(data, Mapping):
            raise MalformedEntry(f"LogEntry must be a JSON object, got {type(data).__name__}")
        if len(data) != 1:
            raise MalformedEntry(f"LogEntry must hold exactly one entry, it holds {len(data)}")
        ((entry_id, value),) = data.items()
        return cls.from_rest_value(value, entry_id=str(entry_id))

    @classmethod
    def from_rest_value(
        cls, value: Mapping[str, Any], *, entry_id: str | None = None
    ) -> RekorEntry:
        """Parse the value of a REST `LogEntry` (hex hashes, JSON integers)."""
        where = f"LogEntry[{entry_id}]" if entry_id else "LogEntry"
        if entry_id is not None:
            lowered = entry_id.lower()
            if len(lowered) not in (64, 80) or any(c not in "0123456789abcdef" for c in lowered):
                raise MalformedEntry(
                    f"{where}: entry key must be a 64-hex UUID or 80-hex entry ID, got {entry_id!r}"
                )
            entry_id = lowered
        body = _b64(_field(value, "body", where), f"{where}.body")
        log_index = _int(_field(value, "logIndex", where), f"{where}.logIndex", allow_str=False)
        log_id = _hex(_field(value, "logID", where), f"{where}.logID")
        itime_raw = value.get("integratedTime")
        itime = (
            None
            if itime_raw is None
            else _int(itime_raw, f"{where}.integratedTime", allow_str=False, maximum=_MAX_UNIX_TIME)
        )
        verification = value.get("verification")
        verification = {} if verification is None else verification
        if not isinstance(verification, Mapping):
            raise MalformedEntry(f"{where}.verification is not a JSON object")
        set_raw = verification.get("signedEntryTimestamp")
        set_sig = (
            None if set_raw is None else _b64(set_raw, f"{where}.verification.signedEntryTimestamp")
        )
        proof = None
        if verification.get("inclusionProof") is not None:
            p = verification["inclusionProof"]
            pw = f"{where}.verification.inclusionProof"
            hashes = _field(p, "hashes", pw)
            if not isinstance(hashes, list):
                raise MalformedEntry(f"{pw}.hashes must be a list")
            checkpoint = p.get("checkpoint")
            if checkpoint is not None and not isinstance(checkpoint, str):
                raise MalformedEntry(f"{pw}.checkpoint must be a string")
            proof = InclusionProof(
                log_index=_int(_field(p, "logIndex", pw), f"{pw}.logIndex", allow_str=False),
                root_hash=_hex(_field(p, "rootHash", pw), f"{pw}.rootHash"),
                tree_size=_int(_field(p, "treeSize", pw), f"{pw}.treeSize", allow_str=False),
                hashes=tuple(_hex(h, f"{pw}.hashes[{i}]") for i, h in enumerate(hashes)),
                checkpoint=checkpoint or None,
            )
        return cls(
            body=body,
            log_index=log_index,
            log_id=log_id,
            integrated_time=itime or None,
            signed_entry_timestamp=set_sig,
            inclusion_proof=proof,
            kind_version=None,
            entry_id=entry_id,
            representation="rest",
        )

    @classmethod
    def from_bundle(cls, data: Mapping[str, Any]) -> RekorEntry:
        """Parse a protobuf-JSON `TransparencyLogEntry` (base64, decimal strings, camelCase)."""
        where = "tlogEntry"
        body = _b64(_field(data, "canonicalizedBody", where), f"{where}.canonicalizedBody")
        log_index = _int(_field(data, "logIndex", where), f"{where}.logIndex", allow_str=True)
        log_id = _b64(
            _field(_field(data, "logId", where), "keyId", f"{where}.logId"), f"{where}.logId.keyId"
        )
        kv = data.get("kindVersion")
        kind_version = None
        if kv is not None:
            kind = _field(kv, "kind", f"{where}.kindVersion")
            version = _field(kv, "version", f"{where}.kindVersion")
            kind_version = _writable(f"{kind}/{version}"[:200], f"{where}.kindVersion")
        itime_raw = data.get("integratedTime")
        itime = (
            None
            if itime_raw is None
            else _int(itime_raw, f"{where}.integratedTime", allow_str=True, maximum=_MAX_UNIX_TIME)
        )
        promise = data.get("inclusionPromise")
        set_sig = None
        if promise is not None:
            set_sig = _b64(
                _field(promise, "signedEntryTimestamp", f"{where}.inclusionPromise"),
                f"{where}.inclusionPromise.signedEntryTimestamp",
            )
        proof = None
        if data.get("inclusionProof") is not None:
            p = data["inclusionProof"]
            pw = f"{where}.inclusionProof"
            hashes = p.get("hashes", []) if isinstance(p, Mapping) else None
            if not isinstance(hashes, list):
                raise MalformedEntry(f"{pw}.hashes must be a list")
            cp = p.get("checkpoint")
            envelope = None
            if cp is not None:
                envelope = _field(cp, "envelope", f"{pw}.checkpoint")
                if not isinstance(envelope, str):
                    raise MalformedEntry(f"{pw}.checkpoint.envelope must be a string")
            proof = InclusionProof(
                log_index=_int(_field(p, "logIndex", pw), f"{pw}.logIndex", allow_str=True),
                root_hash=_b64(_field(p, "rootHash", pw), f"{pw}.rootHash"),
                tree_size=_int(_field(p, "treeSize", pw), f"{pw}.treeSize", allow_str=True),
                hashes=tuple(_b64(h, f"{pw}.hashes[{i}]") for i, h in enumerate(hashes)),
                checkpoint=envelope or None,
            )
        return cls(
            body=body,
            log_index=log_index,
            log_id=log_id,
            # Rekor v2 serialises an absent integration time as "0": never a real time.
            integrated_time=itime or None,
            signed_entry_timestamp=set_sig,
            inclusion_proof=proof,
            kind_version=kind_version,
            entry_id=None,
            representation="bundle",
        )


# -- body decoding ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedBody:
    """What the canonicalized body of an entry says (hashes, signatures, signer)."""

    kind: str
    """`kind/apiVersion` from the body itself."""
    artifact_sha256: str | None = None
    """hashedrekord: the signed artifact digest (hex); for Rekor v2 DSSE-as-hashedrekord this
    is sha256(PAE(payloadType, payload))."""
    payload_sha256: str | None = None
    """dsse: sha256 of the DSSE payload (the in-toto statement bytes), hex."""
    envelope_sha256: str | None = None
    """dsse/0.0.1: sha256 of the envelope as submitted (not re-verifiable, JSON not canonical)."""
    signatures: tuple[bytes, ...] = ()
    certificates: tuple[x509.Certificate, ...] = ()
    public_keys: tuple[bytes, ...] = ()
    """Verifiers given as bare public keys (PEM or DER), for managed-key entries."""
    san: tuple[str, ...] = ()
    """Subject alternative names of the first certificate."""
    claims: Mapping[str, str] = field(default_factory=dict)
    """Fulcio claims of the first certificate (see `forensics.primitives.claims`)."""
    problems: tuple[str, ...] = ()
    """Parts of the body that could not be decoded, with the reason."""


def _load_verifier(blob: bytes) -> tuple[x509.Certificate | None, bytes | None, str | None]:
    """A body `verifier`/`publicKey` is PEM (v1) or DER (v2): certificate, bare key, or problem."""
    if blob.lstrip().startswith(b"-----BEGIN"):
        if b"CERTIFICATE" in blob.split(b"\n", 1)[0]:
            try:
                return x509.load_pem_x509_certificate(blob), None, None
            except ValueError as exc:
                return None, None, f"verifier PEM certificate does not parse: {exc}"
        try:
            serialization.load_pem_public_key(blob)
        except (ValueError, TypeError) as exc:
            return None, None, f"verifier PEM public key does not parse: {exc}"
        return None, blob, None
    try:
        return x509.load_der_x509_certificate(blob), None, None
    except ValueError as exc:
        return None, None, f"verifier is neither a PEM nor a DER certificate: {exc}"


def certificate_claims(cert: x509.Certificate) -> tuple[dict[str, str], list[str]]:
    """Fulcio claims of `cert` (names from `forensics.primitives.claims.CLAIM_NAMES`)."""
    result = extract_claims(cert)
    problems = [f"claim {name}: {why}" for name, why in sorted(result.problems.items())]
    return dict(result.claims), problems


def _digest_hex(
    algorithm: Any, value: Any, where: str, problems: list[str], *, b64: bool
) -> str | None:
    if not isinstance(value, str):
        problems.append(f"{where} has no digest value")
        return None
    if str(algorithm).lower() not in ("sha256", "sha2_256"):
        problems.append(f"{where} uses unsupported hash algorithm {algorithm!r}")
        return None
    try:
        raw = base64.b64decode(value, validate=True) if b64 else bytes.fromhex(value)
    except (binascii.Error, ValueError):
        problems.append(f"{where} digest is not valid {'base64' if b64 else 'hex'}")
        return None
    if len(raw) != 32:
        problems.append(f"{where} digest is {len(raw)} bytes, not 32")
        return None
    return raw.hex()


def _obj(value: Any) -> dict[str, Any]:
    """A body sub-object, or {} when the field is absent or not an object (a hostile body)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    """A body list of objects; non-objects become {} so each is reported as missing parts."""
    return [_obj(v) for v in value] if isinstance(value, list) else []


def decode_body(body: bytes) -> DecodedBody:
    """Decode a canonicalized body. Unknown kinds decode to their kind with a problem noted.

    Raises `MalformedEntry` only when the body is not a JSON object with `kind`/`apiVersion`:
    anything below that level becomes a `problems` entry, because one bad signature blob must not
    hide the rest of the entry from an investigator.
    """
    try:
        doc = json.loads(body)
    except RecursionError as exc:
        raise MalformedEntry("entry body is JSON nested too deeply") from exc
    except ValueError as exc:
        raise MalformedEntry(f"entry body is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        raise MalformedEntry("entry body is not a JSON object with a `kind`")
    kind = _writable(f"{doc['kind']}/{doc.get('apiVersion', '?')}"[:200], "entry body kind")
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise MalformedEntry(f"{kind} body has no `spec` object")
    problems: list[str] = []
    sigs: list[bytes] = []
    verifiers: list[bytes] = []
    artifact = payload = envelope = None

    def b64field(value: Any, where: str) -> bytes | None:
        if not isinstance(value, str):
            problems.append(f"{where} is missing")
            return None
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{where} is not valid base64")
            return None

    if kind == "dsse/0.0.1":
        env = _obj(spec.get("envelopeHash"))
        envelope = _digest_hex(
            env.get("algorithm"), env.get("value"), "envelopeHash", problems, b64=False
        )
        ph = _obj(spec.get("payloadHash"))
        payload = _digest_hex(
            ph.get("algorithm"), ph.get("value"), "payloadHash", problems, b64=False
        )
        for i, s in enumerate(_list(spec.get("signatures"))):
            sig = b64field(s.get("signature"), f"signatures[{i}].signature")
            ver = b64field(s.get("verifier"), f"signatures[{i}].verifier")
            if sig is not None:
                sigs.append(sig)
            if ver is not None:
                verifiers.append(ver)
    elif kind == "hashedrekord/0.0.1":
        h = _obj(_obj(spec.get("data")).get("hash"))
        artifact = _digest_hex(h.get("algorithm"), h.get("value"), "data.hash", problems, b64=False)
        s = _obj(spec.get("signature"))
        sig = b64field(s.get("content"), "signature.content")
        ver = b64field(_obj(s.get("publicKey")).get("content"), "signature.publicKey.content")
        if sig is not None:
            sigs.append(sig)
        if ver is not None:
            verifiers.append(ver)
    elif kind in ("hashedrekord/0.0.2", "dsse/0.0.2"):
        # Rekor v2 bodies are protobuf-JSON: base64 digests, DER certificates under rawBytes.
        inner_key = "hashedRekordV002" if kind.startswith("hashedrekord") else "dsseV002"
        inner = _obj(spec.get(inner_key))
        if kind.startswith("hashedrekord"):
            d = _obj(inner.get("data"))
            artifact = _digest_hex(d.get("algorithm"), d.get("digest"), "data", problems, b64=True)
            sig_objs = [_obj(inner.get("signature"))]
        else:
            d = _obj(inner.get("payloadHash"))
            payload = _digest_hex(
                d.get("algorithm"), d.get("digest"), "payloadHash", problems, b64=True
            )
            sig_objs = [_obj(s) for s in _list(inner.get("signatures"))]
        for i, s in enumerate(sig_objs):
            sig = b64field(s.get("content"), f"signatures[{i}].content")
            if sig is not None:
                sigs.append(sig)
            v = _obj(s.get("verifier"))
            raw = _obj(v.get("x509Certificate") or v.get("publicKey")).get("rawBytes")
            ver = b64field(raw, f"signatures[{i}].verifier.rawBytes")
            if ver is not None:
                verifiers.append(ver)
    else:
        problems.append(f"entry kind {kind} is not decoded by this version")

    certs: list[x509.Certificate] = []
    keys: list[bytes] = []
    for blob in verifiers:
        cert, key, problem = _load_verifier(blob)
        if cert is not None:
            certs.append(cert)
        elif key is not None:
            keys.append(key)
        elif problem:
            problems.append(problem)
    san: tuple[str, ...] = ()
    claims: dict[str, str] = {}
    if certs:
        san = certificate_san(certs[0])
        claims, claim_problems = certificate_claims(certs[0])
        problems.extend(claim_problems)
    return DecodedBody(
        kind=kind,
        artifact_sha256=artifact,
        payload_sha256=payload,
        envelope_sha256=envelope,
        signatures=tuple(sigs),
        certificates=tuple(certs),
        public_keys=tuple(keys),
        san=san,
        claims=claims,
        problems=tuple(problems),
    )


# -- log info ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardInfo:
    """The head of one shard (tree) of a Rekor v1 log."""

    tree_id: str
    tree_size: int
    root_hash: bytes
    signed_tree_head: str


@dataclass(frozen=True)
class LogInfo:
    """`GET /api/v1/log`: the active shard's head and the inactive shards."""

    active: ShardInfo
    inactive: tuple[ShardInfo, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def tree_size(self) -> int:
        """Size of the active shard."""
        return self.active.tree_size

    @property
    def root_hash(self) -> bytes:
        """Root hash of the active shard."""
        return self.active.root_hash

    @property
    def tree_id(self) -> str:
        """Trillian tree ID of the active shard."""
        return self.active.tree_id

    @property
    def signed_tree_head(self) -> str:
        """The active shard's checkpoint (signed note)."""
        return self.active.signed_tree_head

    def shard_offsets(self) -> dict[str, int]:
        """Global index of the first entry of each shard, by tree ID.

        Rekor v1 numbers entries globally across shards in the order of its sharding config, which
        is the order of `inactiveShards`, then the active shard (rekor `pkg/sharding`): the global
        index of an entry is its shard-local index plus the sizes of every earlier shard.
        """
        offsets: dict[str, int] = {}
        total = 0
        for shard in (*self.inactive, self.active):
            offsets[shard.tree_id] = total
            total += shard.tree_size
        return offsets

    @property
    def global_size(self) -> int:
        """Number of entries across every shard."""
        return sum(s.tree_size for s in (*self.inactive, self.active))

    @classmethod
    def from_json(cls, data: Any) -> LogInfo:
        """Parse the `GET /api/v1/log` answer (hex root hashes, int sizes, string tree IDs)."""
        if not isinstance(data, Mapping):
            raise MalformedEntry(f"log info must be a JSON object, got {type(data).__name__}")
        active = _shard(data, "log")
        inactive_raw = data.get("inactiveShards")
        inactive_raw = [] if inactive_raw is None else inactive_raw
        if not isinstance(inactive_raw, list):
            raise MalformedEntry("log.inactiveShards must be a list")
        inactive = tuple(_shard(s, f"log.inactiveShards[{i}]") for i, s in enumerate(inactive_raw))
        return cls(active=active, inactive=inactive, raw=dict(data))


def _shard(data: Mapping[str, Any], where: str) -> ShardInfo:
    tree_id = _field(data, "treeID", where)
    text = str(tree_id) if isinstance(tree_id, str | int) and not isinstance(tree_id, bool) else ""
    # A Trillian tree ID is an int64: ASCII digits, at most 20 of them.
    if not (text.isascii() and text.isdigit() and len(text) <= 20):
        raise MalformedEntry(f"{where}.treeID must be a decimal tree ID, got {_shown(tree_id)}")
    sth = _field(data, "signedTreeHead", where)
    if not isinstance(sth, str):
        raise MalformedEntry(f"{where}.signedTreeHead must be a string")
    return ShardInfo(
        tree_id=str(tree_id),
        tree_size=_int(_field(data, "treeSize", where), f"{where}.treeSize", allow_str=False),
        root_hash=_hex(_field(data, "rootHash", where), f"{where}.rootHash"),
        signed_tree_head=sth,
    )


def entry_id_for(tree_id: str | int, uuid: str) -> str:
    """Rekor v1 entry ID: `%016x(treeID) + uuid` (rekor `pkg/sharding/sharding.go`)."""
    return f"{int(tree_id):016x}{uuid}"


def split_entry_id(value: str) -> tuple[str | None, str]:
    """Split an 80-hex entry ID into (tree ID decimal, uuid); a 64-hex UUID gives (None, uuid)."""
    text = value.strip().lower()
    if any(c not in "0123456789abcdef" for c in text) or len(text) not in (64, 80):
        raise MalformedEntry(f"not a 64-hex entry UUID or 80-hex entry ID: {value!r}")
    if len(text) == 64:
        return None, text
    return str(int(text[:16], 16)), text[16:]


def sha256_hex(data: bytes) -> str:
    """Hex sha256 (small helper so callers need not import hashlib for one digest)."""
    return hashlib.sha256(data).hexdigest()


def as_hashes(values: Sequence[bytes | str]) -> list[bytes]:
    """Normalise proof hashes given as raw bytes or hex strings."""
    out: list[bytes] = []
    for i, v in enumerate(values):
        out.append(v if isinstance(v, bytes) else _hex(v, f"hashes[{i}]"))
    return out
