"""Answers computed from indexes (built once per history) equal the plain definitions.

Each plain definition below is the scan the index replaced (a pass over the whole history, or the
whole tag listing, for every release: quadratic on long histories). Random histories with several
lines, missing values, tokens, deleted releases, odd tags and full tag pages are compared release
by release.
"""

from __future__ import annotations

import random
from dataclasses import fields, replace
from datetime import timedelta
from typing import Any

import pytest

from forensics.detectors.source_tag_missing import RUN_LATE, _Source
from forensics.models import (
    EvidenceRef,
    LogEntry,
    Pep740Support,
    ProvenanceStatus,
    SourceRepository,
    SourceRun,
    SourceTag,
)
from forensics.timeline import RecoveredEntry, ReleaseView, Timeline, TimelineEvent, build_timeline
from forensics.timeline.baseline import (
    CHANNEL,
    IDENTITY,
    MISSING,
    TAG_PAGE,
    Attribute,
    EarlierValues,
    Scope,
    Support,
    comparison_scope,
    deviations,
    observe,
    tag_value,
    upload_to_log_seconds,
)
from forensics.timeline.build import _graph
from forensics.versions import parse_version, ref_pattern, version_from_tag
from tests.factories import T0, absent, attested, dist, github_for

REF = EvidenceRef("https://api.example/tags", "0" * 64, T0)


def random_timeline(seed: int, n: int) -> Timeline:
    rnd = random.Random(seed)
    files, prov, versions, recovered = [], {}, [], []
    lines = ["1.0", "1.1", "2.0", "2.1"]
    count = dict.fromkeys(lines, 0)
    for i in range(n):
        line = rnd.choice(lines)
        count[line] += 1
        version = f"{line}.{count[line]}" if rnd.random() > 0.03 else f"odd-{i}"
        up = T0 + timedelta(hours=rnd.randint(1, 90) * (i + 1))
        if rnd.random() < 0.05:  # deleted: known from the log only
            claims = (
                {"source_commit": rnd.choice(["a" * 40, "b" * 40])} if rnd.random() < 0.7 else {}
            )
            recovered.append(
                RecoveredEntry(
                    LogEntry(5000 + i, up, "dsse/0.0.1", verified=True),
                    {**claims, "source_repository": "https://github.com/acme/widget"},
                    None,
                    None,
                    version if rnd.random() < 0.8 else None,
                    "ref",
                    (REF,),
                )
            )
            continue
        versions.append(version)
        claims = {
            "source_ref": rnd.choice([f"refs/tags/v{version}", "refs/heads/main"]),
            "trigger": rnd.choice(["push", "push", "workflow_run", "pull_request_target"]),
            "runner_environment": rnd.choice(["github-hosted", "self-hosted"]),
            "source_commit": rnd.choice([f"{i:040x}", "c" * 40, "d" * 40]),
        }
        if rnd.random() < 0.2:
            del claims["runner_environment"]
        for name in (f"widget-{version}.tar.gz", f"widget-{version}-py3-none-any.whl"):
            d = dist(version, name, up + timedelta(minutes=rnd.choice([0, 1, 90])))
            files.append(d)
            r = rnd.random()
            fp = (
                absent()
                if r < 0.1
                else attested(
                    name,
                    up,
                    claims=claims,
                    lead=rnd.choice(
                        [timedelta(seconds=3), timedelta(minutes=-30), timedelta(hours=2)]
                    ),
                    log_index=100 + len(files),
                )
            )
            if 0.1 <= r < 0.13:  # an attestation that did not verify still joins the graph
                fp = replace(fp, status=ProvenanceStatus.INVALID)
            prov[name] = fp
    github = github_for(versions, untagged=frozenset(v for v in versions if rnd.random() < 0.1))
    tags = dict(github.tags["acme/widget"])
    tags.update({"latest": "f" * 40, "release-1.0.1": "e" * 40, "1.1.1": "e" * 40})
    github = replace(github, tags={"acme/widget": tags, "acme/other": {"v2.0.1": "1" * 40}})
    return build_timeline(
        "widget",
        files,
        prov,
        pep740=Pep740Support.YES,
        versions=versions,
        recovered=recovered,
        github=github,
    )


# -- plain definitions -------------------------------------------------------------------------


