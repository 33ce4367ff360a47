"""The timeline: a networkx graph of everything known about a project, events and release states."""

from forensics.timeline.build import (
    FileView,
    RecoveredEntry,
    ReleaseView,
    ReportedRelease,
    Timeline,
    TimelineEvent,
    build_timeline,
)
from forensics.timeline.states import ReleaseState

__all__ = [
    "FileView",
    "RecoveredEntry",
    "ReleaseState",
    "ReleaseView",
    "ReportedRelease",
    "Timeline",
    "TimelineEvent",
    "build_timeline",
]
