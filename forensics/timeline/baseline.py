"""The per-project baseline: what a project's release process normally looks like, per release line.

Pure: reads a `Timeline`, never the clock. A release is judged against the releases *before* it in
its own release line (`forensics.versions.release_line`: `3.1`), falling back to its major family
(`3.x`) and then to the whole project when the line is young, never against its predecessor alone.
That is what keeps a 2.x backport uploaded after a 3.x pre-release from being compared with the
pre-release, and the second release of a burst from being compared with the (already deviant) first.

Categorical attributes (the identity claims of the signing certificate, the publisher kind, the
publishing channel, the tag naming) are counted with their support; a missing value is a value of
its own (`MISSING`), so a deployment environment that disappears is a change. A deviation is a
value the comparison set never had:

* with fewer than `MIN_SUPPORT` earlier observations there is no baseline yet (`cold`): detectors
  report at most `info`;
* a new value that the following releases of the same group keep (`PERSIST` releases in all) is a
  *transition*: reported once, at the first release, with "persisted for N releases", and it becomes
  part of the baseline (so a later return to the old value is not an anomaly either);
* a new value that does not persist is an *excursion*: every release of it is a deviation (each is
  compared with the baseline, which the excursion does not enter while it lasts), and the release
  that returns to the usual value is normal. Once it has returned, the excursion is history: a
  later recurrence of a value seen once, as a deviation, is reported a step lower (`recurrence`),
  and after that it is part of the process.

Numbers (upload-to-log latency) are compared on a log scale with median and MAD (`robust_scale`).
`group_by_line` and `comparison_scope` are the per-line grouping other detectors reuse.
"""

from __future__ import annotations

import bisect
import enum
import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from forensics.models import Severity
from forensics.timeline.build import Channel, ClaimSet, ReleaseView, Timeline
from forensics.versions import parse_version, ref_pattern, release_line, version_from_tag

#: The value of an attribute a release's claims do not carry.
MISSING = "(none)"
#: What a claim reader returns when this kind of evidence cannot tell the attribute at all.
UNOBSERVED = "\x00unobserved"
#: Earlier observations needed before a deviation can be more than `info`.
MIN_SUPPORT = 2
#: Earlier observations needed before a deviation can be `high`.
STRONG_SUPPORT = 3
#: Releases a new value must hold (the first included) to become the new normal.
PERSIST = 3
#: A line (or major family) needs this many earlier observations to be its own baseline.
SCOPE_MIN = 3


class Strength(enum.IntEnum):
    """How strong the evidence behind an attribute is."""

    INTEL = 0
    INDEX = 1
    """Index metadata (upload times, file lists): anyone with an upload token controls it."""
    CERTIFICATE = 2
    """A verified claim of a signing certificate, bound by Fulcio to the CI identity."""


@dataclass(frozen=True)
class Attribute:
    """One categorical attribute of a release, and how to read it from the timeline."""

    name: str
    label: str
    """How a message names it: `built from`, `signed by workflow`, ..."""
    strength: Strength
    severity: Severity
    """Severity of an unexplained change with full support."""
    read: Callable[[ReleaseView], str | None]
    """The release's value, `MISSING` when absent, None when the release cannot be observed."""


def _claim_sets(rel: ReleaseView, served_only: bool) -> tuple[ClaimSet, ...]:
    return rel.served_claims if served_only else rel.claims


def claim_value(
    rel: ReleaseView,
    read: Callable[[ClaimSet], str | None],
    *,
    served_only: bool = False,
) -> str | None:
    """The one value of a claim across a release's claim sets (sorted and joined when several)."""
    values = sorted(
        {
            v if v else MISSING
            for c in _claim_sets(rel, served_only)
            for v in [read(c)]
            if v != UNOBSERVED
        }
    )
    return " + ".join(values) if values else None


def _claim(name: str) -> Callable[[ClaimSet], str | None]:
    return lambda c: c.claims.get(name)


def _repository(c: ClaimSet) -> str | None:
    if c.publisher is not None and c.publisher.repository:
        return c.publisher.repository
    uri = c.claims.get("source_repository")
    return uri.removeprefix("https://github.com/") if uri else None


