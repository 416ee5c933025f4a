"""The run-folder layout: where every artefact of a run lives, and how it is written.

One module owns the file names, so the steps that write a run (``pipeline``, ``train``,
``evaluate``) and those that read it (``report``, ``predict``) cannot drift apart::

    <output_dir>/data/<dataset key>/     manifest, split-<settings>.json, cache/ (shared by every model),
        duplicate_links-<search key>.csv (the duplicate search of that manifest, kept for the next split)
    <output_dir>/<name>/<dataset key>/<model key>/            a cell (``cell_folder``)
        config.yaml, environment.json, fold-<k>/ (``fold_folder``: provenance.json, last.pt,
        best.pt, log.csv, test_metrics.csv, done.json; tensorboard/, mlflow_run.json when tracked),
        postprocessing.json (+ _trials.csv), ensemble_metrics.csv, ensemble_calibration.csv,
        cross_dataset_metrics.csv (+ _overlap.csv), per_image_metrics.csv, fold_summary.csv, summary.csv,
        summary.md
    <output_dir>/<method>/<dataset key>/<method>/             an outside method (``busbench score``):
        score.json, environment.json, test_metrics.csv, masks/, summary.csv, summary.md
    <output_dir>/mlruns/                                      tracking.mlflow's local store
    <export folder>/                   ``busbench export onnx``: fold-<k>.onnx, busbench_onnx.json

Every file is written atomically (``atomic_path``): to a temporary file of a unique name in the
same folder, then renamed over the target, so that an interruption never leaves half a file and
concurrent fold jobs of one cell never write to one temporary file. A file whose content is
unchanged is not rewritten (a finished run re-runs in a read-only folder), and a full disk, a file past
the size limit (``ulimit -f``) or a folder that cannot be written is one line naming the file
(``BusbenchError``), never half a file.
Several processes may work on one output folder at once (fold-parallel jobs of a cell, two runs
sharing a dataset): ``locked`` serialises what they must not do together, and names the process
that holds a lock. Base layer: it imports only ``errors`` and ``log``.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import secrets
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout
from PIL import Image

from busbench.errors import BusbenchError
from busbench.log import logger

DATA = "data"
DUPLICATE_LINKS_PREFIX = "duplicate_links-"  # beside manifest.csv: a finished duplicate search (``data.duplicates``)
CONFIG_YAML = "config.yaml"
ENVIRONMENT_JSON = "environment.json"
# a fold folder's files
FOLD_PREFIX = "fold-"
FOLD_PROVENANCE = "provenance.json"
DONE = "done.json"
LAST = "last.pt"
BEST = "best.pt"
LOG_CSV = "log.csv"
TEST_METRICS_CSV = "test_metrics.csv"
TENSORBOARD_DIR = "tensorboard"  # tracking.tensorboard's event files
MLFLOW_RUN = "mlflow_run.json"  # tracking.mlflow's run id, so a resumed fold logs into the same run
# a cell's files
POSTPROCESSING_JSON = "postprocessing.json"
POSTPROCESSING_TRIALS_CSV = "postprocessing_trials.csv"
ENSEMBLE_CSV = "ensemble_metrics.csv"
ENSEMBLE_CALIBRATION_CSV = "ensemble_calibration.csv"
CROSS_CSV = "cross_dataset_metrics.csv"
CROSS_OVERLAP_CSV = "cross_dataset_overlap.csv"
PER_IMAGE_CSV = "per_image_metrics.csv"
FOLD_SUMMARY_CSV = "fold_summary.csv"
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
# an outside method's files
SCORE_JSON = "score.json"
MASKS = "masks"
# the tracking.mlflow local store, under output_dir
MLFLOW_STORE = "mlruns"
# a folder of `busbench export onnx`: fold-<k>.onnx and this description
ONNX_JSON = "busbench_onnx.json"
ONNX_SUFFIX = ".onnx"
METRIC_FLOATS = "%.6f"  # how every metrics table writes its numbers
# what a write fails with when the disk or the folder, not busbench, is at fault
LOCKS = ".locks"  # a folder's lock files, apart from its artefacts
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
TOO_LARGE = errno.EFBIG  # past this process's file size limit (ulimit -f) or the file system's largest file
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def data_folder(output_dir: Path, dataset_key: str) -> Path:
    """``<output_dir>/data/<dataset key>``: a dataset's manifest, splits and cache."""
    return Path(output_dir) / DATA / dataset_key


def dataset_key(data_dir: Path) -> str:
    """The dataset key a data folder was prepared under (its name)."""
    return Path(data_dir).resolve().name


def cell_folder(output_dir: Path, name: str, cell_id: str) -> Path:
    """``<output_dir>/<name>/<dataset key>/<model key>``: one (dataset, model) cell."""
    return Path(output_dir) / name / cell_id


def cell_data_folder(cell: Path) -> Path:
    """The data folder of the dataset a cell was run on (its output_dir is three levels up)."""
    return data_folder(cell.parents[2], cell.parent.name)


def fold_folder(cell: Path, fold: int) -> Path:
    return cell / f"{FOLD_PREFIX}{fold}"


def fold_number(folder: Path) -> int:
    """``k`` of a ``fold-<k>`` folder."""
    return int(folder.name.removeprefix(FOLD_PREFIX))


def fold_folders(cell: Path) -> list[Path]:
    """A cell's ``fold-<k>`` folders, by fold number."""
    return sorted(cell.glob(f"{FOLD_PREFIX}*"), key=fold_number)


def folds_started(cell: Path) -> bool:
    """Whether any fold of the cell has begun (after that its settings are fixed)."""
    return any(cell.glob(f"{FOLD_PREFIX}*/*"))


def lock_file(folder: Path, what: str) -> Path:
    """``<folder>/.locks/<what>.lock``: the lock guarding ``what`` in a data folder or a cell."""
    return Path(folder) / LOCKS / f"{what}.lock"


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
