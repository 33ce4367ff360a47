"""Scenario parsing and validation: defaults, overrides, and file:line messages for bad input."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from forensics.errors import ScenarioError
from forensics_lab.scenario import (
    FactTag,
    FileKind,
    PublisherKind,
    PublishMethod,
    ScenarioValidationError,
    load_scenario,
    parse_duration,
    parse_scenario,
)

HEAD = """\
name = "t"
description = "test"
project = "demo-pkg"
simulated = ["all of it"]

[publisher]
kind = "github"
repository = "acme/demo"
"""


def parse(body: str, head: str = HEAD) -> object:
    return parse_scenario(head + textwrap.dedent(body), file="t.toml")


def problems(body: str, head: str = HEAD) -> list[str]:
    with pytest.raises(ScenarioValidationError) as info:
        parse(body, head)
    return [str(p) for p in info.value.problems]


def line_of(body: str, needle: str, head: str = HEAD) -> int:
    text = head + textwrap.dedent(body)
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_minimal_scenario_gets_documented_defaults() -> None:
    s = parse_scenario(
        HEAD + '[[releases]]\nversion = "1.0.0"\nupload_time = 2024-11-01T10:00:00Z\n',
        file="t.toml",
    )
    assert s.name == "t"
    assert s.publisher.kind is PublisherKind.GITHUB
    ident = s.publisher.identity
    assert (ident.workflow, ident.ref, ident.trigger, ident.environment) == (
        "release.yml",
        "refs/tags/v{version}",
        "push",
        "pypi",
    )
    assert ident.runner == "github-hosted"
    assert ident.visibility == "public"
    assert ident.repository_id is not None
    assert ident.repository_id.isdigit()
    assert {"repository_id", "owner_id", "workflow"} <= s.publisher.defaulted
    (rel,) = s.releases
    wheel, sdist = rel.files
    assert (wheel.kind, sdist.kind) == (FileKind.WHEEL, FileKind.SDIST)
    assert wheel.upload_time == datetime(2024, 11, 1, 10, tzinfo=UTC)
    assert sdist.upload_time - wheel.upload_time == timedelta(seconds=3)
    assert wheel.integration_offset == timedelta(seconds=-3)
    assert wheel.publish is PublishMethod.TRUSTED_PUBLISHER
    assert wheel.filename("demo-pkg", "1.0.0") == "demo_pkg-1.0.0-py3-none-any.whl"
    assert sdist.filename("demo-pkg", "1.0.0") == "demo_pkg-1.0.0.tar.gz"


def test_overrides_merge_scenario_release_file() -> None:
    s = parse(
        """
        [[releases]]
        version = "2.0.0"
        upload_time = "2025-01-01T00:00:00+01:00"
        integration_offset = "-10s"
        publisher.ref = "refs/heads/main"
        publisher.claims = { runner_environment = "self-hosted" }
        content.marker = "# release marker"
        [[releases.files]]
        kind = "wheel"
        tag = "cp312-cp312-win_amd64"
        publisher.workflow = "other.yml"
        content.files = { "demo_pkg/x.py" = "x = 1\\n" }
        [[releases.files]]
        kind = "sdist"
        upload_offset = "1m"
        publish = "token"
        """
    )
    rel = s.releases[0]  # type: ignore[attr-defined]
    wheel, sdist = rel.files
    assert rel.upload_time == datetime(2024, 12, 31, 23, tzinfo=UTC)
    assert wheel.identity.ref == "refs/heads/main"
    assert wheel.identity.workflow == "other.yml"
    assert wheel.identity.claims == {"runner_environment": "self-hosted"}
    assert wheel.integration_offset == timedelta(seconds=-10)
    assert wheel.content.marker == "# release marker"
    assert wheel.content.files == {"demo_pkg/x.py": "x = 1\n"}
    assert wheel.filename("demo-pkg", "2.0.0") == "demo_pkg-2.0.0-cp312-cp312-win_amd64.whl"
    assert sdist.publish is PublishMethod.TOKEN
    assert sdist.upload_time == rel.upload_time + timedelta(minutes=1)


def test_unknown_key_in_nested_array_table_has_right_line_and_suggestion() -> None:
    body = """
    [[releases]]
    version = "1.0.0"
    upload_time = 2024-11-01T10:00:00Z

    [[releases]]
    version = "1.0.1"
    upload_time = 2024-11-02T10:00:00Z
    [[releases.files]]
    kind = "sdist"
    [[releases.files]]
    kind = "wheel"
    tampr = ["bad-signature"]
    """
    (msg,) = problems(body)
    assert msg.startswith(f"t.toml:{line_of(body, 'tampr')}: releases[1].files[1].tampr:")
    assert "unknown key 'tampr'" in msg
    assert "did you mean 'tamper'?" in msg


def test_all_problems_are_reported_together_with_their_lines() -> None:
    body = """
    [[releases]]
    version = "1.0.x"
    upload_time = 2024-11-01T10:00:00

    [[releases]]
    version = "1.0.1"
    upload_time = 2024-11-02T10:00:00Z
    publish = "tokn"
    [[releases.files]]
    kind = "wheel"
    tamper = ["bad-signatur"]
    """
    msgs = problems(body)
    assert len(msgs) == 4, msgs
    by_line = {int(m.split(":")[1]): m for m in msgs}
    assert "invalid version '1.0.x'" in by_line[line_of(body, '"1.0.x"')]
    assert "has no timezone" in by_line[line_of(body, "2024-11-01T10:00:00")]
    assert "did you mean 'token'?" in by_line[line_of(body, '"tokn"')]
    assert "did you mean 'bad-signature'?" in by_line[line_of(body, "bad-signatur")]


def test_version_must_be_normalised_pep440() -> None:
    (msg,) = problems('[[releases]]\nversion = "1.0.0-RC1"\nupload_time = 2024-01-01T00:00:00Z\n')
    assert "write '1.0.0rc1'" in msg


def test_date_without_time_and_bad_duration() -> None:
    msgs = problems(
        """
        [[releases]]
        version = "1.0.0"
        upload_time = 2024-01-01
        integration_offset = "3 minutes"
        """
    )
    assert any("a date without a time" in m for m in msgs)
    assert any("invalid duration '3 minutes'" in m for m in msgs)


def test_duplicate_version_names_the_first_line() -> None:
    body = """
    [[releases]]
    version = "1.0.0"
    upload_time = 2024-01-01T00:00:00Z
    [[releases]]
    version = "1.0.0"
    upload_time = 2024-01-02T00:00:00Z
    """
    (msg,) = problems(body)
    first = line_of(body, "[[releases]]")
    assert f"already defined at line {first}" in msg
    assert msg.startswith(f"t.toml:{first + 4}: releases[1].version:")


def test_deleted_before_upload_is_rejected() -> None:
    (msg,) = problems(
        """
        [[releases]]
        version = "1.0.0"
        upload_time = 2024-01-01T12:00:00Z
        deleted_at = 2024-01-01T11:00:00Z
        """
    )
    assert "deleted_at" in msg
    assert "before its file upload" in msg


def test_token_files_cannot_be_tampered_or_reuse_attestations() -> None:
    msgs = problems(
        """
        [[releases]]
        version = "1.0.0"
        upload_time = 2024-01-01T12:00:00Z
        publish = "token"
        [[releases.files]]
        kind = "sdist"
        tamper = ["bad-set"]
        """
    )
    assert any("published with a token" in m for m in msgs)


def test_reuse_of_unknown_file_suggests_the_right_name() -> None:
    (msg,) = problems(
        """
        [[releases]]
        version = "1.0.0"
        upload_time = 2024-01-01T12:00:00Z
        [[releases]]
        version = "1.0.1"
        upload_time = 2024-02-01T12:00:00Z
        [[releases.files]]
        kind = "sdist"
        reuse_attestation_of = "demo_pkg-1.0.0.tar.gzz"
        """
    )
    assert "did you mean 'demo_pkg-1.0.0.tar.gz'?" in msg


def test_publisher_keys_are_checked_per_kind() -> None:
    head = 'name = "g"\ndescription = "d"\nproject = "p"\nsimulated = ["x"]\n'
    head += '[publisher]\nkind = "google"\nrepository = "a/b"\n'
    msgs = problems('[[releases]]\nversion = "1.0"\nupload_time = 2024-01-01T00:00:00Z\n', head)
    assert any("'repository' does not apply to a google publisher" in m for m in msgs)
    assert any("needs 'email'" in m for m in msgs)


def test_unknown_claim_and_bad_ref_pattern() -> None:
    msgs = problems(
        """
        [[releases]]
        version = "1.0.0"
        upload_time = 2024-01-01T12:00:00Z
        publisher.ref = "v{version}"
        publisher.claims = { source_comit = "abc" }
        """
    )
    assert any("expected a full git ref" in m for m in msgs)
    assert any("did you mean 'source_commit'?" in m for m in msgs)


def test_facts_need_tag_url_and_a_value_unless_they_name_a_key() -> None:
    s = parse(
        """
        [[releases]]
        version = "1.0.0"
        upload_time = 2024-01-01T12:00:00Z
        facts.upload_time = { tag = "verified", source = "https://pypi.org/pypi/x/json" }
        facts.real_sha256 = { value = "ab", tag = "secondary", source = "https://example.org/a" }
        """
    )
    facts = {f.name: f for f in s.releases[0].facts}  # type: ignore[attr-defined]
    assert facts["upload_time"].value == "2024-01-01T12:00:00Z"
    assert facts["real_sha256"].tag is FactTag.SECONDARY
    msgs = problems(
        """
        [[releases]]
        version = "1.0.0"
        upload_time = 2024-01-01T12:00:00Z
        facts.real_sha256 = { tag = "verifed", source = "issue 18027" }
        """
    )
    joined = "\n".join(msgs)
    assert "did you mean 'verified'?" in joined
    assert "expected an http(s) URL" in joined
    assert "needs a 'value'" in joined


def test_expect_must_name_known_versions() -> None:
    body = """
    [[releases]]
    version = "1.0.0"
    upload_time = 2024-01-01T12:00:00Z
    [expect.flag]
    "1.0.1" = "nope"
    """
    (msg,) = problems(body)
    assert msg.startswith(f"t.toml:{line_of(body, '1.0.1')}: expect.flag")
    assert "did you mean '1.0.0'?" in msg


def test_missing_sections_and_simulated() -> None:
    msgs = problems("", head='name = "x"\nproject = "p"\n')
    joined = "\n".join(msgs)
    for needle in ("'description'", "[publisher]", "[[releases]]", "'simulated'"):
        assert needle in joined


def test_toml_syntax_error_has_line() -> None:
    with pytest.raises(ScenarioValidationError) as info:
        parse_scenario('name = "x"\n\nproject = \n', file="bad.toml")
    (p,) = info.value.problems
    assert (p.file, p.line) == ("bad.toml", 3)
    assert "TOML syntax error" in p.message


def test_multiline_strings_do_not_confuse_line_numbers() -> None:
    head = HEAD.replace(
        'description = "test"', 'description = """\n[[releases]]\nversion = "9"\n"""'
    )
    body = '[[releases]]\nversion = "1.0.0"\nupload_time = 2024-01-01T00:00:00Z\nbogus = 1\n'
    (msg,) = problems(body, head)
    assert msg.startswith(f"t.toml:{line_of(body, 'bogus', head)}: releases[0].bogus:")


def test_inline_table_errors_point_at_the_key_line() -> None:
    body = """
    [[releases]]
    version = "1.0.0"
    upload_time = 2024-01-01T00:00:00Z
    content = { marker = 3 }
    """
    (msg,) = problems(body)
    assert msg.startswith(f"t.toml:{line_of(body, 'content =')}: releases[0].content.marker:")


def test_log_entries_and_github_tables_are_validated() -> None:
    msgs = problems(
        """
        [[releases]]
        version = "1.0.0"
        upload_time = 2024-01-01T00:00:00Z
        [[log_entries]]
        version = "1.0.1"
        integrated_at = 2024-01-01T00:00:00Z
        sha256 = "XYZ"
        [[github.commits]]
        sha = "abc"
        author = "a"
        message = "m"
        [[github.runs]]
        id = 5
        event = "push"
        """
    )
    joined = "\n".join(msgs)
    assert "expected 64 lower-case hex digits" in joined
    assert "expected a 40-hex-digit commit SHA" in joined
    assert "missing required key 'head_sha'" in joined


def test_load_scenario_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("-3s", -3), ("+2m", 120), ("1h30m", 5400), ("-30d", -30 * 86400), ("250ms", 0.25)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "3", "-s", "3 weeks", "1h-2m"])
def test_parse_duration_rejects(text: str) -> None:
    assert parse_duration(text) is None