def _workflow(c: ClaimSet) -> str | None:
    if c.workflow_file:
        return c.workflow_file.rsplit("/", 1)[-1]
    return c.publisher.workflow if c.publisher is not None else None


def _ref(c: ClaimSet) -> str | None:
    ref = c.claims.get("source_ref")
    return ref_pattern(ref) if ref else None


def _environment(c: ClaimSet) -> str | None:
    if "deployment_environment" in c.claims:
        return c.claims["deployment_environment"]
    if c.publisher is not None:
        return c.publisher.environment
    # a log entry without the claim: its certificate predates the claim, or the index's
    # publisher object is what named the environment; either way it cannot tell
    return UNOBSERVED


def _kind(c: ClaimSet) -> str | None:
    if c.publisher is not None:
        return c.publisher.kind
    issuer = c.claims.get("issuer", "")
    return "GitHub" if "githubusercontent" in issuer else ("GitLab" if "gitlab" in issuer else None)


def attribute(name: str) -> Attribute:
    """The identity attribute called `name`."""
    return next(a for a in (*IDENTITY, CHANNEL) if a.name == name)


def _from_claims(read: Callable[[ClaimSet], str | None]) -> Callable[[ReleaseView], str | None]:
    return lambda rel: claim_value(rel, read)


def channel_value(rel: ReleaseView) -> str | None:
    """`attested` / `not attested` / `partly attested`; None when the index cannot tell."""
    if rel.channel is Channel.TRUSTED_PUBLISHING:
        return "attested"
    if rel.channel is Channel.TOKEN:
        return "not attested"
    if rel.channel is Channel.MIXED:
        return "partly attested"
    return None


#: GitHub lists tags 100 to a page; a full first page may hide older tags.
TAG_PAGE = 100


def tag_value(rel: ReleaseView, timeline: Timeline) -> str | None:
    """The shape of the tag naming this release (`v#.#.#`), `MISSING`, or None (not looked up).

    When a repository's listing is a full page (possibly truncated, newest tags first), releases
    older than its oldest tagged version are not observed: their tags may be on a later page.
    """
    if not timeline.tags:
        return None
    normal = _normal(rel.version)
    version = parse_version(normal)
    shapes: list[str] = []
    for index in timeline.tag_index.values():  # the listings, by the version tags name
        shapes += [ref_pattern(name) for name, _sha in index.by_version.get(normal, ())]
        if (
            not shapes
            and index.listed >= TAG_PAGE
            and index.by_version
            and (version is None or version < index.oldest)
        ):
            return None
    return sorted(shapes)[0] if shapes else MISSING


def corroboration(rel: ReleaseView, earlier: Sequence[ReleaseView]) -> str | None:
    """Why a change at `rel` came through the project's usual source process, or None.

    A tag naming the release's version points at its attested commit, and the commit's author
    is a person (not an automated account) who authored earlier release commits. A workflow run
    at the commit does not count: every Trusted-Publishing signature comes with one, so it is
    not independent of the signing it would vouch for (a replayed dispatch has a run too).
    """
    commit = rel.commit
    if commit is None or commit.automated:
        return None
    authors = {r.commit.author for r in earlier if r.commit is not None}
    if commit.author not in authors:
        return None
    shas = {sha for _repo, sha in rel.attested_commits}
    tagged = [t for t, sha in rel.source.tag_commits.items() if sha in shas]
    if not tagged:
        return None
    return (
        f"release commit {commit.sha[:12]} is tagged {tagged[0]} and authored by "
        f"{commit.author}, who made earlier releases"
    )


def backport(rel: ReleaseView, earlier: Sequence[ReleaseView]) -> str | None:
    """`rel` is a backport: its version is lower than a release published before it.

    Returns the newer version it was published after, or None. Backports come from maintenance
    branches and older workflows, so a change there is explained when the source process
    corroborates it (see `corroboration`).
    """
    mine = parse_version(rel.version)
    if mine is None:
        return None
    newer = [
        (p, r.version) for r in earlier if (p := parse_version(r.version)) is not None and p > mine
    ]
    return max(newer)[1] if newer else None


