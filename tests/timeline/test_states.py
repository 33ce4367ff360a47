"""Release states: PyPI's vocabulary plus unknown, with the documented precedence."""

from __future__ import annotations

from datetime import timedelta

from forensics.models import FileProvenance, Pep740Support, ProvenanceStatus, Publisher
from forensics.timeline import ReleaseState, build_timeline
from tests.factories import T0, absent, attested, dist, history


def test_full_none_partial_and_lost() -> None:
    tl = history(
        [
            ("0.9", None),
            ("1.0", attested("widget-1.0.tar.gz", T0 + timedelta(days=1))),
            ("1.1", None),
        ]
    )
    states = {r.version: r.states for r in tl.releases}
    assert states["0.9"] == (ReleaseState.NONE,)  # before adoption: none, not lost
    assert states["1.0"] == (ReleaseState.FULL,)
    assert states["1.1"] == (ReleaseState.NONE, ReleaseState.LOST)
    assert tl.release("1.1").state is ReleaseState.LOST  # type: ignore[union-attr]


def test_partial_when_one_file_lacks_attestation() -> None:
    up = T0
    files = [dist("1.0", "widget-1.0.tar.gz", up), dist("1.0", "widget-1.0-py3-none-any.whl", up)]
    prov = {files[0].filename: attested(files[0].filename, up), files[1].filename: absent()}
    tl = build_timeline("widget", files, prov, pep740=Pep740Support.YES)
    assert tl.releases[0].state is ReleaseState.PARTIAL
    assert "1 of 2" in tl.releases[0].state_reason


def test_changed_publisher_and_inconsistent_release() -> None:
    other = Publisher("GitHub", "evil/widget", "publish.yml", None)
    tl = history(
        [
            ("1.0", attested("widget-1.0.tar.gz", T0)),
            ("1.1", attested("widget-1.1.tar.gz", T0 + timedelta(days=1), publisher=other)),
        ]
    )
    rel = tl.release("1.1")
    assert rel is not None and rel.state is ReleaseState.CHANGED
    assert "acme/widget" in rel.state_reason and "evil/widget" in rel.state_reason

    files = [dist("2.0", "w-2.0.tar.gz", T0), dist("2.0", "w-2.0-py3-none-any.whl", T0)]
    prov = {
        files[0].filename: attested(files[0].filename, T0),
        files[1].filename: attested(files[1].filename, T0, publisher=other),
    }
    tl2 = build_timeline("widget", files, prov, pep740=Pep740Support.YES)
    assert tl2.releases[0].state is ReleaseState.INCONSISTENT


def test_unknown_never_becomes_lost() -> None:
    unknown = FileProvenance(
        ProvenanceStatus.UNKNOWN, "provenance unknown: this index does not serve PEP 740"
    )
    tl = history([("1.0", attested("widget-1.0.tar.gz", T0)), ("1.1", unknown)])
    rel = tl.release("1.1")
    assert rel is not None and rel.states == (ReleaseState.UNKNOWN,)
    assert "does not serve PEP 740" in rel.state_reason


def test_invalid_makes_release_inconsistent_and_is_not_a_baseline() -> None:
    bad = FileProvenance(ProvenanceStatus.INVALID, "signature does not verify")
    other = Publisher("GitHub", "evil/widget", "x.yml", None)
    tl = history(
        [
            ("1.0", attested("widget-1.0.tar.gz", T0)),
            ("1.1", bad),
            ("1.2", attested("widget-1.2.tar.gz", T0 + timedelta(days=2), publisher=other)),
        ]
    )
    assert tl.release("1.1").state is ReleaseState.INCONSISTENT  # type: ignore[union-attr]
    # 1.2 is compared with 1.0, the last consistent attested release
    assert tl.release("1.2").state is ReleaseState.CHANGED  # type: ignore[union-attr]


def test_events_are_ordered_and_carry_meaning() -> None:
    tl = history([("1.0", attested("widget-1.0.tar.gz", T0, lead=timedelta(seconds=4)))])
    kinds = [e.kind for e in tl.events]
    assert kinds == ["log_integrated", "uploaded"]
    assert tl.events[0].meaning.startswith("attestation integrated")
    assert all(e.evidence for e in tl.events)


def test_graph_links_release_file_attestation_identity_commit_run() -> None:
    tl = history([("1.0", attested("widget-1.0.tar.gz", T0))])
    g = tl.graph
    assert g.has_edge("project:widget", "release:1.0")
    assert g.has_edge("release:1.0", "file:widget-1.0.tar.gz")
    assert g.has_edge("file:widget-1.0.tar.gz", "attestation:widget-1.0.tar.gz#0")
    assert g.has_edge(
        "attestation:widget-1.0.tar.gz#0", "identity:GitHub|acme/widget|publish.yml|pypi"
    )
    assert any(n.startswith("commit:") for n in g.nodes)
    assert any(n.startswith("run:") for n in g.nodes)
    assert g.nodes["logentry:1000"]["data_type"] == "rekor:entry"
