"""SARIF 2.1.0 output, so CI systems and code-scanning UIs can show findings.

Rules come from the detector registry; each result names the release (and file) as a logical
location and carries its evidence URLs as related locations. Severity maps to SARIF `level`
(critical/high -> error, medium -> warning, low/info -> note); confidence goes into
`properties`, since SARIF has no field for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from forensics import __version__
from forensics.detectors.registry import DETECTORS
from forensics.models import Severity
from forensics.reports.json_v1 import dumps
from forensics.verdict import assess

if TYPE_CHECKING:
    from forensics.analysis import Investigation

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def sarif_dict(inv: Investigation) -> dict[str, Any]:
    """The SARIF log as a dict."""
    a = assess(inv)
    verdicts = {v.version: v for v in a.verdicts}
    rules = [
        {
            "id": d.info.id,
            "name": d.info.id,
            "shortDescription": {"text": d.info.title},
            "fullDescription": {"text": d.info.motivation or d.info.title},
            "help": {"text": d.info.caveats or d.info.motivation or d.info.title},
            "helpUri": d.info.docs_url,
        }
        for d in DETECTORS
    ]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in inv.findings:
        name = f"{inv.project}=={f.version}" if f.version else inv.project
        if f.filename:
            name += f"/{f.filename}"
        results.append(
            {
                "ruleId": f.detector,
                "ruleIndex": index.get(f.detector, -1),
                "level": _LEVEL[f.severity],
                "message": {"text": f.summary},
                "locations": [{"logicalLocations": [{"name": name, "kind": "package"}]}],
                "relatedLocations": [
                    {
                        "id": i,
                        "physicalLocation": {"artifactLocation": {"uri": ev.url}},
                        "message": {"text": f"sha256 {ev.sha256} {ev.note}".strip()},
                    }
                    for i, ev in enumerate(f.evidence)
                ],
                "partialFingerprints": {"forensicsFindingId": f.id},
                "properties": {
                    "verdict": verdicts[f.version].verdict.value if f.version in verdicts else None,
                    "severity": f.severity.value,
                    "confidence": f.confidence.value,
                    "values": dict(sorted(f.values.items())),
                },
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "provenance-forensics",
                        "version": __version__,
                        "informationUri": "https://github.com/provenance-forensics",
                        "rules": rules,
                    }
                },
                "results": results,
                "invocations": [
                    {
                        # SARIF's own place for "the tool could not do all it should": a run
                        # whose checks did not all run is not a clean bill of health
                        "executionSuccessful": a.coverage.complete,
                        "toolExecutionNotifications": [
                            {"level": "warning", "message": {"text": line}}
                            for line in a.coverage.headlines()
                        ],
                    }
                ],
                "properties": {
                    "project": inv.project,
                    "simulated": inv.simulated,
                    "verdicts": [v.to_json() for v in a.attention()],
                    "coverage": a.coverage.to_json(),
                },
            }
        ],
    }


class SarifRenderer:
    """Renders SARIF 2.1.0."""

    def render(self, inv: Investigation) -> str:
        """The SARIF document."""
        return dumps(sarif_dict(inv))