def plain_sharing(tl: Timeline) -> dict[str, list[ReleaseView]]:
    """From the graph: commit node -> releases with a `release_built_from` edge to it."""
    g = tl.graph
    order = {rel.version: i for i, rel in enumerate(tl.releases)}
    by_version = {rel.version: rel for rel in tl.releases}
    out: dict[str, list[ReleaseView]] = {}
    for node, data in g.nodes(data=True):
        if data.get("data_type") != "scm:commit":
            continue
        versions = {
            g.nodes[src]["version"]
            for src, _dst, key in g.in_edges(node, keys=True)
            if key == "release_built_from"
        }
        if versions:
            out[node] = sorted((by_version[v] for v in versions), key=lambda r: order[r.version])
    return out


def plain_support(
    releases: Any, rel: ReleaseView, attribute: Attribute
) -> tuple[int, int, Scope] | None:
    obs = observe(releases, attribute.read)
    seq = [r for r, _v in obs]
    if rel not in seq:
        return None
    pos = seq.index(rel)
    scope = comparison_scope(seq, pos, list(range(pos)))
    same = sum(1 for i in scope.members if obs[i][1] == obs[pos][1])
    return same, len(scope.members), scope


def plain_earlier(releases: Any, rel: ReleaseView, read: Any) -> tuple[Scope, list[float]] | None:
    seq = [r for r in releases if read(r) is not None or r is rel]
    if rel not in seq:
        return None
    pos = seq.index(rel)
    scope = comparison_scope(seq, pos, list(range(pos)))
    return scope, [v for i in scope.members if (v := read(seq[i])) is not None]


def plain_tag_value(rel: ReleaseView, tl: Timeline) -> str | None:
    if not tl.tags:
        return None
    normal = version_from_tag(rel.version) or rel.version
    version = parse_version(normal)
    shapes: list[str] = []
    for tags in tl.tags.values():
        named = {n: v for n in tags if (v := version_from_tag(n)) is not None}
        shapes += [ref_pattern(n) for n, v in named.items() if v == normal]
        if not shapes and len(tags) >= TAG_PAGE and named:
            oldest = min(p for v in named.values() if (p := parse_version(v)) is not None)
            if version is None or version < oldest:
                return None
    return sorted(shapes)[0] if shapes else MISSING


# -- comparisons -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_commits_shared_by_releases_are_the_graphs(seed: int) -> None:
    tl = random_timeline(seed, 60)
    got, want = tl.releases_sharing_commit(), plain_sharing(tl)
    assert got == want and set(got) == set(want)
    assert any(len(rels) > 1 for rels in got.values())
    assert tl.graph is tl.graph  # built once, on first use
    assert (
        tl.graph.number_of_edges() == _graph(tl.project, tl.releases, tl.unplaced).number_of_edges()
    )


@pytest.mark.parametrize("seed", range(8))
def test_support_and_earlier_values_are_the_plain_scans(seed: int) -> None:
    tl = random_timeline(seed, 70)
    releases = tl.releases
    latency = {rel.version: upload_to_log_seconds(rel) for rel in releases}
    read = lambda r: latency[r.version]  # noqa: E731 - as signing-time-skew reads it
    earlier_of = EarlierValues(releases, read)
    for attribute in (*IDENTITY, CHANNEL):
        support_of = Support(releases, attribute)
        for rel in releases:
            assert support_of(rel) == plain_support(releases, rel, attribute)
    for rel in releases:
        assert earlier_of(rel) == plain_earlier(releases, rel, read)
    # a release that is an equal copy, not one of the history's objects, is found by equality
    copy = replace(releases[-1])
    assert Support(releases, CHANNEL)(copy) == plain_support(releases, copy, CHANNEL)
    assert earlier_of(copy) == plain_earlier(releases, copy, read)
    stranger = replace(releases[-1], version="9.9.9")
    assert Support(releases, CHANNEL)(stranger) is None
    assert earlier_of(stranger) is None