def support_for(
    releases: Sequence[ReleaseView], rel: ReleaseView, attribute: Attribute
) -> tuple[int, int, Scope] | None:
    """(earlier releases with the same value, earlier releases observed, scope) for `rel`.

    For several releases of one history, make one `Support` and ask it for each."""
    return Support(releases, attribute)(rel)


class _Earlier:
    """Positions of a sequence of releases per line, major family and value, to answer for any
    position what `comparison_scope(seq, position, range(position))` answers (and how many of
    the compared releases have a value) by bisection instead of a scan of the earlier releases.
    """

    def __init__(self, seq: Sequence[ReleaseView], values: Sequence[object]) -> None:
        self.by_group: dict[tuple[str, str], list[int]] = {}
        self.by_value: dict[tuple[str, str, object], list[int]] = {}
        for i, (rel, value) in enumerate(zip(seq, values, strict=True)):
            for key in (("line", rel.line), ("major", major(rel.line)), ("project", "")):
                self.by_group.setdefault(key, []).append(i)
                self.by_value.setdefault((*key, value), []).append(i)

    def scope(self, rel: ReleaseView, before: int) -> tuple[Scope, tuple[str, str]]:
        """`rel`'s scope among the first `before` positions, and the key of its group."""
        for key in (("line", rel.line), ("major", major(rel.line))):
            members = self.by_group.get(key, [])
            k = bisect.bisect_left(members, before)
            if k >= SCOPE_MIN:
                label = rel.line if key[0] == "line" else f"{key[1]}.x"
                return Scope(key[0], label, tuple(members[:k])), key
        return Scope("project", "project", tuple(range(before))), ("project", "")

    def same(self, key: tuple[str, str], value: object, before: int) -> int:
        """How many of the group's first `before` positions have `value`."""
        return bisect.bisect_left(self.by_value.get((*key, value), []), before)


class Support:
    """`support_for(releases, rel, attribute)` for the releases of one history: the attribute is
    read once per release, and each answer is a lookup (asking `support_for` for every release of
    a long history, as the detectors do where a habit makes every release a candidate, read the
    whole history every time: quadratic). Built on first use."""

    def __init__(self, releases: Sequence[ReleaseView], attribute: Attribute) -> None:
        self.releases, self.attribute = releases, attribute
        self._ready: tuple[list[ReleaseView], list[str], dict[int, int], _Earlier] | None = None

    def __call__(self, rel: ReleaseView) -> tuple[int, int, Scope] | None:
        """(earlier releases with the same value, earlier releases observed, scope)."""
        if self._ready is None:
            obs = observe(self.releases, self.attribute.read)
            seq, values = [r for r, _v in obs], [v for _r, v in obs]
            first: dict[int, int] = {}
            for i, r in enumerate(seq):
                first.setdefault(id(r), i)
            self._ready = (seq, values, first, _Earlier(seq, values))
        seq, values, first, earlier = self._ready
        pos = first.get(id(rel))
        if pos is None:  # not one of these objects: found by equality, as `list.index` does
            try:
                pos = seq.index(rel)
            except ValueError:
                return None
        scope, key = earlier.scope(seq[pos], pos)
        return earlier.same(key, values[pos], pos), len(scope.members), scope


def _normal(version: str) -> str:
    tagged = version_from_tag(version)
    return tagged if tagged is not None else version


