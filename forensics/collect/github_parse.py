"""Parse stored GitHub answers into commits, runs and tags (pure: reads the evidence store only).

Works with the REST shapes of api.github.com and of the lab's GitHub subset. Authors are taken
from the top-level `author.login` when GitHub could link the commit to an account, else from the
commit's own author name (what `git log` shows).

Answers are untrusted: JSON is read with a depth bound, every field is type-checked, and a value
that is dropped (wrong type, unusable date, text no encoder can write) leaves a problem line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from forensics.collect.github import (
    SOURCE_RUN_PAGES,
    SOURCE_TAG_PAGES,
    commit_url,
    next_page,
    run_url,
    runs_url,
    tags_url,
)
from forensics.evidence import NO_ANSWER, EvidenceStore
from forensics.models import EvidenceRef, SourceRepository, SourceRun, SourceTag
from forensics.primitives.untrusted import (
    UntrustedDataError,
    encodable,
    loads,
    shown,
    time_in_range,
    type_name,
)
from forensics.versions import version_from_tag

_REPO = re.compile(r"^https://github\.com/(?P<repo>[^/]+/[^/]+?)/?$")
_RUN = re.compile(r"^https://github\.com/(?P<repo>[^/]+/[^/]+)/actions/runs/(?P<id>\d+)")


def github_repo(uri: str | None) -> str | None:
    """`https://github.com/owner/repo` -> `owner/repo` (None for other hosts)."""
    m = _REPO.match(uri or "")
    return m.group("repo") if m else None


def run_from_url(url: str | None) -> tuple[str, int] | None:
    """`https://github.com/o/r/actions/runs/123/attempts/1` -> (`o/r`, 123)."""
    m = _RUN.match(url or "")
    return (m.group("repo"), int(m.group("id"))) if m else None


@dataclass(frozen=True)
class Commit:
    """One commit, as GitHub describes it."""

    repo: str
    sha: str
    author: str
    author_type: str
    """`User`, `Bot`, or `` when GitHub did not link the commit to an account."""
    message: str
    parents: tuple[str, ...]
    files: tuple[str, ...]
    """Paths the commit changed."""
    date: datetime | None
    evidence: EvidenceRef

    @property
    def automated(self) -> bool:
        """GitHub says Bot, or the name says so (`[bot]` apps, `*bot`, `*assistant` accounts)."""
        name = self.author.lower()
        return self.author_type == "Bot" or name.endswith(("[bot]", "bot", "assistant"))


@dataclass(frozen=True)
class Run:
    """One workflow run."""

    repo: str
    id: int
    event: str
    actor: str
    head_sha: str
    head_branch: str
    path: str
    created_at: datetime | None
    evidence: EvidenceRef


@dataclass(frozen=True)
class GitHubView:
    """Everything collected from GitHub for one investigation."""

    base_url: str
    commits: Mapping[tuple[str, str], Commit] = field(default_factory=dict)
    runs: Mapping[tuple[str, int], Run] = field(default_factory=dict)
    tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """repo -> tag name -> commit sha."""
    tag_evidence: Mapping[str, EvidenceRef] = field(default_factory=dict)
    """repo -> the stored tags listing."""
    missing: Mapping[tuple[str, str], EvidenceRef] = field(default_factory=dict)
    """(`commit`|`run`, `repo@sha`|`repo#id`) that GitHub says do not exist (404/422)."""
    problems: tuple[str, ...] = ()


#: GitHub's answers for "no such object": 404, and 422 "No commit found for SHA".
_ABSENT = (404, 422)


def _get(
    store: EvidenceStore,
    url: str,
    what: str,
    problems: list[str],
    missing: dict[tuple[str, str], EvidenceRef] | None = None,
    key: tuple[str, str] | None = None,
) -> Any:
    stored = store.latest(url)
    if stored is None:
        problems.append(f"{what} was not collected")
        return None
    if stored.status == NO_ANSWER:
        problems.append(f"{what} could not be checked: {stored.body().decode('utf-8', 'replace')}")
        return None
    if stored.status in _ABSENT and missing is not None and key is not None:
        missing[key] = stored.evidence(note=f"GitHub: no such {key[0]}")
        return None
    if stored.status != 200:
        problems.append(f"{what}: GitHub answered HTTP {stored.status}")
        return None
    try:
        return loads(stored.body(), "the answer"), stored
    except UntrustedDataError as exc:
        problems.append(f"{what}: {exc.message}")
        return None


class _Reader:
    """Typed field access on one untrusted object; every drop becomes a problem line."""

    def __init__(self, what: str, problems: list[str]) -> None:
        self.what = what
        self.problems = problems

    def obj(self, data: Any, key: str) -> dict[str, Any]:
        value = data.get(key) if isinstance(data, dict) else None
        if value is not None and not isinstance(value, dict):
            self.problems.append(
                f"{self.what}: {key} is a {type_name(value)}, not an object; dropped"
            )
        return value if isinstance(value, dict) else {}

    def text(self, data: dict[str, Any], key: str) -> str:
        value = data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problems.append(
                f"{self.what}: {key} {shown(value)} is a {type_name(value)}, not text; dropped"
            )
            return ""
        return encodable(value, f"{self.what}: {key}", self.problems)

    def time(self, data: dict[str, Any], key: str) -> datetime | None:
        value = data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.problems.append(
                f"{self.what}: {key} {shown(value)} is a {type_name(value)}, not a timestamp; "
                "dropped"
            )
            return None
        try:
            return time_in_range(value)
        except ValueError as exc:
            self.problems.append(f"{self.what}: {key} {shown(value)} dropped ({exc})")
            return None

    def texts(self, data: dict[str, Any], key: str, field: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problems.append(f"{self.what}: {key} is a {type_name(value)}, not a list; dropped")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            got = item.get(field) if isinstance(item, dict) else None
            if not isinstance(got, str):
                self.problems.append(f"{self.what}: {key}[{i}] has no {field} text; dropped")
                continue
            out.append(encodable(got, f"{self.what}: {key}[{i}]", self.problems))
        return tuple(out)


def load_github(
    store: EvidenceStore,
    base_url: str,
    commits: Iterable[tuple[str, str]],
    runs: Iterable[tuple[str, int]],
    repositories: Iterable[str],
) -> GitHubView:
    """Parse what the case holds for the given commits, runs and repositories."""
    problems: list[str] = []
    missing: dict[tuple[str, str], EvidenceRef] = {}
    out_commits: dict[tuple[str, str], Commit] = {}
    for repo, sha in sorted(set(commits)):
        got = _get(
            store,
            commit_url(base_url, repo, sha),
            f"commit {repo}@{sha[:12]}",
            problems,
            missing,
            ("commit", f"{repo}@{sha}"),
        )
        if got is None:
            continue
        data, stored = got
        what = f"commit {repo}@{sha[:12]}"
        if not isinstance(data, dict) or not isinstance(data.get("sha"), str):
            problems.append(f"{what}: unexpected answer shape (no commit object with a sha)")
            continue
        r = _Reader(what, problems)
        inner = r.obj(data, "commit")
        who = r.obj(data, "author")
        inner_author = r.obj(inner, "author")
        out_commits[(repo, sha)] = Commit(
            repo=repo,
            sha=r.text(data, "sha"),
            author=r.text(who, "login") or r.text(inner_author, "name"),
            author_type=r.text(who, "type"),
            message=r.text(inner, "message"),
            parents=r.texts(data, "parents", "sha"),
            files=r.texts(data, "files", "filename"),
            date=r.time(inner_author, "date"),
            evidence=stored.evidence(note="GitHub commit"),
        )
    out_runs: dict[tuple[str, int], Run] = {}
    for repo, run_id in sorted(set(runs)):
        got = _get(
            store,
            run_url(base_url, repo, run_id),
            f"workflow run {run_id}",
            problems,
            missing,
            ("run", f"{repo}#{run_id}"),
        )
        if got is None:
            continue
        data, stored = got
        what = f"workflow run {run_id}"
        if not isinstance(data, dict):
            problems.append(f"{what}: unexpected answer shape (a {type_name(data)})")
            continue
        r = _Reader(what, problems)
        actor = data.get("actor")
        out_runs[(repo, run_id)] = Run(
            repo=repo,
            id=run_id,
            event=r.text(data, "event"),
            actor=r.text(actor, "login") if isinstance(actor, dict) else r.text(data, "actor"),
            head_sha=r.text(data, "head_sha"),
            head_branch=r.text(data, "head_branch"),
            path=r.text(data, "path"),
            created_at=r.time(data, "created_at"),
            evidence=stored.evidence(note="GitHub workflow run"),
        )
    out_tags: dict[str, dict[str, str]] = {}
    tag_evidence: dict[str, EvidenceRef] = {}
    for repo in sorted(set(repositories)):
        got = _get(store, tags_url(base_url, repo), f"tags of {repo}", problems)
        if got is None:
            continue
        data, stored = got
        tag_evidence[repo] = stored.evidence(note="GitHub tags")
        if not isinstance(data, list):
            problems.append(f"tags of {repo}: the answer is a {type_name(data)}, not a list")
            continue
        r = _Reader(f"tags of {repo}", problems)
        tags: dict[str, str] = {}
        for i, tag in enumerate(data):
            name = tag.get("name") if isinstance(tag, dict) else None
            if not isinstance(name, str) or not name:
                problems.append(f"tags of {repo}: entry {i} has no name; dropped")
                continue
            name = encodable(name, f"tags of {repo}: entry {i} name", problems)
            if name in tags:
                problems.append(f"tags of {repo}: tag {name!r} is listed twice; the first is kept")
                continue
            tags[name] = r.text(r.obj(tag, "commit"), "sha")
        out_tags[repo] = tags
    return GitHubView(
        base_url, out_commits, out_runs, out_tags, tag_evidence, missing, tuple(problems)
    )


def github_targets(
    claims: Iterable[Mapping[str, str]],
) -> tuple[set[tuple[str, str]], set[tuple[str, int]], set[str]]:
    """(commits, runs, repositories) named by attestation claims on github.com."""
    commits: set[tuple[str, str]] = set()
    runs: set[tuple[str, int]] = set()
    repos: set[str] = set()
    for c in claims:
        repo = github_repo(c.get("source_repository"))
        if repo is None:
            continue
        repos.add(repo)
        if sha := c.get("source_commit"):
            commits.add((repo, sha))
        if (run := run_from_url(c.get("run_url"))) is not None:
            runs.add(run)
    return commits, runs, repos


__all__ = ["Commit", "GitHubView", "Run", "github_targets", "load_github"]


def _stored_pages(store: EvidenceStore, first: str, limit: int) -> tuple[list[Any], bool, str]:
    """Items of the stored pages from `first` on, whether the last page was reached, and why."""
    items: list[Any] = []
    url: str | None = first
    for _ in range(limit):
        if url is None:
            return items, True, ""
        stored = store.latest(url)
        if stored is None:
            return items, False, f"{url} was not collected"
        if stored.status != 200:
            return items, False, f"{url} answered HTTP {stored.status}"
        try:
            page = loads(stored.body(), url)
        except UntrustedDataError as exc:
            return items, False, exc.message
        if isinstance(page, dict):  # the runs list wraps its items
            page = page.get("workflow_runs", [])
        if not isinstance(page, list):
            return items, False, f"{url}: unexpected answer shape"
        items.extend((item, stored) for item in page)
        url = next_page(stored.headers.get("link"))
    return items, url is None, "" if url is None else f"more than {limit} pages"


def _time(value: Any) -> datetime | None:
    """A timestamp inside the accepted range, or None (source facts are corroboration only)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return time_in_range(value)
    except ValueError:
        return None


