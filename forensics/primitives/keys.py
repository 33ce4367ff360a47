"""Transparency-log keys (Rekor and CT) of a trusted root, looked up by recomputed IDs.

Each key keeps the `validFor` window the trusted root gives it (`ValidityWindow`, the one rule
for windows). Log IDs are recomputed from the key bytes, never taken from the file: a trusted
root edited to alias one key under another log's ID must not redirect lookups.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from forensics.errors import InputError
from forensics.primitives.validity import ValidityWindow

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
_OPEN = ValidityWindow()


@dataclass(frozen=True)
class LogKey:
    """One transparency log's public key, with every identifier derived from it."""

    base_url: str
    key: PublicKey = field(repr=False)
    key_details: str
    log_id: bytes
    """sha256 of the DER SubjectPublicKeyInfo (Rekor v1 logID, CT log ID), recomputed."""
    checkpoint_key_id: bytes
    """C2SP signed-note key ID: Ed25519 sha256(name || 0x0A || 0x01 || key); ECDSA = log_id."""
    window: ValidityWindow = _OPEN

    @property
    def valid_from(self) -> datetime | None:
        """Start of the key's `validFor` window (None: open)."""
        return self.window.start

    @property
    def valid_until(self) -> datetime | None:
        """End of the key's `validFor` window (None: open)."""
        return self.window.end

    @property
    def name(self) -> str:
        """The note key name: the host of the log's base URL."""
        return urlsplit(self.base_url).netloc or self.base_url

    @property
    def key_hint(self) -> bytes:
        """The 4-byte key hint that prefixes this key's checkpoint signatures."""
        return self.checkpoint_key_id[:4]

    def matches_id(self, ident: bytes) -> bool:
        """True if `ident` is this key's log ID or checkpoint key ID."""
        return ident in (self.log_id, self.checkpoint_key_id)

    def valid_at(self, when: datetime) -> bool:
        """True if `when` lies in the key's validFor window (end exclusive)."""
        return self.window.contains(when)

    def window_problem(self, when: datetime, *, role: str, time_label: str) -> str | None:
        """Why this key cannot vouch for `when` (None when it can): the shared window rule."""
        return self.window.problem(
            when, key=f"the {role} key of {self.base_url}", time_label=time_label
        )

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raise `InvalidSignature` unless `signature` is this key's signature over `data`."""
        if isinstance(self.key, ed25519.Ed25519PublicKey):
            self.key.verify(signature, data)
        else:
            self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))

    @classmethod
    def from_public_key(
        cls, key_bytes: bytes, base_url: str, *, window: ValidityWindow = _OPEN
    ) -> LogKey:
        """Build from a PEM or DER public key (ECDSA P-256 or Ed25519)."""
        try:
            if key_bytes.lstrip().startswith(b"-----BEGIN"):
                loaded = serialization.load_pem_public_key(key_bytes)
            else:
                loaded = serialization.load_der_public_key(key_bytes)
        except (ValueError, TypeError) as exc:
            raise InputError(f"log key for {base_url} does not parse: {exc}") from exc
        spki = loaded.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        log_id = hashlib.sha256(spki).digest()
        if isinstance(loaded, ed25519.Ed25519PublicKey):
            raw = loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            name = urlsplit(base_url).netloc or base_url
            # C2SP signed-note key ID, signature type 0x01 (Ed25519); Rekor v2 puts it in logId.
            ckid = hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()
            return cls(base_url, loaded, "PKIX_ED25519", log_id, ckid, window)
        if isinstance(loaded, ec.EllipticCurvePublicKey) and isinstance(loaded.curve, ec.SECP256R1):
            # Rekor v1 checkpoints use the first 4 bytes of the log ID as the key hint.
            return cls(base_url, loaded, "PKIX_ECDSA_P256_SHA_256", log_id, log_id, window)
        raise InputError(
            f"log key for {base_url} is {type(loaded).__name__}; only ECDSA P-256 and Ed25519 "
            "transparency-log keys are supported"
        )


@dataclass(frozen=True)
class LogKeys:
    """The keys of one list of a trusted root (`tlogs` or `ctlogs`), by recomputed IDs."""

    keys: tuple[LogKey, ...]
    problems: tuple[str, ...] = ()
    """Entries of the trusted root that were skipped or disagree with the file, with reasons."""

    def by_log_id(self, ident: bytes) -> LogKey | None:
        """The key whose log ID (or C2SP checkpoint key ID) is `ident`."""
        return next((k for k in self.keys if k.matches_id(ident)), None)

    def all_by_log_id(self, ident: bytes) -> list[LogKey]:
        """Every key with this ID: a root may list one key twice with different windows."""
        return [k for k in self.keys if k.matches_id(ident)]

    def by_key_hint(self, hint: bytes) -> list[LogKey]:
        """Keys whose checkpoint key hint is `hint` (4 bytes; collisions are possible)."""
        return [k for k in self.keys if k.key_hint == hint]

    @classmethod
    def from_trusted_root(
        cls, data: Any, *, source: str = "trusted root", section: str = "tlogs"
    ) -> LogKeys:
        """Parse the `tlogs` (or `ctlogs`) list of a Sigstore `TrustedRoot` (protobuf JSON)."""
        entries = data.get(section) if isinstance(data, Mapping) else None
        if not isinstance(entries, list):
            if section != "tlogs" and isinstance(data, Mapping) and entries is None:
                return cls(())
            raise InputError(f"{source} has no `{section}` list: not a Sigstore trusted root")
        keys: list[LogKey] = []
        problems: list[str] = []
        for i, t in enumerate(entries):
            where = f"{source} {section}[{i}]"
            try:
                pk = t["publicKey"]
                raw = base64.b64decode(pk["rawBytes"], validate=True)
                base_url = t.get("baseUrl", "")
                if not isinstance(base_url, str):
                    raise ValueError(f"baseUrl is a {type(base_url).__name__}, not a URL")
                base_url.encode("utf-8")  # UnicodeEncodeError (a ValueError): lone surrogates
                key = LogKey.from_public_key(
                    raw,
                    base_url,
                    window=ValidityWindow.from_json(
                        pk.get("validFor"), f"{section}[{i}].publicKey"
                    ),
                )
            except (KeyError, TypeError, ValueError, AttributeError, InputError) as exc:
                problems.append(f"{where}: skipped, malformed entry ({exc})")
                continue
            stated = (t.get("logId") or {}).get("keyId") if isinstance(t, Mapping) else None
            if stated is not None:
                try:
                    stated_raw = base64.b64decode(stated, validate=True)
                except (ValueError, TypeError):
                    stated_raw = b""
                if not key.matches_id(stated_raw):
                    problems.append(
                        f"{where} ({key.base_url}): stated logId {stated} does not match the key "
                        f"(recomputed {base64.b64encode(key.checkpoint_key_id).decode()})"
                    )
            keys.append(key)
        return cls(tuple(keys), tuple(problems))

    @classmethod
    def of(cls, *keys: LogKey) -> LogKeys:
        """A key set from explicit keys (the lab log's `publicKey`)."""
        return cls(tuple(keys))
