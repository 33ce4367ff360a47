"""The one way to the trusted root: `TrustMaterial`, a Sigstore trusted root kept as its bytes.

A case stores exactly the root its verdicts depend on and re-analysis reuses it. Everything that
needs trust goes through here: the sigstore `TrustedRoot` model (`trusted_root`), the PEP 740
verifier (`verifier`), the Rekor keys (`log_keys`), the CT log keys (`ct_keys`) and the Fulcio CAs
(`fulcio_cas`), each key with its `validFor` window. `signing_time_problems` applies the one
validity-window rule (`forensics.primitives.ValidityWindow`) to all three kinds of key at the
signing time, which sigstore-python does not do (it checks only that a window has started by
today's clock). No network, ever: the default root is the production root embedded in the
installed sigstore wheel; refreshing it is a deliberate act by the analyst.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
import sigstore.errors
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier

from forensics.errors import InputError
from forensics.primitives import LogKeys, UntrustedDataError, ValidityWindow, loads
from forensics.primitives.untrusted import pydantic_summary

if TYPE_CHECKING:
    from forensics.provenance.verify import ProvenanceVerifier

PRODUCTION_TUF_DIR = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
"""Folder of sigstore-python's embedded production trust material (`sigstore/_store/`)."""

_ROOT_HINT = "expected a Sigstore trusted_root.json (media type ...trustedroot+json;version=0.1)"


def production_root_path() -> Path:
    """Path of the production `trusted_root.json` embedded in the installed sigstore wheel.

    Its freshness is not verified (formats.md §8.3): pass a pinned trusted root for evidence.
    """
    resource = importlib.resources.files("sigstore") / "_store" / PRODUCTION_TUF_DIR
    return Path(str(resource / "trusted_root.json"))


@dataclass(frozen=True)
class FulcioCA:
    """One certificate authority of the trusted root: its chain (issuer first) and window."""

    uri: str
    chain: tuple[x509.Certificate, ...]
    window: ValidityWindow

    def issued(self, cert: x509.Certificate) -> bool:
        """True if the first certificate of the chain signed `cert` (name and signature)."""
        if not self.chain or cert.issuer != self.chain[0].subject:
            return False
        key = self.chain[0].public_key()
        algorithm = cert.signature_hash_algorithm
        if algorithm is None:
            return False
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(
                    cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm
                )
            else:
                return False
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True


