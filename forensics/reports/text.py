"""Terminal view with rich: a release table and the findings, colour only on a terminal.

Untrusted text is passed to rich as `Text` objects, never as markup, so a filename like
`[red]x[/red]` is printed as written.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from forensics.models import Severity, isoformat
from forensics.reports.interface import source_location

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


class TextRenderer:
    """Renders for a terminal."""

    def __init__(self, *, color: bool = False, width: int = 120) -> None:
        """`color` only when writing to a terminal."""
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
        )
        title = Text(f"{inv.project}", style="bold")
        title.append(f"  as of {isoformat(inv.as_of)}", style="dim")
        if inv.simulated:
            title.append("  [SIMULATED lab case]", style="bold magenta")
        con.print(title)
        for note in inv.notes:
            con.print(Text(f"  note: {note}", style="magenta" if inv.simulated else "dim"))
        for name, src in inv.sources.items():
            line = Text(f"  {name}: {source_location(src)}")
            if "pep740" in src:
                line.append(f"  pep740={src['pep740']}")
            con.print(line)
        index = inv.sources.get("index", {})
        if index.get("pep740") != "yes" and index.get("pep740_reason"):
            con.print(Text("  " + str(index["pep740_reason"]), style="cyan"))
        table = Table(show_lines=False, expand=False)
        for col in ("version", "first upload", "state", "files", "publisher", "commit"):
            table.add_column(col)
        for rel in inv.timeline.releases:
            state = "+".join(s.value for s in rel.states) + (" (deleted)" if rel.deleted else "")
            commits = sorted(
                {fv.provenance.claims.get("source_commit", "")[:10] for fv in rel.files} - {""}
            )
            table.add_row(
                Text(rel.version),
                Text(isoformat(rel.first_upload) or "—"),
                Text(state, style=_STATE_STYLE.get(rel.state.value, "")),
                Text(str(len(rel.files))),
                Text(", ".join(sorted(rel.publishers)) or "—"),
                Text(", ".join(commits) or "—"),
            )
        con.print(table)
        con.print(Text(f"Findings: {len(inv.findings)}", style="bold"))
        for f in inv.findings:
            line = Text(f"  {f.severity.value.upper():8}", style=_SEV_STYLE[f.severity])
            line.append(f" {f.detector}: ")
            line.append(f.summary)
            con.print(line)
        for s in inv.skipped:
            con.print(Text(f"  skipped {s.detector}: {s.reason}", style="dim"))
        for p in inv.problems:
            con.print(Text(f"  problem: {p}", style="yellow"))
        return buf.getvalue()
