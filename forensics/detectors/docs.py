"""Generate docs/detectors.md from the registry, so detector docs cannot drift from the code.

`python -m forensics.detectors.docs > docs/detectors.md`; a test fails when the file is stale.
"""

from __future__ import annotations

from forensics.detectors.registry import DETECTORS


def render() -> str:
    """The Markdown page."""
    out = [
        "# Detectors",
        "",
        "Generated from `forensics/detectors/registry.py` by `python -m forensics.detectors.docs`.",
        "Each detector is a pure function of the timeline; one that needs data the case lacks is",
        "listed under `skipped` in the report with the reason, never silently dropped.",
        "",
    ]
    for cls in DETECTORS:
        info = cls.info
        out += [f"## {info.id}", "", f"**{info.title}**", ""]
        needs = ", ".join(sorted(r.value for r in info.requires)) or "nothing"
        out += [f"- requires: {needs}", f"- why: {info.motivation}"]
        if info.caveats:
            out.append(f"- caveats: {info.caveats}")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
