"""The wheel carries what an installed copy needs: both packages, scenarios, type markers, plug-ins.

The wheel is built from the working tree and installed (not editable) into a fresh virtual
environment whose only other path is this environment's site-packages (for the dependencies), and
every command is run from outside the repository, so nothing can be read from the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools writes build/ and *.egg-info into the tree it builds, and two
    # test workers building the same tree at once would race.
    src = tmp_path_factory.mktemp("src") / "tree"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "*.egg-info", "__pycache__", "cases", "notebooks", "tests"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("provenance_forensics-*.whl")
    return whl


def test_wheel_ships_packages_scenarios_and_entry_points(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    scenarios = sorted((ROOT / "forensics_lab" / "scenarios").glob("*.toml"))
    assert scenarios
    for path in scenarios:
        assert f"forensics_lab/scenarios/{path.name}" in names
    assert {"forensics/py.typed", "forensics_lab/py.typed", "forensics/cli.py"} <= names
    (meta,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "[forensics.subcommands]" in text
    assert "lab = forensics_lab.cli:register" in text
    assert not any(n.startswith(("tests/", "benchmarks/", "cases/")) for n in names)


def test_installed_wheel_runs_every_command(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies come from this environment; the product itself only from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    zipfile.ZipFile(wheel).extractall(site)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(py), "-m", "forensics", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    where = subprocess.run(
        [str(py), "-c", "import forensics, forensics_lab; print(forensics.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(site))
    listed = run("lab", "scenarios")
    assert listed.returncode == 0, listed.stderr
    assert "ultralytics-2024-12" in listed.stdout
    assert run("--help").returncode == 0
    for command in ("investigate", "verify", "case", "rekor", "lab"):
        result = run(command, "--help")
        assert result.returncode == 0, (command, result.stderr)
    built = run("lab", "build", "clean-backport", "-o", str(tmp_path / "world"))
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "world" / "world.json").is_file()
