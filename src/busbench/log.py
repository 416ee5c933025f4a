"""Progress lines for long work, written on every output (a terminal, a redirected file, CI,
SLURM logs), so that a run is never silent for minutes.

Lines go to standard output through the ``busbench`` logger, one per epoch, fold, scoring pass,
post-processing search, cache build and profiled model; ``--quiet`` keeps warnings only and
``--log-file`` copies every line to a file. Long loops (``busbench.progress``) show a rich bar on a
terminal and, where the lines go to a file or pipe, add a line whenever the console has been
silent for ten seconds.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

logger = logging.getLogger("busbench")

_last_saved: list[str] = []
_last_line = [time.monotonic()]  # when the console last got a line (progress lines keep the gaps short)


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stdout`` (or, for commands whose stdout is their product, such as
    ``jobs``, ``sys.stderr``) is at the time: test capture replaces them, and a stream captured at
    start-up may be closed by the time a later line is written."""

    to_stderr = False

    @property
    def stream(self) -> TextIO:
        return line_stream()

    @stream.setter
    def stream(self, _value: object) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        _last_line[0] = time.monotonic()


def setup_logging(quiet: bool = False, log_file: Path | None = None) -> None:
    """Send busbench's lines to stdout (flushed per line) and, if given, to ``log_file``."""
    logger.handlers.clear()
    _StdoutHandler.to_stderr = False
    logger.setLevel(logging.INFO)
    logger.propagate = False
    console = _StdoutHandler()
    console.setLevel(logging.WARNING if quiet else logging.INFO)
    console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file)
        to_file.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(to_file)


def line_stream() -> TextIO:
    """Where the console lines go now: standard output, or standard error for ``jobs``."""
    return sys.stderr if _StdoutHandler.to_stderr else sys.stdout


def seconds_since_last_line() -> float:
    return time.monotonic() - _last_line[0]


def progress_to_stderr() -> None:
    """Keep standard output for a command's product (``busbench jobs > jobs.txt``)."""
    _StdoutHandler.to_stderr = True


def duration(seconds: float) -> str:
    """``42s``, ``3m07s`` or ``2h05m``: short enough for a log line."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def counted(count: int, noun: str) -> str:
    """``1 file``, ``2 files``: a count with its noun (regular plural), for messages and log lines."""
    return f"{count} {noun if count == 1 else noun + 's'}"


def listed(items: Sequence[str], shown: int = 5) -> str:
    """The first ``shown`` items and how many more: ``a, b, c, d, e and 12 more``, for messages."""
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


def note_saved(what: str) -> None:
    """Remember the last thing written to disk, for the message after Ctrl-C."""
    _last_saved[:] = [what]


def last_saved() -> str | None:
    return _last_saved[0] if _last_saved else None
