"""Markdown report: a timeline table, findings with evidence, skipped checks.

Everything that came from outside (filenames, reasons, claims) is escaped: metadata may contain
HTML or Markdown written by whoever uploaded the package, and a report must not render it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from forensics.models import isoformat
from forensics.reports.interface import source_location

if TYPE_CHECKING:
    from forensics.analysis import Investigation

_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]()#+!|<>~"})


def esc(text: object) -> str:
    """Escape untrusted text for a Markdown table cell or paragraph."""
    return html.escape(str(text), quote=False).translate(_MD_SPECIAL).replace("\n", " ")


def render_markdown(inv: Investigation) -> str:
    """The Markdown document."""
    out: list[str] = [f"# Provenance timeline: {esc(inv.project)}", ""]
    if inv.simulated:
        out += [
            "> **Simulated case.** Signatures, digests and some values in this case were made in "
            "the "
            "lab; see the notes below. It is a reconstruction, not recorded evidence.",
            "",
        ]
    out.append(f"- as of: `{isoformat(inv.as_of)}`")
    for name, src in inv.sources.items():
        extra = f" (PEP 740: {src['pep740']})" if "pep740" in src else ""
        out.append(f"- {esc(name)}: `{esc(source_location(src))}`{extra}")
    index = inv.sources.get("index", {})
    if index.get("pep740") != "yes" and index.get("pep740_reason"):
        out.append(f"- **{esc(index['pep740_reason'])}**")
    for note in inv.notes:
        out.append(f"- note: {esc(note)}")
    out += [
        "",
        "## Releases",
        "",
        "| version | first upload | state | files | publisher | commit |",
        "|---|---|---|---|---|---|",
    ]
    for rel in inv.timeline.releases:
        pubs = ", ".join(sorted(rel.publishers)) or "—"
        commits = sorted(
            {fv.provenance.claims.get("source_commit", "")[:12] for fv in rel.files} - {""}
        )
        state = "+".join(s.value for s in rel.states)
        if rel.deleted:
            state += " (deleted)"
        out.append(
            f"| {esc(rel.version)} | {isoformat(rel.first_upload) or '—'} | {esc(state)} | "
            f"{len(rel.files)} | {esc(pubs)} | {esc(', '.join(commits) or '—')} |"
        )
    out += [
        "",
        "## Files",
        "",
        "| version | file | uploaded | provenance | reason | log entries |",
        "|---|---|---|---|---|---|",
    ]
    for rel in inv.timeline.releases:
        for fv in rel.files:
            entries = ", ".join(
                f"{e.log_index} @ {isoformat(e.integrated_time) or 'no log time'}"
                for e in fv.provenance.log_entries
            )
            out.append(
                f"| {esc(rel.version)} | {esc(fv.dist.filename)} | "
                f"{isoformat(fv.dist.upload_time) or '—'} | {fv.provenance.status.value} | "
                f"{esc(fv.provenance.reason) or '—'} | {esc(entries) or '—'} |"
            )
    out += ["", f"## Findings ({len(inv.findings)})", ""]
    if not inv.findings:
        out.append("No findings.")
    for f in inv.findings:
        out.append(
            f"- **{f.severity.value.upper()}** ({f.confidence.value} confidence) "
            f"`{esc(f.detector)}`: {esc(f.summary)}"
        )
        for ev in f.evidence:
            out.append(
                f"  - evidence: `{esc(ev.url)}` sha256 `{ev.sha256[:16]}…` "
                f"retrieved {isoformat(ev.retrieved_at)}"
            )
        if f.tip:
            out.append(f"  - tip: {esc(f.tip)}")
    if inv.skipped:
        out += ["", "## Checks not run", ""]
        out += [f"- `{esc(s.detector)}`: {esc(s.reason)}" for s in inv.skipped]
    if inv.problems:
        out += ["", "## Problems in the evidence", ""]
        out += [f"- {esc(p)}" for p in inv.problems]
    return "\n".join(out) + "\n"


class MarkdownRenderer:
    """Renders Markdown."""

    def render(self, inv: Investigation) -> str:
        """The Markdown document."""
        return render_markdown(inv)
