"""Publication tables, two per dataset and test set, as published BUS benchmark tables split them:

* accuracy (``display_table``): Model | Row | Dice (lesion) | its 95 % CI | [Dice seed SD | Seeds] |
  IoU (lesion) | NSD@τpx (lesion) | HD95 (lesion, px) | its 95 % CI | Sensitivity (lesion) | False
  alarms (normal) | Dice (all), mean ± std over the fold models, then the fold ensemble rows.
  Segmentation is scored on the lesion images (ground truth not empty, ``LESION_METRICS``); normal
  images, where Dice is 1 or 0, count as image-level false alarms, and the all-image Dice beside them
  keeps the published convention (Metrics Reloaded reports them apart). A test set without normal
  images has neither of those two columns. NSD's title names its tolerance τ (rows scored at
  different tolerances say theirs in the cell); the seed SD and Seeds columns appear where a model
  was trained with several seeds;
* cost (``cost_table``): Model | Row | Passes | Params (M, held) | GFLOPs per image (as run) | GMACs @224,
  1 pass (published) | Images/s (measured, precision, device): what each row runs (an ensemble of k
  models with v test-time views: k * v passes), beside one pass in the published convention
  (``complexity``).

The best value of each column is marked (bold): highest for overlap metrics, sensitivity and throughput,
lowest for HD95, false alarms, parameters and compute. A row whose lesion Dice differs from the best
row's by the Holm-corrected paired test carries † after its row type (``model_rows.mark_differences``).
A model with degenerate fold models (missing at least 90 % of the lesion images) carries a visible mark
after its name, a protocol override ‡. The notes under each table say how every figure was obtained.
Written as CSV (the numbers of the same cells), Markdown and LaTeX (``tables.latex``: a one-column
``table`` and a two-column ``table*``).
"""

from __future__ import annotations

import pandas as pd

from busbench.evaluate.aggregate import (
    DEGENERATE_MISSED_SHARE,
    ENSEMBLE,
    ENSEMBLE_POSTPROCESSED,
    FOLD_MODELS,
    degenerate_mark,
    mean_std_text,
    metric_places,
    metric_title,
)
from busbench.markdown import markdown_table
from busbench.metrics.per_image import NSD_TOLERANCE
from busbench.report.number_format import SHARE_PLACES, interval_text, share_text
from busbench.report.tables.complexity import throughput_title

LESION_METRICS = ("dice", "iou", "nsd", "hd95")  # scored on lesion images; a per-image metric named here gets a column
CI_METRICS = ("dice", "hd95")  # with a 95 % cluster-bootstrap CI (on lesion images)
SEED_SD_METRIC = "dice"  # the lesion metric whose seed-to-seed SD the table prints (the CSV has every one's)
ALL_IMAGES = "dice_all"  # the Dice over every test image, normal ones included (the published convention)
SENSITIVITY, FALSE_ALARMS = "sensitivity", "false_alarm_rate"  # image-level, as detection.csv counts them
SIGNIFICANCE = 0.05  # Holm-adjusted p below which a row differs from the best row (its † mark)
LOWER_IS_BETTER = {"hd95", FALSE_ALARMS, "params_m", "gflops", "macs_g_224"}
COST_COLUMNS = {"forward_passes": "Passes", "params_m": "Params (M, held)", "gflops": "GFLOPs per image (as run)",
                "macs_g_224": "GMACs @224, 1 pass (published)", "fps": "Images/s (measured)"}
ROW_NAMES = {FOLD_MODELS: "fold models", ENSEMBLE: "ensemble", ENSEMBLE_POSTPROCESSED: "ens. + PP"}
ROW_NOTE = ("Rows: fold models, mean ± std over the k fold models; ensemble, the k fold models' probabilities "
            "averaged; ens. + PP, the ensemble with the post-processing chosen on out-of-fold predictions.")
PUBLISHED_NOTE = ("GFLOPs per image (as run): 2 x multiply-adds of all the row's passes at the run's input size "
                  "(torch's FLOP counter); GMACs @224, 1 pass (published): one model's multiply-adds at 1 x C x 224 "
                  "x 224, what published BUS tables (thop) call GFLOPs, whatever the row runs")


def lesion_column(metric: str) -> str:
    """The frame's column stem of ``metric`` on lesion images (``dice_lesion``: ``dice_lesion_mean``, ...)."""
    return f"{metric}_lesion"


