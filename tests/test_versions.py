"""The one place versions, release lines, tags and refs are read."""

from __future__ import annotations

import pytest

from forensics.versions import (
    ref_pattern,
    release_line,
    version_from_ref,
    version_from_tag,
    version_key,
)


@pytest.mark.parametrize(
    ("version", "line"),
    [
        ("3.1.4", "3.1"),
        ("3.1.4rc1", "3.1"),
        ("3.1.post2", "3.1"),
        ("3.1.0.dev4", "3.1"),
        ("2024", "2024"),
        ("1!2.0", "1!2.0"),
        ("not a version", "?"),
    ],
)
def test_release_line_folds_pre_post_and_dev(version: str, line: str) -> None:
    assert release_line(version) == line


def test_tags_and_refs_name_versions_one_way() -> None:
    assert version_from_tag("v8.3.41") == "8.3.41"
    assert version_from_tag("release-2.0.0rc1") == "2.0.0rc1"
    assert version_from_tag("V1.0") == "1.0"
    assert version_from_tag("nightly") is None
    assert version_from_ref("refs/tags/v8.3.41") == "8.3.41"
    assert version_from_ref("refs/heads/v8.3.41") is None
    assert version_from_ref(None) is None


def test_ref_patterns_fold_versions_and_prerelease_segments() -> None:
    assert ref_pattern("refs/tags/v8.3.41") == ref_pattern("refs/tags/v8.3.42rc1")
    assert ref_pattern("refs/tags/v2.0.0.post1") == "refs/tags/v#.#.#"
    assert ref_pattern("refs/heads/main") != ref_pattern("refs/tags/v1.0.0")


def test_version_key_orders_pep440_before_other_strings() -> None:
    assert sorted(["1.10", "zzz", "1.9", "1.9rc1"], key=version_key) == [
        "1.9rc1",
        "1.9",
        "1.10",
        "zzz",
    ]
