"""Chain of custody: signatures over a case digest (`forensics case seal` / `case verify --sealed`).

What is signed is the *digest statement*: an in-toto Statement v1, serialised as RFC 8785 JSON,
whose subject is the case and whose digest is the case digest (the Merkle root of `manifest.py`).
Its bytes are a pure function of the case, so anyone holding the case can rebuild them and check
a signature without trusting `seal.json`.

Two kinds of signature, both kept in `seal.json` next to the case (outside the seal itself):

* a key signature: ECDSA P-256/SHA-256 or P-384/SHA-384 over the statement bytes, made here
  with `cryptography` from a PEM private key and checked against the signer's public key;
* a Sigstore bundle made elsewhere by ``sigstore sign statement.json`` (keyless, with the
  signer's OIDC identity) and attached here; it is checked with sigstore-python's `Verifier`
  against a trusted root and an expected identity and issuer. Keyless signing needs Fulcio, Rekor
  and an OIDC provider, which this machine cannot reach, so the toolkit does not sign keylessly
  itself: it writes the statement, and attaches the bundle that `sigstore sign` produced.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from forensics.errors import CaseIntegrityError, EvidenceError, InputError, UsageError
from forensics.evidence.manifest import TREE
from forensics.evidence.store import EvidenceStore

SEAL_FILE = "seal.json"
SEAL_SCHEMA = "forensics.case-seal/v1"
PREDICATE_TYPE = "https://provenance-forensics.dev/case-seal/v1"
IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1"

KEYLESS_UNAVAILABLE = (
    "keyless Sigstore signing needs an OIDC identity, Fulcio and Rekor, which this machine "
    "cannot reach: write the statement with `forensics case statement DIR -o statement.json`, "
    "sign it where Sigstore is reachable with `sigstore sign statement.json`, then attach the "
    "bundle with `forensics case seal DIR --bundle statement.json.sigstore.json`"
)

_CURVES: dict[str, hashes.HashAlgorithm] = {
    "secp256r1": hashes.SHA256(),
    "secp384r1": hashes.SHA384(),
}


def statement_bytes(project: str, digest: str, leaves: int) -> bytes:
    """The digest statement for a case (RFC 8785 JSON, so it rebuilds byte for byte)."""
    statement: dict[str, Any] = {
        "_type": IN_TOTO_STATEMENT_V1,
        "subject": [{"name": f"forensics-case:{project}", "digest": {"rfc6962": digest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"project": project, "leaves": leaves, "tree": TREE},
    }
    return bytes(rfc8785.dumps(statement))


def case_statement(store: EvidenceStore) -> bytes:
    """The statement for the case as it is now; refuses a case that does not verify."""
    check = store.require_intact()  # only an intact, sealed case can be signed
    meta = store.read_meta()
    project = meta.project if meta else ""
    return statement_bytes(project, check.digest, len(store.content().leaves()))


def statement_digest(statement: bytes) -> str:
    """The case digest a statement names (ValueError when it is not a digest statement)."""
    doc = json.loads(statement)
    if not isinstance(doc, dict) or doc.get("predicateType") != PREDICATE_TYPE:
        raise ValueError("not a forensics case-seal statement")
    digest = doc["subject"][0]["digest"]["rfc6962"]
    if not isinstance(digest, str):
        raise ValueError("the statement's digest is not a string")
    return digest


@dataclass(frozen=True)
class SealCheck:
    """Outcome of `verify_seal`: which signature matched, over which digest."""

    digest: str
    signer: str
    """`key <key id>` or `sigstore <identity> (<issuer>)`."""


# -- signing ------------------------------------------------------------------------------------


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """An unencrypted PEM ECDSA P-256/P-384 private key (`InputError` otherwise)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read key {path}: {exc.strerror or exc}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # encrypted
        raise InputError(
            f"key {path} is encrypted",
            hint="decrypt a copy first (e.g. `openssl ec -in KEY -out plain.pem`) and keep it safe",
        ) from exc
    except ValueError as exc:
        raise InputError(f"{path} is not a PEM private key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in _CURVES:
        raise InputError(
            f"key {path} is not an ECDSA P-256 or P-384 key",
            hint="make one with `openssl ecparam -name prime256v1 -genkey -noout -out key.pem`",
        )
    return key


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """A PEM ECDSA public key (a private key file is accepted and its public half used)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read key {path}: {exc.strerror or exc}") from exc
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        public = load_private_key(path).public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name not in _CURVES:
        raise InputError(f"key {path} is not an ECDSA P-256 or P-384 public key")
    return public


def key_id(public: ec.EllipticCurvePublicKey) -> str:
    """sha256 of the key's DER SubjectPublicKeyInfo (how Sigstore names keys too)."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _read_seal(root: Path) -> dict[str, Any] | None:
    path = root / SEAL_FILE
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_bytes())
        if not isinstance(doc, dict) or doc.get("schema") != SEAL_SCHEMA:
            raise ValueError(f"schema is not {SEAL_SCHEMA!r}")
        base64.b64decode(doc["statement"], validate=True)
        if not isinstance(doc.get("signatures"), list):
            raise ValueError("'signatures' is not a list")
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise EvidenceError(f"{path} is malformed: {exc}") from exc
    return doc


