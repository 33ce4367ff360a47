"""End-to-end fixtures: shipped scenarios built into lab worlds, served on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from forensics_lab.build import build_world
from forensics_lab.scenario import load_scenario, shipped_scenarios
from forensics_lab.serve import LabServer


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build a shipped scenario once per session."""
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            out = tmp_path_factory.mktemp(name) / "world"
            cache[name] = build_world(load_scenario(shipped_scenarios()[name]), out)
        return cache[name]

    return get


@pytest.fixture
def serve(built: Callable[[str], Path]) -> Iterator[Callable[..., LabServer]]:
    """Serve a built scenario; every server is stopped after the test."""
    started: list[LabServer] = []

    def start(name: str, **kwargs: object) -> LabServer:
        server = LabServer(built(name), **kwargs).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        assert not server.errors, server.errors
