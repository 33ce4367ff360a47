"""The `forensics` command line: argparse only; all logic lives in the library.

Exit codes: 0 done; 1 a finding at or above --fail-on (or a verification failed); 2 bad usage or
bad input; 3 a required source is unavailable; 4 --fail-on was given but checks that could have
reported at that severity did not run (no finding is not a clean result then; --allow-partial
accepts it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from forensics import __version__
from forensics.errors import CaseIntegrityError, ForensicsError, UsageError
from forensics.models import Severity, parse_time
from forensics.reports.interface import Format, Renderer, StreamingRenderer

if TYPE_CHECKING:
    from forensics.analysis import Investigation

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_SOURCE, EXIT_INCOMPLETE = 0, 1, 2, 3, 4

EXIT_CODES_HELP = """exit codes:
  0  done (and, with --fail-on, nothing at or above the threshold)
  1  a finding at or above --fail-on
  2  bad usage or bad input (nothing was created)
  3  a required source is unavailable
  4  --fail-on given, no finding at or above it, but checks that could have reported one did
     not run (e.g. the index does not serve PEP 740, the log was unreachable); --allow-partial
     turns this into 0
"""

INVESTIGATE_EXAMPLES = """examples:
  forensics investigate ultralytics --case cases/ultralytics/case --offline
  forensics investigate requests --case /tmp/requests-case --format html -o report.html
  forensics investigate botocore --case /tmp/botocore --fail-on high --allow-partial
  forensics investigate ultralytics --case cases/ultralytics/case --offline --format timesketch \\
      -o ultralytics.jsonl
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{_suggestion(self, message)}\n")


