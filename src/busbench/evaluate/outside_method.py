"""``busbench score``: an outside method's predictions scored on the frozen test set, like a zoo model.

The scores are the trained runs' (``image_metrics`` at the original mask size, the same empty-mask
conventions and HD95 convention) and carry the same provenance columns, so ``busbench report``
puts the method in the table of the zoo models trained on that split, with its paired tests.

An outside method gives **one prediction set**, not k fold models: it is reported like an
ensemble, its value without a std, and a note under every table says so (its row is marked †).
Its provenance records the development cases as its training cases, as for a fold ensemble:
the method was allowed to train on those and no others.

Refused, each with the files named: a development-case prediction among the files (it must never
enter test scoring), a file that is no test case, a missing test case (``missing="empty"``
scores it as an empty prediction, stated in every table), a prediction of another size
(``resize`` fits it, stated in every table), and a probability map without a threshold.

Run folder: ``OUTPUT_DIR/<method>/<dataset key>/<method>/`` with ``score.json``,
``environment.json``, ``test_metrics.csv`` (one row per test image), ``masks/<case id>.png``
(the masks as scored, 0/255), ``summary.csv`` and ``summary.md``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from busbench.config import DataConfig
from busbench.data.csv_files import read_csv_with_columns
from busbench.data.export.held_out import SplitData
from busbench.data.export.nnunet import CASE_ID, NNUNET_ID
from busbench.data.manifest import Manifest, case_row
from busbench.data.provenance import with_provenance
from busbench.environment import environment
from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import fold_summaries, formatted, mean_std
from busbench.evaluate.prediction_files import PREDICTION_SUFFIXES, read_prediction
from busbench.layout.atomic import write_csv, write_json, write_png, write_text
from busbench.layout.folders import CellFolder, RunFolder, data_folder_output_dir, dataset_key
from busbench.log import counted, listed
from busbench.markdown import markdown_table
from busbench.metrics.conventions import DEFAULT_NSD_TOLERANCE, HD95Convention
from busbench.metrics.per_image import MetricRules, image_metrics
from busbench.metrics.shape import shape_columns
from busbench.records import RunEnvironment, write_environment

PREDICTION_SET = "prediction set"  # the variant of an outside method's one set of predictions
SAFE_METHOD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
SHOWN_IDS = 10


@dataclass(frozen=True)
class ScoreOptions:
    """How prediction files are read: see ``busbench.evaluate.prediction_files``."""

    threshold: float | None = None
    missing: Literal["error", "empty"] = "error"
    resize: bool = False
    case_map: Path | None = None
    hd95: HD95Convention = "pooled"
    nsd_tolerance: float = DEFAULT_NSD_TOLERANCE


def read_case_map(path: Path) -> dict[str, str]:
    """nnU-Net identifier -> busbench case id, from the ``case_ids.csv`` of ``busbench export nnunet``."""
    table = read_csv_with_columns(path, "--case-map", (NNUNET_ID, CASE_ID), f"{NNUNET_ID}, {CASE_ID}",
                                  "give the case_ids.csv that `busbench export nnunet` wrote")
    return dict(zip(table[NNUNET_ID], table[CASE_ID]))


def prediction_files(folder: Path, case_map: dict[str, str] | None) -> dict[str, Path]:
    """Case id -> prediction file; files of other types (nnU-Net's .json, ...) are ignored.

    A file whose name is no case id (after the case map) is kept under its own name, so that the
    test-set check names it.
    """
    if not folder.is_dir():
        raise BusbenchError(f"--predictions {folder}: no such folder")
    found: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in PREDICTION_SUFFIXES):
        case_id = case_map.get(path.stem, path.name) if case_map is not None else path.stem
        if case_id in found:
            raise BusbenchError(f"{folder}: {found[case_id].name} and {path.name} are both predictions of "
                                f"{case_id!r}; keep one")
        found[case_id] = path
    return found


def check_cases(files: dict[str, Path], data: SplitData, folder: Path, missing: str) -> None:
    """Refuse files that are not test cases, and test cases without a prediction unless ``missing``
    is "empty"."""
    test, development = set(data.split.held_out()), set(data.split.development())
    seen = [f"{path.name} (development case {case_id!r})" for case_id, path in files.items() if case_id in development]
    unknown = [path.name for case_id, path in files.items() if case_id not in test and case_id not in development]
    if seen:
        raise BusbenchError(f"{folder}: {counted(len(seen), 'prediction')} of development cases: "
                            f"{listed(seen, SHOWN_IDS)}. A development-set prediction must never enter test scoring; "
                            "predict only the images `busbench export test` wrote")
    if unknown:
        raise BusbenchError(f"{folder}: {counted(len(unknown), 'file')} naming no case of {data.manifest.path}: "
                            f"{listed(unknown, SHOWN_IDS)}; remove them (nnU-Net ids need --case-map case_ids.csv)")
    absent = sorted(test - set(files))
    if absent and missing != "empty":
        raise BusbenchError(f"{folder}: no prediction for {len(absent)} of {counted(len(test), 'test case')}: "
                            f"{listed(absent, SHOWN_IDS)}. "
                            "Predict every image of `busbench export test`, or pass --missing empty to score "
                            "them as empty predictions (said in every table)")


def score_predictions(data: SplitData, folder: Path, options: ScoreOptions
                      ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One row per test image (its metrics, the file scored and how it was read), and the masks scored."""
    case_map = read_case_map(options.case_map) if options.case_map is not None else None
    files = prediction_files(folder, case_map)
    check_cases(files, data, folder, options.missing)
    group_of = data.split.groups
    records, masks = [], {}
    for case_id in data.split.held_out():
        row = case_row(data.rows, case_id)
        truth = data.manifest.lesion(row)
        path = files.get(case_id)
        if path is None:
            mask, resized, thresholded = np.zeros(truth.shape, dtype=bool), False, False
        else:
            read = read_prediction(path, truth.shape, options.threshold, options.resize)
            mask, resized, thresholded = read.mask, read.resized, read.thresholded
        masks[case_id] = mask
        metrics = image_metrics(mask, truth, MetricRules(options.hd95, nsd_tolerance=options.nsd_tolerance))
        records.append({"fold": 0, "variant": PREDICTION_SET, "case_id": case_id, "group": group_of[case_id],
                        "label": row["label"], **metrics, **shape_columns(mask, truth),
                        "prediction": path.name if path is not None else "", "missing": path is None,
                        "resized": resized, "thresholded": thresholded})
    return with_provenance(pd.DataFrame(records), data.provenance), masks


def score_notes(method: str, scores: pd.DataFrame) -> list[str]:
    """What every table must say of this method's row."""
    notes = [f"{method}: outside predictions scored by `busbench score` (its score.json names them): one "
             "prediction set, so no std over fold models and no Params/GFLOPs"]
    missing = scores.loc[scores["missing"], "case_id"].tolist()
    if missing:
        notes.append(f"{method}: {counted(len(missing), 'test image')} without a prediction scored as empty "
                     f"(--missing empty): {listed(missing, SHOWN_IDS)}")
    resized = int(scores["resized"].sum())
    if resized:
        notes.append(f"{method}: {counted(resized, 'prediction')} resized to the original image size (--resize: "
                     "nearest for masks, bilinear for probabilities)")
    return notes


def run_dataset_key(manifest: Manifest) -> str:
    """The dataset key `busbench run` gives the models trained on this data folder, so that the method's row sits
    in their table: the folder's name under ``OUTPUT_DIR/data/``, else the key of ``data.prepared`` set to it."""
    folder = manifest.path.parent
    if data_folder_output_dir(folder) is not None:
        return dataset_key(folder)
    return DataConfig(dataset=manifest.adapter, prepared=folder).key()


def run_folder(out: Path, data: SplitData, method: str) -> Path:
    """``out/<method>/<dataset key>/<method>``, laid out as `busbench run` lays out a cell."""
    if not SAFE_METHOD.fullmatch(method):
        raise BusbenchError(f"--name {method!r}: use letters, digits and _ . + - (it names the run folder)")
    cell = RunFolder(out, method).cell(f"{run_dataset_key(data.manifest)}/{method}")
    if cell.config_yaml.is_file():
        raise BusbenchError(f"{cell.path}: a trained run of `busbench run`; give the method another --name or --out")
    return cell.path


def score_method(data: SplitData, folder: Path, method: str, out: Path,
                 options: ScoreOptions) -> tuple[Path, dict[str, object]]:
    """Score ``folder`` and write the run folder; returns it and the method's summary row."""
    run_dir = run_folder(out, data, method)
    cell = CellFolder(run_dir)
    if cell.score_json.is_file():
        before = json.loads(cell.score_json.read_text())["provenance"]["split_sha256"]
        if before != data.provenance.split_sha256:
            raise BusbenchError(f"{run_dir}: {method!r} was scored on another split file there; give this score "
                                "another --name or --out (or delete that folder)")
    scores, masks = score_predictions(data, folder, options)
    cell.masks.mkdir(parents=True, exist_ok=True)
    for old in cell.masks.glob("*.png"):  # a rescore replaces every mask
        old.unlink()
    for case_id, mask in masks.items():
        write_png(mask.astype(np.uint8) * 255, cell.masks / f"{case_id}.png")
    notes = score_notes(method, scores)
    provenance = data.provenance
    write_csv(scores, cell.test_metrics_csv)
    identity = {"split_file": data.split_path.name, "data_folder": str(data.split_path.parent.resolve()),
                **{k: v for k, v in provenance.as_dict().items() if k != "train_ids_sha256"}}
    write_environment(RunEnvironment.model_validate({**environment(), **identity}), run_dir, sort_keys=False)
    record = {"method": method, "predictions": str(folder.resolve()), "threshold": options.threshold,
              "missing": options.missing, "resize": options.resize, "hd95": options.hd95,
              "nsd_tolerance": options.nsd_tolerance,
              "case_map": None if options.case_map is None else str(options.case_map.resolve()),
              "split_settings": data.split.settings, "notes": notes, "provenance": provenance.as_dict(),
              "trained_on": "assumed: the split's development cases (cv), as a fold ensemble"}
    write_json(record, cell.score_json, sort_keys=False)
    row = {"dataset": run_dir.parent.name, "model": method, "variant": PREDICTION_SET,
           "test_set_sha256": provenance.test_set_sha256, "notes": " | ".join(notes),
           **mean_std(fold_summaries(scores))}
    _write_summary(run_dir, row, options)
    return run_dir, row


def _write_summary(run_dir: Path, row: dict[str, object], options: ScoreOptions) -> None:
    """summary.csv and summary.md, as a trained cell has them."""
    write_csv(pd.DataFrame([row]), CellFolder(run_dir).summary_csv)
    shown = pd.DataFrame([{"dataset": row["dataset"], "model": row["model"], **formatted(row)}])
    threshold = "" if options.threshold is None else f" Probability maps: lesion where p >= {options.threshold:g}."
    notes = [f"† {n}." for n in str(row["notes"]).split(" | ")]
    conventions = f"HD95 convention: {options.hd95}. NSD tolerance: {options.nsd_tolerance:g} px." + threshold
    write_text("\n".join([markdown_table(shown), conventions, *notes]) + "\n",
               CellFolder(run_dir).summary_md)
