"""Detector: a release without a tag in a project that tags its releases.

A project whose releases each have a `v<version>` tag keeps doing so through its release process.
A release with provenance lost, or known only from outside reports, and without a tag, has no
matching source activity: the PyPI blog found Ultralytics 8.3.45/8.3.46 this way ("no
corresponding source repository activity").
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import InvalidVersion, Version

from forensics.collect.github_parse import github_repo
from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
    release_evidence,
)
from forensics.detectors.workflow_edited import release_claims
from forensics.models import Confidence, Finding, Severity
from forensics.timeline import ReleaseState, ReleaseView
from forensics.versions import version_from_tag

MOTIVATION = doc_paragraph(__doc__)

#: Share of attested releases that must have a tag before a missing tag means anything.
TAGGING_HABIT = 0.8


def tag_versions(tags: dict[str, str] | None) -> set[Version]:
    """Versions named by tags (`v1.2.3`, `1.2.3`, `release-1.2.3`)."""
    return {Version(v) for name in tags or {} if (v := version_from_tag(name)) is not None}


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _suspect(rel: ReleaseView) -> bool:
    return ReleaseState.LOST in rel.states or (rel.deleted and bool(rel.reported))


class MissingTag(Detector):
    """One finding per suspect release whose version no tag names."""

    info = DetectorInfo(
        id="release-without-tag",
        title="Release without provenance and without a tag, in a project that tags releases",
        requires=frozenset({Requirement.GITHUB}),
        motivation=MOTIVATION,
        caveats=f"Only applies when at least {int(TAGGING_HABIT * 100)}% of attested releases "
        "have a tag; only the first page of tags (the newest 100) is read.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Measure the tagging habit on attested releases, then check the suspect ones."""
        if ctx.github is None:
            return []
        repos = {
            r
            for rel in ctx.timeline.releases
            for claims, _ev in release_claims(rel)
            if (r := github_repo(claims.get("source_repository")))
        }
        tagged: set[Version] = set()
        for repo in repos:
            tagged |= tag_versions(dict(ctx.github.tags.get(repo, {})))
        attested = [
            v
            for rel in ctx.timeline.releases
            if rel.publishers and (v := _version(rel.version)) is not None
        ]
        if not attested or not repos:
            return []
        habit = sum(v in tagged for v in attested) / len(attested)
        if habit < TAGGING_HABIT:
            return []
        out = []
        for rel in ctx.timeline.releases:
            version = _version(rel.version)
            if version is None or not _suspect(rel) or version in tagged:
                continue
            out.append(
                self.finding(
                    severity=Severity.HIGH,
                    confidence=Confidence.MEDIUM,
                    summary=(
                        f"{rel.version} has no tag in {', '.join(sorted(repos))}, while "
                        f"{habit:.0%} of attested releases have one: no matching source activity"
                    ),
                    release=rel,
                    evidence=[
                        *(
                            ctx.github.tag_evidence[r]
                            for r in sorted(repos)
                            if r in ctx.github.tag_evidence
                        ),
                        *release_evidence(rel),
                    ],
                    values={
                        "tagging_habit": f"{habit:.2f}",
                        "repositories": ", ".join(sorted(repos)),
                    },
                )
            )
        return out
