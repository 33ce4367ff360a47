"""Cross-project detectors: pure functions of the fleet's per-project summaries."""

from __future__ import annotations

from forensics.fleet.detectors.interface import (
    FleetContext,
    FleetDetector,
    ProjectSummary,
    ReleaseSummary,
    Signer,
)
from forensics.fleet.detectors.registry import FLEET_DETECTORS, run_fleet_detectors

__all__ = [
    "FLEET_DETECTORS",
    "FleetContext",
    "FleetDetector",
    "ProjectSummary",
    "ReleaseSummary",
    "Signer",
    "run_fleet_detectors",
]
