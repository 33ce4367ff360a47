"""The JSON report, schema `forensics.report/v1` (documented in docs/report-v1.md).

This is a public format that other tools read: fields are only ever added, never renamed or
removed, within v1. Output is canonical (sorted keys, fixed separators) so that re-running an
analysis on the same case with the same `--as-of` gives byte-identical JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from forensics.models import FileProvenance, isoformat
from forensics.reports.jsonenc import Lazy
from forensics.reports.sanitize import json_pieces, json_text
from forensics.timeline import FileView, ReleaseView
from forensics.verdict import assess

if TYPE_CHECKING:
    from forensics.analysis import Investigation

SCHEMA = "forensics.report/v1.1"
"""v1.1 adds `verdicts` and `coverage` (docs/report-v1.md); nothing of v1 changed."""

#: Claim names surfaced at the top of `provenance.claims` (all decoded claims are included).
HEADLINE_CLAIMS = (
    "source_repository",
    "source_commit",
    "source_ref",
    "build_config",
    "trigger",
    "run_url",
    "runner_environment",
)


def provenance_json(fp: FileProvenance) -> dict[str, Any]:
    """The `provenance` object of one file."""
    pub = fp.publisher
    return {
        "status": fp.status.value,
        "reason": fp.reason,
        "publisher": pub.to_json() if pub else None,
        "claims": dict(sorted(fp.claims.items())),
        "log_entries": [
            {
                "log_index": e.log_index,
                "integrated_time": isoformat(e.integrated_time),
                "verified": e.verified,
                "kind": e.kind,
                "uuid": e.uuid,
                "time_source": e.time_source if e.integrated_time else None,
            }
            for e in fp.log_entries
        ],
        "attestations": [a.to_json() for a in fp.attestations],
        "evidence": fp.evidence.to_json() if fp.evidence else None,
    }


def file_json(fv: FileView) -> dict[str, Any]:
    """One file of a release."""
    d = fv.dist
    return {
        "filename": d.filename,
        "sha256": d.sha256,
        "size": d.size,
        "upload_time": isoformat(d.upload_time),
        "packagetype": d.packagetype,
        "yanked": d.yanked,
        "yanked_reason": d.yanked_reason,
        "url": d.url,
        "provenance": provenance_json(fv.provenance),
        "evidence": d.evidence.to_json(),
    }


def release_json(rel: ReleaseView) -> dict[str, Any]:
    """One release."""
    return {
        "version": rel.version,
        "state": rel.state.value,
        "states": [s.value for s in rel.states],
        "state_reason": rel.state_reason,
        "deleted": rel.deleted,
        "first_upload": isoformat(rel.first_upload),
        "files": [file_json(fv) for fv in rel.files],
        "recovered_log_entries": [
            {
                **rec.log_entry.to_json(),
                "subject": {"name": rec.subject_name, "sha256": rec.subject_sha256},
                "claims": dict(sorted(rec.claims.items())),
                "version_source": rec.version_source,
                "note": rec.note,
                "evidence": [e.to_json() for e in rec.evidence],
            }
            for rec in rel.recovered
        ],
        "reported": [
            {
                "citation": rep.citation,
                "note": rep.note,
                "time": isoformat(rep.time),
                "evidence": [e.to_json() for e in rep.evidence],
            }
            for rep in rel.reported
        ],
    }


def report_dict(inv: Investigation) -> dict[str, Any]:
    """The whole report as a dict."""
    return _report(inv, lazy=False)


def _report(inv: Investigation, *, lazy: bool) -> dict[str, Any]:
    """The report; with `lazy`, its releases and events are made one by one as they are written
    (`Lazy`), so that the largest parts of the document never exist whole."""
    a = assess(inv)
    releases: list[dict[str, Any]] | Lazy
    events: list[dict[str, Any]] | Lazy
    if lazy:
        releases = Lazy(lambda: map(release_json, inv.timeline.releases))
        events = Lazy(lambda: (e.to_json() for e in inv.timeline.events))
    else:
        releases = [release_json(r) for r in inv.timeline.releases]
        events = [e.to_json() for e in inv.timeline.events]
    return {
        "schema": SCHEMA,
        "verdicts": [v.to_json() for v in a.verdicts],
        "coverage": a.coverage.to_json(),
        "known": list(a.known),
        "unknown": list(a.unknown),
        "project": inv.project,
        "as_of": isoformat(inv.as_of),
        "simulated": inv.simulated,
        "notes": list(inv.notes),
        "sources": {k: dict(sorted(v.items())) for k, v in inv.sources.items()},
        "releases": releases,
        "events": events,
        "findings": [f.to_json() for f in inv.findings],
        "skipped": [s.to_json() for s in inv.skipped],
        "problems": list(inv.problems),
        # Describes this run, not the evidence (verdicts from the cache or verified, workers):
        # excluded when comparing replays of one case.
        "run": {k: dict(sorted(v.items())) for k, v in sorted(inv.run.items())},
    }


def dumps(data: dict[str, Any]) -> str:
    """Canonical JSON text: sorted keys, two-space indent, trailing newline, no raw controls."""
    return json_text(data) + "\n"


def report_pieces(inv: Investigation) -> Iterator[str]:
    """`dumps(report_dict(inv))` in pieces of about a megabyte, each release and event made as
    the text reaches it."""
    yield from json_pieces(_report(inv, lazy=True))
    yield "\n"


def write_report(inv: Investigation, out: TextIO) -> None:
    """Write `dumps(report_dict(inv))` to `out` without holding the whole document or its text
    (at 2,500 releases the text is 50 MB, and `json.dumps` held several times that at once)."""
    for piece in report_pieces(inv):
        out.write(piece)


class JsonRenderer:
    """Renders `forensics.report/v1`."""

    def render(self, inv: Investigation) -> str:
        """The JSON document."""
        return "".join(report_pieces(inv))

    def write(self, inv: Investigation, out: TextIO) -> None:
        """The JSON document, written to `out` as it is made (see `write_report`)."""
        write_report(inv, out)
