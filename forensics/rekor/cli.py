"""`forensics rekor entry INDEX|UUID`: fetch one Rekor entry, verify it, print it.

`register(subparsers)` adds the `rekor` command group; the lead wires it into `forensics/cli.py`.
The handler is stored as `args.func(args) -> int`:

* 0 — every check passed (or did not apply);
* 1 — a check failed (the output says which and why);
* errors propagate as `ForensicsError` so `forensics.cli.main` maps them once:
  `SourceUnavailable`/`SourceResponseError` → 3 (log unreachable / bad answer),
  `InputError` (bad trust root, bad index) → 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

import requests

from forensics.errors import UsageError
from forensics.rekor import DEFAULT_URL, Lookup, RekorClient, load_keys, lookup_index, lookup_uuid

EXIT_VERIFIED = 0
EXIT_CHECK_FAILED = 1


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `rekor entry ...` to an argparse subparsers object; returns the `rekor` parser."""
    rekor = subparsers.add_parser("rekor", help="query and verify the Rekor transparency log")
    sub = rekor.add_subparsers(dest="rekor_command", required=True)
    entry = sub.add_parser(
        "entry",
        help="fetch one log entry by global index, UUID or entry ID, verify it, print it",
        description="Fetch one Rekor v1 entry and verify body, UUID, inclusion proof, "
        "checkpoint (content and signature), SET and index mapping independently. "
        "Exit 0 when verified, 1 when a check failed, 3 when the log is unreachable.",
    )
    entry.add_argument(
        "ref", metavar="INDEX|UUID", help="global log index, 64-hex UUID or 80-hex ID"
    )
    entry.add_argument(
        "--rekor-url", default=DEFAULT_URL, help=f"log base URL (default {DEFAULT_URL})"
    )
    entry.add_argument(
        "--trust-root",
        metavar="FILE",
        default=None,
        help="Sigstore trusted_root.json with the log keys (default: the production root "
        "embedded in sigstore-python; pin one for reproducible evidence)",
    )
    entry.add_argument("--format", choices=("text", "json"), default="text")
    entry.add_argument(
        "--retries", type=int, default=3, help="retries on connection errors, 429 and 5xx"
    )
    entry.set_defaults(func=run_entry)
    return rekor  # type: ignore[no-any-return]


def run_entry(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Handler of `rekor entry`; returns the exit code."""
    stream = out or sys.stdout
    keys = load_keys(args.trust_root)
    ref = str(args.ref).strip()
    with requests.Session() as session:
        client = RekorClient(session, args.rekor_url, store=None, retries=args.retries)
        result: Lookup
        if ref.isdigit():
            result = lookup_index(int(ref), trusted_root=keys, client=client)
        elif len(ref) in (64, 80):
            result = lookup_uuid(ref, trusted_root=keys, client=client)
        else:
            raise UsageError(
                f"{ref!r} is neither a global log index nor a 64/80-hex entry UUID/ID",
                hint="e.g. `forensics rekor entry 153454663`",
            )
    if args.format == "json":
        doc = {"url": result.url, **result.verification.to_json()}
        stream.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    else:
        stream.write(repr(result) + "\n")
    return EXIT_VERIFIED if result.ok else EXIT_CHECK_FAILED
