"""The anomaly scan over every shipped scenario: what each scenario documents as standing out
(`expect.flag`) is flagged at medium severity or above, and its clean releases are not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from forensics.api import investigate
from forensics.models import Severity
from forensics_lab.scenario import load_scenario, shipped_scenarios
from forensics_lab.serve import LabServer

#: Clean worlds the pairwise claim comparison still misreads (issue 9, failure class 2: a
#: pre-release segment in a tag ref, or a backport line compared with another line, reads as a
#: drift). They pass once claims are judged against the per-line baseline; until then they are
#: expected failures, kept visible rather than removed.
PER_LINE_BASELINE = {"clean-lts-and-main-lines", "clean-prerelease-heavy"}
SCENARIOS = [
    pytest.param(
        name,
        marks=pytest.mark.xfail(reason="claim-drift compares across pre-release refs and lines"),
    )
    if name in PER_LINE_BASELINE
    else name
    for name in sorted(shipped_scenarios())
]


@pytest.mark.parametrize("name", SCENARIOS)
def test_scan_flags_what_the_scenario_documents(
    name: str, serve: Callable[..., LabServer], built: Callable[[str], Path], tmp_path: Path
) -> None:
    world = built(name)
    server = serve(name)
    inv = investigate(
        server.world.project,
        index_url=server.url,
        rekor_url=server.url,
        github_url=server.url,
        intel=world / "intel.toml",
        case=tmp_path / "case",
        trust_root=world / "trusted_root.json",
    )
    flagged = {
        f.version for f in inv.findings if f.severity.rank >= Severity.MEDIUM.rank and f.version
    }
    expect = load_scenario(shipped_scenarios()[name]).expect
    assert set(expect.flag) <= flagged, f"missed: {sorted(set(expect.flag) - flagged)}"
    noisy = set(expect.clean) & flagged
    assert not noisy, [f.summary for f in inv.findings if f.version in noisy]
    assert not any(s.reason for s in inv.skipped if s.detector in ("github", "transparency-log")), [
        s.reason for s in inv.skipped if s.detector in ("github", "transparency-log")
    ]
