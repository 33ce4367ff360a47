"""`forensics eval` over every shipped scenario: each scenario's must-flag releases are flagged as
its `[expect]` table requires, and no clean release gets a finding above `quiet_above`. The
scoring, the CLI, JSON lines and scenarios from outside the repository are tested too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensics.cli import main
from forensics.models import Confidence, Finding, Severity
from forensics_lab.eval import investigate_scenario, score, summary, summary_line
from forensics_lab.scenario import Expectation, FlagRule, load_scenario, shipped_scenarios

#: Clean worlds the pairwise claim comparison still misreads (issue 9, failure class 2: a
#: pre-release segment in a tag ref, or a backport line compared with another line, reads as a
#: drift). They pass once claims are judged against the per-line baseline; until then they are
#: expected failures, kept visible rather than removed.
SCENARIOS = sorted(shipped_scenarios())


@pytest.mark.parametrize("name", SCENARIOS)
def test_eval_scores_the_shipped_scenario(name: str, tmp_path: Path) -> None:
    path = shipped_scenarios()[name]
    sname, expect, findings = investigate_scenario(path, tmp_path)
    result = score(sname, str(path), expect, findings)
    assert not result.misses, [(m.version, m.got) for m in result.misses]
    assert not result.false_alarms, [f.summary for f in result.false_alarms]


def _f(version: str, detector: str, severity: Severity) -> Finding:
    return Finding(detector, severity, Confidence.HIGH, "s", version, None, ())


def test_score_counts_hits_misses_detectors_and_false_alarms() -> None:
    expect = Expectation(
        flag={"1.1": "a", "1.2": "b", "1.3": "c"},
        clean=("1.0",),
        rules={
            "1.1": FlagRule("medium"),
            "1.2": FlagRule("high", "provenance-lost"),
            "1.3": FlagRule("medium"),
        },
    )
    found = [
        _f("1.1", "claim-drift", Severity.MEDIUM),
        _f("1.2", "claim-drift", Severity.HIGH),  # wrong detector: a miss
        _f("1.0", "claim-drift", Severity.MEDIUM),  # above quiet_above=low on a clean release
        _f("1.0", "claim-drift", Severity.LOW),
    ]
    s = score("x", "x.toml", expect, found)
    assert (s.hits, s.must_flag) == (1, 3)
    assert [m.version for m in s.misses] == ["1.2", "1.3"]
    assert s.misses[1].got == "no finding"
    assert [f.severity for f in s.false_alarms] == [Severity.MEDIUM]
    assert s.detectors_named == {"provenance-lost": (0, 1)}
    total = summary([s])
    assert summary_line(total).startswith("must-flag recall 1/3 (33.3 %), false alarms")
    assert total["detectors"]["claim-drift"]["fp"] == 1


def test_expect_rules_parse_and_reject_bad_severity(tmp_path: Path) -> None:
    src = shipped_scenarios()["attack-token-after-tp"].read_text(encoding="utf-8")
    rule = '"2.3.1" = {min_severity = "high", detector = "provenance-lost", why = "token"}'
    good = src.split("[expect.flag]")[0] + "[expect.flag]\n" + rule + "\n"
    path = tmp_path / "outside.toml"
    path.write_text(good, encoding="utf-8")
    expect = load_scenario(path).expect
    assert expect.rules["2.3.1"] == FlagRule("high", "provenance-lost", "token")
    assert expect.quiet_above == "low"
    path.write_text(good.replace('"high"', '"severe"'), encoding="utf-8")
    from forensics.errors import ForensicsError

    with pytest.raises(ForensicsError, match="min_severity"):
        load_scenario(path)


def test_eval_cli_on_a_scenario_outside_the_repo_prints_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere" / "token.toml"
    outside.parent.mkdir()
    outside.write_text(
        shipped_scenarios()["attack-token-after-tp"].read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert main(["eval", str(outside.parent), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["kind"] for line in lines] == ["scenario", "summary"]
    assert lines[0]["hits"] == lines[0]["must_flag"] == 1
    assert lines[1]["line"].startswith("must-flag recall 1/1 (100.0 %)")


def test_eval_cli_bad_input_exits_2(tmp_path: Path) -> None:
    assert main(["eval", str(tmp_path / "nope.toml")]) == 2


def test_eval_cli_a_scenario_that_does_not_build_is_not_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("x = [\n", encoding="utf-8")
    assert main(["eval", str(broken)]) == 2
    out, err = capsys.readouterr()
    assert "broken.toml:1" in out and "could not be built: broken" in err
    assert "n/a: nothing to flag" in out
