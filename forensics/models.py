"""The data model shared by every seam: files, provenance, log entries, findings, evidence refs.

Value objects are frozen dataclasses. Anything that comes from outside was parsed once, at the
boundary that read it; every fact keeps an `EvidenceRef` back to the stored bytes it came from, so
a report can always answer "how do you know?".
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from forensics.versions import parse_version


class Severity(enum.StrEnum):
    """How bad a finding is if it is true (independent of how sure we are)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Ordinal for comparisons (`info` = 0 … `critical` = 4)."""
        return list(Severity).index(self)


class Confidence(enum.StrEnum):
    """How sure a detector is that the finding is real."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ProvenanceStatus(enum.StrEnum):
    """One status per distribution file."""

    VERIFIED = "verified"
    """Every attestation verified against the pinned trust root and matches the file."""
    INVALID = "invalid"
    """At least one attestation failed verification; `reason` says which check."""
    ABSENT = "absent"
    """The index serves PEP 740 and says this file has no provenance."""
    UNKNOWN = "unknown"
    """We cannot tell (index without PEP 740, fetch failed, unsupported publisher kind, ...)."""


class Pep740Support(enum.StrEnum):
    """Whether the index we talked to serves PEP 740 provenance."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class ProvenanceKey(enum.StrEnum):
    """The three states of the Simple API `provenance` key (formats.md §2.1)."""

    URL = "url"
    NULL = "null"
    ABSENT = "absent"


def utc(dt: datetime) -> datetime:
    """Return `dt` as an aware UTC datetime (naive input is taken to be UTC, as PyPI's is)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def isoformat(dt: datetime | None) -> str | None:
    """Render a timestamp as ISO 8601 UTC with a `Z`, keeping microseconds when present."""
    if dt is None:
        return None
    text = utc(dt).isoformat()
    return text.replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (with `Z` or an offset, or naive meaning UTC)."""
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


@dataclass(frozen=True, order=True)
class EvidenceRef:
    """A pointer from a fact to the stored bytes that support it."""

    url: str
    """Where the bytes were retrieved from (or a `file:`/`intel:` URI for local input)."""
    sha256: str
    """sha256 of the stored response body (the blob name in the evidence store)."""
    retrieved_at: datetime
    """When the collector received the response (UTC)."""
    pointer: str = ""
    """Optional JSON pointer / locator inside the body (RFC 6901 style)."""
    note: str = ""
    """A short annotation: what this piece of evidence shows."""

    def to_json(self) -> dict[str, str]:
        """Serialise for reports."""
        out = {
            "url": self.url,
            "sha256": self.sha256,
            "retrieved_at": isoformat(self.retrieved_at) or "",
        }
        if self.pointer:
            out["pointer"] = self.pointer
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Publisher:
    """The Trusted Publisher identity PyPI recorded for an attestation bundle."""

    kind: str
    """`GitHub`, `GitLab`, `Google`, `CircleCI`, or a kind this version does not know."""
    repository: str | None = None
    """`owner/repo` (GitHub, GitLab), `vcs_origin` (CircleCI), or the e-mail (Google)."""
    workflow: str | None = None
    """Workflow filename (GitHub), `workflow_filepath` (GitLab), pipeline definition (CircleCI)."""
    environment: str | None = None
    """Deployment environment; `""` in old objects is normalised to None."""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """The publisher object as served, for evidence."""

    @property
    def identity(self) -> str:
        """A stable string that identifies this publisher for comparisons."""
        parts = [self.kind, self.repository or "", self.workflow or "", self.environment or ""]
        return "|".join(parts)

    def to_json(self) -> dict[str, str | None]:
        """Serialise for reports."""
        return {
            "kind": self.kind,
            "repository": self.repository,
            "workflow": self.workflow,
            "environment": self.environment,
        }


@dataclass(frozen=True)
class LogEntry:
    """One transparency-log entry, as embedded in an attestation or served by a log."""

    log_index: int
    """Global ("virtual") log index: the one to use for API lookups."""
    integrated_time: datetime | None
    """Rekor v1 integration time; None for Rekor v2 entries (never invented)."""
    kind: str
    """Entry kind and version, e.g. `dsse/0.0.1`, `hashedrekord/0.0.2`."""
    log_id: str = ""
    """Hex sha256 of the log's public key (Rekor v1 logID)."""
    shard_log_index: int | None = None
    """Index inside the shard's Merkle tree (inclusion proof `logIndex`)."""
    tree_size: int | None = None
    """Tree size of the inclusion proof."""
    checkpoint_origin: str | None = None
    """Origin line of the signed checkpoint (`rekor.sigstore.dev - <treeID>`)."""
    uuid: str | None = None
    """RFC 6962 leaf hash of the canonicalized body (hex)."""
    verified: bool | None = None
    """True when inclusion proof, checkpoint and SET verified; None when not checked."""
    time_source: str = "rekor_v1_integrated_time"
    """Which clock `integrated_time` comes from (`rekor_v1_integrated_time`, `rfc3161_tsa`, ...)."""
    reason: str = ""
    """Why verification failed or was not done."""

    def to_json(self) -> dict[str, Any]:
        """Serialise for reports."""
        return {
            "log_index": self.log_index,
            "integrated_time": isoformat(self.integrated_time),
            "time_source": self.time_source if self.integrated_time else None,
            "kind": self.kind,
            "log_id": self.log_id,
            "shard_log_index": self.shard_log_index,
            "tree_size": self.tree_size,
            "checkpoint_origin": self.checkpoint_origin,
            "uuid": self.uuid,
            "verified": self.verified,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CertificateFacts:
    """What the signing certificate says, beyond the Fulcio claims."""

    serial: str
    not_before: datetime
    not_after: datetime
    issuer: str
    san: tuple[str, ...]
    sct_time: datetime | None = None
    """Timestamp of the embedded SCT (an independent CT-log time), when present."""

    def to_json(self) -> dict[str, Any]:
        """Serialise for reports."""
        return {
            "serial": self.serial,
            "not_before": isoformat(self.not_before),
            "not_after": isoformat(self.not_after),
            "issuer": self.issuer,
            "san": list(self.san),
            "sct_time": isoformat(self.sct_time),
        }


@dataclass(frozen=True)
class AttestationResult:
    """One attestation of one file, parsed, with its verification outcome."""

    predicate_type: str | None
    verified: bool
    reason: str
    """Empty when verified; otherwise the specific failed check."""
    publisher: Publisher | None
    claims: Mapping[str, str]
    """Fulcio claims by name (see `forensics.primitives.CLAIM_NAMES`)."""
    certificate: CertificateFacts | None
    subject_name: str | None
    subject_sha256: str | None
    log_entries: tuple[LogEntry, ...]
    predicate: Mapping[str, Any] | None = None
    """The in-toto predicate (SLSA provenance), None for publish/v1."""

    def to_json(self) -> dict[str, Any]:
        """Serialise for reports."""
        return {
            "predicate_type": self.predicate_type,
            "verified": self.verified,
            "reason": self.reason,
            "publisher": self.publisher.to_json() if self.publisher else None,
            "claims": dict(sorted(self.claims.items())),
            "certificate": self.certificate.to_json() if self.certificate else None,
            "subject": {"name": self.subject_name, "sha256": self.subject_sha256},
            "log_entries": [e.to_json() for e in self.log_entries],
        }


@dataclass(frozen=True)
class FileProvenance:
    """The provenance verdict for one distribution file."""

    status: ProvenanceStatus
    reason: str
    attestations: tuple[AttestationResult, ...] = ()
    evidence: EvidenceRef | None = None
    """The Integrity API response (or the Simple API response that said `null`/absent)."""

    @property
    def publisher(self) -> Publisher | None:
        """The publisher of the first attestation (all must agree for `verified`)."""
        for att in self.attestations:
            if att.publisher is not None:
                return att.publisher
        return None

    @property
    def claims(self) -> Mapping[str, str]:
        """Claims of the first attestation that has a certificate (publish/v1 first)."""
        ordered = sorted(
            self.attestations,
            key=lambda a: a.predicate_type != "https://docs.pypi.org/attestations/publish/v1",
        )
        for att in ordered:
            if att.claims:
                return att.claims
        return {}

    @property
    def log_entries(self) -> tuple[LogEntry, ...]:
        """Every log entry of every attestation, in order."""
        return tuple(e for att in self.attestations for e in att.log_entries)


@dataclass(frozen=True)
class DistFile:
    """One distribution file as the index lists it."""

    project: str
    version: str
    filename: str
    sha256: str
    size: int | None
    upload_time: datetime | None
    packagetype: str | None
    yanked: bool
    yanked_reason: str | None
    url: str
    evidence: EvidenceRef
    provenance_key: ProvenanceKey = ProvenanceKey.ABSENT
    provenance_url: str | None = None
    requires_python: str | None = None
    """The file's `requires_python` as the index serves it (None when unset)."""


_GITHUB_URL = re.compile(
    r"^(?:https?://|git\+https://|git://)(?:www\.)?github\.com/"
    r"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<name>[A-Za-z0-9._-]{1,100}?)"
    r"(?:\.git)?(?:[/#?].*)?$",
    re.IGNORECASE,
)
#: `project_urls` labels that name the source repository, most specific first.
_SOURCE_LABELS = ("source", "source code", "sourcecode", "repository", "code", "github", "homepage")


def github_repository(url: str | None) -> str | None:
    """`owner/name` when `url` points into a GitHub repository, else None."""
    m = _GITHUB_URL.match((url or "").strip())
    if not m or m.group("owner").lower() in {"sponsors", "orgs", "features", "apps"}:
        return None
    return f"{m.group('owner')}/{m.group('name')}"


@dataclass(frozen=True)
class ProjectInfo:
    """Project-level facts from the JSON API `info` object (the latest release's metadata)."""

    name: str
    summary: str | None = None
    home_page: str | None = None
    author: str | None = None
    project_urls: Mapping[str, str] = field(default_factory=dict)
    requires_python: str | None = None
    """`info.requires_python`: the latest release's value."""
    evidence: EvidenceRef | None = None

    @property
    def source_repository(self) -> str | None:
        """The GitHub `owner/name` the index names as the source, if any.

        A labelled source URL wins over the home page; the first GitHub URL of any label is the
        last resort (projects label their repository in many ways).
        """
        by_label = {k.strip().lower(): v for k, v in self.project_urls.items()}
        for label in _SOURCE_LABELS:
            repo = github_repository(by_label.get(label))
            if repo:
                return repo
        repo = github_repository(self.home_page)
        if repo:
            return repo
        for url in self.project_urls.values():
            repo = github_repository(url)
            if repo:
                return repo
        return None

    def to_json(self) -> dict[str, Any]:
        """Serialise for reports."""
        return {
            "name": self.name,
            "summary": self.summary,
            "home_page": self.home_page,
            "author": self.author,
            "project_urls": dict(sorted(self.project_urls.items())),
            "requires_python": self.requires_python,
            "source_repository": self.source_repository,
        }


@dataclass(frozen=True)
class SourceTag:
    """A tag of the project's source repository, with the commit it names."""

    name: str
    version: str | None
    """The version the tag names (`forensics.versions.version_from_tag`), None for other tags."""
    sha: str
    commit_date: datetime | None
    """The tagged commit's author date, when it was collected (tag APIs give no tag date)."""
    evidence: EvidenceRef


@dataclass(frozen=True)
class SourceRun:
    """A workflow run of the project's source repository."""

    id: int
    head_sha: str
    head_branch: str
    event: str
    path: str
    created_at: datetime | None
    conclusion: str | None
    evidence: EvidenceRef


@dataclass(frozen=True)
class SourceRepository:
    """What the source repository the index names says, for corroboration without attestations."""

    repository: str
    """`owner/name` on GitHub."""
    named_by: str
    """Where the index names it (`project_urls.Source`, `home_page`)."""
    tags: tuple[SourceTag, ...]
    runs: tuple[SourceRun, ...]
    tags_complete: bool
    """True when every page of the tag list was collected (missing tags then mean something)."""
    runs_complete: bool
    problems: tuple[str, ...] = ()

    def tags_for(self, version: str) -> tuple[SourceTag, ...]:
        """Tags that name `version` (PEP 440 equality: `v1.2` names `1.2.0`)."""
        want = parse_version(version)
        return tuple(
            t for t in self.tags if t.version is not None and parse_version(t.version) == want
        )


@dataclass(frozen=True)
class Finding:
    """One result of one detector."""

    detector: str
    severity: Severity
    confidence: Confidence
    summary: str
    version: str | None
    filename: str | None
    evidence: tuple[EvidenceRef, ...]
    values: Mapping[str, str] = field(default_factory=dict)
    """The thresholds and observed values the detector used."""
    tip: str | None = None

    @property
    def id(self) -> str:
        """A stable identifier, unique per finding: same case, same analysis, same id.

        Detector, version and filename, plus a short hash of those and of the finding's values,
        so two findings of one detector on one release (two drifting claims) never share an id.
        """
        key = "\x1f".join(
            [
                self.detector,
                self.version or "",
                self.filename or "",
                *(f"{k}={v}" for k, v in sorted(self.values.items())),
            ]
        )
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
        return f"{self.detector}:{self.version or '*'}:{self.filename or '*'}:{digest}"

    def to_json(self) -> dict[str, Any]:
        """Serialise for the JSON report (schema forensics.report/v1)."""
        return {
            "id": self.id,
            "detector": self.detector,
            "severity": self.severity.value,
            "confidence": self.confidence.value,
            "version": self.version,
            "filename": self.filename,
            "summary": self.summary,
            "values": dict(sorted(self.values.items())),
            "tip": self.tip,
            "evidence": [e.to_json() for e in self.evidence],
        }


@dataclass(frozen=True)
class Skipped:
    """A detector or check that could not run, and why."""

    detector: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """Serialise for reports."""
        return {"detector": self.detector, "reason": self.reason}
