"""Analysis: from an evidence store to an `Investigation` (pure: reads the store, no network).

Online and offline runs take the same path: the collector first stores every response, then this
module parses the stored bytes. Re-running it on the same case with the same `as_of` therefore
gives the same result, byte for byte once rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from forensics.collect.github_parse import GitHubView, github_targets, load_github, load_source
from forensics.collect.pypi_parse import IndexSnapshot, load_index_snapshot, provenance_response
from forensics.detectors import AnalysisContext, Requirement, run_detectors
from forensics.errors import EvidenceError
from forensics.evidence import NO_ANSWER, CaseMeta, EvidenceStore, StoredResponse
from forensics.gcpause import paused_gc
from forensics.intel import IntelSeed, parse_intel
from forensics.models import (
    DistFile,
    EvidenceRef,
    FileProvenance,
    Finding,
    Pep740Support,
    ProvenanceKey,
    ProvenanceStatus,
    Skipped,
    SourceRepository,
    isoformat,
    utc,
)
from forensics.provenance.verdicts import Pending, Verdicts, with_evidence
from forensics.provenance.verify import ProvenanceVerifier
from forensics.rekor.client import RecordedRekor
from forensics.rekor.recover import RekorView, embedded_index, gather, reconcile, rekor_inputs
from forensics.rekor.verify import LogKeys
from forensics.timeline import ReportedRelease, Timeline, build_timeline
from forensics.trust import TrustMaterial

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Investigation:
    """The result of investigating one project: timeline, findings, skips, provenance of sources."""

    project: str
    as_of: datetime
    sources: Mapping[str, Mapping[str, Any]]
    timeline: Timeline
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    simulated: bool = False
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())
    """Per-record problems met while parsing (kept, never silently dropped)."""
    run: Mapping[str, Any] = field(default_factory=dict)
    """How this run was made (verdicts from the cache or verified, workers): describes the run,
    not the evidence, so replays of one case may differ here and nowhere else."""

    def to_json(self) -> dict[str, Any]:
        """The versioned JSON report (`forensics.report/v1`) as a dict."""
        from forensics.reports.json_v1 import report_dict

        return report_dict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per file (plus deleted releases): needs pandas."""
        from forensics.reports.frame import to_frame

        return to_frame(self)

    def events_frame(self) -> pd.DataFrame:
        """One row per timeline event (Timesketch columns): needs pandas."""
        from forensics.reports.frame import events_frame

        return events_frame(self)

    def __repr__(self) -> str:
        """A one-line summary."""
        by_state: dict[str, int] = {}
        for rel in self.timeline.releases:
            by_state[rel.state.value] = by_state.get(rel.state.value, 0) + 1
        states = ", ".join(f"{k}={v}" for k, v in sorted(by_state.items()))
        return (
            f"<Investigation {self.project!r} as_of={self.as_of.isoformat()} "
            f"releases={len(self.timeline.releases)} ({states}) findings={len(self.findings)} "
            f"skipped={len(self.skipped)} pep740={self.timeline.pep740.value}>"
        )

    def _repr_markdown_(self) -> str:
        from forensics.reports.markdown import render_markdown

        return render_markdown(self)


def file_provenance(
    store: EvidenceStore, snapshot: IndexSnapshot, dist: DistFile, verifier: ProvenanceVerifier
) -> FileProvenance:
    """Decide one file's provenance status from what the case holds."""
    decided = _decide_without_verifying(store, snapshot, dist)
    if isinstance(decided, FileProvenance):
        return decided
    resp, ev = decided
    return verifier.verify_provenance(
        resp.body(), filename=dist.filename, sha256=dist.sha256, evidence=ev
    )


