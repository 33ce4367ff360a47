"""A lab fleet: many projects' worlds built with one lab trust, served from one port.

`build_fleet(n_projects, anomalies, seed, out)` writes::

    world.json            forensics_lab.fleet/v1: projects, their kinds and versions, and every
                          injected anomaly with the detectors expected to flag it
    trusted_root.json     the one lab trusted root that verifies every project's attestations
    pylock.toml           PEP 751 lock file pinning each project's latest version
    projects/<name>/      an ordinary lab world per project (forensics_lab.world/v1)

Histories vary (4-7 releases, wheels with or without sdists, projects that always attested,
projects that adopted Trusted Publishing midway, projects that never attested). Anomalies are
appended as each chosen project's last release, at times far enough apart that only the
anomalies meant to coincide do: per-project ones (a token upload after attested releases, a new
publisher repository) and cross-project ones (a token spree over three projects within hours,
one outside repository signing two projects, one commit and run attesting two projects, a shared
reusable workflow whose new digest comes with self-hosted runners in two projects).

`FleetLabServer` serves every project's PyPI JSON, Simple and Integrity APIs and files from one
port by routing on the project name; the Rekor and GitHub look-alikes stay per-world (a fleet
scan collects the index only).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from forensics.errors import InputError, ScenarioError, UsageError
from forensics.models import isoformat
from forensics_lab.build import build_world
from forensics_lab.scenario import (
    Expectation,
    FileKind,
    FileSpec,
    Identity,
    LogSettings,
    Publisher,
    PublisherKind,
    PublishMethod,
    Release,
    Scenario,
)
from forensics_lab.serve import SIMPLE_JSON, LabServer, Reply, _json, negotiate, serve_options
from forensics_lab.trust import LabTrust

FLEET_SCHEMA = "forensics_lab.fleet/v1"

_START = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)
#: Anomalies happen after every normal history ends, one slot each, 12 days apart.
_ANOMALY_START = datetime(2024, 10, 1, 10, 0, tzinfo=UTC)
_SLOT = timedelta(days=12)
_WORDS = (
    "amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo",
    "juniper", "kelp", "lumen", "maple", "nimbus", "onyx", "prism", "quartz", "raven", "sable",
    "tundra", "umber", "vertex", "willow", "xenon", "yarrow", "zephyr",
)  # fmt: skip
_SHARED_WORKFLOW = (
    "https://github.com/shared-ci/workflows/.github/workflows/publish.yml@refs/heads/main"
)

#: anomaly kind -> (scope, number of projects, detectors expected to flag it)
ANOMALY_KINDS: Mapping[str, tuple[str, int, tuple[str, ...]]] = {
    "token-spree": ("fleet", 3, ("token-spree", "provenance-lost")),
    "shared-workflow": ("fleet", 2, ("shared-workflow-change",)),
    "token-upload": ("project", 1, ("provenance-lost",)),
    "publisher-change": ("project", 1, ("publisher-changed",)),
    "shared-run": ("fleet", 2, ("shared-run",)),
    "shared-signer": ("fleet", 2, ("signer-spread",)),
}
_ORDER = tuple(ANOMALY_KINDS)


@dataclass
class _Plan:
    name: str
    kind: str
    """`attested` (Trusted Publishing from the start), `adopted` (token first), `never`."""
    repository: str
    workflow: str
    repository_id: str
    releases: list[Release] = field(default_factory=list)
    shared_workflow: bool = False
    anomaly: str | None = None


def _name(i: int, rng: random.Random) -> str:
    a, b = rng.choice(_WORDS), rng.choice(_WORDS)
    return f"{a}-{b}-{i:03d}"


def _files(
    when: datetime, method: PublishMethod, override: Identity, sdist: bool, rng: random.Random
) -> tuple[FileSpec, ...]:
    kinds = [FileKind.WHEEL, FileKind.SDIST] if sdist else [FileKind.WHEEL]
    out = []
    for n, kind in enumerate(kinds):
        out.append(
            FileSpec(
                kind=kind,
                upload_time=when + timedelta(seconds=3 * n, microseconds=rng.randint(0, 999_999)),
                publish=method,
                identity=override,
                integration_offset=timedelta(seconds=-rng.randint(1, 5)),
            )
        )
    return tuple(out)


def _history(plan: _Plan, rng: random.Random) -> None:
    n = rng.randint(4, 7)
    when = _START + timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 8))
    sdist = rng.random() < 0.6
    base = Identity(
        claims={"build_signer_uri": _SHARED_WORKFLOW, "build_signer_digest": "a" * 40}
        if plan.shared_workflow
        else {}
    )
    for i in range(n):
        version = f"1.{i // 3}.{i % 3}"
        token = plan.kind == "never" or (plan.kind == "adopted" and i < 2)
        method = PublishMethod.TOKEN if token else PublishMethod.TRUSTED_PUBLISHER
        plan.releases.append(
            Release(
                version=version,
                upload_time=when,
                files=_files(when, method, base, sdist, rng),
                identity=base,
            )
        )
        when += timedelta(days=rng.randint(10, 45), hours=rng.randint(0, 12))


def _append(plan: _Plan, when: datetime, method: PublishMethod, override: Identity) -> str:
    last = plan.releases[-1].version
    major, minor, patch = (int(x) for x in last.split("."))
    version = f"{major}.{minor}.{patch + 1}"
    rng = random.Random(f"{plan.name}:{version}")  # noqa: S311 - lab data, not secrets
    plan.releases.append(
        Release(
            version=version,
            upload_time=when,
            files=_files(when, method, override, sdist=False, rng=rng),
            identity=override,
        )
    )
    return version


def _scenario(plan: _Plan, seed: int, index: int) -> Scenario:
    publisher = Publisher(
        kind=PublisherKind.GITHUB,
        identity=Identity(
            repository=plan.repository,
            workflow=plan.workflow,
            environment="pypi",
            ref="refs/tags/v{version}",
            trigger="push",
            runner="github-hosted",
            repository_id=plan.repository_id,
            owner_id=str(80_000_000 + index),
            visibility="public",
        ),
    )
    return Scenario(
        name=f"fleet-{seed}-{plan.name}",
        description=f"lab fleet project {plan.name} ({plan.kind})",
        project=plan.name,
        publisher=publisher,
        releases=tuple(plan.releases),
        log=LogSettings(tree_id=2_000_000_000_000_000_000 + seed * 10_000 + index),
        simulated=("the whole history is synthetic (forensics_lab.fleet)",),
        expect=Expectation(),
        seed=seed,
    )


def _inject(kind: str, plans: Sequence[_Plan], slot: datetime, seed: int) -> list[dict[str, Any]]:
    """Append each plan's anomalous release; return the members (project, version, time)."""
    members = []
    digest = hashlib.sha1(f"fleet {seed} {slot}".encode(), usedforsecurity=False).hexdigest()
    for n, plan in enumerate(plans):
        plan.anomaly = kind
        when = slot + timedelta(hours=2 * n, minutes=7 * n)
        method = PublishMethod.TRUSTED_PUBLISHER
        override = Identity()
        if kind in ("token-spree", "token-upload"):
            method = PublishMethod.TOKEN
        elif kind == "publisher-change":
            override = Identity(
                repository=f"{plan.name}-mirror/{plan.name}", repository_id=str(71_000_000 + n)
            )
        elif kind == "shared-signer":
            override = Identity(
                repository="release-helper/publish-bot",
                workflow="publish.yml",
                repository_id="79999001",
                owner_id="89999001",
            )
        elif kind == "shared-run":
            override = Identity(
                repository="mono-builds/pipelines",
                workflow="release-all.yml",
                repository_id="79999002",
                owner_id="89999002",
                sha=digest,
                run_id=19_000_000_000 + seed,
                ref="refs/heads/main",
            )
        elif kind == "shared-workflow":
            override = Identity(
                runner="self-hosted",
                claims={"build_signer_uri": _SHARED_WORKFLOW, "build_signer_digest": "b" * 40},
            )
        version = _append(plan, when, method, override)
        members.append({"project": plan.name, "version": version, "time": isoformat(when)})
    return members


