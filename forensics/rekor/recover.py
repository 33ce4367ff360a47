"""Recover releases the index no longer serves, and cross-check served entries, from the log.

PyPI deletes a release's provenance together with the release, but the transparency log keeps
every signing event. Starting from (1) the signing identities (certificate SANs) seen in the
project's own verified attestations, (2) the digests of every file the index serves and (3) intel
seeds with citations, we search the log, fetch each entry, verify it independently, and keep the
entries that carry the project's identity but match no served file.

The same `gather()` runs twice with the same inputs: at collection time against the live log (the
client stores every answer), and at analysis time against the evidence store (`RecordedRekor`),
so offline re-analysis makes exactly the same requests and gets exactly the same answers.

A dsse/0.0.1 entry does not contain the in-toto statement (Rekor stores only its hash, see
sigstore/rekor `pkg/types/dsse/README.md`), so a recovered entry's version comes from its ref
(`refs/tags/v1.2.3`), or from an intel seed naming it; otherwise it stays unknown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from packaging.version import InvalidVersion, Version

from forensics.errors import ForensicsError, OfflineMiss, SourceUnavailable
from forensics.evidence import EvidenceStore
from forensics.intel import IntelSeed
from forensics.models import DistFile, EvidenceRef, FileProvenance
from forensics.primitives import NoteError, loads, parse_checkpoint
from forensics.rekor.client import RETRIEVE_BATCH, ConsistencyProof, SearchResult
from forensics.rekor.entry import EntryFacts, LogInfo, RekorEntry
from forensics.rekor.verify import (
    EntryVerification,
    LogKeys,
    compare_entries,
    verify_consistency_proof,
    verify_entry,
)
from forensics.timeline import LogCheck, RecoveredEntry
from forensics.versions import version_from_ref


class RekorReader(Protocol):
    """The read API shared by `RekorClient` (live) and `RecordedRekor` (offline)."""

    base_url: str

    def log_info(self) -> LogInfo: ...
    def entry_by_index(self, index: int) -> RekorEntry: ...
    def entry_by_uuid(self, uuid_or_entry_id: str) -> RekorEntry: ...
    def search_hash(self, sha256_hex: str) -> SearchResult: ...
    def search_subject(self, san: str) -> SearchResult: ...
    def consistency_proof(
        self, first: int, last: int, tree_id: str | None = None
    ) -> ConsistencyProof: ...
    def retrieve_batch(
        self, *, uuids: Sequence[str] = (), indexes: Sequence[int] = ()
    ) -> list[RekorEntry]: ...


#: At most this many guessed signing identities are searched per investigation.
MAX_PROBES = 200


@dataclass(frozen=True)
class RekorInputs:
    """What the log recovery starts from, derived from the index's own verified provenance."""

    sans: tuple[str, ...]
    """Signing identities seen, then identities guessed for versions missing from the index."""
    digests: tuple[str, ...]
    embedded_indexes: tuple[int, ...]
    repositories: frozenset[str]
    checkpoints: tuple[str, ...] = ()
    """Checkpoints embedded in the served provenance (what the log showed at signing time)."""


def gap_versions(versions: Iterable[str], *, per_gap: int = 5) -> list[str]:
    """Versions a project plausibly released but the index does not list.

    For each known release: the patch versions up to the next known release (at most
    `per_gap`), the patch versions below it in its own major.minor (at most `per_gap`), the
    next minor and the next major. A deleted release is
    nearly always one of these, and the list stays proportional to the history.
    """
    known: set[Version] = set()
    for text in versions:
        try:
            parsed = Version(text)
        except InvalidVersion:
            continue
        if not parsed.is_prerelease and not parsed.is_devrelease and not parsed.local:
            known.add(parsed)
    ordered = sorted(known)
    out: set[Version] = set()
    for i, v in enumerate(ordered):
        major, minor, micro = (*v.release, 0, 0)[:3]
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        for step in range(1, per_gap + 1):
            cand = Version(f"{major}.{minor}.{micro + step}")
            if following is not None and cand >= following:
                break
            out.add(cand)
            if following is None:
                break
        out.add(Version(f"{major}.{minor + 1}.0"))
        out.add(Version(f"{major + 1}.0.0"))
        # and the patch versions below it in its own major.minor (4.2.2 implies 4.2.0, 4.2.1)
        out.update(Version(f"{major}.{minor}.{p}") for p in range(max(0, micro - per_gap), micro))
    return [str(v) for v in sorted(out - known)]


