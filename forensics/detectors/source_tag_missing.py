"""Detector: a release its source repository does not corroborate, where the project's habit says
it should (no attestation needed: the repository is the one the index names).

When the index names a GitHub repository (`project_urls`, home page), each release can be
checked against it: is there a tag naming the version, was its commit dated before the upload,
and is there a workflow run at the tagged commit. A release uploaded with a stolen token has
none of these, or a tag pushed afterwards to cover it.

Judged against the line's habit (the project's when the line is young), with support counts: a
project that never tags gets nothing from missing tags, and one that tags half its releases gets
info. Medium needs at least five earlier releases, nine in ten of them corroborated, a complete
tag list (every page read), not a pre-release, and a gap that did not become the new normal
(a project that stops tagging for weeks changed its habit). A missing run is low at most: runs
expire and are re-run under other ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from packaging.version import Version

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
    release_evidence,
)
from forensics.models import (
    Confidence,
    Finding,
    Severity,
    SourceRepository,
    SourceRun,
    SourceTag,
)
from forensics.timeline import ReleaseView
from forensics.timeline.numeric import (
    comparable,
    history,
    human,
    is_prerelease,
    later_in_line,
    persistence,
)
from forensics.versions import parse_version

HABIT = 0.9
#: A tagged commit dated this long after the upload was not what the upload was built from.
TAG_LATE = timedelta(hours=1)
#: A run this long after the upload did not publish it.
RUN_LATE = timedelta(hours=6)


class _Source:
    """What the repository says of each release, asked once per release.

    A release is judged once for itself and once for each later release whose history holds it,
    and `SourceRepository.tags_for` (like a pass over every run) reads the whole listing each
    time: quadratic for a project that tags and builds every release. Here the tags are grouped
    by the version they name (parsed: equal versions hash alike, so this is `tags_for`'s PEP 440
    equality; None groups the tags whose version does not parse, which is what an unparsable
    version matched) and the runs by head commit and branch, once."""

    def __init__(self, source: SourceRepository) -> None:
        self.source = source
        self._by_version: dict[Version | None, list[SourceTag]] = {}
        for tag in source.tags:
            if tag.version is not None:
                self._by_version.setdefault(parse_version(tag.version), []).append(tag)
        self._by_sha: dict[str, list[SourceRun]] = {}
        self._by_branch: dict[str, list[SourceRun]] = {}
        for run in source.runs:
            self._by_sha.setdefault(run.head_sha, []).append(run)
            self._by_branch.setdefault(run.head_branch, []).append(run)
        self._tags: dict[str, tuple[SourceTag, ...]] = {}
        self._runs: dict[int, tuple[ReleaseView, bool]] = {}

    def tags_for(self, version: str) -> tuple[SourceTag, ...]:
        """`source.tags_for(version)`, in listing order."""
        tags = self._tags.get(version)
        if tags is None:
            tags = self._tags[version] = tuple(self._by_version.get(parse_version(version), ()))
        return tags

    def tagged(self, rel: ReleaseView) -> bool:
        """Does a tag name the release's version?"""
        return bool(self.tags_for(rel.version))

    def tag_after(self, rel: ReleaseView) -> bool | None:
        """True when every dated tag of the release points at a commit dated after the upload."""
        dated = [t.commit_date for t in self.tags_for(rel.version) if t.commit_date is not None]
        if not dated or rel.first_upload is None:
            return None
        return min(dated) > rel.first_upload + TAG_LATE

    def has_run(self, rel: ReleaseView) -> bool:
        """Is there a run at a commit or a branch tagged with the version, at most `RUN_LATE`
        after the upload?"""
        known = self._runs.get(id(rel))
        if known is not None and known[0] is rel:
            return known[1]
        tags = self.tags_for(rel.version)
        limit = (rel.first_upload + RUN_LATE) if rel.first_upload else None
        candidates = [r for sha in {t.sha for t in tags} for r in self._by_sha.get(sha, ())]
        candidates += [r for n in {t.name for t in tags} for r in self._by_branch.get(n, ())]
        answer = any(
            limit is None or r.created_at is None or r.created_at <= limit for r in candidates
        )
        self._runs[id(rel)] = (rel, answer)
        return answer


class SourceTagMissing(Detector):
    """Releases without the tag, tag date or run their line always had."""

    info = DetectorInfo(
        id="source-tag-missing",
        title="Release not corroborated by the source repository the index names",
        requires=frozenset({Requirement.SOURCE}),
        motivation=doc_paragraph(__doc__),
        caveats=doc_paragraph(__doc__, 2),
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """At most one finding per release, naming every missing corroboration."""
        source = ctx.timeline.source
        if source is None:
            return []
        releases = comparable(ctx.timeline.releases)
        oldest_run = min((r.created_at for r in source.runs if r.created_at), default=None)
        src = _Source(source)
        out: list[Finding] = []
        for i, rel in enumerate(releases):
            hist = history(releases, i)
            n = len(hist.releases)
            tagged = sum(1 for r in hist.releases if src.tagged(r))
            issues: list[tuple[Severity, str]] = []
            values = {
                "repository": source.repository,
                "baseline": hist.scope,
                "tagged_before": f"{tagged} of {n}",
            }
            strong = hist.warm and not is_prerelease(rel.version)
            if not src.tagged(rel) and source.tags_complete and tagged:
                kept = persistence(rel, later_in_line(releases, i), lambda r: not src.tagged(r))
                habit = tagged >= HABIT * n
                severity = (
                    Severity.MEDIUM
                    if habit and strong and not kept.settled
                    else Severity.LOW
                    if habit and hist.warm and not kept.settled
                    else Severity.INFO
                )
                text = f"no tag names {rel.version} ({tagged} of {n} earlier releases had one)"
                if kept.releases:
                    text += f"; untagged releases followed for {human(kept.span)}"
                issues.append((severity, text))
            late = src.tag_after(rel)
            if late:
                before = [r for r in hist.releases if src.tag_after(r) is False]
                habit = len(before) >= HABIT * n
                severity = Severity.MEDIUM if habit and strong else Severity.INFO
                issues.append(
                    (
                        severity,
                        f"the commit tagged {rel.version} is dated after the upload "
                        f"({len(before)} of {n} earlier tags pointed at commits dated before)",
                    )
                )
            if (
                src.tagged(rel)
                and oldest_run is not None
                and rel.first_upload is not None
                and rel.first_upload >= oldest_run
            ):
                with_run = sum(1 for r in hist.releases if src.has_run(r))
                values["runs_before"] = f"{with_run} of {n}"
                if not src.has_run(rel) and with_run >= HABIT * n and hist.warm:
                    issues.append(
                        (
                            Severity.LOW,
                            f"no workflow run at the tagged commit ({with_run} of {n} earlier "
                            "releases had one)",
                        )
                    )
            if not issues:
                continue
            severity = max((s for s, _ in issues), key=lambda s: s.rank)
            out.append(
                self.finding(
                    severity=severity,
                    confidence=Confidence.MEDIUM if severity.rank >= 2 else Confidence.LOW,
                    summary=f"{rel.version} in {source.repository}: "
                    + "; ".join(text for _, text in issues),
                    release=rel,
                    evidence=release_evidence(rel)
                    + [t.evidence for t in src.tags_for(rel.version)][:1],
                    values=values,
                    tip=(
                        "Ask the maintainers whether they published this release; compare its "
                        "files with a build of the repository at the nearest tag."
                    ),
                )
            )
        return out
