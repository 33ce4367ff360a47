"""`forensics eval SCENARIO...`: score the anomaly scan against scenarios' `[expect]` tables.

Each scenario is built into a world, served on loopback and collected with the ordinary clients
(`forensics_lab.case.build_case`), then investigated offline from the case, exactly as a real
project would be. The findings are scored against the scenario's expectations:

* a must-flag release (`[expect.flag]`) is a hit when a finding on it reaches its `min_severity`
  (default medium) and, when the rule names a `detector`, that detector is among those that do;
* a clean release (`[expect].clean`) is a false alarm when any finding on it is above
  `quiet_above` (default low, so: a finding of medium or more).

Scenario files from anywhere are accepted: that is how detection is measured on worlds this
repository has never seen. Recall is reported per scenario and per detector, with one summary
line; `--json` prints JSON lines instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError, InputError
from forensics.models import Finding, Severity
from forensics_lab.scenario import Expectation, FlagRule


@dataclass(frozen=True)
class Miss:
    """A must-flag release the scan did not flag as required."""

    version: str
    rule: FlagRule
    got: str
    """What the scan said about it (the strongest finding, or nothing)."""


@dataclass
class ScenarioScore:
    """One scenario's result."""

    name: str
    path: str
    must_flag: int = 0
    hits: int = 0
    misses: list[Miss] = field(default_factory=list)
    clean: int = 0
    false_alarms: list[Finding] = field(default_factory=list)
    detectors_hit: dict[str, int] = field(default_factory=dict)
    """Detector -> must-flag releases it flagged at the required severity."""
    detectors_named: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Detector named by rules -> (hits, expected)."""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """One JSON line."""
        return {
            "kind": "scenario",
            "scenario": self.name,
            "path": self.path,
            "must_flag": self.must_flag,
            "hits": self.hits,
            "misses": [
                {
                    "version": m.version,
                    "min_severity": m.rule.min_severity,
                    "detector": m.rule.detector,
                    "got": m.got,
                }
                for m in self.misses
            ],
            "clean": self.clean,
            "false_alarms": [
                {"version": f.version, "detector": f.detector, "severity": f.severity.value}
                for f in self.false_alarms
            ],
            "error": self.error,
        }


def score(name: str, path: str, expect: Expectation, findings: Sequence[Finding]) -> ScenarioScore:
    """Score one scenario's findings against its expectations (pure)."""
    out = ScenarioScore(name, path)
    by_version: dict[str, list[Finding]] = {}
    for f in findings:
        if f.version:
            by_version.setdefault(f.version, []).append(f)
    for version in expect.flag:
        rule = expect.rules.get(version, FlagRule(why=expect.flag[version]))
        need = Severity(rule.min_severity).rank
        strong = [f for f in by_version.get(version, []) if f.severity.rank >= need]
        out.must_flag += 1
        for det in {f.detector for f in strong}:
            out.detectors_hit[det] = out.detectors_hit.get(det, 0) + 1
        hit = bool(strong) and (
            rule.detector is None or any(f.detector == rule.detector for f in strong)
        )
        if rule.detector is not None:
            h, n = out.detectors_named.get(rule.detector, (0, 0))
            out.detectors_named[rule.detector] = (h + hit, n + 1)
        if hit:
            out.hits += 1
        else:
            best = max(by_version.get(version, []), key=lambda f: f.severity.rank, default=None)
            got = f"{best.severity.value} {best.detector}" if best else "no finding"
            out.misses.append(Miss(version, rule, got))
    quiet = Severity(expect.quiet_above).rank
    for version in expect.clean:
        out.clean += 1
        out.false_alarms += [f for f in by_version.get(version, []) if f.severity.rank > quiet]
    return out


def investigate_scenario(path: Path, work: Path) -> tuple[str, Expectation, tuple[Finding, ...]]:
    """Build, serve and collect the scenario into a case under `work`, then investigate offline."""
    from forensics.api import investigate
    from forensics.evidence import EvidenceStore
    from forensics_lab.case import build_case
    from forensics_lab.scenario import load_scenario

    scenario = load_scenario(path)
    case = build_case(path, work / "case")
    with EvidenceStore.open(case, create=False) as store:
        meta = store.read_meta()
    project = meta.project if meta is not None else scenario.project
    inv = investigate(project, case=case, offline=True)
    return scenario.name, scenario.expect, inv.findings


def evaluate(paths: Iterable[Path]) -> list[ScenarioScore]:
    """Score every scenario; a scenario that cannot be built is a scored error, not a crash."""
    scores = []
    for path in paths:
        with tempfile.TemporaryDirectory(prefix="forensics-eval-") as tmp:
            try:
                name, expect, findings = investigate_scenario(path, Path(tmp))
            except ForensicsError as exc:
                s = ScenarioScore(path.stem, str(path), error=str(exc))
                scores.append(s)
                continue
        scores.append(score(name, str(path), expect, findings))
    return scores


