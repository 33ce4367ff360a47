"""Per-release verdicts, check coverage and "what is known / what is unknown" (pure analysis).

Reports lead with this: a responder first needs to know *which releases need attention and why*,
then *what could not be checked* (an empty findings list means nothing when the checks did not
run), then the plain statements the evidence supports. Every function here is pure: it reads a
timeline, findings and skips that analysis already produced, never the network or the clock, and
never imports `forensics.reports` (reports, the fleet scan and the CI gate all consume it).

Verdicts, strongest first:

* `suspicious`: a check reported a high or critical finding for the release;
* `inconsistent`: the evidence disagrees with itself or with the project's history (a medium or
  low finding, or the release state is inconsistent, lost or changed);
* `unknown`: the release's provenance could not be established (deleted, or the index does not
  serve PEP 740, or a fetch failed);
* `clean`: nothing above applies.

Trust levels say what a verdict rests on: `verified` (cryptographically verified attestations or
log entries), `reported` (what an index or an outside report says, not verified), `simulated`
(a lab reconstruction: values were made in the lab).
"""

from __future__ import annotations

import enum
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from forensics.detectors.interface import Requirement
from forensics.detectors.registry import DETECTORS
from forensics.models import Finding, ProvenanceStatus, Severity, Skipped, isoformat
from forensics.timeline import ReleaseState, ReleaseView, Timeline


class Verdict(enum.StrEnum):
    """What a responder should make of one release."""

    SUSPICIOUS = "suspicious"
    INCONSISTENT = "inconsistent"
    UNKNOWN = "unknown"
    CLEAN = "clean"

    @property
    def rank(self) -> int:
        """0 for `suspicious` (most urgent) … 3 for `clean`."""
        return list(Verdict).index(self)


class Trust(enum.StrEnum):
    """What the verdict's evidence is worth."""

    VERIFIED = "verified"
    REPORTED = "reported"
    SIMULATED = "simulated"


class CheckStatus(enum.StrEnum):
    """Whether one check ran."""

    RAN = "ran"
    PARTIAL = "partial"
    """It ran, but some of the lookups it depends on failed."""
    NOT_RUN = "not_run"


@dataclass(frozen=True)
class ReleaseVerdict:
    """The verdict on one release with its strongest reasons."""

    version: str
    verdict: Verdict
    reasons: tuple[str, ...]
    """Plain-words reasons, strongest first (never empty)."""
    trust: Trust
    severity: Severity | None
    """The highest severity among the release's findings."""
    detectors: tuple[str, ...]
    first_upload: datetime | None
    deleted: bool
    yanked: bool
    yanked_reasons: tuple[str, ...]
    state: str

    @property
    def reason(self) -> str:
        """The strongest reason, with a count of the others."""
        more = len(self.reasons) - 1
        return self.reasons[0] + (f" (+{more} more)" if more > 0 else "")

    def to_json(self) -> dict[str, Any]:
        """Serialise for the JSON report (`verdicts`)."""
        return {
            "version": self.version,
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
            "trust": self.trust.value,
            "severity": self.severity.value if self.severity else None,
            "detectors": list(self.detectors),
            "first_upload": isoformat(self.first_upload),
            "deleted": self.deleted,
            "yanked": self.yanked,
            "yanked_reasons": list(self.yanked_reasons),
            "state": self.state,
        }


@dataclass(frozen=True)
class CheckCoverage:
    """One check (detector) and whether it ran."""

    check: str
    status: CheckStatus
    cause: str
    """Why it did not run (or ran only in part); empty when it ran."""
    requires: tuple[str, ...]


