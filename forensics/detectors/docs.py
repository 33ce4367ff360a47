"""Generate docs/detectors.md from the registry, so detector docs cannot drift from the code.

`python -m forensics.detectors.docs > docs/detectors.md`; a test fails when the file is stale.
"""

from __future__ import annotations

from forensics.detectors.registry import DETECTORS
from forensics.timeline.baseline import MIN_SUPPORT, PERSIST


def render() -> str:
    """The Markdown page."""
    out = [
        "# Detectors",
        "",
        "Generated from `forensics/detectors/registry.py` by `python -m forensics.detectors.docs`.",
        "Each detector is a pure function of the timeline; one that needs data the case lacks is",
        "listed under `skipped` in the report with the reason, never silently dropped.",
        "",
        "## How releases are compared: the baseline",
        "",
        "Detectors read one joined timeline (per release: verified claims, channel, release line,",
        "source commit, tags, runs, log cross-checks) and compare a release with the baseline of",
        "its release line (`forensics/timeline/baseline.py`): the earlier releases of its",
        "`major.minor` line, else of its major family, else of the whole project; never with its",
        "predecessor alone. Values are counted with support, and a finding says so: `4 of 4",
        "earlier 3.1 releases built from refs/tags/v#.#.#; this one refs/heads/main`.",
        "",
        "- A missing value is a value: a deployment environment that disappears is a change.",
        f"- Cold start: with fewer than {MIN_SUPPORT} earlier observations there is no baseline",
        "  yet, and a change is reported at `info` only.",
        f"- A new value that persists ({PERSIST} releases in all) is one finding at the",
        "  transition, `persisted for N releases`, and becomes the new normal; a short excursion",
        "  flags each of its releases, and the release that returns to the usual value is normal.",
        "- Severity = how unusual (support) x evidence strength (verified certificate claim >",
        "  index metadata > intel) x explanation (same repository id under a new name; a tagged",
        "  commit by an earlier release author that renames the workflow; a persisting change",
        "  made that way). Explained changes are `low` and enter the baseline at once.",
        "- Every finding carries the baseline it used in `values` (`baseline`, `baseline_scope`,",
        "  `support`, `persisted_for`), its evidence, and a tip.",
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