def san_templates(observed: Iterable[tuple[str, str]]) -> list[str]:
    """`(SAN, version)` pairs -> templates with `{version}` where the tag names the version.

    `https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1.2.0` with version
    1.2.0 gives `...@refs/tags/v{version}`. SANs that do not name the version in a tag (branch
    builds, e-mail identities) give no template: the same SAN then covers every release.
    """
    out: set[str] = set()
    for san, version in observed:
        head, sep, ref = san.rpartition("@")
        if not sep or not ref.startswith("refs/tags/") or version not in ref:
            continue
        out.add(head + "@" + ref.replace(version, "{version}", 1))
    return sorted(out)


def rekor_inputs(
    files: Sequence[DistFile],
    provenance: Mapping[str, FileProvenance],
    versions: Iterable[str] = (),
    store: EvidenceStore | None = None,
    embedded: Mapping[str, tuple[str, str, EntryFacts]] | None = None,
) -> RekorInputs:
    """Signing identities (seen and guessed), file digests, embedded log indexes and (with the
    store holding the provenance objects) the checkpoints embedded in them. `embedded`: the
    `embedded_index` of these files when the caller already has it (it parses every object)."""
    sans: set[str] = set()
    observed: set[tuple[str, str]] = set()
    repos: set[str] = set()
    indexes: set[int] = set()
    for d in files:
        fp = provenance[d.filename]
        for att in fp.attestations:
            indexes.update(e.log_index for e in att.log_entries)
            if att.verified and att.certificate is not None:
                sans.update(att.certificate.san)
                observed.update((san, d.version) for san in att.certificate.san)
                if repo := att.claims.get("source_repository"):
                    repos.add(repo)
    listed = {d.version for d in files} | set(versions)
    guesses = [
        t.replace("{version}", v) for t in san_templates(observed) for v in gap_versions(listed)
    ]
    probes = [g for g in dict.fromkeys(guesses) if g not in sans][:MAX_PROBES]
    checkpoints: set[str] = set()
    if store is not None:
        if embedded is None:
            served = {d.filename: (d.version, d.sha256, provenance[d.filename]) for d in files}
            embedded = embedded_index(store, served)
        for _name, _version, facts in embedded.values():
            if facts.checkpoint:
                checkpoints.add(facts.checkpoint)
    return RekorInputs(
        (*sorted(sans), *probes),
        tuple(sorted({d.sha256 for d in files})),
        tuple(sorted(indexes)),
        frozenset(repos),
        tuple(sorted(checkpoints)),
    )


@dataclass
class Gathered:
    """What the log said, keyed by entry UUID, plus what could not be asked or answered."""

    entries: dict[str, RekorEntry] = field(default_factory=dict)
    found_by: dict[str, set[str]] = field(default_factory=dict)
    """uuid -> how it was found (`subject:<san>`, `sha256:<digest>`, `intel:<citation>`, ...)."""
    by_index: dict[int, str] = field(default_factory=dict)
    """global log index -> uuid, for entries fetched by index."""
    problems: list[str] = field(default_factory=list)
    log_info: LogInfo | None = None
    """The log's current head and shards (maps shard-local to global indexes)."""
    consistency: dict[str, ConsistencyProof] = field(default_factory=dict)
    """Embedded checkpoint text -> the log's proof from it to its current head."""
    unreachable: str = ""
    """Why the log gave no answer at all, when not one request was answered."""
    delivered_by: dict[str, bytes] = field(default_factory=dict)
    """uuid -> the request body of the batch retrieve whose answer held the entry."""
    answered: int = 0
    """Requests the log answered (with anything, errors included)."""
    unanswered: int = 0
    """Requests that got no answer after their retries (each one is a problem line)."""

    def add(self, entry: RekorEntry, how: str) -> str:
        """Remember an entry and how it was found."""
        self.entries.setdefault(entry.uuid, entry)
        self.found_by.setdefault(entry.uuid, set()).add(how)
        return entry.uuid


@dataclass(frozen=True)
class _Outcome:
    value: Any = None
    problem: str | None = None
    unanswered: bool = False


