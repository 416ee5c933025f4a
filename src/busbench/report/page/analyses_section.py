"""The report page's section of the analyses (``report.analyses``): tables, their notes, figures."""

from __future__ import annotations

import html

import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.report.analyses.analysis_files import Analyses, interval_text, number_text, subgroup_display
from busbench.report.page.html import html_figure, html_table

DETECTION_NOTE = ("Image-level lesion detection. Prediction: the scored mask holds any lesion pixel; sensitivity "
                  "over lesion images, specificity over normal images (1 - false-alarm rate). Score: the image's "
                  "highest lesion probability (before post-processing), AUROC. Fold models: mean over the fold "
                  "models. 95 % CIs: cluster bootstrap over patients/duplicate groups (10 000 draws; for the "
                  "AUROC the same draws as image weights, not DeLong).")
MORPHOLOGY_NOTE = ("Lesion shape, true against predicted, over lesion images whose prediction is not empty: "
                   "depth-to-width = height/width of the lesion's bounding extent (rows/columns); circularity "
                   "4πA/P²; elongation = major/minor axis of the moment ellipse; area in pixels; centroid error in "
                   "pixels. Correlations, MAE and κ: mean over fold models. Taller than wide: depth-to-width > 1. "
                   "95 % CIs: cluster bootstrap over patients/duplicate groups; for the correlations and κ each "
                   "draw's value per fold model on the drawn images, averaged over the folds.")
CALIBRATION_NOTE = ("Pixel-level calibration of the ensemble's probabilities at the original image size: ECE over "
                    "10 equal-width bins (each bin's mean probability against its lesion share, weighted by its "
                    "pixels), Brier score = mean (p - y)². 95 % CIs: cluster bootstrap over patients/duplicate groups.")


ALPHA = 0.05


def comparisons_note(shown: pd.DataFrame, significant: pd.DataFrame) -> str:
    """One line on the paired tests of detection, morphology and calibration, naming the differences
    that hold after Holm's correction."""
    found = "; ".join(f"{r.analysis} {r.measure} ({r.variant}): {r.model_a} vs {r.model_b}, difference "
                      f"{r.difference:+.3f}, p_holm {r.p_holm:.3g}" for r in significant.itertuples())
    return (f"Paired tests of detection, morphology and calibration (analysis_comparisons.csv: {len(shown)} tests, "
            "Wilcoxon on unit means or paired cluster bootstrap, Holm within each analysis and row type): "
            + (f"differences at p_holm < {ALPHA}: {found}" if found else f"none at p_holm < {ALPHA}") + ".")


DESCRIPTOR_NAMES = {"depth_width": "depth-to-width", "centroid_error": "centroid error (px)", "area": "area (px)"}


def detection_display(rows: pd.DataFrame) -> pd.DataFrame:
    """Detection as printed: each figure with its 95 % CI; the AUROC's note where it has none."""
    return pd.DataFrame({
        "Model": rows["model"], "Row": rows["variant"], "Lesion images": rows["lesion_images"],
        "Normal images": rows["normal_images"],
        "Sensitivity [95% CI]": [interval_text(r, "sensitivity", 3, "sensitivity") for _, r in rows.iterrows()],
        "Specificity [95% CI]": [interval_text(r, "specificity", 3, "specificity") for _, r in rows.iterrows()],
        "AUROC [95% CI]": [interval_text(r, "auroc", 3, "auroc") if pd.notna(r["auroc"]) else r["auroc_note"]
                           for _, r in rows.iterrows()]})


def morphology_display(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Model": rows["model"], "Descriptor": rows["descriptor"].replace(DESCRIPTOR_NAMES),
        "Pairs (mean)": [number_text(v, 1) for v in rows["pairs_mean"]],
        **{title: [interval_text(r, name, 3, name) for _, r in rows.iterrows()] for title, name in (
            ("Pearson r [95% CI]", "pearson"), ("Spearman ρ [95% CI]", "spearman"), ("MAE [95% CI]", "mae"),
            ("Accuracy [95% CI]", "accuracy"), ("Cohen's κ [95% CI]", "kappa"))}})


def calibration_display(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Model": rows["model"], "Images": [number_text(v, 0) for v in rows["images"]],
        "ECE [95% CI]": [interval_text(r, "ece", 4, "ece") if pd.notna(r["ece"]) else r["note"]
                         for _, r in rows.iterrows()],
        "Brier [95% CI]": [interval_text(r, "brier", 4, "brier") for _, r in rows.iterrows()]})


def analyses_html(analyses: Analyses, titles: dict[str, str]) -> list[str]:
    """HTML parts: per test set, subgroups, detection, morphology and calibration."""
    parts = ["<h2>Analyses: subgroups, detection, morphology, calibration</h2>"]
    parts += [f"<p class='note'>{html.escape(note)}.</p>" for note in analyses.notes]
    keys = list(dict.fromkeys(analyses.detection.get("test_set", pd.Series(dtype=str))))
    for key in keys:
        parts.append(f"<h3>{html.escape(titles.get(key, key))}</h3>")
        subgroups = analyses.subgroups
        if not subgroups.empty and (subgroups["test_set"] == key).any():
            shown = subgroup_display(subgroups[subgroups["test_set"] == key]).drop(columns="Test set")
            parts += ["<h4>Lesion images by subgroup (fold models)</h4>", html_table(shown, readable=False)]
            comparisons = analyses.subgroup_comparisons
            if not comparisons.empty and (comparisons["test_set"] == key).any():
                parts.append("<p class='note'>Paired tests within each subgroup: subgroup_comparisons.csv (Wilcoxon "
                             "on per-group means, Holm over the subgroups and pairs of each factor and metric).</p>")
        detection = analyses.detection[analyses.detection["test_set"] == key]
        parts += ["<h4>Image-level lesion detection</h4>", html_table(detection_display(detection), readable=False),
                  f"<p class='note'>{html.escape(DETECTION_NOTE)}</p>"]
        summary = analyses.morphology_summary
        if not summary.empty and (summary["test_set"] == key).any():
            chosen = summary[(summary["test_set"] == key) & (summary["variant"] == FOLD_MODELS)]
            parts += ["<h4>Lesion morphology (fold models)</h4>",
                      html_table(morphology_display(chosen), readable=False),
                      f"<p class='note'>{html.escape(MORPHOLOGY_NOTE)}</p>"]
        calibration = analyses.calibration
        if not calibration.empty and (calibration["test_set"] == key).any():
            parts += ["<h4>Calibration of the ensemble</h4>",
                      html_table(calibration_display(calibration[calibration["test_set"] == key]), readable=False),
                      f"<p class='note'>{html.escape(CALIBRATION_NOTE)}</p>"]
        compared = analyses.comparisons
        if not compared.empty and (compared["test_set"] == key).any():
            shown = compared[(compared["test_set"] == key)]
            significant = shown[shown["p_holm"] < ALPHA]
            parts.append(f"<p class='note'>{html.escape(comparisons_note(shown, significant))}</p>")
        parts.extend(html_figure(path) for path in analyses.figures.get(key, []))
    return parts
