"""Ctrl-C, and SIGTERM (what SLURM and other schedulers send at a time limit or pre-emption), that
always stop a run cleanly. Python raises KeyboardInterrupt wherever the main thread is
when the signal arrives; inside a finaliser or callback it is printed and swallowed, and the run
would go on. The CLI's handler therefore also records the signal, and the training loop checks the
record after every batch.

What the message after the stop says depends on the step: a step that keeps partial work (training
keeps finished folds and epochs) says so with ``on_stop``; every other step writes each file whole or
not at all, so it leaves nothing half-written and is simply run again."""

from __future__ import annotations

import signal
from types import FrameType

_received: list[int] = []
_resume: list[str] = []


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """Record Ctrl-C and SIGTERM as well as raising KeyboardInterrupt (main thread only)."""
    _received.clear()
    _resume.clear()
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def received() -> int | None:
    """The first stopping signal that arrived (``signal.SIGINT`` or ``signal.SIGTERM``), if any."""
    return _received[0] if _received else None


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if Ctrl-C arrived, even if its first raise was swallowed."""
    if _received:
        raise KeyboardInterrupt


def on_stop(resume: str) -> None:
    """Say what the running step keeps when stopped and how it resumes (for the message after Ctrl-C)."""
    _resume[:] = [resume]


def resume_note() -> str | None:
    """What ``on_stop`` said, or None for a step that keeps nothing partial."""
    return _resume[0] if _resume else None