#: The identity attributes read from verified claims (served attestations and log entries).
IDENTITY: tuple[Attribute, ...] = (
    Attribute(
        "publisher_kind",
        "signed by a publisher of kind",
        Strength.CERTIFICATE,
        Severity.HIGH,
        _from_claims(_kind),
    ),
    Attribute(
        "repository",
        "built in repository",
        Strength.CERTIFICATE,
        Severity.HIGH,
        _from_claims(_repository),
    ),
    Attribute(
        "repository_id",
        "built in the repository with id",
        Strength.CERTIFICATE,
        Severity.HIGH,
        _from_claims(_claim("source_repository_id")),
    ),
    Attribute(
        "owner_id",
        "built in a repository owned by id",
        Strength.CERTIFICATE,
        Severity.HIGH,
        _from_claims(_claim("source_repository_owner_id")),
    ),
    Attribute(
        "issuer",
        "signed with identity tokens of issuer",
        Strength.CERTIFICATE,
        Severity.HIGH,
        _from_claims(_claim("issuer")),
    ),
    Attribute(
        "workflow",
        "signed by workflow",
        Strength.CERTIFICATE,
        Severity.MEDIUM,
        _from_claims(_workflow),
    ),
    Attribute(
        "ref_pattern", "built from", Strength.CERTIFICATE, Severity.MEDIUM, _from_claims(_ref)
    ),
    Attribute(
        "trigger",
        "triggered by",
        Strength.CERTIFICATE,
        Severity.MEDIUM,
        _from_claims(_claim("trigger")),
    ),
    Attribute(
        "environment",
        "deployed through environment",
        Strength.CERTIFICATE,
        Severity.MEDIUM,
        _from_claims(_environment),
    ),
    Attribute(
        "runner",
        "built on a runner that is",
        Strength.CERTIFICATE,
        Severity.MEDIUM,
        _from_claims(_claim("runner_environment")),
    ),
    Attribute(
        "visibility",
        "built in a repository that is",
        Strength.CERTIFICATE,
        Severity.LOW,
        _from_claims(_claim("source_repository_visibility")),
    ),
)

CHANNEL = Attribute("channel", "uploaded", Strength.INDEX, Severity.HIGH, channel_value)


# -- grouping ----------------------------------------------------------------------------------


def major(line: str) -> str:
    """`3.1` -> `3`; the major family of a release line."""
    return line.split(".", 1)[0]


def group_by_line(releases: Sequence[ReleaseView]) -> dict[str, list[ReleaseView]]:
    """Releases per release line, each list in time order (the timeline's order)."""
    out: dict[str, list[ReleaseView]] = {}
    for rel in releases:
        out.setdefault(rel.line or release_line(rel.version), []).append(rel)
    return out


@dataclass(frozen=True)
class Scope:
    """Which earlier releases a release is compared with."""

    kind: str
    """`line`, `major` or `project`."""
    label: str
    """For messages: `3.1`, `3.x`, or `project`."""
    members: tuple[int, ...]
    """Positions (in the sequence being judged) of the compared releases."""

    def describe(self, n: int) -> str:
        """`earlier 3.1 releases` / `earlier releases of the project`."""
        if self.kind == "project":
            return f"earlier release{'s' if n != 1 else ''} of the project"
        return f"earlier {self.label} release{'s' if n != 1 else ''}"


def in_group(kind: str, a: ReleaseView, b: ReleaseView) -> bool:
    """Whether `b` belongs to `a`'s group of this kind (`line`, `major`, `project`)."""
    if kind == "line":
        return a.line == b.line
    if kind == "major":
        return major(a.line) == major(b.line)
    return True


def comparison_scope(
    seq: Sequence[ReleaseView], position: int, candidates: Sequence[int], minimum: int = SCOPE_MIN
) -> Scope:
    """The earlier releases (`candidates`, positions in `seq` before `position`) to compare with.

    The release's own line when it has at least `minimum` of them, else its major family, else
    the whole project.
    """
    rel = seq[position]
    for kind in ("line", "major"):
        members = tuple(i for i in candidates if in_group(kind, rel, seq[i]))
        if len(members) >= minimum:
            label = rel.line if kind == "line" else f"{major(rel.line)}.x"
            return Scope(kind, label, members)
    return Scope("project", "project", tuple(candidates))


# -- categorical judgement ---------------------------------------------------------------------


