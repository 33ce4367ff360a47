"""Detector: fine-grained certificate claims differ from the baseline of the release's line.

PyPI compares only publisher kind, repository and workflow filename. A same-repository compromise
(Ultralytics 8.3.41) keeps those, so we also compare the claims an attacker is likely to change
or cannot control: ref pattern, trigger, deployment environment, runner, repository and owner IDs
(a changed ID under an unchanged name means the repository was deleted and re-created), visibility
and issuer. Each release is compared with the earlier releases of its line (not its predecessor),
a claim that disappears is a change, and a change that persists is reported once.
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
)
from forensics.models import Confidence, Finding
from forensics.timeline.baseline import (
    IDENTITY,
    MISSING,
    Deviation,
    attribute,
    backport,
    corroboration,
    deviations,
    grade,
)

#: Attributes `publisher-changed` judges (the identity PyPI itself compares).
PUBLISHER_ATTRIBUTES = frozenset({"publisher_kind", "repository", "workflow"})
COMPARED = tuple(a for a in IDENTITY if a.name not in PUBLISHER_ATTRIBUTES)

MOTIVATION = doc_paragraph(__doc__)


def explain(dev: Deviation) -> str | None:
    """A benign cause the timeline shows for a claim change, or None."""
    if dev.attribute.name == "owner_id":
        rid = attribute("repository_id").read(dev.release)
        if rid and rid != MISSING and rid in dev.earlier_values(attribute("repository_id")):
            return "the repository id is unchanged: a transfer to a new owner"
    if dev.transition:
        return corroboration(dev.release, dev.earlier)
    if (newer := backport(dev.release, dev.earlier)) is not None:
        why = corroboration(dev.release, dev.earlier)
        return f"a backport published after {newer}; {why}" if why else None
    return None


class ClaimDrift(Detector):
    """One finding per release per claim that leaves its line's baseline."""

    info = DetectorInfo(
        id="claim-drift",
        title="Certificate claims differ from the baseline of the release line",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats="Planned CI migrations change runners and environments: a change that persists, "
        "made in a tagged commit by an earlier release author, is reported at low severity, and "
        "so is a backport (a version below one already published) made that way; a repository "
        "transfer keeps the repository id and is low too.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Judge every compared claim of every attested release against its baseline."""
        return [
            self._finding(dev)
            for attr in COMPARED
            for dev in deviations(
                ctx.timeline.releases, attr, explained=lambda d: explain(d) is not None
            )
        ]

    def _finding(self, dev: Deviation) -> Finding:
        rel, name = dev.release, dev.attribute.name
        explanation = explain(dev)
        label = name.replace("_", " ")
        what = f"the {label} claim disappeared" if dev.value == MISSING else f"{label} changed"
        summary = f"{rel.version}: {what}: {dev.comparison()}"
        if explanation:
            summary += f"; explained: {explanation}"
        if dev.cold:
            confidence = Confidence.LOW
        elif dev.dominant_share == 1 and dev.support >= 3:
            confidence = Confidence.HIGH
        else:
            confidence = Confidence.MEDIUM
        return self.finding(
            severity=grade(dev, explained=explanation is not None),
            confidence=confidence,
            summary=summary,
            release=rel,
            evidence=claim_evidence(rel),
            values={**dev.values(), "claim": name, "explanation": explanation or ""},
            tip="Compare the release's certificate with the baseline's: a planned change shows "
            "up in a tagged commit and persists; an unannounced one is worth asking the "
            "maintainers about.",
        )
