"""Build the timeline graph and its derived views from parsed evidence (pure: no I/O, no clock).

The graph follows plaso's split between *what happened* and *which timestamp means what*: nodes are
entities (project, release, file, attestation, publisher identity, repository, commit, workflow run,
log entry), each with a namespaced `data_type` and the evidence it came from; `TimelineEvent`s are a
derived view, each naming its timestamp's meaning and pointing back to its node and evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import networkx as nx
from packaging.version import Version

from forensics.models import (
    DistFile,
    EvidenceRef,
    FileProvenance,
    LogEntry,
    Pep740Support,
    ProjectInfo,
    Publisher,
    SourceRepository,
    isoformat,
)
from forensics.timeline.states import ReleaseState, StateResult, release_state
from forensics.versions import version_key

#: What each event kind's timestamp means (plaso's "timestamp description").
EVENT_MEANINGS: Mapping[str, str] = {
    "uploaded": "file uploaded to the index",
    "certificate_issued": "signing certificate issued (notBefore)",
    "sct": "signing certificate logged in Certificate Transparency (SCT)",
    "log_integrated": "attestation integrated into the transparency log",
    "log_integrated_unlisted": "log entry with the project's identity, for no file on the index",
    "reported": "release published, according to an outside report (intel)",
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
    graph: nx.MultiDiGraph
    releases: tuple[ReleaseView, ...]
    events: tuple[TimelineEvent, ...]
    unplaced: tuple[RecoveredEntry, ...] = ()
    """Log entries with the project's identity whose version nothing tells."""
    project_info: ProjectInfo | None = None
    """Project-level index facts (source URLs, summary), when the index served them."""
    source: SourceRepository | None = None
    """Tags and runs of the source repository the index names, when collected."""

    def release(self, version: str) -> ReleaseView | None:
        """The release with this version, or None."""
        return next((r for r in self.releases if r.version == version), None)

    def previous_attested(self, version: str) -> ReleaseView | None:
        """The nearest earlier release (by upload time) that carried verified attestations."""
        prior = None
        for rel in self.releases:
            if rel.version == version:
                return prior
            if rel.publishers and rel.state is not ReleaseState.INCONSISTENT:
                prior = rel
        return None


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
    project_info: ProjectInfo | None = None,
    source: SourceRepository | None = None,
) -> Timeline:
    """Join index files, their provenance and recovered log entries into a `Timeline`."""
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
                recovered=tuple(rec_by_version.get(version, ())),
                reported=tuple(rep_by_version.get(version, ())),
            )
        )
        if result.publishers and ReleaseState.INCONSISTENT not in result.states:
            baseline = result.publishers

    graph = _graph(project, releases, rec_by_version.get(None, []))
    events = _events(releases, rec_by_version.get(None, []))
    return Timeline(
        project,
        pep740,
        pep740_reason,
        graph,
        tuple(releases),
        events,
        tuple(rec_by_version.get(None, ())),
        project_info=project_info,  # index-only facts, passed through as served
        source=source,  # the named source repository's tags and runs, as collected
    )


def _publisher_node(pub: Publisher) -> str:
    return f"identity:{pub.identity}"


def _graph(
    project: str, releases: Sequence[ReleaseView], orphans: Sequence[RecoveredEntry]
) -> nx.MultiDiGraph:
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
        cnode = f"commit:{repo}@{commit}"
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
    return tuple(sorted(events))


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
