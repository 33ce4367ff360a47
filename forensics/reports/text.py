"""Terminal view with rich: verdicts first, then coverage, releases, findings, known/unknown.

Every untrusted string goes through `sanitize.terminal` (control characters made visible) and is
given to rich as a `Text` object, never as markup, so neither `\\x1b[2J` nor `[red]x[/red]` in a
filename or commit message does anything but print as written. The table fits the width it is
given (the CLI passes the terminal's).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from forensics.models import Severity, isoformat
from forensics.reports.interface import release_state_label, source_location
from forensics.reports.sanitize import terminal
from forensics.verdict import Assessment, Verdict, assess

if TYPE_CHECKING:
    from forensics.analysis import Investigation

_STATE_STYLE = {
    "full": "green",
    "partial": "yellow",
    "none": "dim",
    "lost": "bold red",
    "changed": "bold yellow",
    "inconsistent": "bold red",
    "unknown": "cyan",
}
_SEV_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_VERDICT_STYLE = {
    Verdict.SUSPICIOUS: "bold red",
    Verdict.INCONSISTENT: "bold yellow",
    Verdict.UNKNOWN: "cyan",
    Verdict.CLEAN: "green",
}
#: Releases listed one per line in the verdict section; more are counted, not listed.
MAX_LISTED = 40


def _t(text: object, style: str = "") -> Text:
    """The one way untrusted text reaches the terminal."""
    return Text(terminal(text), style=style)


class TextRenderer:
    """Renders for a terminal."""

    def __init__(self, *, color: bool = False, width: int = 120) -> None:
        """`color` only when writing to a terminal; `width` is the terminal's."""
        self.color = color
        self.width = width

    def render(self, inv: Investigation) -> str:
        """The terminal document."""
        buf = io.StringIO()
        con = Console(
            file=buf,
            force_terminal=self.color,
            no_color=not self.color,
            width=self.width,
            highlight=False,
            soft_wrap=False,
        )
        a = assess(inv)
        title = _t(inv.project, "bold")
        title.append(f"  as of {isoformat(inv.as_of)}", style="dim")
        if inv.simulated:
            title.append("  [SIMULATED lab case]", style="bold magenta")
        con.print(title)
        _verdicts(con, a)
        _coverage(con, a)
        if a.notes_summary:
            con.print(_t(f"Notes: {a.notes_summary} (listed under Notes at the end)", "magenta"))
        con.print()
        for name, src in inv.sources.items():
            line = _t(f"  {name}: {source_location(src)}")
            if "pep740" in src:
                line.append(terminal(f"  pep740={src['pep740']}"))
            con.print(line)
        _table(con, inv, a)
        _findings(con, inv)
        con.print(Text("What is known", style="bold"))
        for k in a.known:
            con.print(_t(f"  - {k}"))
        con.print(Text("What is unknown", style="bold"))
        for u in a.unknown:
            con.print(_t(f"  - {u}"))
        for g in a.coverage.lookups:
            con.print(_t(f"  failed lookups: {g.count} × {g.cause}", "dim"))
            for ex in g.examples:
                con.print(_t(f"      e.g. {ex}", "dim"))
        for p in inv.problems:
            con.print(_t(f"  problem: {p}", "yellow"))
        if inv.notes:
            con.print(Text("Notes", style="bold"))
            for note in inv.notes:
                con.print(_t(f"  note: {note}", "magenta" if inv.simulated else "dim"))
        return buf.getvalue()


def _verdicts(con: Console, a: Assessment) -> None:
    counts = a.counts()
    line = Text("Verdict: ", style="bold")
    line.append(", ".join(f"{n} {v}" for v, n in counts.items()))
    line.append(f"  ({len(a.verdicts)} releases)", style="dim")
    con.print(line)
    attention = a.attention()
    for v in attention[:MAX_LISTED]:
        row = Text(f"  {v.verdict.value.upper():12}", style=_VERDICT_STYLE[v.verdict])
        row.append_text(_t(f" {v.version:8} "))
        row.append(f"[{v.trust.value}] ", style="dim")
        row.append_text(_t(v.reason))
        con.print(row)
    if len(attention) > MAX_LISTED:
        con.print(_t(f"  … and {len(attention) - MAX_LISTED} more (see the table below)", "dim"))
    for reason, versions in a.unknown_groups():
        shown = ", ".join(versions[:5]) + (", …" if len(versions) > 5 else "")
        row = Text(f"  {'UNKNOWN':12}", style=_VERDICT_STYLE[Verdict.UNKNOWN])
        row.append_text(_t(f" {len(versions)} release{'s' if len(versions) != 1 else ''} "))
        row.append_text(_t(f"({shown}): {reason}"))
        con.print(row)


def _coverage(con: Console, a: Assessment) -> None:
    cov = a.coverage
    style = "bold green" if cov.complete else "bold yellow"
    con.print(Text(f"Coverage: {cov.summary()}", style=style))
    for line in cov.headlines():
        con.print(_t(f"  {line}", "yellow"))


def _table(con: Console, inv: Investigation, a: Assessment) -> None:
    verdicts = {v.version: v for v in a.verdicts}
    table = Table(show_lines=False, expand=False)
    for col in ("version", "verdict", "first upload", "state", "files", "publisher", "commit"):
        table.add_column(col, overflow="fold")
    for rel in inv.timeline.releases:
        state = release_state_label(rel)
        v = verdicts[rel.version]
        if v.yanked:
            state += " (yanked" + (f": {'; '.join(v.yanked_reasons)}" if v.yanked_reasons else "")
            state += ")"
        commits = sorted(
            {fv.provenance.claims.get("source_commit", "")[:10] for fv in rel.files} - {""}
        )
        if not commits:
            commits = sorted({r.claims.get("source_commit", "")[:10] for r in rel.recovered} - {""})
        table.add_row(
            _t(rel.version),
            Text(v.verdict.value, style=_VERDICT_STYLE[v.verdict]),
            _t(f"{rel.first_upload:%Y-%m-%d %H:%M}" if rel.first_upload else "—"),
            _t(state, _STATE_STYLE.get(rel.state.value, "")),
            Text(str(len(rel.files))),
            _t(", ".join(sorted(rel.publishers)) or "—"),
            _t(", ".join(commits) or "—"),
        )
    con.print(table)


def _findings(con: Console, inv: Investigation) -> None:
    con.print(Text(f"Findings: {len(inv.findings)} (by release)", style="bold"))
    by_version: dict[str, list[int]] = {}
    for i, f in enumerate(inv.findings):
        by_version.setdefault(f.version or "(project)", []).append(i)
    order = {rel.version: i for i, rel in enumerate(inv.timeline.releases)}
    for version in sorted(by_version, key=lambda v: order.get(v, len(order))):
        con.print(_t(f"  {version}", "bold"))
        for i in by_version[version]:
            f = inv.findings[i]
            line = Text(f"    {f.severity.value.upper():8}", style=_SEV_STYLE[f.severity])
            line.append_text(_t(f" {f.detector}: {f.summary}"))
            con.print(line)
            if f.tip:
                con.print(_t(f"      tip: {f.tip}", "dim"))