def _decide_without_verifying(
    store: EvidenceStore, snapshot: IndexSnapshot, dist: DistFile
) -> FileProvenance | tuple[StoredResponse, EvidenceRef]:
    """The verdict when no verification is needed, else the stored provenance to verify."""
    if snapshot.pep740 is not Pep740Support.YES:
        return FileProvenance(
            ProvenanceStatus.UNKNOWN, snapshot.pep740_reason, (), snapshot.simple_evidence
        )
    if dist.provenance_key is ProvenanceKey.NULL:
        return FileProvenance(
            ProvenanceStatus.ABSENT,
            "the index serves PEP 740 and lists no provenance for this file (provenance: null)",
            (),
            snapshot.simple_evidence,
        )
    if dist.provenance_key is ProvenanceKey.ABSENT or not dist.provenance_url:
        return FileProvenance(
            ProvenanceStatus.UNKNOWN,
            "the Simple API entry for this file has no provenance key although the index serves "
            "PEP 740 for other files",
            (),
            snapshot.simple_evidence,
        )
    resp = provenance_response(store, dist)
    if resp is None:
        return FileProvenance(
            ProvenanceStatus.UNKNOWN,
            f"provenance was not collected ({dist.provenance_url})",
        )
    ev = resp.evidence(note="Integrity API provenance")
    if resp.status == NO_ANSWER:
        # Refused (foreign origin) or unanswered after retries: the record says why.
        reason = resp.body()[:300].decode("utf-8", "replace")
        return FileProvenance(ProvenanceStatus.UNKNOWN, reason, (), ev)
    if resp.status == 404:
        return FileProvenance(
            ProvenanceStatus.ABSENT,
            "the Integrity API answered 404: no provenance for this file",
            (),
            ev,
        )
    if resp.status == 403:
        return FileProvenance(
            ProvenanceStatus.UNKNOWN,
            "the Integrity API answered 403: attestations temporarily disabled by the index",
            (),
            ev,
        )
    if resp.status != 200:
        return FileProvenance(
            ProvenanceStatus.UNKNOWN, f"the Integrity API answered HTTP {resp.status}", (), ev
        )
    return resp, ev


def pending_provenance(
    store: EvidenceStore, snapshot: IndexSnapshot, dist: DistFile
) -> Pending | None:
    """The stored provenance object `files_provenance` will verify for `dist` (the same
    `Pending`, so the same verdict key), or None when its verdict needs no verification."""
    decided = _decide_without_verifying(store, snapshot, dist)
    if isinstance(decided, FileProvenance):
        return None
    resp, _ev = decided
    return Pending(dist.filename, dist.sha256, resp.sha256, resp.body)


def files_provenance(
    store: EvidenceStore, snapshot: IndexSnapshot, verdicts: Verdicts
) -> dict[str, FileProvenance]:
    """Every file's verdict: cached ones reused, the rest verified (in parallel when many).

    Same verdicts, in the same order, as `file_provenance` file by file.
    """
    out: dict[str, FileProvenance] = {}
    waiting: list[tuple[str, EvidenceRef]] = []
    pending: list[Pending] = []
    for dist in snapshot.files:
        decided = _decide_without_verifying(store, snapshot, dist)
        if isinstance(decided, FileProvenance):
            out[dist.filename] = decided
            continue
        resp, ev = decided
        out[dist.filename] = FileProvenance(ProvenanceStatus.UNKNOWN, "")  # keeps the order
        waiting.append((dist.filename, ev))
        pending.append(Pending(dist.filename, dist.sha256, resp.sha256, resp.body))
    for (filename, ev), verdict in zip(waiting, verdicts.decide(pending), strict=True):
        out[filename] = with_evidence(verdict, ev)
    return out


def load_case_intel(store: EvidenceStore, meta: CaseMeta) -> tuple[IntelSeed, ...]:
    """The intel file recorded in the case (stored like any other evidence), or none."""
    url = meta.sources.get("intel", {}).get("url")
    if not url:
        return ()
    stored = store.latest(str(url))
    if stored is None:
        raise EvidenceError(f"the case names intel {url} but does not hold it")
    return parse_intel(stored.body(), str(url), stored.evidence(note="intel file"))


