"""The explicit, ordered registry of cross-project detectors. No plugins, no import side effects."""

from __future__ import annotations

from forensics.fleet.detectors.interface import FleetContext, FleetDetector
from forensics.fleet.detectors.shared_run import SharedRun
from forensics.fleet.detectors.shared_workflow import SharedWorkflowChange
from forensics.fleet.detectors.signer_spread import SignerSpread
from forensics.fleet.detectors.token_spree import TokenSpree
from forensics.models import Finding

FLEET_DETECTORS: tuple[type[FleetDetector], ...] = (
    TokenSpree,
    SignerSpread,
    SharedRun,
    SharedWorkflowChange,
)


def run_fleet_detectors(ctx: FleetContext) -> tuple[Finding, ...]:
    """Every cross-project finding, ordered by severity (worst first), then by id."""
    found = [f for cls in FLEET_DETECTORS for f in cls().run(ctx)]
    return tuple(sorted(found, key=lambda f: (-f.severity.rank, f.id, f.summary)))
