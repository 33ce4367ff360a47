"""Plots for notebooks and reports: the forensic timeline and provenance coverage.

Functions take an investigation and return a matplotlib `Figure` built with the object-oriented
API (no global pyplot state), so the same figure is shown in a notebook, saved into the HTML
report (as SVG with hover titles, see `timeline_marks`) or written to a file.

The timeline has four swimlanes, after plaso/Timesketch's split of "which clock says what":
source (commits, tags, workflow runs), signing (certificate validity, SCT, log integration),
index (each file's upload, yanks, deletions) and outside reports. One release's events are joined
by a thin line; releases with a verdict other than `clean` are highlighted and labelled. The main
panel zooms on the incident window (the releases that need attention); a strip underneath shows
the whole history with that window shaded. Every kind of mark is ONE draw call, whatever the
number of releases (botocore has 2,500+), and legend entries are the drawn artists themselves, so
their colours cannot drift from the marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from matplotlib.collections import LineCollection
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, get_epoch
from matplotlib.figure import Figure

from forensics.models import isoformat, utc
from forensics.reports.sanitize import visible
from forensics.verdict import Verdict, release_verdicts

if TYPE_CHECKING:
    from forensics.analysis import Investigation
    from forensics.timeline import TimelineEvent

STATE_COLORS = {
    "full": "#2ca02c",
    "partial": "#bcbd22",
    "none": "#7f7f7f",
    "lost": "#d62728",
    "changed": "#ff7f0e",
    "inconsistent": "#9467bd",
    "unknown": "#17becf",
}
VERDICT_COLORS = {
    Verdict.SUSPICIOUS: "#d62728",
    Verdict.INCONSISTENT: "#ff7f0e",
    Verdict.UNKNOWN: "#7f7f7f",
    Verdict.CLEAN: "#2ca02c",
}
LANES = ("source", "signing", "index", "reports")
_LANE_Y = {name: len(LANES) - 1 - i for i, name in enumerate(LANES)}

#: kind -> (lane, offset inside the lane, marker, colour, legend label)
_KINDS: dict[str, tuple[str, float, str, str, str]] = {
    "commit": ("source", 0.18, "h", "#8c564b", "commit"),
    "tag": ("source", 0.0, "^", "#17becf", "tag"),
    "workflow_run": ("source", -0.18, "s", "#9467bd", "workflow run"),
    "certificate_issued": ("signing", 0.18, "|", "#8c564b", "certificate issued"),
    "certificate_expired": ("signing", 0.18, "|", "#c49c94", "certificate expired"),
    "sct": ("signing", 0.0, "x", "#e377c2", "SCT (CT log)"),
    "log_integrated": ("signing", -0.18, "D", "#2ca02c", "log integration"),
    "log_integrated_unlisted": ("signing", -0.18, "D", "#d62728", "log entry, file not on index"),
    "uploaded": ("index", 0.0, "o", "#1f77b4", "file upload"),
    "yanked": ("index", 0.18, "v", "#ff7f0e", "yanked"),
    "deleted": ("index", -0.18, "X", "#7f7f7f", "deleted"),
    "reported": ("reports", 0.0, "*", "#d62728", "outside report"),
}


def _kind_style(kind: str) -> tuple[str, float, str, str, str]:
    """Style of a kind; kinds added later are placed by their name."""
    if kind in _KINDS:
        return _KINDS[kind]
    low = kind.lower()
    for word, lane in (
        ("commit", "source"),
        ("tag", "source"),
        ("run", "source"),
        ("workflow", "source"),
        ("cert", "signing"),
        ("log", "signing"),
        ("sign", "signing"),
        ("report", "reports"),
        ("intel", "reports"),
    ):
        if word in low:
            return (lane, 0.09, "P", "#bcbd22", kind.replace("_", " "))
    return ("index", 0.09, "P", "#bcbd22", kind.replace("_", " "))


@dataclass(frozen=True)
class Mark:
    """One drawn point, with what a hover title says about it."""

    kind: str
    version: str | None
    time: datetime
    title: str


def _epoch() -> datetime:
    epoch = datetime.fromisoformat(get_epoch())  # type: ignore[no-untyped-call]  # untyped
    return epoch.replace(tzinfo=UTC) if epoch.tzinfo is None else epoch


def _num(t: datetime) -> float:
    """matplotlib's date number (days since its epoch), without `date2num`'s per-call numpy
    round trip: with 40,000 marks that round trip was a third of the HTML report's time."""
    return (utc(t) - _epoch()).total_seconds() / 86_400.0


