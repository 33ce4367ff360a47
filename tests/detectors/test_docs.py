"""docs/detectors.md is generated from the registry and must be current."""

from pathlib import Path

from forensics.detectors.docs import render


def test_detector_docs_are_current() -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / "detectors.md"
    assert path.read_text(encoding="utf-8") == render(), (
        "docs/detectors.md is stale: run `python -m forensics.detectors.docs > docs/detectors.md`"
    )
