"""`forensics lab ...` (build, serve and list lab worlds) and `forensics eval` (score the scan on
lab scenarios), wired into the main CLI through the `forensics.subcommands` entry point."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from forensics.errors import InputError


def resolve_scenario(target: str) -> Path:
    """A scenario path, or the name of a shipped scenario (`ultralytics-2024-12`)."""
    from forensics_lab.scenario import shipped_scenarios

    path = Path(target)
    if path.exists():
        return path
    shipped = shipped_scenarios()
    if target in shipped:
        return shipped[target]
    raise InputError(
        f"{target} is neither a file nor a shipped scenario",
        hint="shipped scenarios: " + ", ".join(sorted(shipped)),
    )


def _build(args: argparse.Namespace) -> int:
    from forensics_lab.build import build_world
    from forensics_lab.scenario import load_scenario

    out = build_world(load_scenario(resolve_scenario(args.scenario)), args.output, seed=args.seed)
    sys.stdout.write(f"built world in {out}\n")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from forensics_lab.serve import run_serve

    target = Path(args.target)
    if not target.exists():
        args.target = str(resolve_scenario(args.target))
    from forensics_lab.fleet import is_fleet, run_fleet_serve

    if is_fleet(Path(args.target)):
        return run_fleet_serve(args)
    return run_serve(args)


def _case(args: argparse.Namespace) -> int:
    from forensics.models import parse_time
    from forensics_lab.case import build_case

    try:
        as_of = parse_time(args.as_of) if args.as_of else None
    except ValueError as exc:
        raise InputError(f"--as-of {args.as_of!r} is not an ISO 8601 time") from exc
    out = build_case(
        resolve_scenario(args.scenario),
        args.case,
        as_of=as_of,
        seed=args.seed,
        with_log=not args.no_log,
        mirror=args.mirror,
    )
    sys.stdout.write(f"collected a simulated case into {out}\n")
    return 0


def _fleet(args: argparse.Namespace) -> int:
    from forensics_lab.fleet import fleet_cli

    return fleet_cli(args)


def _list(args: argparse.Namespace) -> int:
    from forensics_lab.scenario import load_scenario, shipped_scenarios

    for name, path in sorted(shipped_scenarios().items()):
        description = load_scenario(path).description.strip().splitlines()
        sys.stdout.write(f"{name:36} {description[0] if description else ''}\n")
    return 0


def register(subparsers: Any) -> None:
    """Add the `lab` command group."""
    from forensics_lab.serve import register_serve_cli

    lab = subparsers.add_parser(
        "lab", help="the lab: a local Sigstore + PyPI + Rekor + GitHub world"
    )
    sub = lab.add_subparsers(dest="lab_command", required=True)
    b = sub.add_parser("build", help="build a scenario's world into a directory")
    b.add_argument("scenario", help="scenario file or shipped scenario name")
    b.add_argument("-o", "--output", type=Path, required=True)
    b.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    b.set_defaults(func=_build)
    register_serve_cli(sub)
    sub.choices["serve"].set_defaults(func=_serve)
    c = sub.add_parser("case", help="collect a scenario's world into a (simulated) case directory")
    c.add_argument("scenario", help="scenario file or shipped scenario name")
    c.add_argument("--case", type=Path, required=True)
    c.add_argument("--as-of", help="serve the lab index as it stood at this time")
    c.add_argument("--seed", type=int, default=None)
    c.add_argument("--no-log", action="store_true", help="do not collect the transparency log")
    c.add_argument("--mirror", action="store_true", help="serve the index without PEP 740")
    c.set_defaults(func=_case)
    fl = sub.add_parser("fleet", help="build a multi-project lab world with injected anomalies")
    fl.add_argument("--projects", type=int, default=8, help="number of projects (default 8)")
    fl.add_argument("--anomalies", type=int, default=6, help="anomalies to inject (default 6)")
    fl.add_argument("--seed", type=int, default=0)
    fl.add_argument("-o", "--output", type=Path, required=True)
    fl.set_defaults(func=_fleet)
    ls = sub.add_parser("scenarios", help="list the shipped scenarios")
    ls.set_defaults(func=_list)
    from forensics_lab.eval import register_eval

    register_eval(subparsers)