@dataclass(frozen=True)
class CauseGroup:
    """Checks (or lookups) that share one cause of not running."""

    cause: str
    status: CheckStatus
    checks: tuple[str, ...]
    count: int
    """Number of checks, or of lookups for `lookups` groups."""
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Coverage:
    """Which checks ran, which could not and why, grouped by cause."""

    checks: tuple[CheckCoverage, ...]
    groups: tuple[CauseGroup, ...]
    """Checks that did not run fully, grouped by cause (largest group first)."""
    lookups: tuple[CauseGroup, ...]
    """Failed lookups (log searches, GitHub requests), grouped by cause with counts."""

    @property
    def total(self) -> int:
        """Number of checks."""
        return len(self.checks)

    @property
    def ran(self) -> tuple[str, ...]:
        """Checks that ran fully."""
        return tuple(c.check for c in self.checks if c.status is CheckStatus.RAN)

    @property
    def complete(self) -> bool:
        """True when every check ran fully."""
        return all(c.status is CheckStatus.RAN for c in self.checks)

    def headlines(self) -> list[str]:
        """One line per cause: "16 of 16 checks could not run: <cause>"."""
        out = []
        for g in self.groups:
            verb = "could not run" if g.status is CheckStatus.NOT_RUN else "ran only in part"
            noun = "check" if self.total == 1 else "checks"
            out.append(f"{g.count} of {self.total} {noun} {verb}: {g.cause}")
        return out

    def summary(self) -> str:
        """One line: how many checks ran."""
        ran = len(self.ran)
        if ran == self.total:
            return f"all {self.total} checks ran"
        return f"{ran} of {self.total} checks ran fully"

    def missing_for(self, threshold: Severity) -> tuple[str, ...]:
        """Checks that did not run fully and could have reported `threshold` or worse."""
        out = []
        for c in self.checks:
            if c.status is CheckStatus.RAN:
                continue
            # A detector may declare the most severe finding it can give; without a declaration
            # it is assumed able to give any severity (the conservative choice for a CI gate).
            top = _max_severity(c.check)
            if top.rank >= threshold.rank:
                out.append(c.check)
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        """Serialise for the JSON report (`coverage`)."""
        return {
            "total": self.total,
            "ran": len(self.ran),
            "complete": self.complete,
            "summary": self.summary(),
            "checks": [
                {
                    "check": c.check,
                    "status": c.status.value,
                    "cause": c.cause,
                    "requires": list(c.requires),
                }
                for c in self.checks
            ],
            "not_run": [
                {
                    "cause": g.cause,
                    "status": g.status.value,
                    "count": g.count,
                    "checks": list(g.checks),
                }
                for g in self.groups
            ],
            "failed_lookups": [
                {"cause": g.cause, "count": g.count, "examples": list(g.examples)}
                for g in self.lookups
            ],
        }


@dataclass(frozen=True)
class Assessment:
    """Verdicts, coverage and the known/unknown statements for one investigation."""

    verdicts: tuple[ReleaseVerdict, ...]
    """Every release, most urgent first, then in history order."""
    coverage: Coverage
    known: tuple[str, ...]
    unknown: tuple[str, ...]
    notes_summary: str
    """The case's notes collapsed to one line (empty when there are none)."""

    def attention(self) -> tuple[ReleaseVerdict, ...]:
        """Releases that are suspicious or inconsistent."""
        return tuple(v for v in self.verdicts if v.verdict.rank <= Verdict.INCONSISTENT.rank)

    def counts(self) -> dict[str, int]:
        """Number of releases per verdict (every verdict present, in order)."""
        out = {v.value: 0 for v in Verdict}
        for v in self.verdicts:
            out[v.verdict.value] += 1
        return out

    def unknown_groups(self) -> list[tuple[str, list[str]]]:
        """Unknown releases grouped by their reason: (reason, versions)."""
        groups: dict[str, list[str]] = defaultdict(list)
        for v in self.verdicts:
            if v.verdict is Verdict.UNKNOWN:
                groups[v.reasons[0]].append(v.version)
        return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


class _Investigated(Protocol):
    """What `assess` reads (an `Investigation`, or a fleet scan's per-project result)."""

    @property
    def timeline(self) -> Timeline: ...
    @property
    def findings(self) -> tuple[Finding, ...]: ...
    @property
    def skipped(self) -> tuple[Skipped, ...]: ...
    @property
    def sources(self) -> Mapping[str, Mapping[str, Any]]: ...
    @property
    def simulated(self) -> bool: ...
    @property
    def notes(self) -> tuple[str, ...]: ...
    @property
    def problems(self) -> tuple[str, ...]: ...


def assess(inv: _Investigated) -> Assessment:
    """Verdicts, coverage and known/unknown statements of an investigation."""
    coverage = check_coverage(inv.skipped, inv.sources, inv.timeline)
    verdicts = release_verdicts(inv.timeline, inv.findings, simulated=inv.simulated)
    known, unknown = knowledge(inv, coverage)
    return Assessment(verdicts, coverage, known, unknown, notes_summary(inv.notes))


# --- verdicts ---------------------------------------------------------------------------------

_TITLES = {d.info.id: d.info.title for d in DETECTORS}


def _plain(title: str) -> str:
    return title[:1].lower() + title[1:] if title[:2] != title[:2].upper() else title


def _yank(rel: ReleaseView) -> tuple[bool, tuple[str, ...]]:
    yanked = bool(rel.files) and all(fv.dist.yanked for fv in rel.files)
    reasons = tuple(
        sorted(
            {fv.dist.yanked_reason for fv in rel.files if fv.dist.yanked and fv.dist.yanked_reason}
        )
    )
    return yanked, reasons


