"""provenance-forensics: reconstruct what really happened to a PyPI project's releases."""
__version__ = "0.1.0"
