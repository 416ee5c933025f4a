"""The analyses as a reader sees them, one frame each for the Markdown copy, the LaTeX table and the
report page alike: display names and words for headers (never a CSV's snake_case column), every number
by ``report.number_format``, each figure beside its 95 % CI in its own column (``<title> 95 % CI``),
which LaTeX sets under the figure."""

from __future__ import annotations

import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.report.number_format import (
    MISSING,
    OTHER_PLACES,
    PIXEL_PLACES,
    SCORE_PLACES,
    interval_text,
    number_text,
    p_text,
)
from busbench.report.tables.publication import ROW_NAMES

CI = " 95 % CI"
DESCRIPTOR_NAMES = {"depth_width": "depth-to-width", "centroid_error": "centroid error (px)", "area": "area (px)",
                    "circularity": "circularity", "elongation": "elongation", "taller than wide": "taller than wide"}
PIXEL_DESCRIPTORS = ("centroid_error", "area")  # their errors in pixels: PIXEL_PLACES
ANALYSIS_MEASURES = {"sensitivity": "sensitivity", "specificity": "specificity", "auroc": "AUROC", "ece": "ECE",
                     "brier": "Brier score", "depth_width": "depth-to-width error",
                     "circularity": "circularity error", "elongation": "elongation error", "area": "area error (px)",
                     "centroid_error": "centroid error (px)",
                     "taller than wide": "taller than wide (agreement)"}
DIFFERENCE_UNITS = "Difference A - B (units)"
DIFFERENCE_IMAGES = "Difference A - B (images)"


def interval(low: float, high: float, places: int) -> str:
    """A CI under its figure; none where the figure has none (a count, a missing test)."""
    return "" if pd.isna(low) else interval_text(low, high, places)


def _with_ci(rows: pd.DataFrame, title: str, name: str, places: int | list[int],
             value: str | None = None) -> dict[str, list[str]]:
    """``title`` (``value``, default ``<name>_mean``) and ``title 95 % CI`` from ``<name>_ci_low/high``."""
    column = value or f"{name}_mean"
    digits = places if isinstance(places, list) else [places] * len(rows)
    low = rows.get(f"{name}_ci_low", pd.Series(float("nan"), index=rows.index))
    high = rows.get(f"{name}_ci_high", pd.Series(float("nan"), index=rows.index))
    return {title: [number_text(v, d) for v, d in zip(rows[column], digits)],
            title + CI: [interval(a, b, d) for a, b, d in zip(low, high, digits)]}


def _first_only(names: pd.Series) -> list[str]:
    """A model's name on its first row, blank below (its rows in one group)."""
    return [n if n != p else "" for n, p in zip(names, names.shift())]


def _rows(variants: pd.Series) -> list[str]:
    return [ROW_NAMES.get(v, v) for v in variants]


def subgroup_display(subgroups: pd.DataFrame) -> pd.DataFrame:
    """One line per factor, subgroup and model (fold models), models grouped."""
    shown = subgroups[subgroups["variant"] == FOLD_MODELS].sort_values("model", kind="stable")
    return pd.DataFrame({"Model": _first_only(shown["model"]), "Factor": shown["factor"].tolist(),
                         "Subgroup": shown["subgroup"].astype(str).tolist(),
                         "n": [number_text(v, None) for v in shown["images"]],
                         **_with_ci(shown, "Dice", "dice", SCORE_PLACES),
                         **_with_ci(shown, "HD95 (px)", "hd95", PIXEL_PLACES)})


def detection_display(rows: pd.DataFrame) -> pd.DataFrame:
    """Detection: each figure with its 95 % CI; where the AUROC is missing, its reason goes to the note."""
    return pd.DataFrame({
        "Model": _first_only(rows["model"]), "Row": _rows(rows["variant"]),
        "Lesion images": [number_text(v, None) for v in rows["lesion_images"]],
        "Normal images": [number_text(v, None) for v in rows["normal_images"]],
        **_with_ci(rows, "Sensitivity", "sensitivity", SCORE_PLACES, "sensitivity"),
        **_with_ci(rows, "Specificity", "specificity", SCORE_PLACES, "specificity"),
        **_with_ci(rows, "AUROC", "auroc", SCORE_PLACES, "auroc")})


def detection_note(rows: pd.DataFrame) -> str:
    """Why an AUROC is missing (one sentence per reason)."""
    reasons = sorted({str(n) for n, v in zip(rows.get("auroc_note", []), rows.get("auroc", [])) if pd.isna(v) and n})
    return "".join(f" AUROC –: {reason}." for reason in reasons)