def rekor_view(
    store: EvidenceStore,
    meta: CaseMeta,
    files: Sequence[DistFile],
    provenance: Mapping[str, FileProvenance],
    keys: LogKeys,
    versions: Sequence[str] = (),
    intel: Sequence[IntelSeed] = (),
    verdicts: Verdicts | None = None,
) -> RekorView | None:
    """Replay the log recovery against the stored answers (None if no log was collected).

    With `verdicts`, the verification outcomes of the entries that cross-check served files come
    from its cache (or are verified and cached there)."""
    base = meta.sources.get("rekor", {}).get("base_url")
    if not base:
        return None
    served = {d.filename: (d.version, d.sha256, provenance[d.filename]) for d in files}
    embedded = embedded_index(store, served)  # parsed once, used by both steps below
    inputs = rekor_inputs(files, provenance, versions, store, embedded)
    gathered = gather(
        RecordedRekor(store, str(base)),
        sans=inputs.sans,
        digests=inputs.digests,
        intel=intel,
        embedded_indexes=inputs.embedded_indexes,
        checkpoints=inputs.checkpoints,
    )
    outcomes: dict[str, tuple[bool, str]] = {}
    if verdicts is not None and keys is verdicts.trust.log_keys:  # cached under that root
        checked = [e for u, e in sorted(gathered.entries.items()) if u in embedded]
        offsets = gathered.log_info.shard_offsets() if gathered.log_info is not None else None
        for entry, out in zip(checked, verdicts.log_checks(checked, offsets), strict=True):
            outcomes[entry.uuid] = (out.ok, out.reason)
    return reconcile(
        store,
        gathered,
        base_url=str(base),
        keys=keys,
        served=served,
        project_repositories=inputs.repositories,
        intel=intel,
        embedded=embedded,
        outcomes=outcomes,
    )


def case_trust(store: EvidenceStore, meta: CaseMeta) -> TrustMaterial:
    """The trusted root recorded in the case, or sigstore's production root if it has none."""
    rec = meta.sources.get("trust_root", {})
    url = rec.get("url")
    if not url:
        return TrustMaterial.load(None)
    stored = store.latest(str(url))
    if stored is None:
        raise EvidenceError(f"the case names trusted root {url} but does not hold it")
    return TrustMaterial(stored.body(), str(rec.get("origin", url)))


@dataclass(frozen=True)
class Evidence:
    """The parsed sources of a case, in the order collection needs them."""

    meta: CaseMeta
    trust: TrustMaterial
    snapshot: IndexSnapshot
    provenance: Mapping[str, FileProvenance]
    intel: tuple[IntelSeed, ...]
    rekor: RekorView | None
    github: GitHubView | None

    def attested_claims(self) -> list[Mapping[str, str]]:
        """Claims of every verified attestation and every recovered log entry."""
        out: list[Mapping[str, str]] = [
            att.claims for fp in self.provenance.values() for att in fp.attestations if att.verified
        ]
        if self.rekor is not None:
            out += [rec.claims for rec in self.rekor.recovered]
        return out


def case_index_snapshot(store: EvidenceStore, meta: CaseMeta) -> IndexSnapshot:
    """The index listing of the case's project as the case holds it (JSON and Simple API)."""
    index_url = str(meta.sources.get("index", {}).get("base_url", ""))
    return load_index_snapshot(store, index_url, meta.project)


def index_provenance(
    store: EvidenceStore,
    meta: CaseMeta,
    verifier: ProvenanceVerifier | Verdicts,
) -> tuple[IndexSnapshot, dict[str, FileProvenance]]:
    """The index snapshot and every file's provenance verdict (`Verdicts`: cached/parallel)."""
    snapshot = case_index_snapshot(store, meta)
    if isinstance(verifier, Verdicts):
        return snapshot, files_provenance(store, snapshot, verifier)
    provenance = {d.filename: file_provenance(store, snapshot, d, verifier) for d in snapshot.files}
    return snapshot, provenance


