"""Timesketch exports: the timeline's events as JSONL or CSV, one event per line/row.

Timesketch's importer (timesketch-import-client, `ImportStreamer.add_file`) needs three fields
per event: `message` (a one-line description), `datetime` (ISO 8601) and `timestamp_desc` (what
the timestamp means); every other column becomes a searchable attribute. We also write
`timestamp` (microseconds since the epoch, Timesketch's internal clock) and a namespaced
`data_type` after plaso's convention (`pypi:file:upload`, `rekor:entry`, `github:workflow_run`,
...). Detector ids of the findings about the event's release go into `tag`, so a sketch can be
filtered on them. Untrusted text has its control characters made visible (`sanitize.visible`);
JSON escaping (or CSV quoting) does the rest.

The CSV is read by the client with `pandas.read_csv`; list-valued fields (`tag`, `evidence_urls`)
are written there as `;`-separated text.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from forensics.models import isoformat
from forensics.reports.sanitize import json_text, visible
from forensics.verdict import release_verdicts

if TYPE_CHECKING:
    from forensics.analysis import Investigation

#: Our event kinds as namespaced Timesketch/plaso data types; kinds added later keep their own
#: name under `forensics:`.
DATA_TYPES = {
    "uploaded": "pypi:file:upload",
    "yanked": "pypi:file:yank",
    "deleted": "pypi:release:deletion",
    "certificate_issued": "sigstore:certificate:issued",
    "certificate_expired": "sigstore:certificate:expiry",
    "sct": "ct:sct",
    "log_integrated": "rekor:entry",
    "log_integrated_unlisted": "rekor:entry:unlisted",
    "reported": "intel:report",
    "commit": "github:commit",
    "tag": "github:tag",
    "workflow_run": "github:workflow_run",
}

COLUMNS = (
    "message",
    "datetime",
    "timestamp",
    "timestamp_desc",
    "data_type",
    "tag",
    "project",
    "version",
    "filename",
    "verdict",
    "yanked",
    "yanked_reason",
    "node",
    "evidence_urls",
    "evidence_sha256",
)


def data_type(kind: str) -> str:
    """The namespaced data type of an event kind."""
    return DATA_TYPES.get(kind, f"forensics:{kind}")


def _micros(t: datetime) -> int:
    delta = t.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def events(inv: Investigation) -> list[dict[str, Any]]:
    """The timeline's events as Timesketch records (plain values, lists for `tag`/evidence)."""
    tags: dict[str | None, set[str]] = defaultdict(set)
    for f in inv.findings:
        tags[f.version].add(f.detector)
    verdicts = {
        v.version: v.verdict.value
        for v in release_verdicts(inv.timeline, inv.findings, simulated=inv.simulated)
    }
    yanks = {
        fv.dist.filename: fv.dist
        for rel in inv.timeline.releases
        for fv in rel.files
        if fv.dist.yanked
    }
    out: list[dict[str, Any]] = []
    for e in inv.timeline.events:
        yanked = yanks.get(e.filename or "")
        out.append(
            {
                "message": visible(f"{e.version}: {e.description}" if e.version else e.description),
                "datetime": isoformat(e.time),
                "timestamp": _micros(e.time),
                "timestamp_desc": e.meaning,
                "data_type": data_type(e.kind),
                "tag": sorted(tags.get(e.version, ())) if e.version else [],
                "project": visible(inv.project),
                "version": visible(e.version or ""),
                "filename": visible(e.filename or ""),
                "verdict": verdicts.get(e.version or "", ""),
                "yanked": yanked is not None,
                "yanked_reason": visible(yanked.yanked_reason or "") if yanked else "",
                "node": visible(e.node),
                "evidence_urls": [visible(r.url) for r in e.evidence],
                "evidence_sha256": [r.sha256 for r in e.evidence],
            }
        )
    return out


def render_jsonl(inv: Investigation) -> str:
    """One JSON object per line (`.jsonl`)."""
    return "".join(json_text(rec, indent=None) + "\n" for rec in events(inv))


def render_csv(inv: Investigation) -> str:
    """CSV with a header row (`.csv`)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in events(inv):
        writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in rec.items()})
    return buf.getvalue()


class TimesketchRenderer:
    """Renders Timesketch JSONL (`csv=False`) or CSV."""

    def __init__(self, *, csv: bool = False) -> None:
        """`csv` selects the CSV flavour."""
        self.csv = csv

    def render(self, inv: Investigation) -> str:
        """The export."""
        return render_csv(inv) if self.csv else render_jsonl(inv)
