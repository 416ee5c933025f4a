"""The run-folder layout: where every artefact of a run lives, and how it is written.

One module owns the file names, so the steps that write a run (``pipeline``, ``train``,
``evaluate``) and those that read it (``report``, ``predict``) cannot drift apart::

    <output_dir>/data/<dataset key>/     manifest, split-<settings>.json, cache/ (shared by every model)
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
concurrent fold jobs of one cell never write to one temporary file. Base layer: it imports no
other busbench module.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

DATA = "data"
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
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(text: str, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


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
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=index, lineterminator="\n", float_format=float_format)