@pytest.mark.parametrize("seed", range(8))
def test_tag_values_are_the_plain_scan(seed: int) -> None:
    tl = random_timeline(seed, 130)  # a listing of 100 tags or more: a possibly truncated page
    assert max(len(t) for t in tl.tags.values()) >= TAG_PAGE
    for rel in tl.releases:
        assert tag_value(rel, tl) == plain_tag_value(rel, tl)
        want = {
            name: sha
            for repo in rel.source.repositories
            for name, sha in tl.tags.get(repo, {}).items()
            if version_from_tag(name) == (version_from_tag(rel.version) or rel.version)
        }
        assert rel.source.tag_commits == want and list(rel.source.tag_commits) == list(want)


@pytest.mark.parametrize("seed", range(6))
def test_source_repository_answers_are_tags_for_and_the_plain_run_scan(seed: int) -> None:
    rnd = random.Random(seed)
    tl = random_timeline(seed, 50)
    tags, runs = [], []
    for i, rel in enumerate(tl.releases):
        version = rnd.choice([rel.version, rel.version + ".0", "not a version"])
        when = rnd.choice([None, T0, T0 + timedelta(days=999)])
        tags.append(SourceTag(f"v{rel.version}", version, f"{i:040x}", when, REF))
        runs.append(
            SourceRun(
                i,
                rnd.choice([f"{i:040x}", "0" * 40]),
                rnd.choice([f"v{rel.version}", "main"]),
                "push",
                "x.yml",
                rnd.choice([None, T0, T0 + timedelta(days=999)]),
                "success",
                REF,
            )
        )
    source = SourceRepository("acme/widget", "test", tuple(tags), tuple(runs), True, True)
    src = _Source(source)
    for rel in [*tl.releases, replace(tl.releases[0], version="not a version")]:
        assert src.tags_for(rel.version) == source.tags_for(rel.version)
        named = source.tags_for(rel.version)
        limit = (rel.first_upload + RUN_LATE) if rel.first_upload else None
        plain_run = any(
            (r.head_sha in {t.sha for t in named} or r.head_branch in {t.name for t in named})
            and (limit is None or r.created_at is None or r.created_at <= limit)
            for r in source.runs
        )
        assert src.has_run(rel) is plain_run
        assert src.has_run(rel) is plain_run  # asked again: the kept answer


def test_events_are_in_the_order_their_comparison_gives() -> None:
    tl = random_timeline(3, 40)
    assert list(tl.events) == sorted(tl.events)  # TimelineEvent's own (generated) ordering
    compared = [f.name for f in fields(TimelineEvent) if f.compare]
    assert compared == ["time", "kind", "version", "filename", "node", "description"]


@pytest.mark.parametrize("seed", range(6))
def test_each_deviation_keeps_the_baseline_it_was_judged_against(seed: int) -> None:
    tl = random_timeline(seed, 80)
    judged = 0
    for attribute in (*IDENTITY, CHANNEL):
        seq = [r for r, _v in observe(tl.releases, attribute.read)]
        for dev in deviations(tl.releases, attribute):
            pos = seq.index(dev.release)
            # a snapshot of the earlier releases: later acceptances must not have grown it
            assert all(i < pos for i in dev.scope.members)
            assert dev.support == len(dev.scope.members) == len(dev.earlier)
            assert dev.earlier == tuple(seq[i] for i in dev.scope.members)
            assert sum(n for _v, n in dev.expected) == dev.support
            judged += 1
    assert judged


@pytest.mark.parametrize("listed", [TAG_PAGE - 1, TAG_PAGE, TAG_PAGE + 1])
def test_tag_values_at_a_full_page(listed: int) -> None:
    """A full first page of tags (newest first) may hide the tags of older releases."""
    versions = [f"1.0.{i}" for i in range(listed + 3)]
    files = [dist(v, f"widget-{v}.tar.gz", T0 + timedelta(days=i)) for i, v in enumerate(versions)]
    tags = {f"v{v}": "0" * 40 for v in reversed(versions[3:])}  # the three oldest untagged
    tl = build_timeline(
        "widget",
        files,
        {d.filename: absent() for d in files},
        pep740=Pep740Support.NO,
        github=replace(github_for([]), tags={"acme/widget": tags}),
    )
    values = [tag_value(rel, tl) for rel in tl.releases]
    assert values == [plain_tag_value(rel, tl) for rel in tl.releases]
    assert values[0] == (None if listed >= TAG_PAGE else MISSING)
    assert values[-1] == "v#.#.#"
