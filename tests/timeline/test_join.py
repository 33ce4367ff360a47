"""The joined timeline: claims, channel, line, source facts and log checks attached per release."""

from __future__ import annotations

from forensics.timeline import Channel, LogCheck, build_timeline
from tests.factories import commit_sha, github_for, series

V = ["2.0.0", "2.0.1", "2.1.0rc1"]


def test_each_release_carries_its_claims_channel_line_and_source() -> None:
    gh = github_for(V, untagged=frozenset({"2.0.1"}), missing=frozenset({"2.1.0rc1"}))
    tl = series(V, tokens=frozenset({"2.0.1"}), github=gh)
    first, token, rc = tl.releases
    assert first.channel is Channel.TRUSTED_PUBLISHING and token.channel is Channel.TOKEN
    assert [c.source for c in first.claims] == ["attestation"] and not token.claims
    assert (first.line, rc.line) == ("2.0", "2.1")
    assert first.commit is not None and first.commit.sha == commit_sha("2.0.0")
    assert first.source.tags == ("v2.0.0",) and first.source.repositories == ("acme/widget",)
    assert rc.commit is None and [w for w, _e in rc.source.missing] == [
        f"commit {commit_sha('2.1.0rc1')[:12]}"
    ]
    assert tl.source_collected and tl.tags["acme/widget"]["v2.0.0"] == commit_sha("2.0.0")


def test_graph_links_releases_to_commits_and_tags() -> None:
    same = {"source_commit": "c" * 40}
    tl = series(V, claims={"2.0.1": same, "2.1.0rc1": same}, github=github_for(V))
    shared = {n: [r.version for r in rels] for n, rels in tl.releases_sharing_commit().items()}
    assert shared["commit:https://github.com/acme/widget@" + "c" * 40] == ["2.0.1", "2.1.0rc1"]
    assert tl.graph.has_edge("release:2.0.0", "tag:acme/widget:v2.0.0")


def test_log_checks_attach_to_their_release() -> None:
    base = series(V[:2])
    files = [fv.dist for r in base.releases for fv in r.files]
    prov = {fv.dist.filename: fv.provenance for r in base.releases for fv in r.files}
    check = LogCheck("widget-2.0.1.tar.gz", "2.0.1", 1001, ("body differs",), "", ())
    tl = build_timeline("widget", files, prov, pep740=base.pep740, log_checks=[check])
    assert tl.releases[1].log_checks == (check,) and not tl.releases[0].log_checks
