"""The index-only detectors on tiny timelines: each fires on its pattern, stays calm on benign
variants (backfills, slow matrices, persisted changes, backports) and on a cold start."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from forensics.detectors import AnalysisContext, Requirement, run_detectors
from forensics.detectors.dormancy_burst import DormancyBurst
from forensics.detectors.file_set_shape import FileSetShape
from forensics.detectors.interface import Detector
from forensics.detectors.late_file import LateFile, regime
from forensics.detectors.registry import DETECTORS
from forensics.detectors.requires_python_drop import RequiresPythonDrop, floor
from forensics.detectors.size_outlier import SizeOutlier
from forensics.detectors.source_tag_missing import SourceTagMissing
from forensics.detectors.version_gap import VersionGap
from forensics.detectors.yanked_security import YankedSecurity
from forensics.models import (
    DistFile,
    EvidenceRef,
    FileProvenance,
    Finding,
    Pep740Support,
    ProjectInfo,
    ProvenanceKey,
    ProvenanceStatus,
    Severity,
    SourceRepository,
    SourceTag,
    github_repository,
)
from forensics.timeline import Timeline, build_timeline
from forensics.timeline.numeric import file_kind, robust_log_z, version_gaps
from tests.factories import T0, dist

UNKNOWN = FileProvenance(ProvenanceStatus.UNKNOWN, "this index does not serve PEP 740")
WHEELS = ("cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-win_amd64")


def f(
    version: str,
    filename: str,
    at: datetime,
    *,
    size: int = 10_000,
    requires_python: str | None = ">=3.9",
    yanked: str | None = None,
) -> DistFile:
    d = dist(version, filename, at)
    return replace(
        d,
        size=size,
        requires_python=requires_python,
        yanked=yanked is not None,
        yanked_reason=yanked or None,
        provenance_key=ProvenanceKey.ABSENT,
        provenance_url=None,
    )


def release(
    version: str,
    at: datetime,
    *,
    wheels: Iterable[str] = WHEELS,
    sdist: bool = True,
    spread: timedelta = timedelta(minutes=10),
    **kw: object,
) -> list[DistFile]:
    out = []
    for i, tag in enumerate(wheels):
        out.append(f(version, f"widget-{version}-{tag}.whl", at + i * spread / 3, **kw))  # type: ignore[arg-type]
    if sdist:
        out.append(f(version, f"widget-{version}.tar.gz", at + spread, **kw))  # type: ignore[arg-type]
    return out


def timeline(files: Iterable[DistFile], info: ProjectInfo | None = None) -> Timeline:
    items = list(files)
    return build_timeline(
        "widget",
        items,
        {d.filename: UNKNOWN for d in items},
        pep740=Pep740Support.NO,
        pep740_reason="this index does not serve PEP 740",
        project_info=info,
    )


def scan(tl: Timeline, detector: type[Detector]) -> list[Finding]:
    ctx = AnalysisContext(
        "widget",
        T0 + timedelta(days=3000),
        tl,
        frozenset(),
        dict.fromkeys(Requirement, "not collected"),
    )
    findings, skipped = run_detectors(ctx, (detector,))
    assert not skipped  # index-only: runs on any index
    return list(findings)


def at_least(findings: list[Finding], severity: Severity) -> list[str]:
    return [x.version or "" for x in findings if x.severity.rank >= severity.rank]


def series(n: int, line: str = "1.2", start: datetime = T0, every: int = 14) -> list[DistFile]:
    out: list[DistFile] = []
    for i in range(n):
        out += release(f"{line}.{i}", start + timedelta(days=every * i))
    return out


# --------------------------------------------------------------------- helpers


def test_file_kind_folds_platform_versions() -> None:
    assert file_kind("a-1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").family == (
        "manylinux_x86_64"
    )
    assert file_kind("a-1-py3-none-any.whl").family == "pure"
    assert file_kind("a-1.tar.gz", "sdist").family == "sdist"
    assert file_kind("a-1-py2.7.egg", "bdist_egg").family == "egg"
    assert file_kind("a-1-cp39-cp39-macosx_10_9_x86_64.whl").family == "macosx_x86_64"


def test_robust_z_is_on_log_scale() -> None:
    sample = [1000, 1100, 1200, 1050, 980]
    assert abs(robust_log_z(1100, sample)) < 2
    assert robust_log_z(100_000, sample) > 6


def test_version_gaps_only_in_contiguous_lines() -> None:
    gaps = version_gaps(["1.4.0", "1.4.1", "1.4.3", "1.4.4", "1.4.5", "2.0.0"])
    assert [g.missing for g in gaps] == [("1.4.2",)]
    # CalVer-like sparse patch numbers say nothing; an rc of the missing number counts as present
    assert version_gaps(["2024.1.3", "2024.1.17", "2024.1.29"]) == ()
    assert version_gaps(["1.0.0", "1.0.1", "1.0.2rc1", "1.0.3"]) == ()


def test_source_repository_from_project_urls_or_home_page() -> None:
    info = ProjectInfo(
        "w", project_urls={"Docs": "https://w.rtfd.io", "Source": "https://github.com/acme/w"}
    )
    assert info.source_repository == "acme/w"
    assert ProjectInfo("w", home_page="https://github.com/acme/w.git").source_repository == "acme/w"
    assert ProjectInfo("w", home_page="https://gitlab.com/acme/w").source_repository is None
    assert github_repository("https://github.com/sponsors/acme") is None


# --------------------------------------------------------------------- late-file


def test_late_file_of_a_new_platform_is_medium_after_a_warm_history() -> None:
    files = series(6)
    late = f("1.2.5", "widget-1.2.5-cp312-cp312-macosx_11_0_arm64.whl", T0 + timedelta(days=73))
    found = scan(timeline([*files, late]), LateFile)
    assert at_least(found, Severity.MEDIUM) == ["1.2.5"]
    assert "before 2026-07-08" in found[0].values["regime"]


def test_late_file_explained_by_backfill_or_known_platform_is_info() -> None:
    files = series(6)
    backfill = f(
        "1.2.5", "widget-1.2.5-cp313-cp313-manylinux_2_17_x86_64.whl", T0 + timedelta(days=200)
    )
    found = scan(timeline([*files, backfill]), LateFile)
    assert at_least(found, Severity.LOW) == []
    assert "newer Python" in found[0].values["explanation"]


def test_slow_matrix_learned_from_the_line_is_quiet() -> None:
    files: list[DistFile] = []
    for i in range(7):
        files += release(f"1.2.{i}", T0 + timedelta(days=14 * i), spread=timedelta(hours=9))
    assert at_least(scan(timeline(files), LateFile), Severity.LOW) == []


def test_late_file_cold_start_is_not_above_low() -> None:
    files = series(1)
    late = f("1.2.0", "widget-1.2.0-cp312-cp312-win_amd64.whl", T0 + timedelta(days=5))
    assert at_least(scan(timeline([*files, late]), LateFile), Severity.MEDIUM) == []


def test_late_file_beyond_the_14_day_window_since_2026_07_08_is_high() -> None:
    start = datetime(2026, 8, 1, tzinfo=T0.tzinfo)
    files = release("3.0.0", start)
    late = f("3.0.0", "widget-3.0.0-cp312-cp312-win_amd64.whl", start + timedelta(days=20))
    found = scan(timeline([*files, late]), LateFile)
    assert at_least(found, Severity.HIGH) == ["3.0.0"]
    assert regime(start).startswith("since 2026-07-08")


# --------------------------------------------------------------------- dormancy-burst


def test_dormancy_then_burst_is_low_on_index_data_alone() -> None:
    files = series(8, every=30)
    wake = T0 + timedelta(days=30 * 7 + 900)
    for i, h in enumerate((0, 1, 3)):
        files += release(f"1.3.{i}", wake + timedelta(hours=h))
    found = scan(timeline(files), DormancyBurst)
    assert at_least(found, Severity.LOW) == ["1.3.0"]
    assert at_least(found, Severity.MEDIUM) == []
    assert found[0].values["burst_releases"] == "3"


def test_revival_with_a_single_release_is_info() -> None:
    files = series(8, every=30)
    files += release("1.3.0", T0 + timedelta(days=30 * 7 + 900))
    files += release("1.3.1", T0 + timedelta(days=30 * 7 + 960))
    found = scan(timeline(files), DormancyBurst)
    assert [x.version for x in found] == ["1.3.0"]
    assert at_least(found, Severity.LOW) == []


def test_dormancy_on_a_cold_start_is_info() -> None:
    files = series(2, every=30)
    wake = T0 + timedelta(days=1000)
    for i in range(3):
        files += release(f"2.0.{i}", wake + timedelta(hours=i))
    assert at_least(scan(timeline(files), DormancyBurst), Severity.LOW) == []


# --------------------------------------------------------------------- version-gap


def test_version_gap_is_an_info_lead_per_missing_version() -> None:
    files = [d for d in series(6) if d.version != "1.2.3"]
    found = scan(timeline(files), VersionGap)
    assert [(x.version, x.severity) for x in found] == [("1.2.3", Severity.INFO)]


# --------------------------------------------------------------------- file-set-shape


def test_sdist_only_release_in_a_wheel_line_is_medium() -> None:
    files = series(6)
    files += release("1.2.6", T0 + timedelta(days=100), wheels=())
    files += release("1.2.7", T0 + timedelta(days=114))  # back to normal
    found = scan(timeline(files), FileSetShape)
    assert at_least(found, Severity.MEDIUM) == ["1.2.6"]


def test_dropped_platform_that_persists_is_info() -> None:
    files = series(6)
    for i in range(6, 9):
        files += release(f"1.2.{i}", T0 + timedelta(days=14 * i), wheels=WHEELS[:1])
    found = scan(timeline(files), FileSetShape)
    assert at_least(found, Severity.LOW) == []
    assert "persisted for 2" in found[0].summary


def test_sdist_only_release_in_a_pure_wheel_line_is_low() -> None:
    files: list[DistFile] = []
    for i in range(6):
        files += release(f"1.2.{i}", T0 + timedelta(days=14 * i), wheels=("py3-none-any",))
    files += release("1.2.6", T0 + timedelta(days=100), wheels=())
    files += release("1.2.7", T0 + timedelta(days=114), wheels=("py3-none-any",))
    found = scan(timeline(files), FileSetShape)
    assert [(x.version, x.severity) for x in found] == [("1.2.6", Severity.LOW)]


def test_late_wheel_of_a_kind_the_project_was_adopting_is_a_backfill() -> None:
    files: list[DistFile] = []
    for i in range(6):
        files += release(f"1.2.{i}", T0 + timedelta(days=14 * i), wheels=())
    files += release("1.2.6", T0 + timedelta(days=100), wheels=("py3-none-any",))
    backfill = f("1.2.5", "widget-1.2.5-py3-none-any.whl", T0 + timedelta(days=101))
    found = scan(timeline([*files, backfill]), LateFile)
    assert at_least(found, Severity.LOW) == []
    assert "ships pure files on time elsewhere" in found[0].values["explanation"]


def test_sdist_only_prerelease_and_cold_start_are_not_medium() -> None:
    files = series(6)
    files += release("1.2.6rc1", T0 + timedelta(days=100), wheels=())
    files += release("1.2.6", T0 + timedelta(days=101))
    files += release("9.0.0", T0 + timedelta(days=1), wheels=())
    assert at_least(scan(timeline(files), FileSetShape), Severity.MEDIUM) == []


# --------------------------------------------------------------------- size-outlier


def test_one_off_size_jump_is_low_and_persisting_growth_info() -> None:
    files = series(9)
    files += release("1.2.9", T0 + timedelta(days=14 * 9), size=2_000_000)
    files += release("1.2.10", T0 + timedelta(days=14 * 10))
    found = scan(timeline(files), SizeOutlier)
    assert [(x.version, x.severity) for x in found] == [("1.2.9", Severity.LOW)]

    grown = series(9)
    for i in range(9, 12):
        grown += release(f"1.2.{i}", T0 + timedelta(days=14 * i), size=2_000_000)
    assert at_least(scan(timeline(grown), SizeOutlier), Severity.LOW) == []


def test_normal_size_drift_is_quiet() -> None:
    files: list[DistFile] = []
    for i in range(12):
        files += release(f"1.2.{i}", T0 + timedelta(days=14 * i), size=10_000 + 900 * i)
    assert scan(timeline(files), SizeOutlier) == []


# --------------------------------------------------------------------- yanked-security


def test_yank_reasons() -> None:
    files = series(3)
    files += release(
        "1.2.3", T0 + timedelta(days=50), yanked="Compromised release: uploaded by an attacker"
    )
    files += release("1.2.4", T0 + timedelta(days=60), yanked="Fixes CVE-2024-1234")
    files += release("1.2.5", T0 + timedelta(days=70), yanked="Broken wheel metadata")
    found = {x.version: x.severity for x in scan(timeline(files), YankedSecurity)}
    assert found == {"1.2.3": Severity.HIGH, "1.2.4": Severity.LOW}


# --------------------------------------------------------------------- requires-python-drop


def test_requires_python_dropped_once_is_medium_but_a_backport_line_is_not() -> None:
    files = series(6)
    files += release("1.2.6", T0 + timedelta(days=100), requires_python=None)
    files += release("1.2.7", T0 + timedelta(days=114))
    # a 0.9 backport line with an older floor is judged against itself
    for i in range(6):
        files += release(f"0.9.{i}", T0 + timedelta(days=3 + 14 * i), requires_python=">=3.6")
    found = scan(timeline(files), RequiresPythonDrop)
    assert at_least(found, Severity.MEDIUM) == ["1.2.6"]


def test_requires_python_drop_that_persists_or_lowered_floor_is_not_medium() -> None:
    files = series(6)
    for i in range(6, 9):
        files += release(f"1.2.{i}", T0 + timedelta(days=14 * i), requires_python=None)
    files2 = [*series(6), *release("1.2.6", T0 + timedelta(days=100), requires_python=">=3.7")]
    assert at_least(scan(timeline(files), RequiresPythonDrop), Severity.MEDIUM) == []
    lowered = scan(timeline(files2), RequiresPythonDrop)
    assert [(x.version, x.severity) for x in lowered] == [("1.2.6", Severity.LOW)]
    assert str(floor(">=3.9, <4")) == "3.9"


# --------------------------------------------------------------------- source-tag-missing


def _source(versions: Iterable[str], *, complete: bool = True, late: str = "") -> SourceRepository:
    ref = EvidenceRef("https://api.example/repos/acme/widget/tags", "0" * 64, T0)
    tags = []
    for i, v in enumerate(versions):
        sha = f"{i:040x}"
        when = T0 + timedelta(days=14 * i) - timedelta(minutes=10)
        if v == late:
            when += timedelta(days=2)
        tags.append(SourceTag(f"v{v}", v, sha, when, ref))
    return SourceRepository("acme/widget", "test", tuple(tags), (), complete, False)


def _with_source(files: list[DistFile], source: SourceRepository) -> Timeline:
    return replace(timeline(files), source=source)


def scan_source(tl: Timeline) -> list[Finding]:
    ctx = AnalysisContext("widget", T0 + timedelta(days=3000), tl, frozenset({Requirement.SOURCE}))
    return list(run_detectors(ctx, (SourceTagMissing,))[0])


def test_missing_tag_where_the_line_always_tags_is_medium() -> None:
    files = series(7)
    tl = _with_source(files, _source(f"1.2.{i}" for i in range(6)))
    assert at_least(scan_source(tl), Severity.MEDIUM) == ["1.2.6"]


def test_a_project_that_never_tags_or_an_incomplete_tag_list_says_nothing() -> None:
    files = series(7)
    assert scan_source(_with_source(files, _source([]))) == []
    partial = _source((f"1.2.{i}" for i in range(6)), complete=False)
    assert scan_source(_with_source(files, partial)) == []


def test_tag_on_a_commit_dated_after_the_upload_is_medium() -> None:
    files = series(7)
    tl = _with_source(files, _source((f"1.2.{i}" for i in range(7)), late="1.2.6"))
    found = scan_source(tl)
    assert at_least(found, Severity.MEDIUM) == ["1.2.6"]
    assert "dated after the upload" in found[0].summary


def test_source_check_is_skipped_without_a_named_repository() -> None:
    ctx = AnalysisContext(
        "widget",
        T0,
        timeline(series(2)),
        frozenset(),
        {Requirement.SOURCE: "the index names no GitHub source repository"},
    )
    findings, skipped = run_detectors(ctx, (SourceTagMissing,))
    assert not findings
    assert [s.reason for s in skipped] == ["the index names no GitHub source repository"]


def test_project_info_parse_keeps_what_it_can() -> None:
    from forensics.collect.pypi_parse import project_info

    ref = EvidenceRef("https://pypi.example/pypi/w/json", "0" * 64, T0, "/info")
    info = project_info(
        {
            "summary": " Widgets ",
            "home_page": "",
            "project_urls": {"Source": "https://github.com/acme/w", "Bad": 3},
            "requires_python": ">=3.9",
        },
        "w",
        ref,
    )
    assert info.summary == "Widgets" and info.home_page is None
    assert dict(info.project_urls) == {"Source": "https://github.com/acme/w"}
    assert info.source_repository == "acme/w" and info.requires_python == ">=3.9"
    assert info.to_json()["source_repository"] == "acme/w"


@pytest.mark.parametrize(
    ("detector_id", "requires"),
    [
        ("late-file", set()),
        ("file-set-shape", set()),
        ("size-outlier", set()),
        ("requires-python-drop", set()),
        ("dormancy-burst", set()),
        ("version-gap", set()),
        ("yanked-security", set()),
        ("source-tag-missing", {Requirement.SOURCE}),
    ],
)
def test_index_only_detectors_need_no_pep740(detector_id: str, requires: set[Requirement]) -> None:
    """These speak on any index: they must never be skipped for want of PEP 740 or a log."""
    (detector,) = [d for d in DETECTORS if d.info.id == detector_id]
    assert set(detector.info.requires) == requires
