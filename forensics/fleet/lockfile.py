"""Read the projects (and pinned versions) a lock file names: PEP 751 `pylock.toml`, `uv.lock`,
and pip `requirements.txt` (with or without `--hash`), with maintained parsers only.

`tomllib` reads both TOML formats; `packaging` canonicalises names and parses versions;
`pip-requirements-parser` (pip's own requirements-file grammar) reads requirements files. What
does not come from an index (editable installs, VCS, local paths, direct URLs) is kept as a
`skipped` entry with the reason, never dropped silently. A malformed file is an `InputError`
(exit 2) that names the file, the entry and what is wrong.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from forensics.errors import InputError


@dataclass(frozen=True, order=True)
class Pin:
    """One project a lock file names, with its pinned version when there is exactly one."""

    name: str
    """Canonical (PEP 503) project name."""
    version: str | None
    where: str = field(default="", compare=False)
    """Where in the file (`packages[3]`, `line 12`)."""


@dataclass(frozen=True)
class LockFile:
    """What a lock file pins, and what it lists that a provenance gate cannot judge."""

    path: Path
    format: str
    """`pylock`, `uv.lock` or `requirements`."""
    pins: tuple[Pin, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    """(entry, reason) for entries that do not come from an index."""


def _name(value: Any, where: str, path: Path) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{path}: {where}: `name` must be a non-empty string, got {value!r}")
    try:
        return str(canonicalize_name(value, validate=True))
    except InvalidName as exc:
        raise InputError(f"{path}: {where}: {value!r} is not a valid project name") from exc


def _version(value: Any, where: str, path: Path) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{path}: {where}: `version` must be a string, got {value!r}")
    try:
        return str(Version(value))
    except InvalidVersion as exc:
        raise InputError(f"{path}: {where}: {value!r} is not a PEP 440 version") from exc


def _toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc


def _tables(doc: Mapping[str, Any], key: str, path: Path) -> list[Mapping[str, Any]]:
    items = doc.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InputError(f"{path}: `{key}` must be an array of tables ([[{key}]])")
    return items


def parse_pylock(path: Path, text: str) -> LockFile:
    """PEP 751: `lock-version` plus `[[packages]]` with `name`, optional `version`, and sources."""
    doc = _toml(path, text)
    if "lock-version" not in doc:
        raise InputError(
            f"{path}: not a PEP 751 lock file: `lock-version` is missing",
            hint='pylock.toml files start with lock-version = "1.0"',
        )
    pins, skipped = [], []
    for i, pkg in enumerate(_tables(doc, "packages", path)):
        where = f"packages[{i}]"
        name = _name(pkg.get("name"), where, path)
        local = next((k for k in ("vcs", "directory", "archive") if k in pkg), None)
        if local is not None:
            skipped.append((name, f"installed from a {local}, not from an index"))
            continue
        pins.append(Pin(name, _version(pkg.get("version"), where, path), where))
    return LockFile(path, "pylock", tuple(pins), tuple(skipped))


def parse_uv_lock(path: Path, text: str) -> LockFile:
    """uv.lock: `[[package]]` with `name`, `version`, `source = {registry = ...}` (or local)."""
    doc = _toml(path, text)
    if "package" not in doc and "version" not in doc:
        raise InputError(f"{path}: not a uv.lock file: no `version` and no [[package]] tables")
    pins, skipped = [], []
    for i, pkg in enumerate(_tables(doc, "package", path)):
        where = f"package[{i}]"
        name = _name(pkg.get("name"), where, path)
        source = pkg.get("source", {})
        if not isinstance(source, dict):
            raise InputError(f"{path}: {where}: `source` must be a table")
        if "registry" not in source:
            kind = next(iter(sorted(source)), "unknown source")
            skipped.append((name, f"a {kind} source, not an index"))
            continue
        pins.append(Pin(name, _version(pkg.get("version"), where, path), where))
    return LockFile(path, "uv.lock", tuple(pins), tuple(skipped))


def parse_requirements(path: Path) -> LockFile:
    """pip requirements: `name==version` pins (hashes allowed); ranges are kept unpinned."""
    from pip_requirements_parser import RequirementsFile

    try:
        rf = RequirementsFile.from_file(str(path))
    except Exception as exc:  # the parser raises pip's internal errors; convert at the edge
        raise InputError(f"{path}: cannot parse requirements: {exc}") from exc
    if rf.invalid_lines:
        bad = rf.invalid_lines[0]
        first_line = bad.error_message.splitlines()[0] if bad.error_message else "invalid"
        raise InputError(
            f"{path}: line {bad.line_number}: {bad.line!r}: {first_line}",
            hint=f"{len(rf.invalid_lines)} invalid line(s); fix them or remove them",
        )
    pins, skipped = [], []
    for req in rf.requirements:
        where = f"line {req.line_number}"
        if req.is_editable or req.link is not None or not req.name:
            skipped.append((req.name or str(req.link), "editable, URL or local requirement"))
            continue
        name = _name(req.name, where, path)
        version = None
        specs = list(req.specifier) if req.specifier is not None else []
        if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
            version = _version(specs[0].version, where, path)
        pins.append(Pin(name, version, where))
    return LockFile(path, "requirements", tuple(pins), tuple(skipped))


def read_lockfile(path: Path) -> LockFile:
    """Read a lock file, choosing the format from its name, then from its content."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"lock file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read lock file {path}: {exc}") from exc
    name = path.name.lower()
    if name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml")):
        lock = parse_pylock(path, text)
    elif name == "uv.lock":
        lock = parse_uv_lock(path, text)
    elif name.endswith(".toml") or name.endswith(".lock"):
        doc = _toml(path, text)
        lock = parse_pylock(path, text) if "lock-version" in doc else parse_uv_lock(path, text)
    else:
        lock = parse_requirements(path)
    if not lock.pins and not lock.skipped:
        raise InputError(f"{path}: the lock file names no packages")
    return lock


def read_project_list(path: Path) -> list[str]:
    """`--projects FILE`: one project name per line; `#` comments and blank lines allowed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read project list {path}: {exc}") from exc
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append(_name(line, f"line {n}", path))
    if not out:
        raise InputError(f"{path}: the project list names no projects")
    return out


def canonical_names(names: list[str]) -> list[str]:
    """Positional project names, canonicalised and checked."""
    return [_name(n, "argument", Path("<command line>")) for n in names]
