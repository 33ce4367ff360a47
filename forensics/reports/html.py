"""Self-contained HTML report: verdicts first, then coverage, what is known, the timeline figure.

Every untrusted string goes through `sanitize.html_text` (controls made visible, then escaped);
nothing is fetched from elsewhere (no scripts, fonts, images or styles from outside), and a print
stylesheet opens every `<details>` so a printed report shows its evidence. The SVG is rendered with
a fixed hash salt and no date metadata so the same case gives the same bytes; each mark gets a
hover `<title>` (version, time, what the time means, evidence).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib

from forensics.models import isoformat
from forensics.reports.interface import release_state_label, source_location
from forensics.reports.plots import VERDICT_COLORS, Mark, timeline_marks
from forensics.reports.sanitize import html_text
from forensics.verdict import Assessment, Verdict, assess

if TYPE_CHECKING:
    from forensics.analysis import Investigation

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em 2em;max-width:1300px;color:#222}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1em 0 .4em}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
.v-suspicious{color:#b00;font-weight:bold}.v-inconsistent{color:#b60;font-weight:bold}
.v-unknown{color:#555}.v-clean{color:#2a7a2a}
.sev-critical,.sev-high{color:#b00;font-weight:bold}.sev-medium{color:#b60}
.banner{background:#fde;padding:.5em}.coverage-bad{background:#fff3cd;padding:.5em}
.tip{color:#245;font-style:italic}code{font-size:12px;word-break:break-all}
details{margin:.2em 0}summary{cursor:pointer}
figure{margin:1em 0}svg{max-width:100%;height:auto}
@media print{body{margin:0;max-width:none}details{display:block}details>*{display:block}
summary{list-style:none}figure,table,section.verdict{break-inside:avoid}a{color:inherit}}
"""


def _e(text: object) -> str:
    """The one way untrusted text reaches the HTML."""
    return html_text(text)


#: One drawn mark: matplotlib writes a `<use>` per mark, or a `<path d=...>` per mark for small
#: collections (the marker's own definition is a `<path id=...>` inside `<defs>`, not matched).
_MARK = re.compile(r"<use [^>]*/>|<path d=\"[^\"]*\"[^>]*/>")


def _title(mark: Mark) -> str:
    # the title's lines are ours; each line's content is untrusted
    return "&#10;".join(_e(line) for line in mark.title.split("\n"))


def _add_titles(svg: str, marks: Mapping[str, Sequence[Mark]]) -> str:
    """Give every mark of each scatter group a hover `<title>` (matplotlib draws the marks of
    `<g id="gid">` in the order of the data)."""
    for gid, group in marks.items():
        start = svg.find(f'<g id="{gid}">')
        if start < 0:
            continue
        end = svg.find('<g id="', start + 1)
        end = len(svg) if end < 0 else end
        titles = iter(group)

        def titled(m: re.Match[str], titles: Iterator[Mark] = titles) -> str:
            mark = next(titles, None)
            if mark is None:
                return m.group()
            return f"<g><title>{_title(mark)}</title>{m.group()}</g>"

        svg = svg[:start] + _MARK.sub(titled, svg[start:end]) + svg[end:]
    return svg


def svg_timeline(inv: Investigation) -> str:
    """The timeline figure as deterministic inline SVG with hover titles."""
    fig, marks = timeline_marks(inv)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "forensics", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return _add_titles(text[text.index("<svg") :], marks)