@dataclass(frozen=True)
class Deviation:
    """A release whose value its baseline never had."""

    release: ReleaseView
    attribute: Attribute
    value: str
    expected: tuple[tuple[str, int], ...]
    """The baseline's values with their support, most common first."""
    support: int
    """How many earlier releases the baseline holds."""
    scope: Scope
    persisted: int = 0
    """How many following releases of the group kept the new value."""
    transition: bool = False
    """The new value persisted and became the new normal."""
    returned_at: str | None = None
    """The version at which the usual value came back (an excursion), if any."""
    retired: bool = False
    """The value was seen before, but the recent releases all moved away from it."""
    recurrence: bool = False
    """The value was seen once before, as a deviation itself: rare, but not new."""
    earlier: tuple[ReleaseView, ...] = ()
    """The releases of the baseline (the compared earlier releases)."""

    def earlier_values(self, attribute: Attribute) -> set[str]:
        """Values another attribute had on the baseline's releases."""
        return {v for r in self.earlier if (v := attribute.read(r)) is not None}

    @property
    def cold(self) -> bool:
        """No baseline yet: too few earlier releases to call anything unusual."""
        return self.support < MIN_SUPPORT

    @property
    def dominant_share(self) -> float:
        """Share of the baseline's most common value."""
        return self.expected[0][1] / self.support if self.expected and self.support else 0.0

    def comparison(self) -> str:
        """`4 of 4 earlier 3.1 releases: refs/tags/v#.#.#; this one: refs/heads/main`."""
        if self.cold:
            return (
                f"no baseline yet (only {self.support} {self.scope.describe(self.support)}); "
                f"this one {self.attribute.label} {self.value}"
            )
        top, count = self.expected[0]
        others = "".join(f", {n} {v}" for v, n in self.expected[1:3])
        text = (
            f"{count} of {self.support} {self.scope.describe(self.support)} "
            f"{self.attribute.label} {top}{others}; this one {self.value}"
        )
        if self.retired:
            text += " (seen before, but not in the recent releases)"
        if self.recurrence:
            text += " (seen once before, as a deviation)"
        if self.transition:
            text += f"; the change persisted for {self.persisted} later release(s)"
        elif self.returned_at:
            text += f"; {self.returned_at} returned to {top}"
        return text

    def values(self) -> dict[str, str]:
        """The figures the judgement used, for a finding's `values`."""
        return {
            "attribute": self.attribute.name,
            "value": self.value,
            "baseline": "; ".join(f"{v} ({n})" for v, n in self.expected),
            "baseline_scope": self.scope.label,
            "support": str(self.support),
            "persisted_for": str(self.persisted),
            "transition": "yes" if self.transition else "no",
        }


def observe(
    releases: Sequence[ReleaseView], read: Callable[[ReleaseView], str | None]
) -> list[tuple[ReleaseView, str]]:
    """The releases that carry an observation of an attribute, in time order, with the value."""
    return [(rel, v) for rel in releases if (v := read(rel)) is not None]


def deviations(
    releases: Sequence[ReleaseView],
    attribute: Attribute,
    *,
    regime: bool = False,
    read: Callable[[ReleaseView], str | None] | None = None,
    explained: Callable[[Deviation], bool] | None = None,
) -> list[Deviation]:
    """Every release whose value its baseline never had (see the module docstring).

    `regime`: a value the last `PERSIST` releases of the scope all moved away from counts as new
    again (a project that adopted Trusted Publishing and then uploads without it).
    `explained`: a deviation it accepts (a transfer, a tagged rename) enters the baseline at
    once, so the releases after an explained change are compared with the new normal.
    """
    obs = observe(releases, read or attribute.read)
    seq = [rel for rel, _v in obs]
    values = [v for _rel, v in obs]
    groups = _Groups(seq, values)
    pending: list[int] = []  # excursion releases, until the usual value returns
    excursions: set[int] = set()  # former excursion releases, now history
    out: list[Deviation] = []
    for pos, (rel, value) in enumerate(obs):
        if not groups.total:
            groups.accept(pos)
            continue
        key, members, counts = groups.scope(pos)
        retired = recurrence = False
        if value in counts:
            recent = [values[i] for i in members[-PERSIST:]]
            retired = (
                regime and len(recent) == PERSIST and len(set(recent)) == 1 and recent[0] != value
            )
            # a value seen once before, and then only as a deviation, is still rare
            recurrence = (
                not retired
                and counts[value] == 1
                and len(members) >= STRONG_SUPPORT
                and any(values[i] == value for i in excursions if i in members)
            )
            if not (retired or recurrence):
                groups.accept(pos)
                if pending:
                    # the usual value is back: the excursion is over, and it is history now
                    for i in pending:
                        groups.accept(i)
                    excursions.update(pending)
                    pending = []
                continue
        # a snapshot: `members` is the group's live list, which accepting extends
        scope = groups.snapshot(key, members)
        following = [i for i in range(pos + 1, len(obs)) if in_group(scope.kind, rel, seq[i])]
        persisted = 0
        for i in following:
            if values[i] != value:
                break
            persisted += 1
        returned = next((seq[i].version for i in following if values[i] in counts), None)
        transition = persisted + 1 >= PERSIST and not recurrence
        dev = Deviation(
            release=rel,
            attribute=attribute,
            value=value,
            expected=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
            support=len(scope.members),
            scope=scope,
            persisted=persisted,
            transition=transition,
            returned_at=None if transition else returned,
            retired=retired,
            recurrence=recurrence,
            earlier=tuple(seq[i] for i in scope.members),
        )
        out.append(dev)
        if transition or dev.cold or recurrence or (explained is not None and explained(dev)):
            # a change that stays (or one with nothing to compare it with) is the new normal
            groups.accept(pos)
        else:
            pending.append(pos)
    return out


