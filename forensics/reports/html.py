"""Self-contained HTML report with an inline SVG timeline plot.

All untrusted text goes through `html.escape`; the SVG is rendered with a fixed hash salt and no
date metadata so the same case gives the same bytes.
"""

from __future__ import annotations

import html
import io
from typing import TYPE_CHECKING

import matplotlib

from forensics.models import isoformat
from forensics.reports.interface import source_location
from forensics.reports.plots import STATE_COLORS, timeline_figure

if TYPE_CHECKING:
    from forensics.analysis import Investigation

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
.sev-critical,.sev-high{color:#b00;font-weight:bold}.sev-medium{color:#b60}.banner{background:#fde;padding:.6em}
code{font-size:12px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def svg_timeline(inv: Investigation) -> str:
    """The timeline figure as deterministic inline SVG."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "forensics", "svg.fonttype": "none"}):
        timeline_figure(inv).savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


def render_html(inv: Investigation) -> str:
    """The HTML document."""
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Provenance timeline: {_e(inv.project)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Provenance timeline: {_e(inv.project)}</h1>",
    ]
    if inv.simulated:
        out.append(
            "<p class='banner'><b>Simulated case.</b> Signatures, digests and some values were "
            "made in the lab; it is a reconstruction, not recorded evidence.</p>"
        )
    out.append(f"<p>As of <code>{_e(isoformat(inv.as_of))}</code></p><ul>")
    for name, src in inv.sources.items():
        pep = f" (PEP 740: {_e(src['pep740'])})" if "pep740" in src else ""
        out.append(f"<li>{_e(name)}: <code>{_e(source_location(src))}</code>{pep}</li>")
    out += [f"<li>note: {_e(n)}</li>" for n in inv.notes]
    out.append("</ul>")
    out.append(svg_timeline(inv))
    out.append(
        "<h2>Releases</h2><table><tr><th>version</th><th>first upload</th><th>state</th>"
        "<th>file</th><th>provenance</th><th>publisher</th><th>commit</th><th>log</th></tr>"
    )
    for rel in inv.timeline.releases:
        state = "+".join(s.value for s in rel.states) + (" (deleted)" if rel.deleted else "")
        color = STATE_COLORS.get(rel.state.value, "#000")
        rows = rel.files or ()
        if not rows:
            what = [rel.state_reason]
            what += [
                f"log entry {r.log_entry.log_index} signs {r.subject_name or 'an unnamed subject'}"
                f" (commit {r.claims.get('source_commit', '?')[:12]}, ref "
                f"{r.claims.get('source_ref', '?')})"
                for r in rel.recovered
            ]
            what += [f"reported by {r.citation}" for r in rel.reported]
            out.append(
                f"<tr><td>{_e(rel.version)}</td><td>{_e(isoformat(rel.first_upload) or '')}</td>"
                f"<td style='color:{color}'>{_e(state)}</td><td colspan=5>"
                + "<br>".join(_e(w) for w in what)
                + "</td></tr>"
            )
        for fv in rows:
            fp = fv.provenance
            logs = ", ".join(str(e.log_index) for e in fp.log_entries)
            out.append(
                f"<tr><td>{_e(rel.version)}</td><td>{_e(isoformat(fv.dist.upload_time) or '')}</td>"
                f"<td style='color:{color}'>{_e(state)}</td><td>{_e(fv.dist.filename)}</td>"
                f"<td title='{_e(fp.reason)}'>{_e(fp.status.value)}</td>"
                f"<td>{_e(fp.publisher.identity if fp.publisher else '')}</td>"
                f"<td><code>{_e(fp.claims.get('source_commit', '')[:12])}</code></td>"
                f"<td>{_e(logs)}</td></tr>"
            )
    out.append("</table>")
    out.append(f"<h2>Findings ({len(inv.findings)})</h2><ul>")
    for f in inv.findings:
        out.append(
            f"<li><span class='sev-{_e(f.severity.value)}'>{_e(f.severity.value.upper())}</span> "
            f"({_e(f.confidence.value)} confidence) <code>{_e(f.detector)}</code>: "
            f"{_e(f.summary)}<ul>"
        )
        out += [
            f"<li>evidence: <code>{_e(ev.url)}</code> sha256 <code>{_e(ev.sha256)}</code> "
            f"retrieved {_e(isoformat(ev.retrieved_at))}</li>"
            for ev in f.evidence
        ]
        out.append("</ul></li>")
    out.append("</ul>")
    if inv.skipped:
        out.append("<h2>Checks not run</h2><ul>")
        out += [f"<li><code>{_e(s.detector)}</code>: {_e(s.reason)}</li>" for s in inv.skipped]
        out.append("</ul>")
    if inv.problems:
        out.append("<h2>Problems in the evidence</h2><ul>")
        out += [f"<li>{_e(p)}</li>" for p in inv.problems]
        out.append("</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)


class HtmlRenderer:
    """Renders HTML."""

    def render(self, inv: Investigation) -> str:
        """The HTML document."""
        return render_html(inv)
