"""Build the joined timeline from parsed evidence (pure: no I/O, no clock).

The timeline is the one model detectors read. `build_timeline` takes what the parsers made of the
case (index files and their provenance verdicts, log entries recovered from the transparency log and
the log's cross-checks of served entries, GitHub commits, runs and tags, outside reports) and
attaches it to each release: its verified claims (`ClaimSet`), its publishing channel, its release
line, its source commit, tags, runs and log checks. Facts derived once here (a release's claims,
its commit, its channel) are never recomputed inside a detector.

The graph follows plaso's split between *what happened* and *which timestamp means what*: nodes are
entities (project, release, file, attestation, publisher identity, repository, commit, tag, workflow
run, log entry), each with a namespaced `data_type` and the evidence it came from; `TimelineEvent`s
are a derived view, each naming its timestamp's meaning and pointing back to its node and evidence.
The graph is built on first use (`Timeline.graph`): relations that span releases
(`Timeline.releases_sharing_commit`) are answered from the releases its edges are drawn from.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from packaging.version import Version

from forensics.collect.github_parse import Commit, GitHubView, Run, github_repo, run_from_url
from forensics.gcpause import pausing_gc
from forensics.models import (
    DistFile,
    EvidenceRef,
    FileProvenance,
    LogEntry,
    Pep740Support,
    ProjectInfo,
    ProvenanceStatus,
    Publisher,
    SourceRepository,
    isoformat,
)
from forensics.timeline.states import ReleaseState, StateResult, release_state
from forensics.versions import parse_version, release_line, version_from_tag, version_key

if TYPE_CHECKING:
    import networkx as nx

#: What each event kind's timestamp means (plaso's "timestamp description").
EVENT_MEANINGS: Mapping[str, str] = {
    "uploaded": "file uploaded to the index",
    "certificate_issued": "signing certificate issued (notBefore)",
    "sct": "signing certificate logged in Certificate Transparency (SCT)",
    "log_integrated": "attestation integrated into the transparency log",
    "log_integrated_unlisted": "log entry with the project's identity, for no file on the index",
    "reported": "release published, according to an outside report (intel)",
    "commit": "release commit authored (author date, as the source host reports it)",
    "workflow_run": "workflow run created (as the source host reports it)",
}


@dataclass(frozen=True)
class RecoveredEntry:
    """A log entry that carries the project's identity but matches no file the index serves."""

    log_entry: LogEntry
    claims: Mapping[str, str]
    subject_name: str | None
    subject_sha256: str | None
    version: str | None
    """From the ref, the statement or the intel file; None when none of them says it."""
    version_source: str
    """`ref`, `statement`, `intel`, or `` when the version is unknown."""
    evidence: tuple[EvidenceRef, ...]
    note: str = ""


@dataclass(frozen=True)
class ReportedRelease:
    """A release an outside source reports (an advisory), whatever the index and log say."""

    version: str
    citation: str
    """`[tag] source` of the report."""
    note: str
    evidence: tuple[EvidenceRef, ...]
    time: datetime | None = None
    """When the source says the release was published, if it says."""


class Channel(enum.StrEnum):
    """How a release reached the index."""

    TRUSTED_PUBLISHING = "trusted-publishing"
    """Signed by a Trusted Publisher (verified attestations, or signing events in the log)."""
    TOKEN = "token"  # noqa: S105 - a publishing channel, not a secret
    """The index serves PEP 740 and lists no attestation for any file: an API-token upload."""
    MIXED = "mixed"
    """Some files attested, some not."""
    UNKNOWN = "unknown"
    """The index does not serve PEP 740, or a verdict is unknown or invalid."""


@dataclass(frozen=True)
class ClaimSet:
    """One verified statement of how a release was built, with where it comes from.

    Either the Fulcio claims of a verified attestation of a served file (`source` =
    `attestation`), or those of a signing event recovered from the transparency log for a file the
    index does not serve (`source` = `log`).
    """

    claims: Mapping[str, str]
    publisher: Publisher | None
    source: str
    filename: str | None
    evidence: tuple[EvidenceRef, ...]
    log_time: datetime | None = None
    """The log's integration time of the signing event, when it has one (Rekor v1)."""
    upload_time: datetime | None = None
    """When the index says the file was uploaded (served files only)."""

    @property
    def workflow_file(self) -> str | None:
        """`.github/workflows/x.yml` from the build config claim (GitHub only)."""
        return workflow_file(self.claims.get("build_config"))

    @property
    def github_repository(self) -> str | None:
        """`owner/name` when the source repository is on github.com."""
        return github_repo(self.claims.get("source_repository"))