def summary(scores: Sequence[ScenarioScore]) -> dict[str, Any]:
    """Totals: recall on must-flags, false alarms on clean releases, per detector."""
    must = sum(s.must_flag for s in scores)
    hits = sum(s.hits for s in scores)
    clean = sum(s.clean for s in scores)
    alarms = sum(len({f.version for f in s.false_alarms}) for s in scores)
    findings = sum(len(s.false_alarms) for s in scores)
    per_detector: dict[str, dict[str, int]] = {}
    for s in scores:
        for det, n in s.detectors_hit.items():
            per_detector.setdefault(det, {"hits": 0, "named": 0, "named_hits": 0, "fp": 0})
            per_detector[det]["hits"] += n
        for det, (h, n) in s.detectors_named.items():
            per_detector.setdefault(det, {"hits": 0, "named": 0, "named_hits": 0, "fp": 0})
            per_detector[det]["named"] += n
            per_detector[det]["named_hits"] += h
        for f in s.false_alarms:
            per_detector.setdefault(f.detector, {"hits": 0, "named": 0, "named_hits": 0, "fp": 0})
            per_detector[f.detector]["fp"] += 1
    return {
        "kind": "summary",
        "scenarios": len(scores),
        "errors": sum(1 for s in scores if s.error),
        "must_flag": must,
        "hits": hits,
        "recall": hits / must if must else 1.0,
        "clean_releases": clean,
        "false_alarm_releases": alarms,
        "false_alarm_findings": findings,
        "detectors": dict(sorted(per_detector.items())),
    }


def summary_line(total: dict[str, Any]) -> str:
    """`must-flag recall 41/42 (97.6 %), false alarms ≥ medium on clean: 0`."""
    recall = f"{100 * total['recall']:.1f} %" if total["must_flag"] else "n/a: nothing to flag"
    return (
        f"must-flag recall {total['hits']}/{total['must_flag']} ({recall}), "
        f"false alarms ≥ medium on clean: {total['false_alarm_releases']} "
        f"(of {total['clean_releases']} clean releases; {total['false_alarm_findings']} findings)"
        + (f"; {total['errors']} scenario(s) failed to build" if total["errors"] else "")
    )


def render_text(scores: Sequence[ScenarioScore]) -> str:
    """The human report."""
    lines = []
    for s in scores:
        if s.error:
            lines.append(f"{s.name:36} ERROR {s.error}")
            continue
        lines.append(
            f"{s.name:36} must-flag {s.hits}/{s.must_flag}  "
            f"false alarms {len({f.version for f in s.false_alarms})}/{s.clean}"
        )
        lines += [
            f"    missed {m.version} (needs {m.rule.min_severity}"
            + (f" by {m.rule.detector}" if m.rule.detector else "")
            + f"; got {m.got})"
            for m in s.misses
        ]
        lines += [
            f"    false alarm {f.version}: {f.severity.value} {f.detector}: {f.summary}"
            for f in s.false_alarms
        ]
    total = summary(scores)
    lines += ["", f"{'detector':32} {'hits':>5} {'named':>7} {'false alarms':>13}"]
    for det, d in total["detectors"].items():
        named = f"{d['named_hits']}/{d['named']}" if d["named"] else "-"
        lines.append(f"{det:32} {d['hits']:>5} {named:>7} {d['fp']:>13}")
    lines += ["", summary_line(total)]
    return "\n".join(lines) + "\n"


def resolve(targets: Sequence[str]) -> list[Path]:
    """Scenario files, shipped scenario names, or directories of scenario files (all when empty)."""
    from forensics_lab.cli import resolve_scenario
    from forensics_lab.scenario import shipped_scenarios

    if not targets:
        return [p for _n, p in sorted(shipped_scenarios().items())]
    out: list[Path] = []
    for t in targets:
        path = Path(t)
        if path.is_dir():
            found = sorted(path.glob("*.toml"))
            if not found:
                raise InputError(f"{t} holds no scenario files (*.toml)")
            out += found
        else:
            out.append(resolve_scenario(t))
    return out


def run_eval(args: argparse.Namespace) -> int:
    """The CLI entry: exit 0 when every scenario was scored (the figures are the result); 2 on
    bad input, including a scenario that could not be built (its figures would be missing)."""
    scores = evaluate(resolve(args.scenarios))
    if args.json:
        for s in scores:
            sys.stdout.write(json.dumps(s.to_json(), sort_keys=True) + "\n")
        total = summary(scores)
        total["line"] = summary_line(total)
        sys.stdout.write(json.dumps(total, sort_keys=True) + "\n")
    else:
        sys.stdout.write(render_text(scores))
    if any(s.error for s in scores):
        failed = ", ".join(s.name for s in scores if s.error)
        sys.stderr.write(f"error[scenario]: not scored, could not be built: {failed}\n")
        return 2
    return 0


def register_eval(subparsers: Any) -> None:
    """Add `forensics eval`."""
    e = subparsers.add_parser(
        "eval",
        help="score the anomaly scan against lab scenarios' [expect] tables",
        description="Build each scenario, collect it from the lab servers, investigate it "
        "offline and score the findings: recall on must-flag releases, false alarms on clean "
        "ones. With no scenario, every shipped one.",
    )
    e.add_argument(
        "scenarios",
        nargs="*",
        help="scenario files, directories of them, or shipped scenario names",
    )
    e.add_argument("--json", action="store_true", help="JSON lines instead of text")
    e.set_defaults(func=run_eval)
