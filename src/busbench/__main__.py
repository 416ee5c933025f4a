"""`python -m busbench` runs the CLI."""

from busbench.cli import main

main()
