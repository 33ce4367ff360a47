"""pandas view for notebooks: one row per file (pandas is optional and imported lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from forensics.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from forensics.analysis import Investigation


def rows(inv: Investigation) -> list[dict[str, Any]]:
    """Plain rows (no pandas needed)."""
    out: list[dict[str, Any]] = []
    for rel in inv.timeline.releases:
        base = {"version": rel.version, "state": rel.state.value, "deleted": rel.deleted}
        if not rel.files:
            out.append({**base, "filename": None, "upload_time": rel.first_upload})
        for fv in rel.files:
            entries = fv.provenance.log_entries
            out.append(
                {
                    **base,
                    "filename": fv.dist.filename,
                    "sha256": fv.dist.sha256,
                    "upload_time": fv.dist.upload_time,
                    "yanked": fv.dist.yanked,
                    "status": fv.provenance.status.value,
                    "reason": fv.provenance.reason,
                    "publisher": fv.provenance.publisher.identity
                    if fv.provenance.publisher
                    else None,
                    "source_commit": fv.provenance.claims.get("source_commit"),
                    "source_ref": fv.provenance.claims.get("source_ref"),
                    "log_index": entries[0].log_index if entries else None,
                    "integrated_time": entries[0].integrated_time if entries else None,
                }
            )
    return out


def to_frame(inv: Investigation) -> pd.DataFrame:
    """A DataFrame of `rows(inv)`."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise UsageError(
            "to_frame() needs pandas", hint="pip install pandas, or use rows() instead"
        ) from exc
    frame = pd.DataFrame(rows(inv))
    if "log_index" in frame:
        # releases without log entries would otherwise turn the column into floats
        frame["log_index"] = frame["log_index"].astype("Int64")
    return frame


def events_frame(inv: Investigation) -> pd.DataFrame:
    """The timeline's events, one row per event, in Timesketch's columns (`datetime` parsed)."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise UsageError(
            "events_frame() needs pandas", hint="pip install pandas, or use --format timesketch"
        ) from exc
    from forensics.reports.timesketch import COLUMNS, events

    frame = pd.DataFrame(events(inv), columns=list(COLUMNS))
    frame["datetime"] = pd.to_datetime(frame["datetime"], utc=True, format="ISO8601")
    return frame
