"""Markdown report: verdicts first, coverage, what is known/unknown, then releases and findings.

Everything that came from outside (filenames, reasons, claims, versions) goes through
`sanitize.md_text` (escaped prose) or `sanitize.md_code` (a correctly fenced code span): metadata
may contain HTML or Markdown written by whoever uploaded the package, and a report must not
render it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forensics.models import isoformat
from forensics.reports.interface import release_state_label, source_location
from forensics.reports.sanitize import md_code, md_text
from forensics.verdict import assess

if TYPE_CHECKING:
    from forensics.analysis import Investigation

#: Kept for callers of the previous module API.
esc = md_text


def render_markdown(inv: Investigation) -> str:
    """The Markdown document."""
    a = assess(inv)
    out: list[str] = [f"# Provenance timeline: {md_text(inv.project)}", ""]
    if inv.simulated:
        out += [
            "> **Simulated case.** Signatures, digests and some values in this case were made in "
            "the lab; see the notes at the end. It is a reconstruction, not recorded evidence.",
            "",
        ]
    counts = ", ".join(f"{n} {v}" for v, n in a.counts().items())
    out += [
        "## Verdict",
        "",
        f"{counts} ({len(a.verdicts)} releases), as of {md_code(isoformat(inv.as_of))}.",
        "",
    ]
    attention = a.attention()
    if attention:
        out += ["| verdict | version | why | evidence |", "|---|---|---|---|"]
        for v in attention:
            out.append(
                f"| **{v.verdict.value}** | {md_code(v.version, table=True)} | "
                f"{md_text('; '.join(v.reasons))} | {v.trust.value} |"
            )
        out.append("")
    for reason, versions in a.unknown_groups():
        shown = ", ".join(versions[:8]) + (", …" if len(versions) > 8 else "")
        out.append(
            f"- **unknown**: {len(versions)} release{'s' if len(versions) != 1 else ''} "
            f"({md_text(shown)}): {md_text(reason)}"
        )
    out += ["", "## Coverage", "", f"- {md_text(a.coverage.summary())}"]
    out += [f"- {md_text(line)}" for line in a.coverage.headlines()]
    out += [f"- {g.count} failed lookups: {md_text(g.cause)}" for g in a.coverage.lookups]
    if a.notes_summary:
        out.append(f"- notes: {md_text(a.notes_summary)} (see [Notes](#notes))")
    out += ["", "## What is known", ""]
    out += [f"- {md_text(k)}" for k in a.known]
    out += ["", "## What is unknown", ""]
    out += [f"- {md_text(u)}" for u in a.unknown]
    out += ["", "## Sources", ""]
    for name, src in inv.sources.items():
        extra = f" (PEP 740: {md_text(src['pep740'])})" if "pep740" in src else ""
        out.append(f"- {md_text(name)}: {md_code(source_location(src))}{extra}")
    index = inv.sources.get("index", {})
    if index.get("pep740") != "yes" and index.get("pep740_reason"):
        out.append(f"- **{md_text(index['pep740_reason'])}**")
    verdicts = {v.version: v for v in a.verdicts}
    out += [
        "",
        "## Releases",
        "",
        "| version | verdict | first upload | state | yanked | files | publisher | commit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rel in inv.timeline.releases:
        v = verdicts[rel.version]
        pubs = ", ".join(sorted(rel.publishers)) or "—"
        commits = sorted(
            {fv.provenance.claims.get("source_commit", "")[:12] for fv in rel.files} - {""}
        )
        yank = (
            ("yes: " + "; ".join(v.yanked_reasons) if v.yanked_reasons else "yes")
            if v.yanked
            else ""
        )
        out.append(
            f"| {md_code(rel.version, table=True)} | {v.verdict.value} | "
            f"{isoformat(rel.first_upload) or '—'} | {md_text(release_state_label(rel))} | "
            f"{md_text(yank)} | {len(rel.files)} | {md_text(pubs)} | "
            f"{md_text(', '.join(commits) or '—')} |"
        )
    out += [
        "",
        "## Files",
        "",
        "| version | file | uploaded | yanked | provenance | reason | log entries |",
        "|---|---|---|---|---|---|---|",
    ]
    for rel in inv.timeline.releases:
        for fv in rel.files:
            entries = ", ".join(
                f"{e.log_index} @ {isoformat(e.integrated_time) or 'no log time'}"
                for e in fv.provenance.log_entries
            )
            d = fv.dist
            yank = (f"yes: {d.yanked_reason}" if d.yanked_reason else "yes") if d.yanked else ""
            out.append(
                f"| {md_code(rel.version, table=True)} | {md_code(d.filename, table=True)} | "
                f"{isoformat(d.upload_time) or '—'} | {md_text(yank)} | "
                f"{fv.provenance.status.value} | {md_text(fv.provenance.reason) or '—'} | "
                f"{md_text(entries) or '—'} |"
            )
    out += ["", f"## Findings ({len(inv.findings)}), by release", ""]
    if not inv.findings:
        out.append("No findings" + ("." if a.coverage.complete else " (but see Coverage)."))
    by_version: dict[str, list[int]] = {}
    for i, f in enumerate(inv.findings):
        by_version.setdefault(f.version or "(project)", []).append(i)
    order = {rel.version: i for i, rel in enumerate(inv.timeline.releases)}
    for version in sorted(by_version, key=lambda x: order.get(x, len(order))):
        found = verdicts.get(version)
        out += [f"### {md_text(version)}" + (f" ({found.verdict.value})" if found else ""), ""]
        for i in by_version[version]:
            f = inv.findings[i]
            out.append(
                f"- **{f.severity.value.upper()}** ({f.confidence.value} confidence) "
                f"{md_code(f.detector)}: {md_text(f.summary)}"
            )
            if f.tip:
                out.append(f"  - tip: {md_text(f.tip)}")
            for ev in f.evidence:
                out.append(
                    f"  - evidence: {md_code(ev.url)} sha256 {md_code(ev.sha256[:16])}… "
                    f"retrieved {isoformat(ev.retrieved_at)}"
                )
        out.append("")
    if inv.problems:
        out += ["", "## Problems in the evidence", ""]
        out += [f"- {md_text(p)}" for p in inv.problems]
    if inv.notes:
        out += ["", "## Notes", ""]
        out += [f"- {md_text(n)}" for n in inv.notes]
    return "\n".join(out) + "\n"


class MarkdownRenderer:
    """Renders Markdown."""

    def render(self, inv: Investigation) -> str:
        """The Markdown document."""
        return render_markdown(inv)
