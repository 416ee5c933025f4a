"""What the tests need from the machine beyond the package (the real datasets, pdflatex, headless
Chromium): where it is missing, a test skips with a message, as on a user's machine; under CI (``CI``
set) it fails instead, because CI must run every such test."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(message: str, in_ci: str) -> NoReturn:
    """Skip with ``message``, or fail with ``message; in_ci`` under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}; {in_ci}")
    pytest.skip(message)
