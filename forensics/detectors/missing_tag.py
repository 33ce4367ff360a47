"""Detector: a release without a tag in a release line that tags its releases.

A project whose releases each have a `v<version>` tag keeps doing so through its release process.
A release without a tag has no matching source activity: the PyPI blog found Ultralytics
8.3.45/8.3.46 this way ("no corresponding source repository activity"). The baseline is the
tagging of the earlier releases of the line (its tag naming, with support); without attestations
as well, the release is high; an attested release without a tag is low (tags get deleted).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
    release_evidence,
)
from forensics.models import Confidence, Finding, Severity
from forensics.timeline import Channel
from forensics.timeline.baseline import (
    MISSING,
    Attribute,
    Strength,
    deviations,
    grade,
    tag_value,
)

MOTIVATION = doc_paragraph(__doc__)


class MissingTag(Detector):
    """One finding per release whose version no tag names, against a tagging baseline."""

    info = DetectorInfo(
        id="release-without-tag",
        title="Release without a tag, in a release line that tags its releases",
        requires=frozenset({Requirement.GITHUB}),
        motivation=MOTIVATION,
        caveats="Tags are deleted and re-created; GitHub lists 100 tags a page, and releases "
        "older than a full first page are not judged.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Judge each release's tag against the line's tagging baseline."""
        tl = ctx.timeline
        attr = Attribute(
            "tag", "tagged", Strength.INDEX, Severity.HIGH, partial(tag_value, timeline=tl)
        )
        repos = sorted(tl.tags)
        out = []
        for dev in deviations(tl.releases, attr):
            rel = dev.release
            if dev.value != MISSING:
                if MISSING in {v for v, _n in dev.expected}:
                    continue  # tagged where the baseline did not always tag: nothing to say
                out.append(
                    self.finding(
                        severity=min(grade(dev), Severity.LOW, key=lambda s: s.rank),
                        confidence=Confidence.LOW,
                        summary=f"{rel.version}: tag naming changed: {dev.comparison()}",
                        release=rel,
                        evidence=[tl.tag_evidence[r] for r in repos if r in tl.tag_evidence],
                        values={**dev.values(), "repositories": ", ".join(repos)},
                        tip="A new tag scheme is usually a deliberate change; check that the "
                        "tag was pushed by a maintainer.",
                    )
                )
                continue
            signed = rel.channel is Channel.TRUSTED_PUBLISHING
            severity = grade(dev, Severity.LOW if signed else Severity.HIGH)
            if not signed and not dev.cold:
                severity = max(severity, Severity.MEDIUM, key=lambda s: s.rank)
            out.append(
                self.finding(
                    severity=severity,
                    confidence=Confidence.MEDIUM,
                    summary=(
                        f"{rel.version} has no tag in {', '.join(repos)}: {dev.comparison()}"
                        + ("" if signed else "; and it carries no attestation either")
                    ),
                    release=rel,
                    evidence=[
                        *(tl.tag_evidence[r] for r in repos if r in tl.tag_evidence),
                        *release_evidence(rel),
                    ],
                    values={**dev.values(), "repositories": ", ".join(repos)},
                    tip="Look for the release's source: a tag, a commit bumping the version, a "
                    "workflow run; none of them means the upload came from outside the project.",
                )
            )
        return out
