"""Large synthetic release histories for benchmarks: thousands of releases, built like any scenario.

`synthesize(n_releases=2500, files_per_release=2, seed=0)` returns a `Scenario` (no TOML) with a
plausible rhythm: semantic versions with occasional minor/major bumps, 6-48 hours between
releases, wheels before sdists, 1-6 s between log integration and upload. Everything comes from
one `random.Random(seed)`, so the same arguments give the same scenario and, built with the same
seed, the same world. With `anomalies=True` a handful of releases at fixed fractions of the
history deviate (a token upload, a self-hosted runner, a deleted release, a new repository) and
are listed in `expect.flag`, so detectors can be benchmarked for recall at scale too.

Each file gets its own certificate and log entry, as in production. Profiled (2 cores): issuing
a lab certificate and signing costs about 3 ms per file (~15 s for 2,500 × 2), so sharing one
certificate per release would save little and would make the synthetic world unlike PyPI's. The
dominant cost is the lab log's Merkle proofs, which `LabRekorLog` recomputes from every leaf for
each proof (quadratic): 1,000 × 2 takes ~40 s; with cached subtree roots 2,500 × 2 took ~30 s in
an out-of-tree experiment. That change belongs in forensics_lab/log.py or
forensics_lab/merkle_tree.py.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

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

_START = datetime(2018, 1, 1, 9, 0, tzinfo=UTC)
_EXTRA_WHEEL_TAGS = (
    "cp39-cp39-manylinux_2_17_x86_64",
    "cp310-cp310-manylinux_2_17_x86_64",
    "cp311-cp311-manylinux_2_17_x86_64",
    "cp312-cp312-manylinux_2_17_x86_64",
    "cp312-cp312-macosx_11_0_arm64",
    "cp312-cp312-win_amd64",
)


def _versions(n: int, rng: random.Random) -> list[str]:
    major, minor, patch = 0, 1, 0
    out: list[str] = []
    for _ in range(n):
        out.append(f"{major}.{minor}.{patch}")
        roll = rng.random()
        if roll < 0.01:
            major, minor, patch = major + 1, 0, 0
        elif roll < 0.15:
            minor, patch = minor + 1, 0
        else:
            patch += 1
    return out


def synthesize(
    n_releases: int = 2500,
    files_per_release: int = 2,
    seed: int = 0,
    *,
    project: str = "synthpkg",
    anomalies: bool = False,
) -> Scenario:
    """A synthetic scenario with `n_releases` releases of `files_per_release` files each."""
    if n_releases < 1:
        raise ValueError(f"n_releases must be ≥ 1, got {n_releases}")
    if not 1 <= files_per_release <= 2 + len(_EXTRA_WHEEL_TAGS):
        raise ValueError(
            f"files_per_release must be 1..{2 + len(_EXTRA_WHEEL_TAGS)}, got {files_per_release}"
        )
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    repository = f"{project}/{project}"
    publisher = Publisher(
        kind=PublisherKind.GITHUB,
        identity=Identity(
            repository=repository,
            workflow="release.yml",
            environment="pypi",
            ref="refs/tags/v{version}",
            trigger="release",
            runner="github-hosted",
            repository_id="700000001",
            owner_id="90000001",
            visibility="public",
        ),
    )
    flagged: dict[int, tuple[Identity, PublishMethod, str]] = {}
    deleted: set[int] = set()
    if anomalies and n_releases >= 10:
        flagged[n_releases * 3 // 10] = (
            Identity(),
            PublishMethod.TOKEN,
            "token upload without attestations after Trusted Publishing",
        )
        flagged[n_releases * 5 // 10] = (
            Identity(runner="self-hosted"),
            PublishMethod.TRUSTED_PUBLISHER,
            "signed on a self-hosted runner",
        )
        flagged[n_releases * 7 // 10] = (
            Identity(repository=f"{project}-fork/{project}", repository_id="700999999"),
            PublishMethod.TRUSTED_PUBLISHER,
            "publisher repository changed",
        )
        deleted.add(n_releases * 9 // 10)
    versions = _versions(n_releases, rng)
    kinds: list[tuple[FileKind, str]] = [(FileKind.WHEEL, "py3-none-any"), (FileKind.SDIST, "")]
    kinds += [(FileKind.WHEEL, tag) for tag in _EXTRA_WHEEL_TAGS]
    chosen = [kinds[0], kinds[1], *kinds[2:files_per_release]][:files_per_release]
    releases: list[Release] = []
    when = _START
    expect: dict[str, str] = {}
    for i, version in enumerate(versions):
        when += timedelta(
            seconds=rng.randint(6 * 3600, 48 * 3600), microseconds=rng.randint(0, 999_999)
        )
        override, method, why = flagged.get(i, (Identity(), PublishMethod.TRUSTED_PUBLISHER, ""))
        files: list[FileSpec] = []
        upload = when
        for kind, tag in chosen:
            files.append(
                FileSpec(
                    kind=kind,
                    upload_time=upload,
                    publish=method,
                    identity=override,
                    integration_offset=timedelta(seconds=-rng.randint(1, 6)),
                    wheel_tag=tag or "py3-none-any",
                )
            )
            upload += timedelta(seconds=rng.randint(1, 4), microseconds=rng.randint(0, 999_999))
        deleted_at = None
        if i in deleted:
            deleted_at = upload + timedelta(minutes=40)
            why = "deleted 40 minutes after upload; its log entries remain"
        if why:
            expect[version] = why
        releases.append(
            Release(
                version=version,
                upload_time=when,
                files=tuple(files),
                deleted_at=deleted_at,
                identity=override,
            )
        )
    return Scenario(
        name=f"synthetic-{n_releases}x{files_per_release}-s{seed}",
        description=(
            f"Synthetic history of {n_releases} releases × {files_per_release} files for "
            "benchmarks" + (", with injected anomalies" if expect else "")
        ),
        project=project,
        publisher=publisher,
        releases=tuple(releases),
        log=LogSettings(tree_id=1_000_000_000_000_000_000 + seed, shard_offset=0),
        simulated=("the whole history is synthetic (forensics_lab.synth)",),
        expect=Expectation(
            flag=expect,
            clean=tuple(v for v in versions if v not in expect),
        ),
        seed=seed,
    )
