"""The tables over every test set of a report: normal and lesion images apart, and the lesion-image Dice
of the models each dataset's ranks are taken on (Friedman, the CD diagram). The train-on x test-on matrix
(cross-dataset and pooled runs) is ``train_test_matrix``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.metrics.per_image import FALSE_ALARM
from busbench.report.collect import RunTable
from busbench.report.tables.publication import lesion_column


def normal_and_lesion(tables: list[RunTable]) -> pd.DataFrame:
    """Per test set and model: the false-positive rate on normal images and the Dice on lesion images,
    mean ± std over the fold models."""
    rows = []
    for table in tables:
        for run in table.runs:
            normal = run.per_image[run.per_image["label"] == "normal"]
            lesion = run.per_image[run.per_image["label"] != "normal"]
            fpr = normal.groupby("fold")["empty_case"].apply(lambda s: float((s == FALSE_ALARM).mean()))
            dice = lesion.groupby("fold")["dice"].mean()
            rows.append({"dataset": table.title, "model": run.title,
                         "normal_images": normal["case_id"].nunique(),
                         "false_positive_rate_mean": fpr.mean() if len(fpr) else np.nan,
                         "false_positive_rate_std": fpr.std(ddof=1) if len(fpr) > 1 else np.nan,
                         "lesion_images": lesion["case_id"].nunique(), "lesion_dice_mean": dice.mean(),
                         "lesion_dice_std": dice.std(ddof=1) if len(dice) > 1 else np.nan})
    return pd.DataFrame(rows)


def ranked_tables(tables: list[RunTable]) -> list[RunTable]:
    """One table per dataset for the ranks across datasets (two test sets of one dataset are not
    two datasets): the one with the most runs, the first by key on a tie."""
    chosen: dict[str, RunTable] = {}
    for table in tables:
        dataset = table.runs[0].dataset
        if dataset not in chosen or len(table.runs) > len(chosen[dataset].runs):
            chosen[dataset] = table
    return list(chosen.values())


def datasets_to_rank(tables: list[RunTable], frames: dict[str, pd.DataFrame]) -> tuple[list[RunTable], pd.DataFrame,
                                                                                       str]:
    """The tables the ranks use (``ranked_tables``), the fold models' mean lesion-image Dice on them of the models
    scored on all of them (rows: datasets, columns: models; ``frames``: each table key's rows), and
    why there can be no ranks ("" when there can: two or more datasets and two or more such models)."""
    chosen = ranked_tables(tables)
    fold_models = {t.runs[0].dataset_title: frames[t.key][frames[t.key]["variant"] == FOLD_MODELS] for t in chosen}
    column = f"{lesion_column('dice')}_mean"
    dice = pd.DataFrame({dataset: table.set_index("model")[column] for dataset, table in fold_models.items()}).T
    common = dice.dropna(axis=1)
    if common.shape[0] < 2:
        return chosen, common, (f"No average ranks across datasets: they need two or more datasets, and these runs "
                                f"hold {common.shape[0]} ({', '.join(map(str, dice.index))}).")
    if common.shape[1] < 2:
        return chosen, common, ("No average ranks across datasets: they need two or more models run on every "
                                f"dataset, and {common.shape[1]} was.")
    return chosen, common, ""
