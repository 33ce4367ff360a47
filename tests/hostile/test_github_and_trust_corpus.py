"""Hostile GitHub answers and hostile trusted roots: each input has one specific outcome.

GitHub answers end in a parsed object plus a problem line for every value dropped, or a problem
line for an answer that cannot be used. Trusted roots end in an `InputError` naming the file and
the defect, or in a `LogKeys` problem line for one unusable key.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from forensics.collect.github import commit_url, run_url, tags_url
from forensics.collect.github_parse import GitHubView, load_github
from forensics.errors import InputError
from forensics.evidence.store import EvidenceStore
from forensics.trust import TrustMaterial
from tests.collect.support import NOW
from tests.hostile.conftest import Signed

REPO, SHA, RUN = "o/r", "c" * 40, 7


def commit(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "sha": SHA,
        "author": {"login": "dev", "type": "User"},
        "commit": {"message": "m", "author": {"name": "Dev", "date": "2024-12-04T20:00:00Z"}},
        "parents": [{"sha": "d" * 40}],
        "files": [{"filename": ".github/workflows/release.yml"}],
    }
    doc.update(changes)
    return doc


def run(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": RUN,
        "event": "push",
        "actor": {"login": "dev"},
        "head_sha": SHA,
        "head_branch": "main",
        "path": ".github/workflows/release.yml",
        "created_at": "2024-12-04T20:00:00Z",
    }
    doc.update(changes)
    return doc


GITHUB = [
    # (id, what is stored where, expected problem fragment, check on the view)
    (
        "commit-list",
        {"commit": []},
        "unexpected answer shape (no commit object with a sha)",
        lambda v: not v.commits,
    ),
    ("commit-no-sha", {"commit": commit(sha=None)}, "no commit object with a sha", None),
    (
        "commit-author-string",
        {"commit": commit(author="dev")},
        "author is a str, not an object; dropped",
        lambda v: v.commits[(REPO, SHA)].author == "Dev",
    ),
    (
        "commit-message-number",
        {"commit": commit(commit={"message": 5})},
        "message 5 is a int, not text; dropped",
        None,
    ),
    (
        "commit-parents-object",
        {"commit": commit(parents={})},
        "parents is a dict, not a list",
        lambda v: v.commits[(REPO, SHA)].parents == (),
    ),
    (
        "commit-parent-without-sha",
        {"commit": commit(parents=[{}, {"sha": "e" * 40}])},
        "parents[0] has no sha text; dropped",
        lambda v: v.commits[(REPO, SHA)].parents == ("e" * 40,),
    ),
    ("commit-file-number", {"commit": commit(files=[5])}, "files[0] has no filename text", None),
    (
        "commit-date-garbage",
        {"commit": commit(commit={"author": {"date": "soon"}})},
        "date 'soon' dropped",
        lambda v: v.commits[(REPO, SHA)].date is None,
    ),
    (
        "commit-date-overflow",
        {"commit": commit(commit={"author": {"date": "9999-12-31T23:59:59-05:00"}})},
        "is outside the range of dates",
        None,
    ),
    (
        "commit-date-number",
        {"commit": commit(commit={"author": {"date": 1}})},
        "date 1 is a int, not a timestamp; dropped",
        None,
    ),
    (
        "commit-message-surrogate",
        {"commit": commit(commit={"message": "x\ud800"})},
        "holds code points no encoding can write",
        lambda v: v.commits[(REPO, SHA)].message == "x\\ud800",
    ),
    ("commit-deep", {"commit": b"[" * 200 + b"]" * 200}, "nested deeper than 64 levels", None),
    ("commit-not-json", {"commit": b"<html>"}, "is not valid JSON", None),
    (
        "run-list",
        {"run": []},
        "workflow run 7: unexpected answer shape (a list)",
        lambda v: not v.runs,
    ),
    (
        "run-created-number",
        {"run": run(created_at=5)},
        "created_at 5 is a int, not a timestamp",
        lambda v: v.runs[(REPO, RUN)].created_at is None,
    ),
    ("run-actor-number", {"run": run(actor=5)}, "actor 5 is a int, not text; dropped", None),
    ("run-event-list", {"run": run(event=["push"])}, "event ['push'] is a list", None),
    ("tags-object", {"tags": {}}, "tags of o/r: the answer is a dict, not a list", None),
    (
        "tag-without-name",
        {"tags": [{"commit": {"sha": SHA}}]},
        "entry 0 has no name; dropped",
        lambda v: v.tags[REPO] == {},
    ),
    (
        "tag-duplicate",
        {
            "tags": [
                {"name": "v1", "commit": {"sha": SHA}},
                {"name": "v1", "commit": {"sha": "f" * 40}},
            ]
        },
        "tag 'v1' is listed twice; the first is kept",
        lambda v: v.tags[REPO] == {"v1": SHA},
    ),
    (
        "tag-commit-string",
        {"tags": [{"name": "v1", "commit": SHA}]},
        "commit is a str, not an object; dropped",
        lambda v: v.tags[REPO] == {"v1": ""},
    ),
]


@pytest.fixture(scope="module")
def gh_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EvidenceStore]:
    with EvidenceStore.open(tmp_path_factory.mktemp("github") / "case") as s:
        yield s


@pytest.mark.parametrize(("case", "stored", "problem", "check"), GITHUB, ids=[g[0] for g in GITHUB])
def test_hostile_github(
    gh_store: EvidenceStore, case: str, stored: dict[str, Any], problem: str, check: Any
) -> None:
    base = f"https://{case}.github.example"
    urls = {
        "commit": commit_url(base, REPO, SHA),
        "run": run_url(base, REPO, RUN),
        "tags": tags_url(base, REPO),
    }
    for kind, body in stored.items():
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        gh_store.put_response(
            source="github", url=urls[kind], status=200, headers={}, body=data, retrieved_at=NOW
        )
    view: GitHubView = load_github(
        gh_store,
        base,
        commits=[(REPO, SHA)] if "commit" in stored else [],
        runs=[(REPO, RUN)] if "run" in stored else [],
        repositories=[REPO] if "tags" in stored else [],
    )
    assert any(problem in p for p in view.problems), view.problems
    if check is not None:
        assert check(view), view


# -- trusted roots -----------------------------------------------------------------------------


def root_bytes(signed: Signed, change: Any) -> bytes:
    if isinstance(change, bytes):
        return change
    root = copy.deepcopy(signed.root)
    change(root)
    return json.dumps(root).encode()


def _set(path: str, value: Any) -> Any:
    def apply(root: dict[str, Any]) -> None:
        node: Any = root
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value

    return apply


ROOT_ERRORS = [
    (b"not json", "is not valid JSON: line 1 column 1"),
    (b"[" * 200 + b"]" * 200, "nested deeper than 64 levels"),
    (b"[]", "is not a valid trusted root"),
    (b"{}", "is not a valid trusted root: mediaType: Field required"),
    (_set("tlogs", []), "is not a usable trusted root"),
    (
        _set("certificateAuthorities.0.certChain.certificates.0.rawBytes", "!!"),
        "is not a usable trusted root: error parsing asn1 value",
    ),
    (_set("mediaType", "application/json"), "is not a"),
]


@pytest.mark.parametrize(("change", "message"), ROOT_ERRORS)
def test_unusable_trusted_root(signed: Signed, tmp_path: Any, change: Any, message: str) -> None:
    path = tmp_path / "root.json"
    path.write_bytes(root_bytes(signed, change))
    with pytest.raises(InputError) as info:
        TrustMaterial.load(path)
    assert message in info.value.message
    assert str(path) in info.value.message


KEY_PROBLEMS = [
    ("tlogs", _set("tlogs.0.publicKey.rawBytes", "!!"), "skipped, malformed entry"),
    (
        "tlogs",
        _set("tlogs.0.publicKey.validFor", {"start": "tomorrow"}),
        "tlogs[0].publicKey.validFor.start 'tomorrow' is not a timestamp",
    ),
    (
        "tlogs",
        _set(
            "tlogs.0.publicKey.validFor",
            {"start": "2025-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        ),
        "validFor ends (2024-01-01T00:00:00Z) before it starts",
    ),
    ("tlogs", _set("tlogs.0.logId.keyId", "AAAA"), "stated logId AAAA does not match the key"),
    ("tlogs", _set("tlogs.0.baseUrl", 5), "baseUrl is a int, not a URL"),
    ("tlogs", _set("tlogs.0.baseUrl", "https://r\ud800"), "surrogates not allowed"),
    ("ctlogs", _set("ctlogs.0.publicKey.validFor", []), "ctlogs[0].publicKey.validFor must be"),
]


@pytest.mark.parametrize(("section", "change", "problem"), KEY_PROBLEMS)
def test_unusable_log_key_is_a_problem_line(
    signed: Signed, section: str, change: Any, problem: str
) -> None:
    trust = TrustMaterial(root_bytes(signed, change), "lab root")
    keys = trust.log_keys if section == "tlogs" else trust.ct_keys
    assert any(problem in p for p in keys.problems), keys.problems
