"""Intel seeds: log indexes, entry UUIDs and file digests from advisories, each with a citation.

A case's `intel.toml` lists what outside sources say, so the transparency log can be searched for
releases the index no longer serves. Every seed must say where it comes from and how sure that
source is (verified / secondary / inferred, as in the incident fact sheets; `simulated` for lab
stand-ins), because a recovered release is only as good as the claim that named it::

    [[seed]]
    kind = "log_index"            # log_index | uuid | sha256 | version
    value = "153415338"
    version = "8.3.41"            # optional: what the source says this is
    filename = "ultralytics-8.3.41.tar.gz"   # optional
    tag = "secondary"             # verified | secondary | inferred | simulated
    source = "https://blog.gitguardian.com/..."
    note = "optional free text"
    published = "2024-12-07"      # optional: when the source says it was published

A `version` seed reports a release by version alone (an advisory naming a deleted release with no
digest): the timeline lists it, and a release that the log has no signing event for stands out.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from forensics.errors import InputError
from forensics.models import EvidenceRef, parse_time

KINDS = ("log_index", "uuid", "sha256", "version")
TAGS = ("verified", "secondary", "inferred", "simulated")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_UUID = re.compile(r"^([0-9a-f]{16})?[0-9a-f]{64}$")


@dataclass(frozen=True)
class IntelSeed:
    """One cited lead."""

    kind: str
    value: str
    tag: str
    source: str
    version: str | None = None
    filename: str | None = None
    note: str = ""
    evidence: EvidenceRef | None = None
    """Points at the intel file itself (its sha256), so findings can cite it."""
    published: datetime | None = None
    """When the source says the release was published (optional)."""

    @property
    def citation(self) -> str:
        """`[tag] source`."""
        return f"[{self.tag}] {self.source}"


def load_intel(path: Path) -> tuple[IntelSeed, ...]:
    """Read and validate an intel file from disk."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read intel file {path}: {exc.strerror}") from exc
    return parse_intel(raw, str(path))


def parse_intel(
    raw: bytes, path: str, evidence: EvidenceRef | None = None
) -> tuple[IntelSeed, ...]:
    """Parse and validate intel; every problem names the file, the seed and the field."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from exc
    unknown_top = set(data) - {"seed"}
    if unknown_top:
        raise InputError(
            f"{path}: unknown top-level key(s) {sorted(unknown_top)}; expected [[seed]] tables"
        )
    seeds: list[IntelSeed] = []
    items: list[Any] = data.get("seed", []) if isinstance(data.get("seed", []), list) else [None]
    for i, item in enumerate(items, start=1):
        where = f"{path}: seed #{i}"
        if not isinstance(item, dict):
            raise InputError(f"{where} is not a table")
        extra = set(item) - {
            "kind",
            "value",
            "version",
            "filename",
            "tag",
            "source",
            "note",
            "published",
        }
        if extra:
            raise InputError(f"{where}: unknown key(s) {sorted(extra)}")
        for key in ("kind", "value", "tag", "source"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise InputError(f"{where}: `{key}` is required and must be a non-empty string")
        kind, value, tag = item["kind"], item["value"].strip(), item["tag"]
        if kind != "version":
            value = value.lower()
        if kind not in KINDS:
            raise InputError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if tag not in TAGS:
            raise InputError(f"{where}: tag {tag!r} is not one of {', '.join(TAGS)}")
        if kind == "log_index" and not value.isdigit():
            raise InputError(f"{where}: log_index {value!r} is not a non-negative integer")
        if kind == "sha256" and not _HEX64.match(value):
            raise InputError(f"{where}: sha256 {value!r} is not 64 hex digits")
        if kind == "uuid" and not _UUID.match(value):
            raise InputError(f"{where}: uuid {value!r} is not a 64- or 80-hex-digit entry UUID/ID")
        if kind == "version":
            try:
                value = str(Version(value))
            except InvalidVersion as exc:
                raise InputError(f"{where}: version {value!r} is not a valid version") from exc
        published = None
        if item.get("published") is not None:
            try:
                published = parse_time(str(item["published"]))
            except ValueError as exc:
                raise InputError(
                    f"{where}: published {item['published']!r} is not ISO 8601"
                ) from exc
        seeds.append(
            IntelSeed(
                kind=kind,
                value=value,
                tag=tag,
                source=item["source"].strip(),
                version=str(item["version"]) if item.get("version") is not None else None,
                filename=item.get("filename"),
                note=str(item.get("note", "")),
                evidence=evidence,
                published=published,
            )
        )
    return tuple(seeds)
