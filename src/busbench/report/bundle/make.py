"""``busbench bundle``: a run folder's results as one bundle file (``record``).

Cells are read as ``busbench report`` reads them (``collect.load_run``: every table checked against
the split and, by content, against the manifest), so a bundle holds only results a report would
show. Each test case is named by content (``case_keys``), which needs the run's data folder
(``OUTPUT_DIR/data/<dataset key>``: manifest.csv and the split file) beside the run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from busbench.config import ExperimentConfig
from busbench.data.manifest import MANIFEST_CSV, load_manifest
from busbench.data.provenance import MEANINGS
from busbench.data.run_data import run_data_folder
from busbench.data.split.record import Split, load_split
from busbench.environment import git_commit
from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import ENSEMBLE, ENSEMBLE_POSTPROCESSED, FOLD_MODELS
from busbench.layout.atomic import write_text
from busbench.layout.folders import CONFIG_YAML, SCORE_JSON, CellFolder
from busbench.log import logger
from busbench.records import read_environment
from busbench.report.bundle.case_keys import case_keys, pixel_hashes
from busbench.report.bundle.record import (
    BUNDLE_FORMAT,
    CASE,
    Bundle,
    BundleCell,
    Conventions,
    Cost,
    bundle_text,
    canonical_sha256,
    cell_identity,
    run_identity,
)
from busbench.report.collect import RunResults, load_run, registry_description
from busbench.report.tables.complexity import find_profiles, model_cost
from busbench.version import __version__

EMPTY_MASK_RULE = ("both masks empty: Dice, IoU, precision and recall 1, HD95 0; one empty: Dice, IoU, precision and "
                   "recall 0, HD95 the image diagonal")
ROW_ORDER = {FOLD_MODELS: 0, ENSEMBLE: 1, ENSEMBLE_POSTPROCESSED: 2}
_FIRST = [CASE, "pixel_sha256", "variant", "fold", "group", "label", "empty_case"]


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python's, a missing number as None."""
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and math.isnan(value) else value


def _median_size(manifest_rows: pd.DataFrame) -> str:
    return f"{int(manifest_rows['width'].median())} x {int(manifest_rows['height'].median())} px"


def conventions(config: ExperimentConfig, test_rows: pd.DataFrame, cell: CellFolder) -> Conventions:
    """How the cell's metrics were computed, from its config and its test images' size."""
    evaluation, size = config.eval, _median_size(test_rows)
    where = (f"HD95 on the {config.input.size} px network input, the rest at each test image's original size "
             f"(median {size})" if evaluation.hd95_space == "network"
             else f"every metric at each test image's original size (median {size})")
    chosen = json.loads(cell.postprocessing_json.read_text()) if cell.postprocessing_json.is_file() else None
    return Conventions(hd95=evaluation.hd95, hd95_space=evaluation.hd95_space, hd95_empty=evaluation.hd95_empty,
                       empty_masks=EMPTY_MASK_RULE, scoring_resolution=where, threshold=evaluation.threshold,
                       tta=tuple(evaluation.tta), postprocess=evaluation.postprocess, postprocessing=chosen)


def _rows(run: RunResults, keys: dict[str, str], pixels: pd.Series, groups: dict[str, int]) -> pd.DataFrame:
    """Every per-image row of the cell (fold models, then the ensemble rows), keyed by case."""
    table = pd.concat([run.per_image, *([run.ensemble] if run.ensemble is not None else [])], ignore_index=True)
    table = table.drop(columns=[c for c in MEANINGS if c in table]).assign(
        **{CASE: table["case_id"].map(keys), "pixel_sha256": table["case_id"].map(pixels),
           "group": table["case_id"].map(groups)})
    table["variant"] = table["variant"] if "variant" in table else FOLD_MODELS
    metrics = [c for c in table.columns if c not in {*_FIRST, "case_id"}]
    table = table.assign(order=table["variant"].map(ROW_ORDER).fillna(len(ROW_ORDER)))
    # in an order the keys do not change, so that the run's identity does not depend on them
    table = table.sort_values(["order", "variant", "fold", "pixel_sha256", "case_id"], ignore_index=True)
    return table[[*_FIRST, *metrics]]


def _split_path(cell: CellFolder) -> Path:
    """The run's split file, refused where the data folder beside the run is gone."""
    split_file, data_dir = read_environment(cell.path).split_file, run_data_folder(cell)
    split_path, manifest = data_dir / str(split_file), data_dir / MANIFEST_CSV
    if not split_file or not split_path.is_file() or not manifest.is_file():
        raise BusbenchError(f"{cell.path}: a bundle names each test case by its content, read from the run's data "
                            f"folder {data_dir} (manifest.csv and {split_file or 'the split file'}), which "
                            "is not there; bundle the run in the results folder it was run in")
    return split_path


