"""The explicit, ordered registry of detectors. No import-time side effects, no plugins."""

from __future__ import annotations

from forensics.detectors.attestation_invalid import AttestationInvalid
from forensics.detectors.attested_source_missing import AttestedSourceMissing
from forensics.detectors.claim_drift import ClaimDrift
from forensics.detectors.commit_reuse import CommitReuse
from forensics.detectors.interface import Detector
from forensics.detectors.log_entry_mismatch import LogEntryMismatch
from forensics.detectors.log_identity_unexpected import LogIdentityUnexpected
from forensics.detectors.missing_tag import MissingTag
from forensics.detectors.partial_provenance import PartialProvenance
from forensics.detectors.provenance_lost import ProvenanceLost
from forensics.detectors.publisher_changed import PublisherChanged
from forensics.detectors.reported_not_in_log import ReportedNotInLog
from forensics.detectors.self_hosted_runner import SelfHostedRunner
from forensics.detectors.signing_time_skew import SigningTimeSkew
from forensics.detectors.unlisted_log_entry import UnlistedLogEntry
from forensics.detectors.untrusted_trigger import UntrustedTrigger
from forensics.detectors.workflow_edited import WorkflowEdited

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
)