class _Groups:
    """The accepted observations per line, per major family and for the project, kept sorted
    and counted incrementally, so that judging a long history stays linear-ish."""

    def __init__(self, seq: Sequence[ReleaseView], values: Sequence[str]) -> None:
        self.seq, self.values = seq, values
        self.members: dict[tuple[str, str], list[int]] = {}
        self.counts: dict[tuple[str, str], Counter[str]] = {}
        self.total = 0
        # each position's three group keys, made once (they are asked for at every step)
        self.keys = [
            (("line", line), ("major", major(line)), ("project", ""))
            for line in (rel.line for rel in seq)
        ]

    def accept(self, pos: int) -> None:
        value = self.values[pos]
        for key in self.keys[pos]:
            members = self.members.get(key)
            if members is None:
                members = self.members[key] = []
                self.counts[key] = Counter()
            bisect.insort(members, pos)
            self.counts[key][value] += 1
        self.total += 1

    def scope(self, pos: int) -> tuple[tuple[str, str], list[int], Counter[str]]:
        """Like `comparison_scope`, over the accepted observations: the group's key, its
        accepted positions (the live list: `snapshot` it before accepting more) and counts."""
        for key in self.keys[pos]:
            members = self.members.get(key, [])
            if key[0] == "project" or len(members) >= SCOPE_MIN:
                return key, members, self.counts[key]
        raise AssertionError("unreachable: the project group always answers")

    @staticmethod
    def snapshot(key: tuple[str, str], members: Sequence[int]) -> Scope:
        """The `Scope` of a group as it stands now."""
        label = {"line": key[1], "major": f"{key[1]}.x", "project": "project"}[key[0]]
        return Scope(key[0], label, tuple(members))


def lower(severity: Severity, steps: int = 1) -> Severity:
    """`severity` lowered by `steps` (never below info)."""
    order = list(Severity)
    return order[max(0, order.index(severity) - steps)]


def grade(dev: Deviation, base: Severity | None = None, *, explained: bool = False) -> Severity:
    """Severity of a deviation: how unusual (support) x evidence x explanation.

    Cold start is info; a baseline of fewer than `STRONG_SUPPORT` releases caps at medium; a mixed
    baseline (its usual value below three quarters) lowers one step; an explanation makes it low.
    """
    if dev.cold:
        return Severity.INFO
    sev = base or dev.attribute.severity
    if dev.attribute.strength < Strength.CERTIFICATE and dev.attribute.name != "channel":
        sev = lower(sev)
    if dev.support < STRONG_SUPPORT and sev.rank > Severity.MEDIUM.rank:
        sev = Severity.MEDIUM
    if dev.dominant_share < 0.75:
        sev = lower(sev)
    if dev.recurrence:
        sev = lower(sev)
    if explained:
        sev = min(sev, Severity.LOW, key=lambda s: s.rank)
    return sev


# -- numbers on a robust scale -----------------------------------------------------------------


