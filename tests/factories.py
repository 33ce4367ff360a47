"""Builders of model objects for unit tests of the pure layers (timeline, detectors, reports)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from forensics.collect.github_parse import Commit, GitHubView, Run
from forensics.models import (
    AttestationResult,
    DistFile,
    EvidenceRef,
    FileProvenance,
    LogEntry,
    Pep740Support,
    ProvenanceKey,
    ProvenanceStatus,
    Publisher,
)
from forensics.timeline import RecoveredEntry, Timeline, build_timeline

T0 = datetime(2024, 12, 1, 12, 0, tzinfo=UTC)
PUB = Publisher("GitHub", "acme/widget", "publish.yml", "pypi")


def ev(url: str) -> EvidenceRef:
    return EvidenceRef(url, "0" * 64, T0 + timedelta(days=30))


def dist(version: str, filename: str, upload: datetime, project: str = "widget") -> DistFile:
    return DistFile(
        project=project,
        version=version,
        filename=filename,
        sha256=(filename.encode().hex() * 4)[:64],
        size=100,
        upload_time=upload,
        packagetype="sdist" if filename.endswith(".tar.gz") else "bdist_wheel",
        yanked=False,
        yanked_reason=None,
        url=f"https://files.example/{filename}",
        evidence=ev(f"https://pypi.example/pypi/{project}/json"),
        provenance_key=ProvenanceKey.URL,
        provenance_url=f"https://pypi.example/integrity/{project}/{version}/{filename}/provenance",
    )


def attested(
    filename: str,
    upload: datetime,
    *,
    publisher: Publisher = PUB,
    claims: dict[str, str] | None = None,
    lead: timedelta = timedelta(seconds=3),
    log_index: int = 1000,
) -> FileProvenance:
    base = {
        "source_repository": f"https://github.com/{publisher.repository}",
        # one commit per version, as a release process makes them
        "source_commit": hashlib.sha1(filename.split("-")[1].encode()).hexdigest(),
        "source_ref": "refs/tags/v1.0.0",
        "trigger": "push",
        "runner_environment": "github-hosted",
        "issuer": "https://token.actions.githubusercontent.com",
        "source_repository_id": "42",
        "source_repository_owner_id": "7",
        "deployment_environment": "pypi",
        "run_url": "https://github.com/acme/widget/actions/runs/1/attempts/1",
    }
    base.update(claims or {})
    entry = LogEntry(log_index, upload - lead, "dsse/0.0.1", verified=True)
    att = AttestationResult(
        predicate_type="https://docs.pypi.org/attestations/publish/v1",
        verified=True,
        reason="",
        publisher=publisher,
        claims=base,
        certificate=None,
        subject_name=filename,
        subject_sha256=None,
        log_entries=(entry,),
    )
    return FileProvenance(
        ProvenanceStatus.VERIFIED, "", (att,), ev("https://pypi.example/integrity/x")
    )


def absent() -> FileProvenance:
    return FileProvenance(ProvenanceStatus.ABSENT, "provenance: null")


def history(
    spec: list[tuple[str, FileProvenance | None]], pep740: Pep740Support = Pep740Support.YES
) -> Timeline:
    """One sdist per version, a day apart; None provenance means absent."""
    files, prov = [], {}
    for i, (version, fp) in enumerate(spec):
        up = T0 + timedelta(days=i)
        d = dist(version, f"widget-{version}.tar.gz", up)
        files.append(d)
        prov[d.filename] = fp if fp is not None else absent()
    return build_timeline("widget", files, prov, pep740=pep740)


def series(
    versions: list[str],
    *,
    claims: dict[str, dict[str, str]] | None = None,
    publishers: dict[str, Publisher] | None = None,
    tokens: frozenset[str] = frozenset(),
    github: GitHubView | None = None,
    recovered: list[RecoveredEntry] | None = None,
) -> Timeline:
    """Attested releases a day apart, each from its own tag `refs/tags/v<version>`.

    `claims[version]` overrides claims of that release, `publishers[version]` its publisher,
    versions in `tokens` are uploaded without attestations.
    """
    files, prov = [], {}
    for i, version in enumerate(versions):
        up = T0 + timedelta(days=i)
        d = dist(version, f"widget-{version}.tar.gz", up)
        files.append(d)
        if version in tokens:
            prov[d.filename] = absent()
            continue
        own = {"source_ref": f"refs/tags/v{version}"}
        own.update((claims or {}).get(version, {}))
        prov[d.filename] = attested(
            d.filename,
            up,
            publisher=(publishers or {}).get(version, PUB),
            claims=own,
            log_index=1000 + i,
        )
    return build_timeline(
        "widget",
        files,
        prov,
        pep740=Pep740Support.YES,
        github=github,
        recovered=recovered or (),
    )


def commit_sha(version: str) -> str:
    """The commit `attested` names for a version's sdist."""
    return hashlib.sha1(f"{version}.tar.gz".encode()).hexdigest()


def github_for(
    versions: list[str],
    *,
    authors: dict[str, str] | None = None,
    files: dict[str, tuple[str, ...]] | None = None,
    untagged: frozenset[str] = frozenset(),
    missing: frozenset[str] = frozenset(),
    run_of: str | None = None,
) -> GitHubView:
    """What GitHub says of `series(versions)`: a commit per version (author `maintainer`), a
    `v<version>` tag on it unless untagged, 404s for the versions in `missing`, and the run every
    attestation names (run 1) built from the commit of `run_of`."""
    repo = "acme/widget"
    commits = {}
    gone = {}
    for v in versions:
        sha = commit_sha(v)
        if v in missing:
            gone[("commit", f"{repo}@{sha}")] = ev(f"https://api.example/commits/{sha}")
            continue
        commits[(repo, sha)] = Commit(
            repo=repo,
            sha=sha,
            author=(authors or {}).get(v, "maintainer"),
            author_type="User",
            message=f"Release {v}",
            parents=(),
            files=(files or {}).get(v, ("pyproject.toml",)),
            date=T0,
            evidence=ev(f"https://api.example/commits/{sha}"),
        )
    tags = {f"v{v}": commit_sha(v) for v in versions if v not in untagged}
    return GitHubView(
        "https://api.example",
        commits=commits,
        tags={repo: tags},
        tag_evidence={repo: ev("https://api.example/tags")},
        missing=gone,
        runs={
            (repo, 1): Run(repo, 1, "push", "maintainer", commit_sha(run_of), "", "", T0, ev("r"))
        }
        if run_of
        else {},
    )
