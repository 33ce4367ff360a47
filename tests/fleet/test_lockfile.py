"""Lock-file and project-list parsing: every format; malformed input is exit 2 with a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.cli import main
from forensics.errors import InputError
from forensics.fleet.lockfile import Pin, read_lockfile, read_project_list

PYLOCK = """
lock-version = "1.0"
created-by = "pip"
requires-python = ">=3.11"

[[packages]]
name = "Requests"
version = "2.32.3"
index = "https://pypi.org/simple"
wheels = [{ url = "https://x/requests-2.32.3-py3-none-any.whl", hashes = { sha256 = "aa" } }]

[[packages]]
name = "local_thing"
directory = { path = "./src" }

[[packages]]
name = "zope.interface"
version = "7.0"
"""

UV_LOCK = """
version = 1
requires-python = ">=3.11"

[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/idna-3.10.tar.gz", hash = "sha256:aa", size = 1 }

[[package]]
name = "myapp"
version = "0.1.0"
source = { editable = "." }
"""

REQUIREMENTS = """\
# pinned with hashes, as pip-compile --generate-hashes writes them
requests==2.32.3 \\
    --hash=sha256:aaaaaaaa
urllib3==2.2.3 ; python_version >= "3.9"
flask>=2.0
-e ./local
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_pylock(tmp_path: Path) -> None:
    lock = read_lockfile(_write(tmp_path, "pylock.toml", PYLOCK))
    assert lock.format == "pylock"
    assert lock.pins == (Pin("requests", "2.32.3"), Pin("zope-interface", "7.0"))
    assert lock.skipped == (("local-thing", "installed from a directory, not from an index"),)


def test_uv_lock(tmp_path: Path) -> None:
    lock = read_lockfile(_write(tmp_path, "uv.lock", UV_LOCK))
    assert lock.format == "uv.lock"
    assert lock.pins == (Pin("idna", "3.10"),)
    assert lock.skipped == (("myapp", "a editable source, not an index"),)


def test_requirements_with_and_without_hashes(tmp_path: Path) -> None:
    lock = read_lockfile(_write(tmp_path, "requirements.txt", REQUIREMENTS))
    assert lock.format == "requirements"
    assert lock.pins == (
        Pin("requests", "2.32.3"),
        Pin("urllib3", "2.2.3"),
        Pin("flask", None),
    )
    assert len(lock.skipped) == 1


def test_project_list_allows_comments(tmp_path: Path) -> None:
    path = _write(tmp_path, "projects.txt", "# fleet\nRequests  # the HTTP one\n\nzope.interface\n")
    assert read_project_list(path) == ["requests", "zope-interface"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("pylock.toml", "lock-version = \n", "not valid TOML"),
        ("pylock.toml", "[[packages]]\nname = 'a'\n", "`lock-version` is missing"),
        ("pylock.toml", "lock-version='1.0'\n[[packages]]\nversion='1'\n", "`name` must be"),
        ("pylock.toml", "lock-version='1.0'\n[[packages]]\nname='a'\nversion='x y'\n", "PEP 440"),
        ("uv.lock", "version = 1\n[[package]]\nname = 'a'\nsource = 3\n", "`source` must be"),
        ("uv.lock", "package = 3\nversion = 1\n", "array of tables"),
        ("requirements.txt", "requests ===== 1\n", "line 1"),
        ("requirements.txt", "# nothing\n", "names no packages"),
        ("projects.txt", "bad name!\n", "not a valid project name"),
    ],
)
def test_malformed_input_is_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, message: str
) -> None:
    path = _write(tmp_path, name, text)
    if name == "projects.txt":
        with pytest.raises(InputError, match="not a valid project name"):
            read_project_list(path)
        code = main(["scan", "--projects", str(path), "--index-url", "http://127.0.0.1:9"])
    else:
        with pytest.raises(InputError):
            read_lockfile(path)
        code = main(["gate", str(path), "--index-url", "http://127.0.0.1:9"])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_gate_refuses_unpinned_requirements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "requirements.txt", "flask>=2\nrequests==2.32.3\n")
    assert main(["gate", str(path), "--index-url", "http://127.0.0.1:9"]) == 2
    assert "not pinned to one version: flask" in capsys.readouterr().err


def test_missing_lockfile_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", str(tmp_path / "nope.lock")]) == 2
    assert "does not exist" in capsys.readouterr().err
