"""`forensics scan` and `forensics gate` against a served lab fleet: every injected anomaly found,
the same report body from every engine, and the gate's exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forensics.cli import main
from forensics.fleet.report import body
from forensics_lab.fleet import FleetLabServer, build_fleet, pylock_text

N_PROJECTS, N_ANOMALIES, SEED = 13, 6, 3


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fleet(N_PROJECTS, N_ANOMALIES, SEED, tmp_path_factory.mktemp("fleet") / "world")


@pytest.fixture(scope="module")
def server(fleet: Path) -> Iterator[FleetLabServer]:
    with FleetLabServer(fleet) as srv:
        yield srv


def _manifest(fleet: Path) -> dict[str, Any]:
    return json.loads((fleet / "world.json").read_text("utf-8"))


def _scan(
    fleet: Path, server: FleetLabServer, out: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    names = [p["name"] for p in _manifest(fleet)["projects"]]
    report = out / "report.json"
    code = main(
        [
            "scan",
            *names,
            "--index-url",
            server.url,
            "--trust-root",
            str(fleet / "trusted_root.json"),
            "--fleet",
            str(out / "fleet"),
            "--rate",
            "0",
            "--format",
            "json",
            "-o",
            str(report),
            *extra,
        ]
    )
    return code, json.loads(report.read_text("utf-8"))


@pytest.fixture(scope="module")
def sequential(
    fleet: Path, server: FleetLabServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("seq")
    code, doc = _scan(fleet, server, out)
    assert code == 0
    return out / "fleet", doc


def test_scan_finds_every_injected_anomaly(
    fleet: Path, sequential: tuple[Path, dict[str, Any]]
) -> None:
    _, doc = sequential
    manifest = _manifest(fleet)
    assert {a["kind"] for a in manifest["anomalies"]} == {
        "token-spree",
        "shared-workflow",
        "token-upload",
        "publisher-change",
        "shared-run",
        "shared-signer",
    }
    rows = {r["project"]: r for r in doc["projects"]}
    for anomaly in manifest["anomalies"]:
        members = {(m["project"], m["version"]) for m in anomaly["members"]}
        for project, version in members:
            assert version in rows[project]["flagged_versions"], (anomaly["id"], project)
        for detector in anomaly["detectors"]:
            per_project = [
                (project, f["version"])
                for project, _ in members
                for f in rows[project]["findings"]
                if f["detector"] == detector
            ]
            cross = [f for f in doc["cross_project"] if f["detector"] == detector]
            named = [
                f
                for f in cross
                if {p for p, _ in members} <= set(f["values"]["projects"].split(", "))
            ]
            assert set(per_project) >= members or named, (anomaly["id"], detector)
    # Nothing else is flagged: projects without an injected anomaly are clean.
    injected = {m["project"] for a in manifest["anomalies"] for m in a["members"]}
    for name, row in rows.items():
        assert (row["verdict"] == "flagged") == (name in injected), name
        if name not in injected:
            assert row["flagged_versions"] == []
    # Every cross-project finding explains itself with projects, times and evidence.
    assert doc["cross_project"]
    for f in doc["cross_project"]:
        assert f["evidence"] and f["values"]["projects"] and "UTC" in f["summary"]


def test_same_report_with_processes_and_dask(
    fleet: Path,
    server: FleetLabServer,
    sequential: tuple[Path, dict[str, Any]],
    tmp_path: Path,
) -> None:
    distributed = pytest.importorskip("distributed")
    _, doc1 = sequential
    code, doc2 = _scan(fleet, server, tmp_path / "w2", "--workers", "2")
    assert code == 0
    assert doc2["run"]["engine"] == "processes"
    assert body(doc2) == body(doc1)
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        code, doc3 = _scan(fleet, server, tmp_path / "dask", "--dask", cluster.scheduler_address)
    assert code == 0
    assert doc3["run"]["engine"] == "dask"
    assert body(doc3) == body(doc1)
    # the one budget saw every request of the fleet
    assert sum(doc3["run"]["requests_per_host"].values()) > len(doc1["projects"])


def _gate(lock: Path, fleet: Path, server: FleetLabServer, cases: Path, *extra: str) -> int:
    return main(
        [
            "gate",
            str(lock),
            "--index-url",
            server.url,
            "--trust-root",
            str(fleet / "trusted_root.json"),
            "--fleet",
            str(cases),
            "--rate",
            "0",
            *extra,
        ]
    )


def test_gate_blocks_downgrades_and_passes_clean_versions(
    fleet: Path,
    server: FleetLabServer,
    sequential: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases, _ = sequential
    manifest = _manifest(fleet)
    token = next(a for a in manifest["anomalies"] if a["kind"] == "token-upload")["members"][0]
    moved = next(a for a in manifest["anomalies"] if a["kind"] == "publisher-change")["members"][0]
    bad = tmp_path / "pylock.toml"
    clean_pins = [(p["name"], p["clean"][-1]) for p in manifest["projects"]]
    pins = [(n, v) for n, v in clean_pins if n not in (token["project"], moved["project"])] + [
        (token["project"], token["version"]),
        (moved["project"], moved["version"]),
    ]
    bad.write_text(pylock_text(pins), encoding="utf-8")
    capsys.readouterr()
    assert _gate(bad, fleet, server, cases) == 1
    out = capsys.readouterr().out
    assert f"BLOCK   {token['project']} {token['version']}" in out
    assert f"BLOCK   {moved['project']} {moved['version']}" in out
    assert (
        "no attestations" in out and "published by" in out and "attested its releases since" in out
    )
    good = tmp_path / "clean" / "pylock.toml"
    good.parent.mkdir()
    good.write_text(pylock_text(clean_pins), encoding="utf-8")
    assert _gate(good, fleet, server, cases) == 0
    assert "0 blocked" in capsys.readouterr().out
    # a documented exclusion lets the downgrade through
    extra = ["--exclude", token["project"], "--exclude", moved["project"]]
    assert _gate(bad, fleet, server, cases, *extra) == 0


def test_gate_unknown_version_exits_3_unless_partial(
    fleet: Path, server: FleetLabServer, sequential: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    cases, _ = sequential
    name = _manifest(fleet)["projects"][0]["name"]
    lock = tmp_path / "pylock.toml"
    lock.write_text(pylock_text([(name, "99.0.0")]), encoding="utf-8")
    assert _gate(lock, fleet, server, cases) == 3
    assert _gate(lock, fleet, server, cases, "--allow-partial") == 0


def test_lab_fleet_serves_every_project_from_one_port(fleet: Path, server: FleetLabServer) -> None:
    import httpx

    names = sorted(p["name"] for p in _manifest(fleet)["projects"])
    r = httpx.get(
        f"{server.url}/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    assert [p["name"] for p in r.json()["projects"]] == names
    for name in names[:3]:
        assert httpx.get(f"{server.url}/pypi/{name}/json").json()["info"]["name"] == name
    assert httpx.get(f"{server.url}/pypi/not-in-fleet/json").status_code == 404


def test_report_formats_from_reused_cases(
    fleet: Path, server: FleetLabServer, sequential: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    pd = pytest.importorskip("pandas")
    cases, _ = sequential
    names = [p["name"] for p in _manifest(fleet)["projects"]]
    common = [*names, "--fleet", str(cases), "--offline", "--index-url", server.url]
    common += ["--trust-root", str(fleet / "trusted_root.json")]
    html_out = tmp_path / "fleet.html"
    assert main(["scan", *common, "--format", "html", "-o", str(html_out)]) == 0
    page = html_out.read_text("utf-8")
    assert "<svg" in page and "Cross-project findings" in page
    csv_out = tmp_path / "fleet.csv"
    assert main(["scan", *common, "--format", "csv", "-o", str(csv_out)]) == 0
    frame = pd.read_csv(csv_out)
    assert sorted(frame["project"]) == sorted(names)
    assert set(frame["verdict"]) <= {"flagged", "clean", "unknown"}
    if pytest.importorskip("pyarrow"):
        pq = tmp_path / "fleet.parquet"
        assert main(["scan", *common, "--format", "parquet", "-o", str(pq)]) == 0
        assert len(pd.read_parquet(pq)) == len(names)
    # --fleet keeps the report next to the cases
    assert json.loads((cases / "report.json").read_text("utf-8"))["schema"] == "forensics.fleet/v1"
