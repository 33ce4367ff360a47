"""GitHub source: the commits, workflow runs and tags that attestations point at.

An attestation says *which* commit and run built a release; GitHub says *what* that commit was
(author, changed files, parents) and whether the run and a release tag exist. The collector asks
only for what the claims name, so the request count stays proportional to the history.
Answers are parsed by `forensics.collect.github_parse` from the evidence store, online or offline.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from forensics.collect.http import Fetcher
from forensics.errors import SourceError

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