def _mismatch(split: Split) -> list[str]:
    """How a copy split with ``--allow-mismatch`` differed from its registry, which the report says in a
    table's title and a leaderboard, ranking another lab's rows, must say beside the row."""
    if split.registry is None or split.registry.complete:
        return []
    return [f"split with --allow-mismatch from {registry_description(split.registry)}"]


def bundle_cell(run: RunResults, registry: str | None, profiles: pd.DataFrame) -> BundleCell:
    """One finished cell as a bundle cell."""
    cell, config = run.folder, run.config
    assert config is not None  # load_run reads trained cells only
    split = load_split(_split_path(cell))  # first: it says what is missing where the data folder is gone
    trained = run.per_image["fold"].nunique()
    if trained < split.folds:
        logger.warning(f"bundle: {cell.id} has {trained} of its split's {split.folds} folds trained: a leaderboard "
                       "marks it ‡ with that note; bundle it again once `busbench run` has trained every fold")
    manifest = load_manifest(run_data_folder(cell))
    keys, held_out = case_keys(split, manifest, registry, cell.path)
    pixels = pixel_hashes(manifest)
    table = _rows(run, keys, pixels, split.groups)
    columns = tuple(table.columns)
    rows = [tuple(_plain(v) for v in row) for row in table.itertuples(index=False)]
    environment = json.loads(cell.environment_json.read_text()) if cell.environment_json.is_file() else {}
    resolved = config.model_dump(mode="json")
    identity = cell_identity(resolved, environment, columns, rows)
    test_rows = manifest.frame.set_index("case_id").loc[split.held_out()]
    return BundleCell(cell=cell.id, dataset=run.dataset, dataset_title=run.dataset_title, model=run.model,
                      title=run.title, identity=identity, config=resolved, environment=environment,
                      cost=Cost.model_validate(model_cost(config, profiles)), test_set=held_out,
                      conventions=conventions(config, test_rows, cell), notes=tuple(run.notes + _mismatch(split)),
                      columns=columns,
                      rows=tuple(rows))


def _cell_folders(run_dir: Path) -> list[Path]:
    """The trained cells of a run folder (or the one cell given); an outside method's scored cell is named
    and left out (a bundle holds what busbench trained, with its config)."""
    if (run_dir / CONFIG_YAML).is_file():  # a cell folder: that cell alone
        return [run_dir]
    cells = sorted(p.parent for p in run_dir.glob(f"*/*/{CONFIG_YAML}"))
    scored = sorted(p.parent for p in run_dir.glob(f"*/*/{SCORE_JSON}")) + (
        [run_dir] if (run_dir / SCORE_JSON).is_file() else [])
    if scored and not cells:
        raise BusbenchError(f"{run_dir}: an outside method's scores (busbench score), which a bundle does not hold; "
                            "bundle the runs `busbench run` trained (OUTPUT_DIR/<name>)")
    for folder in scored:
        logger.warning(f"bundle: {folder} is an outside method (busbench score): not bundled")
    return cells


def make_bundle(run_dir: Path, registry: str | None = None) -> Bundle:
    """The bundle of a run folder (``<output_dir>/<name>``) or of one of its cells."""
    run_dir = Path(run_dir)
    folders = _cell_folders(run_dir) if run_dir.is_dir() else []
    if not folders:
        runs = sorted({CellFolder(p.parent).run.path.as_posix() for p in run_dir.glob(f"*/*/*/{CONFIG_YAML}")})
        inside = f"; it is an output folder holding runs: bundle one of {', '.join(runs)}" if runs else (
            "; give the folder `busbench run` wrote")
        raise BusbenchError(f"{run_dir}: no busbench run folder (<output_dir>/<name> with <dataset>/<model>/"
                            f"{CONFIG_YAML}){inside}")
    output_dir = CellFolder(folders[0]).run.output_dir
    profiles = find_profiles(output_dir)
    cells = []
    for folder in folders:
        loaded = load_run(folder)
        if isinstance(loaded, str):
            logger.warning(f"bundle: skipped {loaded}")
            continue
        cells.append(bundle_cell(loaded, registry, profiles))
    if not cells:
        raise BusbenchError(f"{run_dir}: no finished cell to bundle; bundle it when `busbench run` has finished")
    dumped = [cell.model_dump(mode="json") for cell in cells]
    return Bundle(format=BUNDLE_FORMAT, run=CellFolder(folders[0]).run.name,
                  identity=run_identity(cell.identity for cell in cells),
                  created_by={"busbench": __version__, "git_commit": git_commit()},
                  cells_sha256=canonical_sha256(dumped), cells=tuple(cells))


def write_bundle(bundle: Bundle, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(bundle_text(bundle), out)
    return out