#: Flagged releases further apart than this belong to different incidents.
INCIDENT_GAP = timedelta(days=30)


def _cluster(focus: Sequence[datetime]) -> list[datetime]:
    """The incident to zoom on: the largest group of flagged times (the latest on a tie)."""
    ordered = sorted(focus)
    groups: list[list[datetime]] = [[ordered[0]]]
    for t in ordered[1:]:
        if t - groups[-1][-1] > INCIDENT_GAP:
            groups.append([])
        groups[-1].append(t)
    return max(reversed(groups), key=len)


def _window(
    times: Sequence[datetime], focus: Sequence[datetime]
) -> tuple[datetime, datetime] | None:
    """The incident window: the flagged releases' events, padded; None = the whole history."""
    if not focus or not times:
        return None
    cluster = _cluster(focus)
    lo, hi = min(cluster), max(cluster)
    span = max(hi - lo, timedelta(days=1))
    pad = max(span * 0.6, timedelta(days=2))
    lo, hi = lo - pad, hi + pad
    if lo <= min(times) and hi >= max(times):
        return None
    return lo, hi


def timeline_marks(
    inv: Investigation, *, width: float = 12.0
) -> tuple[Figure, dict[str, list[Mark]]]:
    """The timeline figure and, per scatter `gid`, its marks in drawing order (for SVG titles)."""
    verdicts = {
        v.version: v for v in release_verdicts(inv.timeline, inv.findings, simulated=inv.simulated)
    }
    events: list[TimelineEvent] = list(inv.timeline.events)
    deleted = {r.version for r in inv.timeline.releases if r.deleted}
    # index facts the event list does not carry as events: yanks (PyPI keeps no yank time, so
    # the mark sits at the file's upload, and its title says so)
    yank_marks = [
        Mark(
            "yanked",
            rel.version,
            fv.dist.upload_time,
            f"{rel.version}: {fv.dist.filename} yanked"
            + (f" ({fv.dist.yanked_reason})" if fv.dist.yanked_reason else "")
            + "; time shown is its upload (the index records no yank time)",
        )
        for rel in inv.timeline.releases
        for fv in rel.files
        if fv.dist.yanked and fv.dist.upload_time is not None
    ]
    all_times = [e.time for e in events] + [
        r.first_upload for r in inv.timeline.releases if r.first_upload
    ]
    flagged = [v for v in verdicts.values() if v.verdict is not Verdict.CLEAN]
    urgent = [v for v in flagged if v.verdict.rank <= Verdict.INCONSISTENT.rank] or flagged
    focus_versions = {v.version for v in urgent}
    focus = [e.time for e in events if e.version in focus_versions] + [
        v.first_upload for v in urgent if v.first_upload
    ]
    window = _window(all_times, focus) if len(urgent) < len(verdicts) else None

    fig = Figure(figsize=(width, 5.2), layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=(5, 1))
    ax = fig.add_subplot(grid[0])
    strip = fig.add_subplot(grid[1])

    def shown(t: datetime) -> bool:
        return window is None or window[0] <= t <= window[1]

    # group marks by kind: one scatter per kind (filled) and one for hollow (deleted releases)
    by_gid: dict[str, list[Mark]] = {}
    styles: dict[str, tuple[str, float, str, str, str, bool]] = {}
    for e in events:
        if not shown(e.time):
            continue
        hollow = e.version in deleted
        gid = f"marks-{e.kind}" + ("-deleted" if hollow else "")
        ev = "; ".join(f"{r.url} (sha256 {r.sha256[:12]}…)" for r in e.evidence[:2]) or "none"
        title = (
            f"{e.version or 'unknown version'} — {e.description}\n{isoformat(e.time)}: "
            f"{e.meaning}\nevidence: {ev}"
        )
        by_gid.setdefault(gid, []).append(Mark(e.kind, e.version, e.time, title))
        styles[gid] = (*_kind_style(e.kind), hollow)
    for m in yank_marks:
        if shown(m.time):
            by_gid.setdefault("marks-yanked", []).append(m)
            styles["marks-yanked"] = (*_kind_style("yanked"), False)

    # the line that joins a release's events (one LineCollection for every release)
    points: dict[str, list[tuple[float, float]]] = {}
    for gid, marks in by_gid.items():
        lane, off, *_ = styles[gid]
        for m in marks:
            if m.version is not None:
                points.setdefault(m.version, []).append((_num(m.time), _LANE_Y[lane] + off))
    segments = [sorted(p, key=lambda xy: (-xy[1], xy[0])) for p in points.values() if len(p) > 1]
    if segments:
        ax.add_collection(
            LineCollection(segments, colors="#999999", linewidths=0.6, alpha=0.6, zorder=1)
        )

    # highlight non-clean releases: one vlines call, coloured by verdict
    # shade the releases that need attention; unknown ones only while they are the exception
    # (behind an index without PEP 740 every release is unknown, and shading all says nothing)
    few_unknown = sum(v.verdict is Verdict.UNKNOWN for v in flagged) <= min(40, len(verdicts) // 10)
    marked = [
        v
        for v in flagged
        if v.first_upload is not None
        and shown(v.first_upload)
        and (v.verdict is not Verdict.UNKNOWN or few_unknown)
    ]
    if marked:
        ax.vlines(
            [_num(v.first_upload) for v in marked if v.first_upload],
            -0.5,
            len(LANES) - 0.65,
            colors=[VERDICT_COLORS[v.verdict] for v in marked],
            linewidths=8,
            alpha=0.15,
            zorder=0,
        )
        labelled = sorted(marked, key=lambda v: (v.verdict.rank, v.first_upload or datetime.min))[
            :40
        ]
        if window is not None:
            x_lo, x_hi = _num(window[0]), _num(window[1])
        else:
            x_lo, x_hi = _num(min(all_times)), _num(max(all_times))
        gap = (x_hi - x_lo) / 25 or 1.0  # labels closer than this on the same row would overlap
        last_x = [float("-inf"), float("-inf")]
        i = 0
        for v in sorted(labelled, key=lambda v: v.first_upload or datetime.min):
            assert v.first_upload is not None
            x = _num(v.first_upload)
            row = i % 2
            if x - last_x[row] < gap:
                row = 1 - row
                if x - last_x[row] < gap:
                    continue  # no room: the strip and the verdict table still list it
            last_x[row] = x
            i = row + 1
            ax.text(
                x,
                len(LANES) - 0.62 + 0.2 * row,
                visible(f"{v.version}: {v.verdict.value}"),
                fontsize=7,
                rotation=0,
                ha="center",
                va="bottom",
                color=VERDICT_COLORS[v.verdict],
                parse_math=False,  # versions may contain `$`: never mathtext
                clip_on=False,
            )

    # few releases in view: name each one under the index lane (flagged ones are named above)
    in_view = [
        r for r in inv.timeline.releases if r.first_upload is not None and shown(r.first_upload)
    ]
    if len(in_view) <= 40:
        for r in in_view:
            if r.version in focus_versions or r.first_upload is None:
                continue
            ax.text(
                _num(r.first_upload),
                _LANE_Y["index"] - 0.32,
                visible(r.version),
                fontsize=6,
                color="#555555",
                ha="center",
                va="top",
                rotation=30,
                parse_math=False,
            )
    # thousands of marks in view: smaller marks, so neighbours stay apart
    scale = 1.0 if len(points) <= 150 else 0.3
    for gid in sorted(by_gid, key=lambda g: (g.endswith("-deleted"), g)):
        marks = by_gid[gid]
        lane, off, marker, color, label, hollow = styles[gid]
        xs = [_num(m.time) for m in marks]
        ys = [_LANE_Y[lane] + off] * len(marks)
        filled_marker = marker not in ("|", "x")
        paint: dict[str, Any] = (
            {"facecolors": "none" if hollow else color, "edgecolors": color}
            if filled_marker
            else {"color": color}
        )
        ax.scatter(
            xs,
            ys,
            s=(36 if marker != "*" else 90) * scale,
            marker=marker,
            linewidths=1.4,
            **paint,
            zorder=3,
            gid=gid,
            # a kind drawn only hollow still needs its legend entry
            label=None if hollow and gid.removesuffix("-deleted") in by_gid else label,
        )
    if any(g.endswith("-deleted") for g in by_gid):
        ax.scatter(
            [],
            [],
            marker="o",
            facecolors="none",
            edgecolors="#444444",
            linewidths=1.4,
            label="hollow: release no longer on the index",
        )
    for verdict in (Verdict.SUSPICIOUS, Verdict.INCONSISTENT, Verdict.UNKNOWN):
        if any(v.verdict is verdict for v in marked):
            ax.plot(
                [], [], color=VERDICT_COLORS[verdict], linewidth=8, alpha=0.3, label=verdict.value
            )

    ax.set_yticks([_LANE_Y[n] for n in LANES], list(LANES))
    ax.set_ylim(-0.6, len(LANES) - 0.05)
    for y in range(len(LANES) - 1):
        ax.axhline(y + 0.5, color="#dddddd", linewidth=0.8, zorder=0)
    loc = AutoDateLocator()  # type: ignore[no-untyped-call]  # untyped upstream
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))  # type: ignore[no-untyped-call]
    if window is not None:
        ax.set_xlim(_num(window[0]), _num(window[1]))
    elif all_times:
        lo, hi = min(all_times), max(all_times)
        pad = max((hi - lo) * 0.03, timedelta(hours=6))
        ax.set_xlim(_num(lo - pad), _num(hi + pad))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    else:
        ax.text(0.5, 0.5, "no dated events", transform=ax.transAxes, ha="center", color="#777")
    title = f"{visible(inv.project)}: forensic timeline (as of {inv.as_of:%Y-%m-%d %H:%M} UTC)"
    if window is not None:
        title += f", zoomed on {window[0]:%Y-%m-%d} to {window[1]:%Y-%m-%d}"
        outside = sum(1 for v in urgent if v.first_upload is not None and not shown(v.first_upload))
        if outside:
            title += f" ({outside} more flagged outside: see the strip)"
    if inv.simulated:
        title += " [simulated lab case]"
    if inv.timeline.pep740.value != "yes":
        title += "\nno signing events: the index does not serve PEP 740 provenance"
    ax.set_title(title, fontsize=10, parse_math=False)

    # overview strip: every release once, coloured by verdict (one scatter per verdict)
    for verdict in reversed(list(Verdict)):
        xs = [
            _num(v.first_upload)
            for v in verdicts.values()
            if v.verdict is verdict and v.first_upload is not None
        ]
        if xs:
            strip.scatter(
                xs,
                [0.0] * len(xs),
                s=10 if verdict is Verdict.CLEAN else 30,
                marker="|",
                color=VERDICT_COLORS[verdict],
                zorder=2 if verdict is Verdict.CLEAN else 3,
            )
    if window is not None:
        strip.axvspan(_num(window[0]), _num(window[1]), color="#ffd54f", alpha=0.35, zorder=1)
    strip.set_yticks([])
    strip.set_ylim(-1, 1)
    sloc = AutoDateLocator()  # type: ignore[no-untyped-call]  # untyped upstream
    strip.xaxis.set_major_locator(sloc)
    strip.xaxis.set_major_formatter(ConciseDateFormatter(sloc))  # type: ignore[no-untyped-call]
    strip.set_title(
        f"whole history: {len(verdicts)} releases"
        + (" (shaded: the window above)" if window is not None else ""),
        fontsize=8,
        loc="left",
    )
    return fig, by_gid


def timeline_figure(inv: Investigation, *, width: float = 12.0) -> Figure:
    """The forensic timeline figure (swimlanes, incident zoom, whole-history strip)."""
    return timeline_marks(inv, width=width)[0]


def coverage_figure(inv: Investigation, *, width: float = 8.0) -> Figure:
    """Cumulative count of releases per state over time: when attestations were adopted or lost."""
    fig = Figure(figsize=(width, 3.5), layout="constrained")
    ax = fig.add_subplot()
    releases = [r for r in inv.timeline.releases if r.first_upload is not None]
    for state, color in STATE_COLORS.items():
        times = [
            _num(r.first_upload) for r in releases if r.state.value == state and r.first_upload
        ]
        if times:
            ax.step(times, range(1, len(times) + 1), where="post", color=color, label=state)
    ax.xaxis_date()
    ax.set_ylabel("releases (cumulative)")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(
        f"{visible(inv.project)}: provenance coverage over time", fontsize=10, parse_math=False
    )
    return fig
