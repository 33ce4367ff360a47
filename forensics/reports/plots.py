"""Plots for notebooks and reports. Functions take an investigation and return a matplotlib
`Figure` built with the object-oriented API (no global pyplot state), so the same figure can be
shown in a notebook or saved into a report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.dates import date2num
from matplotlib.figure import Figure

from forensics.models import Severity

if TYPE_CHECKING:
    from forensics.analysis import Investigation

STATE_COLORS = {
    "full": "#2ca02c",
    "partial": "#bcbd22",
    "none": "#7f7f7f",
    "lost": "#d62728",
    "changed": "#ff7f0e",
    "inconsistent": "#9467bd",
    "unknown": "#17becf",
}


def timeline_figure(inv: Investigation, *, width: float = 11.0) -> Figure:
    """Releases over time coloured by state; findings marked by severity; deleted ones hollow."""
    fig = Figure(figsize=(width, 4.0), layout="constrained")
    ax = fig.add_subplot()
    releases = [r for r in inv.timeline.releases if r.first_upload is not None]
    flagged: dict[str, Severity] = {}
    for f in inv.findings:
        if f.version and (f.version not in flagged or f.severity.rank > flagged[f.version].rank):
            flagged[f.version] = f.severity
    for i, rel in enumerate(releases):
        x = float(date2num(rel.first_upload))  # type: ignore[no-untyped-call]  # untyped upstream
        color = STATE_COLORS.get(rel.state.value, "black")
        ax.scatter(
            [x],
            [0],
            s=90,
            facecolors="none" if rel.deleted else color,
            edgecolors=color,
            linewidths=2,
            zorder=3,
        )
        ax.annotate(
            rel.version,
            (x, 0),
            xytext=(0, 10 + 12 * (i % 3)),
            textcoords="offset points",
            ha="center",
            fontsize=7,
            rotation=45,
        )
        sev = flagged.get(rel.version)
        if sev is not None and sev.rank >= Severity.MEDIUM.rank:
            ax.scatter(
                [x],
                [-0.3],
                marker="v",
                s=60,
                color="#d62728" if sev.rank >= Severity.HIGH.rank else "#ff7f0e",
                zorder=3,
            )
    for state, color in STATE_COLORS.items():
        if any(r.state.value == state for r in releases):
            ax.scatter([], [], color=color, label=state)
    if any(r.deleted for r in releases):
        ax.scatter([], [], facecolors="none", edgecolors="gray", linewidths=2, label="deleted")
    ax.scatter([], [], marker="v", color="#d62728", label="finding (high+)")
    ax.xaxis_date()
    ax.set_yticks([])
    ax.set_ylim(-1, 1.5)
    ax.legend(loc="upper left", fontsize=7, ncols=4, frameon=False)
    title = f"{inv.project}: release provenance timeline (as of {inv.as_of:%Y-%m-%d %H:%M} UTC)"
    if inv.simulated:
        title += " [simulated lab case]"
    ax.set_title(title, fontsize=10)
    return fig


def coverage_figure(inv: Investigation, *, width: float = 8.0) -> Figure:
    """Cumulative count of releases per state over time: when attestations were adopted or lost."""
    fig = Figure(figsize=(width, 3.5), layout="constrained")
    ax = fig.add_subplot()
    releases = [r for r in inv.timeline.releases if r.first_upload is not None]
    for state, color in STATE_COLORS.items():
        times = [
            float(date2num(r.first_upload))  # type: ignore[no-untyped-call]  # untyped upstream
            for r in releases
            if r.state.value == state
        ]
        if times:
            ax.step(times, range(1, len(times) + 1), where="post", color=color, label=state)
    ax.xaxis_date()
    ax.set_ylabel("releases (cumulative)")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"{inv.project}: provenance coverage over time", fontsize=10)
    return fig
