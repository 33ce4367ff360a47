"""The timeline: the one joined model of a project's history that detectors read.

`build_timeline` joins index files, provenance verdicts, transparency-log answers and source-host
(GitHub) answers per release; `baseline` learns the project's normal release process per release
line from the timeline (pure, no I/O).
"""

from forensics.collect.github_parse import Commit, Run
from forensics.timeline.build import (
    Channel,
    ClaimSet,
    FileView,
    LogCheck,
    RecoveredEntry,
    ReleaseView,
    ReportedRelease,
    SourceFacts,
    TagIndex,
    Timeline,
    TimelineEvent,
    build_timeline,
    workflow_file,
)
from forensics.timeline.states import ReleaseState

__all__ = [
    "Channel",
    "ClaimSet",
    "Commit",
    "FileView",
    "LogCheck",
    "RecoveredEntry",
    "ReleaseState",
    "ReleaseView",
    "ReportedRelease",
    "Run",
    "SourceFacts",
    "TagIndex",
    "Timeline",
    "TimelineEvent",
    "build_timeline",
    "workflow_file",
]
