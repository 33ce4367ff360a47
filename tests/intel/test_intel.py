"""Intel files: every seed needs a kind, a value of the right shape, a tag and a source."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.errors import InputError
from forensics.intel import load_intel, parse_intel

GOOD = b"""
[[seed]]
kind = "log_index"
value = "153415338"
version = "8.3.41"
filename = "ultralytics-8.3.41.tar.gz"
tag = "secondary"
source = "https://blog.gitguardian.com/the-ultralytics-supply-chain-attack"

[[seed]]
kind = "sha256"
value = "E9D538203AC43E9DF11B68803470C116B7BB02881CD06175B0EDFC4438D4D1A2"
tag = "secondary"
source = "https://github.com/ultralytics/ultralytics/issues/18027"
"""


def test_parses_and_normalises(tmp_path: Path) -> None:
    path = tmp_path / "intel.toml"
    path.write_bytes(GOOD)
    seeds = load_intel(path)
    assert [s.kind for s in seeds] == ["log_index", "sha256"]
    assert seeds[0].version == "8.3.41" and seeds[0].citation.startswith("[secondary] https://")
    assert seeds[1].value == seeds[1].value.lower()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            b'[[seed]]\nkind="log_index"\nvalue="x1"\ntag="verified"\nsource="s"',
            "not a non-negative integer",
        ),
        (b'[[seed]]\nkind="sha256"\nvalue="abc"\ntag="verified"\nsource="s"', "not 64 hex digits"),
        (b'[[seed]]\nkind="log_index"\nvalue="1"\ntag="rumour"\nsource="s"', "tag 'rumour'"),
        (b'[[seed]]\nkind="log_index"\nvalue="1"\ntag="verified"', "`source` is required"),
        (b'[[seed]]\nkind="digest"\nvalue="1"\ntag="verified"\nsource="s"', "kind 'digest'"),
        (
            b'[[seed]]\nkind="log_index"\nvalue="1"\ntag="verified"\nsource="s"\nurl="x"',
            "unknown key",
        ),
        (b"[[seed]\n", "not valid TOML"),
        (b"\xff\xfe", "not valid TOML"),
    ],
)
def test_rejects_bad_seeds_with_specific_messages(text: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_intel(text, "intel.toml")
    assert "intel.toml" in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(InputError, match="cannot read intel file"):
        load_intel(Path("/nonexistent/intel.toml"))
