"""The lab: a local, cryptographically real Sigstore + PyPI + Rekor + GitHub world on loopback.

It is a package of its own beside `forensics`: it builds worlds from scenario files, signs them
with a lab CA that sigstore-python verifies, and serves them over real HTTP so that the product's
real clients can be rehearsed, tested and benchmarked against them. The product never imports it;
its commands reach the `forensics` CLI through the `forensics.subcommands` entry point.
"""
