"""The one rule for trust-root validity windows (`validFor`), shared by every verdict.

A Sigstore trusted root gives each key a `validFor` window: the Fulcio CA that issued signing
certificates, the Rekor key that signed entry timestamps and checkpoints, the CT log key that
signed the SCT. A key is trusted for a signature made at time *t* only when *t* lies in the
window (start inclusive, end exclusive, as sigstore's `_is_timerange_valid`). sigstore-python
checks only that the window has *started* by today's wall clock, so a root whose key was retired
before the signing time (or introduced after it) would still verify: both the file verdicts
(`forensics.provenance.verify`) and the log checker (`forensics.rekor.verify`) call
`ValidityWindow.problem` so one report can never give two answers for the same entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forensics.models import isoformat, parse_time


@dataclass(frozen=True)
class ValidityWindow:
    """A `validFor` window; None on either side means open."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, when: datetime) -> bool:
        """True if `when` lies in the window (start inclusive, end exclusive)."""
        return self.problem(when, key="key", time_label="time") is None

    def describe(self) -> str:
        """`start to end`, each side ISO 8601 or `open`."""
        return f"{isoformat(self.start) or 'open'} to {isoformat(self.end) or 'open'}"

    def problem(self, when: datetime, *, key: str, time_label: str) -> str | None:
        """Why `key` cannot vouch for something done at `when` (None when it can).

        `time_label` names where `when` comes from (e.g. "integrated time"), so the reason says
        which clock the verdict rests on.
        """
        if self.start is not None and when < self.start:
            return (
                f"{time_label} {isoformat(when)} is before the validity window of {key} "
                f"({self.describe()}): the key was not yet trusted"
            )
        if self.end is not None and when >= self.end:
            return (
                f"{time_label} {isoformat(when)} is after the validity window of {key} "
                f"({self.describe()}): the key was no longer trusted"
            )
        return None

    @classmethod
    def from_json(cls, value: Any, where: str) -> ValidityWindow:
        """Parse a protobuf-JSON `TimeRange` ({start, end?}); `ValueError` naming `where`."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}.validFor must be an object, got {type(value).__name__}")
        bounds: list[datetime | None] = []
        for side in ("start", "end"):
            raw = value.get(side)
            if raw is None:
                bounds.append(None)
                continue
            if not isinstance(raw, str):
                raise ValueError(f"{where}.validFor.{side} must be a timestamp string")
            try:
                bounds.append(parse_time(raw))
            except (ValueError, OverflowError) as exc:
                raise ValueError(
                    f"{where}.validFor.{side} {raw[:40]!r} is not a timestamp"
                ) from exc
        start, end = bounds
        if start is not None and end is not None and end <= start:
            raise ValueError(f"{where}.validFor ends ({isoformat(end)}) before it starts")
        return cls(start, end)
