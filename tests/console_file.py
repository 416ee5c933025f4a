"""busbench's console lines written to a file, as with ``busbench ... > log.txt``, for tests of the
progress lines of a redirected run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from busbench import progress
from busbench.log import logger, setup_logging


@contextmanager
def console_file(path: Path, monkeypatch: pytest.MonkeyPatch, every_s: float = 0.0) -> Iterator[Path]:
    """Standard output is ``path`` while inside (enter it in the test itself: pytest's capture
    resets ``sys.stdout`` after the fixtures); a progress line may follow an item after ``every_s``
    seconds of silence, so with 0 after every one and tiny inputs show them."""
    handlers, previous = list(logger.handlers), sys.stdout
    monkeypatch.setattr(progress, "EVERY_S", every_s)
    with open(path, "w", buffering=1) as out:
        sys.stdout = out
        setup_logging()
        try:
            yield path
        finally:
            logger.handlers[:] = handlers
            sys.stdout = previous
