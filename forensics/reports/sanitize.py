"""The one place each output format neutralises untrusted text (metadata, commit messages, URLs...).

Anything a package uploader, a commit author or a log entry controls may carry terminal escapes
(`\\x1b[2J` clears a screen), bidirectional overrides that reorder what a reader sees, HTML or
Markdown. Every renderer passes every such string through the function for its format here,
exactly once, at the point it writes the string:

* `visible`: control and invisible-formatting characters become printable escapes (`\\x1b`,
  `\\u202e`); every other function starts with it, so no format ever carries them raw;
* `terminal`: `visible` (rich is given `Text` objects, so `[red]` stays literal);
* `html_text`: `visible`, then HTML-escaped (quotes too: also safe in attributes);
* `md_text`: `visible`, then HTML- and Markdown-escaped for paragraphs and table cells;
* `md_code`: `visible`, then a code span fenced with more backticks than the text contains, so
  `trusted_root.json` shows no backslashes and a backtick cannot close the span early;
* `json_text`: canonical JSON text whose C1 controls and bidi overrides are `\\u` escapes too
  (`json.dumps` escapes only C0).
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from forensics.reports.jsonenc import IndentedEncoder

# C0, DEL, C1, plus the Unicode "format" characters that change what a reader sees without
# being visible themselves (bidi embeddings/overrides/isolates, zero-width joiners, BOM...).
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb]"
)


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """`text` with every control/invisible character replaced by a printable escape."""
    s = str(text)
    s = _INVISIBLE.sub(_escape_char, s)
    # tag characters and other Cf outside the table above (rare; checked only when present)
    if _ASTRAL.search(s):
        s = "".join(f"\\U{ord(c):08x}" if unicodedata.category(c) == "Cf" else c for c in s)
    return s


def terminal(text: object) -> str:
    """Safe for a terminal (pass the result to rich as `Text`, never as markup)."""
    return visible(text)


def html_text(text: object) -> str:
    """Safe as HTML text or a quoted attribute value."""
    return html.escape(visible(text), quote=True)


_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]()#+!|<>~"})


def md_text(text: object) -> str:
    """Safe as a Markdown paragraph or table cell (no markup, no HTML, one line)."""
    return html.escape(visible(text), quote=False).translate(_MD_SPECIAL)


def md_code(text: object, *, table: bool = False) -> str:
    """A Markdown code span showing `text` literally (fenced longer than any backtick run).

    In a table cell a pipe would end the cell even inside a code span (GFM), so it is escaped
    there; GFM removes that backslash before rendering the span.
    """
    s = visible(text)
    if table:
        s = s.replace("|", "\\|")
    runs = [len(r) for r in re.findall(r"`+", s)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


_JSON_INVISIBLE = re.compile(
    "[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)


def _json_escape(text: str) -> str:
    # These characters can only occur inside JSON strings, where \\uXXXX is their exact escape;
    # each is replaced on its own, so escaping pieces of a text one by one escapes the text.
    return _JSON_INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """Canonical JSON (sorted keys) with every invisible character `\\u`-escaped."""
    if indent is not None and indent > 0:
        return "".join(json_pieces(data, indent=indent))
    return _json_escape(
        json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    )


def json_pieces(data: Any, *, indent: int = 2) -> Iterator[str]:
    """`json_text(data, indent=indent)` in pieces of about a megabyte.

    `forensics.reports.jsonenc` writes the same text as `json.dumps(indent=..., sort_keys=True)`
    without holding all of it; `Lazy` arrays in `data` are made as the text reaches them."""
    for batch in batched_text(IndentedEncoder(indent).pieces(data)):
        yield _json_escape(batch)


def batched_text(pieces: Iterable[str], size: int = 1 << 20) -> Iterator[str]:
    """`pieces` joined into strings of about `size` characters (few writes, bounded memory)."""
    batch: list[str] = []
    length = 0
    for piece in pieces:
        batch.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(batch)
            batch, length = [], 0
    if batch:
        yield "".join(batch)
