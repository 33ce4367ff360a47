"""The investigation notebooks: they execute cleanly from a fresh clone and show what they claim.

Each notebook is copied to a temporary folder and executed there with nbclient on the `python3`
kernel, with the working directory set to `notebooks/` (the notebooks use paths relative to it),
so the committed files are never rewritten by a test run. The committed copies are also checked
for being commit-ready: executed, error-free, and free of run-specific noise.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from forensics_lab.scenario import shipped_scenarios

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["ultralytics-investigation.ipynb", "attack-gallery.ipynb"]


def _texts(nb: Any) -> str:
    """Every textual output (streams, markdown, plain text, HTML) joined, for fact checks."""
    parts: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                parts.append(out["text"])
            elif out["output_type"] in ("execute_result", "display_data"):
                for mime in ("text/markdown", "text/plain", "text/html"):
                    if mime in out["data"]:
                        parts.append(str(out["data"][mime]))
            elif out["output_type"] == "error":
                parts.append(f"{out['ename']}: {out['evalue']}")
    return "\n".join(parts)


def _images(nb: Any) -> int:
    return sum(
        1
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out["output_type"] in ("execute_result", "display_data") and "image/png" in out["data"]
    )


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Execute each notebook once per test module (a temporary copy, cwd = notebooks/)."""
    out: dict[str, Any] = {}
    tmp = tmp_path_factory.mktemp("notebooks")
    for name in NAMES:
        copy = tmp / name
        shutil.copyfile(NOTEBOOKS / name, copy)
        nb = nbformat.read(copy, as_version=4)  # type: ignore[no-untyped-call]  # untyped upstream
        # Fresh run: drop the committed outputs so a fact can only come from this execution.
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        # raises CellExecutionError (with the failing cell's traceback) on any cell error
        NotebookClient(
            nb,
            kernel_name="python3",
            timeout=240,
            resources={"metadata": {"path": str(NOTEBOOKS)}},
        ).execute()
        nbformat.write(nb, copy)  # type: ignore[no-untyped-call]  # untyped upstream
        out[name] = nb
    return out


def test_every_code_cell_ran_without_error(executed: dict[str, Any]) -> None:
    for name, nb in executed.items():
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            assert cell.execution_count is not None, f"{name}: a cell did not run"
            errors = [o for o in cell.outputs if o["output_type"] == "error"]
            assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
            stderr = [o["text"] for o in cell.outputs if o.get("name") == "stderr"]
            assert not stderr, f"{name}: a cell wrote to stderr: {stderr[0][:300]}"


def test_ultralytics_notebook_states_the_facts(executed: dict[str, Any]) -> None:
    nb = executed["ultralytics-investigation.ipynb"]
    text = _texts(nb)
    assert "**Simulated lab reconstruction.**" in text
    assert "lab reconstruction of scenario 'ultralytics-2024-12'" in text
    # the closing cell is generated from the data: recovered and reported-only releases
    assert "8.3.41 is gone from the index, but 2 log entries" in text
    assert "8.3.42 is gone from the index" in text
    assert "8.3.45 is reported by" in text
    assert "8.3.46 is reported by" in text
    assert "### What is unknown" in text
    # the verdicts come first, from the same code as every report format
    assert "4 suspicious, 0 inconsistent, 0 unknown, 9 clean" in text
    assert re.search(r"coverage: \d+ of \d+ checks ran fully", text)
    for version in ("8.3.41", "8.3.42", "8.3.45", "8.3.46"):
        assert re.search(rf"{re.escape(version)}\s+suspicious", text), version
    # the Rekor lookup answered from the case's store and every check passed
    assert "| verified | yes |" in text
    assert "| inclusion_proof | pass |" in text
    assert "lookup by UUID returns the same entry: True" in text
    assert "every one is present in the case and still hashes to its name" in text
    assert _images(nb) == 2, "the timeline and coverage figures"


def test_gallery_covers_every_shipped_scenario(executed: dict[str, Any]) -> None:
    nb = executed["attack-gallery.ipynb"]
    text = _texts(nb)
    scenarios = shipped_scenarios()
    assert f"{len(scenarios)} scenarios built, collected over loopback and scanned" in text
    for name in scenarios:
        assert name in text, f"scenario {name} missing from the gallery"
    summary = re.search(r"(\d+) of (\d+) expected flags caught; (\d+) missed", text)
    assert summary is not None
    caught, expected, missed = map(int, summary.groups())
    assert expected > 0
    assert caught + missed == expected


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_commit_ready(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)  # type: ignore[no-untyped-call]  # untyped
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.execution_count is not None for c in code), "commit the executed notebook"
    assert not any(o["output_type"] == "error" for c in code for o in c.outputs)
    text = _texts(nb)
    # run-specific noise that would make every re-execution a diff
    assert not re.search(r" at 0x[0-9a-f]{6,}", text), "memory address in outputs"
    assert "/tmp/" not in text, "temporary path in outputs"
    assert not any("execution" in c.metadata for c in code), "per-cell timing recorded"
