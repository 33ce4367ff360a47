"""The JSON report written piece by piece is byte for byte what `json.dumps` gave.

`forensics.reports.jsonenc` replaces `json.dumps(indent=2, sort_keys=True, ensure_ascii=False)`
(and the CLI writes the report as it is made): every test here compares with `json.dumps` itself.
"""

from __future__ import annotations

import enum
import io
import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.analysis import Investigation
from forensics.models import (
    Confidence,
    EvidenceRef,
    Finding,
    LogEntry,
    Pep740Support,
    Severity,
    Skipped,
)
from forensics.reports import Format, StreamingRenderer, renderer_for
from forensics.reports.json_v1 import JsonRenderer, report_dict, write_report
from forensics.reports.jsonenc import IndentedEncoder, Lazy, scalar
from forensics.reports.sanitize import json_pieces, json_text
from forensics.timeline import RecoveredEntry, build_timeline
from tests.factories import T0, absent, attested, dist

_INVISIBLE = re.compile(
    "[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)


def reference(data: Any, indent: int = 2) -> str:
    """What `json_text` was: `json.dumps` with the invisible characters escaped afterwards."""
    text = json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=False)
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class Colour(enum.StrEnum):
    RED = "red"


class Rank(enum.IntEnum):
    TOP = 1


_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(["\u202e", "\x1b", "\x85", "\u2028", "\ufeff", '"', "\\", "\n", "é"]),
    max_size=12,
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | _TEXT
    | st.sampled_from([Colour.RED, Rank.TOP])
)
_KEYS = _TEXT | st.integers(-5, 5) | st.sampled_from([True, False, None, 1.5])
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_TEXT, inner, max_size=4)
        | st.dictionaries(_KEYS, inner, max_size=3)
    ),
    max_leaves=40,
)
_STR_KEYED = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(doc=_DOCS, indent=st.sampled_from([1, 2, 4]))
def test_same_text_as_json_dumps(doc: Any, indent: int) -> None:
    try:
        want = reference(doc, indent)
    except TypeError:  # keys json cannot sort (str next to int): it must fail here too
        with pytest.raises(TypeError):
            json_text(doc, indent=indent)
        return
    assert json_text(doc, indent=indent) == want


@settings(max_examples=100, deadline=None)
@given(
    doc=st.dictionaries(_TEXT, _STR_KEYED, min_size=1, max_size=4),
    lazy=st.lists(_STR_KEYED, max_size=4),
)
def test_lazy_arrays_are_written_as_lists(doc: dict[str, Any], lazy: list[Any]) -> None:
    made: list[int] = []

    def items() -> Any:
        for n, item in enumerate(lazy):
            made.append(n)
            yield item

    pieces = json_pieces({**doc, "\x00lazy": Lazy(items)})
    assert not made  # nothing is made before the text reaches it
    assert "".join(pieces) == reference({**doc, "\x00lazy": lazy})
    assert made == list(range(len(lazy)))


def test_scalars_and_edge_values() -> None:
    for value in ["", "é\u202e", 0, -1, 2**80, 1.0, 1e-300, math.inf, -math.inf, True, None]:
        assert scalar(value) == json.dumps(value, ensure_ascii=False)
    assert scalar(math.nan) == "NaN"
    for doc in [{}, [], {"a": {}}, {"a": []}, [[], {}], {"": [[[]]]}, ()]:
        assert json_text(doc) == reference(doc)


def test_values_json_cannot_write_fail_as_json_fails() -> None:
    for doc in [{"a": {"b": datetime(2024, 1, 1, tzinfo=UTC)}}, [[object()]], {"a": {1, 2}}]:
        with pytest.raises(TypeError, match="not JSON serializable"):
            json.dumps(doc)
        with pytest.raises(TypeError, match="not JSON serializable"):
            json_text(doc)
    with pytest.raises(TypeError):  # a Lazy array below the top-level object is not supported
        json_text({"a": [Lazy(list)]})


def test_a_lazy_array_is_made_one_item_at_a_time() -> None:
    alive: list[int] = []

    def items() -> Any:
        for n in range(3):
            alive.append(n)
            yield {"n": n, "big": ["x"] * 3}

    pieces = IndentedEncoder(2).pieces({"a": 1, "items": Lazy(items), "z": []})
    seen = []
    for piece in pieces:
        seen.append((piece, list(alive)))
    # every item has its own piece, written before the next item is made
    item_pieces = [(p, a) for p, a in seen if '"n": ' in p]
    assert [a for _p, a in item_pieces] == [[0], [0, 1], [0, 1, 2]]


