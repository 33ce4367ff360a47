"""Cross-project detectors on hand-made summaries: what they flag, and the benign look-alikes
they leave alone; and the shared per-host request budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forensics.fleet.budget import HostBudget
from forensics.fleet.detectors import FleetContext, ProjectSummary, ReleaseSummary, Signer
from forensics.fleet.detectors.registry import run_fleet_detectors
from forensics.models import EvidenceRef

T0 = datetime(2024, 6, 1, tzinfo=UTC)
REF = EvidenceRef("https://pypi.example/simple/x/", "ab" * 32, T0)


def _signer(repo: str, run: str = "", commit: str = "") -> Signer:
    return Signer(f"GitHub|{repo}|release.yml", repo, run=run, commit=commit, evidence=(REF,))


def _project(name: str, *releases: tuple[str, int, Signer | None]) -> ProjectSummary:
    rels = tuple(
        ReleaseSummary(
            version=v,
            first_upload=T0 + timedelta(days=day),
            state="full" if s else "lost",
            attested=s is not None,
            signers=(s,) if s else (),
            evidence=(REF,),
        )
        for v, day, s in releases
    )
    return ProjectSummary(name, rels, (), (), "yes")


def test_monorepo_release_run_is_not_flagged() -> None:
    mono = "org/monorepo"
    projects = tuple(
        _project(n, ("1.0", 0, _signer(mono, f"run/{n}1")), ("1.1", 30, _signer(mono, "run/7")))
        for n in ("a", "b", "c")
    )
    assert run_fleet_detectors(FleetContext(projects)) == ()


def test_shared_run_into_other_projects_is_flagged() -> None:
    a = _project("a", ("1.0", 0, _signer("org/a")), ("1.1", 40, _signer("evil/ci", "run/9")))
    b = _project("b", ("2.0", 0, _signer("org/b")), ("2.1", 40, _signer("evil/ci", "run/9")))
    found = {f.detector for f in run_fleet_detectors(FleetContext((a, b)))}
    assert found == {"shared-run", "signer-spread"}


def test_token_spree_needs_enough_projects_in_the_window() -> None:
    def attested_then_token(name: str, hours: int) -> ProjectSummary:
        p = _project(name, ("1.0", 0, _signer(f"org/{name}")))
        token = ReleaseSummary("1.1", T0 + timedelta(days=50, hours=hours), "lost", False)
        return ProjectSummary(name, (*p.releases, token), (), (), "yes")

    near = tuple(attested_then_token(n, h) for n, h in (("a", 0), ("b", 5), ("c", 30)))
    spree = [f for f in run_fleet_detectors(FleetContext(near)) if f.detector == "token-spree"]
    assert len(spree) == 1 and spree[0].values["projects"] == "a, b, c"
    far = tuple(attested_then_token(n, h) for n, h in (("a", 0), ("b", 5), ("c", 300)))
    assert not [f for f in run_fleet_detectors(FleetContext(far)) if f.detector == "token-spree"]
    # a project that never attested uploads with tokens all the time: not a spree member
    never = ProjectSummary(
        "d",
        (ReleaseSummary("0.1", T0 + timedelta(days=50, hours=1), "none", False),),
        (),
        (),
        "yes",
    )
    two = (*far[:2], never)
    assert not [f for f in run_fleet_detectors(FleetContext(two)) if f.detector == "token-spree"]


def test_budget_spaces_requests_per_host() -> None:
    budget = HostBudget(rate=10.0, burst=2)
    waits = [budget.reserve("pypi.org") for _ in range(4)]
    assert waits[0] == waits[1] == 0.0
    assert 0.05 < waits[2] <= 0.1 + 1e-3 and waits[3] > waits[2]
    assert budget.reserve("other.example") == 0.0  # one bucket per host
    assert budget.granted() == {"pypi.org": 4, "other.example": 1}
    assert HostBudget(rate=0).reserve("x") == 0.0
