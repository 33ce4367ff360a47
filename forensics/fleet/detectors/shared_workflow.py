"""Cross-project detector: a shared (reusable) workflow changes, and several projects that sign
through it show anomalies on the releases built with the new version.

Fulcio's Build Signer URI (.9) names the workflow that ran the signing job: a reusable workflow
when a project calls one, with its digest (.10). A change of that digest is normal (the shared
workflow got a commit); the same change followed by per-project findings in several projects is
the signature of a compromised shared workflow (or action), which no single project's report can
tell from a local mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from forensics.fleet.detectors.interface import (
    FleetContext,
    FleetDetector,
    FleetDetectorInfo,
    when,
)
from forensics.models import Confidence, EvidenceRef, Finding, Severity

DEFAULT_WINDOW_DAYS = 30


class SharedWorkflowChange(FleetDetector):
    """A new digest of a shared signing workflow, followed by anomalies in several projects."""

    info = FleetDetectorInfo(
        id="shared-workflow-change",
        title="A shared workflow changed and several projects that use it show anomalies",
        motivation=(
            "Compromising one reusable workflow or action compromises every project that "
            "calls it; the change shows as a new Build Signer digest across projects."
        ),
        caveats=(
            "A deliberate migration (e.g. to self-hosted runners) rolled out through the "
            "shared workflow looks the same; check the workflow's commit at the new digest."
        ),
    )

    def run(self, ctx: FleetContext) -> Sequence[Finding]:
        """One finding per (workflow, new digest) followed by anomalies in >= 2 projects."""
        window = timedelta(
            days=int(ctx.settings.get("shared_workflow_window_days", DEFAULT_WINDOW_DAYS))
        )
        uses: dict[str, list[tuple[datetime, str, str, str, tuple[EvidenceRef, ...]]]] = {}
        for p in ctx.projects:
            for rel in p.releases:
                if rel.first_upload is None:
                    continue
                for s in rel.signers:
                    if s.build_signer and s.build_signer_digest:
                        uses.setdefault(s.build_signer, []).append(
                            (
                                rel.first_upload,
                                p.project,
                                rel.version,
                                s.build_signer_digest,
                                s.evidence,
                            )
                        )
        anomalies = {p.project: p.anomalies() for p in ctx.projects}
        out = []
        for uri in sorted(uses):
            events = sorted(uses[uri], key=lambda e: e[:4])
            if len({e[1] for e in events}) < 2:
                continue  # not shared
            seen: set[str] = set()
            for t0, _, _, digest, _ in events:
                if digest in seen:
                    continue
                first_use = not seen
                seen.add(digest)
                if first_use:
                    continue
                hit = [
                    e
                    for e in events
                    if e[3] == digest and t0 <= e[0] <= t0 + window and e[2] in anomalies[e[1]]
                ]
                projects = sorted({e[1] for e in hit})
                if len(projects) < 2:
                    continue
                items = "; ".join(
                    f"{name} {version} ({when(t)}): "
                    + ", ".join(sorted({f.detector for f in anomalies[name][version]}))
                    for t, name, version, _, _ in hit
                )
                out.append(
                    self.finding(
                        severity=Severity.HIGH,
                        confidence=Confidence.MEDIUM,
                        summary=(
                            f"the shared workflow {uri} changed to digest {digest[:12]} on "
                            f"{when(t0)}; {len(projects)} projects built with it show "
                            f"anomalies: {items}"
                        ),
                        subject=f"shared-workflow-change:{uri}@{digest}",
                        evidence=[r for e in hit for r in e[4]],
                        values={
                            "workflow": uri,
                            "digest": digest,
                            "changed": when(t0),
                            "projects": ", ".join(projects),
                        },
                        tip=(
                            "Read the shared workflow at the new digest; pin callers to the last "
                            "good digest until it is understood."
                        ),
                    )
                )
        return out
