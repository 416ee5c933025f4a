"""Results across sources (BUS-Set, Thomas et al., Medical Physics 2023): a train-on x test-on matrix.

Rows are what a model was trained on: one dataset, a pool (``data.pool``), a leave-one-dataset-out
cell; columns are the test sets it was scored on: its own (each pooled dataset's apart) and those of
``eval.cross_datasets``. Each entry is the lesion images' mean Dice over the fold models (each fold model's mean over
its images, then averaged), a 95 % cluster-bootstrap CI of the per-image Dice averaged over the fold
models (whole patient/duplicate groups drawn), the number of images scored and how many test images
were dropped because a fold model had seen a copy of them in training (``cross_dataset_overlap.csv``).
"""

from __future__ import annotations

import pandas as pd

from busbench.report.collect import RunResults, RunTable
from busbench.report.names import dataset_title, key_title
from busbench.report.number_format import SCORE_PLACES, interval_text, number_text
from busbench.report.scored_sets import has_lesion
from busbench.report.statistics.intervals_and_tests import bootstrap_ci

MATRIX_NOTE = ("Images: lesion images only, as the main table's Dice (a normal image's Dice is 1 or 0; the false "
               "alarms are counted in each test set's own table). Mean Dice of the fold models; [95 % CI]: cluster "
               "bootstrap of the per-image Dice averaged over the fold models, whole patient/duplicate groups drawn; "
               "n: lesion images scored; seen: test images dropped because a fold model trained on a copy of them. "
               "Rows: the training data (a pool: its datasets joined by +); columns: the test sets.")


def _entry(all_images: pd.DataFrame) -> dict[str, float | int]:
    """Lesion-image Dice of one (training data, test set) pair from its per-image rows (fold, case_id,
    group, dice, empty_case)."""
    scores = all_images[has_lesion(all_images)]
    grouped = scores if "group" in scores else scores.assign(group=scores["case_id"])  # older tables: one per image
    per_image = grouped.groupby("case_id").agg(dice=("dice", "mean"), group=("group", "first"))
    low, high = bootstrap_ci(per_image["dice"].to_numpy(), per_image["group"].to_numpy())
    return {"dice_mean": float(scores.groupby("fold")["dice"].mean().mean()), "dice_ci_low": low,
            "dice_ci_high": high, "images": int(per_image.shape[0])}


def _seen(run: RunResults) -> dict[str, int]:
    """Test dataset key -> its test images dropped as seen in training by any fold model."""
    path = run.folder.cross_dataset_overlap_csv
    if not path.is_file():
        return {}
    overlap = pd.read_csv(path, dtype={"test_dataset": str, "case_ids": str}, keep_default_na=False)
    dropped = overlap[overlap["handling"] == "drop"]
    return {str(key): len({c for ids in rows["case_ids"] for c in ids.split()})
            for key, rows in dropped.groupby("test_dataset")}


def _cross_titles(runs: list[RunResults]) -> dict[str, str]:
    titles = {run.dataset: run.dataset_title for run in runs}
    for run in runs:
        for other in run.config.eval.cross_datasets if run.config is not None else []:
            titles.setdefault(other.key(), dataset_title(other))
    return titles


def train_test_entries(tables: list[RunTable]) -> pd.DataFrame | None:
    """One row per (model, training data, test set); None unless some run was scored on a test set of
    another dataset than the one it was trained on."""
    runs = [run for table in tables for run in table.runs]
    if not any(run.cross is not None or run.trained_on for run in runs):
        return None
    titles = _cross_titles(runs)
    rows = []
    for run in runs:
        base = run.title.split(", trained on ")[0]  # a pooled view's title names its training data: the row says it
        rows.append({"model": base, "trained_on": run.training_title, "tested_on": run.dataset_title,
                     **_entry(run.per_image), "seen_dropped": 0})
        seen = _seen(run) if run.cross is not None else {}
        for key, scores in run.cross.groupby("test_dataset") if run.cross is not None else []:
            tested_on = titles.get(str(key)) or key_title(str(key))
            rows.append({"model": base, "trained_on": run.training_title, "tested_on": tested_on,
                         **_entry(scores), "seen_dropped": seen.get(str(key), 0)})
    return pd.DataFrame(rows)


def matrix_axes(entries: pd.DataFrame) -> tuple[list[tuple[str, str]], list[str]]:
    """The matrix's rows (model, training data) and columns (test sets) in reading order: test sets by
    name; each model's rows in its order of appearance, single datasets in the columns' order (the
    diagonal lines up), then pools and other training data by name."""
    columns = sorted(entries["tested_on"].unique(), key=str.casefold)
    models = list(dict.fromkeys(entries["model"]))

    def place(row: tuple[str, str]) -> tuple[int, int, int, str]:
        model, trained_on = row
        tested_here = trained_on in columns
        return models.index(model), not tested_here, columns.index(trained_on) if tested_here else 0, trained_on

    rows = sorted(set(zip(entries["model"], entries["trained_on"], strict=True)), key=place)
    return rows, columns


def matrix_display(entries: pd.DataFrame) -> pd.DataFrame:
    """The entries as the matrix a reader sees: "0.812 [0.781, 0.840] n=120 (3 seen)" per cell, the model
    named on its first row only (as the other publication tables do)."""
    def text(row: pd.Series) -> str:
        seen = f" ({int(row['seen_dropped'])} seen)" if row["seen_dropped"] else ""
        return (f"{number_text(row['dice_mean'], SCORE_PLACES)} "
                f"{interval_text(row['dice_ci_low'], row['dice_ci_high'], SCORE_PLACES)} n={int(row['images'])}{seen}")
    shown = entries.assign(entry=entries.apply(text, axis=1))
    rows, columns = matrix_axes(entries)
    matrix = shown.pivot_table(index=["model", "trained_on"], columns="tested_on", values="entry", aggfunc="first")
    matrix = matrix.reindex(index=pd.MultiIndex.from_tuples(rows, names=["model", "trained_on"]), columns=columns)
    shown = matrix.fillna("").reset_index().rename(columns={"model": "Model", "trained_on": "Trained on"})
    shown["Model"] = shown["Model"].where(shown["Model"] != shown["Model"].shift(), "")
    shown.columns.name = None
    return shown
