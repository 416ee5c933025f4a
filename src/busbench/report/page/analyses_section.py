"""The report page's section of the analyses (``report.analyses``): tables, their notes, figures."""

from __future__ import annotations

import html

import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.report.analyses.analysis_files import Analyses, interval_text, number_text, subgroup_display
from busbench.report.analyses.notes import (
    ANALYSIS_COMPARISONS_NOTE,
    CALIBRATION_NOTE,
    DETECTION_NOTE,
    MORPHOLOGY_NOTE,
    SUBGROUP_COMPARISONS_NOTE,
    SUBGROUP_NOTE,
)
from busbench.report.page.html import html_figure, html_table

ALPHA = 0.05


def comparisons_note(shown: pd.DataFrame, significant: pd.DataFrame) -> str:
    """One line on the paired tests of detection, morphology and calibration, naming the differences
    that hold after Holm's correction."""
    found = "; ".join(f"{r.analysis} {r.measure} ({r.variant}): {r.model_a} vs {r.model_b}, difference "
                      f"{r.difference:+.3f}, p_holm {r.p_holm:.3g}" for r in significant.itertuples())
    return (f"Paired tests of detection, morphology and calibration (analysis_comparisons.csv: {len(shown)} tests): "
            + (f"differences at p_holm < {ALPHA}: {found}" if found else f"none at p_holm < {ALPHA}") + ". "
            + ANALYSIS_COMPARISONS_NOTE)


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
    """HTML parts: per test set, subgroups, detection, morphology and calibration. The analyses' rows name
    their test set by its title (``titles``: table key -> title); their figures are keyed by table key."""
    parts = ["<h2>Analyses: subgroups, detection, morphology, calibration</h2>"]
    parts += [f"<p class='note'>{html.escape(note)}.</p>" for note in analyses.notes]
    table_keys = {title: key for key, title in titles.items()}
    for title in dict.fromkeys(analyses.detection.get("test_set", pd.Series(dtype=str))):
        parts.append(f"<h3>{html.escape(title)}</h3>")
        subgroups = analyses.subgroups
        if not subgroups.empty and (subgroups["test_set"] == title).any():
            shown = subgroup_display(subgroups[subgroups["test_set"] == title]).drop(columns="Test set")
            parts += ["<h4>Lesion images by subgroup (fold models)</h4>", html_table(shown, readable=False),
                      f"<p class='note'>{html.escape(SUBGROUP_NOTE)}</p>"]
            comparisons = analyses.subgroup_comparisons
            if not comparisons.empty and (comparisons["test_set"] == title).any():
                parts.append(f"<p class='note'>subgroup_comparisons.csv: {html.escape(SUBGROUP_COMPARISONS_NOTE)}</p>")
        detection = analyses.detection[analyses.detection["test_set"] == title]
        parts += ["<h4>Image-level lesion detection</h4>", html_table(detection_display(detection), readable=False),
                  f"<p class='note'>{html.escape(DETECTION_NOTE)}</p>"]
        summary = analyses.morphology_summary
        if not summary.empty and (summary["test_set"] == title).any():
            chosen = summary[(summary["test_set"] == title) & (summary["variant"] == FOLD_MODELS)]
            parts += ["<h4>Lesion morphology (fold models)</h4>",
                      html_table(morphology_display(chosen), readable=False),
                      f"<p class='note'>{html.escape(MORPHOLOGY_NOTE)}</p>"]
        calibration = analyses.calibration
        if not calibration.empty and (calibration["test_set"] == title).any():
            parts += ["<h4>Calibration of the ensemble</h4>",
                      html_table(calibration_display(calibration[calibration["test_set"] == title]), readable=False),
                      f"<p class='note'>{html.escape(CALIBRATION_NOTE)}</p>"]
        compared = analyses.comparisons
        if not compared.empty and (compared["test_set"] == title).any():
            shown = compared[(compared["test_set"] == title)]
            significant = shown[shown["p_holm"] < ALPHA]
            parts.append(f"<p class='note'>{html.escape(comparisons_note(shown, significant))}</p>")
        parts.extend(html_figure(path, analyses.captions[path])
                     for path in analyses.figures.get(table_keys.get(title, title), []))
    return parts