def load_source(store: EvidenceStore, base_url: str, repo: str, named_by: str) -> SourceRepository:
    """The tags (with their commits' dates) and runs of the source repository the index names,
    as collected by `forensics.collect.github.collect_source` (pure: reads the store only)."""
    problems: list[str] = []
    raw_tags, tags_complete, why = _stored_pages(store, tags_url(base_url, repo), SOURCE_TAG_PAGES)
    if why:
        problems.append(f"tags of {repo}: {why}")
    tags: list[SourceTag] = []
    for item, stored in raw_tags:
        try:
            name, sha = str(item["name"]), str(item["commit"]["sha"])
        except (KeyError, TypeError):
            problems.append(f"tags of {repo}: an entry without name or commit")
            continue
        commit = store.latest(commit_url(base_url, repo, sha))
        date = None
        if commit is not None and commit.status == 200:
            try:
                date = _time(loads(commit.body(), sha)["commit"]["author"]["date"])
            except (UntrustedDataError, KeyError, TypeError):
                problems.append(f"commit {repo}@{sha[:12]}: no author date")
        tags.append(
            SourceTag(name, version_from_tag(name), sha, date, stored.evidence(note=f"tag {name}"))
        )
    raw_runs, runs_complete, why = _stored_pages(store, runs_url(base_url, repo), SOURCE_RUN_PAGES)
    if why and "more than" not in why:
        problems.append(f"workflow runs of {repo}: {why}")
    runs: list[SourceRun] = []
    for item, stored in raw_runs:
        try:
            runs.append(
                SourceRun(
                    id=int(item["id"]),
                    head_sha=str(item.get("head_sha", "")),
                    head_branch=str(item.get("head_branch") or ""),
                    event=str(item.get("event", "")),
                    path=str(item.get("path", "")),
                    created_at=_time(item.get("created_at")),
                    conclusion=item.get("conclusion"),
                    evidence=stored.evidence(note=f"workflow run {item['id']}"),
                )
            )
        except (KeyError, TypeError, ValueError):
            problems.append(f"workflow runs of {repo}: an entry without an id")
    return SourceRepository(
        repository=repo,
        named_by=named_by,
        tags=tuple(tags),
        runs=tuple(runs),
        tags_complete=tags_complete,
        runs_complete=runs_complete,
        problems=tuple(problems),
    )
