"""Fleet scans and the lock-file gate: many projects investigated on one machine or a Dask
cluster, cross-project detectors, the `forensics.fleet/v1` report, and `forensics gate`."""

from __future__ import annotations

from forensics.fleet.detectors.interface import ProjectSummary
from forensics.fleet.scan import Engine, ScanSettings, run_projects

__all__ = ["Engine", "ProjectSummary", "ScanSettings", "run_projects"]
