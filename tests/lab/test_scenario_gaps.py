"""Scenario keys for index-only histories and the lab GitHub endpoints they need: `[info]`,
a default `publish`, yank times, `github` tables on token releases, tag dates, the repository,
branches and compare endpoints, and real tag pagination with `Link` headers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from forensics_lab.build import build_world
from forensics_lab.scenario import ScenarioValidationError, parse_scenario
from forensics_lab.serve import LabServer

TOML = """
name = "gaps"
project = "gap-kit"
description = "token uploads with hand-made tags"
simulated = ["everything"]
publish = "token"

[info]
summary = "Gap kit"
author = "A. Maintainer"
project_urls = { Source = "https://github.com/gapkit/gap-kit", Docs = "https://gap.example" }

[publisher]
kind = "github"
repository = "gapkit/gap-kit"

[github]
created_at = 2023-01-01T00:00:00Z

[[github.tags]]
name = "old-marker"
commit = "1111111111111111111111111111111111111111"
created_at = 2024-01-01T00:00:00Z
deleted_at = 2024-06-01T00:00:00Z
"""


def release(version: str, day: int, extra: str = "") -> str:
    return (
        f'\n[[releases]]\nversion = "{version}"\n'
        f"upload_time = 2024-03-{day:02d}T10:00:00Z\ngithub.tag = true\n{extra}"
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = TOML
    for i in range(1, 8):
        text += release(f"1.0.{i}", i)
    text += release(
        "1.1.0",
        20,
        'yanked = "Broken wheel"\nyanked_at = 2024-03-22T10:00:00Z\n',
    )
    scenario = parse_scenario(text, file="gaps.toml")
    return build_world(scenario, tmp_path_factory.mktemp("gaps") / "w")


def test_info_and_default_publish(world: Path) -> None:
    with LabServer(world) as server:
        doc = httpx.get(f"{server.url}/pypi/gap-kit/json").json()
        assert doc["info"]["summary"] == "Gap kit"
        assert doc["info"]["project_urls"]["Source"] == "https://github.com/gapkit/gap-kit"
        # the scenario-level `publish = "token"`: no file has provenance
        simple = httpx.get(
            f"{server.url}/simple/gap-kit/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        ).json()
        assert all(f["provenance"] is None for f in simple["files"])


def test_yank_time_is_respected(world: Path) -> None:
    before = datetime(2024, 3, 21, tzinfo=UTC)
    with LabServer(world, as_of=before) as server:
        files = httpx.get(f"{server.url}/pypi/gap-kit/json").json()["releases"]["1.1.0"]
        assert not files[0]["yanked"]
    with LabServer(world) as server:
        files = httpx.get(f"{server.url}/pypi/gap-kit/json").json()["releases"]["1.1.0"]
        assert files[0]["yanked"] and files[0]["yanked_reason"] == "Broken wheel"


def test_token_release_tags_paginate_with_link_headers(world: Path) -> None:
    with LabServer(world) as server:
        api = f"{server.url}/repos/gapkit/gap-kit"
        first = httpx.get(f"{api}/tags?per_page=3")
        assert [t["name"] for t in first.json()] == ["v1.1.0", "v1.0.7", "v1.0.6"]
        assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
        names: list[str] = []
        url: str | None = f"{api}/tags?per_page=3"
        while url:
            page = httpx.get(url)
            names += [t["name"] for t in page.json()]
            nxt = [p for p in page.headers.get("link", "").split(",") if 'rel="next"' in p]
            url = nxt[0].split(";")[0].strip(" <>") if nxt else None
        assert len(names) == 8 and "old-marker" not in names  # deleted before now
        assert len(httpx.get(f"{api}/tags?per_page=500").json()) == 8  # capped at 100


def test_tag_dates_follow_as_of(world: Path) -> None:
    with LabServer(world, as_of=datetime(2024, 2, 1, tzinfo=UTC)) as server:
        names = [t["name"] for t in httpx.get(f"{server.url}/repos/gapkit/gap-kit/tags").json()]
        assert names == ["old-marker"]


def test_repository_branches_and_compare(world: Path) -> None:
    with LabServer(world) as server:
        api = f"{server.url}/repos/gapkit/gap-kit"
        repo = httpx.get(api).json()
        assert repo["full_name"] == "gapkit/gap-kit"
        assert repo["created_at"] == "2023-01-01T00:00:00Z"
        assert isinstance(repo["id"], int) and isinstance(repo["owner"]["id"], int)
        branches = httpx.get(f"{api}/branches").json()
        assert [b["name"] for b in branches] == ["main"]
        cmp = httpx.get(f"{api}/compare/v1.0.1...main").json()
        assert cmp["status"] == "ahead" and cmp["ahead_by"] == 7
        back = httpx.get(f"{api}/compare/main...v1.0.1").json()
        assert back["status"] == "behind" and back["behind_by"] == 7


def test_bad_new_keys_are_errors_with_lines() -> None:
    bad = TOML.replace('summary = "Gap kit"', 'sumary = "Gap kit"') + release(
        "1.0.0", 1, "yanked_at = 2024-03-02T00:00:00Z\n"
    )
    with pytest.raises(ScenarioValidationError) as err:
        parse_scenario(bad, file="bad.toml")
    text = str(err.value)
    assert "bad.toml:" in text and "info.sumary: unknown key 'sumary'" in text
    assert "yank time needs 'yanked = true'" in text


GITLAB_IN_GITHUB = """
name = "kinds"
project = "kind-kit"
description = "a GitHub history with one release signed by a GitLab pipeline"
simulated = ["everything"]

[publisher]
kind = "github"
repository = "kindkit/kind-kit"

[[releases]]
version = "1.0.0"
upload_time = 2025-03-01T10:00:00Z

[[releases]]
version = "1.1.0"
upload_time = 2025-03-10T10:00:00Z
publisher.kind = "gitlab"
publisher.repository = "kindkit/kind-kit"
"""


def test_a_gitlab_release_in_a_github_history_verifies_as_gitlab(tmp_path: Path) -> None:
    from forensics.analysis import analyze
    from forensics.evidence import EvidenceStore
    from forensics.models import ProvenanceStatus
    from forensics_lab.case import build_case

    path = tmp_path / "kinds.toml"
    path.write_text(GITLAB_IN_GITHUB, encoding="utf-8")
    with EvidenceStore.open(build_case(path, tmp_path / "case")) as store:
        inv = analyze(store)
    rel = inv.timeline.release("1.1.0")
    assert rel is not None
    for fv in rel.files:
        assert fv.provenance.status is ProvenanceStatus.VERIFIED, fv.provenance.reason
        assert fv.provenance.publisher is not None
        assert fv.provenance.publisher.kind == "GitLab"
    old = inv.timeline.release("1.0.0")
    assert old is not None and old.files[0].provenance.publisher is not None
    assert old.files[0].provenance.publisher.kind == "GitHub"


def test_google_releases_cannot_switch_kind() -> None:
    text = """
name = "g"
project = "g-kit"
description = "d"
simulated = ["x"]
[publisher]
kind = "google"
email = "ci@g.iam.gserviceaccount.com"
[[releases]]
version = "1.0.0"
upload_time = 2025-03-01T10:00:00Z
publisher.kind = "github"
"""
    with pytest.raises(ScenarioValidationError, match="cannot switch kind"):
        parse_scenario(text, file="g.toml")
