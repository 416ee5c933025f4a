"""``busbench leaderboard``: bundles made on different machines as one table, with the report's statistics.

One row per entry (bundle x cell) and row type (fold models, ensemble, ensemble + post-processing),
entries ranked by the lesion-image Dice of their ensemble (of their fold models where they have none).
The figures are the report's (``tables.model_rows.accuracy_figures``: lesion images scored apart from
normal ones, mean ± std over fold models, cluster bootstrap CIs over the independent units of the test
set, the groups of every bundle's split merged by case key), and so are the paired tests: per row type,
Wilcoxon on per-unit mean Dice of the lesion images, paired by case key, Holm-corrected
(``IndependentUnits.paired_comparisons``), and the † of a row that differs from the best row
(``model_rows.mark_differences``). Costs are the bundle's,
computed where the run was made, scaled to what each row runs (``row_cost``).

Everything is read and checked (``entries``) before ``files`` writes the first file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from busbench.evaluate.aggregate import ENSEMBLE, ENSEMBLE_POSTPROCESSED, FOLD_MODELS
from busbench.log import logger
from busbench.report.bundle.entries import (
    Entry,
    check_test_sets,
    convention_warnings,
    copy_warnings,
    entries_of,
    note_warnings,
    read_bundles,
)
from busbench.report.statistics.intervals_and_tests import p_value_matrix
from busbench.report.statistics.units import IndependentUnits, lesion_image_scores, units_of
from busbench.report.tables.complexity import row_cost
from busbench.report.tables.model_rows import accuracy_figures, mark_differences
from busbench.report.tables.publication import ROW_NAMES, lesion_column

ROW_TYPES = (FOLD_MODELS, ENSEMBLE, ENSEMBLE_POSTPROCESSED)


@dataclass
class Leaderboard:
    """What the files and the page show."""

    title: str  # the dataset and test set
    entries: list[Entry]
    table: pd.DataFrame  # a row per entry and row type: accuracy, cost and setup figures
    setup: pd.DataFrame  # a row per entry
    warnings: list[str]
    comparisons: pd.DataFrame = field(default_factory=pd.DataFrame)  # every row type's paired tests
    p_values: dict[str, pd.DataFrame] = field(default_factory=dict)  # row type -> Holm-adjusted p matrix


def _machine(environment: dict[str, object]) -> str:
    if environment.get("cuda"):
        return str(environment["cuda"])
    threads = environment.get("torch_threads")
    return f"CPU {environment.get('processor') or ''}" + (f", {threads} threads" if threads else "")


def _epochs(train: dict[str, object]) -> str:
    """The epoch limit, and the time budget where one stopped training (``train.max_minutes``)."""
    budget = train.get("max_minutes")
    return f"{train.get('epochs')}" + (f", at most {budget:g} min" if isinstance(budget, (int, float)) else "")


def _setup_row(entry: Entry) -> dict[str, object]:
    env, cell, conventions = entry.cell.environment, entry.cell, entry.cell.conventions
    test_set = cell.test_set
    chosen = (conventions.postprocessing or {}).get("postprocessing")
    return {"Model": entry.title, "Bundle": entry.source.name,
            "Run": f"{entry.bundle.run} ({entry.bundle.identity[:12]})",
            "Machine": _machine(env), "Precision": env.get("precision") or "not recorded",
            "busbench": f"{env.get('busbench')} ({str(env.get('git_commit') or 'no commit')[:8]})",
            "Registry": f"{test_set.registry} ({test_set.matched})" if test_set.registry else "none",
            "Test set": test_set.identity(), "TTA": ", ".join(conventions.tta) or "none",
            "Input": f"{cell.config.get('input', {}).get('size')} px",
            "Epochs": _epochs(cell.config.get("train", {})),
            "Post-processing": str(chosen) if conventions.postprocess else "off",
            "Scoring": conventions.scoring_resolution,
            "HD95": f"{conventions.hd95}, {conventions.hd95_space} space, empty masks: {conventions.hd95_empty}"}


def _rows(entry: Entry, units: IndependentUnits) -> list[tuple[dict[str, object], pd.DataFrame]]:
    """Each row type's row, with its per-image scores."""
    frame, setup = entry.frame, _setup_row(entry)
    seeds = frame["seed"].nunique() if "seed" in frame else 1
    folds = frame.loc[frame["variant"] == FOLD_MODELS, "fold"].nunique() // seeds  # an ensemble: one seed's folds
    views = 1 + len(entry.cell.conventions.tta)
    rows = []
    for variant in [v for v in ROW_TYPES if v in set(frame["variant"])]:
        per_image = frame[frame["variant"] == variant]
        row: dict[str, object] = {"dataset": entry.cell.dataset_title, "model": entry.title,
                                  **accuracy_figures(variant, per_image, units)}
        row.update(row_cost(entry.cell.cost.model_dump(), 1 if variant == FOLD_MODELS else folds, views))
        row["protocol"] = " | ".join(entry.notes)
        row.update({key.lower(): setup[key] for key in ("Machine", "Precision", "busbench", "Registry", "Bundle")})
        rows.append((row, per_image))
    return rows


def _ranked(table: pd.DataFrame) -> pd.DataFrame:
    """Entries by the Dice of their ensemble (else fold models), best first; each entry's rows together."""
    column = f"{lesion_column('dice')}_mean"
    first = table.drop_duplicates("model", keep="first").set_index("model")[column]
    ensemble = table[table["variant"] == ENSEMBLE].set_index("model")[column]
    score = first.where(~first.index.isin(ensemble.index), ensemble.reindex(first.index))
    order = {model: rank for rank, model in enumerate(score.sort_values(ascending=False, kind="stable").index)}
    return table.assign(rank=table["model"].map(order)).sort_values("rank", kind="stable").drop(columns="rank") \
        .reset_index(drop=True)


def _comparisons(board: Leaderboard, units: IndependentUnits) -> None:
    """Per row type held by two entries or more: paired tests on the per-unit mean lesion Dice, by case key."""
    tables = []
    for variant in ROW_TYPES:
        scores = pd.DataFrame({e.title: lesion_image_scores(e.frame[e.frame["variant"] == variant], "dice")
                               for e in board.entries if variant in set(e.frame["variant"])})
        if scores.shape[1] < 2:
            continue
        compared = units.paired_comparisons(scores)
        board.p_values[variant] = p_value_matrix(compared, scores.columns.tolist())
        tables.append(compared.assign(row=ROW_NAMES[variant]))
    board.comparisons = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def build_leaderboard(paths: list[Path]) -> Leaderboard:
    """Read, check and rank the bundles; raises before anything is written."""
    paths = [Path(p) for p in paths]
    entries = entries_of(paths, read_bundles(paths))
    check_test_sets(entries)
    units = units_of([entry.frame for entry in entries])
    rows = [row for entry in entries for row in _rows(entry, units)]
    table = _ranked(mark_differences(pd.DataFrame([row for row, _ in rows]), [scores for _, scores in rows], units))
    order = list(dict.fromkeys(table["model"]))
    entries.sort(key=lambda e: order.index(e.title))
    first = entries[0].cell
    board = Leaderboard(f"{first.dataset_title}, {first.test_set.identity()}", entries, table,
                        pd.DataFrame([_setup_row(e) for e in entries]),
                        convention_warnings(entries) + copy_warnings(entries) + note_warnings(entries))
    _comparisons(board, units)
    for line in board.warnings:
        logger.warning(f"leaderboard: {line}")
    return board
