"""Detector: the Trusted Publisher (kind, repository, workflow) leaves the release line's baseline.

Triage uses GitHub's repository ID (Fulcio claim .15), which survives renames and transfers but
not deletion: a new repository name with the same ID is a rename or transfer (benign, low); the
same repository with another workflow is a workflow change inside the project (medium, unless a
tagged commit by an earlier release author renames the workflow); anything else is a different
repository signing (high). Files of one release attested by several publishers are reported too.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    claim_evidence,
    doc_paragraph,
    release_evidence,
)
from forensics.models import Confidence, Finding, Severity
from forensics.timeline import ReleaseState
from forensics.timeline.baseline import (
    MISSING,
    Attribute,
    Deviation,
    Strength,
    attribute,
    backport,
    corroboration,
    deviations,
    grade,
)

MOTIVATION = doc_paragraph(__doc__)
ATTRIBUTES = ("publisher_kind", "repository", "workflow")


def triage(dev: Deviation) -> tuple[str, bool]:
    """(why, explained) from what the repository id and the release commit say."""
    rel = dev.release
    rid_attr = attribute("repository_id")
    rid = rid_attr.read(rel)
    before_ids = dev.earlier_values(rid_attr) - {MISSING}
    name = dev.attribute.name
    if name == "repository":
        if rid and rid != MISSING and rid in before_ids:
            return "same repository id under a new name: a rename or transfer", True
        if not before_ids or not rid or rid == MISSING:
            return "no repository id to tell a rename from a new repository", False
        return "a different repository (new repository id) signs", False
    if name == "workflow":
        commit = rel.commit
        old = {v for v, _n in dev.expected}
        if commit is not None:
            renamed = [w for w in old if any(f.endswith("/" + w) for f in commit.files)]
            if renamed and any(f.endswith("/" + dev.value) for f in commit.files):
                why = corroboration(rel, dev.earlier)
                if why:
                    return f"the release commit renames {renamed[0]} to {dev.value}; {why}", True
                return (
                    f"the release commit renames {renamed[0]} to {dev.value}, but is not a "
                    "tagged commit of an earlier release author",
                    False,
                )
        newer = backport(rel, dev.earlier)
        why = corroboration(rel, dev.earlier) if newer else None
        if why:
            return f"a backport published after {newer}, by its branch's workflow; {why}", True
        return "same repository, another workflow: a rename, or a new workflow pushed to it", False
    return "another kind of publisher (CI provider) signs", False


class PublisherChanged(Detector):
    """Releases whose publisher leaves the baseline, and releases attested by several."""

    info = DetectorInfo(
        id="publisher-changed",
        title="Publisher identity leaves the baseline, or differs within a release",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats="Repository transfers and workflow renames are benign causes, and reported low "
        "when the repository id or a tagged rename commit shows them.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """One finding per publisher change (at the transition) or multi-publisher release."""
        out: list[Finding] = []
        for name in ATTRIBUTES:
            devs = deviations(
                ctx.timeline.releases, attribute(name), explained=lambda d: triage(d)[1]
            )
            for dev in devs:
                why, explained = triage(dev)
                base = Severity.MEDIUM if name == "workflow" and not explained else None
                if name == "repository" and "new repository id" in why:
                    base = Severity.HIGH
                out.append(
                    self.finding(
                        severity=grade(dev, base, explained=explained),
                        confidence=Confidence.MEDIUM if not dev.cold else Confidence.LOW,
                        summary=f"{dev.release.version}: publisher {name.replace('_', ' ')} "
                        f"changed: {dev.comparison()}; {why}",
                        release=dev.release,
                        evidence=claim_evidence(dev.release),
                        values={**dev.values(), "triage": why},
                        tip="A repository transfer or workflow rename explains this; an "
                        "unannounced new repository or workflow does not.",
                    )
                )
        # several publishers in one release: unusual only where the line did not do it before
        # (projects register one publisher for the sdist and one for native wheels)
        sets = Attribute(
            "publisher_set",
            "attested by the publishers",
            Strength.CERTIFICATE,
            Severity.MEDIUM,
            lambda r: " + ".join(sorted(r.publishers)) if r.publishers else None,
        )
        by_version = {d.release.version: d for d in deviations(ctx.timeline.releases, sets)}
        # the first release with a publisher, once (not a pass over the earlier releases each)
        first_signed = next(
            (i for i, r in enumerate(ctx.timeline.releases) if r.publishers),
            len(ctx.timeline.releases),
        )
        for i, rel in enumerate(ctx.timeline.releases):
            if ReleaseState.INCONSISTENT not in rel.states or len(rel.publishers) < 2:
                continue
            multi = by_version.get(rel.version)
            if multi is None:
                first = first_signed >= i  # (versions are unique: `rel` is at `i` only)
                severity = Severity.INFO
                why = (
                    "no earlier attested release to compare with"
                    if first
                    else "the same publishers attested earlier releases of the line too"
                )
            else:
                severity, why = grade(multi), multi.comparison()
            out.append(
                self.finding(
                    severity=severity,
                    confidence=Confidence.HIGH,
                    summary=(
                        f"{rel.version}: files attested by {len(rel.publishers)} different "
                        f"publishers: {', '.join(sorted(rel.publishers))}; {why}"
                    ),
                    release=rel,
                    evidence=release_evidence(rel),
                    values={
                        "publishers": ", ".join(sorted(rel.publishers)),
                        **(multi.values() if multi else {}),
                    },
                    tip="One release process usually signs every file of a release; find out "
                    "which publisher uploaded which file.",
                )
            )
        return out