def build_fleet(n_projects: int, anomalies: int, seed: int, out: Path) -> Path:
    """Build a lab fleet of `n_projects` with `anomalies` injected anomalies into `out`."""
    if n_projects < 1:
        raise UsageError(f"--projects must be at least 1, got {n_projects}")
    if anomalies < 0:
        raise UsageError(f"--anomalies must be at least 0, got {anomalies}")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "world.json").exists():
        raise ScenarioError(
            f"output directory {out} is not empty and holds no lab fleet",
            hint="choose an empty or new directory",
        )
    rng = random.Random(seed)  # noqa: S311 - reproducible lab data, not secrets
    kinds_wanted = [_ORDER[i % len(_ORDER)] for i in range(anomalies)]
    plans: list[_Plan] = []
    for i in range(n_projects):
        name = _name(i, rng)
        kind = "never" if i % 5 == 4 else "adopted" if i % 5 == 3 else "attested"
        plans.append(
            _Plan(
                name=name,
                kind=kind,
                repository=f"{name.split('-')[0]}-org/{name}",
                workflow=rng.choice(("release.yml", "publish.yml", "pypi.yml")),
                repository_id=str(70_000_000 + i),
            )
        )
    # Projects that signed before can carry an anomaly; hand them out without overlap.
    candidates = [p for p in plans if p.kind != "never"]
    rng.shuffle(candidates)
    assigned: list[tuple[str, list[_Plan]]] = []
    for kind in kinds_wanted:
        size = ANOMALY_KINDS[kind][1]
        if len(candidates) < size:
            need = sum(ANOMALY_KINDS[k][1] for k in kinds_wanted)
            raise UsageError(
                f"{anomalies} anomalies need {need} projects that attested; "
                f"{n_projects} projects have {len([p for p in plans if p.kind != 'never'])}",
                hint="ask for more --projects or fewer --anomalies",
            )
        chosen, candidates = candidates[:size], candidates[size:]
        if kind == "shared-workflow":
            for plan in chosen:
                plan.shared_workflow = True
        assigned.append((kind, chosen))
    for plan in plans:
        _history(plan, rng)
    records: list[dict[str, Any]] = []
    for n, (kind, chosen) in enumerate(assigned):
        scope, _, detectors = ANOMALY_KINDS[kind]
        records.append(
            {
                "id": f"{kind}-{n}",
                "kind": kind,
                "scope": scope,
                "detectors": list(detectors),
                "members": _inject(kind, chosen, _ANOMALY_START + n * _SLOT, seed),
            }
        )
    trust = LabTrust.generate(
        seed,
        valid_from=_START - timedelta(days=2),
        valid_until=_ANOMALY_START + (anomalies + 2) * _SLOT + timedelta(days=366),
    )
    out.mkdir(parents=True, exist_ok=True)
    projects: list[dict[str, Any]] = []
    pins: list[tuple[str, str]] = []
    for i, plan in enumerate(plans):
        build_world(_scenario(plan, seed, i), out / "projects" / plan.name, seed=seed, trust=trust)
        flagged = {m["version"] for r in records for m in r["members"] if m["project"] == plan.name}
        versions = [r.version for r in plan.releases]
        projects.append(
            {
                "name": plan.name,
                "dir": f"projects/{plan.name}",
                "kind": plan.kind,
                "repository": plan.repository,
                "versions": versions,
                "flagged": sorted(flagged),
                "clean": [v for v in versions if v not in flagged],
                "latest": versions[-1],
            }
        )
        pins.append((plan.name, versions[-1]))
    (out / "trusted_root.json").write_bytes(trust.trusted_root_json())
    manifest = {
        "schema": FLEET_SCHEMA,
        "seed": seed,
        "projects": projects,
        "anomalies": records,
        "simulated": ["every project, release, signature and log entry is made by the lab"],
    }
    (out / "world.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (out / "pylock.toml").write_text(pylock_text(pins), encoding="utf-8")
    return out


def pylock_text(pins: Sequence[tuple[str, str]]) -> str:
    """A minimal PEP 751 lock file pinning `pins` (name, version)."""
    lines = ['lock-version = "1.0"', 'created-by = "forensics-lab"', ""]
    for name, version in pins:
        lines += ["[[packages]]", f'name = "{name}"', f'version = "{version}"', ""]
    return "\n".join(lines)


def is_fleet(path: Path) -> bool:
    """True when `path` is a lab fleet directory."""
    manifest = path / "world.json"
    if not manifest.is_file():
        return False
    try:
        return bool(json.loads(manifest.read_text("utf-8")).get("schema") == FLEET_SCHEMA)
    except (ValueError, OSError, AttributeError):
        return False


class FleetLabServer(LabServer):
    """One port, many lab worlds: routes the index APIs and downloads by project name."""

    def __init__(self, fleet_dir: str | Path, **kwargs: Any) -> None:
        """Load every project's world (errors surface here)."""
        root = Path(fleet_dir)
        try:
            manifest = json.loads((root / "world.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{root / 'world.json'} cannot be read: {exc}") from exc
        if manifest.get("schema") != FLEET_SCHEMA or not manifest.get("projects"):
            raise InputError(f"{root} is not a lab fleet with projects")
        dirs = [root / p["dir"] for p in manifest["projects"]]
        child_args = {k: v for k, v in kwargs.items() if k != "faults"}
        # The base class serves the first world; it also owns the socket, faults and request log.
        super().__init__(dirs[0], **kwargs)
        self.fleet = manifest
        self.children: dict[str, LabServer] = {}
        self._by_file: dict[str, LabServer] = {}
        for d in dirs:
            child = LabServer(d, **child_args)
            self.children[str(child.normalized)] = child
            for rel in child.world.releases:
                for f in rel.files:
                    self._by_file[f.filename] = child

    def start(self) -> FleetLabServer:
        """Bind, then let every project's answers name this server's address."""
        super().start()
        for child in self.children.values():
            child.host, child.port = self.host, self.port
        return self

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Route to the project's world; the simple index lists every project."""
        parts = [unquote(p) for p in urlsplit(target).path.split("/")[1:]]
        head = parts[0] if parts else ""
        if head == "simple" and (len(parts) == 1 or parts[1:] == [""]):
            return self._root_index(headers.get("Accept"))
        if head in ("pypi", "simple", "integrity") and len(parts) > 1:
            child = self.children.get(str(canonicalize_name(parts[1])))
            if child is None:
                return _json(404, {"message": "Not Found"})
            return child.handle(method, target, headers, body)
        if head == "packages" and len(parts) == 5:
            owner = self._by_file.get(parts[4])
            if owner is not None:
                return owner.handle(method, target, headers, body)
        return _json(404, {"message": "the lab fleet serves the PyPI index APIs only"})

    def _root_index(self, accept: str | None) -> Reply:
        names = sorted(self.children)
        if negotiate(accept, ["text/html", SIMPLE_JSON]) == SIMPLE_JSON:
            doc = {
                "meta": {"api-version": "1.3", "_last-serial": len(names)},
                "projects": [{"name": n} for n in names],
            }
            return _json(200, doc, SIMPLE_JSON)
        links = "\n".join(
            f'<a href="/simple/{html.escape(n)}/">{html.escape(n)}</a>' for n in names
        )
        return Reply(
            200, f"<!DOCTYPE html><html><body>\n{links}\n</body></html>\n".encode(), "text/html"
        )


def run_fleet_serve(args: argparse.Namespace) -> int:
    """`forensics lab serve FLEET_DIR`: serve every project of a lab fleet until Ctrl-C."""
    as_of, faults = serve_options(args)
    server = FleetLabServer(
        args.target,
        host=args.host,
        port=args.port,
        as_of=as_of,
        pep740=not args.mirror,
        relative_urls=args.relative_urls,
        faults=faults,
    )
    with server:
        print(f"serving a lab fleet of {len(server.children)} projects at {server.url}", flush=True)
        print(f"  FORENSICS_INDEX_URL={server.url}", flush=True)
        print(f"  trust root: {Path(args.target) / 'trusted_root.json'}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    return 0


def fleet_cli(args: argparse.Namespace) -> int:
    """`forensics lab fleet --projects N --anomalies K --seed S -o DIR`."""
    out = build_fleet(args.projects, args.anomalies, args.seed, args.output)
    manifest = json.loads((out / "world.json").read_text("utf-8"))
    sys.stdout.write(
        f"built a lab fleet of {len(manifest['projects'])} projects with "
        f"{len(manifest['anomalies'])} anomalies in {out}\n"
        f"  serve it: forensics lab serve {out}\n"
        f"  lock file: {out / 'pylock.toml'}; trust root: {out / 'trusted_root.json'}\n"
    )
    return 0
