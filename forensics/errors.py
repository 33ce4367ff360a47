"""The one error tree of provenance-forensics.

Every error the toolkit raises on purpose derives from `ForensicsError`, carries a stable kebab-case
``reference`` (for docs and scripts) and a ``hint`` that tells the user what to do next. The CLI
catches `ForensicsError` exactly once and maps it to an exit code. Third-party exceptions are
converted at the edge of the module that calls the third party, never deeper.

Recoverable problems with one record (one malformed provenance object, one unreachable log entry)
are *not* raised: they become an ``unknown``/``invalid`` status or a ``skipped`` entry with a
reason,
because in forensics missing data is itself a data point.

    ForensicsError
    ├── UsageError                  bad flags, bad input file (exit 2)
    │   ├── InputError              a file the user gave is unreadable / malformed
    │   └── ScenarioError           a lab scenario file is invalid (file, line, what is wrong)
    ├── EvidenceError               the evidence store is unusable (exit 2)
    │   └── CaseIntegrityError      a stored blob was altered or is missing
    ├── SourceError                 a source answered badly (exit 3)
    │   ├── SourceUnavailable       connection refused, DNS, timeouts after retries
    │   ├── SourceResponseError     unexpected status, carries status and a body excerpt
    │   └── ResponseTooLarge        the body exceeded the configured cap
    └── OfflineMiss                 --offline, and the case lacks a required response (exit 3)
"""

from __future__ import annotations

from typing import ClassVar


class ForensicsError(Exception):
    """Base class: a message for the user, a stable reference and a hint."""

    reference: ClassVar[str] = "forensics-error"
    exit_code: ClassVar[int] = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """Render the error the way the CLI prints it."""
        text = f"error[{self.reference}]: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(ForensicsError, ValueError):
    """Bad command-line usage or bad input."""

    reference = "usage"


class InputError(UsageError):
    """A file the user handed us cannot be read or parsed."""

    reference = "bad-input"


class ScenarioError(UsageError):
    """A lab scenario file is invalid."""

    reference = "bad-scenario"


class EvidenceError(ForensicsError):
    """The evidence store (case directory) cannot be used."""

    reference = "evidence-store"


class CaseIntegrityError(EvidenceError):
    """A blob in the case no longer matches its recorded sha256, or is missing."""

    reference = "case-integrity"


class SourceError(ForensicsError):
    """A remote source failed. Concrete sources raise the subclasses below."""

    reference = "source-error"
    exit_code = 3

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


class SourceUnavailable(SourceError):
    """The source could not be reached (after retries)."""

    reference = "source-unavailable"


class SourceResponseError(SourceError):
    """The source answered with a status or body we cannot use."""

    reference = "source-response"

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        body_excerpt: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, url=url, hint=hint)
        self.status = status
        self.body_excerpt = body_excerpt


class ResponseTooLarge(SourceResponseError):
    """A response body exceeded the configured size cap."""

    reference = "response-too-large"


class OfflineMiss(SourceError):
    """Offline analysis needed a response the case does not hold."""

    reference = "offline-miss"
