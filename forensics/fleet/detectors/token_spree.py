"""Cross-project detector: many projects publishing through the token channel within hours, each
after an attested history (a stolen-token spree, or a worm publishing with maintainers' tokens).

One project losing its attestations is `provenance-lost` in that project's own report; the fleet
adds what no single project shows: that it happened to several projects at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from forensics.fleet.detectors.interface import (
    FleetContext,
    FleetDetector,
    FleetDetectorInfo,
    ProjectSummary,
    ReleaseSummary,
    when,
)
from forensics.models import Confidence, Finding, Severity

DEFAULT_WINDOW_HOURS = 48
DEFAULT_MIN_PROJECTS = 3


def token_releases(p: ProjectSummary) -> list[ReleaseSummary]:
    """Releases uploaded without attestations after at least one attested release."""
    if p.pep740 != "yes":
        return []
    out, seen_attested = [], False
    for rel in p.releases:
        if rel.attested:
            seen_attested = True
        elif seen_attested and rel.first_upload is not None and rel.state in ("lost", "none"):
            out.append(rel)
    return out


class TokenSpree(FleetDetector):
    """Clusters of token uploads across projects that used to attest."""

    info = FleetDetectorInfo(
        id="token-spree",
        title="Several projects published through the token channel within a short window",
        motivation=(
            "Campaigns that steal upload tokens (or worms that reuse maintainers' tokens) publish "
            "many projects within hours; each project alone looks like a manual upload."
        ),
        caveats=(
            "An organisation's CI outage or a deliberate switch to token uploads across its "
            "projects looks the same: check who owns the projects and whether tags exist."
        ),
    )

    def run(self, ctx: FleetContext) -> Sequence[Finding]:
        """One finding per cluster of at least `min_projects` projects within the window."""
        window = timedelta(
            hours=int(ctx.settings.get("token_spree_window_hours", DEFAULT_WINDOW_HOURS))
        )
        least = int(ctx.settings.get("token_spree_min_projects", DEFAULT_MIN_PROJECTS))
        events: list[tuple[datetime, str, ReleaseSummary]] = []
        for p in ctx.projects:
            for rel in token_releases(p):
                assert rel.first_upload is not None  # token_releases keeps dated releases only
                events.append((rel.first_upload, p.project, rel))
        events.sort(key=lambda e: (e[0], e[1], e[2].version))
        out, i = [], 0
        while i < len(events):
            start = events[i][0]
            j = i
            while j < len(events) and events[j][0] - start <= window:
                j += 1
            cluster = events[i:j]
            projects = sorted({e[1] for e in cluster})
            if len(projects) >= least:
                out.append(self._finding(cluster, projects, window))
                i = j
            else:
                i += 1
        return out

    def _finding(
        self,
        cluster: list[tuple[datetime, str, ReleaseSummary]],
        projects: list[str],
        window: timedelta,
    ) -> Finding:
        first, last = cluster[0][0], cluster[-1][0]
        items = ", ".join(f"{name} {rel.version} ({when(t)})" for t, name, rel in cluster)
        return self.finding(
            severity=Severity.CRITICAL,
            confidence=Confidence.MEDIUM,
            summary=(
                f"{len(projects)} projects that used to publish with attestations uploaded "
                f"releases without them between {when(first)} and {when(last)}: {items}"
            ),
            subject="token-spree:" + when(first),
            evidence=[e for _, _, rel in cluster for e in rel.evidence],
            values={
                "projects": ", ".join(projects),
                "releases": str(len(cluster)),
                "first": when(first),
                "last": when(last),
                "window_hours": str(int(window.total_seconds() // 3600)),
            },
            tip=(
                "Revoke and rotate the upload tokens of every project named; check each "
                "release for a matching tag and workflow run, and compare the uploaded files."
            ),
        )