def _trust(rel: ReleaseView, simulated: bool) -> Trust:
    if simulated:
        return Trust.SIMULATED
    verified = any(fv.provenance.status is ProvenanceStatus.VERIFIED for fv in rel.files) or any(
        rec.log_entry.verified for rec in rel.recovered
    )
    return Trust.VERIFIED if verified else Trust.REPORTED


def _state_reason(rel: ReleaseView) -> str:
    if rel.deleted:
        source = "the transparency log" if rel.recovered else "outside reports"
        return f"no longer served by the index; known only from {source}"
    return rel.state_reason or f"provenance state {rel.state.value}"


def release_verdicts(
    timeline: Timeline, findings: Sequence[Finding], *, simulated: bool = False
) -> tuple[ReleaseVerdict, ...]:
    """One verdict per release, most urgent first, then in the order of the project's history."""
    by_version: dict[str | None, list[Finding]] = defaultdict(list)
    for f in findings:
        by_version[f.version].append(f)
    out: list[ReleaseVerdict] = []
    for rel in timeline.releases:
        found = sorted(by_version.get(rel.version, ()), key=lambda f: -f.severity.rank)
        top = found[0].severity if found else None
        reasons: list[str] = []
        detectors: list[str] = []
        for f in found:
            if f.detector in detectors:
                continue
            detectors.append(f.detector)
            reasons.append(_plain(_TITLES.get(f.detector, f.detector)))
        yanked, yank_reasons = _yank(rel)
        if top is not None and top.rank >= Severity.HIGH.rank:
            verdict = Verdict.SUSPICIOUS
        elif (top is not None and top.rank >= Severity.MEDIUM.rank) or rel.state in (
            ReleaseState.INCONSISTENT,
            ReleaseState.LOST,
            ReleaseState.CHANGED,
        ):
            # Low and info findings are leads (a version gap, a dormancy, a cold start): they
            # stay listed with the release, but alone they do not make it inconsistent.
            verdict = Verdict.INCONSISTENT
        elif rel.state is ReleaseState.UNKNOWN or rel.deleted:
            verdict = Verdict.UNKNOWN
        else:
            verdict = Verdict.CLEAN
        if rel.deleted and verdict is not Verdict.UNKNOWN:
            reasons.append("no longer served by the index")
        if verdict is Verdict.INCONSISTENT and not (top and top.rank >= Severity.MEDIUM.rank):
            reasons.append(_state_reason(rel))
        if verdict in (Verdict.UNKNOWN, Verdict.CLEAN):
            reasons.append(_state_reason(rel))
        if yanked:
            reasons.append(
                "yanked"
                + (f" ({'; '.join(yank_reasons)})" if yank_reasons else " (no reason given)")
            )
        out.append(
            ReleaseVerdict(
                version=rel.version,
                verdict=verdict,
                reasons=tuple(reasons),
                trust=_trust(rel, simulated),
                severity=top,
                detectors=tuple(detectors),
                first_upload=rel.first_upload,
                deleted=rel.deleted,
                yanked=yanked,
                yanked_reasons=yank_reasons,
                state=rel.state.value,
            )
        )
    order = {rel.version: i for i, rel in enumerate(timeline.releases)}
    out.sort(key=lambda v: (v.verdict.rank, order[v.version]))
    return tuple(out)


# --- coverage ---------------------------------------------------------------------------------

#: Pseudo-checks under which analysis records failed lookups (one `Skipped` per lookup).
_LOOKUP_SOURCES = {"transparency-log": Requirement.REKOR, "github": Requirement.GITHUB}
_SOURCE_NAMES = {Requirement.REKOR: "transparency log", Requirement.GITHUB: "GitHub"}


def _max_severity(check: str) -> Severity:
    for d in DETECTORS:
        if d.info.id == check:
            declared = getattr(d.info, "max_severity", None)
            return declared if isinstance(declared, Severity) else Severity.CRITICAL
    return Severity.CRITICAL


def lookup_cause(problem: str) -> str:
    """The cause of one failed lookup, without the subject it was about.

    "search sha256:0ace… could not be checked: log unreachable" and the same for another digest
    share the cause "log unreachable"; parenthesised details (addresses, retries) are dropped.
    """
    for sep in (" could not be checked: ", " was not collected"):
        if sep in problem:
            _, _, tail = problem.partition(sep)
            cause = tail or "not collected"
            break
    else:
        _, _, cause = problem.partition(": ")
        cause = cause or problem
    return re.sub(r"\s*\(.*\)\s*$", "", cause, flags=re.DOTALL).strip() or problem


