"""The `forensics` command line: argparse only; all logic lives in the library.

Exit codes: 0 done; 1 a finding at or above --fail-on (or a verification failed); 2 bad usage or
bad input; 3 a required source is unavailable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from forensics import __version__
from forensics.errors import ForensicsError, UsageError
from forensics.models import Severity, parse_time
from forensics.reports.interface import Format

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_SOURCE = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _as_of(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    """The whole argument parser (also used to document the CLI)."""
    p = _Parser(
        prog="forensics", description="Reconstruct and audit a PyPI project's release provenance."
    )
    p.add_argument("--version", action="version", version=f"forensics {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inv = sub.add_parser("investigate", help="collect and analyse one project")
    inv.add_argument("project")
    inv.add_argument(
        "--index-url", help="index base URL (default $FORENSICS_INDEX_URL or https://pypi.org)"
    )
    inv.add_argument("--case", type=Path, help="case directory to collect into / analyse (kept)")
    inv.add_argument(
        "--offline", action="store_true", help="analyse --case without any network I/O"
    )
    inv.add_argument(
        "--as-of", type=_as_of, help="analysis time (default: the case's last retrieval)"
    )
    inv.add_argument("--format", choices=[f.value for f in Format], default=Format.TEXT.value)
    inv.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")
    inv.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        help="exit 1 when a finding has at least this severity",
    )
    inv.add_argument(
        "--trust-root", type=Path, help="Sigstore trusted_root.json (default: production, pinned)"
    )
    inv.add_argument(
        "--rekor-url", help="transparency log to search (e.g. https://rekor.sigstore.dev)"
    )
    inv.add_argument(
        "--github-url", help="GitHub REST API to ask about the attested commits, runs and tags"
    )
    inv.add_argument(
        "--intel", type=Path, help="intel.toml: cited log indexes / digests to look up"
    )
    inv.add_argument("--concurrency", type=int, default=8)
    inv.add_argument("--no-progress", action="store_true")

    ver = sub.add_parser("verify", help="verify one distribution file against its provenance")
    ver.add_argument("dist", type=Path)
    ver.add_argument("--provenance", type=Path, required=True)
    ver.add_argument("--trust-root", type=Path)
    ver.add_argument("--format", choices=["text", "json"], default="text")

    case = sub.add_parser("case", help="case directory tools")
    case_sub = case.add_subparsers(dest="case_command", required=True, parser_class=_Parser)
    cv = case_sub.add_parser("verify", help="report blobs that were altered or are missing")
    cv.add_argument("dir", type=Path)

    for register in _extensions():
        register(sub)
    return p


def _extensions() -> list[Callable[[Any], object]]:
    """Subcommand groups: built-in `rekor`, then every `forensics.subcommands` entry point.

    The lab (`forensics_lab`) plugs in through that entry-point group so that the product never
    imports it. A group that fails to load still gets its subcommand, which explains the failure
    when used: a broken plug-in must not make commands silently disappear.
    """
    from importlib.metadata import entry_points

    from forensics.fleet.cli import register as fleet_register
    from forensics.rekor.cli import register as rekor_register

    regs: list[Callable[[Any], object]] = [rekor_register, fleet_register]
    for ep in sorted(entry_points(group="forensics.subcommands"), key=lambda e: e.name):
        try:
            regs.append(ep.load())
        except Exception as exc:
            regs.append(_broken_extension(ep.name, ep.value, exc))
    return regs


def _broken_extension(name: str, target: str, exc: BaseException) -> Callable[[Any], object]:
    def register(sub: Any) -> None:
        parser = sub.add_parser(name, help=f"(unavailable: {target} failed to load)")
        parser.add_argument("rest", nargs=argparse.REMAINDER)

        def fail(_args: argparse.Namespace) -> int:
            raise UsageError(
                f"the `{name}` commands could not be loaded from {target}: "
                f"{type(exc).__name__}: {exc}",
                hint="reinstall the package (pip install -e '.[dev]') so its plug-ins import",
            )

        parser.set_defaults(func=fail)

    return register


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def cmd_investigate(args: argparse.Namespace) -> int:
    """`forensics investigate`."""
    from forensics.api import investigate
    from forensics.reports import Format, renderer_for

    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    inv = investigate(
        args.project,
        index_url=args.index_url,
        case=args.case,
        offline=args.offline,
        as_of=args.as_of,
        trust_root=args.trust_root,
        rekor_url=args.rekor_url,
        github_url=args.github_url,
        intel=args.intel,
        concurrency=args.concurrency,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    fmt = Format(args.format)
    color = fmt is Format.TEXT and args.output is None and sys.stdout.isatty()
    _write(renderer_for(fmt, color=color).render(inv), args.output)
    if args.fail_on:
        threshold = Severity(args.fail_on).rank
        if any(f.severity.rank >= threshold for f in inv.findings):
            return EXIT_FINDINGS
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """`forensics verify DIST --provenance FILE`."""
    from forensics.models import ProvenanceStatus
    from forensics.provenance.verify import ProvenanceVerifier, describe, load_trusted_root

    verifier = ProvenanceVerifier(load_trusted_root(args.trust_root))
    fp = verifier.verify_file(args.dist, args.provenance)
    if args.format == "json":
        from forensics.reports.json_v1 import dumps, provenance_json

        _write(dumps({"filename": args.dist.name, "provenance": provenance_json(fp)}), None)
    else:
        for key, value in describe(fp):
            sys.stdout.write(f"{key:28} {value}\n")
    return EXIT_OK if fp.status is ProvenanceStatus.VERIFIED else EXIT_FINDINGS


def cmd_case_verify(args: argparse.Namespace) -> int:
    """`forensics case verify DIR`."""
    from forensics.evidence import EvidenceStore

    with EvidenceStore.open(args.dir, create=False) as store:
        report = store.verify()
    for digest in report.altered:
        sys.stdout.write(f"ALTERED  {digest}\n")
    for digest in report.missing:
        sys.stdout.write(f"MISSING  {digest}\n")
    for digest in report.unindexed:
        sys.stdout.write(f"UNINDEXED {digest}\n")
    verdict = "intact" if report.ok else "DAMAGED"
    sys.stdout.write(
        f"{args.dir}: {report.checked} blobs checked, {len(report.altered)} altered, "
        f"{len(report.missing)} missing: {verdict}\n"
    )
    return EXIT_OK if report.ok else EXIT_FINDINGS


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "investigate":
            return cmd_investigate(args)
        if args.command == "verify":
            return cmd_verify(args)
        if args.command == "case":
            return cmd_case_verify(args)
        handler = getattr(args, "func", None)
        if handler is None:
            parser.error(f"unknown command {args.command!r}")
        return int(handler(args))
    except ForensicsError as exc:
        sys.stderr.write(exc.diagnostics() + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; a case collection resumes where it stopped\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK


def console_main() -> None:
    """Console-script wrapper."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()