@dataclass(frozen=True)
class LogCheck:
    """The log's own copy of an entry embedded in a served attestation, compared and re-verified."""

    filename: str
    version: str
    log_index: int
    differences: tuple[str, ...]
    verification: str
    """'' when the served entry verified independently, else the failed checks."""
    evidence: tuple[EvidenceRef, ...]


@dataclass(frozen=True)
class SourceFacts:
    """What the source host (GitHub) says about one release, joined through its claims."""

    commit: Commit | None = None
    """The attested commit, when GitHub answered for it."""
    workflow_file: str | None = None
    """The workflow file that signed the release (from the claims)."""
    tags: tuple[str, ...] = ()
    """Tags of the release's repository that name its version (`v1.2.3`, `1.2.3`, ...)."""
    tag_commits: Mapping[str, str] = field(default_factory=dict)
    """tag name -> commit sha, for `tags`."""
    runs: tuple[Run, ...] = ()
    """Workflow runs the claims name, when GitHub answered for them."""
    missing: tuple[tuple[str, EvidenceRef], ...] = ()
    """(`commit <sha>` | `run <id>`, evidence) that GitHub says do not exist."""
    repositories: tuple[str, ...] = ()
    """GitHub repositories the release's claims name."""


@dataclass(frozen=True)
class TagIndex:
    """One repository's tag listing by the version each tag names (`version_from_tag`), so that
    finding a release's tags is a lookup, not a pass over the listing (which, once per release,
    was quadratic for a project that tags every release)."""

    listed: int
    """How many tags the listing holds (those naming no version included)."""
    by_version: Mapping[str, tuple[tuple[str, str], ...]]
    """Version -> (tag name, commit sha) of the tags naming it, in listing order."""

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> TagIndex:
        """The index of one listing (tag name -> commit sha)."""
        by_version: dict[str, list[tuple[str, str]]] = {}
        for name, sha in tags.items():
            if (version := version_from_tag(name)) is not None:
                by_version.setdefault(version, []).append((name, sha))
        return cls(len(tags), {v: tuple(named) for v, named in by_version.items()})

    @cached_property
    def oldest(self) -> Version:
        """The lowest version a tag names (the listing must name one)."""
        return min(p for v in self.by_version if (p := parse_version(v)) is not None)


def workflow_file(build_config: str | None) -> str | None:
    """`https://github.com/o/r/.github/workflows/x.yml@ref` -> `.github/workflows/x.yml`."""
    if not build_config or "/.github/workflows/" not in build_config:
        return None
    path = build_config.split("@", 1)[0]
    return ".github/workflows/" + path.split("/.github/workflows/", 1)[1]


@dataclass(frozen=True)
class FileView:
    """A distribution file with its provenance verdict."""

    dist: DistFile
    provenance: FileProvenance


@dataclass(frozen=True)
class ReleaseView:
    """One release: its files, state and position in the project's history."""

    version: str
    files: tuple[FileView, ...]
    state: ReleaseState
    states: tuple[ReleaseState, ...]
    state_reason: str
    publishers: frozenset[str]
    first_upload: datetime | None
    deleted: bool = False
    recovered: tuple[RecoveredEntry, ...] = ()
    reported: tuple[ReportedRelease, ...] = ()
    """Outside reports naming this release (intel seeds of kind `version`)."""
    claims: tuple[ClaimSet, ...] = ()
    """Verified claims: served attestations first, then recovered log entries."""
    channel: Channel = Channel.UNKNOWN
    line: str = "?"
    """The release line (`forensics.versions.release_line`)."""
    source: SourceFacts = field(default_factory=SourceFacts)
    log_checks: tuple[LogCheck, ...] = ()
    """The log's cross-checks of the entries embedded in this release's attestations."""

    @property
    def commit(self) -> Commit | None:
        """The attested source commit as GitHub describes it, if collected."""
        return self.source.commit

    @cached_property
    def attested_commits(self) -> frozenset[tuple[str, str]]:
        """(repository URI, commit sha) pairs the release's verified claims name."""
        return frozenset(
            (c.claims.get("source_repository", ""), sha)
            for c in self.claims
            if (sha := c.claims.get("source_commit"))
        )

    @property
    def served_claims(self) -> tuple[ClaimSet, ...]:
        """Claims of the served files' verified attestations only."""
        return tuple(c for c in self.claims if c.source == "attestation")

    @property
    def attested(self) -> bool:
        """True when at least one file carries a verified attestation."""
        return self.state in (
            ReleaseState.FULL,
            ReleaseState.PARTIAL,
            ReleaseState.CHANGED,
        ) or bool(self.publishers)


