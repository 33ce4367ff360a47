"""Independent verification of one Rekor entry, check by check, with the reason for each outcome.

sigstore-python verifies a log entry only as part of a whole bundle and answers pass/fail. For
forensics we need to know *which* property failed (the leaf, the proof, the signed root, the
promise) and to check what sigstore-python does not: that the checkpoint's size and root are the
ones the proof was made against, that the key hint and validity window of the log key fit, and
that global index, shard index, tree ID, UUID and entry ID agree with each other.

Checks, in order (each yields one `Check` with `pass`, `fail` or `skip` and a reason):

``body``            the body decodes and its kind equals the declared `kindVersion`
``uuid``            leaf hash of the body = UUID; the entry ID (REST key) = %016x(treeID) + UUID
``log_key``         the entry's log ID names a trusted key, valid at the integration time
``inclusion_proof`` RFC 6962 audit path from the leaf reproduces the proof's rootHash
``checkpoint``      the checkpoint parses and its size/root equal the proof's treeSize/rootHash
``checkpoint_signature`` a signature with a trusted key hint verifies over the note body
``set``             the SET verifies over RFC 8785 {body, integratedTime, logID, logIndex(global)}
``index``           global index = shard index + shard offset (when the offset is known)

Rekor v2 entries carry no integration time and no SET: `set` is skipped with that reason and the
entry's time is reported as absent (or as the RFC 3161 time if the caller supplies one) — never
invented from the log.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature

from forensics.models import LogEntry, isoformat, utc
from forensics.primitives import (
    Checkpoint,
    NoteError,
    ProofError,
    leaf_hash,
    parse_checkpoint,
    set_payload,
    verify_consistency,
    verify_inclusion,
)
from forensics.primitives import LogKey as LogKey  # re-exported: rekor's public API
from forensics.primitives import LogKeys as LogKeys
from forensics.rekor.entry import (
    DecodedBody,
    EntryFacts,
    MalformedEntry,
    RekorEntry,
    decode_body,
    entry_id_for,
    split_entry_id,
)


class Outcome(enum.StrEnum):
    """Result of one check."""

    PASS = "pass"  # noqa: S105 - an outcome label, not a password
    FAIL = "fail"
    SKIP = "skip"
    """Not applicable or not checkable with what we have; the reason says why."""


@dataclass(frozen=True)
class Check:
    """One verification step and its outcome."""

    name: str
    outcome: Outcome
    reason: str

    def to_json(self) -> dict[str, str]:
        """Serialise for reports."""
        return {"name": self.name, "outcome": self.outcome.value, "reason": self.reason}


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryVerification:
    """Every check on one entry, and the identifiers the checks established."""

    entry: RekorEntry
    checks: tuple[Check, ...]
    decoded: DecodedBody | None
    uuid: str
    tree_id: str | None
    entry_id: str | None
    shard_index: int | None
    global_index: int | None
    integrated_time: datetime | None
    time_source: str | None
    """`rekor_v1_integrated_time` (SET-bound), `rfc3161_tsa` (caller-supplied), or None."""
    log_key: LogKey | None

    @property
    def ok(self) -> bool:
        """True when no check failed and the proof, checkpoint and its signature passed."""
        required = ("inclusion_proof", "checkpoint", "checkpoint_signature")
        return not self.failed and all(self.outcome(n) is Outcome.PASS for n in required)

    @property
    def failed(self) -> list[str]:
        """Names of the checks that failed."""
        return [c.name for c in self.checks if c.outcome is Outcome.FAIL]

    def outcome(self, name: str) -> Outcome | None:
        """The outcome of check `name` (None if it did not run)."""
        return next((c.outcome for c in self.checks if c.name == name), None)

    def check(self, name: str) -> Check | None:
        """The check called `name`."""
        return next((c for c in self.checks if c.name == name), None)

    @property
    def reason(self) -> str:
        """The failed checks' reasons joined, or '' when verified."""
        return "; ".join(f"{c.name}: {c.reason}" for c in self.checks if c.outcome is Outcome.FAIL)

    def to_log_entry(self) -> LogEntry:
        """The shared model's view of this entry (`RekorEntry.to_log_entry` plus the verdict)."""
        base = self.entry.to_log_entry()
        return dataclasses.replace(
            base,
            integrated_time=self.integrated_time,
            kind=self.decoded.kind if self.decoded else (self.entry.kind_version or "unknown"),
            shard_log_index=self.shard_index,
            uuid=self.uuid,
            verified=self.ok,
            time_source=self.time_source or "none",
            reason=self.reason if not self.ok else "",
        )

    def to_json(self) -> dict[str, Any]:
        """Serialise for reports and `--format json`."""
        d = self.decoded
        return {
            "log_index": self.global_index,
            "shard_log_index": self.shard_index,
            "uuid": self.uuid,
            "entry_id": self.entry_id,
            "tree_id": self.tree_id,
            "log_id": self.entry.log_id_hex,
            "log_url": self.log_key.base_url if self.log_key else None,
            "integrated_time": isoformat(self.integrated_time),
            "time_source": self.time_source,
            "kind": d.kind if d else self.entry.kind_version,
            "san": list(d.san) if d else [],
            "claims": dict(sorted(d.claims.items())) if d else {},
            "artifact_sha256": d.artifact_sha256 if d else None,
            "payload_sha256": d.payload_sha256 if d else None,
            "body_problems": list(d.problems) if d else [],
            "verified": self.ok,
            "checks": [c.to_json() for c in self.checks],
        }


