"""Pure parsers of stored PyPI answers: JSON API + Simple API joined into an `IndexSnapshot`.

Reads only the evidence store, so an online run and an `--offline` re-analysis are the same code.
Data from the index is treated as untrusted (docs/states.md, "Parsing hostile index data"):

* JSON is read with a depth and size bound (`forensics.primitives.untrusted.loads`);
* every field is type-checked; a value dropped or coerced leaves a `problems` line naming it;
* timestamps must lie in a sane range; text that no encoder can write (lone surrogates) is kept
  escaped, with a problem line, so no renderer or output file can fail on it;
* a file is attributed by (version, filename, sha256): a file whose own filename names another
  project or version than the release key it is listed under, and every further listing of a
  filename already taken, is set aside in `IndexSnapshot.rejected` with the reason, so one
  hostile entry can neither claim a release nor change the verdict of the genuine file;
* strings (filenames, yank reasons, version keys, HTML in metadata) are carried as data and
  never interpreted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from forensics.errors import InputError, OfflineMiss, SourceResponseError, UsageError
from forensics.evidence.store import EvidenceStore, StoredResponse
from forensics.models import DistFile, EvidenceRef, Pep740Support, ProjectInfo, ProvenanceKey
from forensics.primitives.untrusted import (
    LATEST,
    UntrustedDataError,
    encodable,
    loads,
    shown,
    time_in_range,
    type_name,
)
from forensics.versions import version_key

SIMPLE_JSON_MEDIA = "application/vnd.pypi.simple.v1+json"
INTEGRITY_MEDIA = "application/vnd.pypi.integrity.v1+json"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_HOPS = 10
# PEP 508 / core metadata project name (https://packaging.python.org/en/latest/specifications/name-normalization/)
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_FILENAME = 255
"""Longest distribution filename PyPI accepts (warehouse's `File.filename` column)."""


def check_project_name(name: str) -> str:
    """Return the PEP 503 normalized name, or raise `InputError` for a name PyPI cannot have."""
    if not _NAME.match(name):
        raise InputError(
            f"{name!r} is not a valid Python project name",
            hint="names are letters, digits, '.', '_' and '-', starting and ending alphanumeric",
        )
    return canonicalize_name(name)


def check_base_url(base_url: str) -> str:
    """The index base URL without a trailing slash; `UsageError` unless it is http(s)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"index URL must be http(s)://host[/path], got {base_url!r}")
    return base_url.rstrip("/")


def json_api_url(base_url: str, project: str) -> str:
    """`/pypi/<project>/json` exactly as asked (PyPI redirects a non-normalized name)."""
    return f"{check_base_url(base_url)}/pypi/{project}/json"


def simple_api_url(base_url: str, project: str) -> str:
    """`/simple/<normalized>/` (PEP 503)."""
    return f"{check_base_url(base_url)}/simple/{canonicalize_name(project)}/"


@dataclass(frozen=True)
class IndexSnapshot:
    """What the index said about a project, joined across the JSON and Simple APIs."""

    project: str
    """PEP 503 normalized name."""
    display_name: str
    pep740: Pep740Support
    pep740_reason: str
    api_version: str | None
    """Simple API `meta.api-version`, None when unknown."""
    versions: tuple[str, ...]
    """Every release the JSON API lists, including releases without files (version order)."""
    files: tuple[DistFile, ...]
    """Sorted by upload time (unknown last), then filename."""
    json_evidence: EvidenceRef
    simple_evidence: EvidenceRef | None
    problems: tuple[str, ...]
    last_serial: int | None = None
    rejected: tuple[RejectedFile, ...] = ()
    """File entries not attributed to any release (foreign version or project, duplicates)."""

    info: ProjectInfo | None = None
    """Project-level facts of the JSON API `info` object (source URLs, summary)."""


@dataclass(frozen=True)
class RejectedFile:
    """A file entry the index lists but the snapshot does not attribute, and why."""

    file: DistFile
    reason: str


def provenance_response(store: EvidenceStore, dist_file: DistFile) -> StoredResponse | None:
    """The stored Integrity API answer for a file (any status), or None when none was collected."""
    if dist_file.provenance_url is None:
        return None
    return store.latest(dist_file.provenance_url)


def _final(store: EvidenceStore, url: str) -> StoredResponse | None:
    """Follow stored redirects from `url`; None when a hop was never collected."""
    chain = [url]
    current = url
    for _ in range(_MAX_HOPS):
        response = store.latest(current)
        if response is None:
            return None
        location = response.headers.get("location")
        if response.status not in REDIRECT_STATUSES or not location:
            return response
        current = urljoin(current, location)
        if current in chain:
            raise SourceResponseError(
                f"stored redirect loop: {' -> '.join([*chain, current])}", url=url
            )
        chain.append(current)
    raise SourceResponseError(f"more than {_MAX_HOPS} stored redirects from {url}", url=url)


def _excerpt(response: StoredResponse) -> str:
    return response.body()[:300].decode("utf-8", "replace")


def _pointer(*parts: str) -> str:
    # RFC 6901: '~' -> '~0', '/' -> '~1'.
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _parse_upload_time(
    entry: Mapping[str, Any], where: str, problems: list[str]
) -> datetime | None:
    iso = entry.get("upload_time_iso_8601")
    naive = entry.get("upload_time")
    found: datetime | None = None
    # Both fields are checked even when the first one is usable: every value dropped is named.
    for key, value in (("upload_time_iso_8601", iso), ("upload_time", naive)):
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(
                f"{where}: {key} {shown(value)} is a {type_name(value)}, not a timestamp string; "
                "dropped"
            )
            continue
        try:
            # PyPI's `upload_time` is naive UTC with seconds only (formats.md §1.2): a naive
            # value is read as UTC, which is what `time_in_range` does.
            when = time_in_range(value)
        except ValueError as exc:
            problems.append(f"{where}: {key} {shown(value)} is not a usable timestamp ({exc})")
            continue
        found = found or when
    if iso is None and naive is None:
        problems.append(f"{where}: no upload time")
    return found


def _url(base: str, raw: str, where: str, problems: list[str]) -> str:
    """`raw` resolved against `base`; '' with a problem line when it is not a URL at all."""
    try:
        return urljoin(base, raw) if urlsplit(raw).scheme or raw else ""
    except ValueError as exc:  # e.g. "Invalid IPv6 URL" for http://[::1
        problems.append(f"{where}: url {shown(raw)} is not a valid URL ({exc}); dropped")
        return ""


def _yanked(value: Any, where: str, problems: list[str]) -> bool:
    if value is None or isinstance(value, bool):
        return value is True
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        # A string where PyPI sends a boolean: read it for what it says, never as "not yanked".
        problems.append(f"{where}: yanked {shown(value)} is a string, not a boolean; read as such")
        return value.strip().lower() == "true"
    problems.append(
        f"{where}: yanked {shown(value)} is a {type_name(value)}, not a boolean; "
        "yank state unknown, read as not yanked"
    )
    return False


def _dist_file(
    entry: Mapping[str, Any],
    *,
    project: str,
    version: str,
    pointer: str,
    response: StoredResponse,
    problems: list[str],
) -> DistFile:
    label = entry.get("filename")
    where = f"release {shown(version)} file {shown(label)}" if isinstance(label, str) else pointer
    where = encodable(where, pointer, [])
    raw_url = entry.get("url")
    url = ""
    if isinstance(raw_url, str) and raw_url:
        url = encodable(_url(response.url, raw_url, where, problems), f"{where}: url", problems)
    elif raw_url is not None:
        problems.append(f"{where}: url {shown(raw_url)} is a {type_name(raw_url)}; dropped")
    if not url:
        problems.append(f"{where}: no download url")
    filename = entry.get("filename")
    if not isinstance(filename, str) or not filename:
        if filename is not None:
            problems.append(f"{pointer}: filename {shown(filename)} is not a string; dropped")
        filename = url.rsplit("/", 1)[-1] if url else ""
        problems.append(
            f"{pointer}: no filename"
            + (f"; using {filename!r} from its url" if filename else " and no url")
        )
    filename = encodable(filename, f"{pointer}: filename", problems)
    digests = entry.get("digests")
    sha256 = digests.get("sha256") if isinstance(digests, dict) else None
    if not isinstance(sha256, str) or not _SHA256.match(sha256.lower()):
        problems.append(f"{where}: no valid sha256 digest ({shown(sha256)})")
        sha256 = ""
    size = entry.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        if size is not None:
            problems.append(f"{where}: size {shown(size)} is not a byte count; dropped")
        else:
            problems.append(f"{where}: size None is not a byte count")
        size = None
    packagetype = entry.get("packagetype")
    if packagetype is not None and not isinstance(packagetype, str):
        problems.append(f"{where}: packagetype {shown(packagetype)} is not a string; dropped")
        packagetype = None
    reason = entry.get("yanked_reason")
    if reason is not None and not isinstance(reason, str):
        problems.append(f"{where}: yanked_reason {shown(reason)} is not a string; dropped")
        reason = None
    if isinstance(reason, str):
        reason = encodable(reason, f"{where}: yanked_reason", problems)
    if isinstance(packagetype, str):
        packagetype = encodable(packagetype, f"{where}: packagetype", problems)
    requires_python = entry.get("requires_python")
    if requires_python is not None and not isinstance(requires_python, str):
        problems.append(
            f"{where}: requires_python {shown(requires_python)} is not a string; dropped"
        )
        requires_python = None
    if isinstance(requires_python, str):
        requires_python = encodable(requires_python, f"{where}: requires_python", problems)
    return DistFile(
        project=project,
        version=version,
        filename=filename,
        sha256=sha256.lower(),
        size=size,
        upload_time=_parse_upload_time(entry, where, problems),
        packagetype=packagetype,
        yanked=_yanked(entry.get("yanked"), where, problems),
        yanked_reason=reason or None,
        url=url,
        evidence=response.evidence(pointer, note=f"JSON API entry of {filename}"),
        requires_python=requires_python.strip() or None if requires_python else None,
    )


def filename_release(filename: str) -> tuple[str, Version] | None:
    """(normalized project, version) a wheel or sdist filename names; None when it is neither."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
            return name, version
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return name, version
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def attribution_problem(project: str, version: str, filename: str) -> str | None:
    """Why `filename` cannot belong to release `version` of `project` (None when it can).

    A filename that is not a wheel or sdist name (eggs, installers, legacy archives) cannot be
    checked and is accepted as listed; a release key that is not a PEP 440 version cannot hold a
    file whose own name gives a version.
    """
    named = filename_release(filename)
    if named is None:
        return None
    name, own = named
    if name != project:
        return f"its filename names project {name!r}, not {project!r}"
    try:
        key = Version(version)
    except InvalidVersion:
        return f"it is listed under {version!r}, which is not a PEP 440 version (the file is {own})"
    if key != own:
        return f"it is listed under release {version!r} but its filename is version {own}"
    return None


@dataclass(frozen=True)
class _SimpleFile:
    sha256: str | None
    key: ProvenanceKey
    url: str | None


@dataclass(frozen=True)
class _SimpleView:
    pep740: Pep740Support
    reason: str
    api_version: str | None
    files: Mapping[str, _SimpleFile]
    evidence: EvidenceRef | None


def _api_tuple(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    major, _, minor = text.partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def _simple_view(store: EvidenceStore, url: str, problems: list[str]) -> _SimpleView:
    def unknown(reason: str, evidence: EvidenceRef | None = None) -> _SimpleView:
        return _SimpleView(
            Pep740Support.UNKNOWN, f"provenance unknown: {reason}", None, {}, evidence
        )

    response = _final(store, url)
    if response is None:
        return unknown(f"the Simple API response ({url}) was not collected")
    evidence = response.evidence(note="Simple API (PEP 691 JSON)")
    if response.status != 200:
        return unknown(f"the Simple API answered HTTP {response.status} ({response.url})", evidence)
    try:
        doc = loads(response.body(), "its body")
    except UntrustedDataError as exc:
        ctype = response.headers.get("content-type", "no content-type")
        return unknown(f"the Simple API response is not JSON ({ctype}): {exc.message}", evidence)
    meta = doc.get("meta") if isinstance(doc, dict) else None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(meta, dict) or not isinstance(files, list):
        return unknown("the Simple API response has no `meta` object or `files` list", evidence)
    raw_version = meta.get("api-version")
    api_version = raw_version if isinstance(raw_version, str) else None
    if raw_version is not None and api_version is None:
        problems.append(f"Simple API meta.api-version {shown(raw_version)} is not a string")
    parsed: dict[str, _SimpleFile] = {}
    for i, entry in enumerate(files):
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            problems.append(f"Simple API files[{i}] has no filename; it cannot be joined")
            continue
        name = encodable(entry["filename"], f"Simple API files[{i}] filename", problems)
        hashes = entry.get("hashes")
        sha = hashes.get("sha256") if isinstance(hashes, dict) else None
        if sha is not None and not (isinstance(sha, str) and _SHA256.match(sha.lower())):
            problems.append(
                f"Simple API: sha256 of {name!r} is {shown(sha)}, not a digest; dropped"
            )
            sha = None
        key, prov_url = ProvenanceKey.ABSENT, None
        if "provenance" in entry:
            value = entry["provenance"]
            if value is None:
                key = ProvenanceKey.NULL
            elif isinstance(value, str) and _SHA256.match(value.lower()):
                # Pre-adoption PEP 740 drafts put a digest here; the adopted spec is a URL.
                problems.append(
                    f"Simple API: provenance of {name!r} is a digest, not a URL (old PEP 740 draft)"
                )
            elif isinstance(value, str) and value:
                where = f"Simple API: provenance of {name!r}"
                resolved = _url(response.url, value, where, problems)
                if resolved:
                    key = ProvenanceKey.URL
                    prov_url = encodable(resolved, f"Simple API: provenance of {name!r}", problems)
            else:
                problems.append(f"Simple API: provenance of {name!r} is neither a URL nor null")
        if name in parsed:
            # The first listing is kept: a later duplicate must not replace what was joined.
            problems.append(
                f"Simple API lists {name!r} more than once; the first entry is used, the later "
                f"one (sha256 {shown(sha)}) is ignored"
            )
            continue
        parsed[name] = _SimpleFile(sha.lower() if isinstance(sha, str) else None, key, prov_url)
    present = [f for f in parsed.values() if f.key is not ProvenanceKey.ABSENT]
    version = _api_tuple(api_version)
    api_shown = api_version if api_version is not None else "without api-version"
    if version is not None and version >= (1, 3) and (present or not parsed):
        if present and len(present) < len(parsed):
            problems.append(
                f"Simple API {api_shown}: {len(parsed) - len(present)} of {len(parsed)} files "
                "have no `provenance` key; their provenance is unknown"
            )
        return _SimpleView(
            Pep740Support.YES,
            f"the index serves PEP 740 (Simple API {api_shown})",
            api_version,
            parsed,
            evidence,
        )
    if not present:
        return _SimpleView(
            Pep740Support.NO,
            f"provenance unknown: this index does not serve PEP 740 (Simple API {api_shown}, "
            "no `provenance` key)",
            api_version,
            parsed,
            evidence,
        )
    return _SimpleView(
        Pep740Support.UNKNOWN,
        f"provenance unknown: Simple API {api_shown} predates PEP 740 (1.3) yet files carry a "
        "`provenance` key",
        api_version,
        parsed,
        evidence,
    )


def load_index_snapshot(store: EvidenceStore, base_url: str, project: str) -> IndexSnapshot:
    """Join the stored JSON API and Simple API answers for `project` at `base_url`.

    Raises `OfflineMiss` when the JSON API answer is not in the case, `SourceResponseError` when
    the project does not exist (404), the JSON API failed, or its body is not usable JSON.
    """
    normalized = check_project_name(project)
    url = json_api_url(base_url, project)
    response = _final(store, url)
    if response is None and project != normalized:
        response = _final(store, json_api_url(base_url, normalized))
    if response is None:
        raise OfflineMiss(
            f"the case holds no JSON API response for {project!r} ({url})",
            url=url,
            hint="collect the project first (run without --offline)",
        )
    if response.status == 404:
        raise SourceResponseError(
            f"project not found: {project!r} does not exist on {check_base_url(base_url)} "
            f"({response.url} answered 404)",
            url=response.url,
            status=404,
            body_excerpt=_excerpt(response),
            hint="check the spelling, or whether the project was removed",
        )
    if response.status != 200:
        raise SourceResponseError(
            f"the JSON API answered HTTP {response.status} for {response.url}",
            url=response.url,
            status=response.status,
            body_excerpt=_excerpt(response),
            hint="re-run the collection later; the stored failure will be retried",
        )
    try:
        doc = loads(response.body(), f"the JSON API response from {response.url}")
    except UntrustedDataError as exc:
        raise SourceResponseError(
            f"malformed JSON from {response.url}: {exc.message}",
            url=response.url,
            status=response.status,
            body_excerpt=_excerpt(response),
        ) from exc
    if not isinstance(doc, dict):
        raise SourceResponseError(
            f"the JSON API response from {response.url} is a {type(doc).__name__}, not an object",
            url=response.url,
            status=response.status,
            body_excerpt=_excerpt(response),
        )
    problems: list[str] = []
    info = doc.get("info")
    if not isinstance(info, dict):
        problems.append("JSON API response has no `info` object")
        info = {}
    display_name = info.get("name")
    if isinstance(display_name, str):
        display_name = encodable(display_name, "JSON API `info.name`", problems)
    if not isinstance(display_name, str) or not display_name:
        problems.append("JSON API `info.name` is missing; using the normalized name")
        display_name = normalized
    elif canonicalize_name(display_name) != normalized:
        problems.append(f"JSON API `info.name` {display_name!r} is not the project {normalized!r}")
    releases = doc.get("releases")
    grouped: list[tuple[str, str, list[Any]]] = []  # (version, pointer prefix, entries)
    if isinstance(releases, dict):
        for raw_key, entries in releases.items():
            version = encodable(raw_key, f"release key {shown(raw_key)}", problems)
            if not isinstance(entries, list):
                problems.append(f"release {version!r}: file list is a {type(entries).__name__}")
                entries = []
            grouped.append((version, _pointer("releases", version), entries))
    else:
        urls = doc.get("urls")
        current = info.get("version")
        if releases is not None or not isinstance(urls, list) or not isinstance(current, str):
            raise SourceResponseError(
                f"the JSON API response from {response.url} has no usable `releases`",
                url=response.url,
                status=response.status,
                body_excerpt=_excerpt(response),
            )
        problems.append(
            "JSON API response has no `releases` key; only the latest release's files are known"
        )
        current = encodable(current, "JSON API `info.version`", problems)
        grouped.append((current, "/urls", urls))
    files: list[DistFile] = []
    for version, prefix, entries in grouped:
        first = len(files)  # this release's files only: scanning all files was O(n²)
        for i, entry in enumerate(entries):
            pointer = f"{prefix}/{i}"
            if not isinstance(entry, dict):
                problems.append(f"{pointer}: file entry is a {type(entry).__name__}, ignored")
                continue
            files.append(
                _dist_file(
                    entry,
                    project=normalized,
                    version=version,
                    pointer=pointer,
                    response=response,
                    problems=problems,
                )
            )
        yanks = {(f.yanked, f.yanked_reason) for f in files[first:] if f.version == version}
        if len(yanks) > 1:
            problems.append(f"release {version!r}: files disagree on yanked/yanked_reason")
    simple = _simple_view(store, simple_api_url(base_url, normalized), problems)
    kept, rejected = _attribute(files, simple.files, problems)
    joined: list[DistFile] = []
    for f in kept:
        entry = simple.files.get(f.filename)
        if entry is None:
            if simple.files or simple.pep740 is not Pep740Support.UNKNOWN:
                problems.append(f"{f.filename!r} is in the JSON API but not in the Simple API")
            joined.append(f)
            continue
        if entry.sha256 is not None and f.sha256 and entry.sha256 != f.sha256:
            problems.append(
                f"sha256 of {f.filename!r} differs: JSON API {f.sha256}, Simple API {entry.sha256}"
            )
        joined.append(
            DistFile(
                **{
                    **f.__dict__,
                    "provenance_key": entry.key,
                    "provenance_url": entry.url,
                }
            )
        )
    listed = {f.filename for f in files}
    problems.extend(
        f"{name!r} is in the Simple API but not in the JSON API"
        for name in simple.files
        if name not in listed
    )
    joined.sort(key=lambda f: (f.upload_time or LATEST, f.filename))
    versions = sorted({v for v, _, _ in grouped}, key=version_key)
    serial = doc.get("last_serial")
    if serial is not None and (not isinstance(serial, int) or isinstance(serial, bool)):
        problems.append(f"JSON API last_serial {shown(serial)} is not an integer; dropped")
    return IndexSnapshot(
        project=normalized,
        display_name=display_name,
        pep740=simple.pep740,
        pep740_reason=simple.reason,
        api_version=simple.api_version,
        versions=tuple(versions),
        files=tuple(joined),
        json_evidence=response.evidence(note="PyPI JSON API"),
        simple_evidence=simple.evidence,
        problems=tuple(problems),
        last_serial=serial if isinstance(serial, int) and not isinstance(serial, bool) else None,
        rejected=tuple(rejected),
        info=project_info(info, display_name, response.evidence("/info", note="JSON API info")),
    )


def project_info(info: Mapping[str, Any], name: str, evidence: EvidenceRef) -> ProjectInfo:
    """The project-level facts of a JSON API `info` object; values of the wrong type are dropped."""

    def text(key: str) -> str | None:
        value = info.get(key)
        return value.strip() or None if isinstance(value, str) else None

    raw_urls = info.get("project_urls")
    urls = (
        {str(k): v.strip() for k, v in raw_urls.items() if isinstance(v, str) and v.strip()}
        if isinstance(raw_urls, dict)
        else {}
    )
    return ProjectInfo(
        name=name,
        summary=text("summary"),
        home_page=text("home_page"),
        author=text("author"),
        project_urls=urls,
        requires_python=text("requires_python"),
        evidence=evidence,
    )


def _attribute(
    files: list[DistFile], simple: Mapping[str, _SimpleFile], problems: list[str]
) -> tuple[list[DistFile], list[RejectedFile]]:
    """Attribute each file to one release by (version, filename, sha256).

    A file whose own filename names another project or version is rejected. Of several entries
    with one filename, the genuine one is kept: the one whose sha256 the Simple API lists for
    that filename, else the first listed. Verdicts are keyed by filename downstream, so a
    duplicate must never reach them: it could otherwise replace the genuine file's verdict.
    """
    rejected: list[RejectedFile] = []
    candidates: dict[str, list[DistFile]] = {}
    for f in files:
        if len(f.filename) > MAX_FILENAME:
            # PyPI refuses longer names: such an entry is hostile, and repeating it in every
            # problem line and report would let one entry blow up the output.
            reason = (
                f"{shown(f.filename)} (sha256 {f.sha256 or '?'}) not attributed: a filename of "
                f"{len(f.filename)} characters (PyPI allows {MAX_FILENAME})"
            )
            problems.append(reason)
            rejected.append(RejectedFile(f, reason))
            continue
        why = attribution_problem(f.project, f.version, f.filename) if f.filename else None
        if why is not None:
            reason = f"{f.filename!r} (sha256 {f.sha256 or '?'}) not attributed: {why}"
            problems.append(reason)
            rejected.append(RejectedFile(f, reason))
            continue
        candidates.setdefault(f.filename, []).append(f)
    kept: list[DistFile] = []
    for name, group in candidates.items():
        if len(group) == 1:
            kept.append(group[0])
            continue
        listed = simple.get(name)
        genuine = next(
            (f for f in group if listed is not None and f.sha256 and f.sha256 == listed.sha256),
            group[0],
        )
        kept.append(genuine)
        for other in group:
            if other is genuine:
                continue
            reason = (
                f"JSON API lists {name!r} more than once: the entry under release "
                f"{other.version!r} with sha256 {other.sha256 or '?'} is ignored; the file "
                f"under {genuine.version!r} with sha256 {genuine.sha256 or '?'} is kept"
            )
            problems.append(reason)
            rejected.append(RejectedFile(other, reason))
    return kept, rejected
