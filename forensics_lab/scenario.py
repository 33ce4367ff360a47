"""Lab scenario files: the TOML format, its dataclasses, and validation with file:line messages.

A scenario describes a project's release history the way an incident responder would tell it:
the default Trusted Publisher, each release and file, how it was published (Trusted Publishing or
a token), per-release and per-file deviations (another repository, a PR ref, a self-hosted
runner, tampered signatures), lifecycle (deletion, yanking, files added later), the GitHub state
around it, stray transparency-log entries, and which values are invented versus taken from a
cited source. `forensics_lab.build.build_world` turns a `Scenario` into a lab world directory.

tomllib returns plain dicts without positions, so `_SourceMap` re-scans the source text to map
each table/key path back to its line; every validation problem names the file, the line and the
key path, and unknown keys come with a "did you mean" suggestion. All problems of a file are
reported together (`ScenarioValidationError.problems`), not just the first.
"""

from __future__ import annotations

import difflib
import enum
import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from packaging.version import InvalidVersion, Version

from forensics.errors import ScenarioError
from forensics.models import isoformat, parse_time
from forensics_lab.sign import TAMPER_MODES

PUBLISH_PREDICATE = "https://docs.pypi.org/attestations/publish/v1"

PathKey = tuple[str | int, ...]
T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file."""

    file: str
    line: int
    where: str
    """Dotted key path, e.g. `releases[2].files[0].tamper` (empty for file-level problems)."""
    message: str

    def __str__(self) -> str:
        where = f" {self.where}:" if self.where else ""
        return f"{self.file}:{self.line}:{where} {self.message}"


class ScenarioValidationError(ScenarioError):
    """A scenario file has one or more problems; each names file, line and key."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        head = f"{len(self.problems)} problem(s) in scenario" if len(self.problems) > 1 else ""
        body = "\n".join(str(p) for p in self.problems)
        super().__init__(
            f"{head}\n{body}" if head else body,
            hint="see docs/lab.md for every scenario key and its format",
        )


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class PublisherKind(enum.StrEnum):
    """The Trusted Publisher kinds the lab can sign for."""

    GITHUB = "github"
    GITLAB = "gitlab"
    GOOGLE = "google"


class PublishMethod(enum.StrEnum):
    """How a file reached the index."""

    TRUSTED_PUBLISHER = "trusted-publisher"
    TOKEN = "token"  # noqa: S105 - a publish method, not a credential
    """An API token upload: PyPI stores no attestation, the Simple API says `provenance: null`."""


class FactTag(enum.StrEnum):
    """Confidence of a fact taken from a cited source (the tags of incident-facts.md)."""

    VERIFIED = "verified"
    SECONDARY = "secondary"
    INFERRED = "inferred"


@dataclass(frozen=True)
class Fact:
    """A value taken from a cited source, with its confidence tag."""

    name: str
    value: str
    tag: FactTag
    source: str
    note: str = ""

    def to_json(self, where: str) -> dict[str, str]:
        """Serialise for world.json."""
        out = {
            "where": where,
            "name": self.name,
            "value": self.value,
            "tag": self.tag.value,
            "source": self.source,
        }
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Identity:
    """Publisher identity settings; in overrides, `None` means "inherit"."""

    repository: str | None = None
    workflow: str | None = None
    environment: str | None = None
    """`""` means the job has no deployment environment."""
    ref: str | None = None
    """A git ref pattern; `{version}` is replaced by the release version."""
    trigger: str | None = None
    runner: str | None = None
    repository_id: str | None = None
    owner_id: str | None = None
    visibility: str | None = None
    sha: str | None = None
    run_id: int | None = None
    run_attempt: int | None = None
    email: str | None = None
    kind: str | None = None
    """Publisher kind override (`github`/`gitlab`) for one release or file: a GitLab-signed
    release in a GitHub history is signed and verified as GitLab."""
    claims: Mapping[str, str] = field(default_factory=dict)
    """Raw Fulcio claim overrides by name (applied after the identity is computed)."""

    def merged(self, override: Identity) -> Identity:
        """`self` with every non-None field of `override` replacing it; claims are merged."""
        values: dict[str, Any] = {}
        for name in _IDENTITY_FIELDS:
            new = getattr(override, name)
            values[name] = new if new is not None else getattr(self, name)
        return Identity(**values, claims={**self.claims, **override.claims})

    @property
    def is_empty(self) -> bool:
        """True when nothing is overridden."""
        return all(getattr(self, n) is None for n in _IDENTITY_FIELDS) and not self.claims


_IDENTITY_FIELDS = (
    "repository",
    "workflow",
    "environment",
    "ref",
    "trigger",
    "runner",
    "repository_id",
    "owner_id",
    "visibility",
    "sha",
    "run_id",
    "run_attempt",
    "email",
    "kind",
)


@dataclass(frozen=True)
class Publisher:
    """The project's default Trusted Publisher (all fields resolved)."""

    kind: PublisherKind
    identity: Identity
    facts: tuple[Fact, ...] = ()
    defaulted: frozenset[str] = frozenset()
    """Identity fields the scenario did not state (lab defaults, reported as simulated)."""


@dataclass(frozen=True)
class Content:
    """What the lab puts into an archive beyond the skeleton: a marker line and extra files."""

    marker: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    """Extra files by archive-relative path (e.g. `pkg/_payload.py`) → text."""

    def merged(self, override: Content) -> Content:
        """`self` with `override`'s marker (when set) and files added on top."""
        return Content(
            marker=override.marker if override.marker is not None else self.marker,
            files={**self.files, **override.files},
        )


class FileKind(enum.StrEnum):
    """Distribution kinds the lab generates."""

    SDIST = "sdist"
    WHEEL = "wheel"


@dataclass(frozen=True)
class FileSpec:
    """One distribution file of a release."""

    kind: FileKind
    upload_time: datetime
    publish: PublishMethod
    identity: Identity
    """File-level overrides (already merged on top of the release's overrides)."""
    integration_offset: timedelta
    """Log integration time minus upload time."""
    wheel_tag: str = "py3-none-any"
    tamper: frozenset[str] = frozenset()
    content: Content = field(default_factory=Content)
    reuse_attestation_of: str | None = None
    """Serve a copy of another file's provenance instead of signing this one."""
    facts: tuple[Fact, ...] = ()
    line: int = 0

    def filename(self, project: str, version: str) -> str:
        """The distribution filename (PEP 625 sdist / PEP 427 wheel naming)."""
        dist = normalize_dist_name(project)
        if self.kind is FileKind.SDIST:
            return f"{dist}-{version}.tar.gz"
        return f"{dist}-{version}-{self.wheel_tag}.whl"

    @property
    def integrated_at(self) -> datetime:
        """When the lab log integrates this file's attestation."""
        return self.upload_time + self.integration_offset


