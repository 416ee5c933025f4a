"""A cell's summary tables, written from its files: every test image's scores, one row per fold
model, and the summary (fold models' mean ± std, the ensembles) as CSV and Markdown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.config import ExperimentConfig
from busbench.data.prepared import PreparedData
from busbench.data.provenance import Provenance, frame_provenance
from busbench.evaluate.aggregate import FOLD_MODELS, fold_summaries, formatted, mean_std
from busbench.evaluate.metrics import CSV_MISSING
from busbench.evaluate.protocol import protocol_notes
from busbench.evaluate.table_checks import check_test_ids
from busbench.layout import (
    DONE,
    ENSEMBLE_CSV,
    FOLD_SUMMARY_CSV,
    PER_IMAGE_CSV,
    SUMMARY_CSV,
    SUMMARY_MD,
    TEST_METRICS_CSV,
    fold_folder,
    write_csv,
    write_text,
)
from busbench.markdown import markdown_table
from busbench.pipeline.checks import cell_fix, fold_fix
from busbench.pipeline.prepared import cell_provenance, fold_provenance

CONVENTIONS = (
    "Dice, IoU, precision, recall, specificity, accuracy and HD95 (px, {hd95}) per test image at its original "
    "size; a model's score is the mean over test images. 'fold models': mean ± sample std over the {folds} fold "
    "models. 'ensemble': the fold models' probabilities averaged, one model. 'ensemble + post-processing': with "
    "the steps chosen on out-of-fold development predictions (postprocessing.json). Test-time augmentation: "
    "{tta}. Empty masks: both empty -> Dice 1, HD95 0; one empty -> Dice 0, HD95 = image diagonal; their counts "
    "(per model) stand beside the metrics."
)


def _read_metrics(path: Path, provenance: Provenance, fix: str, test_ids: list[str], by: list[str],
                  rescore: str) -> pd.DataFrame:
    """A metrics table, refused if it was made on another split or does not hold its test ids once each."""
    table = pd.read_csv(path, dtype={"case_id": str}, keep_default_na=False, na_values=CSV_MISSING)
    provenance.check(frame_provenance(table, path), path, fix)
    check_test_ids(table, path, test_ids, rescore, by)
    return table


def aggregate_cell(cfg: ExperimentConfig, data: PreparedData, cell_dir: Path) -> list[dict[str, object]]:
    """Write the cell's tables from its files; returns its summary rows (fold models, ensembles)."""
    folds = [fold_folder(cell_dir, k) for k in range(1, data.development.folds + 1)]
    per_image = pd.concat([_read_metrics(fold_dir / TEST_METRICS_CSV, fold_provenance(data, k), fold_fix(fold_dir),
                                         data.test_ids(), ["fold"], f"Delete {fold_dir / DONE} to score fold {k} again")
                           for k, fold_dir in enumerate(folds, start=1)])
    write_csv(per_image, cell_dir / PER_IMAGE_CSV)
    per_fold = fold_summaries(per_image)
    write_csv(per_fold, cell_dir / FOLD_SUMMARY_CSV, index=True)
    identity = {"dataset": cfg.data.key(), "model": cfg.model.key(), "test_set_sha256": data.test_set_sha256,
                "notes": " | ".join(protocol_notes(cfg))}
    rows: list[dict[str, object]] = [{**identity, "variant": FOLD_MODELS, **mean_std(per_fold)}]
    ensemble = _read_metrics(cell_dir / ENSEMBLE_CSV, cell_provenance(data), cell_fix(cell_dir), data.test_ids(),
                             ["variant"], f"Delete {cell_dir / ENSEMBLE_CSV} to score the ensemble again")
    for variant, scores in ensemble.groupby("variant", sort=False):
        rows.append({**identity, "variant": variant, **mean_std(fold_summaries(scores))})
    write_summary(rows, cfg, data.development.folds, cell_dir)
    return rows


def key_legend(cfg: ExperimentConfig) -> list[str]:
    """One line per dataset or model key with a hash: the settings the hash stands for."""
    lines = {}
    for cell in cfg.cells():
        for key, described in ((cell.data.key(), cell.data.describe()), (cell.model.key(), cell.model.describe())):
            if key != described:
                lines[key] = f"{key} = {described}"
    return [lines[k] for k in sorted(lines)]


def write_summary(rows: list[dict[str, object]], cfg: ExperimentConfig, folds: int, folder: Path) -> None:
    """``summary.csv`` (numbers) and ``summary.md`` (the table with its conventions, keys and notes)."""
    write_csv(pd.DataFrame(rows), folder / SUMMARY_CSV)
    table = pd.DataFrame([{"dataset": r["dataset"], "model": r["model"], **formatted(r)} for r in rows])
    note = CONVENTIONS.format(hd95=cfg.eval.hd95, folds=folds, tta=", ".join(cfg.eval.tta) or "none")
    notes = sorted({n for r in rows for n in str(r.get("notes", "")).split(" | ") if n})
    legend = ["Keys: " + "; ".join(key_legend(cfg))] if key_legend(cfg) else []
    write_text("\n".join([markdown_table(table), note, *legend, *notes]) + "\n", folder / SUMMARY_MD)