def verify_entry(
    entry: RekorEntry,
    keys: LogKeys,
    *,
    shard_offsets: Mapping[str, int] | None = None,
    tsa_time: datetime | None = None,
) -> EntryVerification:
    """Verify one entry against trusted log keys; never raises for a bad entry.

    `shard_offsets` maps Rekor v1 tree IDs to the global index of their first entry
    (`LogInfo.shard_offsets()`); without it the index check can only be partial.
    `tsa_time` is an RFC 3161 time the caller verified (Rekor v2 bundles): it is reported as
    the entry's time with `time_source="rfc3161_tsa"`, never as a log time.
    """
    checks: list[Check] = []

    def add(name: str, outcome: Outcome, reason: str) -> None:
        checks.append(Check(name, outcome, reason))

    # body
    decoded: DecodedBody | None = None
    try:
        decoded = decode_body(entry.body)
    except MalformedEntry as exc:
        add("body", Outcome.FAIL, exc.message)
    else:
        if entry.kind_version is not None and entry.kind_version != decoded.kind:
            add(
                "body",
                Outcome.FAIL,
                f"declared kind {entry.kind_version} but the body is {decoded.kind}",
            )
        elif decoded.problems:
            add("body", Outcome.PASS, f"{decoded.kind}; not decoded: {'; '.join(decoded.problems)}")
        else:
            add("body", Outcome.PASS, f"{decoded.kind} body decoded")
    is_v2 = decoded is not None and decoded.kind.endswith("/0.0.2")

    # checkpoint parse (needed for tree ID before the UUID check)
    proof = entry.inclusion_proof
    checkpoint: Checkpoint | None = None
    checkpoint_error = ""
    if proof is not None and proof.checkpoint is not None:
        try:
            checkpoint = parse_checkpoint(proof.checkpoint)
        except NoteError as exc:
            checkpoint_error = str(exc)
    tree_id = checkpoint.tree_id if checkpoint else None

    # uuid / entry id
    uuid = entry.uuid
    entry_id = entry_id_for(tree_id, uuid) if tree_id is not None else None
    if entry.entry_id is not None:
        stated_tree, stated_uuid = split_entry_id(entry.entry_id)
        if stated_uuid != uuid:
            add(
                "uuid",
                Outcome.FAIL,
                f"entry is served under UUID {stated_uuid} but its body hashes to {uuid}",
            )
        elif stated_tree is not None and tree_id is not None and stated_tree != tree_id:
            add(
                "uuid",
                Outcome.FAIL,
                f"entry ID names tree {stated_tree} but the checkpoint origin names tree {tree_id}",
            )
        else:
            if stated_tree is not None:
                entry_id = entry.entry_id
                tree_id = tree_id or stated_tree
            add("uuid", Outcome.PASS, f"body leaf hash equals the served ID {entry.entry_id}")
    else:
        add("uuid", Outcome.PASS, f"UUID {uuid} computed from the body (no served ID to compare)")

    # log key
    key = keys.by_log_id(entry.log_id)
    itime = entry.integrated_at
    if key is None:
        add(
            "log_key",
            Outcome.FAIL,
            f"log ID {entry.log_id_hex} is not the ID of any trusted log key "
            f"({len(keys.keys)} keys loaded)",
        )
    elif itime is not None and (
        window_problem := _window_problem(keys.all_by_log_id(entry.log_id), itime)
    ):
        add("log_key", Outcome.FAIL, window_problem)
    elif (
        itime is None
        and tsa_time is not None
        and (
            window_problem := _window_problem(
                keys.all_by_log_id(entry.log_id), utc(tsa_time), "RFC 3161 timestamp"
            )
        )
    ):
        # Rekor v2 entries carry no integration time: the caller's verified timestamp is the
        # signing time the key's window is judged against.
        add("log_key", Outcome.FAIL, window_problem)
    else:
        add("log_key", Outcome.PASS, f"log ID names the key of {key.base_url}")

    # inclusion proof
    if proof is None:
        add("inclusion_proof", Outcome.FAIL, "entry carries no inclusion proof")
    else:
        try:
            verify_inclusion(
                proof.log_index,
                proof.tree_size,
                leaf_hash(entry.body),
                proof.hashes,
                proof.root_hash,
            )
        except ProofError as exc:
            add("inclusion_proof", Outcome.FAIL, str(exc))
        else:
            add(
                "inclusion_proof",
                Outcome.PASS,
                f"leaf {proof.log_index} of a tree of {proof.tree_size} leads to the root hash",
            )

    # checkpoint content
    if proof is None:
        add("checkpoint", Outcome.FAIL, "no inclusion proof, hence no checkpoint")
    elif proof.checkpoint is None:
        add(
            "checkpoint",
            Outcome.FAIL,
            "inclusion proof carries no checkpoint: its root hash is not signed by the log",
        )
    elif checkpoint is None:
        add("checkpoint", Outcome.FAIL, f"checkpoint does not parse: {checkpoint_error}")
    elif checkpoint.root_hash != proof.root_hash:
        add(
            "checkpoint",
            Outcome.FAIL,
            f"checkpoint root hash {checkpoint.root_hash.hex()} differs from the proof's root hash "
            f"{proof.root_hash.hex()}",
        )
    elif checkpoint.tree_size != proof.tree_size:
        add(
            "checkpoint",
            Outcome.FAIL,
            f"checkpoint tree size {checkpoint.tree_size} differs from the proof's tree size "
            f"{proof.tree_size}",
        )
    else:
        add(
            "checkpoint",
            Outcome.PASS,
            f"{checkpoint.origin!r} size {checkpoint.tree_size} matches the proof",
        )

    # checkpoint signature
    if checkpoint is None:
        add("checkpoint_signature", Outcome.SKIP, "no parsed checkpoint to check")
    else:
        add("checkpoint_signature", *_checkpoint_signature(checkpoint, keys))

    # signed entry timestamp
    time_source: str | None = None
    integrated: datetime | None = None
    if entry.signed_entry_timestamp is None or entry.integrated_time is None:
        if is_v2 or (entry.signed_entry_timestamp is None and entry.integrated_time is None):
            add(
                "set",
                Outcome.SKIP,
                "no signed entry timestamp and no integrated time (Rekor v2 style): "
                "the log attests no time for this entry",
            )
        elif entry.signed_entry_timestamp is None:
            add(
                "set",
                Outcome.FAIL,
                "integratedTime is present but no SET binds it: the time is unauthenticated",
            )
        else:
            add("set", Outcome.FAIL, "a SET is present but the entry has no integratedTime")
    elif key is None:
        add("set", Outcome.FAIL, "cannot check the SET: the entry's log ID names no trusted key")
    else:
        payload = set_payload(
            entry.body_b64, entry.integrated_time, entry.log_id_hex, entry.log_index
        )
        try:
            key.verify(entry.signed_entry_timestamp, payload)
        except InvalidSignature:
            add(
                "set",
                Outcome.FAIL,
                f"SET does not verify with {key.base_url}'s key over body, integratedTime "
                f"{entry.integrated_time}, logID and global logIndex {entry.log_index}",
            )
        else:
            add("set", Outcome.PASS, f"SET binds integratedTime {isoformat(itime)}")
            integrated = itime
            time_source = "rekor_v1_integrated_time"
    if integrated is None and tsa_time is not None:
        integrated = utc(tsa_time)
        time_source = "rfc3161_tsa"

    # index mapping
    shard_index = proof.log_index if proof else None
    add("index", *_index_check(entry, shard_index, tree_id, shard_offsets, is_v2))

    return EntryVerification(
        entry=entry,
        checks=tuple(checks),
        decoded=decoded,
        uuid=uuid,
        tree_id=tree_id,
        entry_id=entry_id,
        shard_index=shard_index,
        global_index=entry.log_index,
        integrated_time=integrated,
        time_source=time_source,
        log_key=key,
    )


