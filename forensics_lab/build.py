"""The world builder: turn a `Scenario` into a lab world directory the lab servers can serve.

Layout and formats are fixed in docs/architecture.md ("The lab world directory"): world.json,
files/, provenance/, rekor/ (written by `LabRekorLog.to_world`), github/, trusted_root.json, keys/.

Determinism: every byte depends only on the scenario and the seed. Archives have pinned bytes
(`forensics_lab.archives`), the lab trust derives its keys from the seed and signs with RFC 6979,
invented commit SHAs and run ids are hashes of (scenario, seed, version), JSON is written with a
fixed key order, and signing happens in a total order (integration time, then scenario order),
so the log's indexes are stable. The builder never reads the clock.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pypi_attestations import Attestation

from forensics.errors import ScenarioError
from forensics.models import isoformat
from forensics_lab.archives import ArchiveSpec, build_sdist, build_wheel, digests
from forensics_lab.intel import world_intel
from forensics_lab.log import LabRekorLog
from forensics_lab.scenario import (
    PUBLISH_PREDICATE,
    Commit,
    Content,
    FileKind,
    FileSpec,
    Identity,
    PublisherKind,
    PublishMethod,
    Release,
    Run,
    Scenario,
    Tag,
    module_name,
    render_ref,
)
from forensics_lab.sign import (
    SigningRequest,
    github_identity,
    gitlab_identity,
    google_identity,
    provenance_object,
    sign_attestation,
)
from forensics_lab.trust import LabTrust

WORLD_SCHEMA = "forensics_lab.world/v1"

# The lab certificate is issued this long before the log integrates the signature: Fulcio issues
# the certificate, the client signs, then uploads to Rekor (seconds in practice).
_SIGN_LEAD = timedelta(seconds=2)
# A workflow run starts a few minutes before its publish step signs.
_RUN_LEAD = timedelta(minutes=4)
# The release commit lands a little before the run it triggers.
_COMMIT_LEAD = timedelta(minutes=6)
_WORLD_ITEMS = (
    "world.json",
    "trusted_root.json",
    "files",
    "provenance",
    "rekor",
    "github",
    "keys",
)


@dataclass
class _BuiltFile:
    release: Release
    spec: FileSpec
    filename: str
    data: bytes
    digests: dict[str, str]
    identity: Identity
    """The effective identity (default publisher + release + file overrides), ref rendered."""
    attestations: list[Attestation] = field(default_factory=list)
    publisher: dict[str, Any] | None = None


@dataclass(frozen=True)
class _SignJob:
    integrated_at: datetime
    order: int
    filename: str
    sha256: str
    identity: Identity
    tamper: frozenset[str]
    built: _BuiltFile | None
    """None for an extra log entry (signed, logged, never uploaded)."""
    line: int = 0


def release_requires_python(release: Release, scenario: Scenario) -> str | None:
    """The release's `requires_python`: its own (`""` = not declared), else the scenario's."""
    if release.requires_python is None:
        return scenario.requires_python
    return release.requires_python or None


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _short_ref(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/", "refs/pull/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


class _Builder:
    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.pub = scenario.publisher
        self.generated_commits: list[str] = []
        self.generated_runs: list[str] = []
        self.branch_heads: dict[str, str] = {}
        """Branch -> head commit of the generated history (the lab branches endpoint)."""
        # Values the lab made up (sha / run id → version), reported in world.json `simulated`.
        self.invented_shas: dict[str, str] = {}
        self.invented_runs: dict[int, str] = {}
        self.files: list[_BuiltFile] = []
        # Run ids the lab invents start at an 11-digit base derived from scenario and seed, which is
        # where real GitHub run ids were in 2024-2025; every release gets its own block.
        base = int(_sha1(f"runs:{scenario.name}:{seed}")[:8], 16) % 10**9
        self.run_base = 10_000_000_000 + base * 10

    # -- identities ------------------------------------------------------------------------------

    def release_commit(self, release: Release) -> str:
        return _sha1(f"forensics-lab commit {self.scenario.name} {self.seed} {release.version}")

    def release_run_id(self, index: int) -> int:
        return self.run_base + index * 1_000

    def identity(self, release: Release, index: int, override: Identity) -> Identity:
        ident = self.pub.identity.merged(override)
        values: dict[str, Any] = {}
        if ident.ref is not None:
            values["ref"] = render_ref(ident.ref, release.version)
        if self.pub.kind is not PublisherKind.GOOGLE:
            if ident.sha is None:
                values["sha"] = self.release_commit(release)
                self.invented_shas.setdefault(values["sha"], release.version)
            if ident.run_id is None:
                values["run_id"] = self.release_run_id(index)
                self.invented_runs.setdefault(values["run_id"], release.version)
            if ident.run_attempt is None:
                values["run_attempt"] = 1
            if ident.kind and PublisherKind(ident.kind) is not self.pub.kind:
                # switching kind: the other kind's defaults, unless the scenario set them
                own = override
                gitlab = ident.kind == PublisherKind.GITLAB.value
                if own.runner is None and release.identity.runner is None:
                    values["runner"] = "gitlab-hosted" if gitlab else "github-hosted"
                if own.workflow is None and release.identity.workflow is None:
                    values["workflow"] = ".gitlab-ci.yml" if gitlab else "release.yml"
        return ident.merged(Identity(**values))

    def kind(self, ident: Identity) -> PublisherKind:
        """The publisher kind of an effective identity (a release may switch github/gitlab)."""
        return PublisherKind(ident.kind) if ident.kind else self.pub.kind

    def signer_identity(self, ident: Identity, issued_at: datetime) -> tuple[str, dict[str, str]]:
        """(SAN, claims) for an effective identity, raw claim overrides applied last.

        `issued_at` lets the sign module drop claims Fulcio did not emit yet at that time
        (.23 deployment environment, .24 token subject), so 2024 scenarios look like 2024.
        """
        if self.pub.kind is PublisherKind.GOOGLE:
            san, claims = google_identity(ident.email or "")
        else:
            # The parser resolved every field (defaults + overrides); None here is a lab bug.
            required = [ident.repository, ident.workflow, ident.ref, ident.sha, ident.trigger]
            required += [ident.runner, ident.repository_id, ident.owner_id]
            if not all(required) or ident.run_id is None:
                raise ScenarioError(f"incomplete publisher identity {ident!r}")
            assert ident.repository is not None and ident.ref is not None  # noqa: PT018
            assert ident.workflow is not None and ident.sha is not None  # noqa: PT018
            assert ident.trigger is not None and ident.runner is not None  # noqa: PT018
            assert ident.repository_id is not None and ident.owner_id is not None  # noqa: PT018
            if self.kind(ident) is PublisherKind.GITHUB:
                san, claims = github_identity(
                    ident.repository,
                    ident.workflow,
                    ident.ref,
                    sha=ident.sha,
                    trigger=ident.trigger,
                    run_id=ident.run_id,
                    run_attempt=ident.run_attempt or 1,
                    environment=ident.environment or None,
                    runner=ident.runner,
                    repository_id=ident.repository_id,
                    owner_id=ident.owner_id,
                    visibility=ident.visibility or "public",
                    issued_at=issued_at,
                )
            else:
                san, claims = gitlab_identity(
                    ident.repository,
                    ident.ref,
                    sha=ident.sha,
                    pipeline_source=ident.trigger,
                    job_id=ident.run_id,
                    project_id=ident.repository_id,
                    namespace_id=ident.owner_id,
                    ci_config_path=ident.workflow,
                    environment=ident.environment or None,
                    runner=ident.runner,
                    visibility=ident.visibility or "public",
                    issued_at=issued_at,
                )
        out = dict(claims)
        out.update(ident.claims)
        return san, out

    def publisher_dict(self, ident: Identity) -> dict[str, Any]:
        """The publisher PyPI records for the Trusted Publisher that uploaded the file."""
        kind = self.kind(ident)
        if kind is PublisherKind.GITHUB:
            return {
                "kind": "GitHub",
                "repository": ident.repository,
                "workflow": ident.workflow,
                "environment": ident.environment or None,
            }
        if kind is PublisherKind.GITLAB:
            return {
                "kind": "GitLab",
                "repository": ident.repository,
                "workflow_filepath": ident.workflow,
                "environment": ident.environment or None,
            }
        return {"kind": "Google", "email": ident.email}

    # -- archives --------------------------------------------------------------------------------

    def archive(
        self,
        version: str,
        kind: FileKind,
        tag: str,
        content: Content,
        mtime: datetime,
        rp: str | None,
    ) -> tuple[str, bytes]:
        spec = ArchiveSpec(
            project=self.scenario.project,
            version=version,
            mtime=mtime,
            requires_python=rp,
            marker=content.marker,
            extra_files=dict(content.files),
        )
        if kind is FileKind.SDIST:
            return build_sdist(spec)
        return build_wheel(spec, tag=tag)

    def build_files(self) -> None:
        for index, release in enumerate(self.scenario.releases):
            rp = release_requires_python(release, self.scenario)
            # All files of a release share the mtime of the release's first upload, as a build
            # job produces them together.
            mtime = min(f.upload_time for f in release.files).replace(microsecond=0)
            for spec in release.files:
                name, data = self.archive(
                    release.version, spec.kind, spec.wheel_tag, spec.content, mtime, rp
                )
                expected = spec.filename(self.scenario.project, release.version)
                if name != expected:  # pragma: no cover - both derive from the same naming rule
                    raise ScenarioError(f"archive name {name} differs from {expected}")
                self.files.append(
                    _BuiltFile(
                        release=release,
                        spec=spec,
                        filename=name,
                        data=data,
                        digests=digests(data),
                        identity=self.identity(release, index, spec.identity),
                    )
                )

    # -- signing ---------------------------------------------------------------------------------

    def sign_jobs(self) -> list[_SignJob]:
        jobs: list[_SignJob] = []
        order = 0
        for built in self.files:
            spec = built.spec
            if spec.publish is PublishMethod.TOKEN or spec.reuse_attestation_of is not None:
                continue
            jobs.append(
                _SignJob(
                    integrated_at=spec.integrated_at,
                    order=order,
                    filename=built.filename,
                    sha256=built.digests["sha256"],
                    identity=built.identity,
                    tamper=spec.tamper,
                    built=built,
                )
            )
            order += 1
        count = len(self.scenario.releases)
        for i, extra in enumerate(self.scenario.extra_log_entries):
            filename = extra.filename(self.scenario.project)
            sha = extra.sha256
            if sha is None:
                _, data = self.archive(
                    extra.version,
                    extra.kind,
                    extra.wheel_tag,
                    extra.content,
                    extra.integrated_at.replace(microsecond=0),
                    self.scenario.requires_python,
                )
                sha = hashlib.sha256(data).hexdigest()
            pseudo = Release(version=extra.version, upload_time=extra.integrated_at, files=())
            jobs.append(
                _SignJob(
                    integrated_at=extra.integrated_at,
                    order=order,
                    filename=filename,
                    sha256=sha,
                    identity=self.identity(pseudo, count + i, extra.identity),
                    tamper=extra.tamper,
                    built=None,
                    line=extra.line,
                )
            )
            order += 1
        # Rekor assigns indexes in integration order; ties keep scenario order.
        jobs.sort(key=lambda j: (j.integrated_at, j.order))
        return jobs

    def where(self, job: _SignJob) -> str:
        """`file:line` of the scenario table behind a signing job, for error messages."""
        source = str(self.scenario.source) if self.scenario.source else self.scenario.name
        line = job.built.spec.line if job.built is not None else job.line
        return f"{source}:{line}"

    def other_file(self, job: _SignJob) -> tuple[str, str]:
        """The file a "wrong-file" attestation names instead: a sibling of the same release."""
        if job.built is not None:
            for b in self.files:
                if b.release is job.built.release and b is not job.built:
                    return b.filename, b.digests["sha256"]
            release = job.built.release
            spec = job.built.spec
            other_kind = FileKind.WHEEL if spec.kind is FileKind.SDIST else FileKind.SDIST
            name, data = self.archive(
                release.version,
                other_kind,
                "py3-none-any",
                spec.content,
                spec.upload_time.replace(microsecond=0),
                release.requires_python or self.scenario.requires_python,
            )
            return name, hashlib.sha256(data).hexdigest()
        # An extra log entry: name the project's sdist of another (invented) version.
        return f"{job.filename.split('-')[0]}-0.0.0.tar.gz", hashlib.sha256(
            job.filename.encode()
        ).hexdigest()

    def sign_all(self, trust: LabTrust, log: LabRekorLog) -> list[dict[str, Any]]:
        extra_records: list[dict[str, Any]] = []
        for job in self.sign_jobs():
            signed_at = job.integrated_at - _SIGN_LEAD
            san, claims = self.signer_identity(job.identity, signed_at)
            san_kind: Literal["uri", "email"] = (
                "email" if self.pub.kind is PublisherKind.GOOGLE else "uri"
            )
            request = SigningRequest(
                filename=job.filename,
                sha256=job.sha256,
                san=san,
                san_kind=san_kind,
                claims=claims,
                signed_at=signed_at,
                integrated_at=job.integrated_at,
                predicate_type=PUBLISH_PREDICATE,
                tamper=job.tamper,
                other_file=self.other_file(job) if "wrong-file" in job.tamper else None,
            )
            before = log.size
            try:
                attestation = sign_attestation(trust, log, request)
            except ScenarioError as exc:
                raise ScenarioError(f"{self.where(job)}: {exc.message}", hint=exc.hint) from None
            if job.built is not None:
                job.built.attestations.append(attestation)
                job.built.publisher = self.publisher_dict(job.identity)
            else:
                entry = log.entries[before] if log.size > before else None
                extra_records.append(
                    {
                        "filename": job.filename,
                        "sha256": job.sha256,
                        "integrated_at": isoformat(job.integrated_at),
                        "log_index": entry.global_index if entry else None,
                        "san": san,
                    }
                )
        by_name = {b.filename: b for b in self.files}
        for built in self.files:
            reuse = built.spec.reuse_attestation_of
            if reuse is not None:
                source = by_name[reuse]
                built.attestations = list(source.attestations)
                built.publisher = source.publisher
        return extra_records

    # -- GitHub state ----------------------------------------------------------------------------

    def github_state(self) -> tuple[list[Commit], list[Tag], list[Run]]:
        gh = self.scenario.github
        commits: dict[str, Commit] = {c.sha: c for c in gh.commits}
        tags: dict[str, Tag] = {t.name: t for t in gh.tags}
        runs: dict[tuple[int, int], Run] = {(r.id, r.run_attempt): r for r in gh.runs}
        if not gh.generate or self.pub.kind is not PublisherKind.GITHUB:
            return _sorted_state(commits.values(), tags.values(), runs.values())
        heads: dict[str, str] = {}
        owner = (self.pub.identity.repository or "lab/lab").split("/")[0]
        default_author = gh.author or f"{owner}-maintainer"
        releases = sorted(self.scenario.releases, key=lambda r: min(f.upload_time for f in r.files))
        for release in releases:
            signed = [
                b
                for b in self.files
                if b.release is release
                and b.spec.publish is PublishMethod.TRUSTED_PUBLISHER
                and b.spec.reuse_attestation_of is None
                and self.kind(b.identity) is PublisherKind.GITHUB
            ]
            opts = release.github
            if not signed and opts.explicit:
                # A token release with a `github` table: the maintainers tagged (and maybe ran
                # CI for) a release they uploaded by hand.
                signed = [b for b in self.files if b.release is release]
            if not signed:
                continue
            first = min(b.spec.integrated_at for b in signed)
            ident = signed[0].identity
            ref = ident.ref or ""
            branch = opts.branch or (
                ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else "main"
            )
            for sha in dict.fromkeys(b.identity.sha for b in signed if b.identity.sha):
                if opts.commit and sha not in commits:
                    author = opts.author or default_author
                    parents = (
                        opts.parents
                        if opts.parents is not None
                        else tuple(p for p in [heads.get(branch)] if p)
                    )
                    commits[sha] = Commit(
                        sha=sha,
                        author=author,
                        author_email=opts.author_email
                        or gh.author_email
                        or f"{author.lower()}@users.noreply.github.com",
                        message=opts.message or f"Release {release.version}",
                        parents=tuple(parents),
                        files=opts.files
                        if opts.files is not None
                        else (
                            "pyproject.toml",
                            f"{module_name(self.scenario.project)}/__init__.py",
                        ),
                        date=(first - _COMMIT_LEAD).replace(microsecond=0),
                    )
                    if sha in self.invented_shas:
                        self.generated_commits.append(release.version)
                if opts.commit or sha in commits:
                    heads[branch] = sha
                    self.branch_heads[branch] = sha
            if opts.tag is not False and ident.sha:
                if isinstance(opts.tag, str):
                    name = opts.tag
                elif ref.startswith("refs/tags/"):
                    name = ref[len("refs/tags/") :]
                else:
                    name = f"v{release.version}"
                tags.setdefault(
                    name, Tag(name, ident.sha, opts.tag_created_at, opts.tag_deleted_at)
                )
            token = all(b.spec.publish is PublishMethod.TOKEN for b in signed)
            if opts.run and (not token or "run" in opts.explicit):
                for b in signed:
                    i = b.identity
                    assert i.run_id is not None
                    assert i.sha is not None
                    attempt = i.run_attempt or 1
                    if (i.run_id, attempt) in runs:
                        continue
                    # A re-run (attempt n) implies attempts 1..n-1 that did not publish.
                    for n in range(1, attempt + 1):
                        runs.setdefault(
                            (i.run_id, n),
                            Run(
                                id=i.run_id,
                                run_attempt=n,
                                event=i.trigger or "push",
                                actor=opts.actor or gh.actor or owner,
                                head_branch=_short_ref(i.ref or ""),
                                head_sha=i.sha,
                                path=f".github/workflows/{i.workflow}",
                                created_at=(first - _RUN_LEAD * (attempt - n + 1)).replace(
                                    microsecond=0
                                ),
                                conclusion="success" if n == attempt else "failure",
                            ),
                        )
                    if i.run_id in self.invented_runs:
                        self.generated_runs.append(release.version)
        return _sorted_state(commits.values(), tags.values(), runs.values())

    # -- world.json ------------------------------------------------------------------------------

    def simulated(self) -> list[str]:
        out = list(self.scenario.simulated)
        out.append(
            "every certificate, signature, SCT and transparency-log entry is made by the lab CA "
            f"and lab Rekor log (seed {self.seed}); log indexes and integration times are lab "
            "values"
        )
        out.append(
            "distribution archives are small lab-generated sdists/wheels: their bytes, sizes and "
            "digests are lab values, not those of the real files"
        )
        if self.generated_commits:
            out.append(
                "commit SHAs invented by the lab for "
                + _versions_text(dict.fromkeys(self.generated_commits))
            )
        if self.generated_runs:
            out.append(
                "workflow run ids invented by the lab for "
                + _versions_text(dict.fromkeys(self.generated_runs))
            )
        lab_ids = sorted(self.pub.defaulted & {"repository_id", "owner_id"})
        if lab_ids:
            out.append(f"publisher {' and '.join(lab_ids)} are lab values")
        return out

    def facts(self) -> list[dict[str, str]]:
        out = [f.to_json("scenario") for f in self.scenario.facts]
        out += [f.to_json("publisher") for f in self.scenario.publisher.facts]
        for release in self.scenario.releases:
            out += [f.to_json(f"releases[{release.version}]") for f in release.facts]
            for spec in release.files:
                name = spec.filename(self.scenario.project, release.version)
                out += [f.to_json(f"releases[{release.version}].files[{name}]") for f in spec.facts]
        return out

    def manifest(self, extra_records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        releases: list[dict[str, Any]] = []
        ordered = sorted(self.scenario.releases, key=lambda r: min(f.upload_time for f in r.files))
        for release in ordered:
            files = sorted(
                (b for b in self.files if b.release is release), key=lambda b: b.spec.upload_time
            )
            rp = release_requires_python(release, self.scenario)
            releases.append(
                {
                    "version": release.version,
                    "deleted_at": isoformat(release.deleted_at),
                    "yanked": release.yanked,
                    "yanked_reason": release.yanked_reason,
                    "yanked_at": isoformat(release.yanked_at),
                    "files": [
                        {
                            "filename": b.filename,
                            "packagetype": "sdist"
                            if b.spec.kind is FileKind.SDIST
                            else "bdist_wheel",
                            "python_version": "source"
                            if b.spec.kind is FileKind.SDIST
                            else b.spec.wheel_tag.split("-")[0],
                            "requires_python": rp,
                            "size": len(b.data),
                            "upload_time": isoformat(b.spec.upload_time),
                            "digests": {k: b.digests[k] for k in ("sha256", "md5", "blake2b_256")},
                            "provenance": f"provenance/{b.filename}.json"
                            if b.attestations
                            else None,
                        }
                        for b in files
                    ],
                }
            )
        manifest: dict[str, Any] = {
            "schema": WORLD_SCHEMA,
            "scenario": self.scenario.name,
            "seed": self.seed,
            "project": self.scenario.project,
            "description": self.scenario.description,
            "simulated": self.simulated(),
            "facts": self.facts(),
            "expect": {
                "flag": dict(self.scenario.expect.flag),
                "clean": list(self.scenario.expect.clean),
            },
            "info": {
                "summary": f"Lab project of scenario {self.scenario.name}",
                **self.scenario.info,
            },
            "releases": releases,
            "extra_log_entries": list(extra_records),
        }
        ident = self.pub.identity
        if self.pub.kind is not PublisherKind.GOOGLE and ident.repository:
            gh = self.scenario.github
            manifest["github_repository"] = {
                "full_name": ident.repository,
                "id": ident.repository_id,
                "owner_id": ident.owner_id,
                "created_at": isoformat(gh.created_at),
                "default_branch": gh.default_branch,
                "branches": dict(sorted(self.branch_heads.items())),
            }
        repos = {b.identity.repository for b in self.files if b.attestations}
        if self.pub.kind is PublisherKind.GITHUB and len(repos) <= 1:
            # The lab GitHub API answers for this repository only; with several repositories
            # (a transfer, a hijack) it answers for any.
            manifest["repository"] = next(iter(repos), self.pub.identity.repository)
        return manifest


def _versions_text(versions: Iterable[str]) -> str:
    items = list(versions)
    if len(items) <= 12:
        return ", ".join(items)
    return f"{len(items)} releases ({items[0]} … {items[-1]})"


def _sorted_state(
    commits: Iterable[Commit], tags: Iterable[Tag], runs: Iterable[Run]
) -> tuple[list[Commit], list[Tag], list[Run]]:
    far = datetime.max.replace(tzinfo=None)
    return (
        sorted(commits, key=lambda c: (c.date.replace(tzinfo=None) if c.date else far, c.sha)),
        sorted(tags, key=lambda t: t.name),
        sorted(runs, key=lambda r: (r.created_at, r.id, r.run_attempt)),
    )


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    path.write_bytes(text.encode("utf-8"))


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"output {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "world.json").exists():
            raise ScenarioError(
                f"output directory {out} is not empty and holds no lab world",
                hint="choose an empty or new directory; the builder only replaces an earlier world",
            )
        # Replace an earlier world: remove only what the builder writes.
        for name in _WORLD_ITEMS:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _trust_window(scenario: Scenario) -> tuple[datetime, datetime]:
    times: list[datetime] = []
    for release in scenario.releases:
        for spec in release.files:
            times += [spec.upload_time, spec.integrated_at - _SIGN_LEAD]
    times += [e.integrated_at - _SIGN_LEAD for e in scenario.extra_log_entries]
    start = min(times).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    end = max(times).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=366)
    return start, end


def build_world(
    scenario: Scenario, out: Path, *, seed: int | None = None, trust: LabTrust | None = None
) -> Path:
    """Write the lab world of `scenario` into `out` and return `out`.

    The same scenario and seed give a byte-identical directory. `seed` defaults to the
    scenario's own `seed`. `trust` (a lab fleet) signs with a trust shared by several worlds
    instead of one derived from this scenario, so that one trusted root verifies them all.
    """
    seed = scenario.seed if seed is None else seed
    out = Path(out)
    _prepare(out)
    builder = _Builder(scenario, seed)
    builder.build_files()
    if trust is None:
        valid_from, valid_until = _trust_window(scenario)
        trust = LabTrust.generate(seed, valid_from=valid_from, valid_until=valid_until)
    log = LabRekorLog(
        trust,
        tree_id=scenario.log.tree_id,
        shard_offset=scenario.log.shard_offset,
        origin_host=scenario.log.origin_host,
    )
    extra = builder.sign_all(trust, log)
    commits, tags, runs = builder.github_state()

    files_dir = out / "files"
    files_dir.mkdir()
    prov_dir = out / "provenance"
    prov_dir.mkdir()
    for built in builder.files:
        (files_dir / built.filename).write_bytes(built.data)
        if built.attestations:
            assert built.publisher is not None
            body = provenance_object([(built.publisher, built.attestations)])
            (prov_dir / f"{built.filename}.json").write_bytes(body)
    log.to_world(out)
    _write_json(out / "github" / "commits.json", [c.to_json() for c in commits])
    _write_json(out / "github" / "tags.json", [t.to_json() for t in tags])
    _write_json(out / "github" / "runs.json", [r.to_json() for r in runs])
    (out / "trusted_root.json").write_bytes(trust.trusted_root_json())
    trust.write_keys(out / "keys")
    _write_json(out / "world.json", builder.manifest(extra))
    (out / "intel.toml").write_text(world_intel(out), encoding="utf-8")
    return out
