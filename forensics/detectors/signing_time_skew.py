"""Detector: the signature's log time does not fit the upload time.

A Trusted-Publishing upload is signed, logged and uploaded within seconds to minutes (1-5 s in the
real data; 18 s for a SLSA attestation made before the publish step). An attestation logged long
*before* the upload is a reused or backdated signature; one logged *after* the upload was attached
later. Only Rekor v1 integration times are used: Rekor v2 has none, and none is invented. A lag
after the upload is judged against the line's own upload-to-log latencies (log scale, median and
MAD): a line whose signatures are always logged late is not flagged for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from forensics.detectors.interface import (
    AnalysisContext,
    Detector,
    DetectorInfo,
    Requirement,
    doc_paragraph,
)
from forensics.models import Confidence, Finding, Severity, isoformat
from forensics.timeline.baseline import EarlierValues, robust_scale, upload_to_log_seconds

#: How long before an upload a signature may be logged before it is suspicious.
MAX_LEAD = timedelta(hours=1)
#: How long after an upload a signature may be logged (clock granularity, retries).
MAX_LAG = timedelta(minutes=5)
#: Robust z-score (log scale) above which a lag is unusual for the line.
UNUSUAL = 3.5


MOTIVATION = doc_paragraph(__doc__)


class SigningTimeSkew(Detector):
    """One finding per file whose log time is outside [upload - 1 h, upload + 5 min]."""

    info = DetectorInfo(
        id="signing-time-skew",
        title="Attestation logged long before, or after, the file's upload",
        requires=frozenset({Requirement.PEP740}),
        motivation=MOTIVATION,
        caveats="Retroactive signing of old files (done in tests and demos) also triggers it.",
    )

    def run(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Compare each log entry's integrated time with the file's upload time."""
        out = []
        releases = ctx.timeline.releases
        latency = {rel.version: upload_to_log_seconds(rel) for rel in releases}
        earlier_of = EarlierValues(releases, lambda r: latency[r.version])
        for rel in releases:
            skewed = any(
                e.integrated_time is not None
                and fv.dist.upload_time is not None
                and (
                    fv.dist.upload_time - e.integrated_time > MAX_LEAD
                    or e.integrated_time - fv.dist.upload_time > MAX_LAG
                )
                for fv in rel.files
                for e in fv.provenance.log_entries
            )
            if not skewed:
                continue
            earlier = earlier_of(rel)
            scale = robust_scale(earlier[1]) if earlier else None
            for fv in rel.files:
                upload = fv.dist.upload_time
                if upload is None:
                    continue
                for entry in fv.provenance.log_entries:
                    t = entry.integrated_time
                    if t is None:
                        continue
                    skew = upload - t
                    if skew > MAX_LEAD:
                        what, severity = "before", Severity.HIGH
                    elif -skew > MAX_LAG:
                        what, severity = "after", Severity.MEDIUM
                        lag = -skew.total_seconds()
                        if scale is not None and (
                            scale.score(lag) < UNUSUAL or lag <= max(earlier[1] if earlier else [0])
                        ):
                            severity = Severity.LOW
                    else:
                        continue
                    out.append(
                        self.finding(
                            severity=severity,
                            confidence=Confidence.MEDIUM,
                            summary=(
                                f"{fv.dist.filename}: log entry {entry.log_index} was "
                                f"integrated at {isoformat(t)}, {abs(skew)} {what} the upload "
                                f"at {isoformat(upload)}"
                                + (
                                    f"; {scale.n} earlier release(s) of the baseline: median "
                                    f"{10**scale.median:.0f} s from upload to log"
                                    if scale
                                    else "; no latency baseline yet"
                                )
                            ),
                            release=rel,
                            file=fv,
                            values={
                                "log_index": str(entry.log_index),
                                "integrated_time": isoformat(t) or "",
                                "upload_time": isoformat(upload) or "",
                                "skew_seconds": str(int(skew.total_seconds())),
                                "max_lead_seconds": str(int(MAX_LEAD.total_seconds())),
                                "max_lag_seconds": str(int(MAX_LAG.total_seconds())),
                                "baseline_median_seconds": (
                                    f"{10**scale.median:.1f}" if scale else ""
                                ),
                                "baseline_scope": earlier[0].label if earlier else "",
                            },
                            tip="A signature logged long before the upload is reused or "
                            "backdated; compare the certificate's validity with the release.",
                        )
                    )
        return out
