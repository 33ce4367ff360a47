"""C2SP signed notes (checkpoints) and the Rekor v1 signed entry timestamp payload.

Rekor checkpoints are signed notes (https://github.com/C2SP/C2SP/blob/main/signed-note.md):
body lines ``origin``, ``tree size``, ``base64(root hash)`` (plus optional extension lines), one
blank line, then signature lines ``— <name> <base64(keyhint[4] || signature)>``. The key hint is
the first four bytes of the log ID (sha256 of the DER SubjectPublicKeyInfo) for Rekor v1.
Written by hand: sigstore-python's parser is private (`sigstore._internal.rekor.checkpoint`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import rfc8785

EM_DASH = "\u2014"


class NoteError(ValueError):
    """A signed note is malformed; the message says where."""


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a signed note."""

    name: str
    key_hint: bytes
    signature: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A parsed Rekor checkpoint."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...]
    signatures: tuple[NoteSignature, ...]
    body: bytes
    """The signed text: every body line with its newline (what the signature covers)."""

    @property
    def tree_id(self) -> str | None:
        """The Trillian tree ID in a Rekor v1 origin (`rekor.sigstore.dev - <treeID>`)."""
        _, sep, tail = self.origin.rpartition(" - ")
        return tail if sep and tail.isdigit() else None


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a signed-note checkpoint, raising `NoteError` with the failing part."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError(f"checkpoint holds text that is not UTF-8 ({exc.reason})") from exc
    if "\n\n" not in text:
        raise NoteError("checkpoint has no blank line between body and signatures")
    body_text, _, sig_text = text.partition("\n\n")
    lines = body_text.split("\n")
    if len(lines) < 3:
        raise NoteError("checkpoint body needs origin, tree size and root hash lines")
    origin, size_text, root_text, *ext = lines
    if not origin:
        raise NoteError("checkpoint origin line is empty")
    # ASCII digits only, at most 20 (a uint64): `isdigit` alone admits other scripts' digits
    # and superscripts, which `int` then rejects or misreads.
    if not (size_text.isascii() and size_text.isdigit() and len(size_text) <= 20):
        raise NoteError(f"checkpoint tree size is not a decimal number: {size_text[:40]!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError as exc:
        raise NoteError(f"checkpoint root hash is not base64: {exc}") from exc
    sigs = []
    for line in sig_text.split("\n"):
        if not line:
            continue
        if not line.startswith(EM_DASH + " "):
            raise NoteError(f"signature line does not start with an em dash: {line[:80]!r}")
        try:
            name, b64 = line[2:].rsplit(" ", 1)
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise NoteError(f"malformed signature line: {line[:80]!r}") from exc
        if len(raw) < 5:
            raise NoteError("signature is shorter than its 4-byte key hint")
        sigs.append(NoteSignature(name, raw[:4], raw[4:]))
    if not sigs:
        raise NoteError("checkpoint carries no signature")
    return Checkpoint(
        origin=origin,
        tree_size=int(size_text),
        root_hash=root,
        extensions=tuple(ext),
        signatures=tuple(sigs),
        body=(body_text + "\n").encode(),
    )


def set_payload(body_b64: str, integrated_time: int, log_id_hex: str, log_index: int) -> bytes:
    """The bytes a Rekor v1 signed entry timestamp signs: RFC 8785 canonical JSON.

    `log_index` is the *global* index, not the shard-local one in the inclusion proof.
    """
    return bytes(
        rfc8785.dumps(
            {
                "body": body_b64,
                "integratedTime": integrated_time,
                "logID": log_id_hex,
                "logIndex": log_index,
            }
        )
    )