def _all_options(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string of a parser and of its subcommands."""
    out: list[str] = []
    for action in parser._actions:  # argparse has no public walk
        out += action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out += _all_options(sub)
    return out


def _suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    """ "did you mean ...?" for a misspelt option or subcommand (difflib close matches)."""
    import difflib
    import re

    words: list[str] = []
    m = re.search(r"unrecognized arguments: (.+)", message)
    if m:
        words = [w.split("=", 1)[0] for w in m.group(1).split() if w.startswith("-")]
        choices = _all_options(parser)
    else:
        m = re.search(r"invalid choice: '([^']*)'", message)
        if not m:
            return ""
        words = [m.group(1)]
        choices = [c for a in parser._actions if a.choices is not None for c in a.choices]
    hints = []
    for word in words:
        close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
        if close:
            hints.append(f"{word} -> {close[0]}")
    return f" (did you mean: {', '.join(hints)}?)" if hints else ""


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

    inv = sub.add_parser(
        "investigate",
        help="collect and analyse one project",
        description="Collect a project's release evidence into a case directory (unless "
        "--offline) and report per-release verdicts, check coverage, the timeline and findings.",
        epilog=INVESTIGATE_EXAMPLES + "\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inv.add_argument("project", help="PyPI project name, e.g. ultralytics")
    inv.add_argument(
        "--index-url",
        metavar="URL",
        help="index base URL (default $FORENSICS_INDEX_URL or https://pypi.org), "
        "e.g. http://127.0.0.1:8000 for a lab world",
    )
    inv.add_argument(
        "--case",
        type=Path,
        metavar="DIR",
        help="case directory to collect into / analyse (kept); e.g. --case /tmp/requests-case",
    )
    inv.add_argument(
        "--offline",
        action="store_true",
        help="analyse --case without any network I/O (needs an existing case)",
    )
    inv.add_argument(
        "--as-of",
        type=_as_of,
        metavar="ISO8601",
        help="analysis time (default: the case's last retrieval), e.g. 2024-12-07T00:00:00Z",
    )
    inv.add_argument(
        "--format",
        choices=[f.value for f in Format],
        default=Format.TEXT.value,
        help="report format (default text); timesketch / timesketch-csv export the events "
        "for Timesketch; e.g. --format html -o report.html",
    )
    inv.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the report here instead of stdout (its folder must exist)",
    )
    inv.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        help="exit 1 when a finding has at least this severity, and 4 when checks that could "
        "have reported it did not run; e.g. --fail-on high",
    )
    inv.add_argument(
        "--allow-partial",
        action="store_true",
        help="with --fail-on: accept a run where some checks could not run (exit 0, not 4)",
    )
    inv.add_argument(
        "--trust-root",
        type=Path,
        metavar="FILE",
        help="Sigstore trusted_root.json (default: production, pinned)",
    )
    inv.add_argument(
        "--rekor-url",
        metavar="URL",
        help="transparency log to search, e.g. https://rekor.sigstore.dev",
    )
    inv.add_argument(
        "--github-url",
        metavar="URL",
        help="GitHub REST API to ask about the attested commits, runs and tags, "
        "e.g. https://api.github.com",
    )
    inv.add_argument(
        "--intel",
        type=Path,
        metavar="FILE",
        help="intel.toml: cited log indexes / digests / versions to look up",
    )
    inv.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="parallel requests to each source while collecting (default 8)",
    )
    inv.add_argument(
        "--no-progress", action="store_true", help="no progress bar on stderr while collecting"
    )
    inv.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also fetch provenance from this origin (scheme://host[:port]); by default only "
        "URLs on the index's own origin are fetched (repeatable)",
    )
    inv.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="stop sending requests after this long; what is missing is reported, and "
        "re-running with --case resumes",
    )
    inv.add_argument(
        "--reverify",
        action="store_true",
        help="verify every attestation again instead of reusing the verdicts cached in the case "
        "(<case>/cache/verdicts.sqlite, derived data)",
    )
    inv.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes verifying attestations (default: every core; 1: no extra process)",
    )

    ver = sub.add_parser("verify", help="verify one distribution file against its provenance")
    ver.add_argument("dist", type=Path)
    ver.add_argument("--provenance", type=Path, required=True)
    ver.add_argument("--trust-root", type=Path)
    ver.add_argument("--format", choices=["text", "json"], default="text")

    _case_parsers(sub)

    for register in _extensions():
        register(sub)
    return p


def _case_parsers(sub: Any) -> None:
    """`forensics case verify|seal|statement|upgrade` (chain of custody of a case)."""
    case = sub.add_parser("case", help="case directory tools: verify, seal, upgrade")
    case_sub = case.add_subparsers(dest="case_command", required=True, parser_class=_Parser)
    cv = case_sub.add_parser(
        "verify",
        help="check every row, blob and case.json against the case manifest; name what changed",
    )
    cv.add_argument("dir", type=Path)
    cv.add_argument(
        "--sealed", action="store_true", help="also check the seal (signature over the digest)"
    )
    cv.add_argument("--key", type=Path, help="with --sealed: the signer's public key (PEM)")
    cv.add_argument("--identity", help="with --sealed: the Sigstore signer identity (SAN)")
    cv.add_argument("--issuer", help="with --identity: the OIDC issuer URL")
    cv.add_argument(
        "--trust-root",
        type=Path,
        help="with --identity: trusted_root.json the bundle chains to (default: production)",
    )
    cv.add_argument("--format", choices=["text", "json"], default="text")
    cs = case_sub.add_parser("seal", help="sign the case digest (a key, or a Sigstore bundle)")
    cs.add_argument("dir", type=Path)
    how = cs.add_mutually_exclusive_group(required=True)
    how.add_argument("--key", type=Path, help="ECDSA P-256/P-384 private key (PEM) to sign with")
    how.add_argument(
        "--bundle", type=Path, help="Sigstore bundle made by `sigstore sign` over the statement"
    )
    how.add_argument(
        "--keyless", action="store_true", help="(explains how to sign keylessly with sigstore)"
    )
    st = case_sub.add_parser(
        "statement", help="write the digest statement to sign with `sigstore sign`"
    )
    st.add_argument("dir", type=Path)
    st.add_argument("-o", "--output", type=Path, help="write it here instead of stdout")
    up = case_sub.add_parser(
        "upgrade", help="seal a case collected before manifests existed (only if you trust it)"
    )
    up.add_argument("dir", type=Path)


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


def _unwritable(output: Path, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot write {output}: {exc.strerror or exc}",
        hint="choose a writable file, or leave out -o to print the report",
    )


def _write_report(renderer: Renderer, inv: Investigation, output: Path | None) -> None:
    """The rendered report to `output` (stdout when None); a renderer that can stream writes
    as it renders, so that a long history's report is never held whole (same bytes)."""
    from forensics.gcpause import paused_gc

    with paused_gc():  # rendering builds and keeps many objects: see forensics.gcpause
        if isinstance(renderer, StreamingRenderer):
            _emit(lambda out: renderer.write(inv, out), output)
        else:
            text = renderer.render(inv)
            _emit(lambda out: out.write(text), output)


def _emit(write: Callable[[TextIO], object], output: Path | None) -> None:
    """Run `write` on stdout or on the file `output`.

    A report to a file is written beside it and renamed into place once complete: a rendering
    that fails half-way leaves neither a truncated report nor a lost earlier file. Any other
    path (a symlink such as `/dev/stdout`, a pipe, a device) is written to directly.
    """
    if output is None:
        write(sys.stdout)
        return
    if output.is_symlink() or (output.exists() and not output.is_file()):
        try:
            with output.open("w", encoding="utf-8") as out:
                write(out)
        except OSError as exc:
            raise _unwritable(output, exc) from exc
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    except OSError as exc:
        raise _unwritable(output, exc) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            write(out)
        os.chmod(tmp, 0o666 & ~_umask())  # what open() would have given a new report
        os.replace(tmp, output)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _unwritable(output, exc) from exc
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_PROJECT_NAME = r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$"


def validate_investigate(args: argparse.Namespace) -> None:
    """Check every input before anything is created or fetched (exit 2 on a bad one)."""
    import re

    if not re.match(_PROJECT_NAME, args.project):
        raise UsageError(
            f"{args.project!r} is not a valid project name",
            hint="names are letters, digits, '.', '_' and '-', e.g. ultralytics",
        )
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.deadline is not None and not args.deadline > 0:
        raise UsageError(f"--deadline must be a positive number of seconds, got {args.deadline}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.allow_partial and not args.fail_on:
        raise UsageError("--allow-partial only makes sense with --fail-on")
    case: Path | None = args.case
    if case is not None:
        if case.exists() and not case.is_dir():
            raise UsageError(
                f"--case {case} is a file, not a case directory",
                hint="give a directory (it is created if missing), e.g. --case /tmp/case",
            )
        if args.offline and not case.is_dir():
            raise UsageError(
                f"--case {case} does not exist, so there is nothing to analyse --offline",
                hint="collect it first without --offline",
            )
    out: Path | None = args.output
    if out is not None:
        if out.is_dir():
            raise UsageError(
                f"-o {out} is a directory", hint="give a file name, e.g. -o report.html"
            )
        if not out.parent.is_dir():
            raise UsageError(
                f"-o {out}: the folder {out.parent} does not exist",
                hint=f"create it first (mkdir -p {out.parent})",
            )
    for flag, path in (("--trust-root", args.trust_root), ("--intel", args.intel)):
        if path is not None and not path.is_file():
            raise UsageError(f"{flag} {path} is not a readable file")


def cmd_investigate(args: argparse.Namespace) -> int:
    """`forensics investigate`."""
    import shutil

    from forensics.api import investigate
    from forensics.reports import Format, renderer_for
    from forensics.verdict import assess

    validate_investigate(args)
    fresh = args.case is not None and not args.case.exists()
    try:
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
            allow_origins=args.allow_origin,
            deadline=args.deadline,
            reverify=args.reverify,
            workers=args.workers,
        )
    except ForensicsError as exc:
        # a misspelt project must not leave a case directory bound to that name: remove the
        # directory this run created when the index says the project does not exist
        if fresh and args.case.is_dir() and exc.message.startswith("project not found"):
            shutil.rmtree(args.case)
        raise
    fmt = Format(args.format)
    to_terminal = args.output is None and sys.stdout.isatty()
    color = fmt is Format.TEXT and to_terminal
    width = shutil.get_terminal_size((120, 24)).columns
    _write_report(renderer_for(fmt, color=color, width=width), inv, args.output)
    if args.fail_on:
        threshold = Severity(args.fail_on)
        if any(f.severity.rank >= threshold.rank for f in inv.findings):
            return EXIT_FINDINGS
        missing = assess(inv).coverage.missing_for(threshold)
        if missing and not args.allow_partial:
            sys.stderr.write(
                f"error[incomplete]: no finding at or above {threshold.value}, but "
                f"{len(missing)} check(s) that could report one did not run fully: "
                f"{', '.join(missing)}\n  hint: see the Coverage section; --allow-partial "
                "accepts an incomplete run\n"
            )
            return EXIT_INCOMPLETE
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """`forensics verify DIST --provenance FILE`."""
    from forensics.models import ProvenanceStatus
    from forensics.provenance.verify import ProvenanceVerifier, describe, load_trusted_root

    verifier = ProvenanceVerifier(load_trusted_root(args.trust_root))
    fp = verifier.verify_file(args.dist, args.provenance)
    if args.format == "json":
        from forensics.reports.json_v1 import dumps, provenance_json

        sys.stdout.write(dumps({"filename": args.dist.name, "provenance": provenance_json(fp)}))
    else:
        for key, value in describe(fp):
            sys.stdout.write(f"{key:28} {value}\n")
    return EXIT_OK if fp.status is ProvenanceStatus.VERIFIED else EXIT_FINDINGS


def cmd_case(args: argparse.Namespace) -> int:
    """`forensics case verify|seal|statement|upgrade DIR`."""
    from forensics.evidence import EvidenceStore
    from forensics.evidence import seal as sealing

    with EvidenceStore.open(args.dir, create=False) as store:
        if args.case_command == "seal":
            if args.keyless:
                raise UsageError(sealing.KEYLESS_UNAVAILABLE)
            if args.key is not None:
                path = sealing.seal_with_key(store, args.key)
            else:
                path = sealing.seal_with_bundle(store, args.bundle)
            sys.stdout.write(f"{args.dir}: digest {store.case_digest()} sealed in {path}\n")
            return EXIT_OK
        if args.case_command == "statement":
            statement = sealing.case_statement(store)
            if args.output is None:
                sys.stdout.write(statement.decode("utf-8"))
            else:
                args.output.write_bytes(statement)
            return EXIT_OK
        if args.case_command == "upgrade":
            check = store.upgrade()
            sys.stdout.write(f"{args.dir}: sealed, digest {check.digest}\n")
            return EXIT_OK
        if not args.sealed and (args.key or args.identity):
            raise UsageError("--key/--identity check a seal: add --sealed")
        return _case_verify(args, store)


def _case_verify(args: argparse.Namespace, store: Any) -> int:
    """`forensics case verify [--sealed]`: exit 0 intact (and sealed), 1 a failed check."""
    from forensics.evidence import seal as sealing

    check = store.check()
    seal: dict[str, str] | None = None
    if check.ok and args.sealed:
        try:
            result = sealing.verify_seal(
                store,
                key=args.key,
                identity=args.identity,
                issuer=args.issuer,
                trust_root=args.trust_root,
            )
            seal = {"state": "verified", "signer": result.signer}
        except CaseIntegrityError as exc:  # a failed check, like a tamper: exit 1
            seal = {"state": "failed", "reason": exc.message, "hint": exc.hint or ""}
    failed = not check.ok or (seal is not None and seal["state"] != "verified")
    listed = [c for c in check.changes if c.kind != "uncommitted"]
    if args.format == "json":
        from forensics.reports.json_v1 import dumps

        doc: dict[str, Any] = {
            "case": str(args.dir),
            "state": check.state,
            "digest": check.digest,
            "sealed_digest": check.sealed_digest,
            "rows": check.rows,
            "blobs": check.blobs,
            "changes": [
                {"kind": c.kind, "subject": c.subject, "detail": c.detail} for c in check.changes
            ],
        }
        if args.sealed:
            doc["seal"] = seal or {"state": "not checked", "reason": "the case does not verify"}
        sys.stdout.write(dumps(doc))
        return EXIT_FINDINGS if failed else EXIT_OK
    for change in check.changes:
        sys.stdout.write(f"{change}\n")
    verdict = "intact" if check.ok else check.state.upper()
    sys.stdout.write(
        f"{args.dir}: {check.rows} rows, {check.blobs} blobs checked, {len(listed)} changes; "
        f"digest {check.digest}: {verdict}\n"
    )
    if seal is not None and seal["state"] == "verified":
        sys.stdout.write(f"{args.dir}: seal verified, signed by {seal['signer']}\n")
    elif seal is not None:
        sys.stdout.write(f"SEAL FAILED        {seal['reason']}\n")
        if seal["hint"]:
            sys.stdout.write(f"  hint: {seal['hint']}\n")
    return EXIT_FINDINGS if failed else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _dispatch(parser, args)
    except ForensicsError as exc:
        sys.stderr.write(exc.diagnostics() + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; a case collection resumes where it stopped\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "investigate":
        return cmd_investigate(args)
    if args.command == "verify":
        return cmd_verify(args)
    if args.command == "case":
        return cmd_case(args)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.error(f"unknown command {args.command!r}")
    return int(handler(args))


def console_main() -> None:
    """Console-script wrapper."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()
