"""Verify PEP 740 provenance offline against a pinned Sigstore trust root, one check at a time.

`pypi_attestations.Attestation.verify` is the reference behaviour, but it cannot serve a forensic
tool as is: it always builds `Verifier.production()` (a TUF refresh unless ``offline=True``, and
then whatever root sits in the cache), it validates a whole provenance object at once (one
unknown publisher kind makes every bundle unreadable), and it folds "the cryptography is broken"
and "a different identity signed" into one error. This module therefore

1. parses the raw JSON itself and validates each bundle's publisher and each attestation
   separately with the pypi-attestations models;
2. runs `sigstore.verify.Verifier.verify_dsse` with a permissive, silent identity policy, so the
   cryptographic checks (chain at signing time, SCT, inclusion proof, checkpoint, SET, DSSE
   signature, log body consistency) produce their own failure;
3. checks the certificate against the publisher PyPI recorded with that publisher's own
   pypi-attestations policy (`_as_policy()`), as a separate step with its own reason;
4. repeats pypi-attestations' statement checks (payload type, one subject, parsed subject name,
   sha256, predicate type) with a specific reason for each;
5. checks every trust-root key involved (Fulcio CA, Rekor key, CT log key) against the signing
   time with the one validity-window rule (`TrustMaterial.signing_time_problems`), which
   sigstore-python leaves out (it only checks that a window has started by today's clock);
6. lists as evidence only the transparency entry sigstore verified (the first): further entries
   are unverified data anyone can append, mentioned in a note and never used.

Every transparency entry is read by the one entry parser (`forensics.rekor.entry.RekorEntry`).

No network, ever: the trust root is a file (by default the production root embedded in the
installed sigstore wheel). Hostile input never raises; it becomes an INVALID/UNKNOWN verdict.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic
import sigstore.errors
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from pypi_attestations import Attestation, AttestationType, ConversionError
from pypi_attestations import Publisher as PyPIPublisher
from sigstore.models import InvalidBundle, TrustedRoot
from sigstore.verify import Verifier

from forensics.errors import InputError
from forensics.models import (
    AttestationResult,
    EvidenceRef,
    FileProvenance,
    LogEntry,
    ProvenanceStatus,
    Publisher,
    isoformat,
)
from forensics.primitives import (
    UntrustedDataError,
    certificate_facts,
    encodable,
    extract_claims,
    loads,
)
from forensics.primitives.untrusted import pydantic_summary
from forensics.rekor.entry import MalformedEntry, RekorEntry
from forensics.trust import TrustMaterial

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
"""The DSSE payload type PEP 740 implies (it is not stored in the attestation)."""
STATEMENT_TYPE_V1 = "https://in-toto.io/Statement/v1"
KNOWN_PREDICATE_TYPES: frozenset[str] = frozenset(t.value for t in AttestationType)
"""The two predicate types PyPI accepts (publish/v1 and SLSA provenance v1)."""

PYPI_ATTESTATIONS_VERSION = importlib.metadata.version("pypi-attestations")

_MAX_SHOWN = 200
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_PublisherAdapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(PyPIPublisher)


# --------------------------------------------------------------------------- trust root


def load_trusted_root(path: Path | None = None) -> TrustMaterial:
    """`TrustMaterial.load(path)`: the one way to a trusted root (None: sigstore's embedded one)."""
    return TrustMaterial.load(path)


# --------------------------------------------------------------------------- helpers


def _shown(value: object) -> str:
    """repr() of untrusted text, bounded: control characters and separators stay visible."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _parse_dist_filename(name: str) -> tuple[Any, ...]:
    """Parse an sdist/wheel filename the way pypi-attestations' `_check_dist_filename` does.

    Re-implemented (8 lines) instead of importing the private helper, so an upstream rename
    cannot break us; behaviour: `.whl` → wheel parse, `.tar.gz`/`.zip` → sdist parse, else error.
    The comparison is on the parsed tuple (normalized name, version, [build, tags]), as PyPI does
    since pypi-attestations 0.0.27 (https://github.com/pypi/warehouse/issues/18128).
    """
    if name.endswith(".whl"):
        return tuple(parse_wheel_filename(name))
    if name.endswith((".tar.gz", ".zip")):
        return tuple(parse_sdist_filename(name))
    raise ValueError("unknown distribution format (expected .whl, .tar.gz or .zip)")


class _AcceptAnyIdentity:
    """A silent no-op policy for `verify_dsse`: identity is checked separately, afterwards.

    sigstore's `UnsafeNoOp` does the same but logs a warning on every call; splitting the checks
    is what lets a report say "signature broken" apart from "someone else signed".
    """

    def verify(self, cert: x509.Certificate) -> None:
        return None


_ACCEPT_ANY_IDENTITY = _AcceptAnyIdentity()

# sigstore raises one exception type for every step; the message prefix tells which step failed.
_SIGSTORE_REASONS: tuple[tuple[str, str], ...] = (
    (
        "failed to build timestamp certificate chain",
        "certificate was not issued by a CA in the trust root"
        " (or was not valid at the signing time)",
    ),
    ("failed to verify SCT", "certificate transparency (SCT) check failed"),
    ("DSSE: invalid signature", "signature does not verify"),
    ("DSSE:", "signature does not verify"),
    (
        "invalid log entry",
        "transparency log entry does not verify (inclusion proof, checkpoint or SET)",
    ),
    (
        "invalid signing cert: expired at time of signing",
        "signing time is outside the certificate's validity window",
    ),
    (
        "log entry payload hash does not match",
        "transparency log entry does not match the attestation",
    ),
    ("log entry signatures do not match", "transparency log entry does not match the attestation"),
    (
        "transparency log entry is inconsistent",
        "transparency log entry does not match the attestation",
    ),
    (
        "not enough sources of verified time",
        "no verified signing time (no SET or trusted timestamp)",
    ),
    ("Key usage", "certificate is not a code-signing certificate"),
    ("Extended usage", "certificate is not a code-signing certificate"),
)


def _sigstore_reason(exc: Exception) -> str:
    message = str(exc)
    for prefix, meaning in _SIGSTORE_REASONS:
        if message.startswith(prefix):
            return f"{meaning}: {message}"
    return f"sigstore verification failed: {message}"


# --------------------------------------------------------------------------- publishers


def publisher_from_raw(raw: Mapping[str, Any]) -> Publisher:
    """Map a served publisher object onto `forensics.models.Publisher` (any kind, even unknown)."""

    def text(key: str) -> str | None:
        value = raw.get(key)
        # Text no encoder can write (lone surrogates) is kept escaped; `_check_publisher`
        # reports it, so no renderer ever receives it raw.
        return encodable(value, key, []) if isinstance(value, str) else None

    kind = text("kind") or "<missing kind>"
    repository, workflow = text("repository"), text("workflow")
    if kind == "GitLab":
        workflow = text("workflow_filepath")
    elif kind == "Google":
        repository = text("email")
    elif kind == "CircleCI":
        repository, workflow = text("vcs_origin"), text("pipeline_definition_id")
    environment = text("environment") or None  # "" in objects from 2024 means "no environment"
    return Publisher(
        kind=kind,
        repository=repository,
        workflow=workflow,
        environment=environment,
        raw={str(k): encodable(v, str(k), []) if isinstance(v, str) else v for k, v in raw.items()},
    )


def _publisher_label(pub: Publisher) -> str:
    parts = [pub.kind, pub.repository or "?"]
    if pub.workflow:
        parts.append(pub.workflow)
    if pub.environment:
        parts.append(f"environment {pub.environment}")
    return " ".join(parts)


@dataclass
class _PublisherCheck:
    """How the identity of a bundle's attestations can be checked."""

    fact: Publisher | None
    model: Any = None
    """A validated pypi-attestations publisher (has `_as_policy()`), or None."""
    unknown: str = ""
    """Set when the kind is unsupported: identity cannot be checked, the rest can."""
    invalid: str = ""
    """Set when the publisher object itself is malformed."""
    absent: str = ""
    """Set when no publisher was given at all (a bare attestation)."""


def _check_publisher(raw: object) -> _PublisherCheck:
    if not isinstance(raw, Mapping):
        return _PublisherCheck(None, invalid=f"publisher must be an object, got {_type_name(raw)}")
    fact = publisher_from_raw(raw)
    unwritable: list[str] = []
    for key, value in sorted(raw.items(), key=lambda kv: str(kv[0])):
        if isinstance(value, str):
            encodable(value, f"publisher {key}", unwritable)
    if unwritable:
        return _PublisherCheck(fact, invalid=unwritable[0])
    try:
        model = _PublisherAdapter.validate_python(dict(raw))
    except pydantic.ValidationError as exc:
        if any(err.get("type") == "union_tag_invalid" for err in exc.errors()):
            return _PublisherCheck(
                fact,
                unknown=(
                    f"publisher kind {_shown(raw.get('kind'))} is not supported by "
                    f"pypi-attestations {PYPI_ATTESTATIONS_VERSION}"
                ),
            )
        return _PublisherCheck(fact, invalid=f"publisher is malformed: {pydantic_summary(exc)}")
    return _PublisherCheck(fact, model=model)


# --------------------------------------------------------------------------- log entries


def log_entry_from_tle(tle: object) -> tuple[LogEntry | None, str]:
    """Describe one protobuf-JSON TransparencyLogEntry through the one entry parser.

    (None, why) when `forensics.rekor.entry.RekorEntry` rejects it (the reason names the field).
    """
    if not isinstance(tle, Mapping):
        return None, f"transparency entry must be an object, got {_type_name(tle)}"
    try:
        entry = RekorEntry.from_bundle(tle)
    except MalformedEntry as exc:
        return None, f"transparency entry is malformed: {exc.message}"
    return entry.to_log_entry(), ""


def _with_verdict(entry: LogEntry, verified: bool | None, reason: str) -> LogEntry:
    reasons = [r for r in (reason, entry.reason) if r]
    return dataclasses.replace(entry, verified=verified, reason="; ".join(reasons))


# --------------------------------------------------------------------------- statements


@dataclass
class _Statement:
    predicate_type: str | None = None
    subject_name: str | None = None
    subject_sha256: str | None = None
    predicate: Mapping[str, Any] | None = None
    failures: list[str] = field(default_factory=list)


def _check_statement(payload: bytes, filename: str, sha256: str) -> _Statement:
    """Decode the in-toto statement and run pypi-attestations' checks against the file."""
    out = _Statement()
    try:
        stmt = loads(payload, "statement")
    except UntrustedDataError as exc:
        out.failures.append(exc.message)
        return out
    if not isinstance(stmt, dict):
        out.failures.append(f"statement must be a JSON object, got {_type_name(stmt)}")
        return out

    ptype = stmt.get("predicateType")
    out.predicate_type = ptype if isinstance(ptype, str) else None
    predicate = stmt.get("predicate")
    out.predicate = predicate if isinstance(predicate, dict) else None
    subjects = stmt.get("subject")
    if isinstance(subjects, list) and len(subjects) == 1 and isinstance(subjects[0], dict):
        name, digest = subjects[0].get("name"), subjects[0].get("digest")
        out.subject_name = name if isinstance(name, str) else None
        if isinstance(digest, dict) and isinstance(digest.get("sha256"), str):
            out.subject_sha256 = digest["sha256"]

    if stmt.get("_type") != STATEMENT_TYPE_V1:
        out.failures.append(
            f"statement _type {_shown(stmt.get('_type'))} is not {STATEMENT_TYPE_V1!r}"
        )
    if not isinstance(subjects, list) or len(subjects) != 1:
        count = len(subjects) if isinstance(subjects, list) else _type_name(subjects)
        out.failures.append(f"statement must have exactly one subject (got {count})")
    elif not isinstance(subjects[0], dict):
        out.failures.append(f"statement subject must be an object, got {_type_name(subjects[0])}")
    else:
        out.failures.extend(_subject_failures(out, filename, sha256))

    if out.predicate_type is None:
        out.failures.append(f"statement predicateType is missing or not a string ({_shown(ptype)})")
    elif out.predicate_type not in KNOWN_PREDICATE_TYPES:
        out.failures.append(f"unknown predicate type {_shown(out.predicate_type)}")
    if predicate is not None and not isinstance(predicate, dict):
        out.failures.append(
            f"statement predicate must be an object or null, got {_type_name(predicate)}"
        )
    return out


def _subject_failures(stmt: _Statement, filename: str, sha256: str) -> list[str]:
    failures: list[str] = []
    name = stmt.subject_name
    if not name:
        failures.append("statement subject has no name")
    else:
        try:
            parsed_subject = _parse_dist_filename(name)
        except (ValueError, InvalidSdistFilename, InvalidWheelFilename) as exc:
            failures.append(
                f"statement subject name {_shown(name)} is not a distribution filename: {exc}"
            )
        else:
            try:
                parsed_file = _parse_dist_filename(filename)
            except (ValueError, InvalidSdistFilename, InvalidWheelFilename) as exc:
                failures.append(
                    f"cannot compare the subject name: the file name {_shown(filename)} is not a "
                    f"distribution filename: {exc}"
                )
            else:
                if parsed_subject != parsed_file:
                    failures.append(
                        f"subject name {_shown(name)} does not match the distribution filename "
                        f"{_shown(filename)}"
                    )
    digest = stmt.subject_sha256
    if digest is None:
        failures.append("statement subject has no sha256 digest")
    elif digest.lower() != sha256:
        shown = digest if _SHA256_RE.match(digest.lower()) else _shown(digest)
        failures.append(
            f"statement subject sha256 {shown} does not match the file's sha256 {sha256}"
        )
    return failures


# --------------------------------------------------------------------------- verifier


# --------------------------------------------------------------------------- once per root


def _build_keyrings_once(root: TrustedRoot) -> None:
    """Make `root` build its CT-log and Rekor keyrings once instead of on every verification.

    sigstore's `Verifier` asks `TrustedRoot.ct_keyring(purpose)` / `rekor_keyring(purpose)` for
    every bundle, and each call filters the root's logs and loads every public key again. The
    keys are a function of the root and the purpose (and, for signing, the clock: a verifier
    lives for one investigation), so the keyrings are kept per purpose on this root object. Every
    signature, SCT, SET and checkpoint is still verified against them; only the key loading is
    shared. Measured in `benchmarks/bench_verify.py`.
    """
    for name in ("ct_keyring", "rekor_keyring"):
        method = getattr(root, name)
        if not isinstance(method, functools._lru_cache_wrapper):
            setattr(root, name, functools.cache(method))


@dataclass
class _Tally:
    invalid: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    attestations: list[AttestationResult] = field(default_factory=list)


class ProvenanceVerifier:
    """Verify PEP 740 provenance against one pinned trust root (one sigstore Verifier)."""

    def __init__(self, trust: TrustMaterial) -> None:
        self._trust = trust
        _build_keyrings_once(trust.trusted_root)
        try:
            self._verifier = Verifier(trusted_root=trust.trusted_root)
        except sigstore.errors.Error as exc:
            raise InputError(f"trusted root cannot be used for verification: {exc}") from exc
        # A verdict depends only on the bytes, the file named and the trust root: collection
        # stages and the analysis of one investigation ask for the same verdicts, so keep them.
        self._verdicts: dict[tuple[str, str, str, EvidenceRef | None], FileProvenance] = {}

    @classmethod
    def from_path(cls, path: Path | None = None) -> ProvenanceVerifier:
        """A verifier over `TrustMaterial.load(path)` (None: the production root in sigstore)."""
        return cls(TrustMaterial.load(path))

    # ----------------------------------------------------------------- public API

    def verify_provenance(
        self,
        raw: bytes,
        *,
        filename: str,
        sha256: str,
        evidence: EvidenceRef | None = None,
    ) -> FileProvenance:
        """Verify a PEP 740 provenance object (Integrity API body) against one distribution file.

        `filename` and `sha256` are what the index says about the file. VERIFIED only when every
        attestation of every bundle verifies; INVALID if any check fails (the reason names the
        attestation and the check); UNKNOWN if the only obstacle is an unsupported publisher kind.
        """
        key = (hashlib.sha256(raw).hexdigest(), filename, sha256, evidence)
        if (known := self._verdicts.get(key)) is not None:
            return known
        digest = _normalise_sha256(sha256)
        obj, problem = _load_json(raw, "provenance")
        if problem:
            verdict = FileProvenance(ProvenanceStatus.INVALID, problem, evidence=evidence)
        elif not isinstance(obj, dict):
            verdict = FileProvenance(
                ProvenanceStatus.INVALID,
                f"provenance must be a JSON object, got {_type_name(obj)}",
                evidence=evidence,
            )
        else:
            verdict = self._verify_provenance_obj(obj, filename, digest, evidence)
        self._verdicts[key] = verdict
        return verdict

    def verify_attestation_object(
        self,
        raw: bytes,
        *,
        filename: str,
        sha256: str,
        publisher: Mapping[str, Any] | None = None,
        evidence: EvidenceRef | None = None,
    ) -> FileProvenance:
        """Verify a single attestation object (``*.publish.attestation``).

        Such an object carries no publisher; pass the expected one (a publisher object as PyPI
        serves it) to check the identity, otherwise only cryptography and subject are verified
        and the reason says so.
        """
        digest = _normalise_sha256(sha256)
        obj, problem = _load_json(raw, "attestation")
        if problem:
            return FileProvenance(ProvenanceStatus.INVALID, problem, evidence=evidence)
        return self._verify_bare(obj, filename, digest, publisher, evidence)

    def verify_file(
        self,
        dist_path: Path,
        provenance_path: Path,
        *,
        publisher: Mapping[str, Any] | None = None,
    ) -> FileProvenance:
        """`forensics verify DIST --provenance FILE`: a provenance object or a single attestation.

        The subject is compared with the distribution's own name and sha256. Unreadable files
        raise `InputError`; unverifiable content becomes an INVALID/UNKNOWN verdict.
        """
        dist_path, provenance_path = Path(dist_path), Path(provenance_path)
        sha256 = _sha256_file(dist_path)
        try:
            raw = provenance_path.read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read provenance file {str(provenance_path)!r}: {exc.strerror or exc}"
            ) from exc
        evidence = EvidenceRef(
            url=provenance_path.resolve().as_uri(),
            sha256=hashlib.sha256(raw).hexdigest(),
            retrieved_at=datetime.fromtimestamp(provenance_path.stat().st_mtime, tz=UTC),
            note="provenance file given on the command line (retrieved_at = file mtime)",
        )
        obj, problem = _load_json(raw, "provenance file")
        if problem:
            return FileProvenance(ProvenanceStatus.INVALID, problem, evidence=evidence)
        if isinstance(obj, dict) and "attestation_bundles" in obj:
            if publisher is not None:
                raise InputError(
                    "a publisher was given, but the provenance object already names its publishers",
                    hint="drop the publisher when verifying an Integrity API provenance object",
                )
            return self._verify_provenance_obj(obj, dist_path.name, sha256, evidence)
        if isinstance(obj, dict) and ("verification_material" in obj or "envelope" in obj):
            return self._verify_bare(obj, dist_path.name, sha256, publisher, evidence)
        keys = sorted(obj)[:5] if isinstance(obj, dict) else None
        return FileProvenance(
            ProvenanceStatus.INVALID,
            "provenance file is neither a PEP 740 provenance object (attestation_bundles) nor an "
            f"attestation object (verification_material, envelope); got "
            f"{'keys ' + _shown(keys) if keys is not None else _type_name(obj)}",
            evidence=evidence,
        )

    # ----------------------------------------------------------------- internals

    def _verify_provenance_obj(
        self, obj: Mapping[str, Any], filename: str, sha256: str, evidence: EvidenceRef | None
    ) -> FileProvenance:
        version = obj.get("version", 1)
        # Real objects carry "version": "1" (a string); pypi-attestations accepts both.
        if version not in (1, "1") or isinstance(version, bool):
            return FileProvenance(
                ProvenanceStatus.INVALID,
                f"unsupported provenance version {_shown(version)} (expected 1)",
                evidence=evidence,
            )
        bundles = obj.get("attestation_bundles")
        if not isinstance(bundles, list):
            return FileProvenance(
                ProvenanceStatus.INVALID,
                f"provenance attestation_bundles must be a list, got {_type_name(bundles)}",
                evidence=evidence,
            )
        if not bundles:
            return FileProvenance(
                ProvenanceStatus.INVALID,
                "provenance object has no attestation bundles",
                evidence=evidence,
            )
        tally = _Tally()
        for b_index, bundle in enumerate(bundles, start=1):
            where = f"bundle {b_index}"
            if not isinstance(bundle, Mapping):
                tally.invalid.append(f"{where}: must be an object, got {_type_name(bundle)}")
                continue
            check = _check_publisher(bundle.get("publisher"))
            if check.fact is not None:
                where += f" ({_publisher_label(check.fact)})"
            if check.invalid:
                tally.invalid.append(f"{where}: {check.invalid}")
            atts = bundle.get("attestations")
            if not isinstance(atts, list):
                tally.invalid.append(
                    f"{where}: attestations must be a list, got {_type_name(atts)}"
                )
                continue
            if not atts:
                tally.invalid.append(f"{where}: has no attestations")
                continue
            for a_index, att in enumerate(atts, start=1):
                self._tally_attestation(
                    tally, f"{where} attestation {a_index}", att, check, filename, sha256
                )
        return _verdict(tally, evidence)

    def _verify_bare(
        self,
        obj: object,
        filename: str,
        sha256: str,
        publisher: Mapping[str, Any] | None,
        evidence: EvidenceRef | None,
    ) -> FileProvenance:
        if publisher is None:
            check = _PublisherCheck(
                None,
                absent="identity not checked: no publisher was given (an attestation object "
                "carries none), so only the signature, log entry and subject were verified",
            )
        else:
            check = _check_publisher(publisher)
            if check.invalid:
                raise InputError(f"the publisher given is not usable: {check.invalid}")
        tally = _Tally()
        self._tally_attestation(tally, "attestation", obj, check, filename, sha256)
        fp = _verdict(tally, evidence)
        if fp.status is ProvenanceStatus.VERIFIED and check.absent:
            return FileProvenance(fp.status, check.absent, fp.attestations, evidence)
        return fp

    def _tally_attestation(
        self,
        tally: _Tally,
        where: str,
        raw: object,
        check: _PublisherCheck,
        filename: str,
        sha256: str,
    ) -> None:
        result = self._verify_one(raw, check, filename, sha256)
        tally.attestations.append(result)
        if result.predicate_type:
            short = result.predicate_type.rstrip("/").rsplit("/", 2)[-2:]
            where += f" ({'/'.join(short)})"
        if not result.verified:
            if check.unknown and result.reason.startswith(check.unknown):
                tally.unknown.append(f"{where}: {result.reason}")
            else:
                tally.invalid.append(f"{where}: {result.reason}")

    def _verify_one(
        self, raw: object, check: _PublisherCheck, filename: str, sha256: str
    ) -> AttestationResult:
        def failed(reason: str, **kwargs: Any) -> AttestationResult:
            base: dict[str, Any] = {
                "predicate_type": None,
                "publisher": check.fact,
                "claims": {},
                "certificate": None,
                "subject_name": None,
                "subject_sha256": None,
                "log_entries": (),
            }
            base.update(kwargs)
            return AttestationResult(verified=False, reason=reason, **base)

        if not isinstance(raw, Mapping):
            return failed(f"attestation must be an object, got {_type_name(raw)}")
        try:
            att = Attestation.model_validate(dict(raw))
        except pydantic.ValidationError as exc:
            return failed(f"attestation is malformed: {pydantic_summary(exc)}")

        stmt = _check_statement(att.envelope.statement, filename, sha256)
        entries: list[tuple[int, LogEntry]] = []
        unusable: list[str] = []
        notes: list[str] = []
        for position, tle in enumerate(att.verification_material.transparency_entries):
            entry, why = log_entry_from_tle(tle)
            if entry is None and position == 0:
                unusable.append(f"transparency entry {position + 1}: {why}")
            elif entry is None:
                notes.append(f"transparency entry {position + 1} ignored: {why}")
            else:
                entries.append((position, entry))
        common: dict[str, Any] = {
            "predicate_type": stmt.predicate_type,
            "subject_name": stmt.subject_name,
            "subject_sha256": stmt.subject_sha256,
            "predicate": stmt.predicate,
        }

        try:
            cert = x509.load_der_x509_certificate(att.verification_material.certificate)
        except ValueError as exc:
            return failed(
                f"certificate is not valid DER X.509: {exc}",
                log_entries=tuple(
                    _with_verdict(e, False, "certificate unreadable") for _, e in entries
                ),
                **common,
            )
        claims = extract_claims(cert)
        facts = certificate_facts(cert)
        failures: list[str] = []

        crypto_failure = self._crypto(att, cert)
        if crypto_failure is None and entries and entries[0][0] == 0:
            crypto_failure = self._windows(cert, att, entries[0][1])
        if crypto_failure:
            failures.append(crypto_failure)
        identity_failure = _identity(check, cert, claims.problems, claims.claims)
        if identity_failure:
            failures.append(identity_failure)
        failures.extend(stmt.failures)

        # sigstore verifies only the first transparency entry. Any further entry is unverified
        # data an attacker can append to a genuine attestation: it is never evidence (no log
        # index to recover, no identity to compare), only a note on the attestation.
        log_entries = tuple(
            _with_verdict(e, crypto_failure is None, crypto_failure or "")
            for i, e in entries
            if i == 0
        )
        extra = len(att.verification_material.transparency_entries) - 1
        if extra > 0:
            notes.append(
                f"{extra} further transparency entr{'y' if extra == 1 else 'ies'} not verified "
                "(sigstore checks only the first) and not used as evidence"
            )
        failures.extend(unusable)

        verified = not failures and not check.unknown
        if failures:
            reason = "; ".join(failures)
        elif check.unknown:
            reason = (
                f"{check.unknown}; signature, log entry and subject verified, identity not checked"
            )
        else:
            reason = "; ".join(r for r in (check.absent, *notes) if r)
        return AttestationResult(
            verified=verified,
            reason=reason,
            publisher=check.fact,
            claims=dict(claims.claims),
            certificate=facts,
            log_entries=log_entries,
            **common,
        )

    def _windows(self, cert: x509.Certificate, att: Attestation, entry: LogEntry) -> str | None:
        """The trust root's validity windows at the signing time (what sigstore leaves out).

        The signing time is the integrated time of the entry sigstore just verified (bound by its
        SET); `TrustMaterial.signing_time_problems` applies the same window rule the log checker
        (`forensics.rekor.verify`) applies, so a file verdict and a log verdict cannot disagree.
        """
        if entry.integrated_time is None:
            return None  # sigstore required another verified time source; nothing to add
        try:
            log_id = bytes.fromhex(entry.log_id) if entry.log_id else None
        except ValueError:
            log_id = None
        problems = self._trust.signing_time_problems(
            cert, log_id, entry.integrated_time, "integrated time"
        )
        if not problems:
            return None
        return "trust root does not cover the signing time: " + "; ".join(problems)

    def _crypto(self, att: Attestation, cert: x509.Certificate) -> str | None:
        """Every cryptographic check sigstore does, with the identity policy left out."""
        if not isinstance(cert.public_key(), ec.EllipticCurvePublicKey):
            return (
                f"signing key is {type(cert.public_key()).__name__}, not ECDSA (DSSE needs ECDSA)"
            )
        try:
            bundle = att.to_bundle()
        except (ConversionError, InvalidBundle, sigstore.errors.Error, ValueError) as exc:
            cause = f" ({exc.__cause__})" if exc.__cause__ else ""
            return f"attestation cannot be turned into a Sigstore bundle: {exc}{cause}"
        try:
            payload_type, _payload = self._verifier.verify_dsse(bundle, _ACCEPT_ANY_IDENTITY)
        except sigstore.errors.Error as exc:
            return _sigstore_reason(exc)
        except ValueError as exc:  # pydantic/rekor_types model errors on a hostile log body
            return f"sigstore verification failed: {exc}"
        if payload_type != INTOTO_PAYLOAD_TYPE:
            return f"DSSE payload type {_shown(payload_type)} is not {INTOTO_PAYLOAD_TYPE!r}"
        return None


_POLICY_CLAIMS = frozenset(
    {
        "extensions",
        "issuer_v1",
        "issuer",
        "build_signer_uri",
        "source_repository",
        "source_commit",
        "source_ref",
        "build_config",
    }
)
"""Claims read by pypi-attestations' publisher policies (GitHub, GitLab, Google, CircleCI)."""


def _identity(
    check: _PublisherCheck,
    cert: x509.Certificate,
    problems: Mapping[str, str],
    claims: Mapping[str, str] | None = None,
) -> str | None:
    if check.model is None or check.fact is None:
        return None
    label = _publisher_label(check.fact)
    # The policies decode these claims themselves and would raise a non-VerificationError on a
    # malformed value; report our own, more specific decoding problem instead.
    relevant = sorted(name for name in problems if name in _POLICY_CLAIMS)
    if relevant:
        name = relevant[0]
        return (
            f"certificate identity cannot be checked against the publisher PyPI recorded "
            f"({label}): "
            f"claim {name}: {problems[name]}"
        )
    try:
        check.model._as_policy().verify(cert)
    except (sigstore.errors.VerificationError, x509.ExtensionNotFound, ValueError) as exc:
        return (
            f"certificate identity does not match the publisher PyPI recorded ({label}): "
            f"{_plain_policy_error(str(exc), claims or {})}"
        )
    return None


#: pypi-attestations formats the certificate's extension *object* into some policy errors
#: ("Certificate's Build Config URI (<Extension(oid=<ObjectIdentifier(...)>...)>) does not
#: match ..."); a reader needs the claim's decoded value instead.
_EXTENSION_REPR = re.compile(r"\(<Extension\(.*?\)>\)(?= does not match)", re.DOTALL)


def _plain_policy_error(message: str, claims: Mapping[str, str]) -> str:
    """A policy failure naming the claim and its value, never a Python object repr."""
    if "<Extension(" not in message:
        return message
    value = claims.get("build_config")
    shown = f"claim build_config = {value}" if value else "claim build_config (undecodable)"
    return _EXTENSION_REPR.sub(f"({shown})", message)


def _verdict(tally: _Tally, evidence: EvidenceRef | None) -> FileProvenance:
    atts = tuple(tally.attestations)
    if tally.invalid:
        reason = tally.invalid[0]
        if len(tally.invalid) > 1:
            reason += f" (and {len(tally.invalid) - 1} more failure(s))"
        return FileProvenance(ProvenanceStatus.INVALID, reason, atts, evidence)
    if tally.unknown:
        return FileProvenance(ProvenanceStatus.UNKNOWN, tally.unknown[0], atts, evidence)
    return FileProvenance(ProvenanceStatus.VERIFIED, "", atts, evidence)


def _normalise_sha256(sha256: str) -> str:
    digest = sha256.strip().lower()
    if not _SHA256_RE.match(digest):
        raise InputError(f"file sha256 must be 64 hex digits, got {_shown(sha256)}")
    return digest


def _load_json(raw: bytes, what: str) -> tuple[Any, str]:
    try:
        return loads(raw, what), ""
    except UntrustedDataError as exc:
        return None, exc.message


def _sha256_file(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise InputError(
            f"cannot read distribution file {str(path)!r}: {exc.strerror or exc}"
        ) from exc


def verify_file(
    dist_path: Path,
    provenance_path: Path,
    *,
    trusted_root: Path | None = None,
    publisher: Mapping[str, Any] | None = None,
) -> FileProvenance:
    """Convenience for the CLI: load the trust root (default: embedded production) and verify."""
    return ProvenanceVerifier(TrustMaterial.load(trusted_root)).verify_file(
        dist_path, provenance_path, publisher=publisher
    )


# --------------------------------------------------------------------------- presentation


def _printable(value: object) -> str:
    """Render untrusted text for a terminal: control characters escaped, never interpreted."""
    text = str(value)
    if text.isprintable():
        return text
    return repr(text)[1:-1]


def _verified_word(ok: bool) -> str:
    return "verified" if ok else "NOT verified"


def describe(fp: FileProvenance) -> list[tuple[str, str]]:
    """(label, value) rows for the CLI: status, reason, publisher, claims, subject, log entries."""
    rows: list[tuple[str, str]] = [("status", fp.status.value)]
    if fp.reason:
        rows.append(("reason", _printable(fp.reason)))
    if fp.evidence is not None:
        rows.append(("evidence", f"{_printable(fp.evidence.url)} sha256:{fp.evidence.sha256}"))
    for index, att in enumerate(fp.attestations, start=1):
        prefix = f"attestation {index}"
        rows.append(
            (
                prefix,
                f"{_printable(att.predicate_type)} — {_verified_word(att.verified)}",
            )
        )
        if att.reason:
            rows.append((f"{prefix} reason", _printable(att.reason)))
        if att.publisher is not None:
            rows.append((f"{prefix} publisher", _printable(_publisher_label(att.publisher))))
        else:
            rows.append((f"{prefix} publisher", "(none given)"))
        rows.append(
            (
                f"{prefix} subject",
                f"{_printable(att.subject_name)} sha256:{_printable(att.subject_sha256)}",
            )
        )
        if att.certificate is not None:
            cert = att.certificate
            rows.append(
                (
                    f"{prefix} certificate",
                    f"serial {cert.serial} valid {isoformat(cert.not_before)} – "
                    f"{isoformat(cert.not_after)} SCT {isoformat(cert.sct_time) or '-'}",
                )
            )
            rows.extend((f"{prefix} san", _printable(san)) for san in cert.san)
        rows.extend(
            (f"{prefix} claim {name}", _printable(value))
            for name, value in sorted(att.claims.items())
        )
        rows.extend(_describe_entry(prefix, entry) for entry in att.log_entries)
    return rows


def _describe_entry(prefix: str, entry: LogEntry) -> tuple[str, str]:
    state = {True: "verified", False: "NOT verified", None: "not checked"}[entry.verified]
    parts = [
        f"logIndex {entry.log_index}",
        f"integrated {isoformat(entry.integrated_time) or '(none: Rekor v2)'}",
        entry.kind,
        f"origin {_printable(entry.checkpoint_origin)}",
        f"uuid {entry.uuid}",
        state,
    ]
    if entry.reason:
        parts.append(_printable(entry.reason))
    return (f"{prefix} log entry", ", ".join(parts))


__all__: Sequence[str] = (
    "KNOWN_PREDICATE_TYPES",
    "ProvenanceVerifier",
    "describe",
    "load_trusted_root",
    "log_entry_from_tle",
    "publisher_from_raw",
    "verify_file",
)
