"""Collectors: the only code that talks to remote sources; every raw answer is stored."""

from forensics.collect.http import Fetcher
from forensics.collect.pypi import CollectSummary, PyPICollector
from forensics.collect.pypi_parse import IndexSnapshot, load_index_snapshot, provenance_response

__all__ = [
    "CollectSummary",
    "Fetcher",
    "IndexSnapshot",
    "PyPICollector",
    "load_index_snapshot",
    "provenance_response",
]
