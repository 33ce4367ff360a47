"""Hostile index data through the whole pipeline: real lab server, real CLI, every report format.

A lone surrogate in a yank reason, a version key matplotlib would read as math text and a
duplicated filename listed under a foreign release: the run finishes with a report in every
format (never a traceback, never an empty `-o` file), the escaped text and the raw version key
appear in it, and the genuine file keeps its verdict.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from forensics.cli import main
from forensics_lab._tinyworld import write_tiny_world
from forensics_lab.serve import LabServer

MATH_VERSION = "$\\alpha^2$"


def _hostile(world: Path) -> Path:
    manifest = json.loads((world / "world.json").read_text())
    by_version = {r["version"]: r for r in manifest["releases"]}
    by_version["1.1.0"]["yanked_reason"] = "withdrawn \ud800 by the maintainer"
    genuine = by_version["1.0.0"]["files"][0]
    duplicate = dict(genuine, digests=dict(genuine["digests"], sha256="f" * 64))
    by_version["1.1.0"]["files"].append(duplicate)
    manifest["releases"].append(
        {
            "version": MATH_VERSION,
            "deleted_at": None,
            "yanked": False,
            "yanked_reason": None,
            "files": [],
        }
    )
    (world / "world.json").write_text(json.dumps(manifest))
    return world


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    world = _hostile(write_tiny_world(tmp_path_factory.mktemp("world")))
    srv = LabServer(world).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def case(server: LabServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    case = tmp_path_factory.mktemp("case") / "case"
    out = case.parent / "first.json"
    code = main(
        [
            "investigate",
            "demo-pkg",
            "--index-url",
            server.url,
            "--case",
            str(case),
            "--format",
            "json",
            "-o",
            str(out),
            "--no-progress",
        ]
    )
    assert code in (0, 1)
    return case


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html", "sarif"])
def test_every_format_is_written(case: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    code = main(
        [
            "investigate",
            "demo-pkg",
            "--case",
            str(case),
            "--offline",
            "--format",
            fmt,
            "-o",
            str(out),
            "--no-progress",
        ]
    )
    assert code in (0, 1)
    text = out.read_text("utf-8")
    assert text.strip()
    if fmt in ("json", "markdown", "text"):
        assert "\\ud800" in text or "\\\\ud800" in text  # kept, escaped, visible


def test_report_keeps_raw_version_and_the_genuine_verdict(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    main(
        [
            "investigate",
            "demo-pkg",
            "--case",
            str(case),
            "--offline",
            "--format",
            "json",
            "-o",
            str(out),
            "--no-progress",
        ]
    )
    report = json.loads(out.read_text("utf-8"))
    text = json.dumps(report)
    assert json.dumps(MATH_VERSION)[1:-1] in text
    assert (
        "not attributed: it is listed under release '1.1.0' but its filename is version 1.0.0"
        in text
    )
