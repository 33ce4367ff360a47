"""Lab signing: PEP 740 attestations made with the lab trust and logged in the lab Rekor log.

`sign_attestation` plays the part of a CI job running `pypa/gh-action-pypi-publish`: it gets a
Fulcio-style certificate for an identity (`github_identity` & co. build the SAN and claims the way
Fulcio fills them), signs an in-toto statement about one distribution file in a DSSE envelope,
logs it in Rekor v1 as dsse/0.0.1 and packs the result into a `pypi_attestations.Attestation`.

Tamper modes produce attestations that look real but must fail verification, each at one
specific check (attacker models in `TAMPER_MODES`). Every signature is RFC 6979 deterministic and
every key derives from the trust's seed, so a scenario rebuilds byte-for-byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pydantic
from cryptography.hazmat.primitives import serialization
from pypi_attestations import Attestation, Distribution, Publisher
from pypi_attestations import AttestationType as _AttestationType

from forensics.errors import ScenarioError
from forensics.models import isoformat
from forensics.primitives import parse_checkpoint, set_payload
from forensics_lab import _x509
from forensics_lab.log import DSSE_PAYLOAD_TYPE, LabLogError, LabRekorLog
from forensics_lab.notes import format_note
from forensics_lab.trust import LabTrust, sign_deterministic

IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1"
PUBLISH_V1 = _AttestationType.PYPI_PUBLISH_V1.value
SLSA_PROVENANCE_V1 = _AttestationType.SLSA_PROVENANCE_V1.value

TAMPER_MODES = (
    "digest-mismatch",  # statement names the file but a different sha256: a swapped artifact
    "bad-signature",  # DSSE signature does not match the statement: edited after signing
    "foreign-ca",  # certificate chains to a CA outside the trusted root: a look-alike Fulcio
    "outside-validity",  # logged after the 10-minute certificate expired: a stolen, replayed key
    "wrong-file",  # a valid attestation for another file, re-attached to this one
    "bad-set",  # signed entry timestamp does not verify: a forged log promise
    "bad-inclusion",  # Merkle audit path does not lead to the root: a forged log position
    "bad-checkpoint",  # checkpoint signature does not verify: a forged tree head
)

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
GOOGLE_ISSUER = "https://accounts.google.com"

# Dates Fulcio started emitting claims (formats.md §5): certificates issued earlier lack them.
DEPLOYMENT_ENVIRONMENT_SINCE = datetime(2025, 11, 4, tzinfo=UTC)  # .23, fulcio#2190
TOKEN_SUBJECT_SINCE = datetime(2026, 3, 31, tzinfo=UTC)  # .24, fulcio#2307

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class SigningRequest:
    """Everything needed to sign one attestation for one distribution file."""

    filename: str
    sha256: str
    san: str
    san_kind: Literal["uri", "email"]
    claims: Mapping[str, str]
    signed_at: datetime
    """Certificate notBefore (the OIDC token exchange with Fulcio)."""
    integrated_at: datetime
    """Rekor integration time (must lie in the certificate validity unless tampering)."""
    predicate_type: str = PUBLISH_V1
    predicate: Mapping[str, Any] | None = None
    tamper: frozenset[str] = frozenset()
    other_file: tuple[str, str] | None = None
    """(filename, sha256) the statement names instead, for "wrong-file"."""
    validity: timedelta = timedelta(minutes=10)
    """Certificate lifetime (Fulcio: 10 minutes)."""


def _fail(request: SigningRequest, message: str) -> ScenarioError:
    return ScenarioError(f"cannot sign {request.filename!r}: {message}")


def _check_sha256(request: SigningRequest, value: str, what: str) -> str:
    if len(value) != 64 or not set(value) <= _HEX:
        raise _fail(request, f"{what} must be 64 lower-case hex digits, got {value!r}")
    return value


def _check_filename(request: SigningRequest, name: str) -> None:
    # pypi-attestations refuses to verify (and PyPI to accept) subjects that are not valid
    # sdist/wheel names, so a lab scenario with such a name is a scenario bug, not a test case.
    try:
        Distribution(name=name, digest="0" * 64)
    except pydantic.ValidationError as exc:
        reason = exc.errors()[0].get("msg", str(exc))
        raise _fail(
            request, f"{name!r} is not a valid sdist or wheel filename ({reason})"
        ) from None


def _validate(request: SigningRequest) -> None:
    unknown = sorted(set(request.tamper) - set(TAMPER_MODES))
    if unknown:
        raise _fail(request, f"unknown tamper mode(s) {unknown}; known: {', '.join(TAMPER_MODES)}")
    _check_filename(request, request.filename)
    _check_sha256(request, request.sha256, "sha256")
    if "wrong-file" in request.tamper:
        if request.other_file is None:
            raise _fail(request, 'tamper "wrong-file" needs other_file=(filename, sha256)')
        other_name, other_sha = request.other_file
        _check_filename(request, other_name)
        _check_sha256(request, other_sha, "other_file sha256")
        if (other_name, other_sha) == (request.filename, request.sha256):
            raise _fail(request, 'tamper "wrong-file" needs a *different* other_file')
    elif request.other_file is not None:
        raise _fail(request, 'other_file is only meaningful with tamper "wrong-file"')
    if request.predicate_type not in (PUBLISH_V1, SLSA_PROVENANCE_V1):
        raise _fail(
            request,
            f"predicate type {request.predicate_type!r} is not one PyPI accepts "
            f"({PUBLISH_V1}, {SLSA_PROVENANCE_V1})",
        )
    for name, moment in (
        ("signed_at", request.signed_at),
        ("integrated_at", request.integrated_at),
    ):
        try:
            _x509.require_utc(name, moment)
        except ValueError as exc:
            raise _fail(request, str(exc)) from None


def statement_bytes(
    name: str, sha256: str, predicate_type: str, predicate: Mapping[str, Any] | None
) -> bytes:
    """An in-toto Statement v1 with one subject, serialised compactly like sigstore-python does."""
    statement = {
        "_type": IN_TOTO_STATEMENT_V1,
        "subject": [{"name": name, "digest": {"sha256": sha256}}],
        "predicateType": predicate_type,
        "predicate": dict(predicate) if predicate is not None else None,
    }
    return json.dumps(statement, separators=(",", ":"), ensure_ascii=False).encode()


def pae(payload: bytes, payload_type: str = DSSE_PAYLOAD_TYPE) -> bytes:
    """DSSE v1 pre-authentication encoding (what the signature covers)."""
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _tampered_digest(sha256: str) -> str:
    # Deterministic and visibly derived from the real digest, so a test can explain the mismatch.
    return hashlib.sha256(b"forensics-lab/digest-mismatch/" + sha256.encode()).hexdigest()


def sign_attestation(trust: LabTrust, log: LabRekorLog, req: SigningRequest) -> Attestation:
    """Sign, log and package one PEP 740 attestation; apply `req.tamper` modes.

    The inclusion proof is against the tree right after this entry was appended, as Rekor
    returns it at upload time. Raises `ScenarioError` for an impossible request.
    """
    _validate(req)
    signed_at = _x509.require_utc("signed_at", req.signed_at)
    integrated_at = _x509.require_utc("integrated_at", req.integrated_at)
    tamper = req.tamper

    subject_name, subject_sha = req.filename, req.sha256
    if "digest-mismatch" in tamper:
        subject_sha = _tampered_digest(req.sha256)
    if "wrong-file" in tamper and req.other_file is not None:
        subject_name, subject_sha = req.other_file
    statement = statement_bytes(subject_name, subject_sha, req.predicate_type, req.predicate)

    key = trust.derive_key(
        "\x1f".join(
            (
                req.filename,
                req.sha256,
                req.predicate_type,
                isoformat(signed_at) or "",
                req.san,
                ",".join(sorted(tamper)),
            )
        )
    )
    certificate = trust.issue_leaf(
        public_key=key.public_key(),
        san=req.san,
        san_kind=req.san_kind,
        claims=req.claims,
        not_before=signed_at,
        validity=req.validity,
        issuer="foreign" if "foreign-ca" in tamper else "intermediate",
    )
    not_before, not_after = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    inside = not_before <= integrated_at <= not_after
    if "outside-validity" in tamper:
        # Keep the scenario's time if it already is outside; otherwise log one minute after expiry.
        if inside:
            integrated_at = not_after + timedelta(minutes=1)
    elif not inside:
        raise _fail(
            req,
            f"integrated_at {isoformat(integrated_at)} lies outside the certificate validity "
            f'{isoformat(not_before)}..{isoformat(not_after)}; add tamper "outside-validity" '
            "if that is intended",
        )
    integrated_time = int(integrated_at.timestamp())

    signature = sign_deterministic(key, pae(statement))
    try:
        entry = log.append_dsse(
            envelope_payload=statement,
            signature=signature,
            certificate=certificate,
            integrated_time=integrated_time,
        )
    except LabLogError as exc:
        # Deterministic signing makes a repeated request a byte-identical body: say so.
        raise _fail(req, f"{exc.message} (was the same request signed twice?)") from None
    if "bad-signature" in tamper:
        # The log holds the original; the attestation carries a well-formed signature by the same
        # key over a *different* payload, so only the DSSE signature check can notice.
        signature = sign_deterministic(key, pae(statement + b" "))

    tle = log.tlog_entry(entry.global_index)
    if "bad-set" in tamper:
        forged = set_payload(
            _b64(entry.body), entry.integrated_time + 1, log.log_id.hex(), entry.global_index
        )
        tle["inclusionPromise"]["signedEntryTimestamp"] = _b64(
            sign_deterministic(trust.rekor_key, forged)
        )
    if "bad-inclusion" in tamper:
        hashes: list[str] = tle["inclusionProof"]["hashes"]
        if hashes:
            hashes[0] = _b64(
                hashlib.sha256(b"forensics-lab/bad-inclusion/" + hashes[0].encode()).digest()
            )
        else:  # a one-leaf tree has an empty path: add a step that cannot belong there
            hashes.append(_b64(hashlib.sha256(b"forensics-lab/bad-inclusion").digest()))
    if "bad-checkpoint" in tamper:
        tle["inclusionProof"]["checkpoint"]["envelope"] = _forge_checkpoint(
            trust, tle["inclusionProof"]["checkpoint"]["envelope"]
        )

    der = certificate.public_bytes(serialization.Encoding.DER)
    return Attestation.model_validate(
        {
            "version": 1,
            "verification_material": {"certificate": _b64(der), "transparency_entries": [tle]},
            "envelope": {"statement": _b64(statement), "signature": _b64(signature)},
        }
    )


def _forge_checkpoint(trust: LabTrust, text: str) -> str:
    """Same tree head, but a signature (by the real log key) over a different note body."""
    checkpoint = parse_checkpoint(text)
    sig = checkpoint.signatures[0]
    forged_sig = sign_deterministic(trust.rekor_key, checkpoint.body + b"forged\n")
    return format_note(checkpoint.body, sig.name, sig.key_hint, forged_sig)


def attestation_json(attestation: Attestation) -> dict[str, Any]:
    """An attestation as PyPI serves it (pydantic's JSON dump, base64 bytes)."""
    return attestation.model_dump(mode="json")


def _publisher_json(publisher: Mapping[str, Any]) -> dict[str, Any]:
    kind = publisher.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ScenarioError(f"publisher needs a string 'kind', got {dict(publisher)!r}")
    try:
        model = pydantic.TypeAdapter(Publisher).validate_python(dict(publisher))
    except pydantic.ValidationError as exc:
        if any(err.get("type") == "union_tag_invalid" for err in exc.errors()):
            # A kind this pypi-attestations does not know (e.g. a future one): serve it as given,
            # which is exactly the situation a consumer must survive.
            return dict(publisher)
        raise ScenarioError(
            f"publisher {dict(publisher)!r} is invalid for kind {kind!r}: {exc}"
        ) from None
    dumped: dict[str, Any] = model.model_dump(mode="json")
    # Keep keys pypi-attestations no longer models (old objects carry `"claims": null`).
    return {**dict(publisher), **dumped}


def provenance_object(bundles: Sequence[tuple[Mapping[str, Any], Sequence[Attestation]]]) -> bytes:
    """PEP 740 provenance JSON exactly as the Integrity API serves it (sorted keys, compact).

    ``{"attestation_bundles": [{"attestations": [...], "publisher": {...}}], "version": 1}``
    """
    if not bundles:
        raise ScenarioError("a provenance object needs at least one attestation bundle")
    out = []
    for publisher, attestations in bundles:
        if not attestations:
            raise ScenarioError(f"attestation bundle for publisher {dict(publisher)!r} is empty")
        out.append(
            {
                "attestations": [attestation_json(a) for a in attestations],
                "publisher": _publisher_json(publisher),
            }
        )
    obj = {"attestation_bundles": out, "version": 1}
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# -- identities: SAN + claims the way Fulcio fills them -------------------------------------


def _claims_at(claims: dict[str, str], issued_at: datetime | None) -> dict[str, str]:
    """Drop claims Fulcio did not yet emit at `issued_at` (None: today's Fulcio)."""
    if issued_at is not None:
        moment = _x509.require_utc("issued_at", issued_at)
        if moment < DEPLOYMENT_ENVIRONMENT_SINCE:
            claims.pop("deployment_environment", None)
        if moment < TOKEN_SUBJECT_SINCE:
            claims.pop("token_subject", None)
    return claims


def github_identity(
    repository: str,
    workflow: str,
    ref: str,
    *,
    sha: str,
    trigger: str,
    run_id: int,
    run_attempt: int = 1,
    environment: str | None,
    runner: str = "github-hosted",
    repository_id: str,
    owner_id: str,
    visibility: str = "public",
    workflow_name: str | None = None,
    signer_workflow: str | None = None,
    signer_sha: str | None = None,
    issued_at: datetime | None = None,
) -> tuple[str, dict[str, str]]:
    """(SAN, claims) for a GitHub Actions OIDC token (fulcio config/identity/config.yaml).

    `workflow` is the file name (``release.yml``) or the path (``.github/workflows/release.yml``).
    `signer_workflow` (``owner/repo/.github/workflows/x.yml@ref``) models a *reusable* workflow:
    it becomes the SAN and .9 while .18 stays the caller's workflow. `workflow_name` is the display
    name (.4), defaulting to the file's stem. `issued_at` drops claims Fulcio did not emit yet.
    """
    owner, sep, _ = repository.partition("/")
    if not sep or not owner:
        raise ScenarioError(f"GitHub repository must be 'owner/name', got {repository!r}")
    path = workflow if "/" in workflow else f".github/workflows/{workflow}"
    workflow_ref = f"{repository}/{path}@{ref}"
    job_workflow_ref = signer_workflow or workflow_ref
    san = f"https://github.com/{job_workflow_ref}"
    if workflow_name is None:
        workflow_name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if environment:
        token_subject = f"repo:{repository}:environment:{environment}"
    else:
        token_subject = f"repo:{repository}:ref:{ref}"
    claims = {
        "issuer_v1": GITHUB_ISSUER,
        "github_workflow_trigger": trigger,
        "github_workflow_sha": sha,
        "github_workflow_name": workflow_name,
        "github_workflow_repository": repository,
        "github_workflow_ref": ref,
        "issuer": GITHUB_ISSUER,
        "build_signer_uri": san,
        "build_signer_digest": signer_sha or sha,
        "runner_environment": runner,
        "source_repository": f"https://github.com/{repository}",
        "source_commit": sha,
        "source_ref": ref,
        "source_repository_id": repository_id,
        "source_repository_owner": f"https://github.com/{owner}",
        "source_repository_owner_id": owner_id,
        "build_config": f"https://github.com/{workflow_ref}",
        "build_config_digest": sha,
        "trigger": trigger,
        "run_url": f"https://github.com/{repository}/actions/runs/{run_id}/attempts/{run_attempt}",
        "source_repository_visibility": visibility,
        "token_subject": token_subject,
    }
    if environment:
        claims["deployment_environment"] = environment
    return san, _claims_at(claims, issued_at)


def gitlab_identity(
    project_path: str,
    ref: str,
    *,
    sha: str,
    pipeline_source: str,
    job_id: int,
    project_id: str,
    namespace_id: str,
    ci_config_path: str = ".gitlab-ci.yml",
    ci_config_sha: str | None = None,
    environment: str | None = None,
    runner: str = "gitlab-hosted",
    visibility: str = "public",
    issued_at: datetime | None = None,
) -> tuple[str, dict[str, str]]:
    """(SAN, claims) for a GitLab CI OIDC token.

    The config URI has GitLab's double slash (``…/project//.gitlab-ci.yml@refs/heads/main``),
    which pypi-attestations' GitLab policy expects. `ref` is a full ref (``refs/heads/main``).
    """
    namespace, sep, _ = project_path.rpartition("/")
    if not sep or not namespace:
        raise ScenarioError(
            f"GitLab project path must be 'namespace/project', got {project_path!r}"
        )
    config_uri = f"https://gitlab.com/{project_path}//{ci_config_path}@{ref}"
    config_sha = ci_config_sha or sha
    ref_type = "tag" if ref.startswith("refs/tags/") else "branch"
    short_ref = ref.split("/", 2)[-1] if ref.startswith("refs/") else ref
    claims = {
        "issuer_v1": GITLAB_ISSUER,
        "issuer": GITLAB_ISSUER,
        "build_signer_uri": config_uri,
        "build_signer_digest": config_sha,
        "runner_environment": runner,
        "source_repository": f"https://gitlab.com/{project_path}",
        "source_commit": sha,
        "source_ref": ref,
        "source_repository_id": project_id,
        "source_repository_owner": f"https://gitlab.com/{namespace}",
        "source_repository_owner_id": namespace_id,
        "build_config": config_uri,
        "build_config_digest": config_sha,
        "trigger": pipeline_source,
        "run_url": f"https://gitlab.com/{project_path}/-/jobs/{job_id}",
        "source_repository_visibility": visibility,
        "token_subject": f"project_path:{project_path}:ref_type:{ref_type}:ref:{short_ref}",
    }
    if environment:
        claims["deployment_environment"] = environment
    return config_uri, _claims_at(claims, issued_at)


def google_identity(email: str) -> tuple[str, dict[str, str]]:
    """(SAN, claims) for a Google service account: an e-mail SAN plus the .1 and .8 issuers only."""
    local, sep, domain = email.partition("@")
    if not sep or not local or not domain:
        raise ScenarioError(f"Google identity must be an e-mail address, got {email!r}")
    return email, {"issuer_v1": GOOGLE_ISSUER, "issuer": GOOGLE_ISSUER}
