"""`--as-of` is a real cut-off: a case collected twice, analysed as of the first collection,
gives the first collection's report (evidence retrieved later is not used)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forensics.api import collect
from forensics.cli import main
from forensics.evidence import EvidenceStore
from forensics.trust import TrustMaterial
from forensics_lab.serve import LabServer

FIRST = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
SECOND = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
INDEX_THEN = datetime(2024, 12, 7, 6, 0, tzinfo=UTC)  # 8.3.45/8.3.46 still served


def _collect(server: LabServer, world: Path, case: Path, when: datetime) -> None:
    with EvidenceStore.open(case) as store:
        collect(
            "ultralytics",
            store,
            index_url=server.url,
            rekor_url=server.url,
            github_url=server.url,
            intel=world / "intel.toml",
            trust=TrustMaterial((world / "trusted_root.json").read_bytes(), "lab root"),
            concurrency=2,
            clock=lambda: when,
        )


def _report(case: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    argv = ["investigate", "ultralytics", "--case", str(case), "--offline", "--format", "json"]
    assert main([*argv, *extra]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def test_a_case_collected_twice_analysed_as_of_the_first_gives_the_first_report(
    serve: Callable[..., LabServer],
    built: Callable[[str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = built("ultralytics-2024-12")
    then = serve("ultralytics-2024-12", as_of=INDEX_THEN)
    case = tmp_path / "case"
    _collect(then, world, case, FIRST)
    port = then.port
    then.stop()
    first_only = tmp_path / "first-only"
    shutil.copytree(case, first_only)
    first = _report(first_only, capsys)

    # The same sources (same URLs), a month later: the index no longer serves 8.3.45/8.3.46.
    now = serve("ultralytics-2024-12", port=port)
    _collect(now, world, case, SECOND)
    latest = _report(case, capsys)
    assert latest["as_of"] == "2026-02-10T09:00:00Z"
    states = {r["version"]: r["deleted"] for r in latest["releases"]}
    assert states["8.3.45"] is True
    assert {r["version"]: r["deleted"] for r in first["releases"]}["8.3.45"] is False

    cut = _report(case, capsys, "--as-of", "2026-01-10T09:00:00Z")
    assert cut["sources"]["case"]["digest"] != first["sources"]["case"]["digest"]
    cut["sources"]["case"] = first["sources"]["case"]  # the case holds more; the answer does not
    for doc in (cut, first):  # how this run verified (cache path, counts) is not the answer
        doc.pop("run", None)
    assert cut == first

    # Before any retrieval there is nothing to analyse: said, not guessed.
    assert main(["investigate", "ultralytics", "--case", str(case), "--offline",
                 "--as-of", "2025-01-01T00:00:00Z"]) == 2  # fmt: skip
    assert "no evidence retrieved at or before 2025-01-01T00:00:00Z" in capsys.readouterr().err
