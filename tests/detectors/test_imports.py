"""Detectors read only the joined timeline: they import nothing from collect, rekor or evidence."""

from __future__ import annotations

import ast
from pathlib import Path

import forensics.detectors

ALLOWED = ("forensics.timeline", "forensics.models", "forensics.versions", "forensics.detectors")


def test_detectors_import_only_the_timeline_models_and_versions() -> None:
    root = Path(forensics.detectors.__file__).parent
    bad = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("forensics")
            ):
                if not node.module.startswith(ALLOWED):
                    bad.append(f"{path.name}: {node.module}")
            elif isinstance(node, ast.Import):
                bad += [
                    f"{path.name}: {a.name}" for a in node.names if a.name.startswith("forensics")
                ]
    assert not bad, bad
