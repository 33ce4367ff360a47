"""The fleet report (`forensics.fleet/v1`): one row per project, the cross-project findings and what
was skipped, as JSON, text, HTML (with a matplotlib figure) and pandas frames (CSV/Parquet).

Everything but the top-level `run` section (engine, timing, retrieval times, request counts) is
the report *body*: the same inputs give the same body whichever engine ran the projects
(projects sorted by name, findings by severity then id). docs/fleet.md documents every field.
"""

from __future__ import annotations

import html
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from forensics.fleet.detectors.interface import FleetContext, ProjectSummary
from forensics.fleet.detectors.registry import FLEET_DETECTORS, run_fleet_detectors
from forensics.fleet.summary import finding_json, project_verdict, release_verdict
from forensics.models import Severity, isoformat

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = "forensics.fleet/v1"


def _period(dt: datetime | None) -> str:
    return f"{dt.year}-Q{(dt.month - 1) // 3 + 1}" if dt is not None else "undated"


def project_row(s: ProjectSummary) -> dict[str, Any]:
    """One project's row."""
    shares: dict[str, list[int]] = {}
    for rel in s.releases:
        counts = shares.setdefault(_period(rel.first_upload), [0, 0])
        counts[0] += 1
        counts[1] += int(rel.attested)
    by_sev = Counter(f.severity.value for f in s.findings)
    flagged = sorted(
        {r.version for r in s.releases if release_verdict(s, r.version).verdict == "flagged"}
    )
    return {
        "project": s.project,
        "verdict": project_verdict(s),
        "pep740": s.pep740,
        "releases": len(s.releases),
        "attested_releases": sum(1 for r in s.releases if r.attested),
        "attested_share": [
            {"period": p, "releases": n, "attested": a, "share": round(a / n, 4)}
            for p, (n, a) in sorted(shares.items())
        ],
        "findings_by_severity": {sev.value: by_sev.get(sev.value, 0) for sev in Severity},
        "flagged_versions": flagged,
        "findings": [finding_json(f) for f in s.findings],
        "skipped_checks": [{"check": c, "reason": r} for c, r in s.skipped],
        "error": s.error or None,
        "case": s.case or None,
    }