def _window_problem(
    keys: Sequence[LogKey], itime: datetime, time_label: str = "integrated time"
) -> str | None:
    """The shared validity-window rule (`ValidityWindow.problem`) for the entry's Rekor key.

    A root may list the same key more than once (rotation history): any covering window passes.
    """
    if any(k.valid_at(itime) for k in keys):
        return None
    return keys[0].window_problem(itime, role="Rekor", time_label=time_label)


def _checkpoint_signature(checkpoint: Checkpoint, keys: LogKeys) -> tuple[Outcome, str]:
    hints = []
    for sig in checkpoint.signatures:
        hints.append(sig.key_hint.hex())
        for key in keys.by_key_hint(sig.key_hint):
            if not _signed_note_verifies(key, sig.signature, checkpoint.body):
                return (
                    Outcome.FAIL,
                    f"signature by {sig.name!r} (key hint {sig.key_hint.hex()}) does not verify "
                    f"with {key.base_url}'s key",
                )
            return Outcome.PASS, f"signed by {key.base_url} (key hint {sig.key_hint.hex()})"
    return (
        Outcome.FAIL,
        f"no checkpoint signature has the key hint of a trusted log key (hints {', '.join(hints)}; "
        f"trusted {', '.join(k.key_hint.hex() for k in keys.keys) or 'none'})",
    )


