"""What processes sharing an output folder must not do at once.

Several processes may work on one output folder at once (fold-parallel jobs of a cell, two runs
sharing a dataset): ``locked`` serialises what they must not do together, and names the process
that holds a lock. A lock file lives in its folder's ``.locks/``, apart from the artefacts.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from busbench.layout.atomic import NOT_WRITABLE
from busbench.log import logger

LOCKS = ".locks"  # a folder's lock files, apart from its artefacts


def lock_file(folder: Path, what: str) -> Path:
    """``<folder>/.locks/<what>.lock``: the lock guarding ``what`` in a data folder or a cell."""
    return Path(folder) / LOCKS / f"{what}.lock"


def _holder_file(path: Path) -> Path:
    """Where a lock's holder names itself (not in the lock file: a waiter's open truncates that)."""
    return path.with_name(path.name + ".holder")


def lock_holder(path: Path) -> str:
    """Who holds a lock, as its holder wrote it (``process <pid> on <host>``)."""
    try:
        return _holder_file(Path(path)).read_text().strip() or "another process"
    except OSError:
        return "another process"


def _acquire(path: Path, what: str, wait: bool) -> FileLock | None:
    """The held lock, None if another process holds it and ``wait`` is False; raises OSError if the
    folder cannot hold a lock file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = lock_holder(path)
        if not wait:
            logger.info(f"{what}: {holder} is working on it ({path}); skipped here")
            return None
        logger.info(f"{what}: waiting for {holder}, which holds {path}")
        lock.acquire()
    return lock


@contextmanager
def locked(path: Path, what: str, wait: bool = True) -> Iterator[bool]:
    """Hold the lock file ``path`` while the block runs (``what`` says what it guards, for the log).

    Another holder is named, then waited for (``wait``) or not: the block then gets False and must
    skip its work. A folder that cannot be written (read-only) cannot hold a lock, and nothing can
    be written there by anyone, so the block runs unlocked."""
    path = Path(path)
    try:
        lock = _acquire(path, what, wait)
    except OSError as exc:
        if exc.errno not in NOT_WRITABLE:
            raise
        lock = None
        wait = True  # unlocked, but nobody else can write here either
    if lock is None:
        yield wait
        return
    try:
        _holder_file(path).write_text(f"process {os.getpid()} on {socket.gethostname()}\n")
        yield True
    finally:
        _holder_file(path).unlink(missing_ok=True)
        lock.release()
