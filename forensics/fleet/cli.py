"""`forensics scan` and `forensics gate`: argparse wiring only; the work is in forensics.fleet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from forensics.errors import InputError, UsageError
from forensics.models import Severity, parse_time

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_SOURCE = 0, 1, 2, 3
SCAN_FORMATS = ("text", "json", "html", "csv", "parquet")


def _time(text: str) -> Any:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index-url", help="index base URL (default $FORENSICS_INDEX_URL or https://pypi.org)"
    )
    p.add_argument("--trust-root", type=Path, help="Sigstore trusted_root.json (default: pinned)")
    p.add_argument("--fleet", type=Path, help="fleet directory: one case per project + reports")
    p.add_argument("--as-of", type=_time, help="analysis time for every project")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument(
        "--threads",
        type=int,
        default=4,
        help="projects in flight per local process (default 4; on Dask: the workers' threads)",
    )
    p.add_argument("--dask", metavar="ADDRESS", help="run on this dask.distributed scheduler")
    p.add_argument(
        "--rate", type=float, default=20.0, help="requests per second per host, whole fleet"
    )
    p.add_argument("--burst", type=int, default=10, help="request burst per host")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight per project")
    p.add_argument("--offline", action="store_true", help="reuse --fleet cases, no network")


def register(sub: Any) -> None:
    """Add `scan` and `gate` to the main CLI."""
    scan = sub.add_parser("scan", help="investigate many projects and correlate them")
    scan.add_argument("projects", nargs="*", help="project names")
    scan.add_argument("--projects", dest="project_file", type=Path, help="one name per line")
    scan.add_argument("--lockfile", type=Path, help="pylock.toml, uv.lock or requirements.txt")
    _common(scan)
    scan.add_argument("--format", choices=SCAN_FORMATS, default="text")
    scan.add_argument("-o", "--output", type=Path, help="write the report here")
    scan.add_argument("--fail-on", choices=[s.value for s in Severity])
    scan.add_argument("--spree-window-hours", type=int, default=48)
    scan.add_argument("--spree-min-projects", type=int, default=3)
    scan.set_defaults(func=cmd_scan)

    gate = sub.add_parser("gate", help="judge a lock file's pins against each project's history")
    gate.add_argument("lockfile", type=Path)
    gate.add_argument("--policy", choices=["no-downgrade"], default="no-downgrade")
    gate.add_argument("--exclude", action="append", default=[], metavar="NAME")
    gate.add_argument("--allow-partial", action="store_true", help="accept unknowns (no exit 3)")
    gate.add_argument("--refresh", action="store_true", help="re-collect cases kept in --fleet")
    gate.add_argument("--format", choices=["text", "json"], default="text")
    _common(gate)
    gate.set_defaults(func=cmd_gate)


def _settings(args: argparse.Namespace, refresh: bool) -> Any:
    from forensics.api import default_index_url
    from forensics.fleet.scan import Engine, ScanSettings

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.offline and args.fleet is None:
        raise UsageError("--offline needs --fleet DIR: there are no cases to reuse otherwise")
    if args.trust_root is not None and not args.trust_root.is_file():
        raise InputError(f"--trust-root {args.trust_root} is not a file")
    if args.fleet is not None:
        if args.fleet.exists() and not args.fleet.is_dir():
            raise InputError(f"--fleet {args.fleet} exists and is not a directory")
        args.fleet.mkdir(parents=True, exist_ok=True)
    settings = ScanSettings(
        index_url=(args.index_url or default_index_url()).rstrip("/"),
        trust_root=str(args.trust_root.resolve()) if args.trust_root else None,
        fleet_dir=str(args.fleet.resolve()) if args.fleet else None,
        as_of=args.as_of,
        refresh=refresh,
        offline=args.offline,
        concurrency=args.concurrency,
    )
    engine = Engine(
        workers=args.workers,
        dask=args.dask,
        rate=args.rate,
        burst=args.burst,
        threads=args.threads,
    )
    return settings, engine


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    done = [0]

    def tick(name: str) -> None:
        done[0] += 1
        sys.stderr.write(f"\r[{done[0]}/{total}] {name[:40]:40}")
        if done[0] == total:
            sys.stderr.write("\n")

    return tick


def cmd_scan(args: argparse.Namespace) -> int:
    """`forensics scan`."""
    from forensics.fleet.lockfile import canonical_names, read_lockfile, read_project_list
    from forensics.fleet.report import build_report, to_frame, to_html, to_json, to_text
    from forensics.fleet.scan import run_projects

    names = canonical_names(list(args.projects))
    inputs: dict[str, Any] = {}
    skipped_entries: list[tuple[str, str]] = []
    if args.project_file is not None:
        names += read_project_list(args.project_file)
        inputs["project_file"] = args.project_file.name
    if args.lockfile is not None:
        lock = read_lockfile(args.lockfile)
        names += [p.name for p in lock.pins]
        skipped_entries += lock.skipped
        inputs["lockfile"] = {"name": args.lockfile.name, "format": lock.format}
    if not names:
        raise UsageError("name projects, or give --projects FILE or --lockfile FILE")
    names = sorted(set(names))
    inputs["projects"] = len(names)
    settings, engine = _settings(args, refresh=True)
    summaries, run = run_projects(
        names, settings, engine, _progress(sys.stderr.isatty(), len(names))
    )
    doc = build_report(
        summaries,
        index_url=settings.index_url,
        as_of=settings.as_of,
        inputs=inputs,
        skipped_entries=skipped_entries,
        settings={
            "token_spree_window_hours": str(args.spree_window_hours),
            "token_spree_min_projects": str(args.spree_min_projects),
        },
        run=run,
    )
    if args.fleet is not None:
        (args.fleet / "report.json").write_text(to_json(doc), encoding="utf-8")
        (args.fleet / "report.html").write_text(to_html(doc, summaries), encoding="utf-8")
    fmt = args.format
    if fmt in ("csv", "parquet"):
        frame = to_frame(doc)
        if args.output is None:
            raise UsageError(f"--format {fmt} needs -o FILE")
        if fmt == "csv":
            frame.to_csv(args.output, index=False)
        else:
            try:
                frame.to_parquet(args.output, index=False)
            except ImportError as exc:
                raise UsageError(
                    "--format parquet needs pyarrow", hint="pip install pyarrow, or use csv"
                ) from exc
    else:
        text = {"text": to_text, "json": to_json}.get(fmt)
        out = text(doc) if text is not None else to_html(doc, summaries)
        if args.output is None:
            sys.stdout.write(out)
        else:
            args.output.write_text(out, encoding="utf-8")
    if args.fail_on:
        threshold = Severity(args.fail_on).rank
        every = [f for r in doc["projects"] for f in r["findings"]] + doc["cross_project"]
        if any(Severity(f["severity"]).rank >= threshold for f in every):
            return EXIT_FINDINGS
    return EXIT_OK


def cmd_gate(args: argparse.Namespace) -> int:
    """`forensics gate LOCKFILE`."""
    import json

    from forensics.fleet.gate import exit_code, gate
    from forensics.fleet.lockfile import read_lockfile
    from forensics.fleet.scan import run_projects

    lock = read_lockfile(args.lockfile)
    unpinned = sorted(p.name for p in lock.pins if p.version is None)
    if unpinned:
        raise InputError(
            f"{args.lockfile}: not pinned to one version: {', '.join(unpinned[:10])}"
            + (" …" if len(unpinned) > 10 else ""),
            hint="the gate judges exact versions: lock the environment first (==, pylock, uv.lock)",
        )
    excluded = {str(n).lower().replace("_", "-").replace(".", "-") for n in args.exclude}
    settings, engine = _settings(args, refresh=args.refresh)
    names = sorted({p.name for p in lock.pins} - excluded)
    summaries, _ = run_projects(names, settings, engine) if names else ([], {})
    results = gate(lock.pins, summaries, excluded)
    code = exit_code(results, args.allow_partial)
    if args.format == "json":
        doc = {
            "schema": "forensics.gate/v1",
            "lockfile": args.lockfile.name,
            "policy": args.policy,
            "exit_code": code,
            "results": [r.to_json() for r in results],
            "skipped": [{"entry": e, "reason": r} for e, r in lock.skipped],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        for r in results:
            if r.outcome != "pass":
                sys.stdout.write(f"{r.outcome.upper():7} {r.name} {r.version}: {r.reason}\n")
        counts = {
            o: sum(1 for r in results if r.outcome == o)
            for o in ("block", "warn", "unknown", "pass")
        }
        sys.stdout.write(
            f"{len(results)} pinned packages: {counts['block']} blocked, {counts['warn']} warned, "
            f"{counts['unknown']} unknown, {counts['pass']} passed (policy {args.policy})\n"
        )
    return code