@dataclass(frozen=True, order=True)
class TimelineEvent:
    """A point in time with its meaning and where we know it from."""

    time: datetime
    kind: str
    version: str | None
    filename: str | None
    node: str
    description: str
    evidence: tuple[EvidenceRef, ...] = field(compare=False)

    @property
    def meaning(self) -> str:
        """What this timestamp means."""
        return EVENT_MEANINGS.get(self.kind, self.kind)

    def to_json(self) -> dict[str, object]:
        """Serialise for reports."""
        return {
            "time": isoformat(self.time),
            "kind": self.kind,
            "meaning": self.meaning,
            "version": self.version,
            "filename": self.filename,
            "node": self.node,
            "description": self.description,
            "evidence": [e.to_json() for e in self.evidence],
        }


@dataclass(frozen=True)
class Timeline:
    """The whole reconstructed history of one project."""

    project: str
    pep740: Pep740Support
    pep740_reason: str
    releases: tuple[ReleaseView, ...]
    events: tuple[TimelineEvent, ...]
    unplaced: tuple[RecoveredEntry, ...] = ()
    """Log entries with the project's identity whose version nothing tells."""
    log_inconsistent: tuple[str, ...] = ()
    """Why the log's head is not consistent with a checkpoint embedded in the provenance."""
    tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """GitHub repository -> tag name -> commit sha, as collected."""
    tag_evidence: Mapping[str, EvidenceRef] = field(default_factory=dict)
    """GitHub repository -> the stored tag listing."""
    source_collected: bool = False
    """True when the source host (GitHub) was consulted."""

    project_info: ProjectInfo | None = None
    """Project-level index facts (source URLs, summary), when the index served them."""
    source: SourceRepository | None = None
    """Tags and runs of the source repository the index names, when collected."""

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The entity graph (see the module docstring), built on first use.

        A derived view of `releases` and `unplaced`: at 2,500 releases it is about 22,000 nodes
        and 42,000 edges, which cost more to build (and to garbage-collect) than the rest of the
        timeline, and an investigation does not need it to report."""
        return _graph(self.project, self.releases, self.unplaced)

    @cached_property
    def tag_index(self) -> Mapping[str, TagIndex]:
        """`tags` by the version each tag names, per repository (same order as `tags`)."""
        return {repo: TagIndex.of(named) for repo, named in self.tags.items()}

    def releases_sharing_commit(self) -> dict[str, list[ReleaseView]]:
        """Commit node -> releases built from it, in time order, keyed in the order of the
        first release built from each commit.

        The graph's `release_built_from` edges (commit node `commit:<repository URI>@<sha>`),
        read from the releases' `attested_commits` they are drawn from, so that asking does
        not build the whole graph (`tests/timeline` checks both give the same relation)."""
        out: dict[str, list[ReleaseView]] = {}
        for rel in self.releases:
            for repo_uri, sha in sorted(rel.attested_commits):
                out.setdefault(_commit_node(repo_uri, sha), []).append(rel)
        return out

    def release(self, version: str) -> ReleaseView | None:
        """The release with this version, or None."""
        return next((r for r in self.releases if r.version == version), None)


def _order_key(rel: tuple[str, datetime | None]) -> tuple[int, str, tuple[int, Version | str]]:
    version, first = rel
    # Releases without any upload time (e.g. recovered from the log only) sort last, by version.
    return (0 if first else 1, isoformat(first) or "", version_key(version))


def build_timeline(
    project: str,
    files: Sequence[DistFile],
    provenance: Mapping[str, FileProvenance],
    *,
    pep740: Pep740Support,
    pep740_reason: str = "",
    versions: Iterable[str] = (),
    recovered: Sequence[RecoveredEntry] = (),
    reported: Sequence[ReportedRelease] = (),
    log_checks: Sequence[LogCheck] = (),
    log_inconsistent: Sequence[str] = (),
    github: GitHubView | None = None,
    project_info: ProjectInfo | None = None,
    source: SourceRepository | None = None,
) -> Timeline:
    """Join index files, their provenance, the log's answers and GitHub's into a `Timeline`."""
    by_version: dict[str, list[DistFile]] = defaultdict(list)
    for dist in files:
        by_version[dist.version].append(dist)
    for version in versions:
        by_version.setdefault(version, [])
    rec_by_version: dict[str | None, list[RecoveredEntry]] = defaultdict(list)
    for entry in recovered:
        rec_by_version[entry.version].append(entry)
    rep_by_version: dict[str, list[ReportedRelease]] = defaultdict(list)
    for rep in reported:
        rep_by_version[rep.version].append(rep)
    # Grouped once, in their order (filtering every check for every release was O(n²)).
    checks_by_version: dict[str | None, list[LogCheck]] = defaultdict(list)
    for check in log_checks:
        checks_by_version[check.version].append(check)
    deleted_versions = {
        v for v in (*rec_by_version, *rep_by_version) if v is not None and v not in by_version
    }

    first_upload: dict[str, datetime | None] = {}
    for version, dists in by_version.items():
        times = [d.upload_time for d in dists if d.upload_time is not None]
        first_upload[version] = min(times) if times else None
    for version in deleted_versions:
        times = [
            e.log_entry.integrated_time
            for e in rec_by_version.get(version, ())
            if e.log_entry.integrated_time is not None
        ] or [r.time for r in rep_by_version.get(version, ()) if r.time is not None]
        first_upload[version] = min(times) if times else None

    order = sorted(first_upload.items(), key=_order_key)
    tag_index = {repo: TagIndex.of(named) for repo, named in github.tags.items()} if github else {}
    releases: list[ReleaseView] = []
    baseline: frozenset[str] | None = None
    for version, first in order:
        dists = sorted(
            by_version.get(version, []),
            key=lambda d: (isoformat(d.upload_time) or "", d.filename),
        )
        views = tuple(FileView(d, provenance[d.filename]) for d in dists)
        if version in deleted_versions:
            known_from = (
                "the transparency log" if rec_by_version.get(version) else "outside reports"
            )
            result = StateResult(
                ReleaseState.UNKNOWN,
                (ReleaseState.UNKNOWN,),
                f"release no longer served by the index; known only from {known_from}",
                frozenset(),
            )
        else:
            result = release_state([v.provenance for v in views], baseline)
        recovered_here = tuple(rec_by_version.get(version, ()))
        claim_sets = _claim_sets(views, recovered_here)
        releases.append(
            ReleaseView(
                version=version,
                files=views,
                state=result.state,
                states=result.states,
                state_reason=result.reason,
                publishers=result.publishers,
                first_upload=first,
                deleted=version in deleted_versions,
                recovered=recovered_here,
                reported=tuple(rep_by_version.get(version, ())),
                claims=claim_sets,
                channel=_channel(views, recovered_here, pep740),
                line=release_line(version),
                source=_source_facts(version, claim_sets, github, tag_index),
                log_checks=tuple(checks_by_version.get(version, ())),
            )
        )
        if result.publishers and ReleaseState.INCONSISTENT not in result.states:
            baseline = result.publishers

    events = _events(releases, rec_by_version.get(None, []))
    return Timeline(
        project,
        pep740,
        pep740_reason,
        tuple(releases),
        events,
        tuple(rec_by_version.get(None, ())),
        log_inconsistent=tuple(log_inconsistent),
        tags={r: dict(t) for r, t in github.tags.items()} if github else {},
        tag_evidence=dict(github.tag_evidence) if github else {},
        source_collected=github is not None,
        project_info=project_info,  # index-only facts, passed through as served
        source=source,  # the named source repository's tags and runs, as collected
    )


def _claim_sets(
    views: Sequence[FileView], recovered: Sequence[RecoveredEntry]
) -> tuple[ClaimSet, ...]:
    out: list[ClaimSet] = []
    for fv in views:
        if fv.provenance.status is not ProvenanceStatus.VERIFIED:
            continue
        claims = fv.provenance.claims
        if not claims and fv.provenance.publisher is None:
            continue
        times = [e.integrated_time for e in fv.provenance.log_entries if e.integrated_time]
        out.append(
            ClaimSet(
                claims=claims,
                publisher=fv.provenance.publisher,
                source="attestation",
                filename=fv.dist.filename,
                evidence=(fv.provenance.evidence,) if fv.provenance.evidence else (),
                log_time=min(times) if times else None,
                upload_time=fv.dist.upload_time,
            )
        )
    out.extend(
        ClaimSet(
            claims=rec.claims,
            publisher=None,
            source="log",
            filename=rec.subject_name,
            evidence=rec.evidence,
            log_time=rec.log_entry.integrated_time,
        )
        for rec in recovered
        if rec.claims
    )
    return tuple(out)


def _channel(
    views: Sequence[FileView], recovered: Sequence[RecoveredEntry], pep740: Pep740Support
) -> Channel:
    statuses = {fv.provenance.status for fv in views}
    if not views:
        # known only from the log (signed: Trusted Publishing) or from outside reports
        return Channel.TRUSTED_PUBLISHING if any(r.claims for r in recovered) else Channel.UNKNOWN
    if pep740 is not Pep740Support.YES or statuses & {
        ProvenanceStatus.UNKNOWN,
        ProvenanceStatus.INVALID,
    }:
        return Channel.UNKNOWN
    if statuses == {ProvenanceStatus.VERIFIED}:
        return Channel.TRUSTED_PUBLISHING
    if statuses == {ProvenanceStatus.ABSENT}:
        return Channel.TOKEN
    return Channel.MIXED


def _source_facts(
    version: str,
    claims: Sequence[ClaimSet],
    github: GitHubView | None,
    tag_index: Mapping[str, TagIndex],
) -> SourceFacts:
    repos = tuple(dict.fromkeys(r for c in claims if (r := c.github_repository)))
    wf = next((w for c in claims if (w := c.workflow_file)), None)
    if github is None:
        return SourceFacts(workflow_file=wf, repositories=repos)
    commit: Commit | None = None
    runs: dict[tuple[str, int], Run] = {}
    missing: dict[str, EvidenceRef] = {}
    for c in claims:
        repo, sha = c.github_repository, c.claims.get("source_commit")
        if repo and sha:
            if commit is None and (found := github.commits.get((repo, sha))) is not None:
                commit = found
            if (e := github.missing.get(("commit", f"{repo}@{sha}"))) is not None:
                missing.setdefault(f"commit {sha[:12]}", e)
        named = run_from_url(c.claims.get("run_url"))
        if named is not None:
            if (found_run := github.runs.get(named)) is not None:
                runs[named] = found_run
            if (e := github.missing.get(("run", f"{named[0]}#{named[1]}"))) is not None:
                missing.setdefault(f"run {named[1]}", e)
    # the tags of the release's repositories that name its version, in listing order
    want = _normal(version)
    tags = {
        name: sha
        for repo in repos
        if (index := tag_index.get(repo)) is not None
        for name, sha in index.by_version.get(want, ())
    }
    return SourceFacts(
        commit=commit,
        workflow_file=wf,
        tags=tuple(sorted(tags)),
        tag_commits=tags,
        runs=tuple(runs.values()),
        missing=tuple(sorted(missing.items())),
        repositories=repos,
    )


def _normal(version: str) -> str:
    tagged = version_from_tag(version)
    return tagged if tagged is not None else version


def _publisher_node(pub: Publisher) -> str:
    return f"identity:{pub.identity}"


def _commit_node(repo_uri: str, sha: str) -> str:
    return f"commit:{repo_uri}@{sha}"


@pausing_gc  # about 150,000 dicts (networkx keeps a few per node and edge)
def _graph(
    project: str, releases: Sequence[ReleaseView], orphans: Sequence[RecoveredEntry]
) -> nx.MultiDiGraph:
    import networkx as nx  # imported when a graph is first asked for: 0.1 s of every start

    g = nx.MultiDiGraph()
    proj = f"project:{project}"
    g.add_node(proj, data_type="pypi:project", name=project)
    for rel in releases:
        rnode = f"release:{rel.version}"
        g.add_node(
            rnode,
            data_type="pypi:release",
            version=rel.version,
            state=rel.state.value,
            deleted=rel.deleted,
            first_upload=rel.first_upload,
        )
        g.add_edge(proj, rnode, key="has_release")
        for fv in rel.files:
            fnode = f"file:{fv.dist.filename}"
            g.add_node(
                fnode,
                data_type="pypi:file",
                filename=fv.dist.filename,
                sha256=fv.dist.sha256,
                upload_time=fv.dist.upload_time,
                status=fv.provenance.status.value,
                evidence=(fv.dist.evidence,),
            )
            g.add_edge(rnode, fnode, key="has_file")
            for i, att in enumerate(fv.provenance.attestations):
                anode = f"attestation:{fv.dist.filename}#{i}"
                g.add_node(
                    anode,
                    data_type="attestation:" + ("slsa" if att.predicate else "publish"),
                    predicate_type=att.predicate_type,
                    verified=att.verified,
                    reason=att.reason,
                    evidence=(fv.provenance.evidence,) if fv.provenance.evidence else (),
                )
                g.add_edge(fnode, anode, key="attested_by")
                if att.publisher is not None:
                    pnode = _publisher_node(att.publisher)
                    g.add_node(pnode, data_type="pypi:publisher", **att.publisher.to_json())
                    g.add_edge(anode, pnode, key="published_by")
                _link_claims(g, anode, att.claims)
                for entry in att.log_entries:
                    lnode = f"logentry:{entry.log_index}"
                    g.add_node(lnode, data_type="rekor:entry", **entry.to_json())
                    g.add_edge(anode, lnode, key="logged_in")
        for rec in rel.recovered:
            _add_recovered(g, rnode, rec)
        for repo_uri, sha in sorted(rel.attested_commits):
            cnode = _commit_node(repo_uri, sha)
            if cnode not in g:
                g.add_node(cnode, data_type="scm:commit", sha=sha)
            g.add_edge(rnode, cnode, key="release_built_from")
        for name, sha in sorted(rel.source.tag_commits.items()):
            repo = rel.source.repositories[0] if rel.source.repositories else ""
            tnode = f"tag:{repo}:{name}"
            g.add_node(tnode, data_type="scm:tag", name=name, sha=sha)
            g.add_edge(rnode, tnode, key="tagged_as")
    for rec in orphans:
        _add_recovered(g, proj, rec)
    return g


def _link_claims(g: nx.MultiDiGraph, anode: str, claims: Mapping[str, str]) -> None:
    repo = claims.get("source_repository")
    commit = claims.get("source_commit")
    run = claims.get("run_url")
    if repo:
        g.add_node(f"repository:{repo}", data_type="scm:repository", uri=repo)
        g.add_edge(anode, f"repository:{repo}", key="source_repository")
    if repo and commit:
        cnode = _commit_node(repo, commit)
        g.add_node(cnode, data_type="scm:commit", sha=commit, ref=claims.get("source_ref"))
        g.add_edge(anode, cnode, key="built_from")
        g.add_edge(cnode, f"repository:{repo}", key="in_repository")
    if run:
        g.add_node(f"run:{run}", data_type="ci:run", url=run, trigger=claims.get("trigger"))
        g.add_edge(anode, f"run:{run}", key="built_by_run")


def _add_recovered(g: nx.MultiDiGraph, parent: str, rec: RecoveredEntry) -> None:
    lnode = f"logentry:{rec.log_entry.log_index}"
    g.add_node(
        lnode,
        data_type="rekor:entry",
        recovered=True,
        subject=rec.subject_name,
        evidence=rec.evidence,
        **rec.log_entry.to_json(),
    )
    g.add_edge(parent, lnode, key="recovered_from_log")
    _link_claims(g, lnode, rec.claims)


def _events(
    releases: Sequence[ReleaseView], orphans: Sequence[RecoveredEntry]
) -> tuple[TimelineEvent, ...]:
    events: list[TimelineEvent] = []
    for rel in releases:
        for fv in rel.files:
            d = fv.dist
            fnode = f"file:{d.filename}"
            if d.upload_time is not None:
                events.append(
                    TimelineEvent(
                        d.upload_time,
                        "uploaded",
                        rel.version,
                        d.filename,
                        fnode,
                        f"{d.filename} uploaded ({fv.provenance.status.value} provenance)",
                        (d.evidence,),
                    )
                )
            prov_ev = (fv.provenance.evidence,) if fv.provenance.evidence else ()
            for i, att in enumerate(fv.provenance.attestations):
                anode = f"attestation:{d.filename}#{i}"
                if att.certificate is not None:
                    events.append(
                        TimelineEvent(
                            att.certificate.not_before,
                            "certificate_issued",
                            rel.version,
                            d.filename,
                            anode,
                            f"certificate for {', '.join(att.certificate.san) or '?'}",
                            prov_ev,
                        )
                    )
                    if att.certificate.sct_time is not None:
                        events.append(
                            TimelineEvent(
                                att.certificate.sct_time,
                                "sct",
                                rel.version,
                                d.filename,
                                anode,
                                "embedded SCT timestamp",
                                prov_ev,
                            )
                        )
                for entry in att.log_entries:
                    if entry.integrated_time is None:
                        continue  # Rekor v2: no log time exists, and none is invented
                    events.append(
                        TimelineEvent(
                            entry.integrated_time,
                            "log_integrated",
                            rel.version,
                            d.filename,
                            f"logentry:{entry.log_index}",
                            f"log index {entry.log_index} ({entry.kind})",
                            prov_ev,
                        )
                    )
        for rec in rel.recovered:
            events.extend(_recovered_event(rec, rel.version))
        events.extend(_source_events(rel))
        events.extend(
            TimelineEvent(
                rep.time,
                "reported",
                rel.version,
                None,
                f"release:{rel.version}",
                f"{rel.version} reported published by {rep.citation}",
                rep.evidence,
            )
            for rep in rel.reported
            if rep.time is not None
        )
    for rec in orphans:
        events.extend(_recovered_event(rec, None))
    # The order `TimelineEvent`'s generated comparison gives (its compared fields as a tuple),
    # with one key per event instead of a Python-level `__lt__` per comparison.
    return tuple(sorted(events, key=_event_order))


def _event_order(e: TimelineEvent) -> tuple[datetime, str, str | None, str | None, str, str]:
    return (e.time, e.kind, e.version, e.filename, e.node, e.description)


def _source_events(rel: ReleaseView) -> list[TimelineEvent]:
    """The release commit and its workflow runs, on the source host's clock. An author date is
    whatever the committer's machine said (it can be set freely), so it is drawn, never trusted."""
    out: list[TimelineEvent] = []
    commit = rel.source.commit
    if commit is not None and commit.date is not None:
        out.append(
            TimelineEvent(
                commit.date,
                "commit",
                rel.version,
                None,
                f"commit:{commit.repo}@{commit.sha}",
                f"release commit {commit.sha[:12]} by {commit.author or 'an unknown author'}",
                (commit.evidence,),
            )
        )
    out.extend(
        TimelineEvent(
            run.created_at,
            "workflow_run",
            rel.version,
            None,
            f"run:{run.repo}/{run.id}",
            f"workflow run {run.id} ({run.event or '?'} by {run.actor or '?'}, {run.path or '?'})",
            (run.evidence,),
        )
        for run in rel.source.runs
        if run.created_at is not None
    )
    return out


def _recovered_event(rec: RecoveredEntry, version: str | None) -> list[TimelineEvent]:
    if rec.log_entry.integrated_time is None:
        return []
    return [
        TimelineEvent(
            rec.log_entry.integrated_time,
            "log_integrated_unlisted",
            version,
            rec.subject_name,
            f"logentry:{rec.log_entry.log_index}",
            f"log index {rec.log_entry.log_index}: {rec.subject_name or 'unknown subject'}"
            + (f" (version from {rec.version_source})" if rec.version_source else ""),
            rec.evidence,
        )
    ]