@dataclass(frozen=True)
class ReleaseGitHub:
    """Per-release switches and details for the generated GitHub state."""

    commit: bool = True
    tag: bool | str = True
    """False: no tag; a string: the tag name; True: derived from the ref (or `v{version}`)."""
    run: bool = True
    author: str | None = None
    author_email: str | None = None
    message: str | None = None
    files: tuple[str, ...] | None = None
    actor: str | None = None
    branch: str | None = None
    """Branch the release commit is on (default: the ref's branch, else `main`)."""
    parents: tuple[str, ...] | None = None
    """Parent commits (default: the previous generated commit on the same branch)."""
    tag_created_at: datetime | None = None
    """When the generated tag was pushed (default: with its commit); after the upload = late."""
    tag_deleted_at: datetime | None = None
    """When the generated tag was deleted (the lab API stops listing it then)."""
    explicit: frozenset[str] = frozenset()
    """Keys the scenario wrote: a token release gets a commit and tag only when it has a
    `github` table, and a run only when it says `run = true`."""


@dataclass(frozen=True)
class Release:
    """One version of the project."""

    version: str
    upload_time: datetime
    files: tuple[FileSpec, ...]
    deleted_at: datetime | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    yanked_at: datetime | None = None
    """When the release was yanked (the index shows it unyanked before); None: from the start."""
    requires_python: str | None = None
    """None: the scenario's value; `""`: the release declares none."""
    github: ReleaseGitHub = field(default_factory=ReleaseGitHub)
    identity: Identity = field(default_factory=Identity)
    """Release-level overrides (file specs already include them)."""
    facts: tuple[Fact, ...] = ()
    line: int = 0

    @property
    def publish_methods(self) -> frozenset[PublishMethod]:
        """Every publish method used by the release's files."""
        return frozenset(f.publish for f in self.files)


@dataclass(frozen=True)
class Commit:
    """A commit in the lab GitHub state."""

    sha: str
    author: str
    author_email: str
    message: str
    parents: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    date: datetime | None = None
    committer: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Serialise for github/commits.json."""
        return {
            "sha": self.sha,
            "author": self.author,
            "author_email": self.author_email,
            "committer": self.committer or self.author,
            "message": self.message,
            "parents": list(self.parents),
            "files": list(self.files),
            "date": isoformat(self.date),
        }


@dataclass(frozen=True)
class Tag:
    """A git tag, with when it was pushed and deleted (None: with its commit / never)."""

    name: str
    commit: str
    created_at: datetime | None = None
    deleted_at: datetime | None = None

    def to_json(self) -> dict[str, str]:
        """Serialise for github/tags.json (dates only when set, so older worlds stay the same)."""
        out = {"name": self.name, "commit": self.commit}
        if self.created_at is not None:
            out["created_at"] = isoformat(self.created_at) or ""
        if self.deleted_at is not None:
            out["deleted_at"] = isoformat(self.deleted_at) or ""
        return out


@dataclass(frozen=True)
class Run:
    """A GitHub Actions workflow run."""

    id: int
    event: str
    actor: str
    head_branch: str
    head_sha: str
    path: str
    created_at: datetime
    run_attempt: int = 1
    status: str = "completed"
    conclusion: str | None = "success"

    def to_json(self) -> dict[str, Any]:
        """Serialise for github/runs.json."""
        return {
            "id": self.id,
            "run_attempt": self.run_attempt,
            "event": self.event,
            "actor": self.actor,
            "head_branch": self.head_branch,
            "head_sha": self.head_sha,
            "path": self.path,
            "status": self.status,
            "conclusion": self.conclusion,
            "created_at": isoformat(self.created_at),
        }


@dataclass(frozen=True)
class GitHubState:
    """Scenario-level GitHub settings and explicit objects."""

    generate: bool = True
    """Generate a commit, tag and run per Trusted-Publishing release (GitHub publishers only)."""
    actor: str | None = None
    author: str | None = None
    author_email: str | None = None
    commits: tuple[Commit, ...] = ()
    tags: tuple[Tag, ...] = ()
    runs: tuple[Run, ...] = ()
    created_at: datetime | None = None
    """When the repository was created (lab repository endpoint); default: its first commit."""
    default_branch: str = "main"


@dataclass(frozen=True)
class LogSettings:
    """The lab Rekor log's shape."""

    tree_id: int
    shard_offset: int = 0
    origin_host: str = "rekor.lab.invalid"
    integration_offset: timedelta = timedelta(seconds=-3)


@dataclass(frozen=True)
class ExtraLogEntry:
    """A signing event in the log that matches no uploaded file."""

    version: str
    kind: FileKind
    integrated_at: datetime
    identity: Identity
    sha256: str | None = None
    """Subject digest; default: the digest of the lab archive that would have been uploaded."""
    wheel_tag: str = "py3-none-any"
    tamper: frozenset[str] = frozenset()
    content: Content = field(default_factory=Content)
    note: str = ""
    line: int = 0

    def filename(self, project: str) -> str:
        """Subject filename of the signed statement."""
        spec = FileSpec(
            kind=self.kind,
            upload_time=self.integrated_at,
            publish=PublishMethod.TRUSTED_PUBLISHER,
            identity=self.identity,
            integration_offset=timedelta(0),
            wheel_tag=self.wheel_tag,
        )
        return spec.filename(project, self.version)


#: Severities an `[expect]` table may name (`forensics.models.Severity` values).
SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class FlagRule:
    """How a must-flag release must be flagged (`forensics eval` scores against it)."""

    min_severity: str = "medium"
    detector: str | None = None
    """When given, this detector must be among those that flag the release."""
    why: str = ""


