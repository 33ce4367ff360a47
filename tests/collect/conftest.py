"""Fixtures for collector tests: a tiny lab world, a case store, a real httpx client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from forensics.collect.http import Fetcher
from forensics.evidence.store import EvidenceStore
from forensics_lab._tinyworld import write_tiny_world
from forensics_lab.serve import FaultPlan, LabServer
from tests.collect.support import Clock, RawServer


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="session")
def hostile_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_world(tmp_path_factory.mktemp("hostile"), hostile=True)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EvidenceStore]:
    with EvidenceStore.open(tmp_path / "case") as s:
        yield s


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as c:
        yield c


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_fetcher(
    client: httpx.Client, store: EvidenceStore, sleeps: list[float]
) -> Callable[..., Fetcher]:
    def make(**kwargs: object) -> Fetcher:
        options: dict[str, object] = {"source": "index", "clock": Clock(), "sleep": sleeps.append}
        options.update(kwargs)
        return Fetcher(client, store, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def serve(world: Path) -> Iterator[Callable[..., LabServer]]:
    """Start lab servers on demand (default: the tiny world); all are stopped after the test."""
    started: list[LabServer] = []

    def start(world_dir: Path = world, **kwargs: object) -> LabServer:
        kwargs.setdefault("faults", FaultPlan())
        server = LabServer(world_dir, **kwargs).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        assert server.errors == [], server.errors  # the lab itself must never fail


@pytest.fixture
def raw_server() -> Iterator[Callable[[bytes | None], RawServer]]:
    servers: list[RawServer] = []

    def make(payload: bytes | None) -> RawServer:
        servers.append(RawServer(payload))
        return servers[-1]

    yield make
    for s in servers:
        s.close()