def investigation() -> Investigation:
    """Releases with hostile text, deleted releases from the log, findings and skips."""
    files, prov = [], {}
    for i in range(6):
        version = f"1.0.{i}"
        up = T0 + timedelta(days=i)
        for name in (f"widget-{version}.tar.gz", f"widget-{version}-py3-none-any.whl"):
            d = dist(version, name, up)
            files.append(d)
            prov[name] = (
                absent()
                if i == 4
                else attested(
                    name,
                    up,
                    claims={"source_ref": f"refs/tags/v{version}\u202e", "note": "\x1b[2Jé"},
                    log_index=1000 + len(files),
                )
            )
    ev = EvidenceRef("https://log.example/entry/\u2066x", "0" * 64, T0)
    recovered = [
        RecoveredEntry(
            LogEntry(9000, T0 + timedelta(days=9), "dsse/0.0.1", verified=True),
            {"source_commit": "c" * 40},
            "widget-2.0.0.tar.gz",
            None,
            "2.0.0",
            "ref",
            (ev,),
        )
    ]
    tl = build_timeline("widget", files, prov, pep740=Pep740Support.YES, recovered=recovered)
    finding = Finding(
        "unlisted-log-entry",
        Severity.HIGH,
        Confidence.HIGH,
        "2.0.0: signed\u200b but deleted",
        "2.0.0",
        None,
        (ev,),
        {"b": "2", "a": "\x85"},
    )
    return Investigation(
        "widget",
        T0 + timedelta(days=10),
        {"index": {"base_url": "https://pypi.example", "pep740": "yes"}},
        tl,
        (finding,),
        (Skipped("github", "no GitHub source\u2028given"),),
        notes=("simulated: lab",),
        problems=("a problem \ufeff",),
        run={"verification": {"workers": 1}},
    )


def test_report_text_is_the_dumped_report_dict() -> None:
    inv = investigation()
    want = reference(report_dict(inv)) + "\n"
    assert "\\u202e" in want and "\u202e" not in want  # the escaping is exercised
    assert JsonRenderer().render(inv) == want
    out = io.StringIO()
    write_report(inv, out)
    assert out.getvalue() == want
    empty = Investigation(
        "widget", T0, {}, build_timeline("widget", [], {}, pep740=inv.timeline.pep740), (), ()
    )
    assert JsonRenderer().render(empty) == reference(report_dict(empty)) + "\n"


def test_only_the_json_renderer_streams() -> None:
    streaming = {f for f in Format if isinstance(renderer_for(f), StreamingRenderer)}
    assert streaming == {Format.JSON}


def test_cli_writes_the_same_bytes_to_a_file_and_to_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from forensics import cli

    inv = investigation()
    want = JsonRenderer().render(inv)
    target = tmp_path / "report.json"
    cli._write_report(JsonRenderer(), inv, target)
    assert target.read_bytes() == want.encode("utf-8")
    cli._write_report(JsonRenderer(), inv, None)
    assert capsys.readouterr().out == want


def test_an_interrupted_report_keeps_the_earlier_file_and_leaves_nothing_else(
    tmp_path: Path,
) -> None:
    from forensics import cli

    class Broken(JsonRenderer):
        def write(self, inv: Investigation, out: Any) -> None:
            out.write("{\n  partial")
            raise RuntimeError("rendering failed")

    target = tmp_path / "report.json"
    target.write_text("an older report", encoding="utf-8")
    with pytest.raises(RuntimeError):
        cli._write_report(Broken(), investigation(), target)
    assert target.read_text(encoding="utf-8") == "an older report"
    fresh = tmp_path / "new.json"
    with pytest.raises(RuntimeError):
        cli._write_report(Broken(), investigation(), fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no partial, no temp
    cli._write_report(JsonRenderer(), investigation(), target)
    assert target.read_text(encoding="utf-8") == JsonRenderer().render(investigation())


def test_a_report_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    from forensics import cli
    from forensics.errors import UsageError

    target = tmp_path / "missing-folder" / "report.json"
    with pytest.raises(UsageError, match="cannot write"):
        cli._write_report(JsonRenderer(), investigation(), target)
    assert not (tmp_path / "missing-folder").exists()


def test_every_format_goes_to_a_file_complete_or_not_at_all(tmp_path: Path) -> None:
    """Renderers that do not stream take the same path to a file as the JSON one."""
    from forensics import cli

    inv = investigation()
    for fmt in (Format.MARKDOWN, Format.TEXT, Format.SARIF):
        renderer = renderer_for(fmt)
        target = tmp_path / f"report.{fmt.value}"
        cli._write_report(renderer, inv, target)
        assert target.read_text(encoding="utf-8") == renderer.render(inv)

    class Failing(type(renderer_for(Format.MARKDOWN))):  # type: ignore[misc]
        def render(self, inv: Investigation) -> str:
            raise RuntimeError("rendering failed")

    kept = tmp_path / "report.markdown"
    before = kept.read_text(encoding="utf-8")
    with pytest.raises(RuntimeError):
        cli._write_report(Failing(), inv, kept)
    assert kept.read_text(encoding="utf-8") == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
