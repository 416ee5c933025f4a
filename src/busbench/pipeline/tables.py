"""A cell's summary tables, written from its files: every test image's scores, one row per fold
model, and the summary (fold models' mean ± std, the ensembles) as CSV and Markdown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from busbench.config import ExperimentConfig
from busbench.data.prepared import PreparedData
from busbench.data.provenance import Provenance, frame_provenance
from busbench.evaluate.aggregate import FOLD_MODELS, fold_summaries, formatted, mean_std
from busbench.evaluate.protocol import protocol_notes
from busbench.evaluate.table_checks import check_test_ids, complete_csv, read_metrics_table
from busbench.layout.atomic import write_csv, write_text
from busbench.layout.folders import SUMMARY_CSV, CellFolder, RunFolder
from busbench.layout.locks import lock_file, locked
from busbench.markdown import markdown_table
from busbench.pipeline.checks import cell_fix, fold_fix, read_cell_config, rescore_fix
from busbench.pipeline.prepared import cell_provenance, fold_provenance

CONVENTIONS = (
    "Dice, IoU, precision, recall, specificity, accuracy, HD95 (px, {hd95}) and NSD (normalised surface distance "
    "at {nsd:g} px) per test image at its original size; a model's score is the mean over all test images, normal "
    "images (empty masks) included: where there are some, it differs from the report's Dice (lesion), the mean over "
    "the images with a lesion, beside which the report gives the normal images' false alarms. 'fold "
    "models': mean ± sample std over the {folds} fold models. 'ensemble': the fold models' probabilities averaged, "
    "one model. 'ensemble + post-processing': with the steps chosen on out-of-fold development predictions "
    "(postprocessing.json). Test-time augmentation: {tta}. Empty masks: both empty -> Dice 1, NSD 1, HD95 0; one "
    "empty -> Dice 0, NSD 0, HD95 = image diagonal; their counts (per model) stand beside the metrics."
)

# the summary's columns of text (the others are numbers)
SUMMARY_TEXT = ("dataset", "model", "variant", "test_set_sha256", "notes")


def _read_metrics(path: Path, provenance: Provenance, fix: str, test_ids: list[str], by: list[str],
                  rescore: str) -> pd.DataFrame:
    """A metrics table, refused if it was cut, made on another split or does not hold its test ids once each."""
    table = read_metrics_table(path, rescore)
    provenance.check(frame_provenance(table, path), path, fix)
    check_test_ids(table, path, test_ids, rescore, by)
    return table


def aggregate_cell(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path) -> list[dict[str, object]]:
    """Write the cell's tables from its files; returns its summary rows (fold models, ensembles)."""
    cell = CellFolder(cell_dir)
    folds = [cell.fold(k) for k in range(1, data.development.folds + 1)]
    per_image = pd.concat([_read_metrics(fold.test_metrics_csv, fold_provenance(data, fold.number), fold_fix(fold.path),
                                         data.test_ids(), ["fold"], rescore_fix(fold.path))
                           for fold in folds])
    write_csv(per_image, cell.per_image_metrics_csv)
    per_fold = fold_summaries(per_image)
    write_csv(per_fold, cell.fold_summary_csv, index=True)
    identity = {"dataset": cfg.data.key(), "model": cfg.cell_key(), "test_set_sha256": data.test_set_sha256,
                "notes": " | ".join(protocol_notes(cfg.split, cfg.model, cfg.eval, cfg.input))}
    rows: list[dict[str, object]] = [{**identity, "variant": FOLD_MODELS, **mean_std(per_fold)}]
    ensemble = _read_metrics(cell.ensemble_metrics_csv, cell_provenance(data), cell_fix(cell_dir), data.test_ids(),
                             ["variant"], f"Delete {cell.ensemble_metrics_csv} to score the ensemble again")
    for variant, scores in ensemble.groupby("variant", sort=False):
        rows.append({**identity, "variant": variant, **mean_std(fold_summaries(scores))})
    write_summary(pd.DataFrame(rows), [(cfg, data.development.folds)], cell)
    return rows