@dataclass(frozen=True)
class TrustMaterial:
    """A pinned trusted root: bytes, where they came from, and everything derived from them."""

    raw: bytes
    label: str

    @classmethod
    def load(cls, path: Path | None = None) -> TrustMaterial:
        """A `trusted_root.json` file, or (None) the production root shipped inside sigstore.

        The root is checked at once (`InputError` naming the file), not at first use.
        """
        trust = cls.read(path)
        trust.trusted_root  # noqa: B018 - parse now, so a bad file fails where it is named
        return trust

    @classmethod
    def read(cls, path: Path | None = None) -> TrustMaterial:
        """The bytes only; each view (`log_keys`, `trusted_root`...) checks what it needs."""
        if path is None:
            resource = production_root_path()
            label = f"the production trusted_root.json embedded in sigstore ({resource})"
            try:
                data = resource.read_bytes()
            except OSError as exc:
                raise InputError(
                    f"cannot read {label}: {exc}",
                    hint="reinstall sigstore, or pass the path of a trusted_root.json",
                ) from exc
            return cls(data, label)
        label = f"trusted root {str(path)!r}"
        try:
            return cls(Path(path).read_bytes(), label)
        except OSError as exc:
            raise InputError(f"cannot read {label}: {exc.strerror or exc}") from exc

    @property
    def sha256(self) -> str:
        """Digest of the root's bytes (recorded in reports)."""
        return hashlib.sha256(self.raw).hexdigest()

    @cached_property
    def document(self) -> dict[str, Any]:
        """The root as parsed JSON (an object), `InputError` otherwise."""
        try:
            data = loads(self.raw, self.label)
        except UntrustedDataError as exc:
            raise InputError(exc.message, hint=_ROOT_HINT) from exc
        if not isinstance(data, dict):
            raise InputError(
                f"{self.label} is not a valid trusted root: a {type(data).__name__}, not an object",
                hint=_ROOT_HINT,
            )
        return data

    @cached_property
    def trusted_root(self) -> TrustedRoot:
        """sigstore-python's model of the root, sanity-checked (`InputError` when unusable)."""
        # sigstore's public constructor only takes a path; the inner model's `from_json` is what
        # `TrustedRoot.from_file` calls after reading the file.
        from sigstore_models.trustroot import v1 as trustroot_v1

        self.document  # noqa: B018 - the bounded JSON reader first: depth, size, encoding
        try:
            root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(self.raw))
            root.get_fulcio_certs()
            Verifier(trusted_root=root)  # rejects a root without transparency logs
        except pydantic.ValidationError as exc:
            raise InputError(
                f"{self.label} is not a valid trusted root: {pydantic_summary(exc)}",
                hint=_ROOT_HINT,
            ) from exc
        except (sigstore.errors.Error, ValueError, RecursionError) as exc:
            raise InputError(
                f"{self.label} is not a usable trusted root: {exc}", hint=_ROOT_HINT
            ) from exc
        return root

    @cached_property
    def verifier(self) -> ProvenanceVerifier:
        """PEP 740 verifier over this root."""
        from forensics.provenance.verify import ProvenanceVerifier

        return ProvenanceVerifier(self)

    @cached_property
    def log_keys(self) -> LogKeys:
        """Transparency-log (Rekor) keys of this root, for independent entry verification."""
        return LogKeys.from_trusted_root(self.document, source=self.label)

    @cached_property
    def ct_keys(self) -> LogKeys:
        """Certificate-transparency log keys of this root (SCT signers)."""
        return LogKeys.from_trusted_root(self.document, source=self.label, section="ctlogs")

    @cached_property
    def fulcio_cas(self) -> tuple[FulcioCA, ...]:
        """The certificate authorities with their chains and windows (malformed ones skipped)."""
        out: list[FulcioCA] = []
        cas = self.document.get("certificateAuthorities")
        for i, ca in enumerate(cas if isinstance(cas, list) else []):
            try:
                certs = ca["certChain"]["certificates"]
                chain = tuple(
                    x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"], validate=True))
                    for c in certs
                )
                window = ValidityWindow.from_json(
                    ca.get("validFor"), f"certificateAuthorities[{i}]"
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # sigstore's own parse (`trusted_root`) reports a malformed CA
            out.append(FulcioCA(str(ca.get("uri", "")), chain, window))
        return tuple(out)

    def signing_time_problems(
        self, cert: x509.Certificate, log_id: bytes | None, signed_at: datetime, time_label: str
    ) -> list[str]:
        """Why a signature made at `signed_at` is not covered by the root's key windows.

        Checks the Fulcio CA that issued `cert`, the Rekor key named by `log_id` and the CT log
        key of each SCT embedded in `cert`. A key the root does not list at all is not judged
        here (sigstore's own chain, SET and SCT checks reject it); a key listed only with windows
        that miss `signed_at` is a problem. Several listings of one key (rotation history) pass
        when any window covers the time.
        """
        problems: list[str] = []
        issuers = [ca for ca in self.fulcio_cas if ca.issued(cert)]
        if issuers and not any(ca.window.contains(signed_at) for ca in issuers):
            ca = issuers[0]
            problems.append(
                str(
                    ca.window.problem(
                        signed_at,
                        key=f"the Fulcio CA {ca.uri or ca.chain[0].subject.rfc4514_string()}",
                        time_label=time_label,
                    )
                )
            )
        if log_id is not None:
            keys = self.log_keys.all_by_log_id(log_id)
            if keys and not any(k.valid_at(signed_at) for k in keys):
                problems.append(
                    str(keys[0].window_problem(signed_at, role="Rekor", time_label=time_label))
                )
        for sct_log_id in _sct_log_ids(cert):
            keys = self.ct_keys.all_by_log_id(sct_log_id)
            if keys and not any(k.valid_at(signed_at) for k in keys):
                problems.append(
                    str(keys[0].window_problem(signed_at, role="CT log", time_label=time_label))
                )
        return problems


def _sct_log_ids(cert: x509.Certificate) -> list[bytes]:
    try:
        scts = cert.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        ).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [sct.log_id for sct in scts]