def morphology_display(rows: pd.DataFrame) -> pd.DataFrame:
    """Shape agreement per model and descriptor; errors of pixel descriptors in pixels."""
    places = [PIXEL_PLACES if d in PIXEL_DESCRIPTORS else SCORE_PLACES for d in rows["descriptor"]]
    return pd.DataFrame({
        "Model": _first_only(rows["model"]), "Descriptor": rows["descriptor"].replace(DESCRIPTOR_NAMES).tolist(),
        "Pairs (mean)": [number_text(v, OTHER_PLACES) for v in rows["pairs_mean"]],
        **_with_ci(rows, "Pearson r", "pearson", SCORE_PLACES, "pearson"),
        **_with_ci(rows, "Spearman ρ", "spearman", SCORE_PLACES, "spearman"),
        **_with_ci(rows, "MAE", "mae", places, "mae"),
        **_with_ci(rows, "Accuracy", "accuracy", SCORE_PLACES, "accuracy"),
        **_with_ci(rows, "Cohen's κ", "kappa", SCORE_PLACES, "kappa")})


def calibration_display(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Model": rows["model"].tolist(), "Images": [number_text(v, None) for v in rows["images"]],
        **_with_ci(rows, "ECE", "ece", SCORE_PLACES, "ece"), **_with_ci(rows, "Brier", "brier", SCORE_PLACES, "brier")})


def calibration_note(rows: pd.DataFrame) -> str:
    reasons = sorted({f"{m}: {n}" for m, n, v in zip(rows["model"], rows.get("note", []), rows.get("ece", []))
                      if pd.isna(v) and n})
    return "".join(f" {reason}." for reason in reasons)


def comparisons_display(rows: pd.DataFrame) -> pd.DataFrame:
    """The paired tests: which measure, which models, the difference A - B both ways it can be averaged
    (over independent units, as the test compares them; over images, as detection.csv's rates), p (Holm)."""
    return pd.DataFrame({
        "Analysis": rows["analysis"].tolist(), "Measure": [ANALYSIS_MEASURES.get(m, m) for m in rows["measure"]],
        "Row": _rows(rows["variant"]), "Model A": rows["model_a"].tolist(), "Model B": rows["model_b"].tolist(),
        "Units": [number_text(v, None) for v in rows["units"]],
        DIFFERENCE_UNITS: [number_text(v, _places(m)) for v, m in zip(rows["difference"], rows["measure"])],
        DIFFERENCE_IMAGES: [number_text(v, _places(m)) for v, m in zip(rows["difference_images"], rows["measure"])],
        "p (Holm)": [p_text(v) for v in rows["p_holm"]]})


def comparisons_in_a_column(shown: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The paired tests as one column of a two-column page sets them: a heading per model pair and row type, its
    measures (each names its analysis) under it, so that the model names are not columns of every line."""
    heading = [f"A: {a}, B: {b} ({row})" for a, b, row in zip(shown["Model A"], shown["Model B"], shown["Row"])]
    order = {head: i for i, head in reversed(list(enumerate(heading)))}  # each pair's first line
    ranked = shown.assign(_head=heading).sort_values("_head", key=lambda h: h.map(order), kind="stable")
    column = ranked.drop(columns=["Analysis", "Row", "Model A", "Model B", "_head"])
    column = column.rename(columns=lambda title: str(title).removeprefix("Difference "))
    column.insert(0, "Model", _first_only(ranked["_head"]))
    return column.reset_index(drop=True), []


def morphology_in_a_column(shown: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The shape agreement as one column sets it: the correlations and the MAE; the pairs and the accuracy and κ
    of taller than wide go to the wide table, and a line left without a figure goes with them."""
    moved = ["Pairs (mean)", "Accuracy", "Cohen's κ"]
    column = shown.drop(columns=[c for c in shown.columns if str(c).removesuffix(CI) in moved])
    figures = [c for c in column.columns if c not in ("Model", "Descriptor") and not str(c).endswith(CI)]
    kept = (column[figures] != MISSING).any(axis=1)
    names = column["Model"].where(column["Model"] != "").ffill()  # a dropped first line's model moves down
    column = column[kept].assign(Model=_first_only(names[kept]))
    return column.reset_index(drop=True), ["Pairs (mean)", "the accuracy and Cohen's κ of taller than wide"]


def _places(measure: str) -> int:
    return PIXEL_PLACES if measure in PIXEL_DESCRIPTORS else SCORE_PLACES


def joined(shown: pd.DataFrame) -> pd.DataFrame:
    """Each figure and its CI in one cell, as the Markdown copies and the page show them: "0.812 [0.781, 0.840]"."""
    columns = [str(c) for c in shown.columns]
    out = shown.drop(columns=[c for c in columns if c.endswith(CI)])
    for column in columns:
        if column + CI in columns:
            out[column] = [f"{v} {ci}".strip() for v, ci in zip(shown[column], shown[column + CI])]
    return out


def ci_below(shown: pd.DataFrame) -> dict[str, str]:
    """LaTeX's layout: each CI column under its figure."""
    return {str(c): str(c).removesuffix(CI) for c in shown.columns if str(c).endswith(CI)}
