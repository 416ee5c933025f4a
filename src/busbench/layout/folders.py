"""Where every artefact of a run lives: the file names, and the folder objects that name each path.

The steps that write a run (``pipeline``, ``train``, ``evaluate``) and those that read it (``report``,
``predict``, ``deploy``) take their paths from the same ``RunFolder``/``CellFolder``/``FoldFolder``
properties, so they cannot drift apart, and nobody climbs a cell's parents by hand::

    <output_dir>/data/<dataset key>/     manifest, split-<settings>.json, cache/ (shared by every model),
        duplicate_links-<search key>.csv (the duplicate search of that manifest, kept for the next split)
    <output_dir>/<name>/                                      a run (``RunFolder``): summary.csv, summary.md
    <output_dir>/<name>/<dataset key>/<model key>/            a cell (``CellFolder``)
        config.yaml, environment.json, fold-<k>/ (``FoldFolder``: provenance.json, last.pt,
        best.pt, log.csv, test_metrics.csv, done.json; tensorboard/, mlflow_run.json when tracked),
        postprocessing.json, postprocessing_trials.csv, ensemble_metrics.csv, ensemble_calibration.csv,
        cross_dataset_metrics.csv, cross_dataset_overlap.csv, per_image_metrics.csv, fold_summary.csv,
        summary.csv, summary.md
    <output_dir>/<method>/<dataset key>/<method>/             an outside method (``busbench score``), a cell too:
        score.json, environment.json, test_metrics.csv, masks/, summary.csv, summary.md
    <output_dir>/mlruns/                                      tracking.mlflow's local store
    <export folder>/                   ``busbench export onnx``: fold-<k>.onnx, busbench_onnx.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def data_folder(output_dir: Path, dataset_key: str) -> Path:
    """``<output_dir>/data/<dataset key>``: a dataset's manifest, splits and cache."""
    return Path(output_dir) / DATA / dataset_key


def data_folder_output_dir(data_dir: Path) -> Path | None:
    """The output_dir holding a data folder (``<output_dir>/data/<dataset key>``), or None if it is none."""
    folder = Path(data_dir).resolve()
    return folder.parents[1] if folder.parent.name == DATA else None


def dataset_key(data_dir: Path) -> str:
    """The dataset key a data folder was prepared under (its name)."""
    return Path(data_dir).resolve().name


@dataclass(frozen=True)
class RunFolder:
    """``<output_dir>/<name>``: the cells of one experiment name, and its summary of them all."""

    output_dir: Path
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "output_dir", Path(self.output_dir))

    @property
    def path(self) -> Path:
        return self.output_dir / self.name

    def cell(self, cell_id: str) -> CellFolder:
        """The cell ``<dataset key>/<model key>``."""
        return CellFolder(self.path / cell_id)

    @property
    def summary_csv(self) -> Path:
        return self.path / SUMMARY_CSV

    @property
    def summary_md(self) -> Path:
        return self.path / SUMMARY_MD


@dataclass(frozen=True)
class CellFolder:
    """``<output_dir>/<name>/<dataset key>/<model key>``: one (dataset, model) cell, trained by
    ``busbench run`` or an outside method scored by ``busbench score``."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))  # a str given is a Path all the same

    @property
    def run(self) -> RunFolder:
        """The run folder the cell is in (two levels up)."""
        return RunFolder(self.path.parents[2], self.path.parents[1].name)

    @property
    def dataset_key(self) -> str:
        return self.path.parent.name

    @property
    def model_key(self) -> str:
        return self.path.name

    @property
    def id(self) -> str:
        """``<dataset key>/<model key>``: how the cell is named by ``--cell``."""
        return f"{self.dataset_key}/{self.model_key}"

    @property
    def data_folder(self) -> Path:
        """The data folder of the dataset the cell was run on (``<output_dir>/data/<dataset key>``)."""
        return data_folder(self.run.output_dir, self.dataset_key)

    def fold(self, number: int) -> FoldFolder:
        return FoldFolder(self.path / f"{FOLD_PREFIX}{number}")

    def folds(self) -> list[FoldFolder]:
        """The cell's ``fold-<k>`` folders on disk, by fold number."""
        return sorted((FoldFolder(p) for p in self.path.glob(f"{FOLD_PREFIX}*")), key=lambda f: f.number)

    def folds_started(self) -> bool:
        """Whether any fold of the cell has begun (after that its settings are fixed)."""
        return any(self.path.glob(f"{FOLD_PREFIX}*/*"))

    @property
    def config_yaml(self) -> Path:
        return self.path / CONFIG_YAML

    @property
    def environment_json(self) -> Path:
        return self.path / ENVIRONMENT_JSON

    @property
    def postprocessing_json(self) -> Path:
        return self.path / POSTPROCESSING_JSON

    @property
    def postprocessing_trials_csv(self) -> Path:
        return self.path / POSTPROCESSING_TRIALS_CSV

    @property
    def ensemble_metrics_csv(self) -> Path:
        return self.path / ENSEMBLE_CSV

    @property
    def ensemble_calibration_csv(self) -> Path:
        return self.path / ENSEMBLE_CALIBRATION_CSV

    @property
    def cross_dataset_metrics_csv(self) -> Path:
        return self.path / CROSS_CSV

    @property
    def cross_dataset_overlap_csv(self) -> Path:
        return self.path / CROSS_OVERLAP_CSV

    @property
    def per_image_metrics_csv(self) -> Path:
        return self.path / PER_IMAGE_CSV

    @property
    def fold_summary_csv(self) -> Path:
        return self.path / FOLD_SUMMARY_CSV

    @property
    def summary_csv(self) -> Path:
        return self.path / SUMMARY_CSV

    @property
    def summary_md(self) -> Path:
        return self.path / SUMMARY_MD

    @property
    def score_json(self) -> Path:
        """An outside method's record (``busbench score``)."""
        return self.path / SCORE_JSON

    @property
    def test_metrics_csv(self) -> Path:
        """An outside method's scores (a trained cell's are in its folds)."""
        return self.path / TEST_METRICS_CSV

    @property
    def masks(self) -> Path:
        """An outside method's predicted masks."""
        return self.path / MASKS


@dataclass(frozen=True)
class FoldFolder:
    """``<cell>/fold-<k>``: one fold model, its training and its test scores."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))  # a str given is a Path all the same

    @property
    def number(self) -> int:
        """``k`` of ``fold-<k>``."""
        return int(self.path.name.removeprefix(FOLD_PREFIX))

    @property
    def cell(self) -> CellFolder:
        return CellFolder(self.path.parent)

    @property
    def done(self) -> bool:
        """Whether the fold finished (its ``done.json``, written last, exists)."""
        return self.done_json.is_file()

    @property
    def provenance_json(self) -> Path:
        return self.path / FOLD_PROVENANCE

    @property
    def last_pt(self) -> Path:
        return self.path / LAST

    @property
    def best_pt(self) -> Path:
        return self.path / BEST

    @property
    def log_csv(self) -> Path:
        return self.path / LOG_CSV

    @property
    def test_metrics_csv(self) -> Path:
        return self.path / TEST_METRICS_CSV

    @property
    def done_json(self) -> Path:
        return self.path / DONE

    @property
    def tensorboard(self) -> Path:
        return self.path / TENSORBOARD_DIR

    @property
    def mlflow_run_json(self) -> Path:
        return self.path / MLFLOW_RUN