def _group_lookups(skipped: Iterable[Skipped]) -> dict[str, list[tuple[str, str]]]:
    """source -> [(cause, problem)] for the failed lookups."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for s in skipped:
        if s.detector in _LOOKUP_SOURCES:
            out[s.detector].append((lookup_cause(s.reason), s.reason))
    return out


def check_coverage(
    skipped: Sequence[Skipped], sources: Mapping[str, Mapping[str, Any]], timeline: Timeline
) -> Coverage:
    """Which registered checks ran, which ran in part and which could not run, and why."""
    skip_reason = {s.detector: s.reason for s in skipped if s.detector not in _LOOKUP_SOURCES}
    lookups = _group_lookups(skipped)
    # a source that was named but had nothing to answer for (no attested commit to ask GitHub
    # about) leaves its checks with nothing to check: that is "could not run", not "ran clean"
    attested = any(rel.publishers or rel.recovered for rel in timeline.releases)
    checks: list[CheckCoverage] = []
    for d in DETECTORS:
        cid = d.info.id
        requires = tuple(sorted(r.value for r in d.info.requires))
        if cid in skip_reason:
            checks.append(CheckCoverage(cid, CheckStatus.NOT_RUN, skip_reason[cid], requires))
            continue
        cause = ""
        status = CheckStatus.RAN
        if Requirement.GITHUB in d.info.requires and not attested:
            status = CheckStatus.NOT_RUN
            cause = "no attested commit, run or tag to ask GitHub about"
            pep = sources.get("index", {}).get("pep740")
            if pep not in (None, "yes"):
                reason = sources.get("index", {}).get("pep740_reason") or "no PEP 740"
                cause += f" ({reason})"
        else:
            for source, req in _LOOKUP_SOURCES.items():
                failed = lookups.get(source)
                if req in d.info.requires and failed:
                    causes = sorted({c for c, _ in failed})
                    # every lookup failing for want of a connection means the check had no data
                    unreachable = all("unreachable" in c for c in causes)
                    status = CheckStatus.NOT_RUN if unreachable else CheckStatus.PARTIAL
                    cause = (
                        f"the {_SOURCE_NAMES[req]} could not be reached "
                        f"({len(failed)} lookups failed)"
                        if unreachable
                        else f"{len(failed)} {_SOURCE_NAMES[req]} lookup"
                        f"{'s' if len(failed) != 1 else ''} failed: {'; '.join(causes)}"
                    )
                    break
        checks.append(CheckCoverage(cid, status, cause, requires))
    if sources.get("case", {}).get("complete") is False:
        # Some requests of the collection got no final answer: every check worked on part of
        # the evidence, so none may count as having run fully (a gate must not pass on it).
        partial = (
            "the case's collection is incomplete: some requests got no final answer "
            "(re-run the same collection to resume it)"
        )
        checks = [
            replace(c, status=CheckStatus.PARTIAL, cause=partial)
            if c.status is CheckStatus.RAN
            else c
            for c in checks
        ]
    grouped: dict[tuple[str, CheckStatus], list[str]] = defaultdict(list)
    for c in checks:
        if c.status is not CheckStatus.RAN:
            grouped[(c.cause, c.status)].append(c.check)
    groups = tuple(
        CauseGroup(cause, status, tuple(ids), len(ids))
        for (cause, status), ids in sorted(
            grouped.items(), key=lambda kv: (-len(kv[1]), kv[0][1].value, kv[0][0])
        )
    )
    lookup_groups: list[CauseGroup] = []
    for source, items in sorted(lookups.items()):
        by_cause: dict[str, list[str]] = defaultdict(list)
        for cause, problem in items:
            by_cause[cause].append(problem)
        for cause, problems in sorted(by_cause.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lookup_groups.append(
                CauseGroup(
                    f"{source}: {cause}",
                    CheckStatus.PARTIAL,
                    (source,),
                    len(problems),
                    tuple(problems[:3]),
                )
            )
    return Coverage(tuple(checks), groups, tuple(lookup_groups))


# --- what is known / unknown ------------------------------------------------------------------


def _when(t: datetime | None) -> str:
    return isoformat(t) or "an unknown time"


def notes_summary(notes: Sequence[str]) -> str:
    """The case's notes as one line: how many, and how many describe simulated values."""
    if not notes:
        return ""
    simulated = sum(1 for n in notes if n.startswith("simulated:"))
    other = len(notes) - simulated
    parts = []
    if simulated:
        parts.append(f"{simulated} simulated aspect{'s' if simulated != 1 else ''}")
    if other:
        parts.append(f"{other} other note{'s' if other != 1 else ''}")
    return f"the case records {' and '.join(parts)}"


