"""Intel files for lab worlds: the scenario's cited facts about deleted releases, as seeds.

A real investigation starts from what advisories cite (log indexes, file digests). A lab world
cannot reproduce those values (its archives and its log are the lab's own), so each cited real
value becomes a seed carrying the *lab* value that stands for it, tagged `simulated`, with the
real value, its confidence tag and its source kept in the note.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_WHERE = re.compile(r"^releases\[(?P<version>[^\]]+)\](?:\.files\[(?P<file>[^\]]+)\])?$")
_REAL_KINDS = {"real_rekor_log_index": "log_index", "real_sha256": "sha256"}


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _lab_log_index(world: Path, provenance: str | None) -> int | None:
    if not provenance:
        return None
    data = json.loads((world / provenance).read_bytes())
    for bundle in data.get("attestation_bundles", []):
        for att in bundle.get("attestations", []):
            for tle in att.get("verification_material", {}).get("transparency_entries", []):
                return int(tle["logIndex"])
    return None


def world_intel(world: Path) -> str:
    """intel.toml text for the deleted releases of a built world (empty when there are none)."""
    manifest: dict[str, Any] = json.loads((world / "world.json").read_bytes())
    releases = {r["version"]: r for r in manifest["releases"]}
    out = [
        "# Intel seeds for this lab world, generated from the scenario's cited facts.",
        "# Each seed carries the lab value that stands for a real cited value (see its note).",
        "",
    ]
    for version, rel in releases.items():
        if not rel.get("deleted_at") or any(f.get("provenance") for f in rel["files"]):
            continue
        # A deleted release uploaded without attestations: advisories name it by version only.
        cites = [
            f
            for f in manifest.get("facts", [])
            if f.get("where") == f"releases[{version}]" and f.get("name") == "publish"
        ]
        if not cites:
            continue
        first = min((f["upload_time"] for f in rel["files"]), default=None)
        out += [
            "[[seed]]",
            'kind = "version"',
            f"value = {_toml_str(version)}",
            f"tag = {_toml_str(cites[0]['tag'])}",
            f"source = {_toml_str(cites[0]['source'])}",
            *([f"published = {_toml_str(first)}"] if first else []),
            "note = "
            + _toml_str(
                f"reported as uploaded with {cites[0]['value']}; "
                "the time is the lab world's upload time"
            ),
            "",
        ]
    for fact in manifest.get("facts", []):
        kind = _REAL_KINDS.get(fact.get("name", ""))
        m = _WHERE.match(fact.get("where", ""))
        if kind is None or m is None:
            continue
        rel = releases.get(m.group("version"))
        if rel is None or not rel.get("deleted_at"):
            continue  # intel is about releases the index no longer serves
        files = sorted(rel["files"], key=lambda f: (f["upload_time"], f["filename"]))
        if m.group("file"):
            files = [f for f in files if f["filename"] == m.group("file")]
        if not files:
            continue
        target = files[0]
        if kind == "log_index":
            lab_value = _lab_log_index(world, target.get("provenance"))
            if lab_value is None:
                continue
            value = str(lab_value)
        else:
            value = target["digests"]["sha256"]
        which = (
            ""
            if m.group("file")
            else f" (the source names no file; the lab uses {target['filename']})"
        )
        note = (
            f"lab stand-in for the real {kind.replace('_', ' ')} {fact['value']} "
            f"[{fact['tag']}]{which}" + (f": {fact['note']}" if fact.get("note") else "")
        )
        out += [
            "[[seed]]",
            f"kind = {_toml_str(kind)}",
            f"value = {_toml_str(value)}",
            f"version = {_toml_str(rel['version'])}",
            *([f"filename = {_toml_str(target['filename'])}"] if m.group("file") else []),
            'tag = "simulated"',
            f"source = {_toml_str(fact['source'])}",
            f"note = {_toml_str(note)}",
            "",
        ]
    return "\n".join(out)
