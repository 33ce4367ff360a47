"""Each detector on tiny joined timelines: judged against its line's baseline, not its predecessor.

Every registered detector id is exercised here or in test_detectors.py (a test checks that).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from forensics.detectors import AnalysisContext, Requirement, run_detectors
from forensics.detectors.registry import DETECTORS
from forensics.models import Finding, LogEntry, Publisher, Severity
from forensics.timeline import LogCheck, RecoveredEntry, ReportedRelease, Timeline, build_timeline
from forensics.timeline.baseline import (
    IDENTITY,
    MISSING,
    deviations,
    group_by_line,
    robust_scale,
)
from tests.factories import PUB, T0, github_for, series

ALL = frozenset(Requirement)


def findings(tl: Timeline, detector: str | None = None) -> list[Finding]:
    out, _skipped = run_detectors(AnalysisContext("widget", T0 + timedelta(days=400), tl, ALL))
    return [f for f in out if detector is None or f.detector == detector]


def flagged(tl: Timeline, detector: str, at_least: Severity = Severity.MEDIUM) -> list[str]:
    return [f.version or "" for f in findings(tl, detector) if f.severity.rank >= at_least.rank]


V = ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.0.5", "1.0.6"]


def _attr(name: str):  # type: ignore[no-untyped-def]
    return next(a for a in IDENTITY if a.name == name)


# -- the baseline itself ---------------------------------------------------------------------


def test_burst_of_deviant_releases_flags_each_and_not_the_return() -> None:
    branch = {"source_ref": "refs/heads/main", "trigger": "workflow_dispatch"}
    tl = series(V, claims={"1.0.4": branch, "1.0.5": branch})
    assert flagged(tl, "claim-drift") == ["1.0.4", "1.0.4", "1.0.5", "1.0.5"]
    summary = next(f.summary for f in findings(tl, "claim-drift") if "ref" in f.summary)
    assert "4 of 4 earlier 1.0 releases built from refs/tags/v#.#.#" in summary
    assert "1.0.6 returned to" in summary


def test_a_change_that_persists_is_one_finding_at_the_transition() -> None:
    moved = {"runner_environment": "self-hosted"}
    tl = series(V, claims=dict.fromkeys(V[3:], moved))
    devs = deviations(tl.releases, _attr("runner"))
    assert [d.release.version for d in devs] == ["1.0.3"]
    assert devs[0].transition and devs[0].persisted == 3
    assert "persisted for 3" in devs[0].comparison()


def test_a_disappearing_environment_is_a_change() -> None:
    dropped = Publisher("GitHub", "acme/widget", "publish.yml", None)
    tl = series(
        V[:5],
        claims={"1.0.4": {"deployment_environment": ""}},
        publishers={"1.0.4": dropped},
    )
    (dev,) = deviations(tl.releases, _attr("environment"))
    assert dev.value == MISSING and dev.release.version == "1.0.4"
    assert flagged(tl, "claim-drift") == ["1.0.4"]


def test_cold_start_is_info_never_medium() -> None:
    tl = series(["1.0.0", "1.0.1"], claims={"1.0.1": {"source_ref": "refs/heads/main"}})
    drift = findings(tl, "claim-drift")
    assert drift and all(f.severity is Severity.INFO for f in drift)
    assert "no baseline yet" in drift[0].summary


def test_backport_is_judged_on_its_own_line_and_rc_refs_fold() -> None:
    versions = ["2.0.0", "2.0.1", "2.0.2", "3.0.0rc1", "3.0.0", "3.0.1", "2.0.3"]
    runner = {"runner_environment": "self-hosted"}
    tl = series(versions, claims={v: runner for v in versions if v.startswith("3.")})
    # 3.0.0rc1 is built from refs/tags/v3.0.0rc1: the rc segment folds into refs/tags/v#.#.#;
    # 2.0.3, uploaded after the 3.0 releases, is compared with its own line, not with 3.0.1
    drift = findings(tl, "claim-drift")
    assert [(f.version, f.values["attribute"]) for f in drift] == [("3.0.0rc1", "runner")]
    assert group_by_line(tl.releases)["2.0"][-1].version == "2.0.3"


def test_robust_scale_is_on_a_log_scale() -> None:
    scale = robust_scale([2.0, 3.0, 2.5, 4.0])
    assert scale is not None
    assert scale.score(3.0) < 1 < scale.score(3000.0)


# -- detectors on the baseline ----------------------------------------------------------------


def test_publisher_changed_new_repository_is_high_and_transfer_low() -> None:
    other = Publisher("GitHub", "evil/widget", "publish.yml", "pypi")
    tl = series(V[:5], publishers={"1.0.4": other}, claims={"1.0.4": {"source_repository_id": "9"}})
    assert flagged(tl, "publisher-changed", Severity.HIGH) == ["1.0.4"]
    moved = Publisher("GitHub", "acme-org/widget", "publish.yml", "pypi")
    transfer = series(
        V,
        publishers=dict.fromkeys(V[3:], moved),
        claims={v: {"source_repository_owner_id": "8"} for v in V[3:]},
    )
    sev = {(f.detector, f.version): f.severity for f in findings(transfer)}
    assert sev[("publisher-changed", "1.0.3")] is Severity.LOW
    assert sev[("claim-drift", "1.0.3")] is Severity.LOW
    assert not flagged(transfer, "publisher-changed")


def test_workflow_rename_in_a_tagged_maintainer_commit_is_low() -> None:
    renamed = Publisher("GitHub", "acme/widget", "release.yml", "pypi")
    files = (".github/workflows/publish.yml", ".github/workflows/release.yml")
    tl = series(
        V[:5],
        publishers={"1.0.3": renamed, "1.0.4": renamed},
        github=github_for(V[:5], files={"1.0.3": files}),
    )
    assert flagged(tl, "publisher-changed") == []
    assert [f.severity for f in findings(tl, "publisher-changed")] == [Severity.LOW]


def test_provenance_lost_against_the_line_and_not_for_a_token_line() -> None:
    tl = series(V[:5], tokens=frozenset({"1.0.4"}))
    assert flagged(tl, "provenance-lost", Severity.HIGH) == ["1.0.4"]
    never = series(V[:5], tokens=frozenset(V[:5]))
    assert findings(never, "provenance-lost") == []


def test_file_without_attestation_next_to_attested_files() -> None:
    tl = series(V[:3])
    rel = tl.releases[-1]
    assert rel.channel.value == "trusted-publishing"
    from dataclasses import replace

    from tests.factories import absent, dist

    extra = dist("1.0.2", "widget-1.0.2-py3-none-any.whl", T0 + timedelta(days=9))
    files = [fv.dist for r in tl.releases for fv in r.files] + [extra]
    prov = {fv.dist.filename: fv.provenance for r in tl.releases for fv in r.files}
    prov[extra.filename] = absent()
    mixed = build_timeline("widget", files, prov, pep740=tl.pep740)
    out = findings(mixed, "file-without-attestation")
    assert [(f.version, f.severity) for f in out] == [("1.0.2", Severity.HIGH)]
    assert replace(out[0]).filename == extra.filename


def test_commit_reuse_is_read_from_the_graph() -> None:
    same = {"source_commit": "c" * 40}
    tl = series(V[:4], claims={"1.0.2": same, "1.0.3": same})
    assert flagged(tl, "commit-reused-across-versions", Severity.HIGH) == ["1.0.3"]


def test_untrusted_trigger_new_is_high_habitual_is_low() -> None:
    pr = {"trigger": "pull_request_target", "source_ref": "refs/pull/7/merge"}
    tl = series(V[:4], claims={"1.0.3": pr})
    assert flagged(tl, "untrusted-build-trigger", Severity.HIGH) == ["1.0.3"]
    habit = series(V[:5], claims={v: {"trigger": "workflow_run"} for v in V[:5]})
    sev = [f.severity for f in findings(habit, "untrusted-build-trigger")]
    assert sev[-1] is Severity.LOW


def test_self_hosted_new_is_medium_habitual_is_info() -> None:
    tl = series(V[:4], claims={"1.0.3": {"runner_environment": "self-hosted"}})
    assert flagged(tl, "self-hosted-runner") == ["1.0.3"]
    always = series(V[:4], claims={v: {"runner_environment": "self-hosted"} for v in V[:4]})
    assert flagged(always, "self-hosted-runner") == ["1.0.0"]  # the very first is no habit yet


def test_release_without_tag_in_a_tagging_line() -> None:
    gh = github_for(V[:5], untagged=frozenset({"1.0.4"}))
    tl = series(V[:5], tokens=frozenset({"1.0.4"}), github=gh)
    assert flagged(tl, "release-without-tag", Severity.MEDIUM) == ["1.0.4"]
    signed = series(V[:5], github=gh)
    assert [f.version for f in findings(signed, "release-without-tag")] == ["1.0.4"]
    assert not flagged(signed, "release-without-tag", Severity.LOW)


def test_release_commit_edits_workflow_by_an_automated_account() -> None:
    wf = {
        "build_config": "https://github.com/acme/widget/.github/workflows/publish.yml@refs/tags/v1"
    }
    gh = github_for(
        V[:4],
        authors={"1.0.3": "release-bot[bot]"},
        files={"1.0.3": (".github/workflows/publish.yml",)},
    )
    tl = series(V[:4], claims=dict.fromkeys(V[:4], wf), github=gh)
    assert flagged(tl, "release-commit-edits-workflow", Severity.HIGH) == ["1.0.3"]


def test_attested_source_missing() -> None:
    gh = github_for(V[:3], missing=frozenset({"1.0.2"}))
    tl = series(V[:3], github=gh)
    assert flagged(tl, "attested-source-missing", Severity.HIGH) == ["1.0.2"]


def test_log_entry_mismatch_reads_the_timeline_log_checks() -> None:
    base = series(V[:2])
    files = [fv.dist for r in base.releases for fv in r.files]
    prov = {fv.dist.filename: fv.provenance for r in base.releases for fv in r.files}
    check = LogCheck("widget-1.0.1.tar.gz", "1.0.1", 1001, ("integrated time differs",), "", ())
    tl = build_timeline(
        "widget", files, prov, pep740=base.pep740, log_checks=[check], log_inconsistent=["x"]
    )
    out = findings(tl, "log-entry-mismatch")
    assert {(f.version, f.severity) for f in out} == {
        ("1.0.1", Severity.HIGH),
        (None, Severity.CRITICAL),
    }


def test_reported_release_not_in_log() -> None:
    base = series(V[:2])
    files = [fv.dist for r in base.releases for fv in r.files]
    prov = {fv.dist.filename: fv.provenance for r in base.releases for fv in r.files}
    rep = ReportedRelease("1.0.9", "[verified] advisory", "", (), T0 + timedelta(days=5))
    tl = build_timeline("widget", files, prov, pep740=base.pep740, reported=[rep])
    assert flagged(tl, "reported-release-not-in-log", Severity.HIGH) == ["1.0.9"]


def test_unlisted_log_entry_for_a_deleted_release() -> None:
    rec = RecoveredEntry(
        LogEntry(7000, T0 + timedelta(days=9), "dsse/0.0.1"),
        {"source_repository": "https://github.com/acme/widget", "source_ref": "refs/tags/v1.0.9"},
        "widget-1.0.9.tar.gz",
        None,
        "1.0.9",
        "ref",
        (),
    )
    tl = series(V[:3], recovered=[rec])
    assert flagged(tl, "unlisted-log-entry", Severity.HIGH) == ["1.0.9"]
    assert tl.release("1.0.9") is not None and tl.release("1.0.9").channel.value == (  # type: ignore[union-attr]
        "trusted-publishing"
    )


def test_signing_time_skew_backdated_signature() -> None:
    tl = series(V[:3])
    assert findings(tl, "signing-time-skew") == []


def test_finding_ids_are_unique() -> None:
    branch = {"source_ref": "refs/heads/main", "trigger": "workflow_dispatch"}
    tl = series(V[:5], claims={"1.0.4": branch})
    ids = [f.id for f in findings(tl)]
    assert len(ids) == len(set(ids)) >= 2


def test_every_detector_has_a_unit_test() -> None:
    here = Path(__file__).parent
    text = "".join(p.read_text(encoding="utf-8") for p in here.glob("test_*.py"))
    missing = [d.info.id for d in DETECTORS if f'"{d.info.id}"' not in text]
    assert not missing, f"no unit test names {missing}"


def test_publisher_default_is_used() -> None:
    assert PUB.environment == "pypi"


def test_a_recurring_excursion_is_reported_lower_then_becomes_history() -> None:
    versions = [f"1.0.{i}" for i in range(10)]
    dispatch = {"trigger": "workflow_dispatch"}
    tl = series(versions, claims={"1.0.4": dispatch, "1.0.7": dispatch, "1.0.9": dispatch})
    devs = deviations(tl.releases, _attr("trigger"))
    assert [(d.release.version, d.recurrence) for d in devs] == [
        ("1.0.4", False),
        ("1.0.7", True),
    ]
    sev = {f.version: f.severity for f in findings(tl, "claim-drift")}
    assert sev["1.0.4"].rank > sev["1.0.7"].rank


def test_every_finding_has_a_tip_and_names_its_comparison() -> None:
    branch = {"source_ref": "refs/heads/main", "trigger": "workflow_dispatch"}
    gh = github_for(V, untagged=frozenset({"1.0.5"}))
    tl = series(V, claims={"1.0.4": branch}, tokens=frozenset({"1.0.5"}), github=gh)
    out = findings(tl)
    assert {f.detector for f in out} >= {"claim-drift", "provenance-lost", "release-without-tag"}
    assert all(f.tip for f in out)
    assert all("earlier" in f.summary for f in out)


def test_tag_naming_change_is_low() -> None:
    from dataclasses import replace as dc_replace

    gh = github_for(V[:5])
    tags = dict(gh.tags["acme/widget"])
    tags["release-1.0.4"] = tags.pop("v1.0.4")
    tl = series(V[:5], github=dc_replace(gh, tags={"acme/widget": tags}))
    out = findings(tl, "release-without-tag")
    assert [(f.version, f.severity) for f in out] == [("1.0.4", Severity.LOW)]
    assert "tag naming changed" in out[0].summary


def test_a_corroborated_backport_is_explained_an_uncorroborated_one_is_not() -> None:
    versions = ["2.0.0", "2.0.1", "2.1.0", "2.2.0", "2.0.2"]
    branch = {"2.0.2": {"source_ref": "refs/heads/2.0.x", "trigger": "workflow_dispatch"}}
    tagged = series(versions, claims=branch, github=github_for(versions))
    assert {f.severity for f in findings(tagged, "claim-drift")} == {Severity.LOW}
    assert "a backport published after 2.2.0" in findings(tagged, "claim-drift")[0].summary
    untagged = series(
        versions, claims=branch, github=github_for(versions, untagged=frozenset({"2.0.2"}))
    )
    assert flagged(untagged, "claim-drift") == ["2.0.2", "2.0.2"]


def test_a_workflow_run_at_the_commit_does_not_corroborate() -> None:
    # every signature comes with a run: it cannot vouch for the signing it belongs to
    versions = ["2.0.0", "2.0.1", "2.1.0", "2.2.0", "2.0.2"]
    branch = {"2.0.2": {"source_ref": "refs/heads/2.0.x"}}
    gh = github_for(versions, untagged=frozenset({"2.0.2"}), run_of="2.0.2")
    tl = series(versions, claims=branch, github=gh)
    assert tl.release("2.0.2").source.runs  # type: ignore[union-attr]
    assert flagged(tl, "claim-drift") == ["2.0.2"]


def test_two_publishers_per_release_as_a_habit_is_info() -> None:
    from tests.factories import attested, dist

    wheels = Publisher("GitHub", "acme/widget", "wheels.yml", "pypi")
    files, prov = [], {}
    for i, v in enumerate(V[:4]):
        up = T0 + timedelta(days=i)
        for name, pub in ((f"widget-{v}.tar.gz", PUB), (f"widget-{v}-cp312-linux.whl", wheels)):
            d = dist(v, name, up)
            files.append(d)
            prov[name] = attested(name, up, publisher=pub, claims={"source_ref": f"refs/tags/v{v}"})
    tl = build_timeline("widget", files, prov, pep740=series(V[:1]).pep740)
    out = findings(tl, "publisher-changed")
    assert len(out) == 4 and all(f.severity is Severity.INFO for f in out)
