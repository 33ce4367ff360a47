"""Signing side of C2SP signed notes for the lab log: checkpoint bodies and one-signature notes.

The product only parses and verifies notes (`forensics.primitives.parse_checkpoint`); writing
them is what a log does, so it lives in the lab.
"""

from __future__ import annotations

import base64

from forensics.primitives import EM_DASH


def format_body(
    origin: str, tree_size: int, root_hash: bytes, extensions: tuple[str, ...] = ()
) -> bytes:
    """The signed part of a checkpoint note."""
    lines = [origin, str(tree_size), base64.b64encode(root_hash).decode(), *extensions]
    return ("\n".join(lines) + "\n").encode()


def format_note(body: bytes, name: str, key_hint: bytes, signature: bytes) -> str:
    """A complete signed note with one signature."""
    sig = base64.b64encode(key_hint + signature).decode()
    return body.decode() + "\n" + f"{EM_DASH} {name} {sig}\n"