def _signed_note_verifies(key: LogKey, signature: bytes, body: bytes) -> bool:
    """Does `signature` by `key` verify over a checkpoint body? Memoised: the entries of one log
    mostly carry proofs against the same few checkpoints, so an investigation of 5,000 entries
    would otherwise verify the same note signature 5,000 times.

    Keyed by the log ID (sha256 of the key's DER bytes, recomputed in `LogKey.from_public_key`),
    the signature and the signed bytes: a hit is the same verification of the same inputs.
    """
    memo_key = (key.log_id, signature, body)
    known = _NOTE_MEMO.get(memo_key)
    if known is None:
        try:
            key.verify(signature, body)
            known = True
        except InvalidSignature:
            known = False
        if len(_NOTE_MEMO) >= 1024:
            _NOTE_MEMO.clear()
        _NOTE_MEMO[memo_key] = known
    return known


_NOTE_MEMO: dict[tuple[bytes, bytes, bytes], bool] = {}


def _index_check(
    entry: RekorEntry,
    shard_index: int | None,
    tree_id: str | None,
    offsets: Mapping[str, int] | None,
    is_v2: bool,
) -> tuple[Outcome, str]:
    if shard_index is None:
        return Outcome.SKIP, "no inclusion proof: no shard index to relate to the global index"
    if is_v2:
        # Rekor v2 shards are separate logs with their own URL: there is no global numbering.
        if entry.log_index != shard_index:
            return Outcome.FAIL, f"Rekor v2 logIndex {entry.log_index} != proof index {shard_index}"
        return Outcome.PASS, "Rekor v2: the log index is the tree index"
    if entry.log_index < shard_index:
        return (
            Outcome.FAIL,
            f"global index {entry.log_index} is smaller than the shard index {shard_index}",
        )
    delta = entry.log_index - shard_index
    if tree_id is not None and offsets is not None and tree_id in offsets:
        if delta != offsets[tree_id]:
            return (
                Outcome.FAIL,
                f"global index {entry.log_index} - shard index {shard_index} = {delta}, but "
                f"shard {tree_id} starts at global index {offsets[tree_id]}",
            )
        return Outcome.PASS, f"global = shard index + offset {delta} of tree {tree_id}"
    return (
        Outcome.SKIP,
        f"global - shard index = {delta}; no shard offset known for tree {tree_id or '?'} "
        "to confirm it",
    )


