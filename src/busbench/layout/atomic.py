"""How every file of busbench is written: atomically, and a failing disk as one line.

Every file is written atomically (``atomic_path``): to a temporary file of a unique name in the
same folder, then renamed over the target, so that an interruption never leaves half a file and
concurrent fold jobs of one cell never write to one temporary file. A file whose content is
unchanged is not rewritten (a finished run re-runs in a read-only folder), and a full disk, a file past
the size limit (``ulimit -f``) or a folder that cannot be written is one line naming the file
(``BusbenchError``), never half a file.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from busbench.errors import BusbenchError

METRIC_FLOATS = "%.6f"  # how every metrics table writes its numbers
# what a write fails with when the disk or the folder, not busbench, is at fault
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
TOO_LARGE = errno.EFBIG  # past this process's file size limit (ulimit -f) or the file system's largest file
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def temporary_path(path: Path) -> Path:
    """``<name>.<pid>.<random>.tmp`` next to ``path``: unique to the writer, so two processes
    writing one file (or folder) never mix their bytes."""
    path = Path(path)
    return path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path (``temporary_path``) to write ``path``'s content to; renamed over ``path``
    once the block ends without error, removed otherwise."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        with write_errors(path):
            yield tmp
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _size_limit() -> str:
    """This process's file size limit (``ulimit -f``) in words, or "" when there is none."""
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return "" if limit == resource.RLIM_INFINITY else f"this process's file size limit of {limit} bytes (ulimit -f)"


def write_error(exc: BaseException, path: Path) -> BusbenchError | None:
    """The one-line error for a write that failed because of the disk or the folder (full, read-only,
    not permitted, a file past the size limit), or None for any other failure. torch.save reports a full
    disk, and a file past ``ulimit -f``, as a RuntimeError (``enforce fail ... unexpected pos``) that does
    not say which: the message then names the limit too, where the process has one."""
    code = getattr(exc, "errno", None)
    limit = _size_limit()
    if code == TOO_LARGE:
        reached = limit or "the largest file the file system holds"
        return BusbenchError(f"{path}: a file grew past {reached}; raise the limit (`ulimit -f unlimited`) or set "
                             "output_dir to another disk, then run the same command again to resume")
    if code in DISK_FULL or (isinstance(exc, RuntimeError) and "unexpected pos" in str(exc)):
        or_limit = f" (or the file reached {limit}: `ulimit -f unlimited` lifts it)" if limit and code is None else ""
        return BusbenchError(f"{path}: the disk is full{or_limit}; free space on {path.parent} (or set output_dir "
                             "to another disk) and run the same command again to resume")
    if code in NOT_WRITABLE:
        return BusbenchError(f"{path}: cannot write to {path.parent} ({os.strerror(code)}); make the folder "
                             "writable or set output_dir to a writable folder, then run the same command again")
    return None


@contextmanager
def write_errors(path: Path) -> Iterator[None]:
    """Turn a full disk or an unwritable folder while writing ``path`` into one line."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        error = write_error(exc, path)
        if error is None:
            raise
        raise error from exc


def write_text(text: str, path: Path) -> None:
    """Write ``text`` to ``path`` unless it already holds exactly that."""
    path = Path(path)
    try:
        if path.read_text() == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def read_json(path: Path, fix: str) -> dict[str, object]:
    """A JSON record busbench wrote; a truncated or garbage one is one line ending in ``fix``."""
    try:
        record = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BusbenchError(f"{path}: damaged (not valid JSON: {exc}); {fix}") from exc
    if not isinstance(record, dict):
        raise BusbenchError(f"{path}: damaged (not a JSON object); {fix}")
    return record


def write_bytes(data: bytes, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(payload: Mapping[str, object] | Sequence[object], path: Path, sort_keys: bool = True,
               indent: int = 2) -> None:
    """Indented JSON; values JSON does not know (paths, ...) as their strings."""
    write_text(json.dumps(payload, indent=indent, sort_keys=sort_keys, default=str) + "\n", path)


def write_png(pixels: np.ndarray, path: Path) -> None:
    """An image (uint8, grey or RGB) as PNG."""
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


def write_csv(frame: pd.DataFrame, path: Path, float_format: str | None = METRIC_FLOATS, index: bool = False) -> None:
    """A table as every busbench CSV is written: ``\\n`` line ends, floats as ``float_format``
    (``None``: full precision)."""
    write_text(frame.to_csv(index=index, lineterminator="\n", float_format=float_format), path)
