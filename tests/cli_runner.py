"""Running the `busbench` command line in-process, as a user would from a shell."""

from __future__ import annotations

import sys

import pytest

from busbench.cli import main


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run ``busbench ARGS``; returns its exit code."""
    monkeypatch.setattr(sys, "argv", ["busbench", *args])
    try:
        main()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
