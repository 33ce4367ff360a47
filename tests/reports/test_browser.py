"""The HTML report as a person sees it: rendered by headless Chromium at 1400x1000.

A copy of the report gets a tiny script (test-only; the report itself has none) that writes the
laid-out positions of the verdict section and the first figure into the DOM; `--dump-dom` then
returns them, so the assertion is about the rendered page, not the source order. Skips, saying
why, only when no Chromium can be found (`.ci/run` installs Debian's `chromium`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import forensics
from forensics.reports import Format, renderer_for

CASE = Path(__file__).resolve().parents[2] / "cases" / "ultralytics" / "case"
FLAGGED = ("8.3.41", "8.3.42", "8.3.45", "8.3.46")

_PROBE = """<script>
const v = document.getElementById('verdict').getBoundingClientRect();
const f = document.querySelector('figure').getBoundingClientRect();
document.body.setAttribute('data-probe', [Math.round(v.top), Math.round(v.bottom),
  Math.round(f.top), innerWidth, innerHeight].join(','));
document.body.setAttribute('data-verdict-text', document.getElementById('verdict').innerText);
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on PATH (.ci/run installs Debian's chromium; apt unavailable here)")


def _run(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_first_screen_shows_the_verdicts(tmp_path: Path) -> None:
    browser = _chromium()
    inv = forensics.investigate("ultralytics", case=CASE, offline=True)
    page = renderer_for(Format.HTML).render(inv)
    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")
    shot = tmp_path / "first-screen.png"
    _run(browser, f"--screenshot={shot}", report.as_uri())
    assert shot.stat().st_size > 10_000, "a blank screenshot"
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom = _run(browser, "--dump-dom", probed.as_uri()).stdout
    m = re.search(r'data-probe="(-?\d+),(-?\d+),(-?\d+),(\d+),(\d+)"', dom)
    assert m, "the probe did not run"
    v_top, v_bottom, fig_top, width, height = map(int, m.groups())
    assert width == 1400 and height <= 1000  # the window minus any browser frame
    assert v_top < fig_top, "the verdict section is above the first figure"
    assert v_bottom <= height, "the whole verdict section is on the first screen"
    text = re.search(r'data-verdict-text="([^"]*)"', dom)
    assert text
    for version in FLAGGED:
        assert re.search(rf"suspicious\s+{re.escape(version)}", text.group(1)), version
    # no external fetches: nothing in the page points outside it
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert "url(http" not in page


def test_report_benchmark_prints_every_format() -> None:
    """`benchmarks/bench_reports.py` keeps working (no timing asserted)."""
    import json
    import sys

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_reports.py"
    done = subprocess.run(
        [sys.executable, str(script), "--releases", "30", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    names = {r["name"] for r in records}
    assert {f"render_{f.value}_s" for f in Format} <= names
    assert all(r["value"] >= 0 for r in records)
