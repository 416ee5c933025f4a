"""The fairness delta: how much of a published-style number is leakage.

The same model and settings are trained twice: under the image-level split of published BUS
benchmarks (``split.protocol: image_level``) and under busbench's grouped split. Each is scored on
its own held-out test set. For the image-level split, a test image is *leaked* for a fold model
when an image of its leakage group (a duplicate, a near-duplicate or the same patient, as the split
file's groups record them) is among that fold model's training images; Dice on leaked images and on
the rest says how much the leak inflates the score. Under the grouped split no test image is
leaked, by construction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from busbench.config import ExperimentConfig
from busbench.data.run_data import run_data_folder
from busbench.data.split.record import CV, GROUPED, IMAGE_LEVEL, TEST, Split, load_split
from busbench.errors import BusbenchError
from busbench.evaluate.aggregate import FOLD_MODELS, metric_title, nsd_tolerance
from busbench.evaluate.table_checks import check_test_ids
from busbench.layout.atomic import write_csv, write_text
from busbench.layout.folders import RunFolder
from busbench.markdown import markdown_table
from busbench.records import read_environment
from busbench.report.names import dataset_title, model_title
from busbench.report.number_format import PIXEL_PLACES, SCORE_PLACES, number_text

PROTOCOL_TITLES = {GROUPED: "grouped (busbench)", IMAGE_LEVEL: "image-level (published benchmarks; leaky)"}
DELTA_CSV = "delta.csv"
# Dice on leaked images and on the rest; then on lesion images only, since a normal image scores
# Dice 1 or 0 (predicted empty or a false alarm) and the two groups hold different shares of them.
SUBSETS = ("Dice, leaked images", "Dice, other images", "Dice, leaked lesion images", "Dice, other lesion images")
DELTA_MD = "delta.md"


def protocol_configs(cfg: ExperimentConfig) -> dict[str, ExperimentConfig]:
    """The config under each protocol. Its own protocol keeps its name (its runs are reused); the
    other one's runs go to ``<name>-<protocol>``."""
    configs = {}
    for protocol in (IMAGE_LEVEL, GROUPED):
        name = cfg.name if cfg.split.protocol == protocol else f"{cfg.name}-{protocol.replace('_', '-')}"
        configs[protocol] = cfg.model_copy(update={"name": name,
                                                   "split": cfg.split.model_copy(update={"protocol": protocol})})
    return configs


def leaked_test_ids(split: Split, fold: int) -> set[str]:
    """Test images with a member of their leakage group among fold ``fold``'s training images."""
    training_groups = {c.group for c in split.cases if c.set == CV and c.fold != fold}
    return {c.case_id for c in split.cases if c.set == TEST and c.group in training_groups}


def _mean_std(values: list[float], places: int = SCORE_PLACES) -> str:
    """The fold models' mean ± sample std by the report's number rule; one fold model: its figure alone."""
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return "n/a"
    if len(finite) == 1:
        return number_text(finite[0], places)
    return f"{number_text(np.mean(finite), places)} ± {number_text(np.std(finite, ddof=1), places)}"


def protocol_row(per_image: pd.DataFrame, split: Split) -> dict[str, object]:
    """Scores of one protocol's fold models on its test set, split into leaked and other images."""
    scores = per_image[per_image["variant"] == FOLD_MODELS] if "variant" in per_image else per_image
    test_ids = split.held_out()
    dice, hd95, nsd, leaked_counts, ever_leaked = [], [], [], [], set()
    subsets: dict[str, list[float]] = {name: [] for name in SUBSETS}
    for fold, fold_scores in scores.groupby(scores["fold"].astype(int)):
        leaked = leaked_test_ids(split, fold)
        ever_leaked |= leaked
        is_leaked = fold_scores["case_id"].isin(leaked)
        lesion = fold_scores["label"] != "normal"
        dice.append(float(fold_scores["dice"].mean()))
        hd95.append(float(fold_scores["hd95"].mean()))
        nsd.append(float(fold_scores["nsd"].mean()))
        for name, chosen in zip(SUBSETS, (is_leaked, ~is_leaked, is_leaked & lesion, ~is_leaked & lesion)):
            subsets[name].append(float(fold_scores.loc[chosen, "dice"].mean()) if chosen.any() else np.nan)
        leaked_counts.append(len(leaked))
    return {"test images": len(test_ids), "leaked test images (any fold model)": len(ever_leaked),
            "leaked per fold model": f"{np.mean(leaked_counts):.1f}", "Dice": _mean_std(dice),
            "HD95": _mean_std(hd95, PIXEL_PLACES), metric_title("nsd", tolerance=nsd_tolerance(scores)): _mean_std(nsd),
            **{name: _mean_std(values) for name, values in subsets.items()}}


def fairness_delta(configs: dict[str, ExperimentConfig]) -> pd.DataFrame:
    """One row per (cell, protocol) from finished runs of ``protocol_configs``."""
    rows = []
    for protocol, cfg in configs.items():
        for cell in cfg.cells():
            folder = RunFolder(cell.output_dir, cell.name).cell(f"{cell.data.key()}/{cell.cell_key()}")
            split_file = read_environment(folder.path).split_file
            if split_file is None:
                raise BusbenchError(f"{folder.environment_json}: missing or names no split file; run `busbench "
                                    "delta CONFIG`, which finishes the cell and rewrites it")
            split = load_split(run_data_folder(folder) / split_file)
            per_image = pd.read_csv(folder.per_image_metrics_csv, dtype={"case_id": str})
            check_test_ids(per_image, folder.per_image_metrics_csv, split.held_out(),
                           f"Run `busbench run` on {folder.path} again to rewrite it", by=["fold"])
            rows.append({"dataset": cell.data.key(), "model": cell.cell_key(), "Dataset": dataset_title(cell.data),
                         "Model": model_title(cell.model), "protocol": PROTOCOL_TITLES[protocol],
                         **protocol_row(per_image, split)})
    return pd.DataFrame(rows)


def write_delta(table: pd.DataFrame, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_csv(table, out / DELTA_CSV, float_format=None)
    note = ("Fold models' mean ± std, each protocol on its own held-out test set. A test image is leaked for a fold "
            "model when a duplicate, near-duplicate or same-patient image of it is among that model's training "
            "images (the leakage groups of busbench's split files).")
    shown = table.drop(columns=["dataset", "model"]).rename(columns={"protocol": "Protocol"})  # keys: in the CSV
    write_text(markdown_table(shown.rename(columns=lambda c: c[:1].upper() + c[1:])) + "\n" + note + "\n",
               out / DELTA_MD)