@dataclass(frozen=True)
class Expectation:
    """What an anomaly scan should flag (scored by `forensics eval`; not used by the builder).

    `[expect.flag]` maps a version to a reason (`"2.3.1" = "token upload"`) or to a table
    (`"2.3.1" = {min_severity = "high", detector = "provenance-lost", why = "..."}`); `clean`
    lists releases on which no finding may be above `quiet_above` (default `low`).
    """

    flag: Mapping[str, str] = field(default_factory=dict)
    """version → why it should be flagged."""
    clean: tuple[str, ...] = ()
    """Versions that must not be flagged."""
    rules: Mapping[str, FlagRule] = field(default_factory=dict)
    """version → how it must be flagged (every version of `flag` has one)."""
    quiet_above: str = "low"
    """No finding above this severity on a clean release."""


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario."""

    name: str
    description: str
    project: str
    publisher: Publisher
    releases: tuple[Release, ...]
    log: LogSettings
    github: GitHubState = field(default_factory=GitHubState)
    extra_log_entries: tuple[ExtraLogEntry, ...] = ()
    simulated: tuple[str, ...] = ()
    facts: tuple[Fact, ...] = ()
    expect: Expectation = field(default_factory=Expectation)
    seed: int = 0
    requires_python: str | None = ">=3.8"
    source: Path | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    """JSON API `info` fields the index serves (`summary`, `project_urls`, ...)."""

    def release(self, version: str) -> Release:
        """The release with this version (KeyError when absent)."""
        for rel in self.releases:
            if rel.version == version:
                return rel
        raise KeyError(version)


#: `[info]` keys served verbatim in the JSON API `info` object.
INFO_TEXT_KEYS = (
    "summary",
    "description",
    "author",
    "author_email",
    "maintainer",
    "home_page",
    "license",
)


def normalize_dist_name(project: str) -> str:
    """Distribution-filename form of a project name (PEP 503 normalised, `-` → `_`)."""
    return re.sub(r"[-_.]+", "-", project).lower().replace("-", "_")


def module_name(project: str) -> str:
    """The importable top-level package the lab puts into archives."""
    return normalize_dist_name(project)


# --------------------------------------------------------------------------------------------
# Source positions
# --------------------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*(\]\]?)\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_KEY_PART = re.compile(r"""\s*([A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*(?:\.|$)""")


def _split_key(text: str) -> list[str]:
    parts = [m.group(1) for m in _KEY_PART.finditer(text)]
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


class _SourceMap:
    """Maps key paths of a TOML document to source lines (tomllib keeps no positions).

    The scan understands table headers, arrays of tables (with per-parent counters, so
    `releases[3].files[1]` is the second `[[releases.files]]` after the fourth `[[releases]]`),
    dotted keys, and skips the bodies of multi-line strings. Keys inside inline tables and
    multi-line arrays resolve to the line of the key that opens them.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[PathKey, int] = {}
        arrays: set[tuple[str, ...]] = set()
        counters: dict[PathKey, int] = {}
        current: PathKey = ()
        in_multiline: str | None = None
        for lineno, raw in enumerate(text.splitlines(), start=1):
            if in_multiline is not None:
                if raw.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = _HEADER.match(raw)
            if header and not _KEY.match(raw):
                is_array = header.group(1) == "[["
                parts = _split_key(header.group(2))
                concrete: list[str | int] = []
                for i, part in enumerate(parts):
                    concrete.append(part)
                    abstract = tuple(parts[: i + 1])
                    last = i == len(parts) - 1
                    if last and is_array:
                        arrays.add(abstract)
                        slot = tuple(concrete)
                        counters[slot] = counters.get(slot, -1) + 1
                        concrete.append(counters[slot])
                    elif abstract in arrays:
                        concrete.append(max(counters.get(tuple(concrete), 0), 0))
                current = tuple(concrete)
                self.lines.setdefault(current, lineno)
                continue
            key = _KEY.match(raw)
            if key:
                path = current + tuple(_split_key(key.group(1)))
                self.lines.setdefault(path, lineno)
                rest = raw[key.end() :]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        in_multiline = quote
                        break

    def line(self, path: PathKey) -> int:
        """The line of the longest known prefix of `path` (1 when nothing matches)."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1


def _render(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            out += f".{text}" if out else text
    return out


# --------------------------------------------------------------------------------------------
# A small typed reader over the parsed dict that records problems instead of raising
# --------------------------------------------------------------------------------------------


class _Problems:
    def __init__(self, file: str, source_map: _SourceMap) -> None:
        self.file = file
        self.map = source_map
        self.items: list[Problem] = []

    def add(self, path: PathKey, message: str) -> None:
        self.items.append(Problem(self.file, self.map.line(path), _render(path), message))


_MISSING: Any = object()


class _Table:
    """One TOML table being read: typed getters, and a check for keys nobody read."""

    def __init__(self, data: Mapping[str, Any], path: PathKey, problems: _Problems) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.read: set[str] = set()

    def error(self, key: str | None, message: str) -> None:
        self.problems.add(self.path + ((key,) if key else ()), message)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, types: tuple[type, ...], what: str) -> Any:
        self.read.add(key)
        if key not in self.data:
            return _MISSING
        value = self.data[key]
        # bool is an int subclass: never accept true/false where a number is expected.
        if isinstance(value, bool) and bool not in types:
            self.error(key, f"expected {what}, got a boolean")
            return _MISSING
        if not isinstance(value, types):
            self.error(key, f"expected {what}, got {_describe(value)}")
            return _MISSING
        return value

    def get_str(
        self, key: str, default: T, *, required: bool = False, nonempty: bool = True
    ) -> str | T:
        value = self._get(key, (str,), "a string")
        if value is _MISSING:
            if required and key not in self.data:
                self.error(None, f"missing required key '{key}'")
            return default
        if nonempty and not value.strip():
            self.error(key, "must not be empty")
            return default
        return str(value)

    def get_int(self, key: str, default: T, *, minimum: int | None = 0) -> int | T:
        value = self._get(key, (int,), "an integer")
        if value is _MISSING:
            return default
        if minimum is not None and value < minimum:
            self.error(key, f"must be ≥ {minimum}, got {value}")
            return default
        return int(value)

    def get_bool(self, key: str, default: bool) -> bool:
        value = self._get(key, (bool,), "true or false")
        return default if value is _MISSING else bool(value)

    def id_str(self, key: str) -> str | None:
        """A numeric id given as an integer or a string of digits (GitHub ids exceed no limit)."""
        value = self._get(key, (int, str), "an integer id")
        if value is _MISSING:
            return None
        text = str(value)
        if not text.isdigit():
            self.error(key, f"expected a numeric id, got {value!r}")
            return None
        return text

    def time(self, key: str, *, required: bool = False) -> datetime | None:
        self.read.add(key)
        if key not in self.data:
            if required:
                self.error(None, f"missing required key '{key}'")
            return None
        return _to_time(self.data[key], lambda m: self.error(key, m))

    def duration(self, key: str) -> timedelta | None:
        value = self._get(key, (str,), 'a duration string like "-3s", "+2m", "1h30m", "-30d"')
        if value is _MISSING:
            return None
        parsed = parse_duration(value)
        if parsed is None:
            self.error(key, f'invalid duration {value!r}; use e.g. "-3s", "+2m", "1h30m", "-30d"')
        return parsed

    def str_list(self, key: str) -> tuple[str, ...] | None:
        value = self._get(key, (list,), "a list of strings")
        if value is _MISSING:
            return None
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            self.error(key, f"expected a list of strings, found {_describe(bad[0])}")
            return None
        return tuple(value)

    def table(self, key: str) -> _Table | None:
        value = self._get(key, (dict,), "a table")
        if value is _MISSING:
            return None
        return _Table(value, (*self.path, key), self.problems)

    def tables(self, key: str) -> list[_Table]:
        value = self._get(key, (list,), "an array of tables")
        if value is _MISSING:
            return []
        out: list[_Table] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.problems.add((*self.path, key, i), f"expected a table, got {_describe(item)}")
                continue
            out.append(_Table(item, (*self.path, key, i), self.problems))
        return out

    def choice(
        self, key: str, choices: Iterable[str], default: T, *, required: bool = False
    ) -> str | T:
        value = self.get_str(key, _MISSING, required=required)
        if value is _MISSING:
            return default
        options = list(choices)
        if value not in options:
            self.error(
                key,
                f"unknown value {value!r}; expected one of {', '.join(options)}"
                + _suggest(value, options),
            )
            return default
        return str(value)

    def done(self, allowed: Iterable[str] = ()) -> None:
        """Report every key that was never read (unknown keys), with a suggestion."""
        known = sorted(set(self.read) | set(allowed))
        for key in self.data:
            if key not in self.read and key not in allowed:
                self.error(key, f"unknown key '{key}'" + _suggest(key, known))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    return type(value).__name__


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _to_time(value: Any, error: Callable[[str], None]) -> datetime | None:
    example = "e.g. 2024-12-04T20:51:03Z"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            error(f"date-time {value.isoformat()} has no timezone; add 'Z' for UTC ({example})")
            return None
        return value.astimezone(UTC)
    if isinstance(value, date):
        error(f"a date without a time is not enough ({example})")
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            error(f"invalid date-time {value!r} ({example})")
            return None
        if parsed.tzinfo is None:
            error(f"date-time {value!r} has no timezone; add 'Z' for UTC ({example})")
            return None
        return parse_time(value)
    error(f"expected a date-time ({example}), got {_describe(value)}")
    return None


_DURATION = re.compile(r"^([+-])?\s*((?:\d+(?:\.\d+)?\s*(?:ms|d|h|m|s)\s*)+)$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> timedelta | None:
    """Parse `-3s`, `+2m`, `1h30m`, `-30d`, `250ms` (None when malformed)."""
    match = _DURATION.match(text.strip())
    if not match:
        return None
    seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(match.group(2)))
    return timedelta(seconds=-seconds if match.group(1) == "-" else seconds)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

_VERSION_SAFE = re.compile(r"^[A-Za-z0-9.+!_-]+$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_WHEEL_TAG = re.compile(r"^[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+$")
_PROJECT = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_VISIBILITY = ("public", "private", "internal")
_RUNNERS = ("github-hosted", "self-hosted", "gitlab-hosted")

_IDENTITY_KEYS_BY_KIND = {
    PublisherKind.GITHUB: {
        "repository", "workflow", "environment", "ref", "trigger", "runner", "repository_id",
        "owner_id", "visibility", "sha", "run_id", "run_attempt",
    },
    PublisherKind.GITLAB: {
        "repository", "workflow", "environment", "ref", "trigger", "runner", "repository_id",
        "owner_id", "visibility", "sha", "run_id",
    },
    PublisherKind.GOOGLE: {"email"},
}  # fmt: skip

# Claim names accepted in `claims` override tables (see forensics_lab.sign).
CLAIM_NAMES = (
    "issuer_v1",
    "github_workflow_trigger",
    "github_workflow_sha",
    "github_workflow_name",
    "github_workflow_repository",
    "github_workflow_ref",
    "issuer",
    "build_signer_uri",
    "build_signer_digest",
    "runner_environment",
    "source_repository",
    "source_commit",
    "source_ref",
    "source_repository_id",
    "source_repository_owner",
    "source_repository_owner_id",
    "build_config",
    "build_config_digest",
    "trigger",
    "run_url",
    "source_repository_visibility",
    "deployment_environment",
    "token_subject",
)


def _stable_id(text: str, digits: int) -> str:
    """A deterministic numeric id derived from text (for ids a scenario does not state)."""
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    return str(10 ** (digits - 1) + value % (9 * 10 ** (digits - 1)))


class _Parser:
    def __init__(
        self, data: Mapping[str, Any], file: str, source_map: _SourceMap, stem: str
    ) -> None:
        self.problems = _Problems(file, source_map)
        self.root = _Table(data, (), self.problems)
        self.stem = stem
        self.kind = PublisherKind.GITHUB
        self.default_publish = PublishMethod.TRUSTED_PUBLISHER.value

    # -- pieces ------------------------------------------------------------------------------

    def facts(self, table: _Table, own_values: Mapping[str, str] | None = None) -> tuple[Fact, ...]:
        """`facts.<name> = {value?, tag, source, note?}`; value defaults to the sibling key."""
        sub = table.table("facts")
        if sub is None:
            return ()
        out: list[Fact] = []
        for name in sub.data:
            item = sub.table(name)
            if item is None:
                continue
            tag = item.choice("tag", [t.value for t in FactTag], None, required=True)
            source = item.get_str("source", None, required=True)
            note = item.get_str("note", "")
            raw = item.data.get("value")
            item.read.add("value")
            value: str | None
            if raw is None:
                value = (own_values or {}).get(name)
                if value is None:
                    item.error(
                        None,
                        f"fact '{name}' names no key of this table, so it needs a 'value'",
                    )
            elif isinstance(raw, str | int) and not isinstance(raw, bool):
                value = str(raw)
            elif isinstance(raw, datetime):
                value = isoformat(raw) if raw.tzinfo else raw.isoformat()
            else:
                item.error("value", f"expected a string or integer, got {_describe(raw)}")
                value = None
            if source is not None and not re.match(r"^https?://\S+$", source):
                item.error("source", f"expected an http(s) URL, got {source!r}")
            item.done()
            if tag is not None and source is not None and value is not None:
                out.append(Fact(name, value, FactTag(tag), source, note))
        return tuple(out)

    def identity(self, table: _Table | None, kind: PublisherKind) -> Identity:
        if table is None:
            return Identity()
        override_kind: str | None = None
        if table.path != ("publisher",) and "kind" in table.data:
            override_kind = table.choice("kind", ["github", "gitlab"], None)
            if self.kind is PublisherKind.GOOGLE and override_kind is not None:
                table.error("kind", "a google publisher's releases cannot switch kind")
                override_kind = None
            if override_kind is not None:
                kind = PublisherKind(override_kind)
        allowed = _IDENTITY_KEYS_BY_KIND[kind]
        claims: dict[str, str] = {}
        sub = table.table("claims")
        if sub is not None:
            for name, value in sub.data.items():
                sub.read.add(name)
                if name not in CLAIM_NAMES:
                    sub.error(name, f"unknown claim '{name}'" + _suggest(name, CLAIM_NAMES))
                elif not isinstance(value, str):
                    sub.error(name, f"claim values are strings, got {_describe(value)}")
                else:
                    claims[name] = value
        values: dict[str, Any] = {}
        for key in ("repository", "workflow", "ref", "trigger", "sha", "email"):
            if key in table.data:
                values[key] = table.get_str(key, None)
        if "environment" in table.data:
            values["environment"] = table.get_str("environment", None, nonempty=False)
        if "runner" in table.data:
            values["runner"] = table.choice("runner", _RUNNERS, None)
        if "visibility" in table.data:
            values["visibility"] = table.choice("visibility", _VISIBILITY, None)
        for key in ("repository_id", "owner_id"):
            if key in table.data:
                values[key] = table.id_str(key)
        if "run_id" in table.data:
            values["run_id"] = table.get_int("run_id", None, minimum=1)
        if "run_attempt" in table.data:
            values["run_attempt"] = table.get_int("run_attempt", None, minimum=1)
        for key in list(values):
            if key not in allowed:
                table.error(key, f"'{key}' does not apply to a {kind.value} publisher")
                values.pop(key)
        ident = Identity(**values, kind=override_kind, claims=claims)
        if ident.sha is not None and not _SHA1.match(ident.sha):
            table.error("sha", f"expected a 40-hex-digit commit SHA, got {ident.sha!r}")
            ident = replace(ident, sha=None)
        if ident.ref is not None:
            problem = _check_ref_pattern(ident.ref)
            if problem:
                table.error("ref", problem)
                ident = replace(ident, ref=None)
        if (
            ident.repository is not None
            and kind is not PublisherKind.GOOGLE
            and (
                "/" not in ident.repository
                or ident.repository.startswith("/")
                or ident.repository.endswith("/")
            )
        ):
            table.error("repository", f"expected 'owner/name', got {ident.repository!r}")
        return ident

    def tamper(self, table: _Table) -> frozenset[str]:
        modes = table.str_list("tamper")
        if modes is None:
            return frozenset()
        good = []
        for mode in modes:
            if mode not in TAMPER_MODES:
                table.error(
                    "tamper",
                    f"unknown tamper mode {mode!r}; expected one of {', '.join(TAMPER_MODES)}"
                    + _suggest(mode, TAMPER_MODES),
                )
            else:
                good.append(mode)
        return frozenset(good)

    def content(self, table: _Table) -> Content:
        sub = table.table("content")
        if sub is None:
            return Content()
        marker = sub.get_str("marker", None)
        files: dict[str, str] = {}
        extra = sub.table("files")
        if extra is not None:
            for path, text in extra.data.items():
                extra.read.add(path)
                if not isinstance(text, str):
                    extra.error(path, f"file content must be a string, got {_describe(text)}")
                elif path.startswith("/") or ".." in path.split("/") or "\\" in path or not path:
                    extra.error(
                        path,
                        "archive paths are relative, '/'-separated and stay inside the archive: "
                        f"{path!r}",
                    )
                else:
                    files[path] = text
        sub.done()
        return Content(marker=marker, files=files)

    # -- sections ----------------------------------------------------------------------------

    def publisher(self) -> Publisher:
        table = self.root.table("publisher")
        if table is None:
            if not self.root.has("publisher"):
                self.root.error(None, "missing required table [publisher]")
            return Publisher(PublisherKind.GITHUB, Identity(repository="lab/lab"))
        kind = PublisherKind(table.choice("kind", [k.value for k in PublisherKind], "github"))
        self.kind = kind
        ident = self.identity(table, kind)
        if kind is PublisherKind.GOOGLE:
            if ident.email is None:
                table.error(None, "a google publisher needs 'email' (the service account)")
            facts = self.facts(table, {"email": ident.email or ""})
            table.done()
            return Publisher(kind, ident, facts)
        if ident.repository is None:
            table.error(None, f"a {kind.value} publisher needs 'repository' (owner/name)")
            ident = replace(ident, repository="lab/lab")
        repo = ident.repository or "lab/lab"
        defaults = Identity(
            workflow="release.yml" if kind is PublisherKind.GITHUB else ".gitlab-ci.yml",
            environment="pypi",
            ref="refs/tags/v{version}",
            trigger="push",
            runner="github-hosted" if kind is PublisherKind.GITHUB else "gitlab-hosted",
            repository_id=_stable_id(f"repo:{repo}", 9),
            owner_id=_stable_id(f"owner:{repo.split('/')[0]}", 8),
            visibility="public",
        )
        resolved = defaults.merged(ident)
        own = {
            k: str(getattr(resolved, k))
            for k in _IDENTITY_FIELDS
            if getattr(resolved, k) is not None
        }
        facts = self.facts(table, own)
        table.done()
        defaulted = frozenset(
            k for k in _IDENTITY_FIELDS if getattr(ident, k) is None and getattr(defaults, k)
        )
        return Publisher(kind, resolved, facts, defaulted)

    def log(self, name: str) -> LogSettings:
        table = self.root.table("log")
        default_tree = int(_stable_id(f"tree:{name}", 18))
        if table is None:
            return LogSettings(tree_id=default_tree)
        tree_id = table.get_int("tree_id", default_tree, minimum=1)
        shard_offset = table.get_int("shard_offset", 0)
        origin = table.get_str("origin_host", "rekor.lab.invalid")
        offset = table.duration("integration_offset")
        table.done()
        return LogSettings(
            tree_id=tree_id,
            shard_offset=shard_offset,
            origin_host=origin,
            integration_offset=offset if offset is not None else timedelta(seconds=-3),
        )

    def file_spec(
        self,
        table: _Table | str,
        path: PathKey,
        index: int,
        release: _ReleaseContext,
    ) -> FileSpec | None:
        if isinstance(table, str):
            table = _Table({"kind": table}, path, self.problems)
        kind_text = table.choice("kind", [k.value for k in FileKind], None, required=True)
        wheel_tag = table.get_str("tag", "py3-none-any")
        if not _WHEEL_TAG.match(wheel_tag):
            table.error("tag", f"expected a wheel tag like 'py3-none-any', got {wheel_tag!r}")
            wheel_tag = "py3-none-any"
        if kind_text == "sdist" and table.has("tag"):
            table.error("tag", "only wheels have a tag")
        upload = table.time("upload_time")
        offset = table.duration("upload_offset")
        if upload is not None and offset is not None:
            table.error("upload_offset", "give either 'upload_time' or 'upload_offset', not both")
        if upload is None:
            upload = release.upload_time + (
                offset if offset is not None else timedelta(seconds=3 * index)
            )
        publish = table.choice("publish", [p.value for p in PublishMethod], release.publish)
        integration = table.duration("integration_offset")
        ident = self.identity(table.table("publisher"), self.kind)
        tamper = self.tamper(table)
        content = self.content(table)
        reuse = table.get_str("reuse_attestation_of", None)
        if publish == PublishMethod.TOKEN.value:
            for key, present in (
                ("tamper", bool(tamper)),
                ("publisher", not ident.is_empty),
                ("reuse_attestation_of", reuse is not None),
                ("integration_offset", integration is not None),
            ):
                if present:
                    table.error(
                        key,
                        f"'{key}' needs an attestation, but this file is published with a token",
                    )
        if reuse is not None and (tamper or not ident.is_empty):
            table.error(
                "reuse_attestation_of",
                "a reused attestation cannot also be re-signed (drop 'tamper'/'publisher')",
            )
        own = {"upload_time": isoformat(upload) or ""}
        facts = self.facts(table, own)
        table.done()
        if kind_text is None:
            return None
        return FileSpec(
            kind=FileKind(kind_text),
            upload_time=upload,
            publish=PublishMethod(publish),
            identity=release.identity.merged(ident),
            integration_offset=integration
            if integration is not None
            else release.integration_offset,
            wheel_tag=wheel_tag,
            tamper=tamper,
            content=release.content.merged(content),
            reuse_attestation_of=reuse,
            facts=facts,
            line=self.problems.map.line(table.path),
        )

    def release(self, table: _Table, log: LogSettings, project: str) -> Release | None:
        version = table.get_str("version", None, required=True)
        if version is not None:
            try:
                parsed = Version(version)
            except InvalidVersion:
                table.error("version", f"invalid version {version!r} (PEP 440, e.g. '1.2.3')")
                version = None
            else:
                if not _VERSION_SAFE.match(version):
                    table.error("version", f"version {version!r} cannot appear in a filename")
                    version = None
                elif str(parsed) != version:
                    table.error(
                        "version",
                        f"version {version!r} is not in normalised form; write '{parsed}'",
                    )
                    version = None
        upload = table.time("upload_time", required=True)
        publish = table.choice("publish", [p.value for p in PublishMethod], self.default_publish)
        integration = table.duration("integration_offset")
        ident = self.identity(table.table("publisher"), self.kind)
        content = self.content(table)
        deleted = table.time("deleted_at")
        yanked_at = table.time("yanked_at")
        yanked = False
        reason: str | None = None
        if table.has("yanked"):
            raw = table.data["yanked"]
            table.read.add("yanked")
            if isinstance(raw, bool):
                yanked = raw
            elif isinstance(raw, str) and raw.strip():
                yanked, reason = True, raw
            else:
                table.error("yanked", "expected true/false or the yank reason as a string")
        if table.has("yanked_reason"):
            reason = table.get_str("yanked_reason", None)
            if not yanked:
                table.error("yanked_reason", "a yank reason needs 'yanked = true'")
        if yanked_at is not None and not yanked:
            table.error("yanked_at", "a yank time needs 'yanked = true' (or a reason)")
        # `""` says the release declares no requires_python (an older or foreign build tool).
        requires_python = table.get_str("requires_python", None, nonempty=False)
        gh = self.release_github(table)
        if upload is None:
            upload = datetime(1970, 1, 1, tzinfo=UTC)
        ctx = _ReleaseContext(
            upload_time=upload,
            publish=publish,
            identity=ident,
            integration_offset=integration if integration is not None else log.integration_offset,
            content=content,
        )
        files: list[FileSpec] = []
        if table.has("files"):
            raw_files = table.data["files"]
            table.read.add("files")
            if not isinstance(raw_files, list) or not raw_files:
                table.error(
                    "files", "expected a non-empty list of file tables or kinds ('sdist', 'wheel')"
                )
            else:
                for i, item in enumerate(raw_files):
                    path = (*table.path, "files", i)
                    if isinstance(item, dict):
                        spec = self.file_spec(_Table(item, path, self.problems), path, i, ctx)
                    elif isinstance(item, str):
                        if item not in [k.value for k in FileKind]:
                            self.problems.add(
                                path,
                                f"unknown file kind {item!r}; expected sdist or wheel"
                                + _suggest(item, ["sdist", "wheel"]),
                            )
                            continue
                        spec = self.file_spec(item, path, i, ctx)
                    else:
                        self.problems.add(
                            path, f"expected a file table or kind, got {_describe(item)}"
                        )
                        continue
                    if spec is not None:
                        files.append(spec)
        else:
            # The usual order of a pypa/gh-action-pypi-publish upload: wheel, then sdist ~3 s later.
            for i, kind in enumerate(("wheel", "sdist")):
                spec = self.file_spec(kind, (*table.path,), i, ctx)
                if spec is not None:
                    files.append(spec)
        own = {"version": version or "", "upload_time": isoformat(upload) or ""}
        if deleted is not None:
            own["deleted_at"] = isoformat(deleted) or ""
        if ident.sha:
            own["sha"] = ident.sha
        if ident.run_id:
            own["run_id"] = str(ident.run_id)
        facts = self.facts(table, own)
        table.done()
        if version is None:
            return None
        names = [f.filename(project, version) for f in files]
        for i, name in enumerate(names):
            if names.index(name) != i:
                self.problems.add(
                    (*table.path, "files", i), f"two files of {version} are both named {name}"
                )
        if deleted is not None:
            late = [f for f in files if f.upload_time >= deleted]
            if late:
                table.error(
                    "deleted_at",
                    f"deleted at {isoformat(deleted)}, before its file upload at "
                    f"{isoformat(late[0].upload_time)}",
                )
        if yanked_at is not None and files and yanked_at < min(f.upload_time for f in files):
            table.error("yanked_at", f"yanked at {isoformat(yanked_at)}, before its first upload")
        if not files:
            return None
        return Release(
            version=version,
            upload_time=upload,
            files=tuple(files),
            deleted_at=deleted,
            yanked=yanked,
            yanked_reason=reason,
            yanked_at=yanked_at,
            requires_python=requires_python,
            github=gh,
            identity=ident,
            facts=facts,
            line=self.problems.map.line(table.path),
        )

    def release_github(self, table: _Table) -> ReleaseGitHub:
        if table.has("github") and table.data["github"] is False:
            table.read.add("github")
            return ReleaseGitHub(commit=False, tag=False, run=False)
        sub = table.table("github")
        if sub is None:
            return ReleaseGitHub()
        tag: bool | str = True
        if sub.has("tag"):
            raw = sub.data["tag"]
            sub.read.add("tag")
            if isinstance(raw, bool) or (isinstance(raw, str) and raw.strip()):
                tag = raw
            else:
                sub.error("tag", "expected true/false or a tag name")
        out = ReleaseGitHub(
            commit=sub.get_bool("commit", True),
            tag=tag,
            run=sub.get_bool("run", True),
            author=sub.get_str("author", None),
            author_email=sub.get_str("author_email", None),
            message=sub.get_str("message", None),
            files=sub.str_list("files"),
            actor=sub.get_str("actor", None),
            branch=sub.get_str("branch", None),
            parents=sub.str_list("parents"),
            tag_created_at=sub.time("tag_created_at"),
            tag_deleted_at=sub.time("tag_deleted_at"),
            explicit=frozenset(sub.data),
        )
        for p in out.parents or ():
            if not _SHA1.match(p):
                sub.error("parents", f"expected 40-hex-digit commit SHAs, got {p!r}")
        sub.done()
        return out

    def github(self) -> GitHubState:
        table = self.root.table("github")
        if table is None:
            return GitHubState()
        generate = table.get_bool("generate", True)
        commits: list[Commit] = []
        for item in table.tables("commits"):
            sha = item.get_str("sha", None, required=True)
            if sha is not None and not _SHA1.match(sha):
                item.error("sha", f"expected a 40-hex-digit commit SHA, got {sha!r}")
                sha = None
            author = item.get_str("author", None, required=True)
            email = item.get_str("author_email", None)
            message = item.get_str("message", None, required=True)
            parents = item.str_list("parents") or ()
            for p in parents:
                if not _SHA1.match(p):
                    item.error("parents", f"expected 40-hex-digit commit SHAs, got {p!r}")
            files = item.str_list("files") or ()
            when = item.time("date")
            committer = item.get_str("committer", None)
            item.done()
            if sha and author and message:
                commits.append(
                    Commit(
                        sha=sha,
                        author=author,
                        author_email=email or f"{author.lower()}@users.noreply.github.com",
                        message=message,
                        parents=parents,
                        files=files,
                        date=when,
                        committer=committer,
                    )
                )
        tags: list[Tag] = []
        for item in table.tables("tags"):
            name = item.get_str("name", None, required=True)
            commit = item.get_str("commit", None, required=True)
            if commit is not None and not _SHA1.match(commit):
                item.error("commit", f"expected a 40-hex-digit commit SHA, got {commit!r}")
                commit = None
            created = item.time("created_at")
            deleted = item.time("deleted_at")
            if created and deleted and deleted <= created:
                item.error("deleted_at", "a tag is deleted after it is created")
            item.done()
            if name and commit:
                tags.append(Tag(name, commit, created, deleted))
        runs: list[Run] = []
        for item in table.tables("runs"):
            run_id = item.get_int("id", None, minimum=1)
            if not item.has("id"):
                item.error(None, "missing required key 'id'")
            event = item.get_str("event", None, required=True)
            actor = item.get_str("actor", None, required=True)
            head_branch = item.get_str("head_branch", None, required=True)
            head_sha = item.get_str("head_sha", None, required=True)
            if head_sha is not None and not _SHA1.match(head_sha):
                item.error("head_sha", f"expected a 40-hex-digit commit SHA, got {head_sha!r}")
                head_sha = None
            path = item.get_str("path", None, required=True)
            created = item.time("created_at", required=True)
            attempt = item.get_int("run_attempt", 1, minimum=1)
            status = item.get_str("status", "completed")
            conclusion = item.get_str("conclusion", "success")
            item.done()
            if run_id and event and actor and head_branch and head_sha and path and created:
                runs.append(
                    Run(
                        run_id,
                        event,
                        actor,
                        head_branch,
                        head_sha,
                        path,
                        created,
                        attempt,
                        status,
                        conclusion,
                    )
                )
        out = GitHubState(
            generate=generate,
            actor=table.get_str("actor", None),
            author=table.get_str("author", None),
            author_email=table.get_str("author_email", None),
            commits=tuple(commits),
            tags=tuple(tags),
            runs=tuple(runs),
            created_at=table.time("created_at"),
            default_branch=table.get_str("default_branch", "main"),
        )
        table.done()
        return out

    def extra_entries(self, project: str, log: LogSettings) -> list[ExtraLogEntry]:
        out: list[ExtraLogEntry] = []
        for item in self.root.tables("log_entries"):
            version = item.get_str("version", None, required=True)
            if version is not None:
                try:
                    Version(version)
                except InvalidVersion:
                    item.error("version", f"invalid version {version!r} (PEP 440)")
                    version = None
            kind = item.choice("kind", [k.value for k in FileKind], "sdist")
            wheel_tag = item.get_str("tag", "py3-none-any")
            when = item.time("integrated_at", required=True)
            sha = item.get_str("sha256", None)
            if sha is not None and not _SHA256.match(sha):
                item.error("sha256", f"expected 64 lower-case hex digits, got {sha!r}")
                sha = None
            ident = self.identity(item.table("publisher"), self.kind)
            tamper = self.tamper(item)
            content = self.content(item)
            note = item.get_str("note", "")
            item.done()
            if version and when:
                out.append(
                    ExtraLogEntry(
                        version=version,
                        kind=FileKind(kind),
                        integrated_at=when,
                        identity=ident,
                        sha256=sha,
                        wheel_tag=wheel_tag,
                        tamper=tamper,
                        content=content,
                        note=note,
                        line=self.problems.map.line(item.path),
                    )
                )
        return out

    def simulated(self) -> tuple[str, ...]:
        raw = self.root.data.get("simulated")
        self.root.read.add("simulated")
        if raw is None:
            self.root.error(
                None, "missing required key 'simulated' (say what in the scenario is invented)"
            )
            return ()
        if not isinstance(raw, list):
            self.root.error("simulated", "expected a list of strings or [[simulated]] tables")
            return ()
        out: list[str] = []
        for i, item in enumerate(raw):
            if isinstance(item, str) and item.strip():
                out.append(item)
            elif isinstance(item, dict):
                t = _Table(item, ("simulated", i), self.problems)
                what = t.get_str("what", None, required=True)
                why = t.get_str("why", None)
                t.done()
                if what:
                    out.append(f"{what} ({why})" if why else what)
            else:
                self.problems.add(
                    ("simulated", i), f"expected a non-empty string or table, got {_describe(item)}"
                )
        return tuple(out)

    def info(self) -> dict[str, Any]:
        """`[info]`: JSON API `info` fields (strings) and `project_urls` (label -> URL)."""
        table = self.root.table("info")
        if table is None:
            return {}
        out: dict[str, Any] = {}
        for key in INFO_TEXT_KEYS:
            value = table.get_str(key, None)
            if value is not None:
                out[key] = value
        urls = table.table("project_urls")
        if urls is not None:
            mapping: dict[str, str] = {}
            for label, url in urls.data.items():
                urls.read.add(label)
                if not isinstance(url, str) or not re.match(r"^https?://", url):
                    urls.error(label, f"expected an http(s) URL, got {_describe(url)}")
                else:
                    mapping[label] = url
            out["project_urls"] = mapping
        table.done()
        return out

    def expect(self, versions: set[str]) -> Expectation:
        table = self.root.table("expect")
        if table is None:
            return Expectation()
        flag: dict[str, str] = {}
        rules: dict[str, FlagRule] = {}
        sub = table.table("flag")
        if sub is not None:
            for version, why in sub.data.items():
                sub.read.add(version)
                rule = FlagRule(why=why if isinstance(why, str) else "")
                if isinstance(why, dict):
                    unknown = sorted(set(why) - {"min_severity", "detector", "why"})
                    severity = why.get("min_severity", "medium")
                    detector = why.get("detector")
                    if unknown:
                        sub.error(
                            version,
                            f"unknown key(s) {', '.join(unknown)}; expected "
                            "min_severity, detector, why",
                        )
                        continue
                    if severity not in SEVERITIES:
                        sub.error(
                            version,
                            f"min_severity {severity!r} is not one of " + ", ".join(SEVERITIES),
                        )
                        continue
                    if detector is not None and not isinstance(detector, str):
                        sub.error(version, "detector must be a detector id string")
                        continue
                    rule = FlagRule(severity, detector, str(why.get("why", "")))
                    why = rule.why or f"flagged {severity} or above"
                if not isinstance(why, str) or not why.strip():
                    sub.error(version, "expected the reason as a non-empty string or a table")
                elif version not in versions:
                    sub.error(
                        version,
                        f"version {version!r} is not a release or log entry of this scenario"
                        + _suggest(version, sorted(versions)),
                    )
                else:
                    flag[version] = why
                    rules[version] = rule
        clean = table.str_list("clean") or ()
        quiet = table.get_str("quiet_above", "low")
        if quiet not in SEVERITIES:
            table.error("quiet_above", f"expected one of {', '.join(SEVERITIES)}, got {quiet!r}")
            quiet = "low"
        for version in clean:
            if version not in versions:
                table.error(
                    "clean",
                    f"version {version!r} is not a release of this scenario"
                    + _suggest(version, sorted(versions)),
                )
            if version in flag:
                table.error("clean", f"version {version!r} is both flagged and clean")
        table.done()
        return Expectation(flag=flag, clean=tuple(clean), rules=rules, quiet_above=quiet)

    # -- whole file --------------------------------------------------------------------------

    def scenario(self, source: Path | None) -> Scenario:
        root = self.root
        name = root.get_str("name", self.stem)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            root.error("name", f"scenario names are [A-Za-z0-9._-], got {name!r}")
        description = root.get_str("description", "", required=True)
        project = root.get_str("project", "lab-project", required=True)
        if not _PROJECT.match(project):
            root.error("project", f"invalid project name {project!r}")
            project = "lab-project"
        seed = root.get_int("seed", 0)
        requires_python = root.get_str("requires_python", ">=3.8")
        self.default_publish = root.choice(
            "publish", [p.value for p in PublishMethod], PublishMethod.TRUSTED_PUBLISHER.value
        )
        info = self.info()
        publisher = self.publisher()
        log = self.log(name)
        github = self.github()
        releases: list[Release] = []
        seen: dict[str, int] = {}
        for i, table in enumerate(root.tables("releases")):
            rel = self.release(table, log, project)
            if rel is None:
                continue
            if rel.version in seen:
                self.problems.add(
                    ("releases", i, "version"),
                    f"version {rel.version} already defined at line {seen[rel.version]}",
                )
                continue
            seen[rel.version] = rel.line
            releases.append(rel)
        if not root.has("releases"):
            root.error(None, "missing required array [[releases]]")
        self._check_cross(releases, project)
        extra = self.extra_entries(project, log)
        simulated = self.simulated()
        facts = self.facts(root, {"project": project})
        expect = self.expect({r.version for r in releases} | {e.version for e in extra})
        root.done()
        if self.problems.items:
            raise ScenarioValidationError(self.problems.items)
        return Scenario(
            name=name,
            description=description,
            project=project,
            publisher=publisher,
            releases=tuple(releases),
            log=log,
            github=github,
            extra_log_entries=tuple(extra),
            simulated=simulated,
            facts=facts,
            expect=expect,
            seed=seed,
            requires_python=requires_python,
            source=source,
            info=info,
        )

    def _check_cross(self, releases: Sequence[Release], project: str) -> None:
        by_name: dict[str, tuple[int, FileSpec]] = {}
        for i, rel in enumerate(releases):
            for f in rel.files:
                by_name[f.filename(project, rel.version)] = (i, f)
        for rel in releases:
            for j, f in enumerate(rel.files):
                if f.reuse_attestation_of is None:
                    continue
                path: PathKey = (
                    "releases",
                    releases.index(rel),
                    "files",
                    j,
                    "reuse_attestation_of",
                )
                target = by_name.get(f.reuse_attestation_of)
                if target is None:
                    self.problems.add(
                        path,
                        f"no file named {f.reuse_attestation_of!r} in this scenario"
                        + _suggest(f.reuse_attestation_of, sorted(by_name)),
                    )
                elif target[1].publish is PublishMethod.TOKEN or target[1].reuse_attestation_of:
                    self.problems.add(
                        path, f"{f.reuse_attestation_of} has no attestation of its own to reuse"
                    )
                elif target[1].integrated_at > f.upload_time:
                    self.problems.add(
                        path, f"{f.reuse_attestation_of} is signed after this file's upload"
                    )


@dataclass(frozen=True)
class _ReleaseContext:
    upload_time: datetime
    publish: str
    identity: Identity
    integration_offset: timedelta
    content: Content


def _check_ref_pattern(pattern: str) -> str | None:
    try:
        rendered = pattern.format(version="1.0")
    except (KeyError, IndexError, ValueError) as exc:
        return f"bad ref pattern {pattern!r}: only '{{version}}' may be substituted ({exc})"
    if not rendered.startswith("refs/"):
        return f"expected a full git ref (refs/heads/…, refs/tags/…, refs/pull/…), got {pattern!r}"
    return None


def render_ref(pattern: str, version: str) -> str:
    """A ref pattern with `{version}` substituted."""
    return pattern.format(version=version)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def parse_scenario(text: str, *, file: str = "<scenario>", source: Path | None = None) -> Scenario:
    """Parse and validate scenario TOML text (raises `ScenarioValidationError`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ScenarioValidationError(
            [Problem(file, line, "", f"TOML syntax error: {message}")]
        ) from None
    stem = Path(file).stem if file != "<scenario>" else "scenario"
    return _Parser(data, file, _SourceMap(text), stem).scenario(source)


def load_scenario(path: Path | str) -> Scenario:
    """Read, parse and validate a scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {path}", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from None
    return parse_scenario(text, file=str(path), source=path)


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios that ship with the toolkit, by name."""
    folder = Path(__file__).with_name("scenarios")
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}