def _call(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> _Outcome:
    """Run one log request; a failure becomes that request's problem, never a crash.

    A request that got no answer (after its own retries) costs that request only: the rest of
    the recovery goes on, so a flaky log never hides the answers it did give. A dead log is
    cut short by the transport's per-origin breaker, not here.
    """
    try:
        return _Outcome(fn(*args, **kwargs))
    except SourceUnavailable as exc:
        return _Outcome(
            problem=f"{what} could not be checked: log unreachable ({exc.message})",
            unanswered=True,
        )
    except OfflineMiss:
        return _Outcome(
            problem=f"{what} could not be checked: not in the case (collect online first)"
        )
    except ForensicsError as exc:
        return _Outcome(problem=f"{what}: {exc.message}")


_Calls = Sequence[tuple[str, Callable[..., Any], tuple[Any, ...]]]


def _issue(g: Gathered, pool: Executor | None, calls: _Calls) -> list[Any]:
    """Issue independent requests (concurrently with a pool); results and problems in order.

    Only *how* the requests are sent depends on the pool: what is asked, and the order in which
    answers and problems are recorded, are the same with or without one (offline replay runs
    without a pool and gets the same `Gathered`).
    """
    return _record(g, _start(pool, calls)())


def _start(pool: Executor | None, calls: _Calls) -> Callable[[], list[_Outcome]]:
    """Put independent requests in flight now (with a pool); the returned call waits for their
    outcomes, in order. Without a pool nothing is sent until it is called, one at a time."""
    if pool is None or len(calls) < 2:
        return lambda: [_call(what, fn, *args) for what, fn, args in calls]
    futures = [pool.submit(_call, what, fn, *args) for what, fn, args in calls]
    return lambda: [f.result() for f in futures]


def _record(g: Gathered, outcomes: list[_Outcome]) -> list[Any]:
    """Record outcomes (problems, counters) in order; their values."""
    values = []
    for outcome in outcomes:
        if outcome.problem is not None:
            g.problems.append(outcome.problem)
        if outcome.unanswered:
            g.unanswered += 1
        else:
            g.answered += 1
        values.append(outcome.value)
    return values


def _batches(keys: Sequence[Any]) -> list[list[Any]]:
    return [list(keys[i : i + RETRIEVE_BATCH]) for i in range(0, len(keys), RETRIEVE_BATCH)]


def _retrieve(
    g: Gathered,
    pool: Executor | None,
    reader: RekorReader,
    keys: Sequence[Any],
    by: str,
    label: Callable[[Any], str],
) -> dict[Any, RekorEntry]:
    """Fetch entries by UUID (`by="uuids"`) or global index in batches of 10; key -> entry.

    A key the log does not hold gets the problem line a single fetch would give.
    """
    return _retrieve_start(pool, reader, keys, by, label)(g)


def _retrieve_start(
    pool: Executor | None,
    reader: RekorReader,
    keys: Sequence[Any],
    by: str,
    label: Callable[[Any], str],
) -> Callable[[Gathered], dict[Any, RekorEntry]]:
    """`_retrieve` in two steps: the batches go in flight now, the returned call records them."""
    batches = _batches(keys)
    calls = [
        (
            f"log entries {', '.join(label(k) for k in batch)}",
            _batch_call(reader, by),
            (batch,),
        )
        for batch in batches
    ]
    outcomes = _start(pool, calls)
    return lambda g: _retrieved(g, batches, _record(g, outcomes()), by, label)


def _retrieved(
    g: Gathered,
    batches: list[list[Any]],
    answers: list[Any],
    by: str,
    label: Callable[[Any], str],
) -> dict[Any, RekorEntry]:
    out: dict[Any, RekorEntry] = {}
    for batch, got in zip(batches, answers, strict=True):
        if got is None:
            continue
        by_key: dict[Any, RekorEntry] = {}
        for entry in got:
            by_key[entry.uuid] = entry
            by_key[entry.log_index] = entry
        body = json.dumps(
            {"entryUUIDs" if by == "uuids" else "logIndexes": batch}, sort_keys=True
        ).encode()
        for key in batch:
            entry = by_key.get(key[-64:] if isinstance(key, str) else key)
            if entry is None:
                g.problems.append(f"log entry {label(key)}: the log does not hold it")
                continue
            out[key] = entry
            g.delivered_by.setdefault(entry.uuid, body)
    return out


def _batch_call(reader: RekorReader, by: str) -> Callable[[list[Any]], list[RekorEntry]]:
    if by == "uuids":
        return lambda batch: reader.retrieve_batch(uuids=batch)
    return lambda batch: reader.retrieve_batch(indexes=batch)


def gather(
    reader: RekorReader,
    *,
    sans: Iterable[str],
    digests: Iterable[str],
    intel: Sequence[IntelSeed],
    embedded_indexes: Iterable[int],
    checkpoints: Sequence[str] = (),
    concurrency: int = 1,
    executor: Executor | None = None,
) -> Gathered:
    """Ask the log everything the recovery needs; the answers are recorded in a fixed order.

    With `concurrency` > 1 (or an `executor` of the caller's) the independent requests (proofs,
    entry batches, searches) are in flight together; the result does not depend on it.
    """
    if executor is not None:
        return _gather(reader, executor, sans, digests, intel, embedded_indexes, checkpoints)
    if concurrency > 1:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return _gather(reader, pool, sans, digests, intel, embedded_indexes, checkpoints)
    return _gather(reader, None, sans, digests, intel, embedded_indexes, checkpoints)


def _gather(
    reader: RekorReader,
    pool: Executor | None,
    sans: Iterable[str],
    digests: Iterable[str],
    intel: Sequence[IntelSeed],
    embedded_indexes: Iterable[int],
    checkpoints: Sequence[str],
) -> Gathered:
    g = Gathered()
    (g.log_info,) = _issue(g, None, [("the log's current state", reader.log_info, ())])
    # The consistency proofs, the embedded entries and the searches do not depend on each
    # other's answers: with a pool they are all in flight together (no step waits for the
    # slowest request of the one before), and their answers are still recorded step by step.
    consistency = None
    if g.log_info is not None:
        consistency = _ask_consistency(g, reader, pool, g.log_info, checkpoints)
    indexes = sorted(set(embedded_indexes))
    embedded = _retrieve_start(pool, reader, indexes, "indexes", str)
    searches: list[tuple[str, str]] = [("subject", s) for s in dict.fromkeys(sans)]
    searches += [("sha256", d) for d in sorted(set(digests))]
    searches += [("sha256", s.value) for s in intel if s.kind == "sha256"]
    searches = list(dict.fromkeys(searches))
    calls = [
        (
            f"search {kind}:{value}",
            reader.search_subject if kind == "subject" else reader.search_hash,
            (value,),
        )
        for kind, value in searches
    ]
    found = _start(pool, calls)
    if consistency is not None:
        consistency()
    for index, entry in embedded(g).items():
        g.by_index[index] = g.add(entry, f"embedded:{index}")
    wanted: list[str] = []
    hows: list[tuple[str, str]] = []
    for (kind, value), result in zip(searches, _record(g, found()), strict=True):
        if result is None:
            continue
        if not result.supported:
            g.problems.append(result.reason)
            continue
        for uuid in sorted(result.uuids):
            if uuid[-64:] in g.entries:  # already fetched (by index, or by an earlier search)
                g.found_by[uuid[-64:]].add(f"{kind}:{value}")
                continue
            if uuid not in wanted:
                wanted.append(uuid)
            hows.append((uuid, f"{kind}:{value}"))
    fetched = _retrieve(g, pool, reader, wanted, "uuids", str)
    for uuid, how in hows:
        if uuid in fetched:
            g.add(fetched[uuid], how)
    seeds_by_index = [s for s in intel if s.kind == "log_index"]
    seeds_by_uuid = [s for s in intel if s.kind == "uuid"]
    held_index = {e.log_index: u for u, e in g.entries.items()}
    missing_idx = sorted({int(s.value) for s in seeds_by_index} - set(held_index))
    cite = {int(s.value): s.citation for s in seeds_by_index}
    got_idx = _retrieve(
        g, pool, reader, missing_idx, "indexes", lambda i: f"{i} ({cite.get(i, '')})"
    )
    for seed in seeds_by_index:
        i = int(seed.value)
        uuid = held_index.get(i) or (got_idx[i].uuid if i in got_idx else None)
        if uuid is not None:
            if i in got_idx:
                g.add(got_idx[i], f"intel:{seed.kind}:{seed.value}")
            else:
                g.found_by[uuid].add(f"intel:{seed.kind}:{seed.value}")
            g.by_index[i] = uuid
    missing_uuid = sorted(
        {
            s.value.strip().lower()
            for s in seeds_by_uuid
            if s.value.strip().lower()[-64:] not in g.entries
        }
    )
    ucite = {s.value.strip().lower(): s.citation for s in seeds_by_uuid}
    got_uuid = _retrieve(
        g, pool, reader, missing_uuid, "uuids", lambda u: f"{u} ({ucite.get(u, '')})"
    )
    for seed in seeds_by_uuid:
        key = seed.value.strip().lower()
        if key in got_uuid:
            g.add(got_uuid[key], f"intel:{seed.kind}:{seed.value}")
        elif key[-64:] in g.entries:
            g.found_by[key[-64:]].add(f"intel:{seed.kind}:{seed.value}")
    if g.unanswered and not g.answered:
        # Not one answer: one line says so, instead of one per request that was never answered.
        g.unreachable = g.problems[0] if g.problems else "the log gave no answer"
        if g.unanswered > 1:
            g.problems = [
                g.unreachable,
                f"{g.unanswered - 1} further log request(s) could not be checked: log unreachable",
            ]
    return g


#: At most this many embedded checkpoints are proven consistent with the head (oldest first).
MAX_CONSISTENCY = 100


def _ask_consistency(
    g: Gathered,
    reader: RekorReader,
    pool: Executor | None,
    head: LogInfo,
    checkpoints: Sequence[str],
) -> Callable[[], None]:
    """Ask for a proof from each embedded checkpoint of the active shard to the current head;
    the returned call records the answers (the requests are in flight meanwhile, with a pool).

    A log that showed one tree to the signer and another to everyone else (a split view) cannot
    produce these proofs; entries of inactive shards are covered by their frozen shard heads.
    """
    mine = []
    for text in checkpoints:
        try:
            cp = parse_checkpoint(text)
        except NoteError:
            continue  # the entry's own verification reports a malformed checkpoint
        if cp.tree_id == head.tree_id and 0 < cp.tree_size <= head.tree_size:
            mine.append((cp.tree_size, text))
    mine.sort()
    if len(mine) > MAX_CONSISTENCY:
        g.problems.append(
            f"only the {MAX_CONSISTENCY} oldest of {len(mine)} embedded checkpoints were proven "
            "consistent with the log's head"
        )
    chosen = mine[:MAX_CONSISTENCY]
    calls = [
        (
            f"consistency from tree size {size}",
            reader.consistency_proof,
            (size, head.tree_size, head.tree_id),
        )
        for size, _text in chosen
    ]
    outcomes = _start(pool, calls)

    def record() -> None:
        for (_size, text), proof in zip(chosen, _record(g, outcomes()), strict=True):
            if proof is not None:
                g.consistency[text] = proof

    return record


@dataclass(frozen=True)
class RekorView:
    """Everything the analysis learned from the log."""

    base_url: str
    recovered: tuple[RecoveredEntry, ...]
    crosschecks: tuple[LogCheck, ...]
    problems: tuple[str, ...]
    inconsistent: tuple[str, ...] = ()
    """Why the log's head is not consistent with a checkpoint embedded in the provenance."""
    consistent: int = 0
    """How many embedded checkpoints were proven consistent with the head."""


def _entry_evidence(
    store: EvidenceStore,
    base_url: str,
    uuid: str,
    how: set[str],
    indexes: Sequence[int],
    batch: bytes | None = None,
) -> tuple[EvidenceRef, ...]:
    """`indexes`: the log indexes that led to `uuid`, ascending."""
    base = base_url.rstrip("/")
    urls = [f"{base}/api/v1/log/entries/{uuid}"]
    urls += [f"{base}/api/v1/log/entries?logIndex={i}" for i in indexes]
    refs = []
    if batch is not None:
        stored = store.latest(
            f"{base}/api/v1/log/entries/retrieve", method="POST", request_body=batch
        )
        if stored is not None and stored.status == 200:
            refs.append(stored.evidence(note="transparency-log entry (batch retrieve)"))
    for url in urls:
        stored = store.latest(url)
        if stored is not None:
            refs.append(stored.evidence(note="transparency-log entry"))
    for h in sorted(how):
        kind, _, value = h.partition(":")
        if kind in ("subject", "sha256"):
            q = {"subject": value} if kind == "subject" else {"hash": f"sha256:{value}"}
            body = json.dumps(q, sort_keys=True).encode()
            stored = store.latest(f"{base}/api/v1/index/retrieve", method="POST", request_body=body)
            if stored is not None:
                refs.append(stored.evidence(note=f"found by {kind} search"))
    return tuple(dict.fromkeys(refs))


def reconcile(
    store: EvidenceStore,
    g: Gathered,
    *,
    base_url: str,
    keys: LogKeys,
    served: Mapping[str, tuple[str, str, FileProvenance]],
    project_repositories: frozenset[str],
    intel: Sequence[IntelSeed],
    embedded: Mapping[str, tuple[str, str, EntryFacts]] | None = None,
    outcomes: Mapping[str, tuple[bool, str]] | None = None,
) -> RekorView:
    """Sort gathered entries into cross-checks of served files and recovered entries.

    `served`: filename -> (version, sha256, provenance) for every file the index lists.
    `project_repositories`: source repository URIs of the project's verified attestations; an
    entry "carries the project's identity" when its certificate names one of them.
    `outcomes`: uuid -> (passed, reason) of `verify_entry` for cross-checked entries, when the
    caller already has them (a verdict cache); the others are verified here.
    """
    if embedded is None:
        embedded = embedded_index(store, served)
    by_digest = {sha: (fn, ver) for fn, (ver, sha, _fp) in served.items()}
    crosschecks: list[LogCheck] = []
    recovered: list[RecoveredEntry] = []
    problems = list(g.problems)
    offsets = g.log_info.shard_offsets() if g.log_info is not None else None
    # uuid -> the log indexes that led to it, built once (scanning by_index per entry was O(n²))
    indexes_of: dict[str, list[int]] = {}
    for index, found in sorted(g.by_index.items()):
        indexes_of.setdefault(found, []).append(index)
    for uuid in sorted(g.entries, key=lambda u: (g.entries[u].log_index, u)):
        entry = g.entries[uuid]
        how = g.found_by.get(uuid, set())
        ev = _entry_evidence(
            store, base_url, uuid, how, indexes_of.get(uuid, []), g.delivered_by.get(uuid)
        )
        if uuid in embedded:
            served_name, served_version, copy = embedded[uuid]
            known = (outcomes or {}).get(uuid)
            if known is None:
                checked = verify_entry(entry, keys, shard_offsets=offsets)
                known = (checked.ok, "" if checked.ok else checked.reason)
            crosschecks.append(
                LogCheck(
                    served_name,
                    served_version,
                    entry.log_index,
                    tuple(compare_entries(copy, entry)),
                    known[1],
                    ev,
                )
            )
            continue
        result: EntryVerification = verify_entry(entry, keys, shard_offsets=offsets)
        decoded = result.decoded
        claims = dict(decoded.claims) if decoded else {}
        repo = claims.get("source_repository", "")
        digest_hits = [h.partition(":")[2] for h in how if h.startswith("sha256:")]
        served_hits = sorted({by_digest[d] for d in digest_hits if d in by_digest})
        seed = _matching_seed(intel, entry, uuid, digest_hits)
        if repo not in project_repositories and seed is None and not served_hits:
            # Found by a search but neither ours nor named by intel: not part of this project.
            problems.append(
                f"log entry {entry.log_index} ({repo or 'no repository claim'}) "
                "does not carry the project's identity; ignored"
            )
            continue
        version: str | None = None
        source = ""
        subject: str | None = None
        if served_hits:
            subject, version = served_hits[0]
            source = "digest"
        elif (v := version_from_ref(claims.get("source_ref"))) is not None:
            version, source = v, "ref"
        if seed is not None:
            subject = subject or seed.filename
            if version is None and seed.version:
                version, source = seed.version, "intel"
        note_parts = []
        if served_hits:
            note_parts.append(f"an additional log entry for served file {served_hits[0][0]}")
        if seed is not None:
            note_parts.append(f"named by intel {seed.citation}")
        if not result.ok:
            note_parts.append(f"entry failed verification: {result.reason}")
        if (skew := _outside_validity(result)) is not None:
            note_parts.append(skew)
        if repo and repo not in project_repositories:
            note_parts.append(f"signed by {repo}, not by the project's repository")
        recovered.append(
            RecoveredEntry(
                log_entry=result.to_log_entry(),
                claims=claims,
                subject_name=subject,
                subject_sha256=(
                    digest_hits[0]
                    if digest_hits
                    else (seed.value if seed and seed.kind == "sha256" else None)
                ),
                version=version,
                version_source=source,
                evidence=ev + ((seed.evidence,) if seed and seed.evidence else ()),
                note="; ".join(note_parts),
            )
        )
    inconsistent: list[str] = []
    if g.log_info is not None:
        for text, proof in sorted(g.consistency.items(), key=lambda kv: kv[1].first_size):
            proven = verify_consistency_proof(text, g.log_info.signed_tree_head, proof.hashes, keys)
            if not proven.ok:
                inconsistent.append(
                    f"from tree size {proof.first_size} to {proof.last_size}: "
                    + "; ".join(
                        f"{c.name}: {c.reason}" for c in proven.checks if c.outcome.value == "fail"
                    )
                )
    return RekorView(
        base_url,
        tuple(recovered),
        tuple(crosschecks),
        tuple(problems),
        tuple(inconsistent),
        len(g.consistency) - len(inconsistent),
    )


def _outside_validity(result: EntryVerification) -> str | None:
    """Is the log time outside the signing certificate's validity? (sigstore checks this for
    served attestations; recovered entries do not go through sigstore, so we check it here)."""
    when = result.integrated_time
    if when is None or result.decoded is None or not result.decoded.certificates:
        return None
    cert = result.decoded.certificates[0]
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if start <= when <= end:
        return None
    return (
        f"integrated at {when.isoformat()}, outside the signing certificate's validity "
        f"{start.isoformat()} to {end.isoformat()}"
    )


def _matching_seed(
    intel: Sequence[IntelSeed], entry: RekorEntry, uuid: str, digests: Sequence[str]
) -> IntelSeed | None:
    for seed in intel:
        if seed.kind == "log_index" and int(seed.value) == entry.log_index:
            return seed
        if seed.kind == "uuid" and seed.value.endswith(uuid):
            return seed
        if seed.kind == "sha256" and seed.value in digests:
            return seed
    return None


def embedded_entries(raw_provenance: bytes) -> list[RekorEntry]:
    """The transparency entry of each attestation in a PEP 740 provenance object (bundle form).

    Only the first entry of an attestation is taken: it is the one sigstore verifies. Further
    entries are unverified data anyone can append to a genuine attestation, never evidence
    (`forensics.provenance.verify` lists them only as a note).
    """
    out: list[RekorEntry] = []
    try:
        data = loads(raw_provenance, "provenance")
        for bundle in data.get("attestation_bundles", []):
            for att in bundle.get("attestations", []):
                tles = att.get("verification_material", {}).get("transparency_entries", [])
                out.extend(RekorEntry.from_bundle(tle) for tle in tles[:1])
    except (ValueError, AttributeError, TypeError, ForensicsError):
        return out  # the provenance verdict already reports a malformed object
    return out


def embedded_index(
    store: EvidenceStore,
    served: Mapping[str, tuple[str, str, FileProvenance]],
    parsed: Mapping[str, Sequence[EntryFacts]] | None = None,
) -> dict[str, tuple[str, str, EntryFacts]]:
    """uuid -> (filename, version, the facts of the entry as embedded in the stored provenance
    object). Facts, not whole entries: this index lives through the whole log replay.

    `parsed`: the facts of the `embedded_entries` of stored provenance objects already read, by
    their sha256 (a collection parses each object as it arrives); the others are read from the
    store.
    """
    out: dict[str, tuple[str, str, EntryFacts]] = {}
    for filename, (version, _sha, fp) in sorted(served.items()):
        if fp.evidence is None or not fp.attestations:
            continue
        facts = (parsed or {}).get(fp.evidence.sha256)
        if facts is None:
            facts = [e.facts() for e in embedded_entries(store.blob(fp.evidence.sha256))]
        for fact in facts:
            out.setdefault(fact.uuid, (filename, version, fact))
    return out