def knowledge(inv: _Investigated, coverage: Coverage) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Plain statements of what the evidence shows, and of what it cannot tell."""
    known: list[str] = []
    unknown: list[str] = []
    releases = inv.timeline.releases
    served = [r for r in releases if r.files]
    files = [fv for r in served for fv in r.files]
    verified = [fv for fv in files if fv.provenance.status is ProvenanceStatus.VERIFIED]
    publishers = sorted({p for r in served for p in r.publishers})
    ran = set(coverage.ran)
    if inv.timeline.pep740.value == "yes":
        known.append(
            f"The index serves {len(served)} release{'s' if len(served) != 1 else ''} "
            f"({len(files)} files); {len(verified)} files carry PEP 740 provenance that verifies "
            f"against the pinned trust root, from {len(publishers)} publisher "
            f"identit{'y' if len(publishers) == 1 else 'ies'}"
            + (f": {', '.join(publishers)}." if publishers else ".")
        )
    else:
        known.append(
            f"The index serves {len(served)} release{'s' if len(served) != 1 else ''} "
            f"({len(files)} files)."
        )
        unknown.append(
            "Whether any file carries provenance: "
            + (inv.timeline.pep740_reason or "the index does not serve PEP 740")
            + "."
        )
    log_checked = "reported-release-not-in-log" in ran
    for r in releases:
        if r.recovered:
            commits = sorted({e.claims.get("source_commit") or "?" for e in r.recovered})
            refs = sorted({e.claims.get("source_ref") or "?" for e in r.recovered})
            idents = sorted(
                {
                    e.claims.get("build_signer_uri") or e.claims.get("source_repository") or "?"
                    for e in r.recovered
                }
            )
            times = sorted(
                e.log_entry.integrated_time for e in r.recovered if e.log_entry.integrated_time
            )
            ok = all(e.log_entry.verified for e in r.recovered)
            n = len(r.recovered)
            span = _when(times[0]) if times else "an unknown time"
            if len(times) > 1:
                span += f" to {_when(times[-1])}"
            where = "is gone from the index, but" if r.deleted else "is served by the index, and"
            known.append(
                f"{r.version} {where} {n} log entr{'y' if n == 1 else 'ies'} (indexes "
                f"{', '.join(str(e.log_entry.log_index) for e in r.recovered)}; "
                f"{'all verified' if ok else 'NOT all verified'}) show it was signed by "
                f"{', '.join(idents)} from commit {', '.join(commits)} on {', '.join(refs)}, "
                f"integrated {span}."
            )
            untied = [e for e in r.recovered if not e.subject_sha256]
            if untied:
                unknown.append(
                    f"{r.version}: which bytes {len(untied)} of its {n} log entries signed (no "
                    "digest ties log "
                    f"entr{'y' if len(untied) == 1 else 'ies'} "
                    f"{', '.join(str(e.log_entry.log_index) for e in untied)} to a file)."
                )
        if r.deleted:
            unknown.append(
                f"{r.version}: when it was deleted and by whom (the index keeps no record of a "
                "deletion, only its absence)."
            )
        if r.reported and not r.recovered and not r.files:
            for rep in r.reported:
                tail = (
                    "; the transparency log holds no signing event with the project's identity "
                    "for it."
                    if log_checked
                    else "."
                )
                known.append(
                    f"{r.version} is reported by {rep.citation} (published {_when(rep.time)} per "
                    f"that source){tail}"
                )
            unknown.append(
                f"{r.version}: its files, their digests, and who uploaded it (every fact about "
                "it comes from the outside report)."
            )
    by_detector: dict[str, set[str]] = defaultdict(set)
    for f in inv.findings:
        by_detector[f.detector].add(f.version or "*")
    for detector, versions in sorted(by_detector.items()):
        known.append(f"Check {detector} flags {', '.join(sorted(versions))}.")
    unknown += [f"{line}." for line in coverage.headlines()]
    unknown += [
        f"{g.count} {g.cause.split(':', 1)[0]} lookup{'s' if g.count != 1 else ''} failed: "
        f"{g.cause.split(': ', 1)[-1]}."
        for g in coverage.lookups
    ]
    if inv.problems:
        unknown.append(
            f"{len(inv.problems)} record{'s' if len(inv.problems) != 1 else ''} of the case "
            "could not be parsed (listed under problems)."
        )
    if inv.simulated:
        simulated = sum(1 for n in inv.notes if n.startswith("simulated:"))
        unknown.append(
            "How much of this holds for the real incident: the case is a lab reconstruction and "
            f"records {simulated} simulated aspects (see the notes)."
        )
    return tuple(known), tuple(unknown)