def render_html(inv: Investigation) -> str:
    """The HTML document."""
    a = assess(inv)
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Provenance report: {_e(inv.project)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Provenance report: {_e(inv.project)}</h1>",
        f"<p>As of <code>{_e(isoformat(inv.as_of))}</code>",
    ]
    if inv.simulated:
        out.append(
            " — <span class='banner'><b>Simulated case:</b> a lab reconstruction, not recorded "
            "evidence (see <a href='#notes'>notes</a>).</span>"
        )
    out.append("</p>")
    # 1. verdicts
    counts = ", ".join(f"{n} {v}" for v, n in a.counts().items())
    out.append(
        f"<section class='verdict' id='verdict'><h2>Verdict</h2><p>{_e(counts)} "
        f"({len(a.verdicts)} releases)</p>"
    )
    attention = a.attention()
    if attention:
        out.append(
            "<table><tr><th>verdict</th><th>version</th><th>why</th><th>evidence</th>"
            "<th>uploaded</th></tr>"
        )
        for v in attention:
            why = "<br>".join(_e(r) for r in v.reasons)
            out.append(
                f"<tr><td class='v-{v.verdict.value}'>{_e(v.verdict.value)}</td>"
                f"<td><a href='#{'findings' if v.detectors else 'release'}-{_e(v.version)}'>"
                f"{_e(v.version)}</a></td>"
                f"<td>{why}</td><td>{_e(v.trust.value)}</td>"
                f"<td>{_e(isoformat(v.first_upload) or '—')}</td></tr>"
            )
        out.append("</table>")
    for reason, versions in a.unknown_groups():
        shown = ", ".join(versions[:10]) + (", …" if len(versions) > 10 else "")
        out.append(
            f"<p><span class='v-unknown'>unknown</span>: {len(versions)} "
            f"release{'s' if len(versions) != 1 else ''} "
            f"({_e(shown)}): {_e(reason)}</p>"
        )
    out.append("</section>")
    # 2. coverage
    cov = a.coverage
    cls = "" if cov.complete else " class='coverage-bad'"
    out.append(f"<section id='coverage'><h2>Coverage</h2><div{cls}><p>{_e(cov.summary())}</p><ul>")
    out += [f"<li>{_e(line)}</li>" for line in cov.headlines()]
    for g in cov.lookups:
        out.append(
            f"<li>{g.count} failed lookups: {_e(g.cause)}<details><summary>examples</summary>"
            + "<br>".join(_e(x) for x in g.examples)
            + "</details></li>"
        )
    out.append("</ul>")
    if cov.ran:
        out.append(
            f"<details><summary>{len(cov.ran)} checks that ran</summary>"
            + ", ".join(f"<code>{_e(c)}</code>" for c in cov.ran)
            + "</details>"
        )
    if a.notes_summary:
        out.append(f"<p>Notes: {_e(a.notes_summary)} (<a href='#notes'>details</a>).</p>")
    out.append("</div></section>")
    # 3. known / unknown
    out.append("<section id='known'><h2>What is known</h2><ul>")
    out += [f"<li>{_e(k)}</li>" for k in a.known]
    out.append("</ul><h2>What is unknown</h2><ul>")
    out += [f"<li>{_e(u)}</li>" for u in a.unknown]
    out.append("</ul></section>")
    # 4. figure
    out.append("<figure id='timeline'>")
    out.append(svg_timeline(inv))
    out.append(
        "<figcaption>Swimlanes: source, signing, index, outside reports; one release's events "
        "joined by a line; hover a mark for its time, meaning and evidence.</figcaption></figure>"
    )
    _findings(out, inv, a)
    _releases(out, inv, a)
    out.append("<h2>Sources</h2><ul>")
    for name, src in inv.sources.items():
        pep = f" (PEP 740: {_e(src['pep740'])})" if "pep740" in src else ""
        out.append(f"<li>{_e(name)}: <code>{_e(source_location(src))}</code>{pep}</li>")
    out.append("</ul>")
    if inv.problems:
        out.append("<h2>Problems in the evidence</h2><ul>")
        out += [f"<li>{_e(p)}</li>" for p in inv.problems]
        out.append("</ul>")
    if inv.notes:
        out.append(f"<h2 id='notes'>Notes ({len(inv.notes)})</h2><details><summary>")
        out.append(f"{_e(a.notes_summary)}</summary><ul>")
        out += [f"<li>{_e(n)}</li>" for n in inv.notes]
        out.append("</ul></details>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _findings(out: list[str], inv: Investigation, a: Assessment) -> None:
    verdicts = {v.version: v for v in a.verdicts}
    out.append(f"<section id='findings'><h2>Findings ({len(inv.findings)}), by release</h2>")
    if not inv.findings:
        out.append(
            "<p>No findings" + ("." if a.coverage.complete else ", but see Coverage.") + "</p>"
        )
    by_version: dict[str, list[int]] = {}
    for i, f in enumerate(inv.findings):
        by_version.setdefault(f.version or "(project)", []).append(i)
    order = {rel.version: i for i, rel in enumerate(inv.timeline.releases)}
    for version in sorted(by_version, key=lambda x: order.get(x, len(order))):
        v = verdicts.get(version)
        verdict = f" <span class='v-{v.verdict.value}'>{v.verdict.value}</span>" if v else ""
        out.append(f"<h3 id='findings-{_e(version)}'>{_e(version)}{verdict}</h3><ul>")
        for i in by_version[version]:
            f = inv.findings[i]
            out.append(
                f"<li><span class='sev-{_e(f.severity.value)}'>{_e(f.severity.value.upper())}"
                f"</span> ({_e(f.confidence.value)} confidence) <code>{_e(f.detector)}</code>: "
                f"{_e(f.summary)}"
            )
            if f.tip:
                out.append(f"<div class='tip'>tip: {_e(f.tip)}</div>")
            if f.evidence:
                out.append(f"<details><summary>evidence ({len(f.evidence)})</summary><ul>")
                out += [
                    f"<li><code>{_e(ev.url)}</code> sha256 <code>{_e(ev.sha256)}</code> "
                    f"retrieved {_e(isoformat(ev.retrieved_at))}"
                    + (f" — {_e(ev.note)}" if ev.note else "")
                    + "</li>"
                    for ev in f.evidence
                ]
                out.append("</ul></details>")
            out.append("</li>")
        out.append("</ul>")
    out.append("</section>")


def _releases(out: list[str], inv: Investigation, a: Assessment) -> None:
    verdicts = {v.version: v for v in a.verdicts}
    out.append(
        "<h2>Releases</h2><table><tr><th>version</th><th>verdict</th><th>first upload</th>"
        "<th>state</th><th>file</th><th>yanked</th><th>provenance</th><th>publisher</th>"
        "<th>commit</th><th>log</th></tr>"
    )
    for rel in inv.timeline.releases:
        v = verdicts[rel.version]
        color = VERDICT_COLORS.get(v.verdict, "#000") if v.verdict is not Verdict.CLEAN else ""
        style = f" style='color:{color}'" if color else ""
        head = (
            f"<tr id='release-{_e(rel.version)}'><td>{_e(rel.version)}</td>"
            f"<td class='v-{v.verdict.value}'>{_e(v.verdict.value)}</td>"
        )
        state = _e(release_state_label(rel))
        if not rel.files:
            what = [rel.state_reason]
            what += [
                f"log entry {r.log_entry.log_index} signs "
                + (
                    r.subject_name
                    or (f"a file of {r.version} (no file name recorded)" if r.version else "?")
                )
                + f" (commit {r.claims.get('source_commit', '?')[:12]}, ref "
                f"{r.claims.get('source_ref', '?')})"
                for r in rel.recovered
            ]
            what += [f"reported by {r.citation}" for r in rel.reported]
            out.append(
                f"{head}<td>{_e(isoformat(rel.first_upload) or '')}</td>"
                f"<td{style}>{state}</td><td colspan=6>"
                + "<br>".join(_e(w) for w in what)
                + "</td></tr>"
            )
        for fv in rel.files:
            fp = fv.provenance
            d = fv.dist
            logs = ", ".join(str(e.log_index) for e in fp.log_entries)
            yank = (f"yes: {d.yanked_reason}" if d.yanked_reason else "yes") if d.yanked else ""
            out.append(
                f"{head}<td>{_e(isoformat(d.upload_time) or '')}</td>"
                f"<td{style}>{state}</td><td>{_e(d.filename)}</td><td>{_e(yank)}</td>"
                f"<td title='{_e(fp.reason)}'>{_e(fp.status.value)}</td>"
                f"<td>{_e(fp.publisher.identity if fp.publisher else '')}</td>"
                f"<td><code>{_e(fp.claims.get('source_commit', '')[:12])}</code></td>"
                f"<td>{_e(logs)}</td></tr>"
            )
            head = f"<tr><td>{_e(rel.version)}</td><td class='v-{v.verdict.value}'></td>"
    out.append("</table>")


class HtmlRenderer:
    """Renders HTML."""

    def render(self, inv: Investigation) -> str:
        """The HTML document."""
        return render_html(inv)
