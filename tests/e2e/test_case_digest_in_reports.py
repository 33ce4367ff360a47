"""The bundled cases are sealed, the README command runs on them, and every report format
prints the case digest."""

from __future__ import annotations

from pathlib import Path

import pytest

import forensics
from forensics.cli import main
from forensics.evidence import EvidenceStore
from forensics.reports import Format, renderer_for

CASES = Path(__file__).resolve().parents[2] / "cases" / "ultralytics"


@pytest.mark.parametrize("name", ["case", "case-2024-12-07"])
def test_bundled_cases_are_sealed_and_intact(name: str) -> None:
    with EvidenceStore.open(CASES / name, create=False) as store:
        check = store.check()
    assert check.ok and check.sealed_digest == check.digest


def test_readme_command_runs_and_every_format_prints_the_digest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = CASES / "case"
    assert main(["investigate", "ultralytics", "--case", str(case), "--offline"]) == 0
    with EvidenceStore.open(case, create=False) as store:
        digest = store.case_digest()
    assert f"case: digest {digest}" in capsys.readouterr().out
    inv = forensics.investigate("ultralytics", case=case, offline=True)
    assert inv.sources["case"]["digest"] == digest
    for fmt in (Format.JSON, Format.MARKDOWN, Format.HTML, Format.TEXT):
        assert digest in renderer_for(fmt, color=False).render(inv), fmt
