"""provenance-forensics: reconstruct what really happened to a PyPI project's releases.

The public API for notebooks and scripts::

    import forensics
    inv = forensics.investigate("sampleproject", case="cases/sampleproject")
    inv.timeline.releases, inv.findings, inv.to_json(), inv.to_frame()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "EvidenceStore",
    "Investigation",
    "ProvenanceVerifier",
    "__version__",
    "analyze",
    "investigate",
]

if TYPE_CHECKING:
    from forensics.analysis import Investigation, analyze
    from forensics.api import investigate
    from forensics.evidence import EvidenceStore
    from forensics.provenance.verify import ProvenanceVerifier

_LAZY = {
    "Investigation": "forensics.analysis",
    "analyze": "forensics.analysis",
    "investigate": "forensics.api",
    "EvidenceStore": "forensics.evidence",
    "ProvenanceVerifier": "forensics.provenance.verify",
}


def __getattr__(name: str) -> Any:
    """Import the heavy modules (sigstore, httpx) only when they are used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'forensics' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
