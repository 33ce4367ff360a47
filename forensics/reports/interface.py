"""The renderer seam: every format consumes the same `Investigation` and returns text."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TextIO, assert_never, runtime_checkable

if TYPE_CHECKING:
    from forensics.analysis import Investigation
    from forensics.timeline import ReleaseView


class Renderer(Protocol):
    """Turns an investigation into one output format."""

    def render(self, inv: Investigation) -> str:
        """Return the whole document."""
        ...


@runtime_checkable
class StreamingRenderer(Renderer, Protocol):
    """A renderer that can also write its document as it makes it (the same text as `render`),
    for documents too large to hold whole (the JSON report of a long history)."""

    def write(self, inv: Investigation, out: TextIO) -> None:
        """Write the whole document to `out`."""
        ...


def source_location(src: Mapping[str, Any]) -> str:
    """Where a source's evidence came from: its base URL, its stored URL, or its origin (for the
    verification: which verifier, against which trusted root)."""
    for key in ("base_url", "origin", "url"):
        if src.get(key):
            return str(src[key])
    if src.get("digest"):  # the case itself: its digest over every row, blob and case.json
        partial = " (collection incomplete)" if src.get("complete") is False else ""
        return f"digest {src['digest']}{partial}"
    if src.get("verifier"):
        root = str(src.get("trust_root_sha256", ""))[:12]
        return f"verifier {src['verifier']}" + (f", trusted root sha256 {root}…" if root else "")
    return ""


def release_state_label(rel: ReleaseView) -> str:
    """A release's states in words; a deleted release says where it is still known from."""
    if rel.deleted:
        return "deleted, " + ("known from the log" if rel.recovered else "reported only")
    return "+".join(s.value for s in rel.states)


class Format(enum.StrEnum):
    """Output formats of `forensics investigate --format`."""

    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"
    SARIF = "sarif"
    TIMESKETCH = "timesketch"
    """Timesketch JSONL: one event per line."""
    TIMESKETCH_CSV = "timesketch-csv"
    """Timesketch CSV: one event per row."""


def renderer_for(fmt: Format, *, color: bool = False, width: int = 120) -> Renderer:
    """The renderer for a format."""
    if fmt is Format.JSON:
        from forensics.reports.json_v1 import JsonRenderer

        return JsonRenderer()
    if fmt is Format.MARKDOWN:
        from forensics.reports.markdown import MarkdownRenderer

        return MarkdownRenderer()
    if fmt is Format.HTML:
        from forensics.reports.html import HtmlRenderer

        return HtmlRenderer()
    if fmt is Format.SARIF:
        from forensics.reports.sarif import SarifRenderer

        return SarifRenderer()
    if fmt in (Format.TIMESKETCH, Format.TIMESKETCH_CSV):
        from forensics.reports.timesketch import TimesketchRenderer

        return TimesketchRenderer(csv=fmt is Format.TIMESKETCH_CSV)
    if fmt is Format.TEXT:
        from forensics.reports.text import TextRenderer

        return TextRenderer(color=color, width=width)
    assert_never(fmt)
