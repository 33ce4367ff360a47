"""`python -m forensics`."""

from forensics.cli import console_main

console_main()
