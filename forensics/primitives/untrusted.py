"""Bounded readers for hostile data: JSON with a depth and size limit, timestamps kept in range,
text that can always be encoded.

Every source the toolkit reads (index answers, provenance, log entries, GitHub answers, trust
roots) is untrusted. Python's `json` raises `RecursionError` on deep nesting, `datetime` raises
`OverflowError` at the edge of its range, and a JSON string may hold a lone surrogate that no
encoder accepts: each of those would otherwise crash a parser, or a renderer long after parsing.
These helpers turn them into `UntrustedDataError` (an `InputError`) or a problem line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pydantic

from forensics.errors import InputError
from forensics.models import isoformat, parse_time

MAX_DEPTH = 64
"""Deepest nesting accepted: real PyPI, Sigstore and GitHub answers stay below 12 levels."""
MAX_JSON_BYTES = 256 * 1024 * 1024
"""Largest JSON document parsed (the HTTP fetcher caps responses well below this)."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Timestamps outside [EARLIEST, LATEST) are rejected: beyond them, date arithmetic in the
timeline (a day before, an hour after) could leave `datetime`'s range."""
MAX_SHOWN = 120


class UntrustedDataError(InputError):
    """Untrusted data is malformed or exceeds a limit; the message says which."""

    reference = "untrusted-data"


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """repr() of untrusted data, bounded: control characters and surrogates stay visible."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def type_name(value: object) -> str:
    """The JSON type name of a parsed value (`null`, `str`, `dict`...)."""
    return "null" if value is None else type(value).__name__


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True if `value` nests deeper than `limit` (iterative: hostile input cannot recurse us)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads(raw: bytes | str, what: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON from an untrusted source; `UntrustedDataError` naming `what` and the limit."""
    if len(raw) > MAX_JSON_BYTES:
        raise UntrustedDataError(f"{what} is larger than {MAX_JSON_BYTES} bytes ({len(raw)})")
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise UntrustedDataError(
            f"{what} is not usable JSON: nested deeper than {max_depth} levels"
        ) from exc
    except UnicodeDecodeError as exc:
        raise UntrustedDataError(
            f"{what} is not valid JSON: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    except json.JSONDecodeError as exc:
        raise UntrustedDataError(
            f"{what} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except ValueError as exc:  # e.g. an integer literal beyond Python's 4300-digit limit
        raise UntrustedDataError(f"{what} is not usable JSON: {exc}") from exc
    if _depth_exceeds(value, max_depth):
        raise UntrustedDataError(
            f"{what} is not usable JSON: nested deeper than {max_depth} levels"
        )
    return value


def encodable(text: str, where: str, problems: list[str]) -> str:
    """`text` if UTF-8 can encode it; otherwise the text with the offending code points escaped
    (`\\udc80`) and a problem line, so every renderer and output file can still write it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        escaped = text.encode("utf-8", "backslashreplace").decode("utf-8")
        problems.append(
            f"{where}: {shown(text)} holds code points no encoding can write (lone surrogates); "
            f"kept escaped as {escaped!r}"
        )
        return escaped
    return text


def time_in_range(text: str) -> datetime:
    """Parse an ISO 8601 timestamp and require it in [EARLIEST, LATEST); `ValueError` otherwise."""
    try:
        when = parse_time(text)
    except OverflowError as exc:  # an offset that moves the time past year 1 or 9999
        raise ValueError(f"{shown(text)} is outside the range of dates") from exc
    if not EARLIEST <= when < LATEST:
        raise ValueError(
            f"{isoformat(when)} is outside the accepted range "
            f"({isoformat(EARLIEST)} to {isoformat(LATEST)})"
        )
    return when


def pydantic_summary(exc: pydantic.ValidationError, limit: int = 3) -> str:
    """The first `limit` errors of a pydantic validation failure, as one readable line."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more error(s)")
    return "; ".join(parts)