@dataclass(frozen=True)
class RobustScale:
    """Median and MAD of log10 values: heavy-tailed durations compared on a log scale."""

    median: float
    mad: float
    n: int

    def score(self, value: float) -> float:
        """Robust z-score of `value` (> 0): |log10 v - median| / (1.4826 MAD), MAD floored."""
        spread = max(self.mad * 1.4826, 0.25)  # a quarter decade: clock jitter is not a signal
        return abs(math.log10(max(value, 1e-3)) - self.median) / spread


def robust_scale(values: Sequence[float]) -> RobustScale | None:
    """The robust scale of positive values, or None with fewer than `MIN_SUPPORT` of them."""
    logs = [math.log10(max(v, 1e-3)) for v in values]
    if len(logs) < MIN_SUPPORT:
        return None
    med = statistics.median(logs)
    mad = statistics.median(abs(x - med) for x in logs)
    return RobustScale(med, mad, len(logs))


def upload_to_log_seconds(rel: ReleaseView) -> float | None:
    """The largest |upload - log time| over a release's served, attested files (seconds)."""
    gaps = [
        abs((c.upload_time - c.log_time).total_seconds())
        for c in rel.served_claims
        if c.upload_time is not None and c.log_time is not None
    ]
    return max(gaps) if gaps else None


def earlier_values(
    releases: Sequence[ReleaseView],
    rel: ReleaseView,
    read: Callable[[ReleaseView], float | None],
) -> tuple[Scope, list[float]] | None:
    """The release's comparison scope among earlier releases with a value, and their values.

    For several releases of one history, make one `EarlierValues` and ask it for each."""
    return EarlierValues(releases, read)(rel)


class EarlierValues:
    """`earlier_values(releases, rel, read)` for the releases of one history, each value read
    once and each answer a lookup (see `Support`). Built on first use."""

    def __init__(
        self, releases: Sequence[ReleaseView], read: Callable[[ReleaseView], float | None]
    ) -> None:
        self.releases, self.read = releases, read
        self._ready: tuple[list[int], list[float], dict[int, int], _Earlier] | None = None

    def __call__(self, rel: ReleaseView) -> tuple[Scope, list[float]] | None:
        """The release's scope among earlier releases with a value, and their values."""
        if self._ready is None:
            where: list[int] = []  # positions in `releases` of the releases with a value
            values: list[float] = []
            for i, r in enumerate(self.releases):
                if (v := self.read(r)) is not None:
                    where.append(i)
                    values.append(v)
            first: dict[int, int] = {}
            for i, r in enumerate(self.releases):
                first.setdefault(id(r), i)
            seq = [self.releases[i] for i in where]
            self._ready = (where, values, first, _Earlier(seq, values))
        where, values, first, earlier = self._ready
        at = first.get(id(rel))
        if at is None:
            return _earlier_values_by_equality(self.releases, rel, self.read)
        # `rel` compared with the releases with a value before it (it need not have one itself)
        before = bisect.bisect_left(where, at)
        scope, _key = earlier.scope(rel, before)
        return scope, [values[i] for i in scope.members]


def _earlier_values_by_equality(
    releases: Sequence[ReleaseView],
    rel: ReleaseView,
    read: Callable[[ReleaseView], float | None],
) -> tuple[Scope, list[float]] | None:
    """`earlier_values` for a release that is none of `releases`' objects (found by equality)."""
    seq = [r for r in releases if read(r) is not None or r is rel]
    if rel not in seq:
        return None
    pos = seq.index(rel)
    scope = comparison_scope(seq, pos, list(range(pos)))
    vals = [v for i in scope.members if (v := read(seq[i])) is not None]
    return scope, vals


__all__ = [
    "CHANNEL",
    "IDENTITY",
    "MIN_SUPPORT",
    "MISSING",
    "PERSIST",
    "Attribute",
    "Deviation",
    "EarlierValues",
    "RobustScale",
    "Scope",
    "Strength",
    "Support",
    "attribute",
    "backport",
    "channel_value",
    "claim_value",
    "comparison_scope",
    "corroboration",
    "deviations",
    "earlier_values",
    "grade",
    "group_by_line",
    "in_group",
    "lower",
    "observe",
    "robust_scale",
    "support_for",
    "tag_value",
    "upload_to_log_seconds",
]
