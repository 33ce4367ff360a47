"""Renderers: JSON v1 shape and determinism; untrusted text never becomes markup."""

from __future__ import annotations

import json
from datetime import timedelta

from forensics.analysis import Investigation
from forensics.detectors import AnalysisContext, Requirement, run_detectors
from forensics.models import FileProvenance, Pep740Support, ProvenanceStatus
from forensics.reports import Format, renderer_for
from forensics.reports.json_v1 import SCHEMA
from forensics.reports.sanitize import md_code
from forensics.timeline import build_timeline
from tests.factories import T0, attested, dist, history


def investigation() -> Investigation:
    tl = history(
        [
            # three attested releases: a baseline the token upload of 1.1 is judged against
            ("0.8", attested("widget-0.8.tar.gz", T0)),
            ("0.9", attested("widget-0.9.tar.gz", T0 + timedelta(days=1))),
            ("1.0", attested("widget-1.0.tar.gz", T0 + timedelta(days=2))),
            ("1.1", None),
        ]
    )
    ctx = AnalysisContext(
        "widget",
        T0 + timedelta(days=9),
        tl,
        frozenset({Requirement.PEP740}),
        {Requirement.REKOR: "no transparency-log source was given"},
    )
    findings, skipped = run_detectors(ctx)
    return Investigation(
        "widget",
        ctx.as_of,
        {"index": {"base_url": "https://pypi.example", "pep740": "yes"}},
        tl,
        findings,
        skipped,
    )


def test_json_v1_shape() -> None:
    doc = json.loads(renderer_for(Format.JSON).render(investigation()))
    assert doc["schema"] == SCHEMA == "forensics.report/v1.1"
    assert doc["project"] == "widget" and doc["as_of"] == "2024-12-10T12:00:00Z"
    assert doc["sources"]["index"]["pep740"] == "yes"
    rel = {r["version"]: r for r in doc["releases"]}
    assert rel["1.1"]["state"] == "lost" and rel["1.1"]["deleted"] is False
    f = rel["1.0"]["files"][0]
    assert set(f) >= {"filename", "sha256", "size", "upload_time", "yanked", "provenance"}
    prov = f["provenance"]
    assert prov["status"] == "verified"
    assert prov["publisher"] == {
        "kind": "GitHub",
        "repository": "acme/widget",
        "workflow": "publish.yml",
        "environment": "pypi",
    }
    assert len(prov["claims"]["source_commit"]) == 40
    assert (
        prov["log_entries"][0]["log_index"] == 1000 and prov["log_entries"][0]["verified"] is True
    )
    (finding,) = doc["findings"]
    assert set(finding) >= {
        "id",
        "detector",
        "severity",
        "confidence",
        "version",
        "filename",
        "summary",
        "evidence",
    }
    assert finding["detector"] == "provenance-lost" and finding["evidence"]
    assert {
        "detector": "unlisted-log-entry",
        "reason": "no transparency-log source was given",
    } in doc["skipped"]


def test_json_is_byte_identical_across_runs() -> None:
    assert renderer_for(Format.JSON).render(investigation()) == renderer_for(Format.JSON).render(
        investigation()
    )


def hostile() -> Investigation:
    name = "<img src=x onerror=alert(1)>[red]boom[/red]|*x*.tar.gz"
    d = dist("1.0", name, T0)
    fp = FileProvenance(ProvenanceStatus.UNKNOWN, "<script>alert(1)</script> [bold]x[/bold]")
    tl = build_timeline(
        "widget", [d], {name: fp}, pep740=Pep740Support.NO, pep740_reason="<b>no</b>"
    )
    return Investigation(
        "widget",
        T0,
        {"index": {"base_url": "https://x", "pep740": "no", "pep740_reason": "<b>no</b>"}},
        tl,
        (),
        (),
        problems=("<iframe>[red]boom[/red]",),
    )


def test_markdown_escapes_html_and_markdown() -> None:
    md = renderer_for(Format.MARKDOWN).render(hostile())
    assert "<b>" not in md and "<iframe>" not in md and "&lt;iframe&gt;" in md
    assert "\\[red\\]boom" in md  # Markdown specials are escaped in prose
    name = "<img src=x onerror=alert(1)>[red]boom[/red]|*x*.tar.gz"
    assert md_code(name, table=True) in md  # and literal inside a fenced code span
    assert "| `1.0` |" in md


def test_text_does_not_interpret_rich_markup() -> None:
    text = renderer_for(Format.TEXT, width=200).render(hostile())
    assert "<b>no</b>" in text  # printed literally, not interpreted
    assert "problem: <iframe>[red]boom[/red]" in text


def test_html_escapes_and_is_deterministic() -> None:
    page = renderer_for(Format.HTML).render(hostile())
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "<iframe>" not in page
    assert "<svg" in page
    assert page == renderer_for(Format.HTML).render(hostile())


def test_plots_return_figures_without_global_state() -> None:
    import matplotlib.pyplot as plt

    from forensics.reports.plots import coverage_figure, timeline_figure

    before = plt.get_fignums()
    figs = [timeline_figure(investigation()), coverage_figure(investigation())]
    assert all(f.axes for f in figs)
    assert plt.get_fignums() == before


def test_sarif_maps_findings_to_rules_and_levels() -> None:
    doc = json.loads(renderer_for(Format.SARIF).render(investigation()))
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    (result,) = run["results"]
    assert result["ruleId"] == "provenance-lost"
    assert rule_ids[result["ruleIndex"]] == "provenance-lost"
    assert result["level"] == "error"  # high severity
    assert result["properties"]["confidence"] == "medium"
    assert result["locations"][0]["logicalLocations"][0]["name"] == "widget==1.1"
    assert result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(
        "https://"
    )