def read_evidence(
    store: EvidenceStore,
    trust: TrustMaterial | None = None,
    *,
    with_github: bool = True,
    verdicts: Verdicts | None = None,
) -> Evidence:
    """Parse everything the case holds: index, provenance, log, intel, GitHub (pure).

    `verdicts` decides provenance (its trust root wins over `trust`); by default one backed by the
    case's verdict cache, closed before returning.
    """
    meta = store.read_meta()
    if meta is None:
        raise EvidenceError(
            f"{store.root} has no case.json",
            hint="collect first: `forensics investigate PROJECT --case DIR`",
        )
    own = verdicts is None
    if verdicts is None:
        verdicts = Verdicts.for_case(store.root, trust or case_trust(store, meta))
    trust = verdicts.trust
    try:
        snapshot, provenance = index_provenance(store, meta, verdicts)
        intel = load_case_intel(store, meta)
        rekor = rekor_view(
            store,
            meta,
            snapshot.files,
            provenance,
            trust.log_keys,
            snapshot.versions,
            intel,
            verdicts,
        )
    finally:
        if own:
            verdicts.close()
    ev = Evidence(meta, trust, snapshot, provenance, intel, rekor, None)
    github_url = meta.sources.get("github", {}).get("base_url")
    if with_github and github_url:
        commits, runs, repos = github_targets(ev.attested_claims())
        github = load_github(store, str(github_url), commits, runs, repos)
        ev = Evidence(meta, trust, snapshot, provenance, intel, rekor, github)
    return ev


def analyze(
    store: EvidenceStore,
    *,
    as_of: datetime | None = None,
    trust: TrustMaterial | None = None,
    reverify: bool = False,
    workers: int | None = None,
    verdicts: Verdicts | None = None,
    case_digest: str | None = None,
) -> Investigation:
    """Analyse a case. `as_of` defaults to the case's last retrieval time (never the clock);
    `trust` defaults to the trusted root recorded in the case.

    Verdicts cached in the case (`<case>/cache/verdicts.sqlite`) are reused unless `reverify`;
    the others are verified on `workers` processes (default: every core; 1: this process only).
    `verdicts` (an open `Verdicts`, e.g. shared with collection) overrides all three.

    `as_of` is a cut-off: every read goes through `store.at(as_of)`, so evidence retrieved
    after it is not used (a case collected twice, analysed as of the first collection, gives
    the first report)."""
    # A few hundred thousand objects are built and all kept until the report is written: see
    # forensics.gcpause.
    with paused_gc():
        return _analyze(
            store,
            as_of=as_of,
            trust=trust,
            reverify=reverify,
            workers=workers,
            verdicts=verdicts,
            case_digest=case_digest,
        )