def build_report(
    summaries: Sequence[ProjectSummary],
    *,
    index_url: str,
    as_of: datetime | None,
    inputs: Mapping[str, Any],
    skipped_entries: Sequence[tuple[str, str]] = (),
    settings: Mapping[str, str] | None = None,
    run: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole fleet report as a dict; `run` is kept apart from the body."""
    projects = tuple(sorted(summaries, key=lambda s: s.project))
    cross = run_fleet_detectors(FleetContext(projects, dict(settings or {})))
    rows = [project_row(s) for s in projects]
    verdicts = Counter(r["verdict"] for r in rows)
    checks: dict[tuple[str, str], int] = {}
    for s in projects:
        for check, reason in s.skipped:
            checks[(check, reason)] = checks.get((check, reason), 0) + 1
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "index_url": index_url,
        "as_of": isoformat(as_of),
        "inputs": dict(inputs),
        "summary": {
            "projects": len(rows),
            "flagged": verdicts.get("flagged", 0),
            "clean": verdicts.get("clean", 0),
            "unknown": verdicts.get("unknown", 0),
            "releases": sum(r["releases"] for r in rows),
            "attested_releases": sum(r["attested_releases"] for r in rows),
            "cross_project_findings": len(cross),
        },
        "projects": rows,
        "cross_project": [finding_json(f) for f in cross],
        "skipped": {
            "projects": [{"project": s.project, "reason": s.error} for s in projects if s.error],
            "entries": [{"entry": e, "reason": r} for e, r in sorted(skipped_entries)],
            "checks": [
                {"check": c, "reason": r, "projects": n} for (c, r), n in sorted(checks.items())
            ],
        },
        "detectors": [
            {"id": d.info.id, "title": d.info.title, "docs": f"docs/fleet.md#{d.info.id}"}
            for d in FLEET_DETECTORS
        ],
    }
    if run is not None:
        doc["run"] = dict(run)
    return doc


def body(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The report without its `run` section: what must not depend on the engine."""
    return {k: v for k, v in doc.items() if k != "run"}


def to_json(doc: Mapping[str, Any]) -> str:
    """Stable JSON text."""
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def to_text(doc: Mapping[str, Any]) -> str:
    """A terminal summary: coverage first, then flagged projects, then cross-project findings."""
    s = doc["summary"]
    lines = [
        f"fleet of {s['projects']} projects from {doc['index_url']}: {s['flagged']} flagged, "
        f"{s['clean']} clean, {s['unknown']} unknown",
        f"coverage: {s['releases']} releases, {s['attested_releases']} attested; "
        f"{len(doc['skipped']['projects'])} projects could not be investigated; "
        f"{sum(c['projects'] for c in doc['skipped']['checks'])} check(s) could not run",
        "",
    ]
    for row in doc["projects"]:
        sev = ", ".join(f"{k}={v}" for k, v in row["findings_by_severity"].items() if v)
        extra = f" flagged: {', '.join(row['flagged_versions'])}" if row["flagged_versions"] else ""
        why = f" ({row['error']})" if row["error"] else ""
        lines.append(
            f"  {row['verdict']:8} {row['project']:32} releases={row['releases']} "
            f"attested={row['attested_releases']} pep740={row['pep740']}"
            f"{' ' + sev if sev else ''}{extra}{why}"
        )
    lines.append("")
    lines.append(f"cross-project findings: {len(doc['cross_project'])}")
    for f in doc["cross_project"]:
        lines.append(f"  [{f['severity']}] {f['detector']}: {f['summary']}")
    checks = doc["skipped"]["checks"]
    if checks or doc["skipped"]["entries"]:
        lines.append("")
        lines.append("skipped:")
        for c in checks:
            lines.append(f"  {c['check']} in {c['projects']} project(s): {c['reason']}")
        for e in doc["skipped"]["entries"]:
            lines.append(f"  {e['entry']}: {e['reason']}")
    return "\n".join(lines) + "\n"


def figure_svg(doc: Mapping[str, Any]) -> str:
    """Attested share of releases per quarter across the fleet, anomalies marked (inline SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals: dict[str, list[int]] = {}
    for row in doc["projects"]:
        for p in row["attested_share"]:
            if row["pep740"] == "yes" and p["period"] != "undated":
                t = totals.setdefault(p["period"], [0, 0])
                t[0] += p["releases"]
                t[1] += p["attested"]
    periods = sorted(totals)
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    if periods:
        xs = list(range(len(periods)))
        shares = [totals[p][1] / totals[p][0] for p in periods]
        ax.plot(xs, shares, marker="o", color="#2b6cb0", label="attested share of releases")
        for x, p in zip(xs, periods, strict=True):
            n = doc.get("_flagged_by_period", {}).get(p, 0)
            if n:
                ax.axvline(x, color="#c53030", alpha=0.35)
                ax.annotate(f"{n} flagged", (x, 1.02), color="#c53030", fontsize=7, ha="center")
        ax.set_xticks(xs, periods, rotation=45, fontsize=7)
        ax.plot([], [], color="#c53030", alpha=0.5, label="releases flagged (per quarter)")
        ax.legend(fontsize=7, loc="lower left")
    else:
        ax.text(0.5, 0.5, "no project's index serves PEP 740", ha="center", transform=ax.transAxes)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share attested")
    ax.set_title("Attested releases across the fleet", fontsize=10)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.find("<svg") :]


def flagged_by_period(summaries: Sequence[ProjectSummary]) -> dict[str, int]:
    """How many flagged releases fall in each quarter (the figure's anomaly marks)."""
    out: Counter[str] = Counter()
    for s in summaries:
        for rel in s.releases:
            if release_verdict(s, rel.version).verdict == "flagged":
                out[_period(rel.first_upload)] += 1
    return dict(out)


def to_html(doc: Mapping[str, Any], summaries: Sequence[ProjectSummary]) -> str:
    """A self-contained HTML page: figure, project table, cross-project findings, skipped."""
    e = html.escape
    svg = figure_svg({**doc, "_flagged_by_period": flagged_by_period(summaries)})
    rows = []
    for r in doc["projects"]:
        sev = ", ".join(f"{k} {v}" for k, v in r["findings_by_severity"].items() if v) or "—"
        rows.append(
            f"<tr class='{e(r['verdict'])}'><td>{e(r['project'])}</td><td>{e(r['verdict'])}</td>"
            f"<td>{r['releases']}</td><td>{r['attested_releases']}</td><td>{e(r['pep740'])}</td>"
            f"<td>{e(sev)}</td><td>{e(', '.join(r['flagged_versions']))}</td>"
            f"<td>{e(r['error'] or '')}</td></tr>"
        )
    cross = "".join(
        f"<li><b>[{e(f['severity'])}] {e(f['detector'])}</b>: {e(f['summary'])}"
        f"<br><small>{len(f['evidence'])} evidence reference(s); "
        f"tip: {e(f['tip'] or '')}</small></li>"
        for f in doc["cross_project"]
    )
    skipped = (
        "".join(
            f"<li>{e(c['check'])} in {c['projects']} project(s): {e(c['reason'])}</li>"
            for c in doc["skipped"]["checks"]
        )
        + "".join(
            f"<li>{e(p['project'])}: {e(p['reason'])}</li>" for p in doc["skipped"]["projects"]
        )
        + "".join(f"<li>{e(x['entry'])}: {e(x['reason'])}</li>" for x in doc["skipped"]["entries"])
    )
    s = doc["summary"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Fleet report</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:1em auto}}
table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:90%}}tr.flagged{{background:#fde8e8}}
tr.unknown{{background:#f4f4f4}}</style></head><body>
<h1>Fleet report</h1>
<p>{s["projects"]} projects from {e(doc["index_url"])}: <b>{s["flagged"]} flagged</b>,
{s["clean"]} clean, {s["unknown"]} unknown; {s["releases"]} releases, {s["attested_releases"]}
attested. Schema {e(doc["schema"])}.</p>
{svg}
<h2>Cross-project findings ({len(doc["cross_project"])})</h2><ul>{cross or "<li>none</li>"}</ul>
<h2>Projects</h2><table><tr><th>project</th><th>verdict</th><th>releases</th><th>attested</th>
<th>PEP 740</th><th>findings</th><th>flagged versions</th><th>could not run</th></tr>
{"".join(rows)}</table>
<h2>Skipped</h2><ul>{skipped or "<li>nothing</li>"}</ul>
</body></html>
"""


def to_frame(doc: Mapping[str, Any]) -> pd.DataFrame:
    """One row per project (flat columns) for notebooks; needs pandas."""
    import pandas as pd

    records = []
    for r in doc["projects"]:
        rec = {k: r[k] for k in ("project", "verdict", "pep740", "releases", "attested_releases")}
        rec.update({f"findings_{k}": v for k, v in r["findings_by_severity"].items()})
        rec["flagged_versions"] = " ".join(r["flagged_versions"])
        rec["skipped_checks"] = len(r["skipped_checks"])
        rec["error"] = r["error"] or ""
        records.append(rec)
    return pd.DataFrame.from_records(records)


def share_frame(doc: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (project, quarter): releases, attested, share; needs pandas."""
    import pandas as pd

    return pd.DataFrame.from_records(
        [{"project": r["project"], **p} for r in doc["projects"] for p in r["attested_share"]]
    )
