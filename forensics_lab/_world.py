"""Read a lab world directory (docs/architecture.md) into typed values for the loopback servers.

The servers never read a world file per request: the world is loaded and checked once, so a broken
world fails at start-up with the file and key at fault instead of as a 500 in the middle of a test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from forensics.errors import InputError
from forensics.models import parse_time

WORLD_SCHEMA = "forensics_lab.world/v1"


@dataclass(frozen=True)
class WorldFile:
    """One distribution file of the world."""

    filename: str
    version: str
    packagetype: str
    python_version: str
    requires_python: str | None
    size: int
    upload_time: datetime
    digests: Mapping[str, str]
    provenance: str | None
    """Path of the provenance object relative to the world directory, or None (no attestations)."""

    @property
    def blake2b_256(self) -> str:
        """The digest PyPI derives its download path from (`/packages/ab/cd/<rest>/<filename>`)."""
        return self.digests.get("blake2b_256", "")


@dataclass(frozen=True)
class WorldRelease:
    """One release of the world's project, with its lifecycle."""

    version: str
    deleted_at: datetime | None
    yanked: bool
    yanked_reason: str | None
    files: tuple[WorldFile, ...]
    yanked_at: datetime | None = None
    """When the release was yanked; None: yanked from the start (or never)."""

    def yanked_by(self, as_of: datetime | None) -> bool:
        """Whether the index shows the release yanked at `as_of` (None: now)."""
        if not self.yanked:
            return False
        return as_of is None or self.yanked_at is None or self.yanked_at <= as_of


@dataclass(frozen=True)
class World:
    """Everything a lab server can serve."""

    root: Path
    project: str
    display_name: str
    releases: tuple[WorldRelease, ...]
    info: Mapping[str, Any] = field(default_factory=dict)
    """Extra `info` fields for the JSON API (summary, author, ...), served verbatim."""
    repository: str | None = None
    """`owner/repo` the GitHub API answers for; None answers for any repository."""
    github_repository: Mapping[str, Any] = field(default_factory=dict)
    """The lab repository's ids, owner, creation date, default branch and branch heads."""
    log: Mapping[str, Any] | None = None
    entries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    search: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    commits: tuple[Mapping[str, Any], ...] = ()
    tags: tuple[Mapping[str, Any], ...] = ()
    runs: tuple[Mapping[str, Any], ...] = ()

    def file(self, filename: str) -> WorldFile | None:
        """The file with this name, in any release."""
        for release in self.releases:
            for f in release.files:
                if f.filename == filename:
                    return f
        return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"lab world file is missing: {path}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"lab world file {path} is not valid JSON: {exc}") from exc


def _optional_json(path: Path, default: Any) -> Any:
    return _read_json(path) if path.exists() else default


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise InputError(f"{where}: expected an ISO 8601 timestamp, got {value!r}")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from exc


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: `{key}` must be a non-empty string, got {value!r}")
    return value


def _file(data: Any, version: str, where: str) -> WorldFile:
    if not isinstance(data, dict):
        raise InputError(f"{where}: a file must be an object")
    digests = data.get("digests")
    if not isinstance(digests, dict) or not isinstance(digests.get("sha256"), str):
        raise InputError(f"{where}: `digests` must be an object with a sha256")
    size = data.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        raise InputError(f"{where}: `size` must be an integer, got {size!r}")
    provenance = data.get("provenance")
    if provenance is not None and not isinstance(provenance, str):
        raise InputError(f"{where}: `provenance` must be a path or null")
    requires_python = data.get("requires_python")
    return WorldFile(
        filename=_str(data, "filename", where),
        version=version,
        packagetype=str(data.get("packagetype", "sdist")),
        python_version=str(data.get("python_version", "source")),
        requires_python=requires_python if isinstance(requires_python, str) else None,
        size=size,
        upload_time=_time(data.get("upload_time"), f"{where}.upload_time"),
        digests={str(k): str(v) for k, v in digests.items()},
        provenance=provenance,
    )


def load_world(root: str | Path) -> World:
    """Load and check a world directory; raise `InputError` naming the file and key at fault."""
    base = Path(root)
    manifest_path = base / "world.json"
    manifest = _read_json(manifest_path)
    where = str(manifest_path)
    if not isinstance(manifest, dict):
        raise InputError(f"{where}: the manifest must be a JSON object")
    if manifest.get("schema") != WORLD_SCHEMA:
        raise InputError(
            f"{where}: schema is {manifest.get('schema')!r}, expected {WORLD_SCHEMA!r}",
            hint="rebuild the world with `forensics lab build`",
        )
    project = _str(manifest, "project", where)
    releases: list[WorldRelease] = []
    raw_releases = manifest.get("releases")
    if not isinstance(raw_releases, list):
        raise InputError(f"{where}: `releases` must be a list")
    for i, rel in enumerate(raw_releases):
        rwhere = f"{where}: releases[{i}]"
        if not isinstance(rel, dict):
            raise InputError(f"{rwhere} must be an object")
        version = _str(rel, "version", rwhere)
        deleted = rel.get("deleted_at")
        files = rel.get("files", [])
        if not isinstance(files, list):
            raise InputError(f"{rwhere}.files must be a list")
        reason = rel.get("yanked_reason")
        yanked_at = rel.get("yanked_at")
        releases.append(
            WorldRelease(
                version=version,
                deleted_at=None if deleted is None else _time(deleted, f"{rwhere}.deleted_at"),
                yanked=bool(rel.get("yanked", False)),
                yanked_reason=reason if isinstance(reason, str) and reason else None,
                files=tuple(_file(f, version, f"{rwhere}.files[{j}]") for j, f in enumerate(files)),
                yanked_at=None if yanked_at is None else _time(yanked_at, f"{rwhere}.yanked_at"),
            )
        )
    info = manifest.get("info", {})
    repository = manifest.get("repository")
    search = _optional_json(base / "rekor" / "search.json", {})
    entries = _optional_json(base / "rekor" / "entries.json", {})
    log = _optional_json(base / "rekor" / "log.json", None)
    if not isinstance(entries, dict) or not isinstance(search, dict):
        raise InputError(f"{base / 'rekor'}: entries.json and search.json must be JSON objects")
    if log is not None and not (isinstance(log, dict) and isinstance(log.get("leaves"), list)):
        raise InputError(f"{base / 'rekor' / 'log.json'}: expected an object with `leaves`")
    lists = {}
    for name in ("commits", "tags", "runs"):
        value = _optional_json(base / "github" / f"{name}.json", [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise InputError(f"{base / 'github' / (name + '.json')}: expected a list of objects")
        lists[name] = tuple(value)
    return World(
        root=base,
        project=project,
        display_name=str(manifest.get("display_name", project)),
        releases=tuple(releases),
        info=dict(info) if isinstance(info, dict) else {},
        repository=repository if isinstance(repository, str) else None,
        github_repository=dict(gh_repo)
        if isinstance(gh_repo := manifest.get("github_repository"), dict)
        else {},
        log=log,
        entries={str(k): v for k, v in entries.items()},
        search={str(k).lower(): tuple(str(u) for u in v) for k, v in search.items()},
        commits=lists["commits"],
        tags=lists["tags"],
        runs=lists["runs"],
    )
