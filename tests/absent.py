"""What the tests need from the machine beyond the package (the real datasets, pdflatex, headless
Chromium): where it is missing, a test skips with a message, as on a user's machine; under CI (``CI``
set) it fails instead, because CI must run every such test."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def missing(message: str, in_ci: str) -> NoReturn:
    """Skip with ``message``, or fail with ``message; in_ci`` under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}; {in_ci}")
    pytest.skip(message)


def oracle(module: str, install: str) -> ModuleType:
    """An optional package a test compares busbench with: skipped where absent, an error under CI."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(f"oracle {module} not installed ({install})", "CI installs the `test` extra")
