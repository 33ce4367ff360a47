"""`history` and `later_in_line` (computed from per-line positions) give the same answers as the
plain definitions: filter the releases of the same line before / after the release."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from forensics.timeline import numeric
from forensics.versions import release_line


@dataclass
class _Release:
    version: str


def _plain_history(rs: list[Any], i: int, window: int, minimum: int) -> tuple[tuple[Any, ...], str]:
    line = release_line(rs[i].version)
    same = [r for r in rs[:i] if release_line(r.version) == line]
    if len(same) >= minimum:
        return tuple(same[-window:]), f"line {line}"
    return tuple(rs[:i][-window:]), "project"


def _plain_later(rs: list[Any], i: int) -> list[Any]:
    line = release_line(rs[i].version)
    return [r for r in rs[i + 1 :] if release_line(r.version) == line]


@pytest.mark.parametrize("seed", range(20))
def test_same_answers_as_the_plain_definitions(seed: int) -> None:
    rnd = random.Random(seed)
    patterns = ["1.0.%d", "1.1.%d", "2.0.%d", "not-a-version-%d", "3.%d", "1!2.0.%d", "2024.%d"]
    rs: list[Any] = [
        _Release(rnd.choice(patterns) % rnd.randint(0, 9)) for _ in range(rnd.randint(1, 60))
    ]
    for window, minimum in [(20, 5), (3, 5), (0, 2), (5, 0), (1, 1)]:
        for i in range(len(rs)):
            got = numeric.history(rs, i, window=window, minimum=minimum)
            assert (got.releases, got.scope) == _plain_history(rs, i, window, minimum)
            assert numeric.later_in_line(rs, i) == _plain_later(rs, i)


def test_a_changed_history_is_not_answered_from_the_previous_one() -> None:
    rs: list[Any] = [_Release(f"1.0.{n}") for n in range(6)]
    assert len(numeric.history(rs, 5).releases) == 5
    rs.append(_Release("1.0.6"))  # same list object, one release longer
    assert len(numeric.history(rs, 6).releases) == 6
    assert numeric.later_in_line(rs, 5) == [rs[6]]
