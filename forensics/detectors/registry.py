"""The explicit, ordered registry of detectors. No import-time side effects, no plugins."""

from __future__ import annotations

from forensics.detectors.attestation_invalid import AttestationInvalid
from forensics.detectors.attested_source_missing import AttestedSourceMissing
from forensics.detectors.claim_drift import ClaimDrift
from forensics.detectors.commit_reuse import CommitReuse
from forensics.detectors.dormancy_burst import DormancyBurst
from forensics.detectors.file_set_shape import FileSetShape
from forensics.detectors.interface import Detector
from forensics.detectors.late_file import LateFile
from forensics.detectors.log_entry_mismatch import LogEntryMismatch
from forensics.detectors.log_identity_unexpected import LogIdentityUnexpected
from forensics.detectors.missing_tag import MissingTag
from forensics.detectors.partial_provenance import PartialProvenance
from forensics.detectors.provenance_lost import ProvenanceLost
from forensics.detectors.publisher_changed import PublisherChanged
from forensics.detectors.reported_not_in_log import ReportedNotInLog
from forensics.detectors.requires_python_drop import RequiresPythonDrop
from forensics.detectors.self_hosted_runner import SelfHostedRunner
from forensics.detectors.signing_time_skew import SigningTimeSkew
from forensics.detectors.size_outlier import SizeOutlier
from forensics.detectors.source_tag_missing import SourceTagMissing
from forensics.detectors.unlisted_log_entry import UnlistedLogEntry
from forensics.detectors.untrusted_trigger import UntrustedTrigger
from forensics.detectors.version_gap import VersionGap
from forensics.detectors.workflow_edited import WorkflowEdited
from forensics.detectors.yanked_security import YankedSecurity

DETECTORS: tuple[type[Detector], ...] = (
    AttestationInvalid,
    ProvenanceLost,
    PartialProvenance,
    PublisherChanged,
    ClaimDrift,
    CommitReuse,
    UntrustedTrigger,
    SelfHostedRunner,
    SigningTimeSkew,
    UnlistedLogEntry,
    ReportedNotInLog,
    LogEntryMismatch,
    LogIdentityUnexpected,
    WorkflowEdited,
    MissingTag,
    AttestedSourceMissing,
    # index-only signals
    YankedSecurity,
    LateFile,
    FileSetShape,
    RequiresPythonDrop,
    DormancyBurst,
    SizeOutlier,
    VersionGap,
    SourceTagMissing,
)
