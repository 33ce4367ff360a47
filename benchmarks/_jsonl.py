"""Shared output of the benchmark scripts: human lines, or JSON lines with `--json`.

Every figure a benchmark reports goes through `Figures.figure`, which prints either a readable
line or one JSON object per line with the fields

    name            what was measured ("analysis.offline_cached", "collect.requests", ...)
    value           the number measured
    unit            "s", "ms", "MB", "per_s", "count", ...
    baseline        what it is compared with, in words (null when it has no baseline)
    baseline_value  the baseline's figure, measured in the same run and in the same unit
    ratio           value / baseline_value (null without a baseline); for a time, < 1 is faster
                    than the baseline, for a throughput > 1 is faster

In `--json` mode stdout carries only JSON lines (one object each, keys in the order above, so a
run can be piped to `jq` or appended to a log); narrative lines go to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """The `--json` flag every benchmark script takes."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per figure on stdout (name, value, unit, baseline, "
        "baseline_value, ratio); narrative lines go to stderr",
    )


def record(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: str | None = None,
    baseline_value: float | None = None,
) -> dict[str, Any]:
    """One figure as the JSON-line object (ratio computed here, never by the caller)."""
    if (baseline is None) != (baseline_value is None):
        raise ValueError(f"{name}: give both baseline and baseline_value, or neither")
    ratio = None
    if baseline_value is not None:
        ratio = value / baseline_value if baseline_value else math.inf if value else 1.0
    return {
        "name": name,
        "value": _number(value),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": None if baseline_value is None else _number(baseline_value),
        "ratio": None if ratio is None else _number(ratio),
    }


def _number(x: float) -> float | int | None:
    if isinstance(x, int):
        return x
    if math.isnan(x) or math.isinf(x):
        return None  # JSON has no NaN/Infinity
    return round(x, 6)


@dataclass
class Figures:
    """Where a benchmark prints: `line()` for narrative, `figure()` for a measured number."""

    json: bool = False
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    err: IO[str] = field(default_factory=lambda: sys.stderr)
    records: list[dict[str, Any]] = field(default_factory=list)

    def line(self, text: str) -> None:
        """A narrative line: stdout normally, stderr in JSON mode."""
        print(text, file=self.err if self.json else self.out, flush=True)

    def figure(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        text: str | None = None,
        baseline: str | None = None,
        baseline_value: float | None = None,
    ) -> dict[str, Any]:
        """Report one figure; `text` is the human line (default: built from the fields)."""
        rec = record(name, value, unit, baseline=baseline, baseline_value=baseline_value)
        self.records.append(rec)
        if self.json:
            print(json.dumps(rec, ensure_ascii=False), file=self.out, flush=True)
            return rec
        if text is None:
            text = f"{name}: {_human(value)} {unit}"
            if baseline is not None and baseline_value is not None:
                text += (
                    f" (baseline {baseline}: {_human(baseline_value)} {unit}, "
                    f"ratio {rec['ratio'] if rec['ratio'] is not None else 'n/a'})"
                )
        print(text, file=self.out, flush=True)
        return rec


def _human(x: float) -> str:
    if isinstance(x, int):
        return str(x)
    return f"{x:.2f}" if abs(x) >= 0.1 or x == 0 else f"{x:.4f}"


def report_load(out: Figures, when: str) -> None:
    """The machine's 1-minute load average: figures from a shared machine need it to be read."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return
    cores = os.cpu_count() or 1
    out.figure(
        f"machine.load_{when}",
        load,
        "load",
        text=f"load average {when}: {load:.2f} on {cores} cores",
    )
