"""Detectors: pure checks over the timeline, one per module, listed in `registry.DETECTORS`."""

from forensics.detectors.interface import AnalysisContext, Detector, DetectorInfo, Requirement
from forensics.detectors.registry import DETECTORS
from forensics.detectors.run import run_detectors

__all__ = [
    "DETECTORS",
    "AnalysisContext",
    "Detector",
    "DetectorInfo",
    "Requirement",
    "run_detectors",
]
