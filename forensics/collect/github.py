"""GitHub source: the commits, workflow runs and tags that attestations point at.

An attestation says *which* commit and run built a release; GitHub says *what* that commit was
(author, changed files, parents) and whether the run and a release tag exist. The collector asks
only for what the claims name, so the request count stays proportional to the history.
Answers are parsed by `forensics.collect.github_parse` from the evidence store, online or offline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from forensics.collect.http import Fetcher
from forensics.errors import SourceError
from forensics.evidence import StoredResponse
from forensics.versions import parse_version, version_from_tag

DEFAULT_GITHUB_API = "https://api.github.com"
ACCEPT = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def commit_url(base: str, repo: str, sha: str) -> str:
    """`GET /repos/{owner}/{repo}/commits/{sha}`."""
    return f"{base.rstrip('/')}/repos/{repo}/commits/{sha}"


def run_url(base: str, repo: str, run_id: int) -> str:
    """`GET /repos/{owner}/{repo}/actions/runs/{id}`."""
    return f"{base.rstrip('/')}/repos/{repo}/actions/runs/{run_id}"


def tags_url(base: str, repo: str) -> str:
    """`GET /repos/{owner}/{repo}/tags?per_page=100` (first page: the newest tags)."""
    return f"{base.rstrip('/')}/repos/{repo}/tags?per_page=100"


class GitHubCollector:
    """Fetch the GitHub objects named by attestation claims into the evidence store."""

    def __init__(
        self, fetcher: Fetcher, base_url: str = DEFAULT_GITHUB_API, *, concurrency: int = 8
    ) -> None:
        """`fetcher` carries the client, retries and the store; requests run `concurrency` at
        a time."""
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.concurrency = max(1, concurrency)

    def collect(
        self,
        commits: Iterable[tuple[str, str]],
        runs: Iterable[tuple[str, int]],
        repositories: Iterable[str],
    ) -> list[str]:
        """Fetch (repo, sha) commits, (repo, id) runs and each repository's tags.

        Returns the problems met, in request order; a request that got no answer is stored by
        the fetcher as a "no answer" record (status 0), so offline re-analysis reports the same
        gap instead of a silent one.
        """
        urls = [tags_url(self.base_url, r) for r in sorted(set(repositories))]
        urls += [commit_url(self.base_url, r, s) for r, s in sorted(set(commits))]
        urls += [run_url(self.base_url, r, i) for r, i in sorted(set(runs))]

        def fetch(url: str) -> str | None:
            try:
                self.fetcher.get(url, headers=ACCEPT)
            except SourceError as exc:
                return exc.message
            return None

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            outcomes = list(pool.map(fetch, urls))
        return [problem for problem in outcomes if problem is not None]


# -- the source repository the index names (no attestation needed) -----------------------------

#: At most this many pages of tags (100 each) and of workflow runs are fetched per repository.
SOURCE_TAG_PAGES = 20
SOURCE_RUN_PAGES = 5
_NEXT = re.compile(r'<(?P<url>[^>]+)>\s*;\s*rel="next"')


def runs_url(base: str, repo: str) -> str:
    """`GET /repos/{owner}/{repo}/actions/runs?per_page=100` (first page: the newest runs)."""
    return f"{base.rstrip('/')}/repos/{repo}/actions/runs?per_page=100"


def next_page(link_header: str | None) -> str | None:
    """The `rel="next"` URL of an RFC 8288 `Link` header (GitHub pagination), or None."""
    m = _NEXT.search(link_header or "")
    return m.group("url") if m else None


def pages(fetcher: Fetcher, first: str, limit: int, problems: list[str]) -> list[StoredResponse]:
    """GET `first` and the pages its `Link: rel="next"` headers chain to (at most `limit`)."""
    out: list[StoredResponse] = []
    url: str | None = first
    while url is not None and len(out) < limit:
        try:
            response = fetcher.get(url, headers=ACCEPT)
        except SourceError as exc:
            problems.append(exc.message)
            break
        out.append(response)
        if response.status != 200:
            break
        url = next_page(response.headers.get("link"))
    return out


def collect_source(
    fetcher: Fetcher, base_url: str, repo: str, versions: Iterable[str] = ()
) -> list[str]:
    """Fetch the tags (every page, 100 a page, by `Link` headers), the commits of the tags that
    name one of `versions`, and the newest workflow runs of `repo`; returns the problems met.

    GitHub paginates tag lists (30 by default, 100 at most): a project with more tags than one
    page must be read to the end before a missing tag can mean anything.
    """
    problems: list[str] = []
    wanted = {parse_version(v) for v in versions} - {None}
    tag_commits: list[str] = []
    for response in pages(fetcher, tags_url(base_url, repo), SOURCE_TAG_PAGES, problems):
        if response.status != 200:
            continue
        try:
            for tag in json.loads(response.body()):
                version = version_from_tag(str(tag.get("name", "")))
                if version is not None and parse_version(version) in wanted:
                    tag_commits.append(str(tag["commit"]["sha"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append(f"unexpected tag list from {response.url}")
    pages(fetcher, runs_url(base_url, repo), SOURCE_RUN_PAGES, problems)
    for sha in dict.fromkeys(tag_commits):
        try:
            fetcher.get(commit_url(base_url, repo, sha), headers=ACCEPT)
        except SourceError as exc:
            problems.append(exc.message)
    return problems
