"""The dataset's files checked against what ``prepare`` recorded, before any step reads the manifest.

``manifest.csv`` records every case file's size and SHA-256 (columns ``file_bytes`` and
``file_sha256``, one entry per file: the image, then its masks), so its own checksum, which splits,
caches, folds and results record, covers the files' contents. ``manifest.json`` records their
modification times (kept out of the CSV so that preparing the same data twice still gives the same
checksum). A file whose size and time are unchanged is taken as unchanged; one whose time changed
is hashed, and refused only if its content changed (a copy or a ``touch`` is fine, and its new time
is recorded). The held-out test set's files are always hashed (``verify_file_contents``) before a
run starts, before they are scored and before they are reported: an edit of the same size with its
time put back passes the cheap check. A changed or deleted file is refused, never re-prepared
silently: a re-prepared manifest gets a new checksum, so the split and every fold made on the old
one would be refused anyway, and the user should know that a fixed mask changes their results.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pandas as pd

from busbench.errors import BusbenchError
from busbench.layout.atomic import write_json
from busbench.log import counted, listed

FILE_BYTES = "file_bytes"
FILE_SHA256 = "file_sha256"
MTIMES = "file_mtime_ns"
SHOWN_FILES = 5


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def case_files(row: pd.Series) -> list[str]:
    """A case's files relative to the dataset root: the image, then its masks."""
    return [str(row["image_path"]), *json.loads(row["mask_paths"])]


def file_columns(root: Path, files: list[str]) -> dict[str, str]:
    """The manifest columns recording ``files``' sizes and contents."""
    return {FILE_BYTES: json.dumps([(root / f).stat().st_size for f in files]),
            FILE_SHA256: json.dumps([file_sha256(root / f) for f in files])}


def modification_times(root: Path, frame: pd.DataFrame) -> dict[str, int]:
    """Every case file's modification time (ns), as ``manifest.json`` records it."""
    return {f: (root / f).stat().st_mtime_ns for _, row in frame.iterrows() for f in case_files(row)}


def _change(root: Path, name: str, size: int, sha256: str, times: dict[str, int]) -> str | None:
    """How a file differs from its record ("deleted", "edited"), or None; refreshes ``times``."""
    try:
        stat = (root / name).stat()
    except FileNotFoundError:
        return "deleted"
    if stat.st_size != size:
        return "edited"
    if times.get(name) == stat.st_mtime_ns:
        return None
    if file_sha256(root / name) != sha256:
        return "edited"
    times[name] = stat.st_mtime_ns  # same content, new time (copied or touched)
    return None


def verify_dataset_files(frame: pd.DataFrame, root: Path, meta: dict[str, object], meta_path: Path,
                         csv_path: Path) -> None:
    """Refuse a manifest whose dataset files were edited or deleted since ``prepare``."""
    recorded = meta.get(MTIMES)
    times: dict[str, int] = dict(recorded) if isinstance(recorded, dict) else {}
    before = dict(times)
    changed = []
    for _, row in frame.iterrows():
        sizes, hashes = json.loads(row[FILE_BYTES]), json.loads(row[FILE_SHA256])
        for name, size, sha256 in zip(case_files(row), sizes, hashes, strict=True):
            change = _change(root, name, size, sha256, times)
            if change:
                changed.append(f"{name} ({change})")
    _refuse(changed, "", root, meta, csv_path)
    if times != before:
        _record_times(meta, times, meta_path)


def verify_file_contents(frame: pd.DataFrame, root: Path, meta: dict[str, object], csv_path: Path) -> None:
    """Refuse if a file of ``frame``'s cases differs by content from what ``prepare`` read, whatever its size
    and time say: for the held-out test set (few, small files) before it is scored or reported, where an
    edit of the same size with its time restored must not pass."""
    changed = []
    for _, row in frame.iterrows():
        for name, sha256 in zip(case_files(row), json.loads(row[FILE_SHA256]), strict=True):
            if not (root / name).is_file():
                changed.append(f"{name} (deleted)")
            elif file_sha256(root / name) != sha256:
                changed.append(f"{name} (edited)")
    _refuse(changed, " (held-out test files, compared by content)", root, meta, csv_path)


def _refuse(changed: list[str], checked: str, root: Path, meta: dict[str, object], csv_path: Path) -> None:
    if not changed:
        return
    shown = listed(changed, SHOWN_FILES)
    raise BusbenchError(
        f"{csv_path}: {counted(len(changed), 'dataset file')} under {root} changed since `busbench prepare` read "
        f"them{checked}: {shown}. Restore them, or prepare again with "
        f"`{prepare_command(meta, csv_path.parent)}` (a new manifest checksum: splits, caches, folds and results "
        "made on the old files are then refused)")


def _record_times(meta: dict[str, object], times: dict[str, int], meta_path: Path) -> None:
    try:
        write_json({**meta, MTIMES: times}, meta_path)
    except OSError:  # a read-only data folder: the files are hashed again next time, nothing is lost
        pass


def prepare_command(meta: dict[str, object], out_dir: Path) -> str:
    """The ``busbench prepare`` line that rebuilds this manifest from its dataset folder."""
    options = meta.get("options")
    given = "".join(" -o " + shlex.quote(f"{key}={value if isinstance(value, str) else json.dumps(value)}")
                    for key, value in sorted(options.items() if isinstance(options, dict) else [])
                    if value not in (None, [], {}))
    return f"busbench prepare {meta.get('adapter')} --root {meta.get('root')} --out {out_dir}{given}"
