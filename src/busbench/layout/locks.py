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


def _missing_folders(folder: Path) -> list[Path]:
    """The folders of ``folder``'s path that do not exist yet, deepest first: those taking a lock there makes."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _still_at(lock: FileLock, path: Path) -> bool:
    """Whether the file ``lock`` holds is still the one at ``path``: a failed holder removes its lock file
    while holding it, and a process that waited on that file must then lock the one now at ``path``."""
    fd = lock._context.lock_file_fd
    if fd is None:  # a lock without a descriptor of its own (filelock's soft fallback) is checked by filelock
        return True
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _take(lock: FileLock, path: Path, what: str, wait: bool) -> bool:
    """Take ``lock`` (False: another process holds it and ``wait`` is False)."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = lock_holder(path)
        if not wait:
            logger.info(f"{what}: {holder} is working on it ({path}); skipped here")
            return False
        logger.info(f"{what}: waiting for {holder}, which holds {path}")
        lock.acquire()
    return True


def _acquire(path: Path, what: str, wait: bool) -> tuple[FileLock | None, list[Path]]:
    """The held lock (None if another process holds it and ``wait`` is False) and the folders made for it;
    raises OSError if the folder cannot hold a lock file."""
    while True:
        made = _missing_folders(path.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path)
        try:
            if not _take(lock, path, what, wait):
                return None, []
        except FileNotFoundError:  # a failed holder removed the folder between mkdir and open: make it again
            continue
        if _still_at(lock, path):
            return lock, made
        lock.release()  # locked a file its failed holder had removed: lock the one at ``path`` now


def _remove_failed(path: Path, made: list[Path]) -> None:
    """After the guarded step failed, while its lock is still held: the lock file, its holder's note and
    the folders made for it that are left empty, so a failed step leaves nothing behind."""
    _holder_file(path).unlink(missing_ok=True)
    path.unlink(missing_ok=True)
    for folder in made:
        try:
            folder.rmdir()
        except OSError:  # not empty (what the step wrote, another process's lock): kept
            return


@contextmanager
def locked(path: Path, what: str, wait: bool = True) -> Iterator[bool]:
    """Hold the lock file ``path`` while the block runs (``what`` says what it guards, for the log).

    Another holder is named, then waited for (``wait``) or not: the block then gets False and must
    skip its work. A folder that cannot be written (read-only) cannot hold a lock, and nothing can
    be written there by anyone, so the block runs unlocked. If the block fails, the lock file and the
    folders made for it that it left empty are removed (a successful step's lock file stays)."""
    path = Path(path)
    try:
        lock, made = _acquire(path, what, wait)
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
    except BaseException:
        _remove_failed(path, made)
        raise
    finally:
        _holder_file(path).unlink(missing_ok=True)
        lock.release()
