"""Shared fixtures: the real-data folder (skipped when absent) and an isolated sigstore cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_DATA = Path(
    os.environ.get(
        "FORENSICS_REAL_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "real-data"
    )
).resolve()


@pytest.fixture(autouse=True)
def _isolated_xdg(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sigstore-python writes a TUF cache under ~/.cache even offline; keep it out of $HOME."""
    base = tmp_path_factory.getbasetemp() / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """../shared/real-data, or skip: a fresh clone without it must still pass."""
    if not (REAL_DATA / "INDEX.md").exists():
        pytest.skip(f"real data not available at {REAL_DATA}")
    return REAL_DATA
