"""Verdict-first reports, coverage, exports, and hostile text in every output format."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import forensics
from forensics.analysis import Investigation
from forensics.cli import main
from forensics.detectors import AnalysisContext, Requirement, run_detectors
from forensics.detectors.registry import DETECTORS
from forensics.models import (
    Confidence,
    EvidenceRef,
    Finding,
    LogEntry,
    Pep740Support,
    ProvenanceStatus,
    Publisher,
    Severity,
    Skipped,
)
from forensics.reports import Format, renderer_for
from forensics.reports.sanitize import md_code
from forensics.timeline import RecoveredEntry, ReportedRelease, build_timeline
from forensics.verdict import CheckStatus, Verdict, assess
from tests.factories import T0, attested, dist

CASE = Path(__file__).resolve().parents[2] / "cases" / "ultralytics" / "case"
FLAGGED = ("8.3.41", "8.3.42", "8.3.45", "8.3.46")


@pytest.fixture(scope="module")
def ultralytics() -> Investigation:
    return forensics.investigate("ultralytics", case=CASE, offline=True)


def test_bundled_case_verdicts_name_the_four_bad_releases(ultralytics: Investigation) -> None:
    a = assess(ultralytics)
    flagged = {v.version: v for v in a.attention()}
    assert set(flagged) == set(FLAGGED)
    assert all(v.verdict is Verdict.SUSPICIOUS and v.reasons for v in flagged.values())
    assert all(v.trust.value == "simulated" for v in flagged.values())
    # Every check ran but the corroboration of releases without attestations from the source
    # repository the index names: the bundled case's index names none (honest, not a gap hidden).
    n = len(DETECTORS)
    assert a.coverage.summary() == f"{n - 1} of {n} checks ran fully"
    assert [c.check for c in a.coverage.checks if c.status is not CheckStatus.RAN] == [
        "source-tag-missing"
    ]
    assert any("8.3.41 is gone from the index" in k for k in a.known)
    assert any("8.3.45: its files" in u for u in a.unknown)
    assert a.notes_summary == "the case records 13 simulated aspects and 1 other note"
    # the 8.3.42 entry that records no file name still names the version it belongs to
    summaries = [f.summary for f in ultralytics.findings if f.version == "8.3.42"]
    assert not any("unnamed subject" in s for s in summaries)


def test_first_25_text_lines_name_each_flagged_release_with_verdict_and_reason(
    ultralytics: Investigation,
) -> None:
    head = renderer_for(Format.TEXT, width=100).render(ultralytics).splitlines()[:25]
    for version in FLAGGED:
        line = next(line for line in head if f" {version} " in line)
        assert "SUSPICIOUS" in line and len(line.split("]", 1)[-1].strip()) > 10
    n = len(DETECTORS)
    assert any(line.startswith(f"Coverage: {n - 1} of {n} checks ran fully") for line in head)
    assert sum("note:" in line for line in head) == 0, "notes are one line, details at the end"


def test_json_v11_adds_verdicts_and_coverage(ultralytics: Investigation) -> None:
    doc = json.loads(renderer_for(Format.JSON).render(ultralytics))
    assert doc["schema"] == "forensics.report/v1.1"
    verdicts = {v["version"]: v for v in doc["verdicts"]}
    assert {v for v, d in verdicts.items() if d["verdict"] == "suspicious"} == set(FLAGGED)
    assert doc["coverage"]["total"] == len(DETECTORS) and doc["coverage"]["complete"] is False
    assert doc["known"] and doc["unknown"]
    sarif = json.loads(renderer_for(Format.SARIF).render(ultralytics))
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is doc["coverage"]["complete"]
    assert {v["version"] for v in sarif["runs"][0]["properties"]["verdicts"]} == set(FLAGGED)


def skipped_everything() -> Investigation:
    files = [dist("1.0", "widget-1.0.tar.gz", T0)]
    prov = {
        "widget-1.0.tar.gz": forensics.models.FileProvenance(
            ProvenanceStatus.UNKNOWN, "this index does not serve PEP 740"
        )
    }
    tl = build_timeline(
        "widget",
        files,
        prov,
        pep740=Pep740Support.NO,
        pep740_reason="this index does not serve PEP 740",
    )
    ctx = AnalysisContext(
        "widget",
        T0,
        tl,
        frozenset({Requirement.REKOR, Requirement.GITHUB}),
        {Requirement.PEP740: "this index does not serve PEP 740"},
    )
    findings, skipped = run_detectors(ctx)
    lookups = tuple(
        Skipped("transparency-log", f"search sha256:{i:064x} could not be checked: log unreachable")
        for i in range(1700)
    )
    return Investigation(
        "widget",
        T0,
        {"index": {"base_url": "https://x", "pep740": "no", "pep740_reason": "no PEP 740"}},
        tl,
        findings,
        skipped + lookups,
    )


def test_coverage_groups_causes_and_counts_failed_lookups() -> None:
    inv = skipped_everything()
    cov = assess(inv).coverage
    # only the checks that need nothing but the index ran
    assert not cov.complete
    assert set(cov.ran) == {d.info.id for d in DETECTORS if not d.info.requires}
    lines = cov.headlines()
    pep740 = sum(Requirement.PEP740 in d.info.requires for d in DETECTORS)
    assert any(
        line.startswith(f"{pep740} of {len(DETECTORS)} checks could not run: this index does not")
        for line in lines
    )
    assert any("could not run: no attested commit, run or tag" in line for line in lines)
    assert any(
        "the transparency log could not be reached (1700 lookups failed)" in line for line in lines
    )
    assert cov.missing_for(Severity.LOW)
    text = renderer_for(Format.TEXT, width=120).render(inv)
    assert len(text.splitlines()) < 60, "1,700 failed lookups are one counted line"
    assert "1700 × transparency-log: log unreachable" in text
    assert {c.status for c in cov.checks if c.check not in cov.ran} == {CheckStatus.NOT_RUN}


def test_markdown_code_spans_show_no_backslashes() -> None:
    assert md_code("trusted_root.json") == "`trusted_root.json`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x") == "`` `x ``"


def test_timesketch_exports_follow_the_importer_field_rules(ultralytics: Investigation) -> None:
    jsonl = renderer_for(Format.TIMESKETCH).render(ultralytics)
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert len(records) == len(ultralytics.timeline.events) > 0
    for rec in records:
        # the three fields timesketch-import-client needs, datetime as ISO 8601
        assert rec["message"] and rec["timestamp_desc"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", rec["datetime"])
        assert isinstance(rec["timestamp"], int) and ":" in rec["data_type"]
        assert isinstance(rec["tag"], list)
    types = {r["data_type"] for r in records}
    assert {"pypi:file:upload", "rekor:entry", "rekor:entry:unlisted"} <= types
    tagged = {r["version"]: r["tag"] for r in records if r["tag"]}
    assert "unlisted-log-entry" in tagged["8.3.41"]
    # CSV: read as the importer reads it (pandas.read_csv), same rows and required columns
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(io.StringIO(renderer_for(Format.TIMESKETCH_CSV).render(ultralytics)))
    assert len(frame) == len(records)
    assert {"message", "datetime", "timestamp_desc"} <= set(frame.columns)
    assert pd.to_datetime(frame["datetime"], utc=True, format="ISO8601").notna().all()
    events = ultralytics.events_frame()
    assert len(events) == len(records) and str(events["datetime"].dt.tz) == "UTC"


# --- hostile text ---------------------------------------------------------------------------

H = "\x1b[2J<script>alert(1)</script>[red]x[/red]*_`|$x$ \u202e\x9b31m\r\n# <img src=x>"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")


def hostile() -> Investigation:
    evil_pub = Publisher("GitHub", f"acme/{H}", f"{H}.yml", H)
    ref = EvidenceRef(f"https://evil.example/{H}", "0" * 64, T0, note=H)
    good = dist("1.0", f"widget-1.0{H}.tar.gz", T0)
    good = replace(good, yanked=True, yanked_reason=H, url=f"https://x/{H}")
    fp = attested(
        good.filename,
        T0,
        publisher=evil_pub,
        claims={"source_commit": H, "source_ref": H, "run_url": f"https://x/{H}"},
    )
    recovered = RecoveredEntry(
        LogEntry(7, T0 + timedelta(days=1), "dsse/0.0.1", verified=True),
        {"source_commit": H, "source_ref": H, "build_signer_uri": H},
        H,
        None,
        f"2.0{H}",
        "intel",
        (ref,),
        note=H,
    )
    reported = ReportedRelease(f"3.0{H}", H, H, (ref,), T0 + timedelta(days=2))
    tl = build_timeline(
        "widget",
        [good],
        {good.filename: fp},
        pep740=Pep740Support.YES,
        pep740_reason=H,
        recovered=[recovered],
        reported=[reported],
    )
    finding = Finding(
        "release-commit-edits-workflow",
        Severity.HIGH,
        Confidence.HIGH,
        f"commit by author {H}: {H}",
        f"2.0{H}",
        good.filename,
        (ref,),
        {"author": H},
        tip=H,
    )
    return Investigation(
        "widget",
        T0 + timedelta(days=3),
        {"index": {"base_url": f"https://x/{H}", "pep740": "yes"}, "rekor": {"base_url": H}},
        tl,
        (finding,),
        (Skipped("github", f"commit {H} could not be checked: {H}"), Skipped("missing-tag", H)),
        simulated=True,
        notes=(H, f"simulated: {H}"),
        problems=(H,),
    )


def _holds(doc: object, text: str) -> bool:
    if isinstance(doc, str):
        return text in doc
    if isinstance(doc, dict):
        return any(_holds(v, text) for v in doc.values())
    if isinstance(doc, list):
        return any(_holds(v, text) for v in doc)
    return False


@pytest.mark.parametrize("fmt", list(Format))
def test_hostile_text_never_reaches_any_format_raw(fmt: Format) -> None:
    out = renderer_for(fmt, width=120).render(hostile())
    body = out.replace("\n", "")
    assert not RAW.search(body), f"{fmt}: raw control character {RAW.search(body)!r}"
    if fmt in (Format.HTML, Format.MARKDOWN):
        # Markdown code spans show their content literally (CommonMark), so markup may only
        # appear inside one
        prose = re.sub(r"(`+)(.+?)\1", "", out) if fmt is Format.MARKDOWN else out
        assert "<script>" not in prose and "<img src=x>" not in prose
    if fmt in (Format.JSON, Format.SARIF):
        # data is kept: the hostile string round-trips exactly
        assert _holds(json.loads(out), H)
    if fmt is Format.TIMESKETCH:
        assert any("\\\\x1b[2J" in line for line in out.splitlines())
    if fmt is Format.TIMESKETCH_CSV:
        rows = list(csv.reader(io.StringIO(out)))
        assert all(not RAW.search(cell) for row in rows for cell in row)
    if fmt is Format.HTML:
        assert "&lt;script&gt;" in out and "\\x1b[2J" in out
    if fmt is Format.MARKDOWN:
        assert "&lt;script&gt;" in out
        assert "\\[red\\]x" in out
    if fmt is Format.TEXT:
        assert "\\x1b[2J" in out and "[red]x[/red]" in out  # visible and literal


def test_hostile_html_titles_are_escaped() -> None:
    from forensics.reports.html import svg_timeline

    svg = svg_timeline(hostile())
    titles = re.findall(r"<title>(.*?)</title>", svg, flags=re.DOTALL)
    assert titles and all("<" not in t and not RAW.search(t) for t in titles)


# --- CLI ----------------------------------------------------------------------------------


def test_cli_validates_before_creating(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["investigate", "widget", "--case", str(afile)]) == 2
    assert "is a file, not a case directory" in capsys.readouterr().err
    out = tmp_path / "missing" / "r.html"
    case = tmp_path / "never"
    assert main(["investigate", "widget", "--case", str(case), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error[usage]") and "does not exist" in err and not case.exists()
    assert main(["investigate", "wid get!", "--case", str(case)]) == 2
    assert not case.exists()


def test_cli_suggests_close_matches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["investigate", "x", "--fail-onn", "low"]) == 2
    assert "did you mean: --fail-onn -> --fail-on" in capsys.readouterr().err
    assert main(["investigte", "x"]) == 2
    assert "investigte -> investigate" in capsys.readouterr().err


def test_cli_help_documents_every_option_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    from forensics.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and "investigate" in a.choices)
    inv = sub.choices["investigate"]  # type: ignore[index]
    for action in inv._actions:
        assert action.help, f"no help for {action.option_strings or action.dest}"
    assert main(["investigate", "--help"]) == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text and "--allow-partial" in text and "examples:" in text


def test_identity_failures_name_the_claim_not_a_python_repr() -> None:
    from forensics.provenance.verify import _plain_policy_error

    raw = (
        "Certificate's Build Config URI (<Extension(oid=<ObjectIdentifier(oid=1.3.6.1.4.1.57264."
        "1.18, name=Unknown OID)>, critical=False, value=<UnrecognizedExtension(oid=<Object"
        "Identifier(oid=1.3.6.1.4.1.57264.1.18, name=Unknown OID)>, value=b'\\x0c')>)>) does not "
        "match expected Trusted Publisher (publish.yml @ acme/widget)"
    )
    uri = "https://github.com/acme/widget/.github/workflows/evil.yml@refs/heads/main"
    plain = _plain_policy_error(raw, {"build_config": uri})
    assert "<Extension" not in plain and "ObjectIdentifier" not in plain
    assert f"claim build_config = {uri}" in plain and "publish.yml @ acme/widget" in plain
    assert _plain_policy_error("plain words", {}) == "plain words"


@pytest.mark.parametrize("fmt", list(Format))
def test_a_project_without_releases_renders_in_every_format(fmt: Format) -> None:
    import warnings

    tl = build_timeline("empty", [], {}, pep740=Pep740Support.YES)
    inv = Investigation("empty", T0, {}, tl, (), ())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = renderer_for(fmt).render(inv)
    assert fmt in (Format.TIMESKETCH,) or out


def test_an_incomplete_collection_makes_every_check_partial_and_fails_the_gate(
    ultralytics: Investigation,
) -> None:
    sources = {**ultralytics.sources, "case": {**ultralytics.sources["case"], "complete": False}}
    inv = replace(ultralytics, sources=sources, findings=())
    cov = assess(inv).coverage
    assert not cov.complete and cov.ran == ()
    assert any("collection is incomplete" in line for line in cov.headlines())
    assert cov.missing_for(Severity.LOW)
    text = renderer_for(Format.TEXT, width=120).render(inv).splitlines()[:12]
    assert any("collection is incomplete" in line for line in text)
