"""Indented, key-sorted JSON text, produced piece by piece, byte for byte what `json.dumps` gives.

`json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)` (the report's canonical form)
uses the pure-Python encoder as soon as `indent` is set: a generator per container and a string
per value, all collected into one list before they are joined. A 2,500-release report is 50 MB
of text and several million such strings: about a second, and 200 MB above the investigation at
its peak. `pieces()` writes the same text with two changes of method, none of result:

* a container holding only scalars (most of the report: claims, publishers, log entries,
  evidence references) is written by the C encoder in one call, with the item separator set to
  `,` plus the line break and indentation of its depth; only its brackets are placed here;
* `Lazy` stands for an array whose items are made on demand (a report's releases and events),
  so that a caller can write the document to a file while only one item exists at a time.

Anything the fast paths do not cover exactly (a key that is not a string, a value of another
type) goes through `json.dumps` itself, re-indented to its depth: a line break only ever occurs
between tokens of the encoder's output (inside strings it is escaped), so putting the depth's
indentation after every line break of a subtree's text is exactly encoding it at that depth.
`tests/reports/test_json_stream.py` compares both encoders on generated documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring  # the C function when available, as json.dumps uses
from typing import Any

_SCALARS = (str, int, float, bool, type(None))


class Lazy:
    """A JSON array whose items `make()` produces when the text reaches it."""

    def __init__(self, make: Callable[[], Iterable[Any]]) -> None:
        self.make = make


_NESTED = (dict, list, tuple, Lazy)


def scalar(value: str | int | float | bool | None) -> str:
    """One scalar as `json.dumps(value, ensure_ascii=False)` writes it (same tests, same order)."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


class IndentedEncoder:
    """`json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False)` as pieces of text."""

    def __init__(self, indent: int = 2) -> None:
        self.indent = indent
        self._pads: list[str] = []
        self._flat: list[Callable[[Any], str]] = []

    def _pad(self, level: int) -> str:
        """A line break and the indentation of depth `level`."""
        while len(self._pads) <= level:
            self._pads.append("\n" + " " * (self.indent * len(self._pads)))
        return self._pads[level]

    def _flat_encoder(self, level: int) -> Callable[[Any], str]:
        """The C encoder that writes a flat container's items as at depth `level`."""
        while len(self._flat) <= level:
            sep = "," + self._pad(len(self._flat) + 1)
            self._flat.append(
                json.JSONEncoder(
                    ensure_ascii=False, sort_keys=True, separators=(sep, ": "), check_circular=False
                ).encode
            )
        return self._flat[level]

    def _reference(self, obj: Any, level: int) -> str:
        """`obj` through `json.dumps` itself, indented as at depth `level`."""
        text = json.dumps(obj, indent=self.indent, sort_keys=True, ensure_ascii=False)
        return text.replace("\n", self._pad(level)) if level else text

    def pieces(self, obj: Any) -> Iterator[str]:
        """The text of `obj` in pieces: one per item of a `Lazy` value of a top-level object
        (and one per other value of it), else one."""
        if not (isinstance(obj, dict) and any(isinstance(v, Lazy) for v in obj.values())):
            out: list[str] = []
            self._value(obj, 0, out)
            yield "".join(out)
            return
        if any(type(k) is not str for k in obj):
            raise TypeError("a JSON object with Lazy values needs string keys")
        inner = self._pad(1)
        sep = "{" + inner
        for key in sorted(obj):
            value = obj[key]
            if isinstance(value, Lazy):
                yield sep + scalar(key) + ": "
                yield from self._lazy(value)
            else:
                out = [sep, scalar(key), ": "]
                self._value(value, 1, out)
                yield "".join(out)
            sep = "," + inner
        yield self._pad(0) + "}"

    def _lazy(self, lazy: Lazy) -> Iterator[str]:
        """A `Lazy` array at depth 1, one piece per item."""
        inner = self._pad(2)
        sep = "[" + inner
        for item in lazy.make():
            out = [sep]
            self._value(item, 2, out)
            yield "".join(out)
            sep = "," + inner
        yield "[]" if sep[0] == "[" else self._pad(1) + "]"

    def _value(self, obj: Any, level: int, out: list[str]) -> None:
        """Append the text of `obj` at depth `level` to `out`."""
        if isinstance(obj, dict):
            if not obj:
                out.append("{}")
            elif any(type(k) is not str for k in obj):
                out.append(self._reference(obj, level))
            elif any(isinstance(v, _NESTED) for v in obj.values()):
                self._dict(obj, level, out)
            else:
                out.append(self._flat_text(obj, level))
        elif isinstance(obj, (list, tuple)):
            if not obj:
                out.append("[]")
            elif any(isinstance(v, _NESTED) for v in obj):
                self._array(obj, level, out)
            else:
                out.append(self._flat_text(obj, level))
        else:
            out.append(self._scalar(obj, level))

    def _scalar(self, obj: Any, level: int) -> str:
        if isinstance(obj, _SCALARS):
            return scalar(obj)
        return self._reference(obj, level)  # raises json's own TypeError (or Lazy misplaced)

    def _flat_text(self, obj: dict[str, Any] | list[Any] | tuple[Any, ...], level: int) -> str:
        try:
            text = self._flat_encoder(level)(obj)
        except TypeError:
            return self._reference(obj, level)  # a value of another type: json decides
        return text[0] + self._pad(level + 1) + text[1:-1] + self._pad(level) + text[-1]

    def _dict(self, obj: dict[str, Any], level: int, out: list[str]) -> None:
        inner = self._pad(level + 1)
        sep = "{" + inner
        for key in sorted(obj):
            value = obj[key]
            if isinstance(value, _NESTED):
                out.append(sep + scalar(key) + ": ")
                self._value(value, level + 1, out)
            else:
                out.append(sep + scalar(key) + ": " + self._scalar(value, level + 1))
            sep = "," + inner
        out.append(self._pad(level) + "}")

    def _array(self, items: list[Any] | tuple[Any, ...], level: int, out: list[str]) -> None:
        inner = self._pad(level + 1)
        sep = "[" + inner
        for item in items:
            if isinstance(item, _NESTED):
                out.append(sep)
                self._value(item, level + 1, out)
            else:
                out.append(sep + self._scalar(item, level + 1))
            sep = "," + inner
        out.append(self._pad(level) + "]")