# -- consistency and comparison ---------------------------------------------------------------


@dataclass(frozen=True)
class ConsistencyVerification:
    """Outcome of checking that one checkpoint's tree is a prefix of another's."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(c.outcome is not Outcome.FAIL for c in self.checks)

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks."""
        return [c.name for c in self.checks if c.outcome is Outcome.FAIL]


def verify_consistency_proof(
    old_checkpoint: Checkpoint | str,
    new_checkpoint: Checkpoint | str,
    proof: Sequence[bytes],
    keys: LogKeys | None = None,
) -> ConsistencyVerification:
    """Check an RFC 6962 consistency proof between two checkpoints of the same log.

    With `keys`, both checkpoints' signatures are checked too (an unsigned "old" checkpoint proves
    nothing about what the log showed earlier).
    """
    checks: list[Check] = []
    parsed: list[Checkpoint] = []
    for label, cp in (("old", old_checkpoint), ("new", new_checkpoint)):
        if isinstance(cp, str):
            try:
                cp = parse_checkpoint(cp)
            except NoteError as exc:
                checks.append(Check(f"{label}_checkpoint", Outcome.FAIL, f"does not parse: {exc}"))
                continue
        parsed.append(cp)
        if keys is not None:
            outcome, reason = _checkpoint_signature(cp, keys)
            checks.append(Check(f"{label}_checkpoint_signature", outcome, reason))
    if len(parsed) != 2:
        return ConsistencyVerification(tuple(checks))
    old, new = parsed
    if old.origin != new.origin:
        checks.append(
            Check(
                "origin",
                Outcome.FAIL,
                f"checkpoints are from different logs/shards: {old.origin!r} vs {new.origin!r}",
            )
        )
        return ConsistencyVerification(tuple(checks))
    checks.append(Check("origin", Outcome.PASS, f"both checkpoints are of {old.origin!r}"))
    try:
        verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)
    except ProofError as exc:
        checks.append(Check("consistency_proof", Outcome.FAIL, str(exc)))
    else:
        checks.append(
            Check(
                "consistency_proof",
                Outcome.PASS,
                f"tree of size {old.tree_size} is a prefix of the tree of size {new.tree_size}",
            )
        )
    return ConsistencyVerification(tuple(checks))


def compare_entries(embedded: RekorEntry | EntryFacts, served: RekorEntry) -> list[str]:
    """Differences between the entry embedded in provenance and the log's copy of it.

    The bodies are compared through their UUIDs (RFC 6962 leaf hashes of the bodies), so the
    embedded copy may be given as its `EntryFacts`. The SET and inclusion proof are not
    compared: Rekor signs a fresh SET on every read and proves inclusion against its current
    tree, so those legitimately differ.
    """
    diffs: list[str] = []
    if embedded.uuid != served.uuid:
        diffs.append(
            f"body differs: embedded UUID {embedded.uuid}, the log serves UUID {served.uuid}"
        )
    if embedded.integrated_time != served.integrated_time:
        diffs.append(
            f"integratedTime differs: embedded {embedded.integrated_time}, "
            f"log {served.integrated_time}"
        )
    if embedded.log_index != served.log_index:
        diffs.append(f"logIndex differs: embedded {embedded.log_index}, log {served.log_index}")
    if embedded.log_id != served.log_id:
        diffs.append(f"logID differs: embedded {embedded.log_id_hex}, log {served.log_id_hex}")
    return diffs
