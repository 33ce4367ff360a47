"""Benchmark the evidence store's seal: write, seal, verify and read a synthetic case.

    .venv/bin/python benchmarks/bench_case.py                    # 2,000 responses of 4 kB
    .venv/bin/python benchmarks/bench_case.py --rows 2000 --json

Writing is dominated by one fsync per blob (durability before the row is committed). Steps,
each timed: store `--rows` responses (unique bodies of `--body-bytes`, one collection);
finish the collection (which checks nothing was altered and writes manifest.json); `check()` the
case (re-hash every blob, compare every row with the manifest: what `case verify` and every
`--offline` run do); compute the case digest alone; answer one `latest()` per URL. The run is
unsound, and exits 1, when the sealed case does not verify or a tamper goes unnoticed.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def run(rows: int, body_bytes: int, work: Path, as_json: bool) -> int:
    """Run every step in `work`; print one figure per line (or JSON lines); 0 when sound."""
    from forensics.evidence import CaseMeta, EvidenceStore

    figures: list[tuple[str, float, str]] = []

    def figure(name: str, value: float, unit: str) -> None:
        figures.append((name, value, unit))

    start = datetime(2026, 1, 1, tzinfo=UTC)
    case = work / "case"
    with EvidenceStore.open(case) as store:
        store.write_meta(CaseMeta(project="bench"))
        t0 = time.perf_counter()
        store.begin_collection(start)
        for i in range(rows):
            body = (f"{i:012d}".encode() * (body_bytes // 12 + 1))[:body_bytes]
            store.put_response(
                source="index",
                url=f"https://index.invalid/r/{i}",
                status=200,
                headers={"content-type": "application/json"},
                body=body,
                retrieved_at=start + timedelta(milliseconds=i),
            )
        figure("write", time.perf_counter() - t0, "s")
        t0 = time.perf_counter()
        store.finish_collection(start + timedelta(hours=1))
        figure("seal", time.perf_counter() - t0, "s")
        t0 = time.perf_counter()
        check = store.check()
        figure("check", time.perf_counter() - t0, "s")
        t0 = time.perf_counter()
        digest = store.case_digest()
        figure("digest", time.perf_counter() - t0, "s")
        t0 = time.perf_counter()
        for i in range(rows):
            store.latest(f"https://index.invalid/r/{i}")
        figure("latest per lookup", (time.perf_counter() - t0) / rows * 1000, "ms")
    figure("manifest size", (case / "manifest.json").stat().st_size / 1_000_000, "MB")
    sound = check.ok and check.digest == digest
    with sqlite3.connect(case / "index.sqlite") as conn:
        conn.execute("UPDATE responses SET status = 404 WHERE id = ?", (rows // 2 + 1,))
    with EvidenceStore.open(case, create=False) as store:
        tampered = store.check()
    sound = sound and [c.kind for c in tampered.changes] == ["row-edited"]

    if as_json:
        for name, value, unit in figures:
            print(
                json.dumps(
                    {
                        "bench": "case",
                        "rows": rows,
                        "figure": name,
                        "value": round(value, 4),
                        "unit": unit,
                    }
                )
            )
    else:
        print(f"case: {rows} responses of {body_bytes} bytes, one collection")
        for name, value, unit in figures:
            print(f"{name}: {value:.3f} {unit}")
        print(f"per 1,000 responses: seal {figures[1][1] / rows * 1000:.3f} s, "
              f"check {figures[2][1] / rows * 1000:.3f} s")  # fmt: skip
    if not sound:
        print("UNSOUND RUN: the sealed case did not verify, or a tamper went unnoticed")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run in a temporary directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--body-bytes", type=int, default=4096)
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.body_bytes < 1:
        parser.exit(
            2, f"--rows and --body-bytes must be at least 1, got {args.rows}, {args.body_bytes}\n"
        )
    with tempfile.TemporaryDirectory(prefix="bench-case-", dir=os.environ.get("TMPDIR")) as tmp:
        return run(args.rows, args.body_bytes, Path(tmp), args.json)


if __name__ == "__main__":
    sys.exit(main())
