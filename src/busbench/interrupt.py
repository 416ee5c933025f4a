"""Ctrl-C, and SIGTERM (what SLURM and other schedulers send at a time limit or pre-emption), that
always stop a run cleanly. Python raises KeyboardInterrupt wherever the main thread is
when the signal arrives; inside a finaliser or callback it is printed and swallowed, and the run
would go on. The CLI's handler therefore also records the signal, and the training loop checks the
record after every batch."""

from __future__ import annotations

import signal
from types import FrameType

_received: list[int] = []


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """Record Ctrl-C and SIGTERM as well as raising KeyboardInterrupt (main thread only)."""
    _received.clear()
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def received() -> int | None:
    """The first stopping signal that arrived (``signal.SIGINT`` or ``signal.SIGTERM``), if any."""
    return _received[0] if _received else None


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if Ctrl-C arrived, even if its first raise was swallowed."""
    if _received:
        raise KeyboardInterrupt