def _add_signature(root: Path, statement: bytes, signature: Mapping[str, Any]) -> Path:
    """Add a signature to seal.json; a seal over an older digest is replaced, not extended."""
    from forensics.evidence.store import _atomic_write

    doc = _read_seal(root)
    encoded = base64.b64encode(statement).decode()
    if doc is None or doc["statement"] != encoded:
        doc = {
            "schema": SEAL_SCHEMA,
            "statement": encoded,
            "digest": statement_digest(statement),
            "signatures": [],
        }
    doc["signatures"] = [s for s in doc["signatures"] if s != signature] + [dict(signature)]
    path = root / SEAL_FILE
    _atomic_write(path, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
    return path


def seal_with_key(store: EvidenceStore, key_path: Path) -> Path:
    """Sign the case digest with an ECDSA key; returns the path of seal.json."""
    key = load_private_key(key_path)
    statement = case_statement(store)
    signature = key.sign(statement, ec.ECDSA(_CURVES[key.curve.name]))
    public = key.public_key()
    return _add_signature(
        store.root,
        statement,
        {
            "kind": "key",
            "algorithm": f"ecdsa-{key.curve.name}-{_CURVES[key.curve.name].name}",
            "key_id": key_id(public),
            "public_key": public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode(),
            "signature": base64.b64encode(signature).decode(),
        },
    )


def seal_with_bundle(store: EvidenceStore, bundle_path: Path) -> Path:
    """Attach a Sigstore bundle made by `sigstore sign` over this case's statement."""
    from sigstore.models import Bundle, InvalidBundle

    statement = case_statement(store)
    try:
        raw = bundle_path.read_bytes()
        bundle = Bundle.from_json(raw)
    except OSError as exc:
        raise InputError(f"cannot read bundle {bundle_path}: {exc.strerror or exc}") from exc
    except (InvalidBundle, ValueError) as exc:
        raise InputError(f"{bundle_path} is not a Sigstore bundle: {exc}") from exc
    signed = _bundle_message_digest(bundle)
    wanted = hashlib.sha256(statement).hexdigest()
    if signed is None:
        raise InputError(
            f"{bundle_path} holds a DSSE envelope, not a signature over a file",
            hint="make it with `sigstore sign statement.json` over the output of "
            "`forensics case statement DIR`",
        )
    if signed != wanted:
        raise InputError(
            f"{bundle_path} signs a file with sha256 {signed}, not this case's statement "
            f"(sha256 {wanted})",
            hint="the case changed since the statement was written, or another file was "
            "signed: write it again with `forensics case statement DIR` and sign that",
        )
    return _add_signature(
        store.root, statement, {"kind": "sigstore", "bundle": json.loads(bundle.to_json())}
    )


def _bundle_message_digest(bundle: Any) -> str | None:
    inner = bundle._inner  # sigstore exposes no public accessor for the message digest
    sig = getattr(inner, "message_signature", None)
    if sig is None or sig.message_digest is None:
        return None
    return bytes(sig.message_digest.digest).hex()


# -- verifying ----------------------------------------------------------------------------------


def verify_seal(
    store: EvidenceStore,
    *,
    key: Path | None = None,
    identity: str | None = None,
    issuer: str | None = None,
    trust_root: Path | None = None,
) -> SealCheck:
    """Check that seal.json signs the case's *current* digest, by the given key or identity.

    Raises `UsageError` when no signer is named (a seal by anyone proves nothing), and
    `CaseIntegrityError` naming what failed otherwise.
    """
    if key is None and identity is None:
        raise UsageError(
            "--sealed needs the signer you trust: --key PUB.pem, or --identity ID --issuer URL",
        )
    if identity is not None and issuer is None:
        raise UsageError("--identity needs --issuer (e.g. https://accounts.google.com)")
    doc = _read_seal(store.root)
    if doc is None:
        raise CaseIntegrityError(
            f"case {store.root} is not sealed (no {SEAL_FILE})",
            hint="the sender seals it with `forensics case seal DIR --key KEY.pem` or "
            "`--bundle FILE`",
        )
    statement = base64.b64decode(doc["statement"])
    try:
        sealed_digest = statement_digest(statement)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CaseIntegrityError(f"{SEAL_FILE} holds no case-seal statement: {exc}") from exc
    current = case_statement(store)
    if statement != current:
        now = statement_digest(current)
        raise CaseIntegrityError(
            f"the seal signs case digest {sealed_digest} but the case now digests to {now}"
            if sealed_digest != now
            else "the sealed statement differs from the case's own statement (same digest)",
            hint="the case changed after it was sealed, or the seal belongs to another case",
        )
    if key is not None:
        return _verify_key(doc, statement, load_public_key(key), sealed_digest)
    assert identity is not None
    assert issuer is not None
    return _verify_sigstore(doc, statement, identity, issuer, trust_root, sealed_digest)


def _verify_key(
    doc: Mapping[str, Any], statement: bytes, public: ec.EllipticCurvePublicKey, digest: str
) -> SealCheck:
    kid = key_id(public)
    mine = [s for s in doc["signatures"] if isinstance(s, dict) and s.get("key_id") == kid]
    if not mine:
        raise CaseIntegrityError(f"no signature in {SEAL_FILE} is by key {kid}")
    for sig in mine:
        try:
            raw = base64.b64decode(str(sig.get("signature", "")), validate=True)
            public.verify(raw, statement, ec.ECDSA(_CURVES[public.curve.name]))
        except (InvalidSignature, ValueError):
            continue
        return SealCheck(digest, f"key {kid}")
    raise CaseIntegrityError(
        f"the signature by key {kid} does not verify over the sealed statement",
        hint="the seal was altered, or signed another statement",
    )


def _verify_sigstore(
    doc: Mapping[str, Any],
    statement: bytes,
    identity: str,
    issuer: str,
    trust_root: Path | None,
    digest: str,
) -> SealCheck:
    import sigstore.errors
    from sigstore.models import Bundle, InvalidBundle
    from sigstore.verify import Verifier, policy

    from forensics.trust import TrustMaterial

    bundles = [s for s in doc["signatures"] if isinstance(s, dict) and s.get("kind") == "sigstore"]
    if not bundles:
        raise CaseIntegrityError(f"{SEAL_FILE} holds no Sigstore bundle")
    verifier = Verifier(trusted_root=TrustMaterial.load(trust_root).trusted_root)
    failures = []
    for sig in bundles:
        try:
            bundle = Bundle.from_json(json.dumps(sig.get("bundle")))
            verifier.verify_artifact(
                statement, bundle, policy.Identity(identity=identity, issuer=issuer)
            )
        except (InvalidBundle, sigstore.errors.Error, ValueError) as exc:
            failures.append(str(exc) or type(exc).__name__)
            continue
        return SealCheck(digest, f"sigstore {identity} ({issuer})")
    raise CaseIntegrityError(
        f"no Sigstore bundle in {SEAL_FILE} verifies for {identity} ({issuer}): "
        + "; ".join(failures),
        hint="check --identity, --issuer and --trust-root (the root the signer's Fulcio and "
        "Rekor chain to)",
    )