def lesion_title(metric: str, tolerance: float | None = None) -> str:
    """A lesion column's title; NSD's names its ``tolerance`` (``NSD@2px (lesion)``) where the rows share one."""
    return f"{metric_title(metric, unit=False, tolerance=tolerance)} (lesion{', px' if metric == 'hd95' else ''})"


def ci_title(metric: str) -> str:
    return f"{metric_title(metric, unit=False)} (lesion) 95 % CI"


CI_BELOW = {ci_title(m): lesion_title(m) for m in CI_METRICS}  # LaTeX: each CI under its mean


def has_normal_images(table: pd.DataFrame) -> bool:
    """Whether the test set holds normal images: else no false-alarm or all-image column."""
    return bool((pd.to_numeric(table["normal_images"], errors="coerce") > 0).any())


def best_rows(table: pd.DataFrame, column: str, places: int | None = None) -> set[int]:
    """The rows holding the column's best value; with ``places``, compared as shown (rounded), so that
    every row that prints the best figure is marked, not only the one a hidden digit favours."""
    values = table[f"{column}_mean"] if f"{column}_mean" in table else table[column]
    values = pd.to_numeric(values, errors="coerce")
    values = values.round(places) if places is not None else values
    if values.notna().sum() == 0:
        return set()
    lower = column.removesuffix("_lesion") in LOWER_IS_BETTER
    target = values.min() if lower else values.max()
    return set(values.index[values == target])


def best_row(table: pd.DataFrame) -> int | None:
    """The row the significance marks compare with: the highest lesion Dice (the first on a tie)."""
    best = best_rows(table, lesion_column("dice"))
    return min(best) if best else None


def _model_names(table: pd.DataFrame) -> list[str]:
    """The model's name on its first row (with its marks), blank on its ensemble rows below."""
    names, previous = [], None
    for _, row in table.iterrows():
        mark = degenerate_mark(row)
        name = f"{row['model']} {mark} degenerate" if mark else str(row["model"])
        name = f"{name} ‡" if row.get("protocol") else name
        names.append("" if row["model"] == previous else name)
        previous = row["model"]
    return names


def _row_names(table: pd.DataFrame) -> list[str]:
    """The row type, with † where its lesion Dice differs from the best row's."""
    differs = table.get("differs_from_best", pd.Series(False, index=table.index)).fillna(False).astype(bool)
    return [ROW_NAMES.get(v, v) + ("†" if d else "") for v, d in zip(table["variant"], differs)]


