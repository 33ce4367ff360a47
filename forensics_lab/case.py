"""Make an investigation case from a lab scenario: build the world, serve it on loopback, and
collect it with the ordinary clients (index, log, intel), exactly as a real project is collected.

The case is marked simulated and carries the world's list of what is invented, so that every
report made from it says so.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path

from forensics.api import collect
from forensics.evidence import CaseMeta, EvidenceStore
from forensics.trust import TrustMaterial
from forensics_lab.build import build_world
from forensics_lab.scenario import load_scenario
from forensics_lab.serve import LabServer


def build_case(
    scenario: Path,
    case_dir: Path,
    *,
    as_of: datetime | None = None,
    seed: int | None = None,
    with_log: bool = True,
    mirror: bool = False,
) -> Path:
    """Collect the scenario's world into `case_dir` (the index as it stood at `as_of`)."""
    with tempfile.TemporaryDirectory(prefix="forensics-lab-case-") as tmp:
        world = build_world(load_scenario(scenario), Path(tmp) / "world", seed=seed)
        manifest = json.loads((world / "world.json").read_bytes())
        intel = world / "intel.toml"
        has_intel = with_log and "[[seed]]" in intel.read_text(encoding="utf-8")
        with (
            LabServer(world, as_of=as_of, pep740=not mirror) as server,
            EvidenceStore.open(case_dir) as store,
        ):
            collect(
                manifest["project"],
                store,
                index_url=server.url,
                rekor_url=server.url if with_log else None,
                github_url=server.url,
                intel=intel if has_intel else None,
                trust=TrustMaterial(
                    (world / "trusted_root.json").read_bytes(),
                    f"the lab trusted root of scenario {manifest['scenario']!r} "
                    f"(seed {manifest['seed']})",
                ),
                concurrency=4,
            )
            meta = store.read_meta()
            assert meta is not None
            notes = [
                f"lab reconstruction of scenario {manifest['scenario']!r} "
                f"(seed {manifest['seed']})",
                *(f"simulated: {s}" for s in manifest.get("simulated", [])),
            ]
            if as_of is not None:
                notes.append(f"the lab index was served as it stood at {as_of.isoformat()}")
            store.write_meta(
                CaseMeta(
                    project=meta.project, sources=meta.sources, simulated=True, notes=tuple(notes)
                )
            )
    return case_dir