def _analyze(
    store: EvidenceStore,
    *,
    as_of: datetime | None,
    trust: TrustMaterial | None,
    reverify: bool,
    workers: int | None,
    verdicts: Verdicts | None,
    case_digest: str | None,
) -> Investigation:
    span = store.retrieval_span()
    if span is None:
        raise EvidenceError(f"{store.root} holds no responses")
    when = utc(as_of) if as_of else span[1]
    if when < span[0]:
        raise EvidenceError(
            f"{store.root} holds no evidence retrieved at or before {isoformat(when)}: "
            f"its first retrieval is {isoformat(span[0])}",
            hint="--as-of cuts off evidence retrieved later; give a time after the collection",
        )
    view = store.at(when)
    own = verdicts is None
    if verdicts is None:
        meta = view.read_meta()
        if meta is None:
            raise EvidenceError(
                f"{store.root} has no case.json",
                hint="collect first: `forensics investigate PROJECT --case DIR`",
            )
        verdicts = Verdicts.for_case(
            store.root, trust or case_trust(view, meta), reverify=reverify, workers=workers
        )
    try:
        ev = read_evidence(view, verdicts=verdicts)
    finally:
        if own:
            verdicts.close()
    meta, snapshot, rekor = ev.meta, ev.snapshot, ev.rekor
    reported = [
        ReportedRelease(
            s.value, s.citation, s.note, (s.evidence,) if s.evidence else (), s.published
        )
        for s in ev.intel
        if s.kind == "version"
    ]
    source, source_reason = _source(store, meta, snapshot)
    timeline = build_timeline(
        snapshot.project,
        snapshot.files,
        ev.provenance,
        pep740=snapshot.pep740,
        pep740_reason=snapshot.pep740_reason,
        versions=snapshot.versions,
        recovered=rekor.recovered if rekor else (),
        reported=reported,
        log_checks=rekor.crosschecks if rekor else (),
        log_inconsistent=rekor.inconsistent if rekor else (),
        github=ev.github,
        project_info=snapshot.info,
        source=source,
    )
    available: set[Requirement] = set()
    unavailable: dict[Requirement, str] = {}
    if snapshot.pep740 is Pep740Support.YES:
        available.add(Requirement.PEP740)
    else:
        unavailable[Requirement.PEP740] = snapshot.pep740_reason
    if rekor is not None:
        available.add(Requirement.REKOR)
    else:
        unavailable[Requirement.REKOR] = "no transparency-log source was given (--rekor-url)"
    if ev.github is not None:
        available.add(Requirement.GITHUB)
    else:
        unavailable[Requirement.GITHUB] = "no GitHub source was given (--github-url)"
    if source is not None:
        available.add(Requirement.SOURCE)
    else:
        unavailable[Requirement.SOURCE] = source_reason
    ctx = AnalysisContext(
        snapshot.project,
        when,
        timeline,
        frozenset(available),
        unavailable,
    )
    findings, skipped = run_detectors(ctx)
    if rekor is not None:
        skipped += tuple(Skipped("transparency-log", p) for p in rekor.problems)
    if ev.github is not None:
        skipped += tuple(Skipped("github", p) for p in ev.github.problems)
    sources = _sources(meta, snapshot)
    # The case digest commits to every row, blob and case.json (forensics.evidence.manifest):
    # whoever holds the case can check the report was made from exactly this evidence.
    # `case_digest`: the digest a caller's integrity check just computed over the same store
    # (hashing 40,000 rows twice costs seconds); otherwise computed here.
    sources["case"] = {"digest": case_digest or store.case_digest()}
    if not store.complete():  # a collection still lacks answers: the report must say so
        sources["case"]["complete"] = False
    if rekor is not None:
        sources["rekor"]["consistent_checkpoints"] = rekor.consistent
    recorded = meta.sources.get("trust_root", {})
    same = recorded.get("sha256") == ev.trust.sha256
    sources["trust_root"] = {
        "origin": str(recorded.get("origin")) if same else ev.trust.label,
        "sha256": ev.trust.sha256,
        "recorded_in_case": same,
    }
    sources["verification"] = verdicts.source()
    return Investigation(
        run={"verification": verdicts.run_info()},
        project=snapshot.project,
        as_of=when,
        sources=sources,
        timeline=timeline,
        findings=findings,
        skipped=skipped,
        simulated=meta.simulated,
        notes=meta.notes,
        problems=tuple(snapshot.problems),
    )


def _source(
    store: EvidenceStore, meta: CaseMeta, snapshot: IndexSnapshot
) -> tuple[SourceRepository | None, str]:
    """The source repository the index names, parsed from the case, or why there is none."""
    repo = snapshot.info.source_repository if snapshot.info else None
    if repo is None:
        return None, "the index names no GitHub source repository (project_urls, home page)"
    base = meta.sources.get("github", {}).get("base_url")
    if not base:
        return None, f"no GitHub source was given (--github-url) to read {repo}"
    return load_source(store, str(base), repo, "the index (project_urls / home page)"), ""


def _sources(meta: CaseMeta, snapshot: IndexSnapshot) -> dict[str, dict[str, Any]]:
    out = {k: dict(v) for k, v in meta.sources.items()}
    index = out.setdefault("index", {})
    index["pep740"] = snapshot.pep740.value
    index["pep740_reason"] = snapshot.pep740_reason
    index["simple_api_version"] = snapshot.api_version
    return dict(sorted(out.items()))