def _frame(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Model": _model_names(table), "Row": [ROW_NAMES.get(v, v) for v in table["variant"]]})


def _shares(table: pd.DataFrame, column: str, bold: tuple[str, str]) -> list[str]:
    best = best_rows(table, column, places=SHARE_PLACES + 2)  # a share printed as a percentage, 1 decimal
    return [(bold[0] + share_text(v) + bold[1] if i in best and pd.notna(v) else share_text(v))
            for i, v in zip(table.index, pd.to_numeric(table[column], errors="coerce"))]


def nsd_tolerance_shared(table: pd.DataFrame) -> float | None:
    """The NSD tolerance every row was scored at, for NSD's title; None where they differ (each cell names its own)."""
    tolerances = table[NSD_TOLERANCE].unique()
    return float(tolerances[0]) if len(tolerances) == 1 else None


def _means(table: pd.DataFrame, metric: str, bold: tuple[str, str], column: str | None = None) -> list[str]:
    """``mean ± std`` of ``column`` (``metric`` on lesion images unless named), best in ``bold``; an NSD
    cell names its tolerance where the rows' differ."""
    column = column or lesion_column(metric)
    places = metric_places(metric)
    best = best_rows(table, column, places)
    tolerance_shown = metric == "nsd" and nsd_tolerance_shared(table) is None
    texts = ["–" if pd.isna(r[f"{column}_mean"]) else mean_std_text(r[f"{column}_mean"], r.get(f"{column}_std"), places)
             + (f" @{r[NSD_TOLERANCE]:g}px" if tolerance_shown else "") for _, r in table.iterrows()]
    return [bold[0] + t + bold[1] if i in best else t for i, t in zip(table.index, texts)]


def display_table(table: pd.DataFrame, bold: tuple[str, str]) -> pd.DataFrame:
    """The accuracy table's strings; best values wrapped in ``bold`` (prefix, suffix)."""
    out = pd.DataFrame({"Model": _model_names(table), "Row": _row_names(table)})
    for metric in LESION_METRICS:
        out[lesion_title(metric, nsd_tolerance_shared(table))] = _means(table, metric, bold)
        if metric in CI_METRICS:
            digits, stem = metric_places(metric), lesion_column(metric)
            out[ci_title(metric)] = [interval_text(low, high, digits)
                                     for low, high in zip(table[f"{stem}_ci_low"], table[f"{stem}_ci_high"])]
        if metric == SEED_SD_METRIC and _several_seeds(table):
            out[f"{metric_title(metric, unit=False)} seed SD (lesion)"] = [
                "–" if pd.isna(sd) else f"{sd:.{metric_places(metric)}f}"
                for sd in table[f"{lesion_column(metric)}_seed_sd"]]
            out["Seeds"] = [str(int(n)) for n in table["seeds"]]
    out["Sensitivity (lesion)"] = _shares(table, SENSITIVITY, bold)
    if has_normal_images(table):
        out["False alarms (normal)"] = _shares(table, FALSE_ALARMS, bold)
        out["Dice (all)"] = _means(table, "dice", bold, ALL_IMAGES)
    return out


def _several_seeds(table: pd.DataFrame) -> bool:
    return "seeds" in table and bool((table["seeds"] > 1).any())


def accuracy_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The accuracy table's cells as numbers (its CSV)."""
    columns = [f"{lesion_column(m)}_{s}" for m in LESION_METRICS for s in ("mean", "std")] + [NSD_TOLERANCE]
    columns += [f"{lesion_column(m)}_ci_{s}" for m in CI_METRICS for s in ("low", "high")]
    columns += [SENSITIVITY, *([FALSE_ALARMS, f"{ALL_IMAGES}_mean", f"{ALL_IMAGES}_std"] if has_normal_images(table)
                               else []), "lesion_images", "normal_images", "differs_from_best", "p_holm_vs_best"]
    seed_sds = [f"{lesion_column(m)}_seed_sd" for m in LESION_METRICS] + [f"{ALL_IMAGES}_seed_sd"]
    columns += [c for c in seed_sds if c in table] + (["seeds"] if "seeds" in table else [])
    return pd.concat([table[["model"]], table["variant"].map(lambda v: ROW_NAMES.get(v, v)).rename("row"),
                      table[columns]], axis=1)


def _cost_text(value: float, column: str, size_224: float) -> str:
    if pd.isna(value):
        return "–"
    if column == "forward_passes":
        return f"{int(value)}"
    text = f"{value:.1f}" if column == "fps" else f"{value:.2f}"
    return text + (f" @{int(size_224)}" if column == "macs_g_224" and size_224 != 224 else "")


def cost_table(table: pd.DataFrame, bold: tuple[str, str]) -> pd.DataFrame:
    """The cost table's strings: what each row runs per image."""
    out = _frame(table)
    for column, title in {**COST_COLUMNS, "fps": throughput_title(table)}.items():
        best = best_rows(table, column) if column != "forward_passes" else set()
        values, sizes = pd.to_numeric(table[column], errors="coerce"), pd.to_numeric(table["size_224"], errors="coerce")
        texts = [_cost_text(float(value), column, float(size)) for value, size in zip(values, sizes)]
        out[title] = [bold[0] + t + bold[1] if i in best and t != "–" else t for i, t in zip(table.index, texts)]
    return out


def cost_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The cost table's cells as numbers, and why a throughput is missing (its CSV)."""
    return pd.concat([table[["model"]], table["variant"].map(lambda v: ROW_NAMES.get(v, v)).rename("row"),
                      table[["networks", "views", *COST_COLUMNS, "fps_precision", "fps_device", "fps_note"]]], axis=1)


def _images_note(table: pd.DataFrame) -> str:
    """Which test images each column covers, with their counts."""
    lesion, normal = int(table["lesion_images"].max()), int(table["normal_images"].max())
    text = (f"(lesion) columns: the {lesion} test images whose ground truth holds a lesion; Sensitivity (lesion): "
            "the share of them with any predicted lesion pixel (a fold-model row: the mean over images of the share "
            "of fold models that predict one).")
    if not normal:
        return text + f" No normal test images (all {lesion} hold a lesion): no false-alarm or all-image column."
    return text + (f" False alarms (normal): the share of the {normal} normal test images (empty ground truth) with "
                   f"any predicted lesion pixel, counted the same way. Dice (all): all {lesion + normal} test images, "
                   "with the empty-mask rule: both masks empty, Dice 1; one empty, Dice 0 (and HD95 the image "
                   "diagonal).")


def _marks_note(table: pd.DataFrame) -> list[str]:
    """The † note: which row the marks compare with, by which test, on which images."""
    best = best_row(table)
    if best is None or "differs_from_best" not in table:
        return []
    row, variant = table.loc[best], str(table.loc[best, "variant"])
    lesion = int(table["lesion_images"].max())
    return [f"† differs from the best row, {row['model']} {ROW_NAMES.get(variant, variant)}, by the "
            f"Holm-corrected paired Wilcoxon test (p < {SIGNIFICANCE:g}) on lesion Dice, lesion images only "
            f"(n = {lesion}), paired by {row['paired_by']}."]


def notes(table: pd.DataFrame) -> str:
    """The accuracy table's notes: rows, images, CI unit, HD95's unit, seeds, marks."""
    seeds = int(table["seeds"].max()) if "seeds" in table else 1
    ci = table["ci"].iloc[0] + (f" and {seeds} training seeds" if seeds > 1 else "")
    lines = [ROW_NOTE, _images_note(table), f"CI: {ci}.",
             "HD95: 95th-percentile Hausdorff distance in pixels of the original image; best values in bold."]
    if seeds > 1:
        lines.append("Seeds: a row's figures average its training seeds (Seeds: how many); ± std is over all k x "
                     "seeds fold models; Dice seed SD: the standard deviation over seeds of the row's mean lesion "
                     "Dice; the paired tests compare per-image lesion Dice averaged over seeds.")
    lines += _marks_note(table)
    if (table["degenerate_folds"] > 0).any():
        lines.append(f"⚠ k of n degenerate: k of the n fold models miss at least {DEGENERATE_MISSED_SHARE:.0%} of the "
                     "test set's lesion images: they predict (almost) nothing.")
    overrides = sorted({n for cell in table.get("protocol", pd.Series(dtype=str)).fillna("") for n in
                        str(cell).split(" | ") if n})
    lines += [f"‡ {n}." for n in overrides]
    if "origin" in table:  # code from outside busbench: which module and version, or source sha256
        runs = table[table["variant"] == FOLD_MODELS]
        lines += [f"{model}: {origin}." for model, origin in zip(runs["model"], runs["origin"].fillna("")) if origin]
    return " ".join(lines)


def cost_notes(table: pd.DataFrame) -> str:
    """How each cost figure was obtained, and why a throughput is missing."""
    lines = ["Per test image, of what the row runs: Passes = networks x test-time views (an ensemble of k fold "
             "models with v views runs k x v forward passes); Params: the networks held (k x one model for an "
             "ensemble); Images/s: measured on that computation itself (the whole ensemble with its views), not "
             "scaled from one model. Post-processing's cost is not counted.",
             PUBLISHED_NOTE + _other_sides(table) + "."]
    measured = sorted({str(n) for n, fps in zip(table["fps_note"], table["fps"]) if pd.notna(fps) and n})
    lines += [f"Throughput: {n}." for n in measured]
    missing = table[table["fps"].isna()].drop_duplicates(["model", "fps_note"])
    lines += [f"{model}: {note}." for model, note in zip(missing["model"], missing["fps_note"]) if note]
    return " ".join(lines)


def _other_sides(table: pd.DataFrame) -> str:
    """The models counted at another side than 224 px, because they cannot take it."""
    other = table[table["size_224"].notna() & (table["size_224"] != 224)] if "size_224" in table else table.iloc[:0]
    counted = sorted({f"{model} at {int(side)} px" for model, side in zip(other["model"], other["size_224"])})
    return f" ({', '.join(counted)}: the nearest side the model takes)" if counted else ""


def to_markdown(shown: pd.DataFrame, note: str) -> str:
    return markdown_table(shown) + "\n" + note + "\n"