def key_legend(cfg: ExperimentConfig) -> list[str]:
    """One line per dataset or model key with a hash of the experiment's cells: the settings it stands for."""
    return cells_legend(cfg.cells())


def cells_legend(cells: Iterable[ExperimentConfig]) -> list[str]:
    lines = {}
    for cell in cells:
        for key, described in ((cell.data.key(), cell.data.describe()), (cell.model.key(), cell.model.describe())):
            if key != described:
                lines[key] = f"{key} = {described}"
    return [lines[k] for k in sorted(lines)]


def write_summary(summary: pd.DataFrame, cells: Sequence[tuple[ExperimentConfig, int]],
                  folder: CellFolder | RunFolder) -> None:
    """``summary.csv`` (numbers) and ``summary.md`` (the table with its conventions, keys and notes) of the
    rows of ``cells`` (each cell's settings and number of fold models); cells of other conventions are named."""
    write_csv(summary, folder.summary_csv)
    table = pd.DataFrame([{"dataset": row["dataset"], "model": row["model"], **formatted(row)}
                          for _, row in summary.iterrows()])
    conventions: dict[str, list[str]] = {}
    for cfg, folds in cells:
        text = CONVENTIONS.format(hd95=cfg.eval.hd95, nsd=cfg.eval.nsd_tolerance, folds=folds,
                                  tta=", ".join(cfg.eval.tta) or "none")
        conventions.setdefault(text, []).append(f"{cfg.data.key()}/{cfg.cell_key()}")
    lines = list(conventions) if len(conventions) == 1 else [f"{', '.join(ids)}: {text}"
                                                             for text, ids in conventions.items()]
    notes = sorted({n for text in summary["notes"] for n in str(text).split(" | ") if n})
    legend = cells_legend(cfg for cfg, _ in cells)
    lines += ["Keys: " + "; ".join(legend)] if legend else []
    write_text("\n".join([markdown_table(table), *lines, *notes]) + "\n", folder.summary_md)


def _finished_summary(cell: CellFolder) -> pd.DataFrame | None:
    """A cell's summary rows if the cell is finished: its tables written and each of its folds done (a
    fold deleted to be trained again leaves the old tables behind until the cell finishes again)."""
    path = cell.summary_csv
    if not path.is_file():
        return None
    fix = f"Delete it and run the cell's config again ({cell.config_yaml}): it is written from the cell's files"
    summary = pd.read_csv(complete_csv(path, fix), dtype=dict.fromkeys(SUMMARY_TEXT, str)).fillna({"notes": ""})
    folds = int(summary["folds"].iloc[0])  # the first row is the fold models'
    return summary if all(cell.fold(k).done for k in range(1, folds + 1)) else None


def write_run_summary(run: RunFolder, first: Sequence[str]) -> None:
    """The run folder's ``summary.csv`` and ``summary.md``, rebuilt from every finished cell in it, so that
    cells run earlier under the same name (another model, say) keep their rows. The cells ``first`` (ids,
    this run's grid order) lead; the others follow by folder name."""
    cells_found = (CellFolder(path.parent) for path in sorted(run.path.glob(f"*/*/{SUMMARY_CSV}")))
    found = {cell.id: cell for cell in cells_found}
    order = [c for c in first if c in found] + [c for c in found if c not in first]
    # one writer at a time (fold jobs finishing two cells); the lock beside the run folder, whose subfolders are cells
    with locked(lock_file(run.output_dir, f"{run.name}-summary"), f"writing {run.summary_csv}"):
        frames, cells = [], []
        for cell in (found[c] for c in order):
            summary = _finished_summary(cell)
            if summary is not None:
                frames.append(summary)
                cells.append((read_cell_config(cell.path), int(summary["folds"].iloc[0])))
        if frames:
            write_summary(pd.concat(frames, ignore_index=True), cells, run)
