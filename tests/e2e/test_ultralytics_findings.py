"""The bundled Ultralytics case, analysed offline: exactly the four malicious releases are high."""

from __future__ import annotations

from pathlib import Path

import forensics
from forensics.models import Severity

CASE = Path(__file__).resolve().parents[2] / "cases" / "ultralytics" / "case"


def test_ultralytics_flags_exactly_the_malicious_releases() -> None:
    inv = forensics.investigate("ultralytics", case=CASE, offline=True)
    high = {f.version for f in inv.findings if f.severity.rank >= Severity.HIGH.rank}
    assert high == {"8.3.41", "8.3.42", "8.3.45", "8.3.46"}
    noisy = [
        f.summary
        for f in inv.findings
        if f.version in ("8.3.43", "8.3.44") and f.severity.rank >= Severity.MEDIUM.rank
    ]
    assert not noisy
    ids = [f.id for f in inv.findings]
    assert len(ids) == len(set(ids))
